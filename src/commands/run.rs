//! `escsh run ENV [--] CMD [ARGS...]`: the glue between the opened
//! environment and [`crate::run`].

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;

use super::App;
use crate::cli::RunArgs;
use crate::lang::Value;
use crate::projection;
use crate::run::watch::{self, Attempt, Opened};
use crate::run::{self, Plan};
use crate::store::{Recording, StoreLoader};

pub fn run(app: &App, args: &RunArgs) -> Result<u8> {
    let env = app.reference(&args.env)?;
    let Some((cmd, rest)) = args.command.split_first() else {
        anyhow::bail!("no command specified");
    };
    // Resolved with escsh's own PATH before anything is opened, as esc does.
    let program = run::resolve_command(cmd, std::env::var_os("PATH").as_deref())?;
    let plan = |top: &Value| plan(app, args, program.clone(), cmd, rest, top);
    if !args.watch {
        return run::execute(plan(&app.open(&env)?));
    }
    watch::watch(|| {
        let loader = Recording::new(StoreLoader::new(app.store.as_ref(), &env.org));
        let opened = app.open_with(&env, &loader).map(|evaluated| Opened {
            plan: plan(&evaluated.value.unwrap_or_else(|| Value::object([]))),
            expires_at: evaluated.expires_at,
        });
        let mut files = vec![PathBuf::from(app.store.location(&env))];
        files.extend(loader.into_locations());
        Attempt { files, opened }
    })
}

/// What the command gets from the opened value `top`.
fn plan(
    app: &App,
    args: &RunArgs,
    program: PathBuf,
    cmd: &OsString,
    rest: &[OsString],
    top: &Value,
) -> Plan {
    let vars = projection::project(top);
    let mut secrets = top.secret_strings();
    secrets.extend(projection::secret_values(&vars));
    let args_out = rest
        .iter()
        .map(|a| run::interpolate_arg(a, top, &mut secrets))
        .collect();
    Plan {
        program,
        arg0: cmd.clone(),
        args: args_out,
        vars,
        secrets,
        no_redact: args.no_redact || args.interactive,
        files_root: app.paths.run_files_dir(),
    }
}
