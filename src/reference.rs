//! Environment references: `[org/][project/]env[@version]`, as ESC writes them.
//!
//! One part is `env` in project `default`, two are `project/env`, three are
//! `org/project/env`. Every part becomes a path component in the local store,
//! so each is checked here, once, before anything touches the filesystem.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;

/// The project of a one-part reference.
pub const DEFAULT_PROJECT: &str = "default";
/// The org used when neither the reference nor the config names one.
pub const DEFAULT_ORG: &str = "local";

/// A fully qualified environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvRef {
    pub org: String,
    pub project: String,
    pub env: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("no environment specified")]
    Empty,
    #[error(
        "\"{reference}\" names a version ({version}); versions are not supported by the local store (only Pulumi Cloud environments have them), name the environment without \"@{version}\""
    )]
    Version { reference: String, version: String },
    #[error("invalid {part} name \"{value}\" in \"{reference}\": {reason}")]
    BadPart {
        reference: String,
        part: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl EnvRef {
    /// Parses a reference as given on the command line.
    pub fn parse(reference: &str, default_org: &str) -> Result<EnvRef, RefError> {
        if reference.is_empty() {
            return Err(RefError::Empty);
        }
        // ESC takes the version after `@`, or after `:` (legacy).
        if let Some(i) = reference.find(['@', ':']) {
            return Err(RefError::Version {
                reference: reference.to_string(),
                version: reference[i + 1..].to_string(),
            });
        }
        let parts: Vec<&str> = reference.splitn(3, '/').collect();
        let (org, project, env) = match parts.as_slice() {
            [env] => (default_org, DEFAULT_PROJECT, *env),
            [project, env] => (default_org, *project, *env),
            [org, project, env] => (*org, *project, *env),
            _ => return Err(RefError::Empty),
        };
        EnvRef::from_parts(reference, org, project, env)
    }

    /// Parses a reference that may name a version (`@42`, `@stable`, or
    /// the legacy `:42`); only a Pulumi Cloud environment has versions.
    pub fn parse_versioned(
        reference: &str,
        default_org: &str,
    ) -> Result<(EnvRef, Option<String>), RefError> {
        match reference.find(['@', ':']) {
            Some(i) => {
                let version = &reference[i + 1..];
                let env = EnvRef::parse(&reference[..i], default_org)?;
                if version.is_empty() {
                    return Err(RefError::BadPart {
                        reference: reference.to_string(),
                        part: "version",
                        value: String::new(),
                        reason: "it is empty",
                    });
                }
                Ok((env, Some(version.to_string())))
            }
            None => Ok((EnvRef::parse(reference, default_org)?, None)),
        }
    }

    /// Resolves an import name (`env` or `project/env`) inside `org`: imports
    /// never leave the importing environment's org.
    pub fn parse_import(name: &str, org: &str) -> Result<EnvRef, RefError> {
        if name.matches('/').count() > 1 {
            return Err(RefError::BadPart {
                reference: name.to_string(),
                part: "import",
                value: name.to_string(),
                reason: "imports name \"env\" or \"project/env\" inside the importing \
                         environment's org; escsh does not import across orgs, so a local \
                         environment cannot import a Pulumi Cloud one (open that one with \
                         `escsh open` or `escsh run` instead)",
            });
        }
        EnvRef::parse(name, org)
    }

    fn from_parts(
        reference: &str,
        org: &str,
        project: &str,
        env: &str,
    ) -> Result<EnvRef, RefError> {
        for (part, value) in [
            ("organization", org),
            ("project", project),
            ("environment", env),
        ] {
            if let Err(reason) = check_part(value) {
                return Err(RefError::BadPart {
                    reference: reference.to_string(),
                    part,
                    value: value.to_string(),
                    reason,
                });
            }
        }
        Ok(EnvRef {
            org: org.to_string(),
            project: project.to_string(),
            env: env.to_string(),
        })
    }

    /// `project/env`: the name ESC gives the environment inside its org
    /// (`context.currentEnvironment.name`).
    pub fn short_name(&self) -> String {
        format!("{}/{}", self.project, self.env)
    }
}

/// `org/project/env`.
impl fmt::Display for EnvRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.org, self.project, self.env)
    }
}

