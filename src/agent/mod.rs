//! The per-user credential agent: serves AWS's container credential
//! protocol on 127.0.0.1 from the hook's cache of opened environments.
//! This module starts, finds and stops it; `commands::agent` is the agent
//! itself (what it answers), `server` its HTTP.

pub mod files;
pub mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;

use self::files::{shown, AgentFiles, FileError};
use crate::paths::Paths;

/// How long the agent stays without requests and without shells using it.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(15 * 60);
/// Overrides [`DEFAULT_IDLE`], in seconds.
pub const IDLE_VAR: &str = "ESCSH_AGENT_IDLE";
/// How long a client waits for an agent it started to listen.
const START_WAIT: Duration = Duration::from_secs(5);

/// Variables that make an SDK or CLI take credentials from elsewhere before
/// it tries the container endpoint (botocore, the Rust SDK and Go v2 all
/// look at the environment's keys, then a profile, then web identity,
/// then the container endpoint), or point it at another endpoint: hidden
/// while the endpoint is in use.
pub const SHADOWING: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// What the endpoint serves: a project (its `.escrc`, trust checked at
/// every open) or an environment reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Rc(PathBuf),
    Env(String),
}

const PREFIX: &str = "/v1/credentials/";

impl Target {
    /// The request path: the target itself, so the agent needs no
    /// registry (and only someone with the token can ask).
    pub fn path(&self) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        match self {
            Target::Rc(p) => format!(
                "{PREFIX}rc/{}",
                b64.encode(p.as_os_str().as_encoded_bytes())
            ),
            Target::Env(r) => format!("{PREFIX}env/{}", b64.encode(r.as_bytes())),
        }
    }

    pub fn from_path(path: &str) -> Option<Target> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (kind, data) = path.strip_prefix(PREFIX)?.split_once('/')?;
        let bytes = b64.decode(data).ok()?;
        match kind {
            "rc" => {
                use std::os::unix::ffi::OsStringExt;
                let p = PathBuf::from(std::ffi::OsString::from_vec(bytes));
                p.is_absolute().then_some(Target::Rc(p))
            }
            "env" => String::from_utf8(bytes).ok().map(Target::Env),
            _ => None,
        }
    }
}

/// A running agent, as clients need it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub pid: u32,
    pub port: u16,
    pub token_file: PathBuf,
}

impl Endpoint {
    pub fn url(&self, target: &Target) -> String {
        format!("http://127.0.0.1:{}{}", self.port, target.path())
    }
}

/// What a process gets instead of the keys: where to ask, and the file
/// holding the token to ask with (the token itself is in no environment).
pub fn endpoint_vars(e: &Endpoint, target: &Target) -> Vec<(String, String)> {
    vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), e.url(target)),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
            e.token_file.display().to_string(),
        ),
    ]
}

/// The running agent, if there is one whose files are sound.
pub fn find(paths: &Paths) -> Result<Option<Endpoint>, FileError> {
    let files = AgentFiles::new(paths);
    let Some(pid) = files.holder()? else {
        return Ok(None);
    };
    // An agent starting up has the lock before it writes these.
    let missing = |e: &FileError| matches!(e, FileError::Read(r) if r.is_not_found());
    let (port, writer) = match files.read_port() {
        Err(e) if missing(&e) => return Ok(None),
        other => other?,
    };
    match files.read_token() {
        Err(e) if missing(&e) => return Ok(None),
        other => other?,
    };
    // The port file of an agent that died before this one wrote its own.
    if writer != pid {
        return Ok(None);
    }
    Ok(Some(Endpoint {
        pid,
        port,
        token_file: files.token(),
    }))
}

/// The running agent, started (detached) if there is none. A token or port
/// file that cannot be used is reported in `notes`, the agent holding it
/// stopped and a new one started.
pub fn ensure(paths: &Paths, notes: &mut Vec<String>) -> anyhow::Result<Endpoint> {
    let files = AgentFiles::new(paths);
    match find(paths) {
        Ok(Some(e)) => return Ok(e),
        Ok(None) => {}
        Err(FileError::Io(e)) => return Err(e.into()),
        Err(bad) => {
            notes.push(format!("{bad}: starting the agent afresh"));
            if let Some(pid) = files.holder()? {
                stop_pid(&files, pid);
            }
            // Removed only once no agent holds it: a new one writes it.
            let _ = std::fs::remove_file(files.port());
            if files.read_token().is_err() {
                let _ = std::fs::remove_file(files.token());
            }
        }
    }
    spawn()?;
    let started = Instant::now();
    loop {
        if let Ok(Some(e)) = find(paths) {
            return Ok(e);
        }
        if started.elapsed() > START_WAIT {
            anyhow::bail!(
                "the escsh agent did not start within {} s (see `escsh agent status`; \
                 `escsh agent run` runs it in the foreground with its errors)",
                START_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts `escsh agent run` in its own session, nothing inherited.
fn spawn() -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["agent", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/");
    // SAFETY: setsid is async-signal-safe; detached from the shell's
    // session so ^C and hangups do not reach the agent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    // Reaped by a thread so that a client that lives on (run) keeps no zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Stops the agent; the pid it had, if one was running.
pub fn stop(paths: &Paths) -> std::io::Result<Option<u32>> {
    let files = AgentFiles::new(paths);
    let Some(pid) = files.holder()? else {
        return Ok(None);
    };
    stop_pid(&files, pid);
    let _ = std::fs::remove_file(files.port());
    Ok(Some(pid))
}

/// SIGTERM, then SIGKILL if the lock is still held two seconds later.
fn stop_pid(files: &AgentFiles, pid: u32) {
    // SAFETY: kill with a pid the kernel named as the lock's holder.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let started = Instant::now();
    while files.holder().ok().flatten() == Some(pid) {
        if started.elapsed() > Duration::from_secs(2) {
            // SAFETY: as above.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        if started.elapsed() > Duration::from_secs(4) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The idle period: [`IDLE_VAR`] in seconds, else [`DEFAULT_IDLE`].
pub fn idle() -> Duration {
    std::env::var(IDLE_VAR)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_IDLE, Duration::from_secs)
}

/// For status: the files, named for the user.
pub fn describe_files(paths: &Paths) -> (String, String) {
    let files = AgentFiles::new(paths);
    (shown(&files.token()), shown(&files.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_the_request_path() {
        for t in [
            Target::Rc(PathBuf::from("/home/me/src/app dir/.escrc")),
            Target::Env("acme/app/dev".into()),
        ] {
            let p = t.path();
            assert!(p.starts_with(PREFIX) && !p[1..].contains(' '));
            assert_eq!(Target::from_path(&p), Some(t));
        }
        assert_eq!(Target::from_path("/v1/credentials/rc/cmVs"), None);
        assert_eq!(Target::from_path("/other"), None);
    }
}
