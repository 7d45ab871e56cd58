//! The per-user credential agent against moto's STS: the container
//! protocol for the aws CLI (botocore) and the Rust SDK in hooked bash,
//! zsh and fish, `credential_process`, refresh reaching a running client,
//! one STS call for many clients, recovery from SIGKILL and corrupt files,
//! and another user kept out.

mod common;
mod moto;
mod shellkit;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use shellkit::sts::Sts;
use shellkit::{Kit, Sh};

const DEFINITION: &str = "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        assumeRole:\n          roleArn: arn:aws:iam::123456789012:role/dev\n          duration: 15m\n  creds:\n    key: ${aws.login.accessKeyId}\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${creds.key}\n    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n    APP_MODE: dev\n";

/// A kit with `app/aws` (keys referenced directly and through another
/// value), a project using it in endpoint mode, a counting STS front, and
/// the agent stopped when the test ends.
struct World {
    kit: Kit,
    proj: PathBuf,
    sts: Sts,
    env: Vec<(String, String)>,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.escsh(&["agent", "stop"]);
    }
}

fn world() -> Option<World> {
    let moto = moto::moto()?;
    let kit = Kit::new();
    kit.define("app/aws", DEFINITION);
    let proj = kit.project("proj", "environment: app/aws\naws: endpoint\n");
    kit.allow(&proj);
    let sts = Sts::relay(&moto.url, &kit.root.join("sts-calls"));
    let mut env: Vec<(String, String)> = moto::aws_env(moto)
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .collect();
    env.push(("AWS_ENDPOINT_URL".into(), sts.url.clone()));
    // Stray agents of a failed test go away on their own.
    env.push(("ESCSH_AGENT_IDLE".into(), "60".into()));
    Some(World {
        kit,
        proj,
        sts,
        env,
    })
}

