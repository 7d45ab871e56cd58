//! Scenarios that guard promises the first suite missed (issue 7, items 6
//! and 29): echo modes that print what the hook evals, `file:` targets,
//! `status --json`. Run by every shell through `shared_scenarios!`.

use std::fs;

use super::scenarios::{secret_value, standard};
use super::{sh_quote, Kit, Sh};

/// Ways a user makes the shell print what it runs, each with a line that
/// prints `@mode on` while it is still on afterwards.
fn echo_modes(sh: Sh) -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    match sh {
        Sh::Bash => vec![
            ("set -v", vec![("v", "case $- in *v*) echo '@v on';; esac")]),
            ("set -x", vec![("x", "case $- in *x*) echo '@x on';; esac")]),
            (
                "set -xv",
                vec![
                    ("v", "case $- in *v*) echo '@v on';; esac"),
                    ("x", "case $- in *x*) echo '@x on';; esac"),
                ],
            ),
        ],
        Sh::Zsh => vec![
            (
                "setopt verbose",
                vec![("v", "[[ -o verbose ]] && echo '@v on'")],
            ),
            (
                "setopt xtrace",
                vec![("x", "[[ -o xtrace ]] && echo '@x on'")],
            ),
            (
                "setopt verbose xtrace",
                vec![
                    ("v", "[[ -o verbose ]] && echo '@v on'"),
                    ("x", "[[ -o xtrace ]] && echo '@x on'"),
                ],
            ),
        ],
        // fish has no verbose mode: its trace is the one echo a script can
        // switch on (and the hook must switch off).
        Sh::Fish => vec![(
            "set -g fish_trace 1",
            vec![("x", "set -q fish_trace; and echo '@x on'")],
        )],
        // Neither has a mode that echoes what runs (nushell's --log-level
        // and elvish's -log, chosen at startup, log no values): the
        // session itself must still show no secret.
        Sh::Nu => vec![("ignore", vec![("x", "print '@x on'")])],
        Sh::Elvish => vec![("nop", vec![("x", "echo '@x on'")])],
        // xonsh echoes the subprocess commands it runs. (Its `trace on`
        // traces files only, not what is typed; the hook switches Python
        // tracing off around its statements all the same.)
        Sh::Xonsh => vec![(
            "$XONSH_TRACE_SUBPROC = True",
            vec![("x", "if $XONSH_TRACE_SUBPROC: print('@x on')")],
        )],
        Sh::Tcsh => vec![
            ("set verbose", vec![("v", "if ( $?verbose ) echo '@v on'")]),
            ("set echo", vec![("x", "if ( $?echo ) echo '@x on'")]),
            (
                "set echo verbose",
                vec![
                    ("v", "if ( $?verbose ) echo '@v on'"),
                    ("x", "if ( $?echo ) echo '@x on'"),
                ],
            ),
        ],
    }
}

/// With verbose (`set -v`, `setopt verbose`) or xtrace on, entering a
/// project whose environment holds a secret and leaving it (which restores
/// the user's own secret) print no byte of either value, and the user's
/// settings are as they were afterwards.
pub fn echo_modes_show_no_secret(sh: Sh) {
    for (on, checks) in echo_modes(sh) {
        let kit = Kit::new();
        let secret = standard(&kit, true);
        let outer = secret_value("outer");
        let mut lines: Vec<String> = vec![sh.hook_line().into(), on.into()];
        lines.extend(
            [
                "cd proj", ":", "cd ..", "cd proj",
                // Several prompts: a refresh of the shell's view happens here too.
                ":",
            ]
            .map(String::from),
        );
        lines.extend(checks.iter().map(|(_, c)| c.to_string()));
        lines.push("cd ..".into());
        lines.extend(checks.iter().map(|(_, c)| c.replace("@", "@after-")));
        let Some(s) = kit.run_with(sh, &lines.join("\n"), &[("SEC", &outer)]) else {
            return;
        };
        for (mode, _) in &checks {
            assert_eq!(
                s.line(mode),
                "on",
                "`{on}`: the hook switched it off\n{}",
                s.dump()
            );
            assert_eq!(
                s.line(&format!("after-{mode}")),
                "on",
                "`{on}`: the hook switched it off on leave\n{}",
                s.dump()
            );
        }
        for (what, value) in [("the secret", &secret), ("the user's own value", &outer)] {
            let leak = piece_of(value, &s.stderr).or_else(|| piece_of(value, &s.stdout));
            assert!(
                leak.is_none(),
                "`{on}` printed {what} ({leak:?})\n{}",
                s.dump()
            );
        }
        // The hook really loaded the secret (else there was nothing to leak).
        assert_eq!(
            s.stderr_count("escsh: loading app/dev (+"),
            2,
            "`{on}`\n{}",
            s.dump()
        );
    }
}

/// Some 8-byte piece of `value` found in `text` (a value quoted or split
/// for the shell shows up in pieces, not whole).
fn piece_of(value: &str, text: &str) -> Option<String> {
    value
        .as_bytes()
        .windows(8)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .find(|w| text.contains(w.as_str()))
}

