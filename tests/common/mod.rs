//! Helpers for the end-to-end tests: run the real `escsh` binary against a
//! private `ESCSH_HOME`, so no test ever touches the user's own files.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// A crate may include this helper beside another that includes `tools`
// too; the copies are identical and stateless.
#[allow(clippy::duplicate_mod)]
#[path = "../tools/mod.rs"]
pub mod tools;

pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::Builder::new()
                .prefix("escsh-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `escsh` with this home and nothing inherited that could change its
    /// behaviour (editor, org config from the real home).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_escsh"));
        // A developer's Pulumi login must not send a test to the network.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PULUMI_") {
                c.env_remove(&k);
            }
        }
        c.env("ESCSH_HOME", self.path())
            .env("PULUMI_HOME", self.path().join("no-pulumi-login"))
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        c
    }

    /// Runs `escsh ARGS` to completion.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).output().unwrap()
    }

    /// Where the store keeps `reference` (`env`, `p/env` or `o/p/env`).
    pub fn definition_path(&self, reference: &str) -> PathBuf {
        let parts: Vec<&str> = reference.split('/').collect();
        let (org, project, env) = match parts.as_slice() {
            [e] => ("local", "default", *e),
            [p, e] => ("local", *p, *e),
            [o, p, e] => (*o, *p, *e),
            _ => panic!("bad reference {reference}"),
        };
        self.path()
            .join("environments")
            .join(org)
            .join(project)
            .join(format!("{env}.yaml"))
    }

    /// Writes a definition straight into the store.
    pub fn write_env(&self, reference: &str, yaml: &str) -> PathBuf {
        let path = self.definition_path(reference);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, yaml).unwrap();
        path
    }

    pub fn read_env(&self, reference: &str) -> Option<String> {
        fs::read_to_string(self.definition_path(reference)).ok()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it is not the expected one.
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

pub fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A definition most tests share: a secret, plain values, variables and a file.
pub const APP: &str = r#"values:
  app:
    url: https://example.com
    port: 8080
  pw:
    fn::secret: hunter2
  environmentVariables:
    APP_URL: ${app.url}
    PORT: ${app.port}
    PW: ${pw}
  files:
    APP_CONFIG: "url = ${app.url}"
    SECRET_FILE: "pw=${pw}"
"#;
