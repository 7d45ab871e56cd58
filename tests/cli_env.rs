//! `escsh env ...` through the real binary.

mod common;

use std::fs;

use common::*;

#[test]
fn init_ls_rm() {
    let h = Home::new();
    let o = h.run(["env", "ls"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "");

    let o = h.run(["env", "init", "dev"]);
    assert_code(&o, 0);
    let path = h.definition_path("dev");
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# escsh environment local/default/dev"),
        "{text}"
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    // The template opens to an empty object.
    let o = h.run(["open", "dev"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "{}");

    let o = h.run(["env", "init", "dev"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "overwritten");

    h.write_env("acme/web/prod", "values: {}\n");
    let o = h.run(["env", "ls"]);
    assert_eq!(stdout(&o), "acme/web/prod\nlocal/default/dev\n");

    // Without a terminal, removal needs --yes.
    let o = h.run(["env", "rm", "dev"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(path.exists());
    let o = h.run(["env", "rm", "dev", "--yes"]);
    assert_code(&o, 0);
    assert!(!path.exists());
    let o = h.run(["env", "rm", "dev", "--yes"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}

/// The template's comments are escsh's guidance: `env set` right after
/// `env init` has no user comment to warn about.
#[test]
fn set_after_init_does_not_warn_about_the_templates_comments() {
    let h = Home::new();
    assert_code(&h.run(["env", "init", "dev"]), 0);
    let o = h.run(["env", "set", "dev", "app.url", "https://x"]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    let o = h.run(["open", "dev", "app.url"]);
    assert_eq!(stdout(&o), "\"https://x\"\n");
    // Nothing left that a later `env set` could warn about either.
    let o = h.run(["env", "set", "dev", "app.port", "1"]);
    assert_eq!(stderr(&o), "");
}

#[test]
fn version_is_a_command_too() {
    let h = Home::new();
    let o = h.run(["version"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), format!("escsh {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(stdout(&h.run(["--version"])), stdout(&o));
    let o = h.run(["help"]);
    assert!(stdout(&o).contains("version"), "{}", stdout(&o));
}

#[test]
fn init_from_file_is_checked() {
    let h = Home::new();
    let good = h.path().join("good.yaml");
    fs::write(&good, "values:\n  a: 1\n").unwrap();
    let o = h.run(["env", "init", "p/e", "--file", good.to_str().unwrap()]);
    assert_code(&o, 0);
    assert_eq!(h.read_env("p/e").unwrap(), "values:\n  a: 1\n");

    let bad = h.path().join("bad.yaml");
    fs::write(&bad, "values:\n  a: ${missing}\n").unwrap();
    let o = h.run(["env", "init", "p/bad", "--file", bad.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(h.read_env("p/bad").is_none());
    let o = h.run([
        "env",
        "init",
        "p/bad",
        "--file",
        bad.to_str().unwrap(),
        "--force",
    ]);
    assert_code(&o, 0);
    assert!(h.read_env("p/bad").is_some());
}

#[test]
fn default_org_comes_from_the_config() {
    let h = Home::new();
    fs::write(h.path().join("config.yaml"), "defaultOrg: acme\n").unwrap();
    let o = h.run(["env", "init", "proj/e"]);
    assert_code(&o, 0);
    assert!(h.definition_path("acme/proj/e").exists());
    let o = h.run(["env", "ls"]);
    assert_eq!(stdout(&o), "acme/proj/e\n");
}

#[test]
fn invalid_names_are_refused() {
    let h = Home::new();
    for bad in [
        "../x", "a//b", "", "p/.e", "o/p/e/f", "p/e@2", "x y", "p/..",
    ] {
        let o = h.run(["env", "init", bad]);
        assert_code(&o, 2);
        assert!(
            stderr(&o).starts_with("escsh: error: "),
            "{bad}: {}",
            stderr(&o)
        );
    }
    let o = h.run(["env", "init", "../x"]);
    assert!(
        stderr(&o).contains("invalid project name \"..\""),
        "{}",
        stderr(&o)
    );
    // Nothing was created anywhere.
    assert!(!h.path().join("environments").exists());
    assert!(!h.path().join("x.yaml").exists());
}

#[test]
fn get_shows_definition_and_redacted_value() {
    let h = Home::new();
    h.write_env("app", APP);
    let o = h.run(["env", "get", "app"]);
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("fn::secret: hunter2"),
        "the definition is shown as written"
    );
    let value = out.split("# Value\n").nth(1).unwrap();
    assert!(!value.contains("hunter2"), "{value}");
    assert!(value.contains("\"pw\": \"[secret]\""), "{value}");

    let o = h.run(["env", "get", "app", "pw"]);
    assert_eq!(stdout(&o), "\"[secret]\"\n");
    let o = h.run(["env", "get", "app", "pw", "--show-secrets"]);
    assert_eq!(stdout(&o), "\"hunter2\"\n");
    let o = h.run(["env", "get", "app", "app.port"]);
    assert_eq!(stdout(&o), "8080\n");
}

#[test]
fn set_edits_values() {
    let h = Home::new();
    h.write_env("e", "# a comment\nvalues:\n  keep: yes-please\n");
    let o = h.run(["env", "set", "e", "app.url", "https://x"]);
    assert_code(&o, 0);
    assert!(stderr(&o).contains("comments"), "{}", stderr(&o));
    h.run(["env", "set", "e", "app.port", "8080"]);
    h.run(["env", "set", "e", "app.tag", "8080", "--string"]);
    h.run([
        "env",
        "set",
        "e",
        "environmentVariables.TOKEN",
        "s3cr3t-value",
        "--secret",
    ]);
    let o = h.run(["open", "e"]);
    assert_code(&o, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "keep": "yes-please",
            "app": {"url": "https://x", "port": 8080, "tag": "8080"},
            "environmentVariables": {"TOKEN": "s3cr3t-value"}
        })
    );
    let o = h.run(["env", "get", "e", "environmentVariables.TOKEN"]);
    assert_eq!(stdout(&o), "\"[secret]\"\n");

    // A value that breaks the environment is not saved.
    let before = h.read_env("e").unwrap();
    let o = h.run(["env", "set", "e", "broken", "${nope}"]);
    assert_code(&o, 2);
    assert_eq!(h.read_env("e").unwrap(), before);

    let o = h.run(["env", "set", "missing", "a", "1"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("env init"), "{}", stderr(&o));
}

/// Replacing a scalar keeps the file as written around it, comments
/// included, and a secret set there is encrypted in place.
#[test]
fn set_replaces_a_scalar_in_place() {
    let h = Home::new();
    let text = "# team settings\nvalues:\n  app:\n    port: 80 # the public one\n    token: old # rotated monthly\n  hosts: [a, b] # two\n";
    h.write_env("e", text);
    let o = h.run(["env", "set", "e", "app.port", "8080"]);
    assert_code(&o, 0);
    assert!(!stderr(&o).contains("comments"), "{}", stderr(&o));
    let o = h.run(["env", "set", "e", "hosts[1]", "b-2", "--string"]);
    assert_code(&o, 0);
    let secret = "n3w-t0ken-value";
    let o = h.run(["env", "set", "e", "app.token", secret, "--secret"]);
    assert_code(&o, 0);
    let saved = h.read_env("e").unwrap();
    let before_token = text
        .replace("port: 80 ", "port: 8080 ")
        .replace("[a, b]", "[a, \"b-2\"]");
    let (head, tail) = before_token.split_once("token: old").unwrap();
    assert!(
        saved.starts_with(&format!("{head}token: {{fn::secret: {{ciphertext: ")),
        "{saved}"
    );
    assert!(saved.ends_with(&format!("}}}}{tail}")), "{saved}");
    assert!(!saved.contains(secret), "{saved}");
    let o = h.run(["open", "e"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"app": {"port": 8080, "token": secret}, "hosts": ["a", "b-2"]})
    );
}

#[test]
fn set_never_echoes_the_value_in_errors() {
    let h = Home::new();
    h.write_env("e", "values: {}\n");
    let o = h.run(["env", "set", "e", "a", "{unclosed-sekrit"]);
    assert_code(&o, 1);
    assert!(!stderr(&o).contains("sekrit"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--string"), "{}", stderr(&o));
}

/// An "editor" that replaces the file with `content`.
fn editor_writing(h: &Home, content: &str) -> String {
    let src = h.path().join("edit-source.yaml");
    fs::write(&src, content).unwrap();
    format!("cp '{}'", src.display())
}

#[test]
fn edit_saves_a_good_edit() {
    let h = Home::new();
    h.write_env("e", "values:\n  a: 1\n");
    let o = h
        .cmd()
        .args(["env", "edit", "e"])
        .env("EDITOR", editor_writing(&h, "# mine\nvalues:\n  a: 2\n"))
        .output()
        .unwrap();
    assert_code(&o, 0);
    assert_eq!(h.read_env("e").unwrap(), "# mine\nvalues:\n  a: 2\n");
}

#[test]
fn edit_refuses_a_broken_edit_without_a_terminal() {
    let h = Home::new();
    h.write_env("e", "values:\n  a: 1\n");
    let editor = editor_writing(&h, "values:\n  a: ${nope}\n");
    let o = h
        .cmd()
        .args(["env", "edit", "e"])
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert_code(&o, 2);
    assert_eq!(h.read_env("e").unwrap(), "values:\n  a: 1\n");
    let err = stderr(&o);
    assert!(err.contains("kept at"), "{err}");
    // VISUAL wins over EDITOR, and --force saves anyway.
    let o = h
        .cmd()
        .args(["env", "edit", "e", "--force"])
        .env("VISUAL", &editor)
        .env("EDITOR", "false")
        .output()
        .unwrap();
    assert_code(&o, 0);
    assert_eq!(h.read_env("e").unwrap(), "values:\n  a: ${nope}\n");
}

#[test]
fn edit_with_a_failing_editor_changes_nothing() {
    let h = Home::new();
    h.write_env("e", "values:\n  a: 1\n");
    let o = h
        .cmd()
        .args(["env", "edit", "e"])
        .env("EDITOR", "false")
        .output()
        .unwrap();
    assert_code(&o, 1);
    assert_eq!(h.read_env("e").unwrap(), "values:\n  a: 1\n");
    let o = h
        .cmd()
        .args(["env", "edit", "nope"])
        .env("EDITOR", "true")
        .output()
        .unwrap();
    assert_code(&o, 1);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}
