//! `escsh env get`: an environment's definition and its value, secrets hidden.

use std::io::Write;

use anyhow::Result;

use super::{print_text, to_json_text, value_at, App};
use crate::access;
use crate::cli::EnvGetArgs;
use crate::lang::Value;

pub fn get(app: &App, args: &EnvGetArgs, out: &mut dyn Write) -> Result<()> {
    let env = app.reference(&args.env)?;
    let redact = !args.show_secrets;
    let path = args.path.as_deref().map(access::parse_path).transpose()?;
    let definition = app.store.read(&env)?;
    if let Some(path) = path {
        let top = app.open(&env)?;
        let value = value_at(&env, top, &path);
        print_text(out, &to_json_text(&value, redact))?;
        out.flush()?;
        return Ok(());
    }
    // The definition first: it is worth seeing even when it has errors.
    let mut text = format!("# Definition ({})\n", app.store.location(&env));
    text.push_str(&String::from_utf8_lossy(&definition));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let evaluated = app.evaluate(&env, &definition);
    app.check(&env, &evaluated)?;
    let value = evaluated.value.unwrap_or_else(Value::null);
    let text = format!("\n# Value\n{}\n", to_json_text(&value, redact));
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
