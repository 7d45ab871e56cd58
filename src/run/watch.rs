//! `escsh run --watch`: keep the command running on the latest good opening
//! of the environment. An edit of any definition file it was read from, or
//! its credentials coming near expiry, re-opens it; when what the command
//! would get differs, the child is stopped (SIGTERM, SIGKILL after a grace
//! period) and started again. An opening with errors leaves the running
//! child alone until the next change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use signal_hook::consts::{SIGCHLD, SIGKILL, SIGTERM};
use signal_hook::iterator::exfiltrator::WithRawSiginfo;
use signal_hook::iterator::SignalsInfo;

use super::{exit_code, should_forward, start, Plan, Running, FORWARDED};

/// An editor's save is several events; they become one re-open.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// How long a child may take to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// After a failed refresh, the next try.
const RETRY: Duration = Duration::from_secs(30);
/// Credentials already inside their margin must not make a busy loop.
const MIN_REFRESH: Duration = Duration::from_secs(5);
/// The longest sleep: an exit whose SIGCHLD was merged with another is
/// still noticed, and a wall-clock deadline is still met after a suspend.
const POLL: Duration = Duration::from_secs(1);

/// One good opening of the environment.
pub struct Opened {
    pub plan: Plan,
    /// When its credentials expire (Unix seconds), if they do.
    pub expires_at: Option<i64>,
}

/// The outcome of one opening, good or not, and the definition files it
/// read: they are watched either way, so fixing a broken one is noticed.
pub struct Attempt {
    pub files: Vec<PathBuf>,
    pub opened: Result<Opened>,
}

/// When credentials opened at `opened_at` and expiring at `expires_at`
/// (Unix seconds) are re-opened: 10 minutes or a fifth of their lifetime
/// before expiry, whichever is smaller.
pub fn refresh_at(opened_at: i64, expires_at: i64) -> i64 {
    let lifetime = (expires_at - opened_at).max(0);
    expires_at - (lifetime / 5).min(600)
}

/// A change that no file shows (a Pulumi Cloud environment's revision):
/// `changed` is asked every `every`, and a `true` re-opens as an edit does.
pub struct Poll {
    pub every: Duration,
    pub changed: Box<dyn FnMut() -> bool>,
}

/// Opens the environment with `open`, runs the command, and restarts it on
/// every change until a signal stops escsh; returns the exit code, as
/// [`super::execute`] does. A first opening with errors is the error.
pub fn watch(open: impl FnMut() -> Attempt) -> Result<u8> {
    watch_polling(open, None)
}

