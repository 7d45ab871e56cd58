//! A real moto server (STS, Secrets Manager, SSM) for the AWS tests, one per
//! test binary, and the aws CLI next to it.
//!
//! When a tool is missing the tests skip loudly, except under CI, where a
//! missing tool is a failure (see `tools`): CI installs both.
#![allow(dead_code)] // each test binary uses a different part

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// A crate may include this helper beside another that includes `tools`
// too; the copies are identical and stateless.
#[allow(clippy::duplicate_mod)]
#[path = "../tools/mod.rs"]
mod tools;

pub struct Moto {
    pub url: String,
    child: Mutex<Child>,
    /// Private HOME and AWS config locations for everything the tests run.
    pub home: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The shared server, started on first use; `None` (after a loud notice)
/// when moto is not installed outside CI.
pub fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(|| {
        let program = tool("ESCSH_MOTO_SERVER", "moto_server")?;
        let moto = start(&program);
        configure_process_env(&moto);
        Some(moto)
    })
    .as_ref()
}

/// The aws CLI, or `None` after a loud notice outside CI.
pub fn aws_cli() -> Option<PathBuf> {
    tool("ESCSH_AWS_CLI", "aws")
}

fn tool(variable: &str, name: &str) -> Option<PathBuf> {
    tools::find(
        variable,
        name,
        "`pip install 'moto[server]' awscli` provides both",
    )
}

/// A port nothing listens on right after this returns.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

fn start(program: &Path) -> Moto {
    let port = free_port();
    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe. The server dies with the thread
    // that started it; that thread lives as long as the test process, so a
    // test binary that exits (statics are never dropped) takes moto along.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(command.spawn());
        loop {
            std::thread::park();
        }
    });
    let child = receiver
        .recv()
        .expect("moto starter thread")
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let moto = Moto {
        url: format!("http://127.0.0.1:{port}"),
        child: Mutex::new(child),
        home: tempfile::tempdir().expect("temp HOME"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = moto.child.lock().unwrap().try_wait() {
            panic!("moto_server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer within 60s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    moto
}

/// What every AWS client in the test process (and every child it starts)
/// sees: moto's endpoint, a region, and dummy keys for the credential
/// chain; never the developer's own AWS configuration.
pub fn aws_env(moto: &Moto) -> Vec<(String, String)> {
    let home = moto.home.path();
    [
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_REGION", "us-east-1".into()),
        // The aws CLI v1 reads only this one.
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        (
            "AWS_CONFIG_FILE",
            home.join("aws-config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("aws-credentials").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Variables that would point a test at something other than moto.
pub fn is_foreign_aws_var(name: &str) -> bool {
    name.starts_with("AWS_") || name.starts_with("ACTIONS_ID_TOKEN_")
}

/// Runs once, inside `moto()`'s initialisation, while every other test
/// thread waits on it, so no thread reads the environment meanwhile.
fn configure_process_env(moto: &Moto) {
    for (name, _) in std::env::vars() {
        if is_foreign_aws_var(&name) {
            std::env::remove_var(name);
        }
    }
    for (name, value) in aws_env(moto) {
        std::env::set_var(name, value);
    }
}
