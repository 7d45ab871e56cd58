//! The AWS keys of a target (a project's `.escrc` or a reference), from the
//! hook's cache: what the agent serves and `aws credential-process`
//! prints. Opening, locking and refreshing go through the hook's own path
//! (`obtain::obtain`, `refresh::refresh_project`), so every shell, the
//! agent and its clients share one open per credential lifetime.

use super::opener::HookOpener;
use super::App;
use crate::agent::Target;
use crate::hook::cache::{Cache, CredentialPart, Entry};
use crate::hook::obtain::{obtain, Unavailable, Wait};
use crate::hook::project::{Project, Standing};
use crate::hook::trust::TrustStore;

/// Keys for a client. `Debug` shows none of them.
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// `None`: the keys do not expire (static keys).
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// Why there are no keys; never a value.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The target cannot be served (not allowed, no keys): a client error.
    #[error("{0}")]
    NotServed(String),
    /// Opening failed (STS, the definition): may work later.
    #[error("{0}")]
    Unavailable(String),
}

/// The project a target names, with its own definition as trusted.
fn resolve(app: &App, target: &Target) -> Result<(Project, Option<Vec<u8>>), Problem> {
    match target {
        Target::Env(r) => {
            app.reference(r)
                .map_err(|e| Problem::NotServed(format!("{e:#}")))?;
            Ok((Project::for_reference(r), None))
        }
        Target::Rc(path) => {
            let project = Project::at(path).map_err(|e| Problem::NotServed(e.to_string()))?;
            let trust = TrustStore::new(&app.paths.trust_dir());
            let shown = crate::printable::line(&path.display().to_string()).into_owned();
            match project.standing(&trust) {
                Ok(Standing::Allowed { definition }) => Ok((project, definition)),
                Ok(_) => Err(Problem::NotServed(format!(
                    "{shown} is not allowed as it is: run 'escsh allow' there"
                ))),
                Err(e) => Err(Problem::NotServed(format!("{shown}: {e}"))),
            }
        }
    }
}

/// The current entry of a target: cached, opened under the lock when there
/// is none (ten clients at once make one open), re-opened now when expired.
pub fn current_entry(app: &App, target: &Target) -> Result<Entry, Problem> {
    let (project, definition) = resolve(app, target)?;
    let get = || {
        obtain(
            &app.paths,
            &project,
            definition.as_deref(),
            crate::time::now(),
            &HookOpener { app },
            Wait::Done,
        )
        .map_err(|e| {
            let why = match e {
                Unavailable::Failed(failed, _) => failed.message,
                Unavailable::Opening => "it is still being opened".into(),
            };
            Problem::Unavailable(format!("cannot open {}: {why}", project.target_name()))
        })
    };
    let entry = get()?;
    if !entry.expired(crate::time::now()) {
        return Ok(entry);
    }
    super::refresh::refresh_project(app, &project, definition.as_deref())
        .map_err(|e| Problem::Unavailable(format!("{e:#}")))?;
    let entry = get()?;
    if entry.expired(crate::time::now()) {
        let why = entry
            .failure
            .as_ref()
            .map_or_else(String::new, |f| format!(": {}", f.message));
        return Err(Problem::Unavailable(format!(
            "the credentials of {} have expired and could not be renewed{why}",
            entry.target
        )));
    }
    Ok(entry)
}

/// The target's AWS keys: the variables that carry an aws-login output.
pub fn keys(app: &App, target: &Target) -> Result<Keys, Problem> {
    let entry = current_entry(app, target)?;
    let part = |p: CredentialPart| {
        entry
            .vars
            .iter()
            .find(|v| v.aws == Some(p))
            .map(|v| v.value.clone())
    };
    match (
        part(CredentialPart::AccessKeyId),
        part(CredentialPart::SecretAccessKey),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Keys {
            access_key_id,
            secret_access_key,
            session_token: part(CredentialPart::SessionToken),
            expires_at: entry.expires_at,
        }),
        _ => Err(Problem::NotServed(format!(
            "{} has no aws-login keys in its environmentVariables: map an fn::open::aws-login \
             output's accessKeyId and secretAccessKey (and sessionToken) to variables",
            entry.target
        ))),
    }
}

/// Re-opens the target in the background's stead when its refresh is due
/// (the agent calls this for what it served), so clients never wait.
pub fn refresh_if_due(app: &App, target: &Target) {
    let Ok((project, definition)) = resolve(app, target) else {
        return;
    };
    let cache = Cache::new(&app.paths.opened_dir());
    let Some(entry) = cache.read(&project.cache_key()) else {
        return;
    };
    let now = crate::time::now();
    let due = entry
        .refresh_at(project.settings.refresh_margin())
        .is_some_and(|at| now >= at);
    let backing_off = entry.failure.as_ref().is_some_and(|f| f.retry_at > now);
    if due && !backing_off {
        let _ = super::refresh::refresh_project(app, &project, definition.as_deref());
    }
}

/// The container protocol's JSON.
pub fn container_json(keys: &Keys) -> serde_json::Value {
    serde_json::json!({
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key,
        "Token": keys.session_token,
        "Expiration": expiration(keys),
    })
}

/// `credential_process`'s JSON (version 1); no `Expiration` for keys that
/// do not expire, as the protocol says.
pub fn process_json(keys: &Keys) -> serde_json::Value {
    let mut out = serde_json::json!({
        "Version": 1,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key,
    });
    if let Some(t) = &keys.session_token {
        out["SessionToken"] = t.clone().into();
    }
    if let Some(at) = keys.expires_at {
        out["Expiration"] = crate::time::rfc3339(at).into();
    }
    out
}

/// Keys that never expire are given an hour: the container protocol wants
/// an expiration, and clients then ask again hourly.
fn expiration(keys: &Keys) -> String {
    crate::time::rfc3339(keys.expires_at.unwrap_or_else(|| crate::time::now() + 3600))
}
