//! `escsh key show`: the public age recipient of the user's identity (the
//! line to add to a `recipients` file), created on first need.

use std::io::Write;

use anyhow::Result;

use super::App;

pub fn show(app: &App, out: &mut dyn Write) -> Result<()> {
    let key = app.keyring.key()?;
    writeln!(out, "{}", key.public)?;
    out.flush()?;
    Ok(())
}
