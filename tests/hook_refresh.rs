//! Credentials in the shell against a real STS (moto): one open for many
//! shells, a background refresh before expiry, a failed refresh that warns
//! once and keeps the current credentials.

mod common;
mod moto;
mod shellkit;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Home;

const ESCSH: &str = env!("CARGO_BIN_EXE_escsh");

/// An `assumeRole` environment (15 minutes, STS's minimum) and a project
/// whose `.escrc` asks for a refresh `margin` before expiry.
fn project(home: &Home, margin: &str) -> std::path::PathBuf {
    home.write_env(
        "app/aws",
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        assumeRole:\n          roleArn: arn:aws:iam::123456789012:role/dev\n          duration: 15m\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n",
    );
    let proj = home.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(
        proj.join(".escrc"),
        format!("environment: app/aws\nrefresh: {margin}\n"),
    )
    .unwrap();
    let out = home.cmd().arg("allow").arg(&proj).output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    proj
}

fn command(home: &Home, moto: &moto::Moto, program: &str, dir: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("ESCSH_HOME", home.path())
        .env("TERM", "dumb")
        .envs(moto::aws_env(moto))
        .current_dir(dir)
        .stdin(Stdio::piped());
    c
}

/// The value `export NAME=...` sets in a bash export script (the key ids
/// moto mints are plain alphanumerics, quoted as `'...'`).
fn exported(script: &str, name: &str) -> Option<String> {
    let prefix = format!("export {name}='");
    script
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.trim_end_matches('\'').to_string())
}

#[test]
fn many_shells_entering_at_once_open_the_environment_once() {
    let Some(moto) = moto::moto() else { return };
    let home = Home::new();
    let proj = project(&home, "10m");
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut c = command(&home, moto, ESCSH, &proj);
            c.args(["export", "bash"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let keys: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", common::stderr(&out));
            exported(&common::stdout(&out), "AWS_ACCESS_KEY_ID").expect("credentials exported")
        })
        .collect();
    // Every STS call mints a new key id: one id means one call.
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

/// Runs `script` in an interactive bash (its prompt hook fires per line);
/// `None` after a loud skip when bash is missing.
fn bash(home: &Home, moto: &moto::Moto, dir: &Path, script: &str) -> Option<(String, String)> {
    if !shellkit::available(shellkit::Sh::Bash) {
        return None;
    }
    let mut c = command(home, moto, "bash", dir);
    c.args(["--norc", "--noprofile", "-i"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    let script = format!("eval \"$({ESCSH} hook bash)\"\n{script}\nexit\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((common::stdout(&out), common::stderr(&out)))
}

fn line<'a>(stdout: &'a str, tag: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} line in {stdout}"))
}

/// Polls at prompts until the key changes (the background refresh has
/// landed), for at most `tries` seconds.
fn wait_for_new_key(tries: u32) -> String {
    format!(
        "first=$AWS_ACCESS_KEY_ID\nfor i in $(seq {tries}); do [[ $AWS_ACCESS_KEY_ID != \"$first\" ]] && break; sleep 1; __escsh_hook; done\n"
    )
}

#[test]
fn credentials_near_expiry_are_refreshed_in_the_background() {
    let Some(moto) = moto::moto() else { return };
    let home = Home::new();
    let proj = project(&home, "14m58s");
    let script = format!(
        "cd {}\necho \"before $AWS_ACCESS_KEY_ID $AWS_CREDENTIAL_EXPIRATION\"\nsleep 3\n:\n{}echo \"after $AWS_ACCESS_KEY_ID $AWS_CREDENTIAL_EXPIRATION\"",
        proj.display(),
        wait_for_new_key(30)
    );
    let Some((out, err)) = bash(&home, moto, home.path(), &script) else {
        return;
    };
    let before = line(&out, "before ");
    let after = line(&out, "after ");
    assert!(before.starts_with("ASIA"), "{out}\n{err}");
    assert_ne!(before, after, "the refresh replaced the credentials\n{err}");
    assert!(err.contains("escsh: refreshed app/aws"), "{err}");
    // The refresh never printed a credential.
    let key = after.split(' ').next().unwrap();
    assert!(!err.contains(key), "{err}");
}

#[test]
fn a_failed_refresh_warns_once_and_keeps_the_credentials() {
    let Some(moto) = moto::moto() else { return };
    let home = Home::new();
    let proj = project(&home, "14m58s");
    // The refresher inherits the shell's environment: point it at a closed port.
    let closed = moto::free_port();
    let script = format!(
        "cd {}\necho \"before $AWS_ACCESS_KEY_ID\"\nexport AWS_ENDPOINT_URL=http://127.0.0.1:{closed}\nsleep 3\n:\nfor i in $(seq 20); do sleep 1; __escsh_hook; grep -qs '\"failure\":{{' {}/run/opened/*.json && break; done\n:\n:\n:\necho \"after $AWS_ACCESS_KEY_ID\"",
        proj.display(),
        home.path().display()
    );
    let Some((out, err)) = bash(&home, moto, home.path(), &script) else {
        return;
    };
    assert_eq!(line(&out, "before "), line(&out, "after "), "{err}");
    assert_eq!(
        err.matches("refreshing app/aws failed").count(),
        1,
        "one warning, not one per prompt\n{err}"
    );
}

/// moto and the variables that point AWS clients at it, for the shell
/// scenarios (`None` after a loud skip when moto is missing).
fn aws() -> Option<shellkit::creds::Aws> {
    let moto = moto::moto()?;
    Some(shellkit::creds::Aws {
        moto_url: moto.url.clone(),
        env: moto::aws_env(moto),
    })
}

mod bash {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Bash, aws());
}

mod zsh {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Zsh, aws());
}

mod fish {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Fish, aws());
}

mod xonsh {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Xonsh, aws());
}

mod tcsh {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Tcsh, aws());
}

mod nu {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Nu, aws());
}

mod elvish {
    use super::*;
    crate::credential_scenarios!(shellkit::Sh::Elvish, aws());
}
