//! Pulumi Cloud as a backend: it evaluates environments itself and answers
//! with values (secret flags included), so escsh asks it to open and reads
//! the result instead of handing the evaluator bytes. The wire format is in
//! `docs/pulumi-cloud-api.md`.

pub mod http;
pub mod login;
pub mod wire;

use serde_json::Value as Json;

use self::http::{Answer, Http, HttpError};
use self::login::Login;
use crate::lang::{Diagnostic, Value};
use crate::reference::EnvRef;

/// How long an open session lives. The longest credentials an `aws-login`
/// can mint last 12 hours (AWS's limit on a role session), so a session
/// this long never ends before the credentials escsh exports from it.
pub const OPEN_DURATION: i64 = 12 * 3600;
const OPEN_DURATION_TEXT: &str = "12h0m0s";
/// A list of environments this long is a server that does not stop.
const MAX_PAGES: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(
        "Pulumi Cloud at {base} refused {what} (HTTP {status}): the token is missing, invalid or \
         expired, or lacks access to it; log in with `pulumi login {base}` or set PULUMI_ACCESS_TOKEN"
    )]
    Denied {
        what: String,
        base: String,
        status: u16,
    },
    #[error("environment {env} not found at {base}: {detail}")]
    NotFound {
        env: String,
        base: String,
        detail: String,
    },
    /// Pulumi Cloud evaluated the environment and found errors.
    #[error("{env} has errors (see above)")]
    Invalid {
        env: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("{endpoint} failed with HTTP {status}{}: {message}", request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Server {
        endpoint: String,
        status: u16,
        request_id: Option<String>,
        message: String,
    },
    #[error("{endpoint}: malformed answer from Pulumi Cloud: {reason}")]
    Malformed { endpoint: String, reason: String },
    #[error(
        "invalid version \"{0}\": a revision number or a tag name (letters, digits, '.', '_', '-')"
    )]
    BadVersion(String),
}

/// An environment opened by Pulumi Cloud.
#[derive(Debug)]
pub struct Opened {
    pub value: Value,
    /// The earliest of the session's end, any `expiration` in the values,
    /// and the end of the `aws-login` credentials the definition mints.
    pub expires_at: i64,
    /// The AWS keys among the values (see [`wire::aws_keys`]).
    pub credentials: Vec<crate::lang::Credential>,
}

/// A stored definition and what identifies its revision.
#[derive(Debug)]
pub struct Definition {
    pub yaml: Vec<u8>,
    pub etag: Option<String>,
    pub revision: Option<i64>,
}

pub struct Cloud {
    http: Http,
}

impl Cloud {
    pub fn new(login: &Login) -> Result<Cloud, CloudError> {
        Ok(Cloud {
            http: Http::new(&login.url, login.token.clone())?,
        })
    }

    pub fn base(&self) -> &str {
        self.http.base()
    }

    /// Opens `env` (at `version`, a revision or a tag) and reads its values.
    pub fn open(
        &self,
        env: &EnvRef,
        version: Option<&str>,
        now: i64,
    ) -> Result<Opened, CloudError> {
        let path = format!(
            "{}/open?duration={OPEN_DURATION_TEXT}",
            versioned(env, version)?
        );
        let answer = self.http.post(&path, Vec::new())?;
        if answer.status == 400 {
            let body: Json = serde_json::from_slice(&answer.body).unwrap_or(Json::Null);
            let diagnostics = wire::diagnostics(&body, &env.to_string());
            if !diagnostics.is_empty() {
                return Err(CloudError::Invalid {
                    env: env.to_string(),
                    diagnostics,
                });
            }
        }
        let endpoint = endpoint_of("POST", &path);
        let body = self.json(answer, &endpoint, env)?;
        let id = body
            .get("id")
            .and_then(Json::as_str)
            .filter(|id| !id.is_empty() && id.bytes().all(safe_byte))
            .ok_or_else(|| malformed(&endpoint, "no session `id` (text) in it"))?;
        let read = format!("{}/open/{id}", env_path(env));
        let answer = self.http.get(&read)?;
        let endpoint = endpoint_of("GET", &read);
        let body = self.json(answer, &endpoint, env)?;
        let value = wire::environment_value(&body).map_err(|r| malformed(&endpoint, &r))?;
        let mut expires_at = now + OPEN_DURATION;
        if let Some(t) = wire::earliest_expiration(&value) {
            expires_at = expires_at.min(t);
        }
        if let Some(lifetime) = wire::aws_login_lifetime(&body) {
            expires_at = expires_at.min(now + lifetime);
        }
        let credentials = wire::aws_keys(&value);
        Ok(Opened {
            value,
            expires_at,
            credentials,
        })
    }

