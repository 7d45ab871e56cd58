//! `escsh run ENV [--] CMD [ARGS...]`: the glue between the opened
//! environment and [`crate::run`].

use anyhow::Result;

use super::App;
use crate::cli::RunArgs;
use crate::projection;
use crate::run::{self, Plan};

pub fn run(app: &App, args: &RunArgs) -> Result<u8> {
    let env = app.reference(&args.env)?;
    let Some((cmd, rest)) = args.command.split_first() else {
        anyhow::bail!("no command specified");
    };
    // Resolved with escsh's own PATH before anything is opened, as esc does.
    let program = run::resolve_command(cmd, std::env::var_os("PATH").as_deref())?;
    let top = app.open(&env)?;

    let vars = projection::project(&top);
    let mut secrets = top.secret_strings();
    secrets.extend(projection::secret_values(&vars));
    let args_out = rest
        .iter()
        .map(|a| run::interpolate_arg(a, &top, &mut secrets))
        .collect();

    run::execute(Plan {
        program,
        arg0: cmd.clone(),
        args: args_out,
        vars,
        secrets,
        no_redact: args.no_redact || args.interactive,
        files_root: app.paths.run_files_dir(),
    })
}
