//! Issue 7 item 15 through the real binary: definitions that ask for
//! exponential, deep or quadratic work stop with an error naming the limit,
//! inside an address-space limit of 512 MB, so a regression that eats
//! memory fails here instead of taking the machine down or hanging.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The memory promise of the issue.
const ADDRESS_SPACE: libc::rlim_t = 512 * 1024 * 1024;

/// Generous: the shapes stop within a second or two even unoptimized.
const PATIENCE: Duration = Duration::from_secs(120);

struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// `escsh open NAME` with a private ESCSH_HOME, under the address-space
/// limit; killed if it outlives [`PATIENCE`].
fn open_limited(home: &Path, name: &str) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_escsh"));
    command
        .args(["open", name])
        .env("ESCSH_HOME", home)
        .env_remove("ESCSH_STATE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: setrlimit is async-signal-safe and touches no state of ours.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start escsh");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for escsh") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("escsh open {name} still running after {PATIENCE:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code(),
        stderr: reader.join().unwrap_or_default(),
    }
}

fn store(home: &Path) -> std::path::PathBuf {
    let dir = home.join("environments/local/default");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit 2 with one diagnostic that names the limit and says where.
fn assert_stopped(outcome: &Outcome, name: &str, limit_words: &[&str]) {
    assert_eq!(
        outcome.code,
        Some(2),
        "escsh open {name}: {}",
        outcome.stderr
    );
    let line = outcome
        .stderr
        .lines()
        .find(|l| l.contains("evaluation stopped"))
        .unwrap_or_else(|| panic!("no limit named for {name}: {}", outcome.stderr));
    assert!(
        limit_words.iter().any(|w| line.contains(w)),
        "{name}: {line}"
    );
    assert!(
        line.contains(&format!("{name}.yaml:")) && line.contains(": error: "),
        "{name}: no file:line:col in {line}"
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
}

#[test]
fn exponential_deep_and_quadratic_definitions_stop_with_the_limit_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = store(home.path());
    // The doubling shapes, as kept in the fuzz corpus (the unit tests in
    // src/lang build the same documents).
    let shapes = ["interpolation", "join", "tojson", "arrays"].map(|name| {
        let file = format!(
            "{}/fuzz/regressions/budget-doubling-{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        (name, fs::read_to_string(&file).unwrap())
    });
    for (name, doc) in &shapes {
        fs::write(dir.join(format!("{name}.yaml")), doc).unwrap();
        assert_stopped(&open_limited(home.path(), name), name, &["128 MiB"]);
    }

    let mut chain = String::from("values:\n");
    for i in 0..10_000 {
        chain.push_str(&format!("  r{i:05}: ${{r{:05}}}\n", i + 1));
    }
    chain.push_str("  r10000: end\n");
    fs::write(dir.join("chain.yaml"), chain).unwrap();
    assert_stopped(
        &open_limited(home.path(), "chain"),
        "chain",
        &["300 levels", "1 MiB of stack"],
    );

    for i in 0..5_000 {
        let doc = format!("imports: [e{}]\nvalues:\n  v{i}: {i}\n", i + 1);
        fs::write(dir.join(format!("e{i}.yaml")), doc).unwrap();
    }
    fs::write(dir.join("imports.yaml"), "imports: [e0]\nvalues: {}\n").unwrap();
    let outcome = open_limited(home.path(), "imports");
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("64 environments") && outcome.stderr.contains("e63.yaml:1:11"),
        "{}",
        outcome.stderr
    );

    // 12 MB of small nested values: within the 16 MB input limit, millions
    // of nodes.
    let mut dense = String::from("values:\n  a:\n");
    for i in 0..400_000 {
        dense.push_str(&format!("    - [x{i:06}, {{k: v{i:06}}}]\n"));
    }
    fs::write(dir.join("dense.yaml"), dense).unwrap();
    assert_stopped(
        &open_limited(home.path(), "dense"),
        "dense",
        &["250000 values"],
    );
}
