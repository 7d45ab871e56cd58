//! Pulumi Cloud environments through the real binary, against the stand-in
//! server of tests/cloudkit: backend discovery, open, run, versions, the
//! failure behaviour, and moto-issued credentials end to end.

mod cloudkit;
mod moto;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use cloudkit::{environment, secret, v, Fault, StandIn, TOKEN};
use serde_json::{json, Value as Json};

const DEV_YAML: &str = "values:\n  app:\n    url: https://dev.example\n  pw:\n    fn::secret:\n      ciphertext: ZXNjeAAAAAEAAQ==\n";
const DEV_DECRYPTED: &str =
    "values:\n  app:\n    url: https://dev.example\n  pw:\n    fn::secret: hunter2-cloud\n";

fn dev(url: &str) -> Json {
    environment(json!({
        "app": v(json!({"url": url, "port": 8080})),
        "pw": secret(json!("hunter2-cloud")),
        "environmentVariables": v(json!({"APP_URL": url, "PW": "hunter2-cloud"})),
        "files": v(json!({"CONFIG": "config-of-dev"})),
    }))
}

/// A stand-in holding acme/app/dev at revisions 41 and 42 (`stable` is 41).
fn standin() -> StandIn {
    let s = StandIn::start();
    let mut rev41 = dev("https://v41.example");
    rev41["properties"]["environmentVariables"]["value"]["PW"] = secret(json!("hunter2-cloud"));
    s.put_secret("acme/app/dev", 41, DEV_YAML, DEV_DECRYPTED, rev41);
    let mut rev42 = dev("https://dev.example");
    rev42["properties"]["environmentVariables"]["value"]["PW"] = secret(json!("hunter2-cloud"));
    s.put_secret("acme/app/dev", 42, DEV_YAML, DEV_DECRYPTED, rev42);
    s.tag("acme/app/dev", "stable", 41);
    s.put("acme/app/prod", 3, "values: {}\n", environment(json!({})));
    s.put("acme/shared/aws", 1, "values: {}\n", environment(json!({})));
    s.put("other/x/y", 1, "values: {}\n", environment(json!({})));
    s
}

