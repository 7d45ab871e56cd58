//! Expiring credentials in real shells, against moto's STS behind a
//! counting front ([`super::sts`]): the expiry variable, the background
//! refresh (fast prompt, trust checked, backoff after a failure) and
//! expired credentials leaving the shell. Run for every shell by
//! `credential_scenarios!` in tests/hook_refresh.rs, which owns moto.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::sts::Sts;
use super::{Kit, Session, Sh};

/// What the scenarios need from the test binary's moto.
pub struct Aws {
    pub moto_url: String,
    /// Variables pointing AWS clients at moto (endpoint, region, keys).
    pub env: Vec<(String, String)>,
}

/// A kit with an `assumeRole` environment (15 minutes, STS's minimum)
/// named by `WORK/proj/.escrc` with this refresh margin, allowed, and a
/// counting STS front in front of moto.
struct World {
    kit: Kit,
    proj: PathBuf,
    sts: Sts,
    env: Vec<(String, String)>,
}

fn world(aws: &Aws, margin: &str) -> World {
    let kit = Kit::new();
    kit.define(
        "app/aws",
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        assumeRole:\n          roleArn: arn:aws:iam::123456789012:role/dev\n          duration: 15m\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n",
    );
    let proj = kit.project(
        "proj",
        &format!("environment: app/aws\nrefresh: {margin}\n"),
    );
    kit.allow(&proj);
    let sts = Sts::relay(&aws.moto_url, &kit.root.join("sts-calls"));
    let mut env: Vec<(String, String)> = aws
        .env
        .iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .cloned()
        .collect();
    env.push(("AWS_ENDPOINT_URL".into(), sts.url.clone()));
    env.push(("STS_CALLS".into(), sts.count_file.display().to_string()));
    World {
        kit,
        proj,
        sts,
        env,
    }
}

impl World {
    fn run(&self, sh: Sh, lines: &[String]) -> Option<Session> {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.kit.run_with(sh, &lines.join("\n"), &env)
    }
}

/// One line (no prompt inside it) that waits up to 20 s until the STS
/// front has seen `n` AssumeRole calls.
fn wait_for_calls(sh: Sh, n: usize) -> String {
    match sh {
        Sh::Bash | Sh::Zsh => format!(
            "for i in $(seq 40); do (( $(cat \"$STS_CALLS\") >= {n} )) && break; sleep 0.5; done"
        ),
        Sh::Fish => {
            format!("for i in (seq 40); test (cat $STS_CALLS) -ge {n}; and break; sleep 0.5; end")
        }
        // The POSIX loop, through `sh -c` (still one line).
        Sh::Nu | Sh::Elvish => sh.posix(&format!(
            "for i in $(seq 40); do [ $(cat \"$STS_CALLS\") -ge {n} ] && break; sleep 0.5; done"
        )),
        // One expression: it sleeps only while fewer calls were seen.
        Sh::Xonsh => format!(
            "[__import__('time').sleep(0.5) for i in range(40) if int(open($STS_CALLS).read() or 0) < {n}]"
        ),
        Sh::Tcsh => format!(
            "sh -c 'for i in $(seq 40); do [ $(cat \"$STS_CALLS\") -ge {n} ] && break; sleep 0.5; done'"
        ),
    }
}

/// Sets `var` to the shell's clock, in seconds with a fraction.
fn clock(sh: Sh, var: &str) -> String {
    match sh {
        Sh::Bash | Sh::Zsh => format!("{var}=$EPOCHREALTIME"),
        // fish has no clock variable.
        Sh::Fish => format!("set {var} (date +%s.%N)"),
        Sh::Xonsh => format!("{var} = __import__('time').time()"),
        Sh::Tcsh => format!("set {var} = `date +%s.%N`"),
        // A variable of the session (a REPL keeps it from line to line).
        Sh::Nu => format!("let {var} = (date now | format date '%s.%f')"),
        // elvish has no clock in its builtins.
        Sh::Elvish => format!("var {var} = (date +%s.%N)"),
    }
}

