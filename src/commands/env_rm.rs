//! `escsh env rm`: remove an environment's definition, after confirmation.

use std::io::{self, IsTerminal};

use anyhow::{bail, Result};

use super::App;
use crate::cli::EnvRmArgs;

pub fn rm(app: &App, args: &EnvRmArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    app.local_only(&env, "rm")?;
    // Fail on a missing environment before asking anything.
    app.store.read(&env)?;
    if !args.yes {
        if !io::stdin().is_terminal() {
            bail!("not removing {env} without confirmation: stdin is not a terminal; pass --yes");
        }
        if !super::confirm(&format!("Remove {env} ({})?", app.store.location(&env)))? {
            bail!("not removed");
        }
    }
    app.store.remove(&env)?;
    eprintln!("removed {env}");
    Ok(())
}
