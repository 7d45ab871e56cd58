//! Every AWS provider error is one line with its cause and what to do,
//! never the SDK's debug structure: run through the `escsh` binary with no
//! AWS credentials anywhere (empty HOME, config and credentials files, no
//! metadata service) and every endpoint a closed loopback port, so the
//! tests are fast, hermetic and never reach AWS.

mod moto;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `escsh open` on `definition` with no AWS credentials in reach:
/// empty HOME, config and credentials files, no metadata service, and
/// every endpoint a closed port (nothing can reach AWS). Returns stderr.
fn open_without_credentials(definition: &str, config: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("escsh");
    let file = home.join("environments/local/app/dev.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, definition).unwrap();
    let config_file = dir.path().join("aws-config");
    std::fs::write(&config_file, config).unwrap();
    let credentials_file = dir.path().join("aws-credentials");
    std::fs::write(&credentials_file, "").unwrap();
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_escsh"));
    for (name, _) in std::env::vars() {
        if moto::is_foreign_aws_var(&name) {
            command.env_remove(name);
        }
    }
    command
        .args(["open", "local/app/dev"])
        .env("HOME", dir.path())
        .env("ESCSH_HOME", &home)
        .env("AWS_CONFIG_FILE", &config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials_file)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &closed)
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied());
    let started = Instant::now();
    let output = command.output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(12));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    for debug in ["DispatchFailure", "ConnectorError", "{", "Attempted:"] {
        assert!(!err.contains(debug), "debug text {debug:?} in: {err}");
    }
    // The diagnostic, then "... has errors".
    assert_eq!(err.lines().count(), 2, "{err}");
    err
}

const ASSUME_ROLE: &str = "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        \
     assumeRole:\n          roleArn: arn:aws:iam::123456789012:role/dev\n";

#[test]
fn assume_role_without_credentials_says_where_escsh_looked() {
    let err = open_without_credentials(ASSUME_ROLE, "", &[]);
    assert!(
        err.contains("aws-login: assumeRole: no AWS credentials were found for `assumeRole`"),
        "{err}"
    );
    for place in [
        "AWS_ACCESS_KEY_ID",
        "profile `default`",
        "~/.aws/credentials",
        "SSO cache",
        "credential_process",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "container credentials",
        "instance metadata",
        "aws configure",
    ] {
        assert!(err.contains(place), "{place} not in: {err}");
    }

    // A profile that does not exist is named.
    let config = "[profile other]\nregion = us-east-1\n";
    let err = open_without_credentials(ASSUME_ROLE, config, &[("AWS_PROFILE", "nope")]);
    assert!(err.contains("profile `nope` was not defined"), "{err}");
}

#[test]
fn failing_credential_sources_are_one_line_causes() {
    let config = "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n\
                  sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = dev\n\
                  [profile proc]\ncredential_process = /bin/false\n";
    let err = open_without_credentials(ASSUME_ROLE, config, &[("AWS_PROFILE", "sso")]);
    assert!(
        err.contains("could not load AWS credentials for `assumeRole` (profile `sso`)"),
        "{err}"
    );
    assert!(err.contains("aws sso login --profile sso"), "{err}");
    let err = open_without_credentials(ASSUME_ROLE, config, &[("AWS_PROFILE", "proc")]);
    assert!(
        err.contains("could not load AWS credentials for `assumeRole` (profile `proc`)"),
        "{err}"
    );
}

#[test]
fn fetch_providers_without_login_or_credentials_say_so() {
    for (provider, entry) in [
        ("aws-secrets", "secretId: app/db"),
        ("aws-parameter-store", "name: /app/db"),
    ] {
        let definition = format!(
            "values:\n  v:\n    fn::open::{provider}:\n      get:\n        db:\n          {entry}\n"
        );
        let err = open_without_credentials(&definition, "", &[]);
        assert!(
            err.contains(&format!(
                "no AWS credentials were found for {provider} (no `login` given)"
            )),
            "{err}"
        );
    }
}

#[test]
fn unreachable_endpoints_are_one_line_for_every_provider() {
    let login = "      login:\n        accessKeyId: AKIA\n        secretAccessKey: never-shown\n";
    let secrets = format!(
        "values:\n  v:\n    fn::open::aws-secrets:\n{login}      get:\n        db:\n          secretId: x\n"
    );
    let err = open_without_credentials(&secrets, "", &[]);
    assert!(
        err.contains("Secrets Manager GetSecretValue: cannot reach http://127.0.0.1:"),
        "{err}"
    );
    assert!(!err.contains("never-shown"), "{err}");

    let closed = format!("http://127.0.0.1:{}/token", moto::free_port());
    let oidc = "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n          \
                roleArn: arn:aws:iam::123456789012:role/dev\n          sessionName: s\n";
    let err = open_without_credentials(
        oidc,
        "",
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &closed),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "never-shown-bearer"),
        ],
    );
    assert!(
        err.contains("GitHub Actions token request: cannot reach"),
        "{err}"
    );
    assert!(!err.contains("never-shown-bearer"), "{err}");
}
