//! `escsh env get`: an environment's definition and its value, secrets hidden.

use std::io::Write;

use anyhow::Result;

use super::{print_text, to_json_text, value_at, App, Located};
use crate::access;
use crate::backend::Backend;
use crate::cli::EnvGetArgs;
use crate::cloud::Cloud;
use crate::lang::Value;

pub fn get(app: &App, args: &EnvGetArgs, out: &mut dyn Write) -> Result<()> {
    let loc = app.locate(&args.env)?;
    let env = loc.env.clone();
    let redact = !args.show_secrets;
    let path = args.path.as_deref().map(access::parse_path).transpose()?;
    if let Backend::Cloud(login) = &loc.backend {
        return get_cloud(app, &loc, login, args.show_secrets, path.as_deref(), out);
    }
    let definition = app.store.read(&env)?;
    if let Some(path) = path {
        let top = app.open(&env)?;
        let value = value_at(&env, top, &path);
        print_text(out, &to_json_text(&value, redact))?;
        out.flush()?;
        return Ok(());
    }
    // The definition first: it is worth seeing even when it has errors.
    let header = format!("# Definition ({})\n", app.store.location(&env));
    print_definition(out, &header, &definition)?;
    let evaluated = app.evaluate(&env, &definition);
    app.check(&env, &evaluated)?;
    print_value(out, &evaluated.value.unwrap_or_else(Value::null), redact)
}

/// The same for a cloud environment: the stored definition (`/decrypt`
/// only with `--show-secrets`), then the value Pulumi Cloud opens.
fn get_cloud(
    app: &App,
    loc: &Located,
    login: &crate::cloud::login::Login,
    show_secrets: bool,
    path: Option<&[access::Accessor]>,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(path) = path {
        let top = app.open_cloud(login, loc)?.value;
        let value = value_at(&loc.env, top, path);
        print_text(out, &to_json_text(&value, !show_secrets))?;
        out.flush()?;
        return Ok(());
    }
    let cloud = Cloud::new(login)?;
    let definition = cloud.definition(&loc.env, loc.version.as_deref(), show_secrets)?;
    let revision = definition
        .revision
        .map(|r| format!(", revision {r}"))
        .unwrap_or_default();
    let header = format!("# Definition ({}/{}{revision})\n", login.url, loc.name());
    print_definition(out, &header, &definition.yaml)?;
    let value = app.open_cloud(login, loc)?.value;
    print_value(out, &value, !show_secrets)
}

fn print_definition(out: &mut dyn Write, header: &str, definition: &[u8]) -> Result<()> {
    let mut text = header.to_string();
    text.push_str(&String::from_utf8_lossy(definition));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn print_value(out: &mut dyn Write, value: &Value, redact: bool) -> Result<()> {
    let text = format!("\n# Value\n{}\n", to_json_text(value, redact));
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
