//! `escsh env rekey NAME|--file PATH`: encrypt every secret of a definition
//! afresh for its current recipients (after the `recipients` file changed).

use anyhow::Result;

use super::sealing::{say_shared, Target};
use super::App;
use crate::cli::EnvTargetArgs;
use crate::printable;
use crate::secrets;

pub fn rekey(app: &App, args: &EnvTargetArgs) -> Result<()> {
    let target = Target::from_args(app, args.env.as_deref(), args.file.as_deref())?;
    target.rewrite(app, |place, text| {
        let (new, count, recipients) = secrets::rekey(&app.keyring, place, text)?;
        let whom = match &recipients.file {
            Some(f) => format!(
                "{} recipient(s) (you and {})",
                recipients.keys.len(),
                printable::line(&f.display().to_string())
            ),
            None => "you alone (no recipients file)".to_string(),
        };
        if count == 0 {
            eprintln!("no secrets in {}; unchanged", place.location);
            return Ok(None);
        }
        eprintln!(
            "re-encrypted {count} secret(s) in {} for {whom}",
            place.location
        );
        say_shared(app, &recipients);
        Ok(Some(new))
    })
}