fn run(s: &StandIn, home: &Path, args: &[&str]) -> Output {
    s.escsh(home).args(args).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Nothing escsh printed holds the token.
fn no_token(o: &Output) {
    assert!(
        !out(o).contains(TOKEN) && !err(o).contains(TOKEN),
        "token shown"
    );
}

#[test]
fn open_reads_values_with_their_secret_flags() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let o = run(&s, home.path(), &["open", "acme/app/dev"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let j: Json = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(j["app"]["url"], "https://dev.example");
    assert_eq!(j["pw"], "hunter2-cloud");
    let o = run(&s, home.path(), &["open", "acme/app/dev", "app.port"]);
    assert_eq!(out(&o), "8080\n");
    let o = run(
        &s,
        home.path(),
        &["open", "acme/app/dev", "app.url", "--format", "string"],
    );
    assert_eq!(out(&o), "https://dev.example\n");
    let o = run(
        &s,
        home.path(),
        &["open", "acme/app/dev", "--format", "yaml"],
    );
    assert!(out(&o).contains("url: https://dev.example"), "{}", out(&o));
    let o = run(
        &s,
        home.path(),
        &["open", "acme/app/dev", "--format", "dotenv"],
    );
    assert!(
        out(&o).contains("APP_URL=\"https://dev.example\"")
            || out(&o).contains("APP_URL='https://dev.example'"),
        "{}",
        out(&o)
    );
    let o = run(
        &s,
        home.path(),
        &["open", "acme/app/dev", "--format", "shell"],
    );
    let text = out(&o);
    let config = text.lines().find(|l| l.contains("CONFIG=")).unwrap();
    let path = config.split('=').nth(1).unwrap().trim_matches(['\'', '"']);
    assert_eq!(std::fs::read_to_string(path).unwrap(), "config-of-dev");
    // The two requests, as the wire format says.
    let reqs = s.requests();
    let post = reqs.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.path, "/api/esc/environments/acme/app/dev/open");
    let duration = post.query.strip_prefix("duration=").unwrap();
    assert_eq!(duration, "12h0m0s");
    assert!(
        reqs.iter()
            .any(|r| r.method == "GET"
                && r.path == "/api/esc/environments/acme/app/dev/open/session1")
    );
    assert_eq!(post.headers["authorization"], format!("token {TOKEN}"));
    assert!(s.problems().is_empty(), "{:?}", s.problems());
    no_token(&o);
}

#[test]
fn versions_and_tags_select_a_revision() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    for (name, url) in [
        ("acme/app/dev@41", "https://v41.example"),
        ("acme/app/dev@stable", "https://v41.example"),
        ("acme/app/dev:42", "https://dev.example"),
    ] {
        let o = run(
            &s,
            home.path(),
            &["open", name, "app.url", "--format", "string"],
        );
        assert_eq!(out(&o), format!("{url}\n"), "{name}: {}", err(&o));
    }
    assert_eq!(s.count("POST", "/versions/41/open"), 1);
    assert_eq!(s.count("POST", "/versions/stable/open"), 1);
    let o = run(&s, home.path(), &["open", "acme/app/dev@nope"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("acme/app/dev"), "{}", err(&o));
    // A version of a local environment is still refused.
    let o = run(&s, home.path(), &["open", "local/app/dev@3"]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("versions are not supported by the local store"),
        "{}",
        err(&o)
    );
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

#[test]
fn run_gets_variables_files_redaction_and_arguments() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let o = run(
        &s,
        home.path(),
        &[
            "run",
            "acme/app/dev",
            "--",
            "sh",
            "-c",
            "echo \"$APP_URL $PW\"; cat \"$CONFIG\"; echo; echo \"$1\"; exit 7",
            "sh",
            "${app.port}",
        ],
    );
    assert_eq!(code(&o), 7, "{}", err(&o));
    assert_eq!(
        out(&o),
        "https://dev.example [secret]\nconfig-of-dev\n8080\n"
    );
    no_token(&o);
}

#[test]
fn status_and_token_never_reach_the_child_arguments() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    // The child sees no PULUMI_ACCESS_TOKEN beyond what the caller set; escsh
    // adds none of its own and passes the token on no command line.
    let o = run(
        &s,
        home.path(),
        &[
            "run",
            "acme/app/dev",
            "--",
            "sh",
            "-c",
            "cat /proc/$PPID/cmdline | tr '\\0' ' '",
        ],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!out(&o).contains(TOKEN), "{}", out(&o));
}

#[test]
fn diagnostics_are_printed_like_local_ones_with_exit_2() {
    let s = standin();
    s.set_diagnostics("acme/app/bad", json!([
        {"range": {"environment": "app/bad", "begin": {"line": 4, "column": 9, "byte": 30}, "end": {"line": 4, "column": 12, "byte": 33}},
         "summary": "unknown property \"nope\"", "severity": ""}]));
    let home = tempfile::tempdir().unwrap();
    let o = run(&s, home.path(), &["open", "acme/app/bad"]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("app/bad:4:9: error: unknown property \"nope\""),
        "{}",
        err(&o)
    );
    assert_eq!(s.count("POST", "/open"), 1, "a POST is never retried");
}

