//! `escsh open` through the real binary.

mod common;

use std::process::Command;

use common::*;

#[test]
fn json_reveals_secrets_sorted_and_indented() {
    let h = Home::new();
    h.write_env("app", APP);
    let o = h.run(["open", "app"]);
    assert_code(&o, 0);
    let out = stdout(&o);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["pw"], "hunter2");
    assert_eq!(json["app"]["port"], 8080);
    assert_eq!(json["environmentVariables"]["PORT"], 8080);
    assert!(
        out.starts_with("{\n  \"app\": {\n    \"port\": 8080,\n    \"url\""),
        "{out}"
    );
}

#[test]
fn property_paths_and_formats() {
    let h = Home::new();
    h.write_env("app", APP);
    let o = h.run(["open", "app", "app.url"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "\"https://example.com\"\n");
    let o = h.run(["open", "app", "[\"app\"].port", "--format", "string"]);
    assert_eq!(stdout(&o), "8080\n");
    let o = h.run(["open", "app", "pw", "-f", "string"]);
    assert_eq!(stdout(&o), "hunter2\n");
    let o = h.run(["open", "app", "app", "--format", "yaml"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "port: 8080\nurl: https://example.com\n");
    // A missing path is null, with a warning on stderr only.
    let o = h.run(["open", "app", "app.nope"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "null\n");
    assert!(stderr(&o).contains("app.nope"));
    let o = h.run(["open", "app", "app["]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("invalid property path"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn path_is_refused_with_dotenv_and_shell() {
    let h = Home::new();
    h.write_env("app", APP);
    for format in ["dotenv", "shell"] {
        let o = h.run(["open", "app", "app", "--format", format]);
        assert_code(&o, 1);
        assert!(
            stderr(&o).contains("may not be used with a property path"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn shell_format_materializes_private_files() {
    if !common::tools::require("bash") {
        return;
    }
    let h = Home::new();
    h.write_env("app", APP);
    let o = h.run(["open", "app", "--format", "shell"]);
    assert_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "export APP_URL='https://example.com'");
    assert_eq!(lines[1], "export PORT='8080'");
    assert_eq!(lines[2], "export PW='hunter2'");
    assert!(lines[3].starts_with("export APP_CONFIG='"), "{out}");
    assert!(lines[4].starts_with("export SECRET_FILE='"), "{out}");
    let script = format!("{out}\nprintf '%s\\n' \"$APP_CONFIG\" \"$SECRET_FILE\"");
    let paths = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let paths = stdout(&paths);
    let mut paths = paths.lines();
    let config = std::path::PathBuf::from(paths.next().unwrap());
    let secret = std::path::PathBuf::from(paths.next().unwrap());
    assert!(
        config.starts_with(h.path()),
        "{config:?} not under ESCSH_HOME"
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "url = https://example.com"
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "pw=hunter2");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);

    let o = h.run(["open", "app", "--format", "dotenv"]);
    assert_code(&o, 0);
    assert!(stdout(&o).starts_with("APP_URL='https://example.com'\nPORT='8080'\n"));
}

/// Values that break naive quoting.
const NASTY: &[(&str, &str)] = &[
    ("QUOTES", r#"'single' "double" \'mixed\""#),
    ("BACKSLASH", r"C:\path\to\n \\ \x41"),
    ("DOLLAR", "$HOME ${PATH} $(id) $$ $"),
    ("BACKTICK", "`id` and `whoami`"),
    ("NEWLINES", "line1\nline2\r\n\n"),
    ("CONTROL", "\u{1}\u{2}\t\u{1b}[31mred\u{1b}[0m\u{7f}"),
    ("UNICODE", "ünïcødé ✓ 🚀 日本"),
    ("GLOBS", "* ? [a-z] ~ ! # ; & | < > ( )"),
    ("EMPTY", ""),
    ("SPACES", "  leading and trailing  "),
    ("TRAILING_BACKSLASH", "ends with \\"),
];

/// A home with environment `nasty` holding [`NASTY`].
fn nasty_home() -> Home {
    let mut yaml = String::from("values:\n  environmentVariables:\n");
    for (name, value) in NASTY {
        // JSON strings are valid YAML double-quoted scalars; `$$` is ESC's `$`.
        let escaped = value.replace('$', "$$");
        yaml.push_str(&format!(
            "    {name}: {}\n",
            serde_json::to_string(&escaped).unwrap()
        ));
    }
    let h = Home::new();
    h.write_env("nasty", &yaml);
    h
}

/// Every nasty value must come back byte for byte after `eval` in bash and zsh.
#[test]
fn shell_format_round_trips_in_bash_and_zsh() {
    let cases = NASTY;
    let h = nasty_home();
    let o = h.run(["open", "nasty", "--format", "shell"]);
    assert_code(&o, 0);
    let exports = stdout(&o);
    assert!(exports.is_ascii(), "shell output must be pure ASCII");
    for shell in ["bash", "zsh"] {
        if !common::tools::require(shell) {
            continue;
        }
        for (name, value) in cases.iter() {
            let script = format!("eval \"$1\"; printf %s \"${name}\"");
            let out = Command::new(shell)
                .arg("-c")
                .arg(&script)
                .arg(shell)
                .arg(&exports)
                .output()
                .unwrap();
            assert!(out.status.success(), "{shell}: {}", stderr(&out));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                *value,
                "{shell} {name}"
            );
        }
    }
}

#[test]
fn invalid_variable_names_are_refused_for_shells() {
    let h = Home::new();
    h.write_env(
        "bad",
        "values:\n  environmentVariables:\n    \"A;rm -rf x\": v\n",
    );
    let o = h.run(["open", "bad", "--format", "shell"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("not a valid shell variable name"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn diagnostics_point_at_the_file_and_fail() {
    let h = Home::new();
    let path = h.write_env("broken", "values:\n  a: ${nope}\n");
    let o = h.run(["open", "broken"]);
    assert_code(&o, 2);
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:2:", path.display())), "{err}");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn missing_environment_says_how_to_create_it() {
    let h = Home::new();
    let o = h.run(["open", "p/nothing"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("escsh env init local/p/nothing"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn imports_resolve_in_the_same_org() {
    let h = Home::new();
    h.write_env("acme/shared/base", "values:\n  a: from-base\n  b: base\n");
    h.write_env("acme/default/legacy", "values:\n  c: legacy\n");
    h.write_env(
        "acme/app/dev",
        "imports:\n  - shared/base\n  - legacy\nvalues:\n  b: own\n",
    );
    let o = h.run(["open", "acme/app/dev"]);
    assert_code(&o, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"a": "from-base", "b": "own", "c": "legacy"})
    );
    // The same name in another org is another environment.
    h.write_env("other/app/dev", "imports:\n  - shared/base\n");
    let o = h.run(["open", "other/app/dev"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("shared/base"), "{}", stderr(&o));
}

#[test]
fn invalid_references_never_leave_the_store() {
    let h = Home::new();
    std::fs::write(h.path().join("secret.yaml"), "values: {x: 1}\n").unwrap();
    for bad in [
        "../secret",
        "../../x",
        "a//b",
        ".hidden",
        "p/e@3",
        "o/p/e/f",
        "a b",
    ] {
        let o = h.run(["open", bad]);
        assert_code(&o, 2);
        assert!(
            stderr(&o).starts_with("escsh: error: "),
            "{bad}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
    let o = h.run(["open", "p/e@3"]);
    assert!(stderr(&o).contains("versions are not supported by the local store"));
}

#[test]
fn closed_stdout_does_not_panic() {
    if !common::tools::require("bash") {
        return;
    }
    let h = Home::new();
    let mut yaml = String::from("values:\n");
    for i in 0..5000 {
        yaml.push_str(&format!(
            "  key{i}: value number {i} with some padding text\n"
        ));
    }
    h.write_env("big", &yaml);
    let script = format!(
        "'{}' open big | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_escsh")
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("ESCSH_HOME", h.path())
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0", "stderr: {}", stderr(&o));
}

/// A dotenv file sourced by bash (`set -a; . file`) exports every value
/// byte for byte.
#[test]
fn dotenv_round_trips_through_bash() {
    if !common::tools::require("bash") {
        return;
    }
    let h = nasty_home();
    let o = h.run(["open", "nasty", "--format", "dotenv"]);
    assert_code(&o, 0);
    let file = h.path().join("nasty.env");
    std::fs::write(&file, &o.stdout).unwrap();
    for (name, value) in NASTY {
        // The child `sh` sees the value only if it was exported.
        let script = format!("set -a; . \"$1\"; set +a; exec sh -c 'printf %s \"${name}\"'");
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .arg("bash")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), *value, "{name}");
    }
}

/// A value `escsh run` and the shell could never pass on is refused with
/// nothing printed and no file written.
#[test]
fn projected_formats_refuse_a_value_over_the_kernel_limit() {
    let h = Home::new();
    h.write_env(
        "big",
        &format!(
            "values:\n  environmentVariables:\n    BIG: {}\n  files:\n    F: content\n",
            "v".repeat(200_000)
        ),
    );
    for format in ["shell", "dotenv"] {
        let o = h.run(["open", "big", "--format", format]);
        assert_code(&o, 2);
        assert!(stdout(&o).is_empty(), "{format}");
        let err = stderr(&o);
        assert!(err.contains("BIG is 200005 bytes"), "{err}");
        assert!(err.contains("131072"), "{err}");
        assert!(!err.contains("vvvv"), "{err}");
    }
    assert!(
        !h.path().join("run/files").exists(),
        "files were written for a refused environment"
    );
}
