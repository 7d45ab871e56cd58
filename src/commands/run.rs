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
use crate::projection::{self, Var, VarKind};
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
    let plan = |top: &Value| {
        let vars = projection::project(top);
        make_plan(app, args, program.clone(), cmd, rest, top, vars)
    };
    if aws_endpoint(app, args)? {
        let endpoint = endpoint_vars(app, &args.env)?;
        // Only arguments that name values need the evaluation itself.
        let needs_value = rest
            .iter()
            .any(|a| a.as_encoded_bytes().windows(2).any(|w| w == b"${"));
        let top = if needs_value {
            app.open_located(&loc)?.value
        } else {
            Value::object([])
        };
        let mut plan = make_plan(app, args, program.clone(), cmd, rest, &top, endpoint.vars)?;
        plan.hidden = endpoint.hidden;
        return run::execute(plan);
    }
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

/// `--aws-endpoint`, or `aws: endpoint` in config.yaml without `--aws-export`.
/// `--watch` restarts the command to give it fresh keys: it takes them as
/// variables unless asked otherwise.
fn aws_endpoint(app: &App, args: &RunArgs) -> Result<bool> {
    use crate::hook::rc::AwsMode;
    if args.aws_endpoint || args.aws_export || args.watch {
        return Ok(args.aws_endpoint);
    }
    Ok(crate::reference::aws_mode(&app.paths.config_file())? == AwsMode::Endpoint)
}

/// What the command gets in endpoint mode.
struct EndpointVars {
    vars: Vec<Var>,
    hidden: Vec<String>,
}

/// The environment's variables from the cache the agent serves, the keys
/// replaced by the agent's endpoint (started if needed; it stays while
/// this command runs), and the variables that would shadow it hidden.
fn endpoint_vars(app: &App, reference: &str) -> Result<EndpointVars> {
    use crate::agent::{self, files::AgentFiles, Target};
    let target = Target::Env(reference.to_string());
    let entry = super::endpoint::current_entry(app, &target)?;
    let var = |name: String, value: String, secret: bool| Var {
        name,
        value,
        secret,
        kind: VarKind::Env,
    };
    let mut vars: Vec<Var> = entry
        .vars
        .iter()
        .filter(|v| v.aws.is_none())
        .map(|v| var(v.name.clone(), v.value.clone(), v.secret))
        .collect();
    if !entry.vars.iter().any(|v| v.aws.is_some()) {
        eprintln!(
            "escsh: warning: {} has no aws-login keys in its environmentVariables: nothing to serve from the credential endpoint",
            entry.target
        );
        return Ok(EndpointVars {
            vars,
            hidden: Vec::new(),
        });
    }
    let mut notes = Vec::new();
    let found = agent::ensure(&app.paths, &mut notes);
    notes.iter().for_each(|n| eprintln!("escsh: {n}"));
    let endpoint = found?;
    AgentFiles::new(&app.paths).add_shell(std::process::id())?;
    for (name, value) in agent::endpoint_vars(&endpoint, &target) {
        vars.push(var(name, value, false));
    }
    if let Some(at) = entry.expires_at {
        let at = crate::time::rfc3339(at);
        vars.push(var("AWS_CREDENTIAL_EXPIRATION".into(), at, false));
    }
    Ok(EndpointVars {
        vars,
        hidden: agent::SHADOWING.iter().map(|s| s.to_string()).collect(),
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
fn make_plan(
    app: &App,
    args: &RunArgs,
    program: PathBuf,
    cmd: &OsString,
    rest: &[OsString],
    top: &Value,
    vars: Vec<Var>,
) -> Result<Plan> {
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
        hidden: Vec::new(),
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