#[test]
fn refused_tokens_say_how_to_log_in() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    for status in [401, 403] {
        s.fault(
            "POST",
            "/api/esc/environments/acme/app/dev",
            Fault::Status(status),
            1,
        );
        let o = run(&s, home.path(), &["open", "acme/app/dev"]);
        assert_eq!(code(&o), 1);
        let e = err(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.contains(&format!("HTTP {status}"))
                && e.contains("pulumi login")
                && e.contains("PULUMI_ACCESS_TOKEN"),
            "{e}"
        );
        assert!(e.contains("acme/app/dev"), "{e}");
    }
    // A wrong token: the stand-in checks it.
    let o = s
        .escsh(home.path())
        .env("PULUMI_ACCESS_TOKEN", "pul-wrong-token")
        .args(["open", "acme/app/dev"])
        .output()
        .unwrap();
    assert!(err(&o).contains("HTTP 401"), "{}", err(&o));
    assert!(!err(&o).contains("pul-wrong-token"), "{}", err(&o));
}

#[test]
fn not_found_names_the_org_and_a_near_name() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let o = run(&s, home.path(), &["open", "acme/app/dve"]);
    assert_eq!(code(&o), 1);
    let e = err(&o);
    assert!(
        e.contains("acme/app/dve not found") && e.contains("did you mean acme/app/dev"),
        "{e}"
    );
    let o = run(&s, home.path(), &["open", "nosuch/app/dev"]);
    let e = err(&o);
    assert!(e.contains("the org nosuch does not exist"), "{e}");
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

#[test]
fn server_errors_show_the_request_id_and_only_gets_are_retried() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    s.fault(
        "POST",
        "/api/esc/environments/acme/app/dev",
        Fault::Status(500),
        1,
    );
    let o = run(&s, home.path(), &["open", "acme/app/dev"]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("req-500-standin") && err(&o).contains("HTTP 500"),
        "{}",
        err(&o)
    );
    assert_eq!(s.count("POST", "/open"), 1);
    // A GET that meets 429 then 503 is retried and succeeds.
    s.clear();
    s.fault(
        "GET",
        "/api/esc/environments/acme/app/dev/open/",
        Fault::Status(429),
        1,
    );
    s.fault(
        "GET",
        "/api/esc/environments/acme/app/dev/open/",
        Fault::Status(503),
        1,
    );
    let o = run(&s, home.path(), &["open", "acme/app/dev", "app.port"]);
    assert_eq!(out(&o), "8080\n", "{}", err(&o));
    assert_eq!(s.count("GET", "/open/"), 3);
    // Four failures in a row: the error, with the request id.
    s.clear();
    s.fault(
        "GET",
        "/api/esc/environments/acme/app/dev/open/",
        Fault::Status(502),
        4,
    );
    let o = run(&s, home.path(), &["open", "acme/app/dev"]);
    assert!(err(&o).contains("req-502-standin"), "{}", err(&o));
    assert_eq!(s.count("GET", "/open/"), 4);
}

#[test]
fn malformed_answers_name_the_endpoint() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    s.fault(
        "POST",
        "/api/esc/environments/acme/app/dev",
        Fault::Garbled,
        1,
    );
    let o = run(&s, home.path(), &["open", "acme/app/dev"]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("POST /api/esc/environments/acme/app/dev/open: malformed answer"),
        "{}",
        err(&o)
    );
    s.put(
        "acme/app/odd",
        1,
        "",
        json!({"properties": {"a": {"value": {"b": 7}}}}),
    );
    let o = run(&s, home.path(), &["open", "acme/app/odd"]);
    assert!(
        err(&o).contains("GET /api/esc/environments/acme/app/odd/open/session")
            && err(&o).contains("a.b"),
        "{}",
        err(&o)
    );
}

#[test]
fn a_slow_answer_is_waited_for_within_the_call_timeout() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    s.fault(
        "GET",
        "/api/esc/environments/acme/app/dev/open/",
        Fault::Slow(Duration::from_millis(1500)),
        1,
    );
    let o = run(&s, home.path(), &["open", "acme/app/dev", "app.port"]);
    assert_eq!(out(&o), "8080\n", "{}", err(&o));
}

