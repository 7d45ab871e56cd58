//! `escsh run` through the real binary: variables, files, arguments, exit
//! codes, signals and redaction. The tests' stdout and stderr are pipes, so
//! redaction is on unless turned off.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn app() -> Home {
    let h = Home::new();
    h.write_env("app", APP);
    h
}

#[test]
fn variables_reach_the_command_and_override_the_parent() {
    let h = app();
    let o = h
        .cmd()
        .args([
            "run",
            "app",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$APP_URL\" \"$PORT\" \"$KEEP\"",
        ])
        .env("APP_URL", "from-parent")
        .env("KEEP", "kept")
        .output()
        .unwrap();
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "https://example.com|8080|kept");
}

#[test]
fn exit_code_is_the_childs() {
    let h = app();
    let o = h.run(["run", "app", "--", "sh", "-c", "exit 7"]);
    assert_code(&o, 7);
    // `$$` is escsh's escape for `$` in arguments, so the shell's `$$` is `$$$$`.
    let o = h.run(["run", "app", "--", "sh", "-c", "kill -TERM $$$$"]);
    assert_code(&o, 128 + 15);
    let o = h.run(["run", "app", "--", "sh", "-c", "kill -KILL $$$$"]);
    assert_code(&o, 128 + 9);
}

#[test]
fn missing_command_fails_before_opening() {
    let h = Home::new();
    // The environment is broken: had it been opened, the exit code would be 2.
    h.write_env("broken", "values:\n  a: ${nope}\n");
    let o = h.run(["run", "broken", "--", "no-such-command-escsh"]);
    assert_code(&o, 127);
    assert!(
        stderr(&o).contains("no-such-command-escsh"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("nope"),
        "evaluated anyway: {}",
        stderr(&o)
    );
}

#[test]
fn errors_in_the_environment_stop_the_command() {
    let h = Home::new();
    let path = h.write_env("broken", "values:\n  a: ${nope}\n");
    let marker = h.path().join("ran");
    let o = h.run(["run", "broken", "--", "touch", marker.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains(&format!("{}:2:", path.display())),
        "{}",
        stderr(&o)
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn arguments_are_interpolated() {
    let h = app();
    let o = h.run([
        "run",
        "app",
        "--",
        "printf",
        "%s|%s|%s|%s",
        "${app.url}",
        "$${app.url}",
        "[${app.port}]",
        "a$$b",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "https://example.com|${app.url}|[8080]|a$b");
}

#[test]
fn secrets_are_redacted_in_piped_output() {
    let h = app();
    let o = h.run([
        "run",
        "app",
        "--",
        "sh",
        "-c",
        "echo \"PW is $PW\"; echo \"err $PW\" >&2",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "PW is [secret]\n");
    assert_eq!(stderr(&o), "err [secret]\n");
    // Secrets used in arguments and file contents are redacted too.
    let o = h.run([
        "run",
        "app",
        "--",
        "sh",
        "-c",
        "echo \"$1\"; cat \"$SECRET_FILE\"",
        "sh",
        "${pw}",
    ]);
    // The whole file content ("pw=hunter2") is itself a secret value.
    assert_eq!(stdout(&o), "[secret]\n[secret]");
}

#[test]
fn redaction_works_across_chunk_boundaries() {
    let h = app();
    // Two writes with a pause: escsh sees "hun" and "ter2" in separate reads.
    let script = "printf 'a hun'; sleep 0.3; printf 'ter2 b\\n'; printf 'hu' >&2; sleep 0.3; printf 'nter2' >&2";
    let o = h.run(["run", "app", "--", "sh", "-c", script]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "a [secret] b\n");
    assert_eq!(stderr(&o), "[secret]");
}

#[test]
fn output_is_streamed_not_held_until_exit() {
    let h = app();
    let mut child = h
        .cmd()
        .args(["run", "app", "--", "sh", "-c", "printf 'first\\n'; sleep 5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    assert_eq!(&buf, b"first\n");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "output was held back"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn no_redact_and_interactive_turn_it_off() {
    let h = app();
    for flag in ["--no-redact", "-i"] {
        let o = h.run(["run", "app", flag, "--", "sh", "-c", "echo $PW"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "hunter2\n", "{flag}");
    }
}

#[test]
fn stdin_is_inherited() {
    let h = app();
    let mut child = h
        .cmd()
        .args(["run", "app", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"from stdin\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "from stdin\n");
}

#[test]
fn files_are_private_and_removed_after_the_run() {
    let h = app();
    let script = "cat \"$APP_CONFIG\"; echo; echo \"$APP_CONFIG\"; stat -c %a \"$APP_CONFIG\" \"$(dirname \"$APP_CONFIG\")\"";
    let o = h.run(["run", "app", "--", "sh", "-c", script]);
    assert_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "url = https://example.com");
    let path = PathBuf::from(lines[1]);
    assert_eq!(&lines[2..], ["600", "700"]);
    assert!(!path.exists(), "file left behind");
    assert!(!path.parent().unwrap().exists(), "directory left behind");
}

fn wait_for_file(p: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(s) = std::fs::read_to_string(p) {
            if s.ends_with('\n') {
                return s.trim_end().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to escsh reaches the child, and the files go away when it exits.
#[test]
fn signals_are_forwarded_and_files_cleaned_up() {
    for (signal, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGINT, "INT"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGQUIT, "QUIT"),
    ] {
        let h = app();
        let ready = h.path().join("ready");
        let got = h.path().join("got");
        let script = format!(
            "trap 'echo {name} > \"$GOT\"; exit 3' {name}; echo \"$APP_CONFIG\" > \"$READY\"; while :; do sleep 0.05; done"
        );
        let child = h
            .cmd()
            .args(["run", "app", "--", "sh", "-c", &script])
            .env("READY", &ready)
            .env("GOT", &got)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let file = PathBuf::from(wait_for_file(&ready));
        assert!(file.exists());
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let o = child.wait_with_output().unwrap();
        assert_code(&o, 3);
        assert_eq!(std::fs::read_to_string(&got).unwrap().trim(), name);
        assert!(
            !file.parent().unwrap().exists(),
            "{name}: files directory left behind"
        );
    }
}

/// A child that dies of the forwarded signal makes escsh exit 128+N.
#[test]
fn forwarded_signal_that_kills_the_child_is_the_exit_code() {
    for signal in [libc::SIGTERM, libc::SIGQUIT] {
        let h = app();
        let ready = h.path().join("ready");
        let child = h
            .cmd()
            .args([
                "run",
                "app",
                "--",
                "sh",
                "-c",
                "echo \"$APP_CONFIG\" > \"$READY\"; exec sleep 30",
            ])
            .env("READY", &ready)
            // A SIGQUIT may dump the child's core: into the temp dir.
            .current_dir(h.path())
            .spawn()
            .unwrap();
        let file = PathBuf::from(wait_for_file(&ready));
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let o = child.wait_with_output().unwrap();
        assert_code(&o, 128 + signal);
        assert!(!file.parent().unwrap().exists());
    }
}

#[test]
fn usage_errors() {
    let h = app();
    let o = h.run(["run", "app"]);
    assert_code(&o, 2);
    let o = h.run(["run", "../x", "--", "true"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("invalid project name"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_escsh"))
        .args(["run", "app", "--", "true"])
        .env("ESCSH_HOME", h.path())
        .output()
        .unwrap();
    assert_code(&o, 0);
}

/// Output to a terminal is never redacted: what the user sees is theirs.
/// stdout goes to a pty (`script`), stderr to a file: only stderr is
/// redacted.
#[test]
fn a_terminal_gets_secrets_as_they_are_and_a_pipe_gets_them_redacted() {
    if !common::tools::require_with("script", &["-V"], "util-linux") {
        return;
    }
    let h = app();
    let err_file = h.path().join("stderr");
    let command = format!(
        "{} run app -- sh -c 'echo \"out $PW\"; echo \"err $PW\" >&2' 2>{}",
        env!("CARGO_BIN_EXE_escsh"),
        err_file.display()
    );
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("ESCSH_HOME", h.path())
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_code(&o, 0);
    let tty = stdout(&o);
    assert!(tty.contains("out hunter2"), "terminal output: {tty:?}");
    assert!(!tty.contains("[secret]"), "terminal output: {tty:?}");
    let piped = std::fs::read_to_string(&err_file).unwrap();
    assert_eq!(piped, "err [secret]\n");
}

/// The soft core limit of process `pid`, from /proc/PID/limits.
fn core_limit(pid: libc::pid_t) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    line.split_whitespace().nth(4).unwrap().to_string()
}

/// `ulimit -c unlimited` (soft limit up to the hard one) for a test command.
fn allow_cores(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getrlimit/setrlimit between fork and exec, no allocation.
    unsafe {
        cmd.pre_exec(|| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_CORE, &mut l);
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_CORE, &l);
            Ok(())
        });
    }
}

fn hard_core_limit() -> String {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut l) };
    if l.rlim_max == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        l.rlim_max.to_string()
    }
}

/// `escsh run app -- sleep` in `cwd`, with core dumps allowed as far as the
/// user's limits go; returns escsh and the command's pid once it runs.
fn sleeping_run(h: &Home, cwd: &Path) -> (std::process::Child, libc::pid_t) {
    let ready = h.path().join("ready");
    let mut cmd = h.cmd();
    cmd.args([
        "run",
        "app",
        "--",
        "sh",
        "-c",
        "echo $$$$ > \"$READY\"; exec sleep 30",
    ])
    .env("READY", &ready)
    .current_dir(cwd);
    allow_cores(&mut cmd);
    let escsh = cmd.spawn().unwrap();
    let child = wait_for_file(&ready).parse().unwrap();
    (escsh, child)
}

/// escsh holds the secrets: its core limit is 0 while the command it runs
/// gets the user's own limit back.
#[test]
fn core_dumps_are_off_in_escsh_and_the_command_keeps_the_users_limit() {
    let user_limit = hard_core_limit();
    if user_limit == "0" {
        eprintln!("*** SKIPPED: the hard core limit is 0 here; nothing to restore ***");
        return;
    }
    let h = app();
    let (mut escsh, child) = sleeping_run(&h, h.path());
    let escsh_limit = core_limit(escsh.id() as libc::pid_t);
    let child_limit = core_limit(child);
    unsafe { libc::kill(escsh.id() as libc::pid_t, libc::SIGTERM) };
    let _ = escsh.wait();
    assert_eq!(escsh_limit, "0", "escsh's own core limit");
    assert_eq!(child_limit, user_limit, "the command's core limit");
}

/// An abort of escsh with `ulimit -c unlimited` leaves no core file (with
/// the secrets in it) in the current directory.
#[test]
fn an_aborted_escsh_writes_no_core_file() {
    let h = app();
    let cwd = tempfile::tempdir().unwrap();
    let (mut escsh, child) = sleeping_run(&h, cwd.path());
    unsafe { libc::kill(escsh.id() as libc::pid_t, libc::SIGABRT) };
    let status = escsh.wait().unwrap();
    // The orphaned command is the test's to end.
    unsafe { libc::kill(child, libc::SIGKILL) };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGABRT));
    let left: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "files in the cwd after the abort: {left:?}"
    );
}

#[test]
fn a_secret_in_arguments_is_warned_about_once_without_its_value() {
    let h = app();
    let o = h.run([
        "run",
        "app",
        "--",
        "printf",
        "%s %s %s",
        "${pw}",
        "x",
        "--key=${pw}",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "[secret] x --key=[secret]");
    let err = stderr(&o);
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains("arguments 2, 4 of printf"), "{err}");
    assert!(err.contains("environmentVariables"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // No secret in the arguments, no warning.
    let o = h.run(["run", "app", "--", "echo", "${app.url}"]);
    assert_code(&o, 0);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn a_typo_in_an_argument_starts_nothing() {
    let h = app();
    let marker = h.path().join("ran");
    for typo in ["${app.nope}", "[${app.url]"] {
        let o = h.run(["run", "app", "--", "touch", marker.to_str().unwrap(), typo]);
        assert_code(&o, 2);
        assert!(!marker.exists(), "the command ran for {typo}");
        let err = stderr(&o);
        assert!(err.contains(&format!("argument 2 ({typo:?})")), "{err}");
    }
    let o = h.run(["run", "app", "--", "echo", "${app.nope}"]);
    assert_code(&o, 2);
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("${app.nope} has no value"),
        "{}",
        stderr(&o)
    );
}

/// A definition whose variable `BIG` is `len` bytes, plus a file.
fn big_env(h: &Home, len: usize) {
    h.write_env(
        "big",
        &format!(
            "values:\n  environmentVariables:\n    SMALL: x\n    BIG: {}\n  files:\n    F: content\n",
            "v".repeat(len)
        ),
    );
}

#[test]
fn a_value_over_the_kernel_limit_is_refused_before_anything_runs() {
    let h = Home::new();
    // BIG=value and the NUL: one byte over 128 KiB.
    big_env(&h, 128 * 1024 - 4 - 1 + 1);
    let marker = h.path().join("ran");
    let o = h.run(["run", "big", "--", "touch", marker.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(!marker.exists(), "the command ran");
    let err = stderr(&o);
    assert!(err.contains("BIG is 131073 bytes"), "{err}");
    assert!(err.contains("131072"), "{err}");
    assert!(!err.contains("vvvv"), "{err}");
    assert!(
        !h.path().join("run/run-files").exists()
            || std::fs::read_dir(h.path().join("run/run-files"))
                .unwrap()
                .next()
                .is_none(),
        "files were written"
    );
    // One byte less is what the kernel takes.
    big_env(&h, 128 * 1024 - 4 - 1);
    let o = h.run(["run", "big", "--", "sh", "-c", "echo $${#BIG}"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "131067\n");
}

#[test]
fn variables_over_a_mebibyte_in_all_are_refused() {
    let h = Home::new();
    let mut yaml = String::from("values:\n  environmentVariables:\n");
    for i in 0..9 {
        yaml.push_str(&format!("    V{i}: {}\n", "v".repeat(120_000)));
    }
    h.write_env("many", &yaml);
    let o = h.run(["run", "many", "--", "true"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("1048576"), "{err}");
    assert!(!err.contains("vvvv"), "{err}");
}