impl World {
    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.kit.home)
            .env("ESCSH_HOME", &self.kit.escsh_home)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.proj)
            .stdin(Stdio::null());
        c
    }

    fn escsh(&self, args: &[&str]) -> Output {
        self.cmd(&shellkit::real_escsh())
            .args(args)
            .output()
            .unwrap()
    }

    fn agent_dir(&self) -> PathBuf {
        self.kit.escsh_home.join("run").join("agent")
    }

    fn port(&self) -> u16 {
        let text = std::fs::read_to_string(self.agent_dir().join("port")).unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.agent_dir().join("token")).unwrap()
    }

    /// The agent's pid, from `escsh agent status`.
    fn agent_pid(&self) -> Option<u32> {
        let out = self.escsh(&["agent", "status"]);
        common::stdout(&out)
            .lines()
            .find_map(|l| l.strip_prefix("escsh agent: running, pid "))
            .and_then(|p| p.trim().parse().ok())
    }

    /// `escsh aws credential-process app/aws`, parsed.
    fn credential_process(&self) -> serde_json::Value {
        let out = self.escsh(&["aws", "credential-process", "app/aws"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn calls(&self) -> usize {
        self.sts.assume_role_calls()
    }

    fn run(&self, sh: Sh, lines: &[String]) -> Option<shellkit::Session> {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let client = sdk_client_command();
        env.push(("SDK_CLIENT", &client));
        let aws = moto::aws_cli()?.display().to_string();
        env.push(("AWS_CLI", &aws));
        self.kit.run_with(sh, &lines.join("\n"), &env)
    }
}

/// `GET path` on the agent: status and body.
fn get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn env_path(reference: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(reference);
    format!("/v1/credentials/env/{b64}")
}

/// This test binary, run as the Rust SDK client below.
fn sdk_client_command() -> String {
    let exe = std::env::current_exe().unwrap();
    format!(
        "env ESCSH_SDK_CLIENT=1 {} --exact sdk_client --nocapture --quiet",
        exe.display()
    )
}

/// Not a test on its own: with ESCSH_SDK_CLIENT set it is the Rust SDK's
/// container credential provider, configured from the environment as any
/// SDK program is, printing `@SDK <AccessKeyId>` for each line on stdin.
#[test]
fn sdk_client() {
    if std::env::var_os("ESCSH_SDK_CLIENT").is_none() {
        return;
    }
    use aws_credential_types::provider::ProvideCredentials;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = aws_config::provider_config::ProviderConfig::without_region()
        .with_http_client(escsh::providers::aws::http_client());
    let provider = aws_config::ecs::EcsCredentialsProvider::builder()
        .configure(&config)
        .build();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        match rt.block_on(provider.provide_credentials()) {
            Ok(c) => println!("@SDK {}", c.access_key_id()),
            Err(e) => println!("@SDK error {e:?}"),
        }
        std::io::stdout().flush().unwrap();
    }
}

fn endpoint_in_a_hooked_shell(sh: Sh) {
    let Some(w) = world() else { return };
    let names = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "APP_MODE",
    ];
    let (arn, sdk, pid) = match sh {
        Sh::Fish => (
            "printf '@ARN %s\\n' ($AWS_CLI sts get-caller-identity --query Arn --output text)",
            "echo x | eval $SDK_CLIENT",
            "$fish_pid",
        ),
        _ => (
            "printf '@ARN %s\\n' \"$(\"$AWS_CLI\" sts get-caller-identity --query Arn --output text)\"",
            "echo x | eval \"$SDK_CLIENT\"",
            "$$",
        ),
    };
    let lines = vec![
        sh.hook_line().to_string(),
        sh.set_var("AWS_PROFILE", "shadowing"),
        "cd proj".into(),
        sh.show("IN", &names),
        sh.show("PROFILE", &["AWS_PROFILE"]),
        arn.into(),
        sdk.into(),
        format!("cat /proc/{pid}/environ > \"$WORK/shell.environ\""),
        "sh -c 'cat /proc/$$/environ' > \"$WORK/child.environ\"".into(),
        "cd ..".into(),
        sh.show(
            "OUT",
            &[
                "AWS_ACCESS_KEY_ID",
                "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            ],
        ),
    ];
    let Some(s) = w.run(sh, &lines) else { return };
    let inside = s.line("IN");
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert!(inside.contains(&format!("{gone}=<unset>")), "{}", s.dump());
    }
    assert!(inside.contains("APP_MODE=dev"), "{inside}");
    assert!(
        inside.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"),
        "{inside}"
    );
    let token_file = w.agent_dir().join("token");
    let named = format!(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}",
        token_file.display()
    );
    assert!(inside.contains(&named), "{inside}");
    // Shadowing variables are hidden, with a note, and come back.
    assert_eq!(s.line("PROFILE"), "AWS_PROFILE=<unset>", "{}", s.dump());
    assert!(s.stderr.contains("hiding"), "{}", s.dump());
    assert_eq!(
        s.line("OUT"),
        "AWS_ACCESS_KEY_ID=testing AWS_PROFILE=shadowing AWS_CONTAINER_CREDENTIALS_FULL_URI=<unset>",
        "{}",
        s.dump()
    );
    // botocore and the Rust SDK both got the role's keys from the endpoint.
    assert!(
        s.line("ARN")
            .starts_with("arn:aws:sts::123456789012:assumed-role/dev/"),
        "{}",
        s.dump()
    );
    let served = w.credential_process();
    let key = served["AccessKeyId"].as_str().unwrap().to_string();
    assert!(key.starts_with("ASIA"), "{served}");
    assert_eq!(s.line("SDK"), key, "{}", s.dump());
    assert_eq!(
        w.calls(),
        1,
        "one STS call for the shell, the CLI, the SDK and credential-process"
    );
    // Canary: no key and no token in the environment of the shell or a child.
    let secrets = [
        key,
        served["SecretAccessKey"].as_str().unwrap().to_string(),
        served["SessionToken"].as_str().unwrap().to_string(),
        w.token(),
    ];
    for file in ["shell.environ", "child.environ"] {
        let environ = std::fs::read(w.kit.work.join(file)).unwrap();
        let environ = String::from_utf8_lossy(&environ);
        assert!(
            environ.contains("AWS_") || file == "shell.environ",
            "{file} was read"
        );
        for secret in &secrets {
            assert!(!environ.contains(secret.as_str()), "a secret is in {file}");
        }
    }
    assert!(
        String::from_utf8_lossy(&std::fs::read(w.kit.work.join("child.environ")).unwrap())
            .contains("AWS_CONTAINER_CREDENTIALS_FULL_URI="),
        "the child got the endpoint"
    );
}

