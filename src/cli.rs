//! Every command-line type, in one place (completions and man pages are
//! generated from these).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

/// Pulumi ESC environments in your shell: per-project variables and
/// short-lived cloud credentials.
///
/// ENV is a reference `[org/][project/]env`: `env` is in project `default`
/// of your default org (`local`, or `defaultOrg` in the config file).
/// Definitions live in `<config>/environments/<org>/<project>/<env>.yaml`;
/// set ESCSH_HOME to keep everything under one directory.
#[derive(Debug, Parser)]
#[command(name = "escsh", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate an environment and print its value, secrets revealed.
    Open(OpenArgs),
    /// Run a command with an environment's variables and files.
    Run(RunArgs),
    /// Manage environment definitions in the local store.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Your age key, which encrypts and decrypts secrets at rest.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print the shell hook to load from your shell's startup file.
    ///
    /// bash: `eval "$(escsh hook bash)"` in ~/.bashrc; zsh: `eval "$(escsh hook zsh)"`
    /// in ~/.zshrc; fish: `escsh hook fish | source` in config.fish. Put it last.
    Hook(ShellArgs),
    /// Print the statements that bring this shell up to date (the hook runs this).
    #[command(hide = true)]
    Export(ShellArgs),
    /// Allow the `.escrc` that applies here (or in DIR) to load, as it is now.
    Allow(DirArgs),
    /// Never load the `.escrc` that applies here (or in DIR), even after edits.
    Deny(DirArgs),
    /// Re-open this directory's environment now; every shell picks it up at its next prompt.
    Reload,
    /// Show the `.escrc` here, its trust, what is loaded (names only) and the expiry.
    Status(StatusArgs),
    /// Re-open an `.escrc`'s environment in the background (the hook starts this).
    #[command(hide = true)]
    Refresh(RefreshArgs),
    /// The per-user credential agent (AWS container credential endpoint).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// AWS helpers: `credential-process ENV` for a profile in ~/.aws/config.
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Print escsh's version (as `--version` does).
    Version,
    /// Print a completion script for SHELL (where it goes: see the README).
    ///
    /// bash: `escsh completions bash > ~/.local/share/bash-completion/completions/escsh`;
    /// zsh: into a file `_escsh` in a directory of your $fpath; fish:
    /// `escsh completions fish > ~/.config/fish/completions/escsh.fish`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `escsh man > ~/.local/share/man/man1/escsh.1`.
    Man,
    /// Print the store's environments that start with PREFIX, one a line
    /// (the completion scripts call this; nothing is evaluated).
    #[command(hide = true)]
    CompleteEnvs(CompleteEnvsArgs),
}

/// The shells `escsh completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    /// Nushell.
    Nu,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Args)]
pub struct CompleteEnvsArgs {
    /// Only the references that start with this.
    #[arg(default_value = "", allow_hyphen_values = true)]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellName {
    Bash,
    Zsh,
    Fish,
    /// Nushell: `escsh export nu` prints JSON that its hook applies.
    Nu,
    Elvish,
    Xonsh,
    Tcsh,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    #[arg(value_enum)]
    pub shell: ShellName,
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// A directory (or `.escrc` file); the current directory by default.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    pub rc: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The value as JSON, 2-space indented, keys sorted.
    Json,
    /// The value as YAML.
    Yaml,
    /// `NAME='value'` lines of the environmentVariables and files.
    Dotenv,
    /// `export NAME='value'` lines to eval in bash or zsh.
    Shell,
    /// The value's text, as ESC's fn::toString renders it.
    String,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// A property path such as `app.url`, `items[0]` or `a["key-1"]`
    /// (not with dotenv or shell).
    pub path: Option<String>,
    #[arg(short, long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

/// ENV may be followed by escsh options, then `--` and the command. `${path}`
/// in arguments is replaced by that value of the environment (quote it
/// against your shell: `escsh run e -- echo '${app.url}'`; `$$` is a `$`).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// Pass the command's output through untouched (same as --no-redact).
    #[arg(short, long)]
    pub interactive: bool,
    /// Do not replace secret values by `[secret]` in piped output. Output
    /// to a terminal is never redacted.
    #[arg(long)]
    pub no_redact: bool,
    /// Restart the command when the environment changes: when a definition
    /// file it was read from (the environment's own or an import's) is edited,
    /// or shortly before its credentials expire. An edit with errors is
    /// reported and the running command is kept.
    #[arg(short, long)]
    pub watch: bool,
    /// Give the command the credential agent's endpoint instead of the AWS
    /// keys, so it keeps working past their expiry (the default with
    /// `aws: endpoint` in config.yaml).
    #[arg(long, conflicts_with = "aws_export")]
    pub aws_endpoint: bool,
    /// Give the command the AWS keys themselves, whatever config.yaml says.
    #[arg(long)]
    pub aws_export: bool,
    /// The command and its arguments; run directly, not through a shell.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND",
        value_hint = ValueHint::CommandWithArguments
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Show whether the agent runs, where it listens and its token file.
    /// Exits 3 when it is not running.
    Status,
    /// Stop the agent (the next shell prompt or client starts it again).
    Stop,
    /// Run the agent in the foreground (clients start it detached, on demand).
    #[command(hide = true)]
    Run,
}

