//! `escsh env ls`: every environment in the local store, then every one
//! the Pulumi Cloud login can see (orgs that are local are not asked), one
//! reference a line.

use std::io::Write;

use anyhow::Result;

use super::App;
use crate::cloud::Cloud;

pub fn ls(app: &App, out: &mut dyn Write) -> Result<()> {
    let mut text = String::new();
    for env in app.store.list()? {
        text.push_str(&env.to_string());
        text.push('\n');
    }
    // The local list is printed even when the cloud cannot be listed.
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let Some(login) = app.backends.current_login()? else {
        return Ok(());
    };
    let mut text = String::new();
    for env in Cloud::new(&login)?.list(None)? {
        if !app.backends.is_local_org(&env.org) {
            text.push_str(&env.to_string());
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