#[test]
fn bash_clients_use_the_endpoint() {
    endpoint_in_a_hooked_shell(Sh::Bash);
}

#[test]
fn zsh_clients_use_the_endpoint() {
    endpoint_in_a_hooked_shell(Sh::Zsh);
}

#[test]
fn fish_clients_use_the_endpoint() {
    endpoint_in_a_hooked_shell(Sh::Fish);
}

#[test]
fn credential_process_prints_version_1_json_and_status_and_stop_work() {
    let Some(w) = world() else { return };
    let out = w.escsh(&["agent", "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stdout(&out));
    let json = w.credential_process();
    assert_eq!(json["Version"], 1);
    for k in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(json[k].is_string(), "{k} in {json}");
    }
    // Served from the cache: the same keys, no second STS call.
    assert_eq!(w.credential_process()["AccessKeyId"], json["AccessKeyId"]);
    assert_eq!(w.calls(), 1);
    let out = w.escsh(&["agent", "status"]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(text.contains("listening: http://127.0.0.1:"), "{text}");
    let pid = w.agent_pid().expect("running");
    let out = w.escsh(&["agent", "stop"]);
    assert!(common::stderr(&out).contains(&format!("stopped the agent (pid {pid})")));
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || zombie(pid));
    assert_eq!(w.escsh(&["agent", "status"]).status.code(), Some(3));
    // A reference with no aws-login keys is an error that says so.
    w.kit.define_vars("app/plain", &[("A", "1")]);
    let out = w.escsh(&["aws", "credential-process", "app/plain"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("no aws-login keys"),
        "{}",
        common::stderr(&out)
    );
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// The agent in the foreground, owned by the test.
struct Foreground(Child);

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_agent(w: &World) -> Foreground {
    let child = w
        .cmd(&shellkit::real_escsh())
        .args(["agent", "run"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while w.agent_pid() != Some(child.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "agent did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Foreground(child)
}

#[test]
fn wrong_or_missing_token_is_403_json_and_says_nothing_of_the_environment() {
    let Some(w) = world() else { return };
    let _agent = start_agent(&w);
    let port = w.port();
    let path = env_path("app/aws");
    for token in [None, Some("wrong"), Some(&w.token()[1..])] {
        let (status, body) = get(port, &path, token);
        assert_eq!(status, 403);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            json["code"].is_string() && json["message"].is_string(),
            "{body}"
        );
        assert!(
            !body.contains("app/aws") && !body.contains("AccessKeyId"),
            "{body}"
        );
    }
    assert_eq!(w.calls(), 0, "nothing was opened for a refused request");
    let (status, body) = get(port, &path, Some(&w.token()));
    assert_eq!(status, 200, "{body}");
    // The token file is private and holds 256 bits.
    let token_file = w.agent_dir().join("token");
    assert_eq!(common::mode(&token_file) & 0o777, 0o600);
    assert_eq!(w.token().len(), 64);
    // Loopback only: the socket is bound to 127.0.0.1.
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let bound = format!("0100007F:{port:04X}");
    assert!(tcp.contains(&bound), "listening on {bound}");
    assert!(!tcp.contains(&format!("00000000:{port:04X} 00000000:0000 0A")));
}

#[test]
fn ten_clients_at_once_make_one_sts_call() {
    let Some(w) = world() else { return };
    let _agent = start_agent(&w);
    let (port, token, path) = (w.port(), w.token(), env_path("app/aws"));
    let clients: Vec<_> = (0..10)
        .map(|_| {
            let (token, path) = (token.clone(), path.clone());
            std::thread::spawn(move || get(port, &path, Some(&token)))
        })
        .collect();
    let keys: Vec<String> = clients
        .into_iter()
        .map(|c| {
            let (status, body) = c.join().unwrap();
            assert_eq!(status, 200, "{body}");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            json["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(w.calls(), 1);
}

#[test]
fn a_running_client_gets_the_new_keys_after_a_refresh() {
    let Some(w) = world() else { return };
    let first = w.credential_process()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let (port, token_file) = (w.port(), w.agent_dir().join("token"));
    let mut client = w.cmd(Path::new("/bin/sh"));
    client
        .args(["-c", &format!("exec {}", sdk_client_command())])
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{port}{}", env_path("app/aws")),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut client = client.spawn().unwrap();
    let mut to = client.stdin.take().unwrap();
    let mut from = BufReader::new(client.stdout.take().unwrap());
    let mut ask = || -> String {
        writeln!(to, "x").unwrap();
        loop {
            let mut line = String::new();
            assert!(from.read_line(&mut line).unwrap() > 0, "the client ended");
            if let Some(k) = line.trim().strip_prefix("@SDK ") {
                return k.to_string();
            }
        }
    };
    assert_eq!(ask(), first);
    let out = w.escsh(&["reload"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let second = w.credential_process()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first, "reload opened new keys");
    let (_, body) = get(port, &env_path("app/aws"), Some(&w.token()));
    assert!(body.contains(&second), "the endpoint serves the new keys");
    assert_eq!(ask(), second, "the running client got the new keys");
    drop(to);
    let _ = client.kill();
    let _ = client.wait();
}

#[test]
fn a_killed_agent_is_started_again_by_the_next_client_and_prompt() {
    let Some(w) = world() else { return };
    w.credential_process();
    let pid = w.agent_pid().unwrap();
    // SAFETY: kill with the pid of the agent this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    while w.agent_pid() == Some(pid) {
        std::thread::sleep(Duration::from_millis(10));
    }
    w.credential_process();
    let second = w.agent_pid().expect("started again by credential-process");
    assert_ne!(second, pid);
    // The prompt: a shell in endpoint mode looks again (its deadline is
    // at most half a minute away; here it is made due) and starts it.
    let lines = vec![
        Sh::Bash.hook_line().to_string(),
        "cd proj".into(),
        format!("kill -9 {second}; sleep 0.2"),
        "__escsh_deadline=0".into(),
        "echo".into(),
        "printf '@ARN %s\\n' \"$(\"$AWS_CLI\" sts get-caller-identity --query Arn --output text)\""
            .into(),
    ];
    let Some(s) = w.run(Sh::Bash, &lines) else {
        return;
    };
    let third = w.agent_pid().expect("started again by the prompt");
    assert_ne!(third, second);
    assert!(s.line("ARN").contains("assumed-role/dev"), "{}", s.dump());
}

#[test]
fn corrupt_token_or_port_files_recover_with_a_message() {
    let Some(w) = world() else { return };
    w.credential_process();
    for (file, said) in [
        ("token", "not an escsh agent token"),
        ("port", "does not hold a port"),
    ] {
        let path = w.agent_dir().join(file);
        std::fs::write(&path, "garbage\n").unwrap();
        let out = w.escsh(&["aws", "credential-process", "app/aws"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let err = common::stderr(&out);
        assert!(err.contains(said) && err.contains("afresh"), "{err}");
        assert!(!err.contains(&w.token()), "{err}");
        assert_eq!(w.token().len(), 64);
        w.port();
    }
    assert_eq!(w.calls(), 1, "the cache survived");
}

#[test]
fn another_user_cannot_read_the_token_and_gets_403() {
    let Some(w) = world() else { return };
    if !common::tools::require("setpriv") || !common::tools::require("curl") {
        return;
    }
    // Becoming another user takes root: ours, or sudo's without a password.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root && !common::tools::runs("sudo", &["-n", "true"]) {
        common::tools::skip(
            "the second-user test",
            "run as root, or with passwordless sudo (setpriv becomes nobody)",
        );
        return;
    }
    let _agent = start_agent(&w);
    let token_file = w.agent_dir().join("token");
    let url = format!("http://127.0.0.1:{}{}", w.port(), env_path("app/aws"));
    let nobody = |args: &[&str]| {
        let mut c = if root {
            Command::new("setpriv")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "setpriv"]);
            c
        };
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(args)
            .output()
            .unwrap()
    };
    let read = nobody(&["cat", token_file.to_str().unwrap()]);
    assert!(!read.status.success(), "nobody read the token");
    assert!(common::stdout(&read).is_empty());
    let asked = nobody(&["curl", "-s", "-w", "\n%{http_code}", &url]);
    let text = common::stdout(&asked);
    assert!(text.ends_with("\n403"), "{text}");
    assert!(text.contains("\"code\""), "{text}");
    assert_eq!(w.calls(), 0);
}

#[test]
fn run_with_aws_endpoint_gives_the_child_the_endpoint_not_the_keys() {
    let Some(w) = world() else { return };
    let Some(aws) = moto::aws_cli() else { return };
    let script = "env; \"$0\" sts get-caller-identity --query Arn --output text";
    let run = |extra: &[&str]| {
        let mut c = w.cmd(&shellkit::real_escsh());
        c.arg("run")
            .args(extra)
            .args(["app/aws", "--", "sh", "-c", script])
            .arg(&aws)
            .env("AWS_PROFILE", "shadowing");
        c.output().unwrap()
    };
    let out = run(&["--aws-endpoint"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="),
        "{text}"
    );
    assert!(text.contains("AWS_CREDENTIAL_EXPIRATION="), "{text}");
    assert!(text.contains("APP_MODE=dev"), "{text}");
    for hidden in [
        "AWS_ACCESS_KEY_ID=",
        "AWS_SECRET_ACCESS_KEY=",
        "AWS_SESSION_TOKEN=",
        "AWS_PROFILE=",
    ] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    assert!(text.contains("assumed-role/dev/"), "{text}");
    // The same by default with `aws: endpoint` in config.yaml, and
    // `--aws-export` overrides it.
    std::fs::write(w.kit.escsh_home.join("config.yaml"), "aws: endpoint\n").unwrap();
    let text = common::stdout(&run(&[]));
    assert!(
        text.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI="),
        "{text}"
    );
    let text = common::stdout(&run(&["--aws-export"]));
    assert!(
        !text.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI="),
        "{text}"
    );
    assert!(text.contains("AWS_SESSION_TOKEN="), "{text}");
    std::fs::write(w.kit.escsh_home.join("config.yaml"), "aws: maybe\n").unwrap();
    let err = common::stderr(&run(&[]));
    assert!(
        err.contains("aws: export") && err.contains("config.yaml"),
        "{err}"
    );
}

#[test]
fn the_hook_takes_endpoint_mode_from_config_yaml() {
    let Some(w) = world() else { return };
    std::fs::write(w.kit.escsh_home.join("config.yaml"), "aws: endpoint\n").unwrap();
    let plain = w.kit.project("plain", "environment: app/aws\n");
    w.kit.allow(&plain);
    let exported = w
        .kit
        .project("exported", "environment: app/aws\naws: export\n");
    w.kit.allow(&exported);
    let names = ["AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let lines = vec![
        Sh::Bash.hook_line().to_string(),
        "cd plain".into(),
        Sh::Bash.show("DEFAULT", &names),
        "cd ../exported".into(),
        Sh::Bash.show("EXPORT", &names),
    ];
    let Some(s) = w.run(Sh::Bash, &lines) else {
        return;
    };
    let default = s.line("DEFAULT");
    assert!(
        default.starts_with("AWS_SESSION_TOKEN=<unset> AWS_CONTAINER_CREDENTIALS_FULL_URI=http"),
        "{}",
        s.dump()
    );
    let export = s.line("EXPORT");
    assert!(
        export.ends_with("AWS_CONTAINER_CREDENTIALS_FULL_URI=<unset>"),
        "{}",
        s.dump()
    );
    assert!(
        !export.contains("AWS_SESSION_TOKEN=<unset>"),
        "{}",
        s.dump()
    );
}

#[test]
fn the_agent_exits_when_idle_and_refreshes_in_the_background() {
    let Some(mut w) = world() else { return };
    // Due for a refresh a second after each open (15 minute credentials).
    let proj = w.kit.project(
        "soon",
        "environment: app/aws\naws: endpoint\nrefresh: 899s\n",
    );
    w.kit.allow(&proj);
    w.env.retain(|(k, _)| k != "ESCSH_AGENT_IDLE");
    w.env.push(("ESCSH_AGENT_IDLE".into(), "4".into()));
    let first = w.credential_process()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let pid = w.agent_pid().unwrap();
    use base64::Engine as _;
    let rc = proj.join(".escrc");
    let path = format!(
        "/v1/credentials/rc/{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rc.to_str().unwrap())
    );
    let (status, body) = get(w.port(), &path, Some(&w.token()));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first));
    // The agent re-opens what it served before it expires, unasked.
    let started = Instant::now();
    loop {
        let now = w.credential_process()["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string();
        if now != first {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no background refresh"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(w.agent_pid(), Some(pid));
    // No requests and no shell: it exits on its own.
    let started = Instant::now();
    while w.agent_pid().is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the agent did not exit"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn clients_starting_the_agent_at_once_start_one() {
    let Some(w) = world() else { return };
    let clients: Vec<_> = (0..8)
        .map(|_| {
            w.cmd(&shellkit::real_escsh())
                .args(["aws", "credential-process", "app/aws"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in clients {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", common::stderr(&out));
        assert!(
            !common::stderr(&out).contains("afresh"),
            "{}",
            common::stderr(&out)
        );
    }
    let pid = w.agent_pid().expect("one agent");
    // Agents that lost the race exit at once; give them a moment.
    std::thread::sleep(Duration::from_millis(500));
    let home = format!("ESCSH_HOME={}", w.kit.escsh_home.display());
    let ours: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| !zombie(*p))
        .filter(|p| {
            let read = |f: &str| std::fs::read(format!("/proc/{p}/{f}")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&read("cmdline")).into_owned();
            let environ = String::from_utf8_lossy(&read("environ")).into_owned();
            cmdline.contains("agent\0run") && environ.split('\0').any(|v| v == home)
        })
        .collect();
    assert_eq!(ours, [pid]);
    assert_eq!(w.calls(), 1);
}

#[test]
fn keys_are_found_through_imports_and_only_whole_values_count() {
    let Some(w) = world() else { return };
    w.kit.define(
        "base/creds",
        "values:\n  login:\n    fn::open::aws-login:\n      static:\n        accessKeyId: AKIAIMPORTEDEXAMPLE1\n        secretAccessKey: {fn::secret: imported-secret}\n",
    );
    w.kit.define(
        "app/imp",
        "imports:\n  - base/creds\nvalues:\n  environmentVariables:\n    MY_KEY: ${login.accessKeyId}\n    MY_SECRET: ${login.secretAccessKey}\n    KEY_NOTE: id-${login.accessKeyId}\n",
    );
    let out = w.escsh(&["aws", "credential-process", "app/imp"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["AccessKeyId"], "AKIAIMPORTEDEXAMPLE1");
    assert_eq!(json["SecretAccessKey"], "imported-secret");
    assert!(json.get("SessionToken").is_none(), "{json}");
    let out = w.escsh(&["run", "--aws-endpoint", "app/imp", "--", "env"]);
    let text = common::stdout(&out);
    assert!(text.contains("KEY_NOTE=id-AKIAIMPORTEDEXAMPLE1"), "{text}");
    assert!(
        !text.contains("MY_KEY=") && !text.contains("MY_SECRET="),
        "{text}"
    );
    assert!(
        text.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI="),
        "{text}"
    );
}
