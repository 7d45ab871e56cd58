//! `escsh env ls`: every environment in the local store, then every one
//! the Pulumi Cloud login can see (orgs that are local are not asked), one
//! reference a line.

use std::io::Write;

use anyhow::Result;

use super::App;
use crate::cloud::Cloud;
use crate::reference::EnvRef;

pub fn ls(app: &App, out: &mut dyn Write) -> Result<()> {
    let mut text = String::new();
    for env in app.store.list()? {
        text.push_str(&env.to_string());
        text.push('\n');
    }
    // The local list is printed even when the cloud cannot be listed.
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let mut text = String::new();
    for env in cloud_envs(app, None)? {
        text.push_str(&env.to_string());
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The environments the Pulumi Cloud login can see (in `org`, or in every
/// org), less those of orgs that are local; none without a login.
pub fn cloud_envs(app: &App, org: Option<&str>) -> Result<Vec<EnvRef>> {
    if org.is_some_and(|o| app.backends.is_local_org(o)) {
        return Ok(Vec::new());
    }
    let Some(login) = app.backends.current_login()? else {
        return Ok(Vec::new());
    };
    let mut envs = Cloud::new(&login)?.list(org)?;
    envs.retain(|env| !app.backends.is_local_org(&env.org));
    Ok(envs)
}