    /// The definition of `env` (`decrypt`: with its secrets shown).
    pub fn definition(
        &self,
        env: &EnvRef,
        version: Option<&str>,
        decrypt: bool,
    ) -> Result<Definition, CloudError> {
        let mut path = versioned(env, version)?;
        if decrypt {
            path.push_str("/decrypt");
        }
        let answer = self.http.get(&path)?;
        let answer = self.check(answer, &endpoint_of("GET", &path), env)?;
        let revision = answer
            .header("pulumi-esc-revision")
            .and_then(|r| r.trim().parse().ok());
        Ok(Definition {
            etag: answer.header("etag").map(str::to_string),
            revision,
            yaml: answer.body,
        })
    }

    /// The revision `version` (or the latest) names now: what `run --watch`
    /// polls to notice a changed definition.
    pub fn revision(&self, env: &EnvRef, version: Option<&str>) -> Result<Option<i64>, CloudError> {
        if let Some(v) = version.filter(|v| v.bytes().all(|b| b.is_ascii_digit())) {
            return Ok(v.parse().ok());
        }
        if let Some(tag) = version {
            check_version(tag)?;
            let path = format!("{}/versions/tags/{tag}", env_path(env));
            let endpoint = endpoint_of("GET", &path);
            let answer = self.http.get(&path)?;
            let body = self.json(answer, &endpoint, env)?;
            return Ok(body.get("revision").and_then(Json::as_i64));
        }
        Ok(self.definition(env, None, false)?.revision)
    }