#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// Print ENV's AWS keys as `credential_process` JSON, from the cache:
    /// `credential_process = escsh aws credential-process acme/app/dev`
    /// in a profile of ~/.aws/config.
    CredentialProcess(AwsEnvArgs),
}

#[derive(Debug, Args)]
pub struct AwsEnvArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List the environments, one reference per line.
    Ls,
    /// Create an environment from a file or a commented template.
    Init(EnvInitArgs),
    /// Show an environment's definition and its value (secrets hidden).
    Get(EnvGetArgs),
    /// Edit a definition with $VISUAL or $EDITOR; it is checked before it is saved.
    Edit(EnvEditArgs),
    /// Set one value in a definition.
    ///
    /// A value already there is replaced in place, the rest of the file as
    /// written. A new key rewrites the definition from its parsed YAML,
    /// which drops comments and formatting (escsh says so); `env edit` keeps
    /// them.
    Set(EnvSetArgs),
    /// Remove an environment's definition.
    Rm(EnvRmArgs),
    /// Encrypt a definition's plaintext secrets in place (`fn::secret: {ciphertext: ...}`).
    Encrypt(EnvTargetArgs),
    /// Encrypt every secret of a definition afresh for its current `recipients`.
    Rekey(EnvTargetArgs),
}

#[derive(Debug, Args)]
pub struct EnvTargetArgs {
    /// The environment, `[org/][project/]env`.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub env: Option<String>,
    /// A definition file instead (a project's `file:`); its recipients come
    /// from the nearest `recipients` file above it.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print your age public key (a line for a `recipients` file); the key
    /// is created on first need.
    Show,
}

#[derive(Debug, Args)]
pub struct EnvInitArgs {
    // Its id is not `env`: completions offer the stored environments for
    // every positional `env`, and this one does not exist yet.
    /// The new environment, `[org/][project/]env`.
    #[arg(id = "new_env", value_name = "ENV")]
    pub env: String,
    /// Read the definition from this file (`-` for stdin).
    #[arg(long, short, value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,
    /// Save the definition even if it has errors.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnvGetArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// Print only the value at this property path.
    pub path: Option<String>,
    /// Show secret values instead of `[secret]`.
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct EnvEditArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// Save the edit even if it has errors or the stored definition changed meanwhile.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnvSetArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// Where under `values`, e.g. `app.url` or `environmentVariables.FOO`.
    pub path: String,
    /// A YAML value (`8080`, `true`, `hello`); see --string.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// Store the value as a secret (`fn::secret`); implies --string.
    #[arg(long)]
    pub secret: bool,
    /// Store VALUE as a string even if it reads as a number, boolean or null.
    #[arg(long)]
    pub string: bool,
    /// Save even if the result has errors.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnvRmArgs {
    /// The environment, `[org/][project/]env`.
    pub env: String,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short)]
    pub yes: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_everything_after_the_command() {
        let cli = Cli::try_parse_from(["escsh", "run", "e", "-i", "--", "ls", "-l", "--no-redact"])
            .unwrap();
        let Command::Run(args) = cli.command else {
            panic!()
        };
        assert!(args.interactive && !args.no_redact);
        assert_eq!(args.command, ["ls", "-l", "--no-redact"]);
        let cli = Cli::try_parse_from(["escsh", "run", "e", "echo", "-n", "x"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.command, ["echo", "-n", "x"]);
    }

    #[test]
    fn version_is_a_command() {
        let cli = Cli::try_parse_from(["escsh", "version"]).unwrap();
        assert!(matches!(cli.command, Command::Version));
    }
}
