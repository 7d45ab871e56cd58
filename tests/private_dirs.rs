//! escsh's private directories under attack and accident (issue 7): a
//! relative `ESCSH_HOME`, a runtime directory another user owns or can
//! write, concurrent creation of the fingerprint key, leftovers of killed
//! processes, and a read-only home. Real binary, real files, real uids.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use escsh::paths::Paths;
use sha2::{Digest, Sha256};

const ESCSH: &str = env!("CARGO_BIN_EXE_escsh");

/// Whether what the test needs is here: a loud skip outside CI, a failure
/// under CI (the shared helper decides).
fn have(what: &str, ok: bool) -> bool {
    if !ok {
        common::tools::skip(what, "these tests run as root with unshare and setpriv");
    }
    ok
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    have(name, found)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sets a file's (or directory's) mtime, as `touch -d` would.
fn set_mtime(path: &Path, secs: i64) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let t = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    };
    // SAFETY: a valid path and two initialized timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), [t, t].as_ptr(), 0) };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- item 5

#[test]
fn a_relative_escsh_home_is_an_error_for_every_command() {
    let cwd = tempfile::tempdir().unwrap();
    // What a repository could ship: a trust store that allows itself.
    fs::create_dir_all(cwd.path().join("h/trust")).unwrap();
    fs::write(cwd.path().join(".escrc"), "acme/app/dev\n").unwrap();
    for home in ["h", "./h", "h\u{1b}[2J"] {
        for args in [
            &["status"][..],
            &["export", "bash"][..],
            &["open", "acme/app/dev"][..],
        ] {
            let out = Command::new(ESCSH)
                .args(args)
                .env("ESCSH_HOME", home)
                .current_dir(cwd.path())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = stderr(&out);
            assert!(!out.status.success(), "{args:?} with {home:?}: {err}");
            assert_eq!(stdout(&out), "", "{args:?} with {home:?}");
            assert!(err.contains("ESCSH_HOME"), "{err}");
            assert!(err.contains("absolute"), "{err}");
            assert!(err.contains(&format!("{:?}", Path::new(home))), "{err}");
            assert!(
                !err.contains('\u{1b}'),
                "control characters escaped: {err:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- item 8

/// A project whose `.escrc` names `acme/app/dev` in a store under `HOME`
/// (no `ESCSH_HOME`: the platform directories apply).
struct Platform {
    root: tempfile::TempDir,
}

const TARGET: &str = "acme/app/dev";

impl Platform {
    fn new() -> Platform {
        let root = tempfile::tempdir().unwrap();
        // Others (the second uid) must be able to reach their directory.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let p = Platform { root };
        let def = p.definition();
        fs::create_dir_all(def.parent().unwrap()).unwrap();
        fs::write(
            &def,
            "values:\n  environmentVariables:\n    GOOD: from-the-store\n  files:\n    GOOD_FILE: content\n",
        )
        .unwrap();
        fs::create_dir_all(p.project()).unwrap();
        fs::write(p.project().join(".escrc"), format!("{TARGET}\n")).unwrap();
        p
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn project(&self) -> PathBuf {
        self.root.path().join("proj")
    }

    fn definition(&self) -> PathBuf {
        self.home()
            .join(".config/escsh/environments/acme/app/dev.yaml")
    }

    /// A cache entry for TARGET that would be loaded as it is if read.
    fn planted_entry(&self) -> String {
        let def = self.definition();
        let sha = hex(&Sha256::digest(fs::read(&def).unwrap()));
        serde_json::json!({
            "target": TARGET,
            "vars": [{"name": "PLANTED", "value": "pwned", "secret": false}],
            "expires_at": null,
            "opened_at": now(),
            "sources": [{"path": def, "sha256": sha}],
            "failure": null
        })
        .to_string()
    }

    /// Runs `script` (sh) in the project with `escsh` on PATH, in a mount
    /// namespace of its own whose /dev/shm and /run/user are empty tmpfs, so
    /// the fallbacks are this test's alone.
    fn run(&self, xdg: Option<&Path>, script: &str) -> Output {
        let bin_dir = Path::new(ESCSH).parent().unwrap();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        let mut c = Command::new("unshare");
        c.args(["-m", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 90
                 if [ -d /run/user ]; then mount -t tmpfs -o mode=755 tmpfs /run/user || exit 91; fi
                 {script}"
            ))
            .current_dir(self.project())
            .env("HOME", self.home())
            .env("PATH", path)
            .env_remove("ESCSH_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(Stdio::null());
        if let Some(xdg) = xdg {
            c.env("XDG_RUNTIME_DIR", xdg);
        }
        c.output().unwrap()
    }
}

fn cache_key() -> String {
    hex(&Sha256::digest(TARGET.as_bytes()))[..32].to_string()
}

/// Every file below `dir` with its content.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                todo.push(p.clone());
                out.push((p, Vec::new()));
            } else {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The `su`-without-`-` case: `XDG_RUNTIME_DIR` is `xdg`, whose
/// `escsh/opened/<key>.json` holds an entry the hook would load. escsh must
/// say it does not use it, use a private tmpfs instead, and neither read
/// nor write anything there.
fn assert_runtime_refused(p: &Platform, xdg: &Path, why: &str) {
    let before = snapshot(xdg);
    let out = p.run(
        Some(xdg),
        "escsh allow >/dev/null 2>&1 || exit 92
         escsh export bash || exit 93
         echo ---
         find /dev/shm -type f",
    );
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}\n{err}");
    let (exports, files) = text.split_once("---\n").unwrap();
    assert!(
        !exports.contains("PLANTED") && !text.contains("pwned"),
        "{exports}"
    );
    assert!(
        exports.contains("export GOOD='from-the-store'"),
        "{exports}"
    );
    assert!(
        err.contains(&format!("not using XDG_RUNTIME_DIR={xdg:?}")),
        "no refusal message: {err}"
    );
    assert!(err.contains(why), "{err}");
    assert!(err.contains("using \"/dev/shm/escsh-"), "{err}");
    // The fallback holds our cache entry and files.
    let euid = unsafe { libc::geteuid() };
    let key = cache_key();
    assert!(
        files.contains(&format!("/dev/shm/escsh-{euid}/opened/{key}.json")),
        "{files}"
    );
    assert!(
        exports.contains(&format!("/dev/shm/escsh-{euid}/hook-files/{key}/GOOD_FILE")),
        "{exports}"
    );
    assert_eq!(snapshot(xdg), before, "the refused directory was written");
}

#[test]
fn a_runtime_dir_another_user_owns_is_refused_and_its_entry_never_read() {
    if !have("root (to act as a second uid)", is_root()) || !tool("setpriv") || !tool("unshare") {
        return;
    }
    let p = Platform::new();
    let xdg = p.root.path().join("xdg");
    fs::create_dir(&xdg).unwrap();
    let c = std::ffi::CString::new(xdg.to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    fs::set_permissions(&xdg, fs::Permissions::from_mode(0o700)).unwrap();
    // The other user plants an entry, as theirs.
    let mut plant = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            &format!(
                "umask 077 && mkdir -p escsh/opened && cat > escsh/opened/{}.json",
                cache_key()
            ),
        ])
        .current_dir(&xdg)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    plant
        .stdin
        .take()
        .unwrap()
        .write_all(p.planted_entry().as_bytes())
        .unwrap();
    assert!(plant.wait().unwrap().success());
    assert_runtime_refused(&p, &xdg, "owned by uid 65534");
}

#[test]
fn a_runtime_dir_others_can_write_is_refused_and_its_entry_never_read() {
    if !tool("unshare") || !have("root (for unshare -m)", is_root()) {
        return;
    }
    for mode in [0o777, 0o770, 0o1777] {
        let p = Platform::new();
        let xdg = p.root.path().join("xdg");
        let opened = xdg.join("escsh/opened");
        fs::create_dir_all(&opened).unwrap();
        fs::write(
            opened.join(format!("{}.json", cache_key())),
            p.planted_entry(),
        )
        .unwrap();
        fs::set_permissions(&xdg, fs::Permissions::from_mode(mode)).unwrap();
        assert_runtime_refused(&p, &xdg, "writable by group or others");
    }
}

#[test]
fn without_xdg_runtime_dir_a_per_user_tmpfs_is_preferred_to_the_disk() {
    if !tool("unshare") || !have("root (for unshare -m)", is_root()) {
        return;
    }
    let p = Platform::new();
    let euid = unsafe { libc::geteuid() };
    let key = cache_key();
    // /dev/shm when there is no /run/user/<uid>.
    let out = p.run(None, "escsh allow >/dev/null 2>&1; escsh export bash");
    let text = stdout(&out);
    assert!(
        text.contains(&format!("/dev/shm/escsh-{euid}/hook-files/{key}/GOOD_FILE")),
        "{text}\n{}",
        stderr(&out)
    );
    // /run/user/<uid> (ours, 0700) when it exists.
    let out = p.run(
        None,
        &format!(
            "mkdir -p /run/user/{euid} && chmod 700 /run/user/{euid} || exit 94
             escsh export bash"
        ),
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "/run/user/{euid}/escsh/hook-files/{key}/GOOD_FILE"
        )),
        "{text}\n{}",
        stderr(&out)
    );
    // A name planted in /dev/shm by another user (here a link to a
    // directory they own) is refused; the disk is the last resort.
    let out = p.run(
        None,
        &format!(
            "mkdir /dev/shm/theirs && ln -s /dev/shm/theirs /dev/shm/escsh-{euid} &&
             chown -h 65534:65534 /dev/shm/theirs /dev/shm/escsh-{euid} || exit 95
             escsh export bash; echo ---; find /dev/shm/theirs"
        ),
    );
    let (text, err) = (stdout(&out), stderr(&out));
    let cache_run = p.home().join(".cache/escsh/run");
    assert!(
        text.contains(&format!(
            "{}/hook-files/{key}/GOOD_FILE",
            cache_run.display()
        )),
        "{text}\n{err}"
    );
    assert!(
        err.contains(&format!("not using \"/dev/shm/escsh-{euid}\"")),
        "{err}"
    );
    assert!(text.ends_with("---\n/dev/shm/theirs\n"), "written: {text}");
}

#[test]
fn data_and_cache_dirs_another_user_owns_are_refused() {
    if !tool("unshare") || !have("root (to act as a second uid)", is_root()) {
        return;
    }
    let p = Platform::new();
    let data = p.home().join(".local/share/escsh");
    let cache = p.home().join(".cache/escsh");
    for dir in [&data, &cache] {
        fs::create_dir_all(dir).unwrap();
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    }
    let out = p.run(
        None,
        "escsh allow || exit 92
         escsh export bash || exit 93
         echo ---
         find /dev/shm -type f",
    );
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}\n{err}");
    assert!(text.contains("export GOOD='from-the-store'"), "{text}");
    let euid = unsafe { libc::geteuid() };
    for (dir, fallback) in [(&data, "data"), (&cache, "cache")] {
        let message = format!(
            "not using {dir:?}: it is owned by uid 65534, not by you (uid {euid}); \
             using \"/dev/shm/escsh-{euid}/{fallback}\" instead"
        );
        assert!(err.contains(&message), "{message}\nnot in\n{err}");
        assert_eq!(fs::read_dir(dir).unwrap().count(), 0, "{dir:?} was written");
    }
    // The trust record and the key went to the private fallback.
    assert!(
        text.contains(&format!("/dev/shm/escsh-{euid}/data/fingerprint.key")),
        "{text}"
    );
}

// ---------------------------------------------------------------- item 10

/// Not a test on its own: the child process of
/// `one_fingerprint_key_for_concurrent_first_uses`. It waits for the go
/// file, loads the key, and prints a fingerprint made with it.
#[test]
fn fingerprint_child() {
    let Some(data) = std::env::var_os("ESCSH_TEST_FINGERPRINT_DATA") else {
        return;
    };
    let data = PathBuf::from(data);
    let go = data.with_extension("go");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !go.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    let f = escsh::hook::fingerprint::Fingerprinter::load(&data).unwrap();
    println!("FINGERPRINT={}", f.of("NAME", b"value"));
}

#[test]
fn one_fingerprint_key_for_concurrent_first_uses() {
    let me = std::env::current_exe().unwrap();
    for trial in 0..40 {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let children: Vec<_> = (0..8)
            .map(|_| {
                Command::new(&me)
                    .args([
                        "--exact",
                        "fingerprint_child",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("ESCSH_TEST_FINGERPRINT_DATA", &data)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // All are started (and polling) before any may create the key.
        std::thread::sleep(Duration::from_millis(30));
        fs::write(data.with_extension("go"), "").unwrap();
        let mut seen = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let text = stdout(&out);
            assert!(
                out.status.success(),
                "trial {trial}: {text}{}",
                stderr(&out)
            );
            let line = text
                .lines()
                .find_map(|l| l.split_once("FINGERPRINT=").map(|(_, f)| f))
                .unwrap_or_else(|| panic!("trial {trial}: no fingerprint in {text}"))
                .to_string();
            seen.push(line);
        }
        let key = escsh::hook::fingerprint::Fingerprinter::load(&data).unwrap();
        let expected = key.of("NAME", b"value");
        assert!(
            seen.iter().all(|s| *s == expected),
            "trial {trial}: processes used different keys: {seen:?}"
        );
        let names: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["fingerprint.key"], "trial {trial}");
    }
}

// ---------------------------------------------------------------- item 9

fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn sweeping_removes_leftovers_of_the_dead_and_keeps_what_the_living_use() {
    let home = Home::new();
    let paths = Paths::under(home.path());
    let now = now();
    let hour_ago = now - 3600;
    let days_ago = now - 3 * 86400;
    let dead = dead_pid();
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let live = sleeper.id();

    let opened = paths.opened_dir();
    fs::create_dir_all(&opened).unwrap();
    let file = |dir: &Path, name: &str, mtime: i64| {
        fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        fs::write(&p, "plaintext").unwrap();
        set_mtime(&p, mtime);
        p
    };
    // Temp files of write_atomic, beside cache entries and trust records.
    let dead_tmp = file(&opened, &format!(".k.json.{dead}.tmp"), hour_ago);
    let dead_old_trust = file(
        &home.path().join("trust"),
        &format!(".x.{dead}.tmp"),
        days_ago,
    );
    let live_tmp = file(&opened, &format!(".k.json.{live}.tmp"), days_ago);
    let fresh_dead_tmp = file(&opened, &format!(".j.json.{dead}.tmp"), now);
    let not_tmp = file(&opened, &format!("k.json.{dead}.tmp"), days_ago);
    // run directories: of a dead escsh, of a live one, of an older escsh
    // (no pid in the name) old and recent.
    let run_files = paths.run_files_dir();
    let run_dir = |name: &str, mtime: i64| {
        let dir = run_files.join(name);
        file(&dir, "SECRET_FILE", mtime);
        set_mtime(&dir, mtime);
        dir
    };
    let dead_run = run_dir(&format!("escsh-run-{dead}-aB3dE9"), now);
    let live_run = run_dir(&format!("escsh-run-{live}-aB3dE9"), days_ago);
    let legacy_old = run_dir("escsh-run-Xy12Zq", days_ago);
    let legacy_recent = run_dir("escsh-run-Qz98Wx", hour_ago);
    let materialized_tmp = file(
        &paths.open_files_dir().join("acme/app/dev"),
        &format!(".F.{dead}.tmp"),
        hour_ago,
    );
    // Stamps.
    let stamps = paths.stamps_dir();
    let old_stamp = file(&stamps, &format!("{dead}-1"), days_ago);
    let recent_stamp = file(&stamps, &format!("{dead}-2"), hour_ago);
    // hook-files of entries gone, long expired, valid, and without expiry.
    let hook = paths.hook_files_dir();
    let entry = |key: &str, expires: Option<i64>| {
        let json = serde_json::json!({"target": key, "vars": [], "expires_at": expires,
            "opened_at": 0, "sources": []});
        let p = opened.join(format!("{key}.json"));
        fs::write(&p, json.to_string()).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    };
    let files_of = |key: &str, mtime: i64| {
        let dir = hook.join(key);
        file(&dir, "F", mtime);
        set_mtime(&dir, mtime);
        dir
    };
    let gone = files_of("gone", hour_ago);
    let gone_fresh = files_of("gonefresh", now);
    let expired = files_of("expired", days_ago);
    entry("expired", Some(days_ago));
    let valid = files_of("valid", days_ago);
    entry("valid", Some(now + 3600));
    let lately = files_of("lately", days_ago);
    entry("lately", Some(now - 60));
    let forever = files_of("forever", days_ago);
    entry("forever", None);
    let forever_tmp = file(&forever, &format!(".G.{dead}.tmp"), hour_ago);

    escsh::sweep::maybe_sweep(&paths, now);

    for p in [
        &dead_tmp,
        &dead_old_trust,
        &materialized_tmp,
        &dead_run,
        &legacy_old,
        &old_stamp,
        &gone,
        &expired,
        &forever_tmp,
    ] {
        assert!(!p.exists(), "not swept: {}", p.display());
    }
    for p in [
        &live_tmp,
        &live_run,
        &legacy_recent,
        &fresh_dead_tmp,
        &not_tmp,
        &recent_stamp,
        &gone_fresh,
        &valid,
        &lately,
        &forever,
    ] {
        assert!(p.exists(), "swept: {}", p.display());
    }
    // At most once an hour: a new leftover waits for the next sweep.
    let later = file(&opened, &format!(".l.json.{dead}.tmp"), hour_ago);
    escsh::sweep::maybe_sweep(&paths, now + 60);
    assert!(later.exists(), "swept twice within the hour");
    escsh::sweep::maybe_sweep(&paths, now + 3601);
    assert!(!later.exists(), "not swept an hour later");
    assert!(live_tmp.exists());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// The per-run directories of `escsh run` (where `files` entries are
/// written) under `home`.
fn run_dirs(home: &Home) -> Vec<PathBuf> {
    let root = Paths::under(home.path()).run_files_dir();
    let mut dirs: Vec<_> = fs::read_dir(root)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_files_of_a_sigkilled_run_are_swept_and_a_live_runs_are_kept() {
    let home = Home::new();
    home.write_env("app", APP);
    let start = |home: &Home| {
        home.cmd()
            .args(["run", "app", "--", "sleep", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = |escsh: &std::process::Child| {
        // Its command runs: the files are written.
        !children_of(escsh.id()).is_empty()
    };
    let mut guard = KillOnDrop(Vec::new());
    let mut killed = start(&home);
    guard.0.push(killed.id());
    wait_for("the first run's command", || started(&killed));
    let killed_dir = run_dirs(&home).remove(0);
    assert!(killed_dir.join("SECRET_FILE").exists());
    // SIGKILL: escsh cannot clean up; its child (sleep) lives on.
    guard.0.extend(children_of(killed.id()));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let mut alive = start(&home);
    guard.0.push(alive.id());
    wait_for("the second run's command", || started(&alive));
    let alive_dir = run_dirs(&home)
        .into_iter()
        .find(|d| *d != killed_dir)
        .unwrap();

    escsh::sweep::maybe_sweep(&Paths::under(home.path()), now());

    assert!(!killed_dir.exists(), "the killed run's files are left");
    assert!(
        alive_dir.join("SECRET_FILE").exists(),
        "a live run's files were swept"
    );
    // SAFETY: a plain signal to our own child.
    unsafe { libc::kill(alive.id() as libc::pid_t, libc::SIGTERM) };
    alive.wait().unwrap();
    assert!(!alive_dir.exists(), "escsh run cleans up after itself");
}

/// Kills, when the test ends however it ends, the processes it started
/// (escsh runs, and the command a killed one left behind).
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // A pid already reaped could be reused: only signal it when it
            // is still a sleep or an escsh.
            let ours = fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains("sleep") || c.contains("escsh"));
            if ours {
                // SAFETY: a plain signal to a process this test started.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// The pids whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

// ---------------------------------------------------------------- item 16

#[test]
fn a_read_only_home_names_the_path_it_cannot_write() {
    if !tool("unshare") || !have("root (for unshare -m)", is_root()) {
        return;
    }
    let home = Home::new();
    let project = tempfile::tempdir().unwrap();
    fs::write(project.path().join(".escrc"), "app\n").unwrap();
    home.write_env("app", APP);
    let h = home.path().display().to_string();
    let allow = || {
        Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount --bind '{h}' '{h}' && mount -o remount,bind,ro '{h}' || exit 90
                 exec \"$0\" allow",
            ))
            .arg(ESCSH)
            .env("ESCSH_HOME", home.path())
            .current_dir(project.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // A directory it cannot create.
    let out = allow();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("cannot create directory {h}/")),
        "{err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
    // A file it cannot write, in directories that exist.
    let ok = home
        .cmd()
        .arg("allow")
        .current_dir(project.path())
        .output()
        .unwrap();
    assert_code(&ok, 0);
    let out = allow();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("cannot write {h}/")), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
}
