//! Where the Pulumi Cloud login comes from, as Pulumi's own clients find
//! it: the backend URL from `PULUMI_BACKEND_URL`, `PULUMI_API` or
//! `credentials.json`'s `current`; the token from `PULUMI_ACCESS_TOKEN` or
//! the one stored for that backend. escsh only reads Pulumi's files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::fsutil::{self, Trusting};

/// Pulumi's own default backend.
pub const DEFAULT_BACKEND: &str = "https://api.pulumi.com";
/// `credentials.json` is small; anything bigger is not Pulumi's.
const MAX_CREDENTIALS: u64 = 1 << 20;

/// A token: never shown, whatever formats it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }

    /// The text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[token]")
    }
}

/// A backend and the token to use with it.
#[derive(Debug, Clone)]
pub struct Login {
    /// Without a trailing slash.
    pub url: String,
    pub token: Token,
    /// Where the token came from, for `status` and errors.
    pub token_source: String,
}

/// What the process environment says (a map, so tests and callers pass
/// their own; [`Env::process`] reads the real one).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    pub fn process() -> Env {
        let names = [
            "PULUMI_BACKEND_URL",
            "PULUMI_API",
            "PULUMI_ACCESS_TOKEN",
            "PULUMI_HOME",
            "HOME",
        ];
        Env {
            vars: names
                .iter()
                .filter_map(|n| Some((n.to_string(), std::env::var(n).ok()?)))
                .collect(),
        }
    }

    pub fn fixed<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Pulumi's home: `PULUMI_HOME`, else `~/.pulumi`.
    pub fn pulumi_home(&self) -> Option<PathBuf> {
        if let Some(h) = self.get("PULUMI_HOME") {
            return Some(PathBuf::from(h));
        }
        self.get("HOME").map(|h| Path::new(h).join(".pulumi"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the Pulumi backend {url} is a self-managed state backend, which has no ESC environments; log in to Pulumi Cloud (`pulumi login`) or set PULUMI_BACKEND_URL to its URL")]
    NotCloud { url: String },
    #[error("the Pulumi backend URL \"{url}\" is not an http:// or https:// URL")]
    BadUrl { url: String },
    #[error("reading {path}: {reason}")]
    Credentials { path: String, reason: String },
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    current: Option<String>,
    #[serde(default)]
    access_tokens: BTreeMap<String, String>,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    access_token: Option<String>,
}

/// The login for the backend `pinned` (an org pinned to a URL in escsh's
/// config) or else the current one; `None` when there is no token.
pub fn find(env: &Env, pinned: Option<&str>) -> Result<Option<Login>, LoginError> {
    let home = env.pulumi_home();
    let credentials = match &home {
        Some(h) => read_credentials(&h.join("credentials.json"))?,
        None => Credentials::default(),
    };
    let url = pinned
        .or(env.get("PULUMI_BACKEND_URL"))
        .or(env.get("PULUMI_API"))
        .or(credentials.current.as_deref())
        .unwrap_or(DEFAULT_BACKEND);
    let url = check_url(url)?;
    if let Some(t) = env.get("PULUMI_ACCESS_TOKEN") {
        return Ok(Some(Login {
            url,
            token: Token::new(t),
            token_source: "PULUMI_ACCESS_TOKEN".into(),
        }));
    }
    let stored = stored_token(&credentials, &url);
    Ok(stored.map(|t| Login {
        url,
        token: Token::new(t),
        token_source: home
            .map(|h| h.join("credentials.json").display().to_string())
            .unwrap_or_default(),
    }))
}

/// The token stored for `url`, matching it with or without a final `/`.
fn stored_token(c: &Credentials, url: &str) -> Option<String> {
    let same = |k: &String| k.trim_end_matches('/') == url;
    let from_accounts = c
        .accounts
        .iter()
        .find(|(k, _)| same(k))
        .and_then(|(_, a)| a.access_token.clone());
    from_accounts
        .or_else(|| {
            c.access_tokens
                .iter()
                .find(|(k, _)| same(k))
                .map(|(_, t)| t.clone())
        })
        .filter(|t| !t.is_empty())
}

fn check_url(url: &str) -> Result<String, LoginError> {
    let url = url.trim().trim_end_matches('/');
    for scheme in ["file://", "s3://", "gs://", "azblob://"] {
        if url.starts_with(scheme) {
            return Err(LoginError::NotCloud { url: url.into() });
        }
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(LoginError::BadUrl { url: url.into() });
    }
    Ok(url.to_string())
}

fn read_credentials(path: &Path) -> Result<Credentials, LoginError> {
    let bytes = match fsutil::read_checked(path, MAX_CREDENTIALS, Trusting::Any) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(Credentials::default()),
        Err(e) => {
            return Err(LoginError::Credentials {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    // serde_json's messages name positions, never the text around them.
    serde_json::from_slice(&bytes).map_err(|e| LoginError::Credentials {
        path: path.display().to_string(),
        reason: format!("not the JSON `pulumi login` writes ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(json: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".pulumi")).unwrap();
        std::fs::write(d.path().join(".pulumi/credentials.json"), json).unwrap();
        d
    }

    #[test]
    fn token_from_the_current_backend() {
        let d = home_with(
            r#"{"current": "http://127.0.0.1:9/", "accessTokens": {"http://127.0.0.1:9": "pul-a"},
                "accounts": {"http://127.0.0.1:9": {"accessToken": "pul-b", "username": "u"}}}"#,
        );
        let home = d.path().to_str().unwrap();
        let l = find(&Env::fixed([("HOME", home)]), None).unwrap().unwrap();
        assert_eq!(l.url, "http://127.0.0.1:9");
        assert_eq!(l.token.expose(), "pul-b");
        assert!(!format!("{l:?}").contains("pul-"));
        let l = find(
            &Env::fixed([("HOME", home), ("PULUMI_ACCESS_TOKEN", "pul-env")]),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(l.token.expose(), "pul-env");
        // Another backend has no stored token.
        let env = Env::fixed([("HOME", home), ("PULUMI_BACKEND_URL", "https://x.example")]);
        assert!(find(&env, None).unwrap().is_none());
    }

    #[test]
    fn backend_choice_and_refusals() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().to_str().unwrap();
        let env = Env::fixed([("HOME", home), ("PULUMI_ACCESS_TOKEN", "t")]);
        assert_eq!(find(&env, None).unwrap().unwrap().url, DEFAULT_BACKEND);
        let env = Env::fixed([
            ("HOME", home),
            ("PULUMI_ACCESS_TOKEN", "t"),
            ("PULUMI_API", "http://a/"),
        ]);
        assert_eq!(find(&env, None).unwrap().unwrap().url, "http://a");
        let env = Env::fixed([
            ("PULUMI_ACCESS_TOKEN", "t"),
            ("PULUMI_BACKEND_URL", "s3://bucket"),
        ]);
        let e = find(&env, None).unwrap_err().to_string();
        assert!(e.contains("no ESC environments"), "{e}");
        let e = find(&Env::fixed([("PULUMI_ACCESS_TOKEN", "t")]), Some("ftp://x")).unwrap_err();
        assert!(e.to_string().contains("not an http"), "{e}");
    }

    #[test]
    fn broken_credentials_are_named_without_their_text() {
        let d = home_with(r#"{"accessTokens": "pul-secret"#);
        let env = Env::fixed([("HOME", d.path().to_str().unwrap())]);
        let e = find(&env, None).unwrap_err().to_string();
        assert!(
            e.contains("credentials.json") && !e.contains("pul-secret"),
            "{e}"
        );
    }
}