/// A line printing `@TAG` and the output of the shell command `cmd`.
fn say_output(sh: Sh, tag: &str, cmd: &str) -> String {
    match sh {
        Sh::Xonsh => format!("print('@{tag}', $({cmd}).strip())"),
        Sh::Tcsh => format!("echo \"@{tag} `{cmd}`\""),
        Sh::Nu => format!("print ('@{tag} ' + ({} | str trim))", sh.posix(cmd)),
        Sh::Elvish => format!("echo '@{tag}' ({})", sh.posix(cmd)),
        _ => format!("echo \"@{tag} $({cmd})\""),
    }
}

/// A line printing `@TAG` and the clock readings [`clock`] took.
fn say_clocks(sh: Sh, tag: &str, vars: &[&str]) -> String {
    match sh {
        Sh::Xonsh => format!("print('@{tag}', {})", vars.join(", ")),
        Sh::Nu => {
            let words: Vec<String> = vars.iter().map(|v| format!("(${v})")).collect();
            format!("print $\"@{tag} {}\"", words.join(" "))
        }
        Sh::Elvish => {
            let words: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
            format!("echo '@{tag}' {}", words.join(" "))
        }
        _ => {
            let words: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
            format!("echo \"@{tag} {}\"", words.join(" "))
        }
    }
}

