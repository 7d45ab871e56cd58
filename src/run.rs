//! `escsh run`: execute a command directly (no shell) with an opened
//! environment's variables and files, forward signals to it, redact secrets
//! from its piped output, and exit with its status. `--watch` is in
//! [`watch`].

pub mod args;
pub mod core_dumps;
pub mod watch;

use std::ffi::{OsStr, OsString};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;

use anyhow::{Context as _, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithRawSiginfo;
use signal_hook::iterator::SignalsInfo;

use crate::projection::{self, Var, VarKind};
use crate::redact::{self, Patterns};

/// Why a command cannot be started; callers map these to the shell's exit
/// codes (127, 126).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("resolving command: {0:?} not found on PATH")]
    NotFound(OsString),
    #[error("resolving command: {0} is not an executable file")]
    NotExecutable(PathBuf),
}

/// Finds `cmd` as `execvp` would, but before anything is opened, so a typo
/// costs no evaluation (and no provider calls).
pub fn resolve_command(cmd: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, RunError> {
    if cmd.is_empty() {
        return Err(RunError::NotFound(cmd.to_os_string()));
    }
    if cmd.as_bytes().contains(&b'/') {
        let p = PathBuf::from(cmd);
        return if is_executable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(RunError::NotExecutable(p))
        } else {
            Err(RunError::NotFound(cmd.to_os_string()))
        };
    }
    let mut not_executable = None;
    for dir in std::env::split_paths(path_var.unwrap_or_default()) {
        // An empty PATH entry meaning "." is a legacy trap; skip it.
        if dir.as_os_str().is_empty() {
            continue;
        }
        let candidate = dir.join(cmd);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
        if candidate.is_file() {
            not_executable.get_or_insert(candidate);
        }
    }
    Err(match not_executable {
        Some(p) => RunError::NotExecutable(p),
        None => RunError::NotFound(cmd.to_os_string()),
    })
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Everything `execute` needs, decided before the child exists.
#[derive(Clone, PartialEq)]
pub struct Plan {
    /// The resolved program, and the name it was asked for (argv[0]).
    pub program: PathBuf,
    pub arg0: OsString,
    pub args: Vec<OsString>,
    pub vars: Vec<Var>,
    /// Values to redact from piped output.
    pub secrets: Vec<String>,
    /// `--no-redact` / `--interactive`.
    pub no_redact: bool,
    /// Parent directory of the per-run files directory.
    pub files_root: PathBuf,
    /// Variables of escsh's own environment the command does not get.
    pub hidden: Vec<String>,
}

/// The signals escsh passes on to its child (see [`should_forward`]).
const FORWARDED: [libc::c_int; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// Runs the plan and returns the exit code escsh should exit with.
pub fn execute(plan: Plan) -> Result<u8> {
    // Handlers go in before the spawn, so a signal that arrives in between
    // is queued for the child instead of killing escsh without cleanup.
    let mut signals =
        SignalsInfo::<WithRawSiginfo>::new(FORWARDED).context("installing signal handlers")?;
    let mut running = start(&plan)?;

    let handle = signals.handle();
    let pid = running.pid();
    let forwarder = thread::spawn(move || {
        for info in signals.forever() {
            if should_forward(info.si_signo, info.si_code) {
                // SAFETY: kill has no memory effects; `pid` is our child,
                // not yet reaped while this thread runs.
                unsafe { libc::kill(pid, info.si_signo) };
            }
        }
    });

    let status = running.child.wait().context("waiting for the command")?;
    handle.close();
    let _ = forwarder.join();
    running.finish(true);
    Ok(exit_code(status))
}

/// Refuses variables that no environment can hold, before anything runs.
/// `start` checks again; callers check first so that `--watch` treats a
/// refused plan as a failed opening and keeps the running command.
pub fn check(plan: &Plan) -> Result<()> {
    for var in &plan.vars {
        if var.name.is_empty() || var.name.contains(['=', '\0']) {
            anyhow::bail!(
                "\"{}\" cannot be an environment variable name; rename it in the environment",
                var.name.escape_debug()
            );
        }
        if var.kind == VarKind::Env && var.value.contains('\0') {
            anyhow::bail!(
                "the value of {} contains a NUL byte, which no environment variable can hold",
                var.name
            );
        }
    }
    projection::check_sizes(&plan.vars)?;
    Ok(())
}

/// A started child and what lives as long as it: its output pumps and its
/// files directory.
struct Running {
    child: Child,
    pumps: Vec<thread::JoinHandle<io::Result<()>>>,
    files_dir: Option<tempfile::TempDir>,
}

impl Running {
    fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Removes the files once the child is reaped. `drain` waits for its
    /// output to be copied; a restart does not, because a grandchild that
    /// kept the pipe open would block it.
    fn finish(self, drain: bool) {
        if drain {
            for pump in self.pumps {
                // A write error (a closed pipe downstream) already stopped
                // that stream; the child's status is what matters.
                let _ = pump.join();
            }
        }
        drop(self.files_dir);
    }
}

/// Writes the plan's files and starts its child, with pumps for the streams
/// that are redacted. Signal handlers must already be installed.
fn start(plan: &Plan) -> Result<Running> {
    check(plan)?;
    // Dropping the TempDir removes the files, on every way out of this
    // function, including a failed spawn.
    let files_dir = if plan.vars.iter().any(|v| v.kind == VarKind::File) {
        Some(private_temp_dir(&plan.files_root)?)
    } else {
        None
    };
    let vars = match &files_dir {
        Some(dir) => projection::materialize(&plan.vars, dir.path())
            .with_context(|| format!("writing files to {}", dir.path().display()))?,
        None => plan.vars.clone(),
    };

    let patterns = Patterns::new(&plan.secrets);
    let redact_out = redact::should_redact(
        plan.no_redact,
        io::stdout().is_terminal(),
        patterns.is_some(),
    );
    let redact_err = redact::should_redact(
        plan.no_redact,
        io::stderr().is_terminal(),
        patterns.is_some(),
    );

    let mut cmd = Command::new(&plan.program);
    core_dumps::restore_in_child(&mut cmd);
    cmd.arg0(&plan.arg0)
        .args(&plan.args)
        .envs(vars.iter().map(|v| (&v.name, &v.value)));
    for name in &plan.hidden {
        cmd.env_remove(name);
    }
    cmd.stdin(Stdio::inherit())
        .stdout(if redact_out {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .stderr(if redact_err {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });

    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", plan.program.display()))?;
    let pumps: Vec<_> = [
        child
            .stdout
            .take()
            .map(|r| spawn_pump(r, io::stdout(), &patterns)),
        child
            .stderr
            .take()
            .map(|r| spawn_pump(r, io::stderr(), &patterns)),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Running {
        child,
        pumps,
        files_dir,
    })
}

/// Terminal keys (^C, ^\) already reach the whole foreground process group,
/// the child included; forwarding those again would deliver them twice.
/// Everything sent by a process (`kill`, a supervisor) is forwarded.
fn should_forward(signal: libc::c_int, si_code: libc::c_int) -> bool {
    let from_kernel = si_code > 0;
    !(from_kernel && (signal == SIGINT || signal == SIGQUIT))
}

pub(crate) fn private_temp_dir(root: &Path) -> Result<tempfile::TempDir> {
    crate::fsutil::create_private_dir_all(root)
        .with_context(|| format!("creating {}", root.display()))?;
    let dir = tempfile::Builder::new()
        // The pid in the name lets the sweeper remove it once this escsh is gone.
        .prefix(&crate::sweep::run_dir_prefix(std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(root)
        .with_context(|| format!("creating a private directory in {}", root.display()))?;
    Ok(dir)
}

fn spawn_pump<R, W>(
    src: R,
    dst: W,
    patterns: &Option<Patterns>,
) -> thread::JoinHandle<io::Result<()>>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let patterns = patterns.clone();
    thread::spawn(move || match patterns {
        Some(p) => pump(src, dst, &p),
        None => io::copy(&mut { src }, &mut { dst }).map(|_| ()),
    })
}

/// Copies as data arrives (no line buffering), redacting on the way.
fn pump(mut src: impl Read, mut dst: impl Write, patterns: &Patterns) -> io::Result<()> {
    let mut stream = patterns.stream();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.push(&buf[..n], &mut dst)?;
        dst.flush()?;
    }
    stream.finish(&mut dst)?;
    dst.flush()
}

/// The child's code, or 128+N when signal N killed it, as shells report it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        let path = OsString::from("/nonexistent:/bin:/usr/bin");
        assert!(resolve_command(OsStr::new("sh"), Some(&path)).is_ok());
        assert!(matches!(
            resolve_command(OsStr::new("no-such-cmd-xyz"), Some(&path)),
            Err(RunError::NotFound(_))
        ));
        let d = tempfile::tempdir().unwrap();
        let plain = d.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        assert!(matches!(
            resolve_command(plain.as_os_str(), None),
            Err(RunError::NotExecutable(_))
        ));
        let dir_path = d.path().as_os_str().to_os_string();
        assert!(matches!(
            resolve_command(OsStr::new("plain"), Some(&dir_path)),
            Err(RunError::NotExecutable(_))
        ));
        assert!(resolve_command(OsStr::new("/bin/sh"), None).is_ok());
        assert!(resolve_command(OsStr::new(""), Some(&path)).is_err());
    }

    #[test]
    fn forwarding_skips_terminal_keys_only() {
        assert!(should_forward(SIGTERM, 0));
        assert!(should_forward(SIGINT, 0), "kill -INT from a process");
        assert!(!should_forward(SIGINT, 0x80), "^C from the terminal");
        assert!(should_forward(SIGHUP, 0x80));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
    }
}
