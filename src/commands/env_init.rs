//! `escsh env init`: create an environment from a file or a template, and
//! the check every save goes through.

use std::io::{self, Read};

use anyhow::{Context as _, Result};

use super::App;
use crate::cli::EnvInitArgs;
use crate::reference::EnvRef;

pub fn init(app: &App, args: &EnvInitArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    app.local_only(&env, "init")?;
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
    let sealed = app.seal(&env, &definition, &crate::secrets::Revealed::none())?;
    app.store.create(&env, &sealed)?;
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