#[test]
fn an_unreachable_backend_fails_fast_with_the_endpoint() {
    let home = tempfile::tempdir().unwrap();
    let port = moto::free_port();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_escsh"));
    cloudkit::isolate(&mut c, home.path());
    let start = Instant::now();
    let o = c
        .env("PULUMI_BACKEND_URL", format!("http://127.0.0.1:{port}"))
        .env("PULUMI_ACCESS_TOKEN", TOKEN)
        .args(["open", "acme/app/dev"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("POST /api/esc/environments/acme/app/dev/open: cannot reach"),
        "{}",
        err(&o)
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn login_comes_from_credentials_json_and_orgs_resolve() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let pulumi = home.path().join(".pulumi");
    std::fs::create_dir_all(&pulumi).unwrap();
    let creds = json!({"current": s.url, "accessTokens": {s.url.clone(): TOKEN},
        "accounts": {s.url.clone(): {"accessToken": TOKEN, "username": "alice"}}});
    std::fs::write(pulumi.join("credentials.json"), creds.to_string()).unwrap();
    let before = std::fs::read(pulumi.join("credentials.json")).unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_escsh"));
    cloudkit::isolate(&mut c, home.path());
    let o = c
        .args(["open", "acme/app/dev", "app.port"])
        .output()
        .unwrap();
    assert_eq!(out(&o), "8080\n", "{}", err(&o));
    // Pulumi's files are read, never written.
    assert_eq!(
        std::fs::read(pulumi.join("credentials.json")).unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(&pulumi).unwrap().count(), 1);
    // A one-part name stays local: no request.
    s.clear();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_escsh"));
    cloudkit::isolate(&mut c, home.path());
    let o = c.args(["open", "dev"]).output().unwrap();
    assert_eq!(code(&o), 1);
    assert!(s.requests().is_empty());
}

#[test]
fn no_login_names_both_ways_out() {
    let home = tempfile::tempdir().unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_escsh"));
    cloudkit::isolate(&mut c, home.path());
    let o = c.args(["open", "acme/app/dev"]).output().unwrap();
    assert_eq!(code(&o), 1);
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    for part in [
        "pulumi login",
        "PULUMI_ACCESS_TOKEN",
        "escsh env init acme/app/dev",
    ] {
        assert!(e.contains(part), "{e}");
    }
}

#[test]
fn run_aws_cli_with_credentials_moto_issued() {
    let Some(moto) = moto::moto() else { return };
    let Some(aws) = moto::aws_cli() else { return };
    let assumed = std::process::Command::new(&aws)
        .args([
            "sts",
            "assume-role",
            "--role-arn",
            "arn:aws:iam::123456789012:role/cloud-dev",
            "--role-session-name",
            "esc-cloud",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(assumed.status.success(), "{}", err(&assumed));
    let c: Json = serde_json::from_slice(&assumed.stdout).unwrap();
    let c = &c["Credentials"];
    let s = StandIn::start();
    let mut env = environment(json!({
        "aws": v(json!({"login": {"accessKeyId": c["AccessKeyId"], "expiration": c["Expiration"]}})),
        "environmentVariables": v(json!({"AWS_ACCESS_KEY_ID": c["AccessKeyId"]})),
    }));
    env["properties"]["aws"]["value"]["login"]["value"]["secretAccessKey"] =
        secret(c["SecretAccessKey"].clone());
    env["properties"]["aws"]["value"]["login"]["value"]["sessionToken"] =
        secret(c["SessionToken"].clone());
    env["properties"]["environmentVariables"]["value"]["AWS_SECRET_ACCESS_KEY"] =
        secret(c["SecretAccessKey"].clone());
    env["properties"]["environmentVariables"]["value"]["AWS_SESSION_TOKEN"] =
        secret(c["SessionToken"].clone());
    s.put("acme/app/dev", 1, "values: {}\n", env);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = s.escsh(home.path());
    for (k, val) in moto::aws_env(moto) {
        cmd.env(k, val);
    }
    let o = cmd
        .args(["run", "acme/app/dev", "--"])
        .arg(&aws)
        .args(["sts", "get-caller-identity", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    let id: Json = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        id["Arn"],
        "arn:aws:sts::123456789012:assumed-role/cloud-dev/esc-cloud"
    );

    // Through the credential endpoint: the keys are found by their shape
    // (Pulumi Cloud evaluated the definition), served by the agent, and
    // not in the command's environment.
    let endpoint = |args: &[&str]| {
        let mut cmd = s.escsh(home.path());
        cmd.envs(moto::aws_env(moto)).env("ESCSH_AGENT_IDLE", "30");
        cmd.args(args).output().unwrap()
    };
    let check = format!(
        "test -z \"$AWS_SECRET_ACCESS_KEY$AWS_SESSION_TOKEN\" || exit 9; \
         test -n \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" || exit 8; \
         exec {} sts get-caller-identity --output json",
        aws.display()
    );
    let o = endpoint(&[
        "run",
        "--aws-endpoint",
        "acme/app/dev",
        "--",
        "sh",
        "-c",
        &check,
    ]);
    let _ = endpoint(&["agent", "stop"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let id: Json = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        id["Arn"],
        "arn:aws:sts::123456789012:assumed-role/cloud-dev/esc-cloud"
    );
    assert!(!err(&o).contains("no aws-login keys"), "{}", err(&o));
}

#[test]
fn env_ls_lists_cloud_beside_local_following_next_token() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("escsh/environments/local/app");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("mine.yaml"), "values: {}\n").unwrap();
    let o = run(&s, home.path(), &["env", "ls"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        out(&o),
        "local/app/mine\nacme/app/dev\nacme/app/prod\nacme/shared/aws\nother/x/y\n"
    );
    // Four environments, two a page: three requests, the last two with the token.
    let lists: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/esc/environments")
        .collect();
    let queries: Vec<&str> = lists.iter().map(|r| r.query.as_str()).collect();
    assert_eq!(queries, ["", "continuationToken=page-2"]);
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

/// Completing an environment name offers the cloud's beside the store's;
/// once the prefix names an org, only that org is asked.
#[test]
fn completion_offers_cloud_environments() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("escsh/environments/local/app");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("mine.yaml"), "values: {}\n").unwrap();
    let o = run(&s, home.path(), &["complete-envs", "--", "ac"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "acme/app/dev\nacme/app/prod\nacme/shared/aws\n");
    let o = run(&s, home.path(), &["complete-envs", "--", "acme/app/p"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "acme/app/prod\n");
    assert!(s.count("GET", "/api/esc/environments/acme") >= 1);
    let o = run(&s, home.path(), &["complete-envs", "--", "lo"]);
    assert_eq!(out(&o), "local/app/mine\n");
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

#[test]
fn env_get_shows_the_definition_and_hides_secrets_unless_asked() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let o = run(&s, home.path(), &["env", "get", "acme/app/dev"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(
        text.starts_with(&format!(
            "# Definition ({}/acme/app/dev, revision 42)\n",
            s.url
        )),
        "{text}"
    );
    assert!(
        text.contains("ciphertext: ZXNjeAAAAAEAAQ==") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(
        text.contains("# Value\n") && text.contains("\"pw\": \"[secret]\""),
        "{text}"
    );
    assert_eq!(s.count("GET", "/decrypt"), 0);
    let o = run(
        &s,
        home.path(),
        &["env", "get", "acme/app/dev", "--show-secrets"],
    );
    assert!(
        out(&o).contains("fn::secret: hunter2-cloud")
            && out(&o).contains("\"pw\": \"hunter2-cloud\""),
        "{}",
        out(&o)
    );
    assert_eq!(
        s.count("GET", "/api/esc/environments/acme/app/dev/decrypt"),
        1
    );
    let o = run(
        &s,
        home.path(),
        &["env", "get", "acme/app/dev@stable", "app.url"],
    );
    assert_eq!(out(&o), "\"https://v41.example\"\n", "{}", err(&o));
    let o = run(&s, home.path(), &["env", "get", "acme/app/dev", "pw"]);
    assert_eq!(out(&o), "\"[secret]\"\n");
}

#[test]
fn editing_commands_refuse_cloud_environments_clearly() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    for (args, verb) in [
        (vec!["env", "init", "acme/app/new"], "init"),
        (vec!["env", "edit", "acme/app/dev"], "edit"),
        (vec!["env", "set", "acme/app/dev", "a", "1"], "set"),
        (vec!["env", "rm", "acme/app/dev", "--yes"], "rm"),
    ] {
        let o = run(&s, home.path(), &args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(
            err(&o).contains("is a Pulumi Cloud environment")
                && err(&o).contains(&format!("pulumi env {verb}")),
            "{}",
            err(&o)
        );
    }
    assert!(s
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.method == "POST"));
    assert_eq!(s.count("POST", ""), 0, "nothing was changed");
}

#[test]
fn status_names_the_backend_and_revision_never_the_token() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let proj = home.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join(".escrc"), "acme/app/dev\n").unwrap();
    let o = s
        .escsh(home.path())
        .args(["status", "--json"])
        .current_dir(&proj)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    let j: Json = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(j["backend"], s.url.as_str());
    assert_eq!(j["revision"], 42);
    assert_eq!(j["source"], format!("{}/acme/app/dev", s.url));
    assert_eq!(j["tokenFrom"], "PULUMI_ACCESS_TOKEN");
    no_token(&o);
}

/// `run --watch` notices a new revision by polling (once a minute) and
/// restarts the command on it. Takes a minute by design.
#[test]
fn run_watch_polls_the_revision_and_restarts_on_a_change() {
    use std::io::BufRead;
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let mut child = s
        .escsh(home.path())
        .args([
            "run",
            "--watch",
            "acme/app/dev",
            "--",
            "sh",
            "-c",
            "echo \"$APP_URL\"; exec sleep 600",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "https://dev.example");
    let started = Instant::now();
    s.put("acme/app/dev", 43, DEV_YAML, dev("https://v43.example"));
    let next = lines.next().unwrap().unwrap();
    let waited = started.elapsed();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(next, "https://v43.example");
    assert!(waited < Duration::from_secs(75), "{waited:?}");
    // One revision read per open, one poll in the minute: never more often.
    let reads = s.count("GET", "/api/esc/environments/acme/app/dev") - s.count("GET", "/open/");
    assert!(reads <= 3, "{reads} revision reads in {waited:?}");
    assert_eq!(s.count("POST", "/open"), 2);
}

/// escsh decided against local definitions importing cloud environments:
/// the error says so, in an environment of org `local` and in a project's
/// own definition, and nothing is asked of the server.
#[test]
fn local_definitions_cannot_import_cloud_environments() {
    let s = standin();
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("escsh/environments/local/app");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("main.yaml"), "imports:\n  - acme/shared/aws\n").unwrap();
    let o = run(&s, home.path(), &["open", "local/app/main"]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("a local environment cannot import a Pulumi Cloud one"),
        "{}",
        err(&o)
    );
    let proj = home.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join(".escrc"), "file: ./dev.yaml\n").unwrap();
    std::fs::write(proj.join("dev.yaml"), "imports:\n  - acme/shared/aws\n").unwrap();
    let o = s
        .escsh(home.path())
        .arg("allow")
        .current_dir(&proj)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = s
        .escsh(home.path())
        .args(["export", "bash"])
        .current_dir(&proj)
        .output()
        .unwrap();
    let e = err(&o);
    assert!(
        e.contains("a local definition cannot import a Pulumi Cloud environment")
            && e.contains("escsh env init acme/shared/aws"),
        "{e}"
    );
    assert!(s.requests().is_empty(), "{:?}", s.requests());
}
