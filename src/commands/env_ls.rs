//! `escsh env ls`: every environment in the store, one reference a line.

use std::io::Write;

use anyhow::Result;

use super::App;

pub fn ls(app: &App, out: &mut dyn Write) -> Result<()> {
    let mut text = String::new();
    for env in app.store.list()? {
        text.push_str(&env.to_string());
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