const CREDS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// `AWS_CREDENTIAL_EXPIRATION` is exported with the credentials (RFC 3339,
/// UTC, when they expire) and the user's own value comes back on leave.
pub fn credential_expiration_is_exported_and_restored(sh: Sh, aws: &Aws) {
    let w = world(aws, "5m");
    let status = w.kit.root.join("status.json");
    let Some(s) = w.run(
        sh,
        &[
            sh.set_var("AWS_CREDENTIAL_EXPIRATION", "users-own"),
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &CREDS),
            say_output(sh, "now", "date +%s"),
            sh.posix(&format!(
                "escsh status --json > {}",
                super::sh_quote(status.to_str().unwrap())
            )),
            "cd ..".into(),
            sh.show("out", &CREDS),
        ],
    ) else {
        return;
    };
    let inside = s.line("in");
    let expiration = inside
        .split(' ')
        .find_map(|p| p.strip_prefix("AWS_CREDENTIAL_EXPIRATION="))
        .unwrap();
    assert!(inside.contains("AWS_ACCESS_KEY_ID=ASIA"), "{}", s.dump());
    let at = parse_rfc3339(expiration)
        .unwrap_or_else(|| panic!("not RFC 3339 UTC: {expiration}\n{}", s.dump()));
    let now: i64 = s.line("now").parse().unwrap();
    assert!(
        (now + 14 * 60..=now + 15 * 60 + 5).contains(&at),
        "{expiration} is not when 15-minute credentials opened at {now} expire\n{}",
        s.dump()
    );
    // status --json tells the same expiry, and no credential.
    let text = fs::read_to_string(&status).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["expires"].as_str(), Some(expiration), "{text}");
    assert_eq!(json["loaded"].as_str(), Some("app/aws"), "{text}");
    let key = inside
        .split(' ')
        .find_map(|p| p.strip_prefix("AWS_SESSION_TOKEN="))
        .unwrap();
    assert!(!text.contains(key), "a credential in status: {text}");
    assert_eq!(
        s.line("out"),
        "AWS_ACCESS_KEY_ID=testing AWS_SESSION_TOKEN=<unset> AWS_CREDENTIAL_EXPIRATION=users-own",
        "{}",
        s.dump()
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` as seconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (proleptic Gregorian), written independently of the
    // code under test.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The prompt at which a refresh falls due starts it in the background
/// and returns at once (well under a second), and the refresh lands.
pub fn prompt_starting_a_refresh_is_fast(sh: Sh, aws: &Aws) {
    // Due one second after opening.
    let w = world(aws, "14m59s");
    let mut lines = vec![sh.hook_line().into()];
    if sh == Sh::Zsh {
        lines.push("zmodload zsh/datetime".into());
    }
    lines.extend([
        "cd proj".into(),
        sh.show("first", &["AWS_ACCESS_KEY_ID"]),
        // The prompt between these two lines is the first after the
        // refresh fell due: it must start the refresh, and be quick.
        // (nushell: the session driver rewrites a line starting with
        // `sleep ` as if it were only a pause; `^sleep` is the program.)
        format!(
            "{}; {}",
            if sh == Sh::Nu { "^sleep 2" } else { "sleep 2" },
            clock(sh, "t0")
        ),
        // No prompt inside this line: a refresh it sees was started by
        // the timed prompt.
        format!(
            "{}; {}; {}",
            clock(sh, "t1"),
            wait_for_calls(sh, 2),
            say_output(sh, "calls", "cat $STS_CALLS")
        ),
        say_clocks(sh, "t", &["t0", "t1"]),
        "sleep 1".into(),
        ":".into(),
        "sleep 1".into(),
        sh.show("second", &["AWS_ACCESS_KEY_ID"]),
    ]);
    let Some(s) = w.run(sh, &lines) else {
        return;
    };
    let t = s.line("t");
    let (t0, t1) = t.split_once(' ').unwrap();
    let (t0, t1): (f64, f64) = (t0.parse().unwrap(), t1.parse().unwrap());
    assert!(
        t1 - t0 < 1.0,
        "the prompt that started the refresh took {:.3} s\n{}",
        t1 - t0,
        s.dump()
    );
    // The refreshed credentials fall due again a second after they were
    // opened: more refreshes may follow the first.
    let calls: usize = s.line("calls").parse().unwrap();
    assert!(
        calls >= 2,
        "the timed prompt did not start the refresh\n{}",
        s.dump()
    );
    assert_ne!(
        s.line("first"),
        s.line("second"),
        "the refresh did not land\n{}",
        s.dump()
    );
    assert!(
        s.stderr_count("escsh: refreshed app/aws") >= 1,
        "{}",
        s.dump()
    );
}

/// After a refresh failed, later prompts do not try again at once: one
/// attempt in the following 8 seconds of prompts, one warning, and the
/// current credentials stay.
pub fn failed_refresh_backs_off(sh: Sh, aws: &Aws) {
    let w = world(aws, "14m59s");
    let failing = Sts::refusing(&w.kit.root.join("refused-calls"));
    let mut lines = vec![
        sh.hook_line().into(),
        "cd proj".into(),
        sh.show("before", &["AWS_ACCESS_KEY_ID"]),
        // The refresh inherits the user's own variables.
        sh.set_var("AWS_ENDPOINT_URL", &failing.url),
        "sleep 2".into(),
    ];
    lines.extend(std::iter::repeat_n("sleep 1".to_string(), 8));
    lines.push(sh.show("after", &["AWS_ACCESS_KEY_ID"]));
    let Some(s) = w.run(sh, &lines) else {
        return;
    };
    assert_eq!(
        failing.assume_role_calls(),
        1,
        "refresh attempts after a failure, over 8 prompts in 8 s\n{}",
        s.dump()
    );
    assert_eq!(w.sts.assume_role_calls(), 1, "{}", s.dump());
    assert_eq!(s.line("before"), s.line("after"), "{}", s.dump());
    assert!(s.line("after").contains("=ASIA"), "{}", s.dump());
    assert_eq!(
        s.stderr_count("refreshing app/aws failed"),
        1,
        "one warning, not one per prompt\n{}",
        s.dump()
    );
}

/// After `escsh deny`, or an edit of the `.escrc`, a refresh falling due
/// opens nothing: no STS call after the first open.
pub fn revoked_trust_stops_refreshes(sh: Sh, aws: &Aws) {
    let revokers = [
        "escsh deny".to_string(),
        sh.posix("printf 'environment: app/aws\\nrefresh: 14m55s\\n# edited\\n' > .escrc"),
    ];
    for revoke in revokers {
        // Due five seconds after opening: after the revocation, during
        // the prompts that follow it.
        let w = world(aws, "14m55s");
        let mut lines = vec![
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["AWS_SESSION_TOKEN"]),
            // Past the coarse clock that dates files (see `settle` in
            // scenarios.rs), so the next prompt sees the edit.
            "sleep 2".into(),
            ":".into(),
            revoke.clone(),
            sh.show("revoked", &["AWS_SESSION_TOKEN", "ESCSH_ENV"]),
        ];
        lines.extend(std::iter::repeat_n("sleep 1".to_string(), 6));
        let Some(s) = w.run(sh, &lines) else {
            return;
        };
        assert!(s.line("in").contains("AWS_SESSION_TOKEN="), "{}", s.dump());
        assert_eq!(
            s.line("revoked"),
            "AWS_SESSION_TOKEN=<unset> ESCSH_ENV=<unset>",
            "`{revoke}`\n{}",
            s.dump()
        );
        assert_eq!(
            w.sts.assume_role_calls(),
            1,
            "`{revoke}`: the environment was opened again\n{}",
            s.dump()
        );
    }
}

/// The background refresh checks trust itself: the very process the hook
/// starts to refresh (found by tracing a session whose refresh landed),
/// started again as it was after `escsh deny` or an edit of the `.escrc`,
/// opens nothing; started while allowed, it does (so this check can fail).
pub fn refresher_checks_trust(sh: Sh, aws: &Aws) {
    let w = world(aws, "14m59s");
    let lines = [
        sh.hook_line().to_string(),
        "cd proj".into(),
        "sleep 2".into(),
        wait_for_calls(sh, 2),
        "sleep 1".into(),
        sh.show("in", &["ESCSH_ENV"]),
    ];
    let env: Vec<(&str, &str)> = w
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let Some(s) = w.kit.run_traced(sh, &lines.join("\n"), &env) else {
        return;
    };
    assert_eq!(s.line("in"), "ESCSH_ENV=app/aws", "{}", s.dump());
    assert!(w.sts.assume_role_calls() >= 2, "no refresh\n{}", s.dump());
    // A refresh the session started may still be running: wait until the
    // count holds still.
    loop {
        let calls = w.sts.assume_role_calls();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        if w.sts.assume_role_calls() == calls {
            break;
        }
    }
    // The refresher: escsh run by escsh (the shell runs the hook's).
    let escsh = fs::canonicalize(super::real_escsh()).unwrap();
    let escsh = escsh.to_str().unwrap();
    let refresher: Vec<String> = s
        .trace
        .execs_of(escsh)
        .find(|(pid, _)| {
            s.trace
                .parent(*pid)
                .and_then(|p| s.trace.program_of(p))
                .is_some_and(|p| p == escsh)
        })
        .map(|(_, argv)| argv.to_vec())
        .unwrap_or_else(|| {
            panic!(
                "no process started by escsh ran escsh: where is the background refresh?\n{:#?}",
                s.trace.execs_of(escsh).collect::<Vec<_>>()
            )
        });
    // Started again as the hook started it: same arguments, the shell's
    // variables, in the project.
    let replay = || -> usize {
        let before = w.sts.assume_role_calls();
        Command::new(escsh)
            .args(&refresher[1..])
            .current_dir(&w.proj)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &w.kit.home)
            .env("ESCSH_HOME", &w.kit.escsh_home)
            .envs(w.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .status()
            .unwrap();
        w.sts.assume_role_calls() - before
    };
    let rc = w.proj.join(".escrc");
    let allow = || w.kit.allow(&w.proj);
    let deny = w.kit.escsh(&w.proj, &["deny"]);
    assert!(deny.status.success());
    assert_eq!(replay(), 0, "a denied refresher opened: {refresher:?}");
    allow();
    fs::write(&rc, "environment: app/aws\nrefresh: 14m59s\n# edited\n").unwrap();
    assert_eq!(
        replay(),
        0,
        "a refresher of an edited .escrc opened: {refresher:?}"
    );
    allow();
    assert_eq!(
        replay(),
        1,
        "the replayed refresher does not open even when allowed: {refresher:?}"
    );
}

/// Credentials a shell holds are taken out of it once they expire (the
/// shell's programs see a clock 20 minutes ahead: libfaketime, after a
/// refresh fell due so the hook looks), and the user is told once.
pub fn expired_credentials_leave_the_shell(sh: Sh, aws: &Aws) {
    let Some(lib) = libfaketime() else {
        super::tools::skip("libfaketime.so.1", "apt-get install faketime");
        return;
    };
    let w = world(aws, "14m59s");
    let faked = [
        sh.set_var("FAKETIME", "+20m"),
        sh.set_var("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        sh.set_var("LD_PRELOAD", lib.to_str().unwrap()),
    ]
    .join("; ");
    let Some(s) = w.run(
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["AWS_SESSION_TOKEN"]),
            sh.show("in-full", &CREDS),
            faked,
            "sleep 2".into(),
            ":".into(),
            ":".into(),
            sh.show("expired", &CREDS),
            sh.show("env", &["ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    let token = s.line("in");
    let token = token.strip_prefix("AWS_SESSION_TOKEN=").unwrap();
    assert!(token.len() > 20, "not loaded\n{}", s.dump());
    assert_eq!(
        s.line("expired"),
        "AWS_ACCESS_KEY_ID=testing AWS_SESSION_TOKEN=<unset> AWS_CREDENTIAL_EXPIRATION=<unset>",
        "expired credentials stayed in the shell\n{}",
        s.dump()
    );
    assert_eq!(s.line("env"), "ESCSH_ENV=<unset>", "{}", s.dump());
    // Said once, however many prompts run escsh (elvish and tcsh run it
    // at every prompt in a project, and may see the background refresh
    // land credentials already expired on the faked clock).
    assert_eq!(s.stderr_count("have expired"), 1, "{}", s.dump());
    assert!(!s.stderr.contains(token), "{}", s.dump());
}

fn libfaketime() -> Option<PathBuf> {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
        "/usr/local/lib/faketime/libfaketime.so.1",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// One `#[test]` per credential scenario, for the shell `$sh`; `$aws` is
/// an expression giving `Option<shellkit::creds::Aws>` (`None`: skipped).
#[macro_export]
macro_rules! credential_scenarios {
    ($sh:expr, $aws:expr) => {
        #[test]
        fn credential_expiration_is_exported_and_restored() {
            let Some(aws) = $aws else { return };
            shellkit::creds::credential_expiration_is_exported_and_restored($sh, &aws);
        }
        #[test]
        fn prompt_starting_a_refresh_is_fast() {
            let Some(aws) = $aws else { return };
            shellkit::creds::prompt_starting_a_refresh_is_fast($sh, &aws);
        }
        #[test]
        fn failed_refresh_backs_off() {
            let Some(aws) = $aws else { return };
            shellkit::creds::failed_refresh_backs_off($sh, &aws);
        }
        #[test]
        fn revoked_trust_stops_refreshes() {
            let Some(aws) = $aws else { return };
            shellkit::creds::revoked_trust_stops_refreshes($sh, &aws);
        }
        #[test]
        fn refresher_checks_trust() {
            let Some(aws) = $aws else { return };
            shellkit::creds::refresher_checks_trust($sh, &aws);
        }
        #[test]
        fn expired_credentials_leave_the_shell() {
            let Some(aws) = $aws else { return };
            shellkit::creds::expired_credentials_leave_the_shell($sh, &aws);
        }
    };
}
