//! `escsh env ls|init|get|rm`: the store, seen from the command line.
//! (`edit` and `set` have their own files.)

use std::io::{self, IsTerminal, Read, Write};

use anyhow::{bail, Context as _, Result};

use super::{print_text, to_json_text, value_at, App};
use crate::access;
use crate::cli::{EnvGetArgs, EnvInitArgs, EnvRmArgs};
use crate::lang::Value;
use crate::reference::EnvRef;

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

pub fn init(app: &App, args: &EnvInitArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    let definition = match &args.file {
        Some(f) if f.as_os_str() == "-" => {
            let mut buf = Vec::new();
            io::stdin()
                .read_to_end(&mut buf)
                .context("reading the definition from stdin")?;
            buf
        }
        Some(f) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        None => template(&env).into_bytes(),
    };
    check_before_save(app, &env, &definition, args.force)?;
    app.store.create(&env, &definition)?;
    eprintln!("created {env} ({})", app.store.location(&env));
    Ok(())
}

/// Evaluates a definition about to be saved; refuses one with errors unless
/// `force`. Diagnostics are printed either way.
pub(super) fn check_before_save(
    app: &App,
    env: &EnvRef,
    definition: &[u8],
    force: bool,
) -> Result<()> {
    let evaluated = app.evaluate(env, definition);
    match app.check(env, &evaluated) {
        Err(_) if force => {
            eprintln!("escsh: warning: saving {env} with errors (--force)");
            Ok(())
        }
        Err(e) => Err(e.context("not saved (use --force to save it anyway)")),
        Ok(()) => Ok(()),
    }
}

/// What `env init` writes without `--file`: guidance in comments, and an
/// empty environment.
pub(super) fn template(env: &EnvRef) -> String {
    format!(
        r#"# escsh environment {env}
# The language is Pulumi ESC's: https://www.pulumi.com/docs/esc/environments/syntax/
#
# Replace `values: {{}}` below with your own, for example:
#
# imports:                  # environments merged underneath this one
#   - base                  # "base" in project "default" of the same org
#   - project/other
# values:
#   app:
#     url: https://example.com
#     token:
#       fn::secret: change-me
#   environmentVariables:   # set by `escsh run`, printed by `escsh open --format shell`
#     APP_URL: ${{app.url}}
#     APP_TOKEN: ${{app.token}}
#   files:                  # written to private files; the variable holds the path
#     APP_CONFIG: "url = ${{app.url}}"
values: {{}}
"#
    )
}

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

pub fn rm(app: &App, args: &EnvRmArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
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
