//! `escsh env encrypt NAME|--file PATH`: turn the plaintext secrets of a
//! definition into ciphertext in place.

use anyhow::Result;

use super::sealing::{say_shared, Target};
use super::App;
use crate::cli::EnvTargetArgs;
use crate::secrets::{self, Revealed};

pub fn encrypt(app: &App, args: &EnvTargetArgs) -> Result<()> {
    let target = Target::from_args(app, args.env.as_deref(), args.file.as_deref())?;
    target.rewrite(app, |place, text| {
        match secrets::encrypt(&app.keyring, place, text, &Revealed::none())? {
            Some((new, count, recipients)) => {
                eprintln!("encrypted {count} secret(s) in {}", place.location);
                say_shared(app, &recipients);
                Ok(Some(new))
            }
            None => {
                eprintln!("no plaintext secrets in {}; unchanged", place.location);
                Ok(None)
            }
        }
    })
}
