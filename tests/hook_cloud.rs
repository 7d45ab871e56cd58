//! The shell hook on a Pulumi Cloud environment, in real bash, zsh and
//! fish against the stand-in: an `.escrc` naming `acme/app/dev` loads it,
//! a background refresh before expiry brings the new values, leaving the
//! project unloads them, and shells entering at once make one open.

mod cloudkit;
mod shellkit;

use std::process::{Command, Stdio};

use cloudkit::{environment, secret, v, StandIn, TOKEN};
use serde_json::json;
use shellkit::{Kit, Sh};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(t: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A revision that sets FOO=`value` and a secret TOKEN_VAR; credentials in it
/// expire at `expires`.
fn revision(value: &str, expires: i64) -> serde_json::Value {
    let mut env = environment(json!({
        "creds": v(json!({"expiration": rfc3339(expires)})),
        "environmentVariables": v(json!({"FOO": value})),
    }));
    env["properties"]["environmentVariables"]["value"]["SECRET_VAR"] = secret(json!("s3cr3t"));
    env
}

fn pulumi_env(s: &StandIn) -> Vec<(&'static str, String)> {
    vec![
        ("PULUMI_BACKEND_URL", s.url.clone()),
        ("PULUMI_ACCESS_TOKEN", TOKEN.to_string()),
    ]
}

/// Loads, refreshes in the background before expiry, unloads.
fn loads_refreshes_and_unloads(sh: Sh) {
    let kit = Kit::new();
    let s = StandIn::start();
    // Revision 1 expires in 40 s; the `.escrc` asks for a refresh 38 s
    // before expiry, so the first prompt after 2 s starts one.
    s.put("acme/app/dev", 1, "", revision("one", now() + 40));
    s.put("acme/app/dev", 2, "", revision("two", now() + 7200));
    s.open_order("acme/app/dev", &[1, 2]);
    let proj = kit.project("proj", "environment: acme/app/dev\nrefresh: 38s\n");
    let env = pulumi_env(&s);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    allow(&kit, &proj, &env);
    let Some(session) = kit.run_with(
        sh,
        &[
            sh.hook_line().to_string(),
            "cd proj".into(),
            sh.show("loaded", &["FOO", "SECRET_VAR"]),
            "sleep 3".into(),
            ":".into(),
            // The refresh runs in the background: time for a loaded
            // machine to start it and write its answer.
            "sleep 3".into(),
            ":".into(),
            "sleep 3".into(),
            ":".into(),
            sh.show("refreshed", &["FOO"]),
            "cd ..".into(),
            sh.show("unloaded", &["FOO", "SECRET_VAR"]),
        ]
        .join("\n"),
        &env,
    ) else {
        return;
    };
    assert_eq!(
        session.line("loaded"),
        "FOO=one SECRET_VAR=s3cr3t",
        "{}",
        session.dump()
    );
    assert_eq!(session.line("refreshed"), "FOO=two", "{}", session.dump());
    assert_eq!(
        session.line("unloaded"),
        "FOO=<unset> SECRET_VAR=<unset>",
        "{}",
        session.dump()
    );
    assert_eq!(
        s.count("POST", "/api/esc/environments/acme/app/dev/open"),
        2
    );
    assert!(!session.stderr.contains(TOKEN) && !session.stdout.contains(TOKEN));
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

/// A first open slower than a prompt waits goes on in the background: the
/// prompt comes back without the values (and says why), and a later prompt
/// loads them without a second open.
fn a_slow_first_open_does_not_hold_the_prompt(sh: Sh) {
    // Past the prompt's 2 s wait, within the call's 15 s.
    let slow = cloudkit::Fault::Slow(std::time::Duration::from_secs(6));
    let (kit, s, _proj, env) = cloud_project(slow);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(session) = kit.run_with(
        sh,
        &[
            sh.hook_line().to_string(),
            "cd proj".into(),
            sh.show("first", &["FOO", "SECRET_VAR"]),
            ":".into(),
            sh.show("second", &["FOO"]),
            "escsh status".into(),
            "sleep 7".into(),
            ":".into(),
            sh.show("later", &["FOO", "SECRET_VAR"]),
        ]
        .join("\n"),
        &env,
    ) else {
        return;
    };
    assert_eq!(
        session.line("first"),
        "FOO=<unset> SECRET_VAR=<unset>",
        "{}",
        session.dump()
    );
    assert_eq!(session.line("second"), "FOO=<unset>", "{}", session.dump());
    assert!(
        session.stdout.contains("\nopeningSince: "),
        "status says it is opening: {}",
        session.dump()
    );
    assert!(
        session
            .stderr
            .contains("opening acme/app/dev in the background"),
        "{}",
        session.dump()
    );
    assert_eq!(
        session.line("later"),
        "FOO=one SECRET_VAR=s3cr3t",
        "{}",
        session.dump()
    );
    // The prompts while it was opening started no second open.
    assert_eq!(s.count("POST", "/open"), 1, "{:?}", s.requests());
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

/// A first open that fails in the background is said at the prompt that
/// waited for it, as an open in place would be, and nothing loads.
#[test]
fn a_failed_first_open_is_said_at_the_prompt() {
    let (kit, s, _proj, env) = cloud_project(cloudkit::Fault::Status(403));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sh = Sh::Bash;
    let script = [
        sh.hook_line().to_string(),
        "cd proj".into(),
        sh.show("first", &["FOO"]),
        ":".into(),
        sh.show("again", &["FOO"]),
    ]
    .join("\n");
    let Some(session) = kit.run_with(sh, &script, &env) else {
        return;
    };
    assert_eq!(session.line("first"), "FOO=<unset>", "{}", session.dump());
    assert_eq!(session.line("again"), "FOO=<unset>", "{}", session.dump());
    let said = session
        .stderr
        .lines()
        .filter(|l| l.contains("cannot load acme/app/dev") && l.contains("HTTP 403"))
        .count();
    assert_eq!(said, 1, "said once: {}", session.dump());
    assert!(
        !session.stderr.contains("in the background"),
        "{}",
        session.dump()
    );
    // The failure is cached (retried after a minute or a change), so the
    // later prompts asked nothing more.
    assert_eq!(s.count("POST", "/open"), 1, "{:?}", s.requests());
    assert!(!session.stderr.contains(TOKEN));
}

/// A project whose `.escrc` names `acme/app/dev`, allowed, against a
/// stand-in serving it (FOO=one, an expiry two hours away) that answers
/// the first open with `fault`; with the variables that log in to it.
fn cloud_project(
    fault: cloudkit::Fault,
) -> (
    Kit,
    StandIn,
    std::path::PathBuf,
    Vec<(&'static str, String)>,
) {
    let kit = Kit::new();
    let s = StandIn::start();
    s.put("acme/app/dev", 1, "", revision("one", now() + 7200));
    s.fault("POST", "/api/esc/environments/acme/app/dev", fault, 1);
    let proj = kit.project("proj", "acme/app/dev\n");
    let env = pulumi_env(&s);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    allow(&kit, &proj, &pairs);
    (kit, s, proj, env)
}

fn allow(kit: &Kit, dir: &std::path::Path, env: &[(&str, &str)]) {
    let o = Command::new(shellkit::real_escsh())
        .arg("allow")
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &kit.home)
        .env("ESCSH_HOME", &kit.escsh_home)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

macro_rules! for_each_shell {
    ($($name:ident),* $(,)?) => {
        mod bash { $( #[test] fn $name() { super::$name(super::Sh::Bash) } )* }
        mod zsh { $( #[test] fn $name() { super::$name(super::Sh::Zsh) } )* }
        mod fish { $( #[test] fn $name() { super::$name(super::Sh::Fish) } )* }
    };
}

for_each_shell!(
    loads_refreshes_and_unloads,
    a_slow_first_open_does_not_hold_the_prompt
);

#[test]
fn shells_entering_at_once_make_one_open() {
    // A slow server makes the shells meet at the lock.
    let slow = cloudkit::Fault::Slow(std::time::Duration::from_millis(500));
    let (kit, s, proj, env) = cloud_project(slow);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(shellkit::real_escsh())
                .args(["export", "bash"])
                .current_dir(&proj)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("HOME", &kit.home)
                .env("ESCSH_HOME", &kit.escsh_home)
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("FOO='one'"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    assert_eq!(s.count("POST", "/open"), 1, "{:?}", s.requests());
    assert_eq!(s.count("GET", "/open/"), 1);
}

/// The expiry of a cloud-opened environment is the earliest of the
/// session's end (12 h), any `expiration`, and the `aws-login` duration the
/// definition gives (here 1 h, read from `exprs`).
#[test]
fn expiry_takes_the_aws_login_duration_from_the_definition() {
    let kit = Kit::new();
    let s = StandIn::start();
    let mut env = environment(json!({"environmentVariables": v(json!({"FOO": "x"}))}));
    env["exprs"] = json!({"aws": {"object": {"login": {"builtin": {
        "name": "fn::open::aws-login",
        "arg": {"object": {"oidc": {"object": {
            "duration": {"literal": "1h"},
            "roleArn": {"literal": "arn:aws:iam::123456789012:role/dev"}}}}}}}}}});
    s.put("acme/app/dev", 1, "", env);
    let proj = kit.project("proj", "acme/app/dev\n");
    let pairs = pulumi_env(&s);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    allow(&kit, &proj, &pairs);
    let escsh = |args: &[&str]| {
        Command::new(shellkit::real_escsh())
            .args(args)
            .current_dir(&proj)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &kit.home)
            .env("ESCSH_HOME", &kit.escsh_home)
            .envs(pairs.iter().copied())
            .output()
            .unwrap()
    };
    let before = now();
    assert!(escsh(&["export", "bash"]).status.success());
    let o = escsh(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let expires = status["expires"].as_str().unwrap();
    let want: Vec<String> = (0..=3).map(|d| rfc3339(before + 3600 + d)).collect();
    assert!(
        want.iter().any(|w| w == expires),
        "{expires} not about {}",
        want[0]
    );
    assert_eq!(cloudkit::last_open_duration(&s).as_deref(), Some("12h0m0s"));
}
