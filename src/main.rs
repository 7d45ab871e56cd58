//! Parses the command line, dispatches to `commands`, and turns the outcome
//! into an exit code. Nothing else happens here.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use escsh::cli::{AgentCommand, AwsCommand, Cli, Command, EnvCommand, KeyCommand, ShellName};
use escsh::commands::{self, App, EvalFailed};
use escsh::projection::SizeError;
use escsh::reference::RefError;
use escsh::run::args::ArgError;
use escsh::run::RunError;
use escsh::secrets::SecretsError;
use escsh::shell::{Shell, ShellError};
use escsh::store::StoreError;

/// Exit codes beyond the child's own (for `run`).
const FAILURE: u8 = 1;
/// Usage errors and environments with errors, as clap uses 2 for usage.
const INVALID: u8 = 2;
const NOT_EXECUTABLE: u8 = 126;
const NOT_FOUND: u8 = 127;

fn main() -> ExitCode {
    // Before anything is read or opened: every command may hold secrets.
    escsh::run::core_dumps::disable();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => report(&err),
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    // None needs the store: they work with a broken ESCSH_HOME.
    match &cli.command {
        Command::Hook(args) => return commands::hook::hook(shell(args.shell)).map(|()| 0),
        Command::Completions(args) => {
            return commands::completions::completions(args.shell, &mut io::stdout()).map(|()| 0)
        }
        Command::Man => return commands::man::man(&mut io::stdout()).map(|()| 0),
        Command::Version => {
            writeln!(io::stdout(), "escsh {}", env!("CARGO_PKG_VERSION"))?;
            return Ok(0);
        }
        _ => {}
    }
    let app = App::from_env()?;
    let mut out = io::stdout().lock();
    match cli.command {
        Command::Open(args) => commands::open::run(&app, &args, &mut out).map(|()| 0),
        Command::Run(args) => {
            drop(out);
            commands::run::run(&app, &args)
        }
        Command::Env(cmd) => match cmd {
            EnvCommand::Ls => commands::env_ls::ls(&app, &mut out),
            EnvCommand::Init(args) => commands::env_init::init(&app, &args),
            EnvCommand::Get(args) => commands::env_get::get(&app, &args, &mut out),
            EnvCommand::Edit(args) => commands::env_edit::edit(&app, &args),
            EnvCommand::Set(args) => commands::env_set::set(&app, &args),
            EnvCommand::Rm(args) => commands::env_rm::rm(&app, &args),
            EnvCommand::Encrypt(args) => commands::env_encrypt::encrypt(&app, &args),
            EnvCommand::Rekey(args) => commands::env_rekey::rekey(&app, &args),
        }
        .map(|()| 0),
        Command::Hook(_) | Command::Version | Command::Completions(_) | Command::Man => Ok(0),
        Command::CompleteEnvs(args) => {
            commands::completions::complete_envs(&app, &args.prefix, &mut out).map(|()| 0)
        }
        Command::Key(KeyCommand::Show) => commands::key::show(&app, &mut out).map(|()| 0),
        Command::Export(args) => commands::export::export(&app, shell(args.shell)).map(|()| 0),
        Command::Allow(args) => commands::allow::allow(&app, args.dir.as_deref()).map(|()| 0),
        Command::Deny(args) => commands::deny::deny(&app, args.dir.as_deref()).map(|()| 0),
        Command::Reload => commands::reload::reload(&app).map(|()| 0),
        Command::Status(args) => commands::status::status(&app, args.json).map(|()| 0),
        Command::Refresh(args) => commands::refresh::refresh(&app, &args.rc).map(|()| 0),
        Command::Agent(cmd) => match cmd {
            AgentCommand::Run => commands::agent::run(&app).map(|()| 0),
            AgentCommand::Status => commands::agent::status(&app, &mut out),
            AgentCommand::Stop => commands::agent::stop(&app).map(|()| 0),
        },
        Command::Aws(AwsCommand::CredentialProcess(args)) => {
            commands::aws::credential_process(&app, &args.env, &mut out).map(|()| 0)
        }
    }
}

fn shell(name: ShellName) -> Shell {
    match name {
        ShellName::Bash => Shell::Bash,
        ShellName::Zsh => Shell::Zsh,
        ShellName::Fish => Shell::Fish,
        ShellName::Nu => Shell::Nu,
        ShellName::Elvish => Shell::Elvish,
        ShellName::Xonsh => Shell::Xonsh,
        ShellName::Tcsh => Shell::tcsh_here(),
    }
}

fn report(err: &anyhow::Error) -> ExitCode {
    // The reader went away (`escsh open e | head -1`): nothing to say.
    let broken_pipe = err
        .chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    // Errors quote paths, names and values from outside: no control
    // character reaches the terminal raw.
    let text = format!("{err:#}");
    let _ = writeln!(
        io::stderr(),
        "escsh: error: {}",
        escsh::printable::escape(&text, true)
    );
    ExitCode::from(exit_code(err))
}

fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<EvalFailed>()
            || cause.is::<RefError>()
            || cause.is::<ShellError>()
            || cause.is::<ArgError>()
            || cause.is::<SizeError>()
            || matches!(
                cause.downcast_ref::<SecretsError>(),
                Some(SecretsError::CannotDecrypt(_))
            )
        {
            return INVALID;
        }
        if let Some(e) = cause.downcast_ref::<RunError>() {
            return match e {
                RunError::NotFound(_) => NOT_FOUND,
                RunError::NotExecutable(_) => NOT_EXECUTABLE,
            };
        }
        if cause.is::<StoreError>() {
            return FAILURE;
        }
    }
    FAILURE
}
