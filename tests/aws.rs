//! The AWS providers against a real STS / Secrets Manager / SSM API: a local
//! moto server. The first half calls the providers directly; the second
//! goes through the `escsh` binary (and the real aws CLI).

mod moto;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use escsh::lang::Value;
use escsh::providers::aws::{self, AwsLogin, AwsParameterStore, AwsSecrets, Env, Settings};
use escsh::providers::{Context, Opened, Provider, ProviderError};
use serde_json::json;

use moto::Moto;

const ROLE: &str = "arn:aws:iam::123456789012:role/dev";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn settings(moto: &Moto, env: &[(&str, &str)]) -> Settings {
    Settings {
        endpoint_url: Some(moto.url.clone()),
        env: Env::fixed(env.iter().copied()),
    }
}

fn open(provider: &dyn Provider, inputs: &Value) -> Result<Opened, ProviderError> {
    let ctx = Context {
        current_environment: "local/app/dev".into(),
        root_environment: "local/app/dev".into(),
        path: "aws.login".into(),
    };
    runtime().block_on(provider.open(inputs, &ctx))
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string `{key}` in the output"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// SDK configuration for the test's own calls to moto (from the process
/// environment `moto()` set up).
async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws::http_client())
        .load()
        .await
}

/// Who moto says the credentials in `login` (an aws-login output) are.
fn caller_arn(login: &Value) -> String {
    let credentials = Credentials::new(
        text(login, "accessKeyId"),
        text(login, "secretAccessKey"),
        login
            .get("sessionToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        None,
        "test",
    );
    runtime().block_on(async {
        let config = aws_sdk_sts::config::Builder::from(&sdk_config().await)
            .credentials_provider(credentials)
            .build();
        let identity = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity");
        identity.arn().unwrap_or_default().to_string()
    })
}

/// Checks the aws-login output shape: flags, and an expiration `duration`
/// from now, equal to `expires_at`.
fn assert_session(opened: &Opened, duration: Duration) {
    let value = &opened.value;
    assert!(!value.get("accessKeyId").unwrap().secret);
    assert!(value.get("secretAccessKey").unwrap().secret);
    assert!(value.get("sessionToken").unwrap().secret);
    let expiration = text(value, "expiration");
    let parsed = aws_smithy_types::DateTime::from_str(
        expiration,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap_or_else(|e| panic!("expiration {expiration:?} is not RFC 3339: {e}"));
    assert_eq!(opened.expires_at, Some(parsed.secs()));
    let lifetime = parsed.secs() - now();
    let wanted = duration.as_secs() as i64;
    assert!(
        (wanted - 60..=wanted + 5).contains(&lifetime),
        "expiration {expiration} is {lifetime}s away, wanted {wanted}s"
    );
}

#[test]
fn oidc_token_input_mints_credentials_for_the_role() {
    let Some(moto) = moto::moto() else { return };
    let inputs = Value::from_json(&json!({"oidc": {
        "roleArn": ROLE, "sessionName": "from-input", "duration": "15m",
        "token": "header.payload.signature", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    }}));
    let opened = open(&AwsLogin::new(settings(moto, &[])), &inputs).unwrap();
    assert_session(&opened, Duration::from_secs(900));
    assert_eq!(
        caller_arn(&opened.value),
        "arn:aws:sts::123456789012:assumed-role/dev/from-input"
    );
}

#[test]
fn oidc_token_files_default_to_one_hour() {
    let Some(moto) = moto::moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "jwt-from-a-file\n").unwrap();
    let path = file.to_str().unwrap();

    let inputs = Value::from_json(&json!({"oidc": {
        "roleArn": ROLE, "sessionName": "token-file", "tokenFile": path
    }}));
    let opened = open(&AwsLogin::new(settings(moto, &[])), &inputs).unwrap();
    assert_session(&opened, Duration::from_secs(3600));

    // The ambient variable EKS and CI systems set.
    let inputs = Value::from_json(&json!({"oidc": {
        "roleArn": ROLE, "sessionName": "ambient", "duration": "1h30m"
    }}));
    let provider = AwsLogin::new(settings(moto, &[("AWS_WEB_IDENTITY_TOKEN_FILE", path)]));
    let opened = open(&provider, &inputs).unwrap();
    assert_session(&opened, Duration::from_secs(5400));
    assert_eq!(
        caller_arn(&opened.value),
        "arn:aws:sts::123456789012:assumed-role/dev/ambient"
    );
}

#[test]
fn assume_role_uses_the_standard_credential_chain() {
    let Some(moto) = moto::moto() else { return };
    let inputs = Value::from_json(&json!({"assumeRole": {
        "roleArn": ROLE, "sessionName": "laptop", "externalId": "ext-123", "duration": "20m"
    }}));
    let opened = open(&AwsLogin::new(settings(moto, &[])), &inputs).unwrap();
    assert_session(&opened, Duration::from_secs(1200));
    assert_eq!(
        caller_arn(&opened.value),
        "arn:aws:sts::123456789012:assumed-role/dev/laptop"
    );
}

#[test]
fn static_keys_pass_through() {
    let Some(moto) = moto::moto() else { return };
    let inputs = Value::from_json(&json!({"static": {
        "accessKeyId": "AKIASTATIC", "secretAccessKey": "static-secret"
    }}));
    let opened = open(&AwsLogin::new(settings(moto, &[])), &inputs).unwrap();
    assert_eq!(opened.expires_at, None);
    assert_eq!(text(&opened.value, "accessKeyId"), "AKIASTATIC");
    assert!(opened.value.get("secretAccessKey").unwrap().secret);
    assert!(opened.value.get("sessionToken").is_none());
}

/// An aws-login output to use as the `login` input of the other providers.
fn login(moto: &Moto) -> Value {
    let inputs = Value::from_json(&json!({"oidc": {
        "roleArn": ROLE, "sessionName": "reader", "token": "t.t.t"
    }}));
    open(&AwsLogin::new(settings(moto, &[])), &inputs)
        .unwrap()
        .value
}

fn with_login(login: Value, rest: serde_json::Value) -> Value {
    let mut inputs = Value::from_json(&rest);
    if let escsh::lang::Kind::Object(map) = &mut inputs.kind {
        map.insert("login".into(), login);
    }
    inputs
}

#[test]
fn secrets_manager_values_are_secret() {
    let Some(moto) = moto::moto() else { return };
    runtime().block_on(async {
        let client = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
        client
            .create_secret()
            .name("escsh-test/db")
            .secret_string("p@ssw0rd-v1")
            .send()
            .await
            .unwrap();
        client
            .put_secret_value()
            .secret_id("escsh-test/db")
            .secret_string("p@ssw0rd-v2")
            .send()
            .await
            .unwrap();
    });
    let inputs = with_login(
        login(moto),
        json!({"region": "us-east-1", "get": {
            "current": {"secretId": "escsh-test/db"},
            "previous": {"secretId": "escsh-test/db", "versionStage": "AWSPREVIOUS"}
        }}),
    );
    let opened = open(&AwsSecrets::new(settings(moto, &[])), &inputs).unwrap();
    assert_eq!(text(&opened.value, "current"), "p@ssw0rd-v2");
    assert_eq!(text(&opened.value, "previous"), "p@ssw0rd-v1");
    assert!(opened.value.get("current").unwrap().secret);

    let inputs = with_login(
        login(moto),
        json!({"get": {"missing": {"secretId": "escsh-test/nope"}}}),
    );
    let err = open(&AwsSecrets::new(settings(moto, &[])), &inputs)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("aws-secrets: get.missing: Secrets Manager GetSecretValue failed: ResourceNotFoundException"),
        "{err}"
    );
}