/// [`watch`], also asking `poll` whether the environment changed.
pub fn watch_polling(mut open: impl FnMut() -> Attempt, mut poll: Option<Poll>) -> Result<u8> {
    let first = open();
    let opened = first.opened?;
    let (tx, rx) = mpsc::channel();
    let mut files = Files::new(tx.clone())?;
    files.update(first.files);

    // Installed before the first spawn, as `execute` does. SIGCHLD wakes
    // the loop when the child exits.
    let mut signals = SignalsInfo::<WithRawSiginfo>::new(FORWARDED.iter().chain(&[SIGCHLD]))
        .context("installing signal handlers")?;
    let handle = signals.handle();
    let relay = thread::spawn(move || {
        for info in signals.forever() {
            let msg = Msg::Signal {
                signo: info.si_signo,
                code: info.si_code,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });

    let result = Supervisor::start(opened)
        .and_then(|mut s| s.run(&rx, &mut files, &mut open, poll.as_mut()));
    handle.close();
    let _ = relay.join();
    result
}

enum Msg {
    /// Paths something happened to; none when the watcher lost track of
    /// events and anything may have changed.
    Paths(Vec<PathBuf>),
    WatchError(String),
    Signal {
        signo: libc::c_int,
        code: libc::c_int,
    },
}

#[derive(Clone, Copy)]
enum Why {
    Edited,
    Expiring,
}

struct Supervisor {
    running: Option<Running>,
    /// What the running (or last started) child was started with.
    current: Plan,
    /// A newer plan, started as soon as the stopping child has exited.
    next: Option<Plan>,
    kill_at: Option<Instant>,
    /// When a burst of file events is over.
    settle_at: Option<Instant>,
    /// Wall-clock, because credentials expire by the clock, suspend or not.
    refresh_at: Option<SystemTime>,
    /// The signal that asked escsh to stop.
    stop: Option<libc::c_int>,
    /// When to ask the [`Poll`] next.
    poll_at: Option<Instant>,
}

impl Supervisor {
    fn start(opened: Opened) -> Result<Supervisor> {
        let running = start(&opened.plan)?;
        Ok(Supervisor {
            running: Some(running),
            current: opened.plan,
            next: None,
            kill_at: None,
            settle_at: None,
            refresh_at: opened.expires_at.map(refresh_time),
            stop: None,
            poll_at: None,
        })
    }

    fn run(
        &mut self,
        rx: &Receiver<Msg>,
        files: &mut Files,
        open: &mut impl FnMut() -> Attempt,
        mut poll: Option<&mut Poll>,
    ) -> Result<u8> {
        if let Some(p) = &poll {
            self.poll_at = Some(Instant::now() + p.every);
        }
        loop {
            if let Some(code) = self.reap()? {
                return Ok(code);
            }
            let now = Instant::now();
            if self.kill_at.is_some_and(|t| t <= now) {
                self.kill_at = None;
                self.signal(SIGKILL);
            }
            if self.settle_at.is_some_and(|t| t <= now) {
                self.settle_at = None;
                self.reopen(Why::Edited, files, open);
            }
            if self.refresh_at.is_some_and(|t| t <= SystemTime::now()) {
                self.refresh_at = None;
                self.reopen(Why::Expiring, files, open);
            }
            if let (Some(p), Some(at)) = (poll.as_deref_mut(), self.poll_at) {
                if at <= now && self.stop.is_none() {
                    self.poll_at = Some(now + p.every);
                    if (p.changed)() {
                        self.reopen(Why::Edited, files, open);
                    }
                }
            }
            match rx.recv_timeout(self.sleep()) {
                Ok(Msg::Paths(paths)) => {
                    if self.stop.is_none() && files.concern(&paths) {
                        self.settle_at = Some(Instant::now() + DEBOUNCE);
                    }
                }
                Ok(Msg::WatchError(e)) => eprintln!("escsh: warning: watching definitions: {e}"),
                Ok(Msg::Signal { signo, .. }) if signo == SIGCHLD => {}
                Ok(Msg::Signal { signo, code }) => self.stopping(signo, code),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the signal relay stopped unexpectedly")
                }
            }
        }
    }

    /// Until the next deadline, at most [`POLL`].
    fn sleep(&self) -> Duration {
        let now = Instant::now();
        let refresh = self
            .refresh_at
            .map(|t| now + t.duration_since(SystemTime::now()).unwrap_or_default());
        [self.kill_at, self.settle_at, refresh, self.poll_at]
            .into_iter()
            .flatten()
            .map(|t| t.saturating_duration_since(now))
            .fold(POLL, Duration::min)
    }

    /// Notices an exited child: starts the plan waiting for it, or says the
    /// command is down. `Some(code)` when escsh is to exit now.
    fn reap(&mut self) -> Result<Option<u8>> {
        let Some(running) = &mut self.running else {
            let code = self.stop.map(|sig| u8::try_from(128 + sig).unwrap_or(255));
            return Ok(code);
        };
        let Some(status) = running
            .child
            .try_wait()
            .context("waiting for the command")?
        else {
            return Ok(None);
        };
        let stopping = self.stop.is_some();
        if let Some(done) = self.running.take() {
            done.finish(stopping);
        }
        self.kill_at = None;
        if stopping {
            return Ok(Some(exit_code(status)));
        }
        match self.next.take() {
            Some(plan) => self.launch(plan),
            None => eprintln!(
                "escsh: {} exited with status {}; waiting for the environment to change",
                self.command(),
                exit_code(status)
            ),
        }
        Ok(None)
    }

    fn launch(&mut self, plan: Plan) {
        match start(&plan) {
            Ok(running) => self.running = Some(running),
            Err(e) => eprintln!("escsh: error: {e:#}; waiting for the environment to change"),
        }
        self.current = plan;
    }

    fn reopen(&mut self, why: Why, files: &mut Files, open: &mut impl FnMut() -> Attempt) {
        if self.stop.is_some() {
            return;
        }
        let attempt = open();
        files.update(attempt.files);
        let opened = match attempt.opened {
            Ok(opened) => opened,
            Err(e) => {
                eprintln!("escsh: error: {e:#}");
                match why {
                    Why::Edited if self.running.is_some() => eprintln!(
                        "escsh: {} keeps running on the previous environment until the next change",
                        self.command()
                    ),
                    Why::Edited => eprintln!("escsh: waiting for the next change"),
                    Why::Expiring => {
                        eprintln!("escsh: refreshing again in {}s", RETRY.as_secs());
                        self.refresh_at = Some(SystemTime::now() + RETRY);
                    }
                }
                return;
            }
        };
        self.refresh_at = opened.expires_at.map(refresh_time);
        let plan = opened.plan;
        if self.next.is_some() {
            // The old child is already on its way out.
            self.next = Some(plan);
            return;
        }
        if self.running.is_none() {
            self.launch(plan);
            return;
        }
        if plan == self.current {
            return;
        }
        let reason = match why {
            Why::Edited => "the environment changed",
            Why::Expiring => "credentials were refreshed",
        };
        eprintln!("escsh: {reason}; restarting {}", self.command());
        self.signal(SIGTERM);
        self.kill_at = Some(Instant::now() + GRACE);
        self.next = Some(plan);
    }

    fn stopping(&mut self, signo: libc::c_int, code: libc::c_int) {
        self.stop.get_or_insert(signo);
        self.next = None;
        self.settle_at = None;
        self.refresh_at = None;
        if should_forward(signo, code) {
            self.signal(signo);
        }
    }

    fn signal(&self, signo: libc::c_int) {
        if let Some(running) = &self.running {
            // SAFETY: kill has no memory effects; the child is reaped only
            // by `reap`, on this thread, so its pid is still ours.
            unsafe { libc::kill(running.pid(), signo) };
        }
    }

    fn command(&self) -> String {
        self.current.arg0.to_string_lossy().into_owned()
    }
}

fn refresh_time(expires_at: i64) -> SystemTime {
    let now = SystemTime::now();
    let unix_now = crate::time::now();
    let wait = u64::try_from(refresh_at(unix_now, expires_at) - unix_now)
        .map(Duration::from_secs)
        .unwrap_or_default();
    now + wait.max(MIN_REFRESH)
}

/// The definition files of the latest opening, and the directory watches
/// that cover them. Directories, not files: saving by rename (editors,
/// `escsh env edit`) replaces the file a watch would be attached to.
struct Files {
    watcher: RecommendedWatcher,
    dirs: BTreeSet<PathBuf>,
    files: Vec<PathBuf>,
}

impl Files {
    fn new(tx: Sender<Msg>) -> Result<Files> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let msg = match event {
                // Reading a definition (escsh's own evaluation) changes nothing.
                Ok(event) if matches!(event.kind, EventKind::Access(_)) => return,
                Ok(event) => Msg::Paths(event.paths),
                Err(e) => Msg::WatchError(e.to_string()),
            };
            let _ = tx.send(msg);
        })
        .context("starting the file watcher")?;
        Ok(Files {
            watcher,
            dirs: BTreeSet::new(),
            files: Vec::new(),
        })
    }

    fn update(&mut self, files: Vec<PathBuf>) {
        let wanted: BTreeSet<PathBuf> = files.iter().filter_map(|f| watch_dir(f)).collect();
        for dir in self.dirs.difference(&wanted) {
            let _ = self.watcher.unwatch(dir);
        }
        for dir in wanted.difference(&self.dirs) {
            if let Err(e) = self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                eprintln!("escsh: warning: cannot watch {}: {e}", dir.display());
            }
        }
        self.dirs = wanted;
        self.files = files;
    }

    /// Whether events on `paths` may change an opening: they name a
    /// definition file or a directory on the way to one.
    fn concern(&self, paths: &[PathBuf]) -> bool {
        paths.is_empty()
            || paths
                .iter()
                .any(|p| self.files.iter().any(|f| f.starts_with(p)))
    }
}

/// The directory whose events tell about `file`: its own, or when that does
/// not exist (an import not created yet) the nearest existing ancestor.
/// `None` for a location that is not a path on this machine.
fn watch_dir(file: &Path) -> Option<PathBuf> {
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty())?;
    parent
        .ancestors()
        .find(|d| d.is_dir())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_the_smaller_of_ten_minutes_and_a_fifth() {
        assert_eq!(refresh_at(0, 3600), 3600 - 600);
        assert_eq!(refresh_at(0, 900), 900 - 180);
        assert_eq!(refresh_at(100, 50), 50);
    }

    #[test]
    fn early_refresh_is_not_a_busy_loop() {
        let soon = refresh_time(0);
        assert!(soon >= SystemTime::now() + MIN_REFRESH - Duration::from_secs(1));
    }

    #[test]
    fn watches_the_nearest_existing_directory() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("proj/env.yaml");
        assert_eq!(watch_dir(&file).unwrap(), d.path());
        std::fs::create_dir(d.path().join("proj")).unwrap();
        assert_eq!(watch_dir(&file).unwrap(), d.path().join("proj"));
        assert_eq!(watch_dir(Path::new("env.yaml")), None);
    }
}
