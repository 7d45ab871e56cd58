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
        "[${nope}]",
        "a$$b",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "https://example.com|${app.url}|[]|a$b");
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
        .spawn()
        .unwrap();
    let file = PathBuf::from(wait_for_file(&ready));
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_code(&o, 128 + libc::SIGTERM);
    assert!(!file.parent().unwrap().exists());
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