#[test]
fn parameter_store_values_are_secret() {
    let Some(moto) = moto::moto() else { return };
    runtime().block_on(async {
        use aws_sdk_ssm::types::ParameterType;
        let client = aws_sdk_ssm::Client::new(&sdk_config().await);
        for (name, kind, value) in [
            ("/escsh-test/plain", ParameterType::String, "hello"),
            ("/escsh-test/secure", ParameterType::SecureString, "s3cure"),
            ("/escsh-test/list", ParameterType::StringList, "a,b,c"),
        ] {
            client
                .put_parameter()
                .name(name)
                .r#type(kind)
                .value(value)
                .send()
                .await
                .unwrap();
        }
    });
    let inputs = with_login(
        login(moto),
        json!({"region": "us-east-1", "get": {
            "plain": {"name": "/escsh-test/plain"},
            "byVersion": {"name": "/escsh-test/plain:1"},
            "secure": {"name": "/escsh-test/secure", "decrypt": true},
            "list": {"name": "/escsh-test/list"}
        }}),
    );
    let opened = open(&AwsParameterStore::new(settings(moto, &[])), &inputs).unwrap();
    let value = opened.value.to_json(false);
    assert_eq!(
        value,
        json!({"plain": "hello", "byVersion": "hello", "secure": "s3cure", "list": ["a", "b", "c"]})
    );
    let redacted = opened.value.to_json(true);
    assert_eq!(
        redacted,
        json!({"plain": "[secret]", "byVersion": "[secret]", "secure": "[secret]", "list": "[secret]"})
    );
}

#[test]
fn unreachable_sts_fails_within_the_timeout() {
    let Some(_moto) = moto::moto() else { return };
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let provider = AwsLogin::new(Settings {
        endpoint_url: Some(closed.clone()),
        env: Env::fixed::<&str, &str>([]),
    });
    let inputs = Value::from_json(&json!({"oidc": {
        "roleArn": ROLE, "sessionName": "s", "token": "never-shown-token"
    }}));
    let started = Instant::now();
    let err = open(&provider, &inputs).unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with(&format!(
            "aws-login: oidc: STS AssumeRoleWithWebIdentity: cannot reach {closed}: "
        )),
        "{err}"
    );
    assert!(!err.contains("never-shown-token"), "{err}");
}

// ---- through the binary -------------------------------------------------

/// The seed definition, exactly as ESC users write it.
const SEED: &str = "\
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          duration: 1h
          roleArn: arn:aws:iam::123456789012:role/dev
          sessionName: pulumi-environments-session
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
";

