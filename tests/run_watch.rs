//! `escsh run --watch` through the real binary: edits restart the command
//! with the new values, an edit with errors keeps the old one, and a signal
//! ends it all and cleans up.

mod common;
mod moto;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// How long any one expected thing may take to happen.
const WAIT: Duration = Duration::from_secs(20);

/// A line the child prints: `$X`, its pid (`$$` in sh, escaped for escsh)
/// and the path of its file, then it waits to be killed.
const CHILD: &str = "echo \"$X $$$$ $F\"; exec sleep 60";
/// The same, from a child that ignores SIGTERM.
const STUBBORN: &str = "trap '' TERM; echo \"$X $$$$ $F\"; while :; do sleep 1; done";

struct Watching {
    escsh: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Watching {
    fn start(h: &Home, env: &str, script: &str) -> Watching {
        let mut cmd = h.cmd();
        cmd.args(["run", "--watch", env, "--", "sh", "-c", script]);
        Watching::spawn(cmd)
    }

    /// Starts `cmd`, an `escsh run --watch` (possibly wrapped).
    fn spawn(mut cmd: Command) -> Watching {
        let mut escsh = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = BufReader::new(escsh.stdout.take().unwrap());
        thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = escsh.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Watching {
            escsh,
            lines,
            stderr,
        }
    }

    /// The next line the command prints, as (value, pid, file).
    fn next(&self) -> (String, libc::pid_t, PathBuf) {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no output; stderr:\n{}", self.stderr()));
        let mut fields = line.split(' ');
        let value = fields.next().unwrap().to_string();
        let pid = fields.next().unwrap().parse().unwrap();
        let file = PathBuf::from(fields.next().unwrap());
        (value, pid, file)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for_stderr(&self, needle: &str) {
        wait_until(&format!("{needle:?} on stderr"), || {
            self.stderr().contains(needle)
        });
    }
}

impl Watching {
    fn signal(&self, signal: libc::c_int) {
        // SAFETY: plain kill of the escsh process this test started.
        unsafe { libc::kill(self.escsh.id() as libc::pid_t, signal) };
    }

    /// escsh's status once it has exited; `None` if it has not in time.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.escsh.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self, signal: libc::c_int) -> std::process::ExitStatus {
        self.signal(signal);
        self.exited().expect("escsh did not exit")
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        // Neither escsh nor its child may outlive the test, passed or not:
        // SIGTERM lets escsh stop the child; SIGKILL is for a hung escsh.
        if let Ok(None) = self.escsh.try_wait() {
            self.signal(libc::SIGTERM);
            if self.exited().is_none() {
                let _ = self.escsh.kill();
                let _ = self.escsh.wait();
            }
        }
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn gone(file: &Path) -> bool {
    !file.parent().unwrap().exists()
}

const ROOT: &str = "imports:\n  - base\nvalues:\n  environmentVariables:\n    X: ${x}\n  files:\n    F: \"x=${x}\"\n";

#[test]
fn edits_restart_the_command_and_broken_edits_keep_it() {
    let h = Home::new();
    h.write_env("base", "values:\n  x: one\n");
    h.write_env("app", ROOT);
    let w = Watching::start(&h, "app", CHILD);
    let (value, first, file) = w.next();
    assert_eq!(value, "one");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x=one");

    // An imported definition changes: a new child with the new value; the
    // old one is stopped and its files removed.
    h.write_env("base", "values:\n  x: two\n");
    let (value, second, file2) = w.next();
    assert_eq!(value, "two");
    assert_ne!(second, first);
    wait_until("the first child to exit", || !alive(first));
    wait_until("the first files to go", || gone(&file));
    assert!(file2.exists());

    // The root definition gets an error: diagnostics, and the child stays.
    h.write_env("app", &ROOT.replace("X: ${x}", "X: ${nope}"));
    w.wait_for_stderr("keeps running");
    assert!(w.stderr().contains("nope"), "{}", w.stderr());
    assert!(alive(second));
    assert!(file2.exists());

    // Fixed through `env set` (an atomic rename): restarted again.
    let o = h.run(["env", "set", "app", "environmentVariables.X", "three"]);
    assert_code(&o, 0);
    let (value, third, _) = w.next();
    assert_eq!(value, "three");
    assert_ne!(third, second);
}

#[test]
fn sigterm_ends_the_watch_and_removes_the_files() {
    let h = Home::new();
    h.write_env("base", "values:\n  x: one\n");
    h.write_env("app", ROOT);
    let mut w = Watching::start(&h, "app", CHILD);
    let (value, child, file) = w.next();
    assert_eq!(value, "one");
    let status = w.stop(libc::SIGTERM);
    // The child (`exec sleep`) died of the forwarded SIGTERM.
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(!alive(child));
    assert!(gone(&file), "files directory left behind");
}

#[test]
fn a_first_opening_with_errors_starts_nothing() {
    let h = Home::new();
    h.write_env("app", "values:\n  a: ${nope}\n");
    let o = h.run(["run", "--watch", "app", "--", "sh", "-c", "echo ran"]);
    assert_code(&o, 2);
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_on_restart() {
    let h = Home::new();
    h.write_env("base", "values:\n  x: one\n");
    h.write_env("app", ROOT);
    let w = Watching::start(&h, "app", STUBBORN);
    let (_, first, file) = w.next();
    h.write_env("base", "values:\n  x: two\n");
    let (value, second, _) = w.next();
    assert_eq!(value, "two");
    assert_ne!(second, first);
    assert!(!alive(first));
    assert!(gone(&file));
    // It would ignore the SIGTERM that ends the test too.
    // SAFETY: kill of the child this test's escsh started.
    unsafe { libc::kill(second, libc::SIGKILL) };
}

/// Saving a definition with the same bytes, or with only a comment added,
/// yields the same plan: the command keeps running.
#[test]
fn a_save_that_changes_nothing_does_not_restart() {
    let h = Home::new();
    h.write_env("base", "values:\n  x: one\n");
    h.write_env("app", ROOT);
    let w = Watching::start(&h, "app", CHILD);
    let (value, first, _) = w.next();
    assert_eq!(value, "one");

    h.write_env("base", "values:\n  x: one\n");
    thread::sleep(Duration::from_secs(1));
    h.write_env("app", &format!("# only a comment\n{ROOT}"));
    // Long past the debounce and the re-opening: any restart has printed.
    thread::sleep(Duration::from_secs(2));
    if let Ok(line) = w.lines.try_recv() {
        panic!(
            "restarted on a save that changes nothing: {line}\n{}",
            w.stderr()
        );
    }
    assert!(alive(first));
    assert!(!w.stderr().contains("restarting"), "{}", w.stderr());

    // The watch still works.
    h.write_env("base", "values:\n  x: two\n");
    let (value, second, _) = w.next();
    assert_eq!(value, "two");
    assert_ne!(second, first);
}

/// An edit that makes a variable too big for the kernel is refused like an
/// edit with errors: the command keeps running on the previous values.
#[test]
fn an_edit_over_the_size_limit_keeps_the_command() {
    let h = Home::new();
    h.write_env("base", "values:\n  x: one\n");
    h.write_env("app", ROOT);
    let w = Watching::start(&h, "app", CHILD);
    let (_, first, file) = w.next();
    h.write_env("base", &format!("values:\n  x: {}\n", "v".repeat(200_000)));
    w.wait_for_stderr("keeps running");
    assert!(w.stderr().contains("X is 200003 bytes"), "{}", w.stderr());
    assert!(!w.stderr().contains("vvvv"));
    assert!(alive(first));
    assert!(file.exists());
}

/// Credentials near expiry are re-opened and the command restarted with the
/// new ones. The watch's wall clock runs 100 times faster under libfaketime
/// (its monotonic clock, which timeouts use, does not), so STS credentials
/// of 15 minutes reach their refresh point (12 minutes) in about 7 s.
#[test]
fn credentials_near_expiry_restart_the_command() {
    let Some(moto) = moto::moto() else { return };
    let Some(libfaketime) = libfaketime() else {
        return;
    };
    let h = Home::new();
    h.write_env(
        "aws",
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n          \
         roleArn: arn:aws:iam::123456789012:role/dev\n          sessionName: watch\n          \
         duration: 15m\n          token: header.payload.sig\n  environmentVariables:\n    \
         X: ${aws.login.accessKeyId}\n  files:\n    F: x\n",
    );
    // Preloaded into escsh itself (the `faketime` wrapper would stay the
    // parent and take the signals); the command runs on the real clock.
    let script = "echo \"$X $$$$ $F\"; exec env -u LD_PRELOAD sleep 60";
    let mut cmd = h.cmd();
    cmd.args(["run", "--watch", "aws", "--", "sh", "-c", script])
        .env("LD_PRELOAD", libfaketime)
        .env("FAKETIME", "+0 x100")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .envs(moto::aws_env(moto));
    let w = Watching::spawn(cmd);
    let (key, first, file) = w.next();
    let (key2, second, _) = w.next();
    assert_ne!(key2, key, "the same credentials after the refresh");
    assert_ne!(second, first);
    assert!(
        w.stderr()
            .contains("credentials were refreshed; restarting"),
        "{}",
        w.stderr()
    );
    wait_until("the first child to exit", || !alive(first));
    wait_until("the first files to go", || gone(&file));
}

/// libfaketime's preload library (package faketime), or `None` after a
/// loud skip outside CI.
fn libfaketime() -> Option<PathBuf> {
    let found = std::env::var_os("ESCSH_LIBFAKETIME")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/lib/x86_64-linux-gnu/faketime",
                "/usr/lib/aarch64-linux-gnu/faketime",
                "/usr/lib/faketime",
                "/usr/lib64/faketime",
                "/usr/local/lib/faketime",
            ]
            .iter()
            .map(|d| Path::new(d).join("libfaketime.so.1")),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        common::tools::skip(
            "libfaketime.so.1",
            "install faketime, or set ESCSH_LIBFAKETIME",
        );
    }
    found
}