/// A `file:` target: blocked until allowed, loaded once allowed, re-blocked
/// by an edit of the definition file until allowed again, unloaded on leave.
pub fn file_target_is_trusted_by_content(sh: Sh) {
    let kit = Kit::new();
    let secret = secret_value("file");
    let proj = kit.project("proj", "file: ./env/dev.yaml\n");
    fs::create_dir_all(proj.join("env")).unwrap();
    let def = proj.join("env/dev.yaml");
    fs::write(
        &def,
        format!(
            "values:\n  environmentVariables:\n    FOO: bar\n    SEC:\n      fn::secret: {secret}\n"
        ),
    )
    .unwrap();
    let staged = kit.root.join("next.yaml");
    fs::write(
        &staged,
        "values:\n  environmentVariables:\n    FOO: edited\n",
    )
    .unwrap();
    let names = ["FOO", "SEC"];
    let Some(s) = kit.run(
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("blocked", &names),
            ":".into(),
            "escsh allow".into(),
            sh.show("allowed", &names),
            sh.show("env", &["ESCSH_ENV"]),
            "sleep 2".into(),
            ":".into(),
            sh.posix(&format!(
                "cat {} > {}",
                sh_quote(staged.to_str().unwrap()),
                sh_quote(def.to_str().unwrap())
            )),
            sh.show("edited", &names),
            ":".into(),
            sh.show("still", &names),
            "escsh allow".into(),
            sh.show("again", &names),
            "cd ..".into(),
            sh.show("out", &["FOO", "SEC", "ESCSH_ENV"]),
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("blocked"), "FOO=<unset> SEC=<unset>", "{}", s.dump());
    assert_eq!(
        s.line("allowed"),
        format!("FOO=bar SEC={secret}"),
        "{}",
        s.dump()
    );
    let env = s.line("env");
    assert!(
        env.starts_with("ESCSH_ENV=") && env.ends_with("dev.yaml"),
        "ESCSH_ENV names the definition file: {env}\n{}",
        s.dump()
    );
    assert_eq!(
        s.line("edited"),
        "FOO=<unset> SEC=<unset>",
        "an edited definition is not trusted any more\n{}",
        s.dump()
    );
    assert_eq!(s.line("still"), "FOO=<unset> SEC=<unset>", "{}", s.dump());
    assert_eq!(s.line("again"), "FOO=edited SEC=<unset>", "{}", s.dump());
    assert_eq!(
        s.line("out"),
        "FOO=<unset> SEC=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    // Once on entering, once after the edit.
    assert_eq!(
        s.stderr_count("is not allowed: run 'escsh allow'"),
        2,
        "{}",
        s.dump()
    );
    assert!(!s.stderr.contains(&secret), "{}", s.dump());
}

/// `escsh status --json` run in the shell: what applies here, its trust,
/// what is loaded and which variables, and never a value.
pub fn status_json_describes_the_shell(sh: Sh) {
    let kit = Kit::new();
    let secret = standard(&kit, true);
    let blocked = kit.project("blocked", "app/dev # not allowed\n");
    let json = |name: &str| kit.root.join(format!("status-{name}.json"));
    let q = |name: &str| sh_quote(json(name).to_str().unwrap());
    let Some(s) = kit.run(
        sh,
        &[
            sh.hook_line().into(),
            sh.posix(&format!("escsh status --json > {}", q("outside"))),
            sh.show_status("outside"),
            "cd proj".into(),
            sh.posix(&format!("escsh status --json > {}", q("loaded"))),
            sh.show_status("loaded"),
            "cd ../blocked".into(),
            sh.posix(&format!("escsh status --json > {}", q("blocked"))),
            sh.show_status("blocked"),
        ]
        .join("\n"),
    ) else {
        return;
    };
    let read = |name: &str| -> serde_json::Value {
        assert_eq!(s.line(name), "0", "status --json {name}\n{}", s.dump());
        let text = fs::read_to_string(json(name)).unwrap();
        assert!(!text.contains(&secret), "a value in status: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("status --json {name} is not JSON ({e}): {text}"))
    };
    let str_of =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);

    let outside = read("outside");
    assert!(
        outside.get("escrc").is_none_or(|v| v.is_null()),
        "no .escrc applies outside: {outside}"
    );
    assert!(
        outside.get("loaded").is_none_or(|v| v.is_null()),
        "{outside}"
    );

    let loaded = read("loaded");
    let rc = kit.work.join("proj/.escrc");
    assert_eq!(str_of(&loaded, "escrc").as_deref(), rc.to_str(), "{loaded}");
    assert_eq!(
        str_of(&loaded, "target").as_deref(),
        Some("app/dev"),
        "{loaded}"
    );
    assert_eq!(
        str_of(&loaded, "trust").as_deref(),
        Some("allowed"),
        "{loaded}"
    );
    assert_eq!(
        str_of(&loaded, "loaded").as_deref(),
        Some("app/dev"),
        "{loaded}"
    );
    let vars: Vec<&str> = loaded
        .get("variables")
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("no variables list: {loaded}"))
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for name in ["FOO", "BAR", "SEC"] {
        assert!(vars.contains(&name), "{name} not in {vars:?}: {loaded}");
    }

    let blocked_rc = blocked.join(".escrc");
    let b = read("blocked");
    assert_eq!(str_of(&b, "escrc").as_deref(), blocked_rc.to_str(), "{b}");
    assert_eq!(str_of(&b, "target").as_deref(), Some("app/dev"), "{b}");
    assert_eq!(str_of(&b, "trust").as_deref(), Some("not-allowed"), "{b}");
    assert!(
        b.get("loaded").is_none_or(|v| v.is_null()),
        "nothing is loaded in a blocked project: {b}"
    );
}