/// A private escsh home with definitions, and a way to run the binary
/// against moto.
struct Escsh {
    dir: tempfile::TempDir,
}

impl Escsh {
    fn new() -> Escsh {
        Escsh {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("escsh")
    }

    /// Writes the definition of `local/<project>/<env>`.
    fn define(&self, project_env: &str, yaml: &str) {
        let path = self
            .home()
            .join("environments/local")
            .join(format!("{project_env}.yaml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, yaml).unwrap();
    }

    fn token_file(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join("web-identity-token");
        std::fs::write(&path, token).unwrap();
        path
    }

    fn command(&self, moto: &Moto, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_escsh"));
        command.args(args);
        for (name, _) in std::env::vars() {
            if moto::is_foreign_aws_var(&name) {
                command.env_remove(name);
            }
        }
        command
            .envs(moto::aws_env(moto))
            .env("HOME", self.dir.path())
            .env("ESCSH_HOME", self.home());
        command
    }
}

fn run(mut command: Command) -> Output {
    command.output().expect("run escsh")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn seed_definition_runs_the_aws_cli_as_the_role() {
    let Some(moto) = moto::moto() else { return };
    let Some(aws_cli) = moto::aws_cli() else {
        return;
    };
    let escsh = Escsh::new();
    escsh.define("app/dev", SEED);
    let token = escsh.token_file("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
    let mut command = escsh.command(moto, &["run", "local/app/dev", "--"]);
    command
        .arg(&aws_cli)
        .args(["sts", "get-caller-identity", "--output", "json"])
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token);
    let output = run(command);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let identity: serde_json::Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    assert_eq!(
        identity["Arn"],
        "arn:aws:sts::123456789012:assumed-role/dev/pulumi-environments-session"
    );
}

#[test]
fn open_shows_expiration_and_redacting_paths_hide_credentials() {
    let Some(moto) = moto::moto() else { return };
    let escsh = Escsh::new();
    escsh.define("app/dev", SEED);
    escsh.define(
        "app/keys",
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n          \
         accessKeyId: AKIAKEYS\n          secretAccessKey: static-secret-value\n          \
         sessionToken: static-session-token\n",
    );
    let token = escsh.token_file("header.payload.sig");

    let mut command = escsh.command(moto, &["open", "local/app/dev", "--format", "json"]);
    command.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token);
    let output = run(command);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let opened: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let login = &opened["aws"]["login"];
    let expiration = login["expiration"].as_str().expect("expiration");
    let expires = aws_smithy_types::DateTime::from_str(
        expiration,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap();
    assert!(
        (3540..=3605).contains(&(expires.secs() - now())),
        "{expiration}"
    );
    assert!(login["secretAccessKey"]
        .as_str()
        .is_some_and(|s| s.len() > 10));

    // The value part of `env get` (the definition part shows what was
    // written, so the static keys are asked for by path).
    let output = run(escsh.command(moto, &["env", "get", "local/app/keys", "aws.login"]));
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let shown = stdout(&output) + &stderr(&output);
    assert!(shown.contains("AKIAKEYS"), "{shown}");
    assert!(shown.contains("[secret]"), "{shown}");
    assert!(!shown.contains("static-secret-value"), "{shown}");
    assert!(!shown.contains("static-session-token"), "{shown}");

    let mut command = escsh.command(moto, &["env", "get", "local/app/dev", "aws.login"]);
    command.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token);
    let output = run(command);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let shown = stdout(&output) + &stderr(&output);
    for field in ["secretAccessKey", "sessionToken"] {
        let line = shown
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("no {field} in {shown}"));
        assert!(line.contains("[secret]"), "{line}");
    }
    assert!(shown.contains("expiration"), "{shown}");
    assert!(!shown.contains("header.payload.sig"), "{shown}");

    // `run` redacts the minted secrets in a child's piped output.
    let mut command = escsh.command(
        moto,
        &[
            "run",
            "local/app/dev",
            "--",
            "printenv",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
    );
    command.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token);
    let output = run(command);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let printed: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(printed.len(), 3, "{printed:?}");
    assert_ne!(printed[0], "[secret]", "the key id is not secret");
    assert_eq!(printed[1..], ["[secret]", "[secret]"]);
}

#[test]
fn unreachable_sts_is_a_clear_error_from_the_binary() {
    let Some(moto) = moto::moto() else { return };
    let escsh = Escsh::new();
    escsh.define(
        "app/dev",
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n          \
         roleArn: arn:aws:iam::123456789012:role/dev\n          sessionName: s\n          \
         token: do-not-print-this-token\n",
    );
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let mut command = escsh.command(moto, &["open", "local/app/dev"]);
    command.env("AWS_ENDPOINT_URL", &closed);
    let started = Instant::now();
    let output = run(command);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains(&format!("cannot reach {closed}")), "{err}");
    assert!(err.contains("aws-login"), "{err}");
    assert!(!err.contains("do-not-print-this-token"), "{err}");
    assert!(!stdout(&output).contains("do-not-print-this-token"));
}
