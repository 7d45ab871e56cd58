//! `escsh status [--json]`: the `.escrc` here, its trust, what is loaded
//! (names only), the expiry, the next refresh and the last error.

use anyhow::Result;
use serde_json::{Map, Value as Json};

use super::App;
use crate::backend::Backend;
use crate::cloud::Cloud;
use crate::hook::cache::Cache;
use crate::hook::export;
use crate::hook::project::{Project, Standing};
use crate::hook::rc::Target;
use crate::hook::state::VAR as STATE_VAR;
use crate::hook::trust::{Trust, TrustStore};
use crate::printable;
use crate::time;

pub fn status(app: &App, json: bool) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let now = time::now();
    let mut report = Map::new();
    match Project::find(&cwd) {
        None => {
            report.insert("escrc".into(), Json::Null);
        }
        Some(Err(e)) => {
            report.insert("escrc".into(), e.path().display().to_string().into());
            report.insert("error".into(), e.to_string().into());
        }
        Some(Ok(project)) => describe(app, &project, now, &mut report),
    }
    let state = std::env::var_os(STATE_VAR)
        .and_then(|s| export::decode_state(&app.paths, s.as_encoded_bytes()));
    if let Some(state) = state.filter(|s| s.is_loaded()) {
        report.insert("loaded".into(), state.env.clone().into());
        let names: Vec<String> = state.keys.iter().map(|k| k.name.clone()).collect();
        report.insert("variables".into(), names.into());
    }
    report.insert(
        "runtimeDir".into(),
        app.paths.runtime_dir().display().to_string().into(),
    );
    if let Some(note) = app.paths.runtime_note() {
        report.insert("runtimeNote".into(), note.into());
    }
    if !app.paths.refusals().is_empty() {
        report.insert("refusedDirs".into(), app.paths.refusals().to_vec().into());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (k, v) in &report {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Null => "-".into(),
            Json::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        println!("{k}: {}", printable::line(&text));
    }
    Ok(())
}

fn describe(app: &App, project: &Project, now: i64, report: &mut Map<String, Json>) {
    report.insert("escrc".into(), project.rc.path.display().to_string().into());
    report.insert("target".into(), project.target_name().into());
    origin(app, project, report);
    let trust = match project.standing(&TrustStore::new(&app.paths.trust_dir())) {
        Ok(Standing::Allowed { .. }) => Trust::Allowed,
        Ok(Standing::Denied) => Trust::Denied,
        Ok(Standing::NotAllowed { .. }) => Trust::NotAllowed,
        Err(e) => {
            report.insert("error".into(), e.to_string().into());
            Trust::NotAllowed
        }
    };
    report.insert(
        "trust".into(),
        serde_json::to_value(trust).unwrap_or(Json::Null),
    );
    let cache = Cache::new(&app.paths.opened_dir());
    let key = project.cache_key();
    let Some(entry) = cache.read(&key) else {
        // The hook's first open of a cloud environment, still answering.
        if let (Ok(None), Some(since)) = (cache.try_lock(&key), cache.locked_at(&key)) {
            let since = since
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(now, |d| d.as_secs() as i64);
            report.insert("openingSince".into(), time::rfc3339(since).into());
        }
        return;
    };
    if entry.unopened {
        if let Some(f) = &entry.failure {
            report.insert("loadError".into(), f.message.clone().into());
        }
        return;
    }
    if let Some(expires) = entry.expires_at {
        report.insert("expires".into(), time::rfc3339(expires).into());
        report.insert("timeLeft".into(), time::span(expires - now).into());
        let margin = project.settings.refresh_margin();
        let next = entry.refresh_at(margin).map(|at| match &entry.failure {
            Some(f) if f.retry_at > at => f.retry_at,
            _ => at,
        });
        if let Some(at) = next {
            report.insert("nextRefresh".into(), time::rfc3339(at.max(now)).into());
        }
    }
    report.insert(
        "lastRefreshError".into(),
        entry.failure.map(|f| f.message).into(),
    );
}

/// Where the environment comes from: its file, or its Pulumi Cloud backend
/// and current revision (one GET); never the token, only where it is from.
fn origin(app: &App, project: &Project, report: &mut Map<String, Json>) {
    let Target::Reference(name) = &project.settings.target else {
        return;
    };
    let loc = match app.locate(name) {
        Ok(loc) => loc,
        Err(e) => {
            report.insert("sourceError".into(), format!("{e:#}").into());
            return;
        }
    };
    let login = match &loc.backend {
        Backend::Local => {
            report.insert("source".into(), app.store.location(&loc.env).into());
            return;
        }
        Backend::Cloud(login) => login,
    };
    report.insert(
        "source".into(),
        format!("{}/{}", login.url, loc.name()).into(),
    );
    report.insert("backend".into(), login.url.clone().into());
    report.insert("tokenFrom".into(), login.token_source.clone().into());
    let revision = Cloud::new(login).and_then(|c| c.revision(&loc.env, loc.version.as_deref()));
    match revision {
        Ok(Some(r)) => {
            report.insert("revision".into(), r.into());
        }
        Ok(None) => {}
        Err(e) => {
            report.insert("sourceError".into(), e.to_string().into());
        }
    }
}