    /// Every environment the token can see (`org`: only that org's),
    /// following `nextToken` to the end.
    pub fn list(&self, org: Option<&str>) -> Result<Vec<EnvRef>, CloudError> {
        let base = match org {
            Some(o) => format!("/api/esc/environments/{o}"),
            None => "/api/esc/environments".to_string(),
        };
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &next {
                Some(t) => format!("{base}?continuationToken={}", encode_query(t)),
                None => base.clone(),
            };
            let endpoint = endpoint_of("GET", &path);
            let answer = self.http.get(&path)?;
            let what = org.unwrap_or("the environments");
            let answer = self.check_named(answer, &endpoint, what, None)?;
            let body: Json = serde_json::from_slice(&answer.body)
                .map_err(|e| malformed(&endpoint, &format!("not JSON ({e})")))?;
            let list = body
                .get("environments")
                .and_then(Json::as_array)
                .ok_or_else(|| malformed(&endpoint, "no `environments` list in it"))?;
            for e in list {
                let part = |k: &str| e.get(k).and_then(Json::as_str).unwrap_or("");
                let org = part("organization");
                let org = if org.is_empty() {
                    org_or(org, &base)
                } else {
                    org
                };
                let name = format!("{org}/{}/{}", part("project"), part("name"));
                let r = EnvRef::parse(&name, "local").map_err(|e| {
                    malformed(&endpoint, &format!("an entry is not an environment ({e})"))
                })?;
                out.push(r);
            }
            match body.get("nextToken").and_then(Json::as_str) {
                Some(t) if !t.is_empty() && next.as_deref() != Some(t) => {
                    next = Some(t.to_string())
                }
                _ => {
                    out.sort();
                    out.dedup();
                    return Ok(out);
                }
            }
        }
        Err(malformed(&base, "the list never ends (over 1000 pages)"))
    }

    /// `answer` as JSON when it succeeded.
    fn json(&self, answer: Answer, endpoint: &str, env: &EnvRef) -> Result<Json, CloudError> {
        let answer = self.check(answer, endpoint, env)?;
        serde_json::from_slice(&answer.body)
            .map_err(|e| malformed(endpoint, &format!("not JSON ({e})")))
    }

    fn check(&self, answer: Answer, endpoint: &str, env: &EnvRef) -> Result<Answer, CloudError> {
        self.check_named(answer, endpoint, &env.to_string(), Some(env))
    }

    /// Turns a failed answer into the error users can act on.
    fn check_named(
        &self,
        answer: Answer,
        endpoint: &str,
        what: &str,
        env: Option<&EnvRef>,
    ) -> Result<Answer, CloudError> {
        match answer.status {
            200..=299 => Ok(answer),
            401 | 403 => Err(CloudError::Denied {
                what: what.to_string(),
                base: self.base().to_string(),
                status: answer.status,
            }),
            404 if env.is_some() => {
                let env = env.expect("checked");
                Err(CloudError::NotFound {
                    env: env.to_string(),
                    base: self.base().to_string(),
                    detail: self.why_not_found(env),
                })
            }
            status => Err(CloudError::Server {
                endpoint: endpoint.to_string(),
                status,
                request_id: answer
                    .request_id()
                    .map(|r| crate::printable::line(r).into_owned()),
                message: server_message(&answer.body),
            }),
        }
    }

    /// Whether the org exists, and the nearest name in it: one more GET,
    /// only after a 404.
    fn why_not_found(&self, env: &EnvRef) -> String {
        match self.list(Some(&env.org)) {
            Err(_) => format!(
                "the org {} does not exist or this login cannot see it; check the name, or `pulumi org ls`",
                env.org
            ),
            Ok(list) => {
                let wanted = env.short_name();
                let near = list
                    .iter()
                    .map(|r| (crate::lang::edit_distance(&r.short_name(), &wanted), r))
                    .filter(|(d, _)| *d <= 3)
                    .min_by_key(|(d, _)| *d);
                match near {
                    Some((_, r)) => format!("the org {} has no such environment; did you mean {r}?", env.org),
                    None => format!(
                        "the org {} has no such environment ({} others); `escsh env ls` lists them",
                        env.org,
                        list.len()
                    ),
                }
            }
        }
    }
}

fn env_path(env: &EnvRef) -> String {
    format!(
        "/api/esc/environments/{}/{}/{}",
        env.org, env.project, env.env
    )
}

fn versioned(env: &EnvRef, version: Option<&str>) -> Result<String, CloudError> {
    let mut path = env_path(env);
    if let Some(v) = version {
        check_version(v)?;
        path.push_str(&format!("/versions/{v}"));
    }
    Ok(path)
}

fn check_version(v: &str) -> Result<(), CloudError> {
    if v.is_empty() || !v.bytes().all(safe_byte) {
        return Err(CloudError::BadVersion(
            crate::printable::line(v).into_owned(),
        ));
    }
    Ok(())
}

/// Bytes that need no escaping in a URL path segment.
fn safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if safe_byte(b) || b == b'~' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The org of a list entry that does not name one: the org listed.
fn org_or<'a>(org: &'a str, base: &'a str) -> &'a str {
    base.strip_prefix("/api/esc/environments/").unwrap_or(org)
}

/// `METHOD /path` without the query: what errors name.
fn endpoint_of(method: &str, path: &str) -> String {
    format!("{method} {}", path.split('?').next().unwrap_or(path))
}

fn malformed(endpoint: &str, reason: &str) -> CloudError {
    CloudError::Malformed {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    }
}

/// The `message` of an error answer, on one line and short.
fn server_message(body: &[u8]) -> String {
    let json: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let text = json
        .get("message")
        .and_then(Json::as_str)
        .unwrap_or("no message");
    let line = crate::printable::line(text);
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn near_names() {
        assert_eq!(crate::lang::edit_distance("app/dev", "app/dve"), 2);
        assert_eq!(crate::lang::edit_distance("app/dev", "app/dev"), 0);
        assert_eq!(super::encode_query("a b/c"), "a%20b%2Fc");
    }
}
