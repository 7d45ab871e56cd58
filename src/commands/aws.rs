//! `escsh aws credential-process ENV`: the keys of ENV as the AWS CLI and
//! SDKs read them from a profile's `credential_process`, taken from the
//! agent (started if needed), which serves them from the cache.

use std::io::Write;

use anyhow::Result;

use super::endpoint::{self, Keys};
use super::App;
use crate::agent::{self, server, Target};

pub fn credential_process(app: &App, env: &str, out: &mut dyn Write) -> Result<()> {
    // Checked here, so a typo is an error of this command, not the agent's.
    app.reference(env)?;
    let target = Target::Env(env.to_string());
    let keys = match from_agent(app, &target) {
        Ok(keys) => keys,
        // The agent could not be started or asked: the cache directly.
        Err(AgentError::Unreachable(why)) => {
            eprintln!("escsh: warning: {why}; reading the cache directly");
            endpoint::keys(app, &target)?
        }
        Err(AgentError::Refused(message)) => anyhow::bail!("{message}"),
    };
    writeln!(out, "{}", endpoint::process_json(&keys))?;
    Ok(())
}

enum AgentError {
    Unreachable(String),
    Refused(String),
}

fn from_agent(app: &App, target: &Target) -> Result<Keys, AgentError> {
    let mut notes = Vec::new();
    let found = agent::ensure(&app.paths, &mut notes);
    for n in notes {
        eprintln!("escsh: {n}");
    }
    let e = found.map_err(|e| AgentError::Unreachable(format!("{e:#}")))?;
    let token = agent::files::AgentFiles::new(&app.paths)
        .read_token()
        .map_err(|e| AgentError::Unreachable(e.to_string()))?;
    let (status, body) = server::get(e.port, &target.path(), &token)
        .map_err(|e| AgentError::Unreachable(format!("asking the agent: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| AgentError::Unreachable("the agent's answer is not JSON".into()))?;
    let text = |k: &str| json[k].as_str().map(str::to_string);
    if status != 200 {
        return Err(AgentError::Refused(
            text("message").unwrap_or_else(|| format!("the agent answered {status}")),
        ));
    }
    let (Some(access_key_id), Some(secret_access_key)) =
        (text("AccessKeyId"), text("SecretAccessKey"))
    else {
        return Err(AgentError::Unreachable(
            "the agent's answer has no keys".into(),
        ));
    };
    Ok(Keys {
        access_key_id,
        secret_access_key,
        session_token: text("Token"),
        expires_at: text("Expiration").and_then(|t| crate::time::parse_rfc3339(&t)),
    })
}