/// A part is used verbatim as a file or directory name, so anything that
/// could climb out of the store or hide a file is refused.
fn check_part(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.contains('/') {
        return Err("it must not contain '/'");
    }
    if s.contains("..") {
        return Err("it must not contain \"..\"");
    }
    if s.starts_with('.') {
        return Err("it must not start with '.'");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("only letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    default_org: Option<String>,
    aws: Option<String>,
}

fn read_config(config_file: &Path) -> anyhow::Result<Option<Config>> {
    let text = match std::fs::read_to_string(config_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config_file.display())),
    };
    serde_yaml::from_str(&text).with_context(|| {
        format!(
            "parsing {} (expected a mapping such as `defaultOrg: myorg`)",
            config_file.display()
        )
    })
}

/// How AWS keys reach shells and `run` by default: `aws: export|endpoint`
/// in the user's `config.yaml`, else export.
pub fn aws_mode(config_file: &Path) -> anyhow::Result<crate::hook::rc::AwsMode> {
    use crate::hook::rc::AwsMode;
    match read_config(config_file)?.and_then(|c| c.aws) {
        None => Ok(AwsMode::default()),
        Some(s) => AwsMode::parse(&s).ok_or_else(|| {
            anyhow::anyhow!(
                "invalid aws \"{s}\" in {}: write `aws: export` or `aws: endpoint`",
                config_file.display()
            )
        }),
    }
}

/// The default org: `defaultOrg` from the user's `config.yaml`, else `local`.
pub fn default_org(config_file: &Path) -> anyhow::Result<String> {
    match read_config(config_file)?.and_then(|c| c.default_org) {
        Some(org) => {
            check_part(&org).map_err(|reason| {
                anyhow::anyhow!(
                    "invalid defaultOrg \"{org}\" in {}: {reason}",
                    config_file.display()
                )
            })?;
            Ok(org)
        }
        None => Ok(DEFAULT_ORG.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Result<EnvRef, RefError> {
        EnvRef::parse(s, "local")
    }

    #[test]
    fn parts() {
        assert_eq!(r("e").unwrap().to_string(), "local/default/e");
        assert_eq!(r("p/e").unwrap().to_string(), "local/p/e");
        assert_eq!(r("o/p/e").unwrap().to_string(), "o/p/e");
        assert_eq!(r("o/p/e").unwrap().short_name(), "p/e");
        assert_eq!(EnvRef::parse("e", "acme").unwrap().org, "acme");
    }

    #[test]
    fn bad_parts_are_named() {
        for bad in [
            "", "../x", "a//b", "o/p/e/f", ".hidden", "a/b c", "p/..", "x/",
        ] {
            assert!(r(bad).is_err(), "{bad:?} accepted");
        }
        let msg = r("../x").unwrap_err().to_string();
        assert!(msg.contains("project name \"..\""), "{msg}");
        let msg = r("o/p/e/f").unwrap_err().to_string();
        assert!(msg.contains("environment name \"e/f\""), "{msg}");
    }

    #[test]
    fn versions_are_refused() {
        let msg = r("p/e@3").unwrap_err().to_string();
        assert!(
            msg.contains("versions are not supported by the local store"),
            "{msg}"
        );
        assert!(matches!(r("p/e:latest"), Err(RefError::Version { .. })));
    }

    #[test]
    fn versions_are_split_off() {
        let (e, v) = EnvRef::parse_versioned("acme/app/dev@42", "local").unwrap();
        assert_eq!(
            (e.to_string(), v.as_deref()),
            ("acme/app/dev".into(), Some("42"))
        );
        let (e, v) = EnvRef::parse_versioned("app/dev:stable", "acme").unwrap();
        assert_eq!(
            (e.to_string(), v.as_deref()),
            ("acme/app/dev".into(), Some("stable"))
        );
        assert_eq!(EnvRef::parse_versioned("dev", "local").unwrap().1, None);
        assert!(EnvRef::parse_versioned("dev@", "local").is_err());
    }

    #[test]
    fn imports_stay_in_org() {
        assert_eq!(
            EnvRef::parse_import("a", "o").unwrap().to_string(),
            "o/default/a"
        );
        assert_eq!(
            EnvRef::parse_import("p/a", "o").unwrap().to_string(),
            "o/p/a"
        );
        assert!(EnvRef::parse_import("x/p/a", "o").is_err());
    }

    #[test]
    fn config_default_org() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config.yaml");
        assert_eq!(default_org(&f).unwrap(), "local");
        std::fs::write(&f, "defaultOrg: acme\n").unwrap();
        assert_eq!(default_org(&f).unwrap(), "acme");
        std::fs::write(&f, "defaultOrg: ../x\n").unwrap();
        assert!(default_org(&f).is_err());
        std::fs::write(&f, "").unwrap();
        assert_eq!(default_org(&f).unwrap(), "local");
    }
}
