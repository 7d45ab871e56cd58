//! `escsh run ENV [--] CMD [ARGS...]`: the glue between the opened
//! environment and [`crate::run`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Once;

use anyhow::Result;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use super::{App, Located};
use crate::backend::Backend;
use crate::cli::RunArgs;
use crate::cloud::login::Login;
use crate::cloud::Cloud;
use crate::lang::Value;
use crate::projection;
use crate::run::watch::Poll;
use crate::run::watch::{self, Attempt, Opened};
use crate::run::{self, Plan};

pub fn run(app: &App, args: &RunArgs) -> Result<u8> {
    let loc = app.locate(&args.env)?;
    let env = loc.env.clone();
    let Some((cmd, rest)) = args.command.split_first() else {
        anyhow::bail!("no command specified");
    };
    // Resolved with escsh's own PATH before anything is opened, as esc does.
    let program = run::resolve_command(cmd, std::env::var_os("PATH").as_deref())?;
    let plan = |top: &Value| plan(app, args, program.clone(), cmd, rest, top);
    if !args.watch {
        return run::execute(plan(&app.open_located(&loc)?.value)?);
    }
    if let Backend::Cloud(login) = &loc.backend {
        return watch_cloud(app, &loc, login, &plan);
    }
    // The same record of what was read as the shell hook keeps: the
    // environment's own definition and every import, found or not.
    watch::watch(|| {
        let recorded = app.open_recorded(&env);
        let files = recorded.sources.iter().map(|s| s.path.clone()).collect();
        let opened = recorded
            .evaluated
            .map_err(anyhow::Error::from)
            .and_then(|evaluated| {
                app.check(&env, &evaluated)?;
                Ok(Opened {
                    plan: plan(&evaluated.value.unwrap_or_else(|| Value::object([])))?,
                    expires_at: evaluated.expires_at,
                })
            });
        Attempt { files, opened }
    })
}

/// How often `run --watch` asks Pulumi Cloud for the revision: at most
/// once a minute.
const REVISION_POLL: Duration = Duration::from_secs(60);

/// `run --watch` on a cloud environment: re-opened before expiry, and when
/// the revision it names changes (polled; a revision number never does).
fn watch_cloud(
    app: &App,
    loc: &Located,
    login: &Login,
    plan: &dyn Fn(&Value) -> Result<Plan>,
) -> Result<u8> {
    let cloud = Rc::new(Cloud::new(login)?);
    let seen = Rc::new(Cell::new(None));
    let version = loc.version.clone();
    let fixed = version
        .as_deref()
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()));
    let poll = (!fixed).then(|| {
        let (cloud, seen, env) = (cloud.clone(), seen.clone(), loc.env.clone());
        Poll {
            every: REVISION_POLL,
            changed: Box::new(move || match cloud.revision(&env, version.as_deref()) {
                Ok(r) => r.is_some() && r != seen.get(),
                Err(e) => {
                    eprintln!("escsh: warning: checking {env} for changes: {e}");
                    false
                }
            }),
        }
    });
    watch::watch_polling(
        || {
            // The revision first: a change made during the open is then
            // seen at the next poll rather than missed.
            if !fixed {
                if let Ok(r) = cloud.revision(&loc.env, loc.version.as_deref()) {
                    seen.set(r);
                }
            }
            Attempt {
                files: Vec::new(),
                opened: app.open_cloud(login, loc).and_then(|o| {
                    Ok(Opened {
                        plan: plan(&o.value)?,
                        expires_at: Some(o.expires_at),
                    })
                }),
            }
        },
        poll,
    )
}

/// What the command gets from the opened value `top`; fails when an
/// argument's `${}` has no value or a variable cannot be passed on.
fn plan(
    app: &App,
    args: &RunArgs,
    program: PathBuf,
    cmd: &OsString,
    rest: &[OsString],
    top: &Value,
) -> Result<Plan> {
    let vars = projection::project(top);
    let mut secrets = top.secret_strings();
    secrets.extend(projection::secret_values(&vars));
    let interpolated = run::args::interpolate(rest, top)?;
    if !interpolated.secret_args.is_empty() {
        warn_secret_in_args(cmd, &interpolated.secret_args);
    }
    secrets.extend(interpolated.secrets);
    let plan = Plan {
        program,
        arg0: cmd.clone(),
        args: interpolated.args,
        vars,
        secrets,
        no_redact: args.no_redact || args.interactive,
        files_root: app.paths.run_files_dir(),
    };
    run::check(&plan)?;
    Ok(plan)
}

/// Command lines are readable by every user of the machine (`ps`,
/// /proc/PID/cmdline), unlike the environment. Said once per escsh, not at
/// each restart of `--watch`; never with the value.
fn warn_secret_in_args(cmd: &OsString, indexes: &[usize]) {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        let which: Vec<String> = indexes.iter().map(usize::to_string).collect();
        let plural = if which.len() > 1 { "s" } else { "" };
        eprintln!(
            "escsh: warning: a secret is interpolated into argument{plural} {} of {}: other \
             users of this machine can read command arguments (ps); pass it through an \
             environmentVariables entry or a file (`files`) instead",
            which.join(", "),
            cmd.to_string_lossy().escape_debug()
        );
    });
}
