//! Which backend an environment lives in. Org `local`, and any org with a
//! directory in the local store, is local; an org escsh's `config.yaml`
//! pins (`orgs: {acme: local}` or `orgs: {acme: https://api.example.com}`)
//! goes where it says; any other org is a Pulumi Cloud org when a login is
//! available. A one-part name stays in the default org, `local` unless the
//! config names another, so it never reaches the network by surprise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cloud::login::{self, Login, LoginError};
use crate::reference::{EnvRef, DEFAULT_ORG};

/// Where one environment is.
#[derive(Debug, Clone)]
pub enum Backend {
    Local,
    Cloud(Login),
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "{env} is not in the local store (no {dir}) and there is no Pulumi Cloud login: run \
         `pulumi login` or set PULUMI_ACCESS_TOKEN to open it from Pulumi Cloud, or create it \
         locally with `escsh env init {env}`"
    )]
    NoLogin { env: EnvRef, dir: String },
    #[error(
        "org {org} is pinned to {url} in {config}, but there is no token for it: run `pulumi \
         login {url}` or set PULUMI_ACCESS_TOKEN"
    )]
    NoToken {
        org: String,
        url: String,
        config: String,
    },
    #[error(transparent)]
    Login(#[from] LoginError),
}

#[derive(Debug, Default, serde::Deserialize)]
struct Config {
    #[serde(default)]
    orgs: BTreeMap<String, String>,
}

/// Resolves orgs to backends; reads the login only when it needs one.
#[derive(Debug, Clone)]
pub struct Resolver {
    pins: BTreeMap<String, String>,
    config: PathBuf,
    store: PathBuf,
    env: login::Env,
}

impl Resolver {
    /// `config` is escsh's `config.yaml`, `store` the local store.
    pub fn new(config: &Path, store: &Path, env: login::Env) -> anyhow::Result<Resolver> {
        Ok(Resolver {
            pins: read_pins(config)?,
            config: config.to_path_buf(),
            store: store.to_path_buf(),
            env,
        })
    }

    pub fn resolve(&self, env: &EnvRef) -> Result<Backend, BackendError> {
        match self.pins.get(&env.org).map(String::as_str) {
            Some("local") => return Ok(Backend::Local),
            Some(url) => {
                return match login::find(&self.env, Some(url))? {
                    Some(l) => Ok(Backend::Cloud(l)),
                    None => Err(BackendError::NoToken {
                        org: env.org.clone(),
                        url: url.to_string(),
                        config: self.config.display().to_string(),
                    }),
                }
            }
            None => {}
        }
        if self.is_local_org(&env.org) {
            return Ok(Backend::Local);
        }
        match login::find(&self.env, None)? {
            Some(l) => Ok(Backend::Cloud(l)),
            None => Err(BackendError::NoLogin {
                env: env.clone(),
                dir: self.store.join(&env.org).display().to_string(),
            }),
        }
    }

    /// True when the org is local without asking for a login.
    pub fn is_local_org(&self, org: &str) -> bool {
        org == DEFAULT_ORG
            || self.pins.get(org).map(String::as_str) == Some("local")
            || self.store.join(org).is_dir()
    }

    /// The login `env ls` lists from, if any (errors are ignored there:
    /// the local list stands on its own).
    pub fn current_login(&self) -> Result<Option<Login>, LoginError> {
        login::find(&self.env, None)
    }
}

fn read_pins(config: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config.display())),
    };
    let parsed: Option<Config> = serde_yaml::from_str(&text).with_context(|| {
        format!(
            "parsing {} (`orgs` maps an org to `local` or a backend URL)",
            config.display()
        )
    })?;
    let pins = parsed.map(|c| c.orgs).unwrap_or_default();
    for (org, to) in &pins {
        let ok = to == "local" || to.starts_with("http://") || to.starts_with("https://");
        if !ok {
            anyhow::bail!(
                "orgs.{org} in {}: \"{}\" is neither `local` nor an http:// or https:// URL",
                config.display(),
                crate::printable::line(to)
            );
        }
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_resolve_as_the_issue_says() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        std::fs::create_dir_all(store.join("mine")).unwrap();
        let config = d.path().join("config.yaml");
        std::fs::write(
            &config,
            "orgs:\n  pinned: local\n  other: http://127.0.0.1:9\n",
        )
        .unwrap();
        let home = d.path().to_str().unwrap();
        let r = |org: &str, env: login::Env| {
            let e = EnvRef::parse(&format!("{org}/p/e"), "local").unwrap();
            Resolver::new(&config, &store, env).unwrap().resolve(&e)
        };
        let none = || login::Env::fixed([("HOME", home)]);
        let token = || login::Env::fixed([("HOME", home), ("PULUMI_ACCESS_TOKEN", "t")]);
        for org in ["local", "mine", "pinned"] {
            assert!(matches!(r(org, token()), Ok(Backend::Local)), "{org}");
        }
        match r("acme", token()) {
            Ok(Backend::Cloud(l)) => assert_eq!(l.url, login::DEFAULT_BACKEND),
            other => panic!("{other:?}"),
        }
        match r("other", token()) {
            Ok(Backend::Cloud(l)) => assert_eq!(l.url, "http://127.0.0.1:9"),
            other => panic!("{other:?}"),
        }
        let e = r("acme", none()).unwrap_err().to_string();
        for part in [
            "pulumi login",
            "PULUMI_ACCESS_TOKEN",
            "escsh env init acme/p/e",
        ] {
            assert!(e.contains(part), "{e}");
        }
        assert!(matches!(
            r("other", none()),
            Err(BackendError::NoToken { .. })
        ));
        std::fs::write(&config, "orgs: {x: ftp://y}\n").unwrap();
        assert!(Resolver::new(&config, &store, none()).is_err());
    }
}
