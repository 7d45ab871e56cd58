//! The hook's promises under attack and under careless use (issue 7), in
//! real bash, zsh and fish: trust keyed by place and content, nothing read
//! before trust, variables that run code, no previous value in exported
//! state, escaped messages, and errors that are shown and then healed.

mod shellkit;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use shellkit::{sh_quote, Kit, Session, Sh};

fn q(p: &Path) -> String {
    sh_quote(p.to_str().unwrap())
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn session(kit: &Kit, sh: Sh, lines: &[String]) -> Option<Session> {
    kit.run(sh, &lines.join("\n"))
}

/// Lines of stderr escsh printed (bash and zsh also echo their input
/// there, and zsh's prompt may precede a message on its line).
fn said(s: &Session) -> Vec<&str> {
    s.stderr
        .lines()
        .filter_map(|l| l.find("escsh: ").map(|i| &l[i..]))
        .collect()
}

fn said_count(s: &Session, needle: &str) -> usize {
    said(s).iter().filter(|l| l.contains(needle)).count()
}

/// escsh said `needle` exactly `times` times.
fn assert_said(s: &Session, needle: &str, times: usize) {
    assert_eq!(said_count(s, needle), times, "{needle}\n{}", s.dump());
}

/// Item 2: An `.escrc` that is a symlink to another project's allowed `.escrc`
/// is a new file: it needs its own allow, and then loads.
fn symlinked_escrc_needs_its_own_allow(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    let a = kit.project("a", "app/dev\n");
    kit.allow(&a);
    let b = kit.work.join("b");
    fs::create_dir_all(&b).unwrap();
    std::os::unix::fs::symlink(a.join(".escrc"), b.join(".escrc")).unwrap();
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd b".into(),
            sh.show("linked", &["FOO"]),
            "escsh allow".into(),
            sh.show("allowed", &["FOO"]),
            "cd ../a".into(),
            sh.show("target", &["FOO"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("linked"), "FOO=<unset>", "{}", s.dump());
    assert_said(
        &s,
        &format!("{}/.escrc (app/dev) is not allowed", b.display()),
        1,
    );
    assert_eq!(s.line("allowed"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("target"), "FOO=bar", "{}", s.dump());
}

/// Item 3: Before an `.escrc` is allowed nothing it names is opened (`/dev/zero`,
/// a FIFO); an `.escrc` that is itself a FIFO is an error, not a hang.
fn nothing_is_read_before_trust(sh: Sh) {
    let kit = Kit::new();
    kit.project("zero", "file: /dev/zero\n");
    let fifo = kit.project("fifo", "file: ./def.yaml\n");
    mkfifo(&fifo.join("def.yaml"));
    let pipe = kit.work.join("pipe");
    fs::create_dir_all(&pipe).unwrap();
    mkfifo(&pipe.join(".escrc"));
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd zero".into(),
            ":".into(),
            "cd ../fifo".into(),
            ":".into(),
            "cd ../pipe".into(),
            sh.show("done", &["ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("done"), "ESCSH_ENV=<unset>", "{}", s.dump());
    assert_said(&s, "(/dev/zero) is not allowed", 1);
    assert_said(
        &s,
        &format!("({}/def.yaml) is not allowed", fifo.display()),
        1,
    );
    assert_said(&s, "is not a regular file (a FIFO)", 1);
}

/// Item 4: An allowed environment cannot set what runs code in the shell or the
/// loader, nor escsh's own names; the `.escrc` may opt in by name.
fn variables_that_run_code_are_refused(sh: Sh) {
    let kit = Kit::new();
    let marker = kit.root.join("pwned");
    let evil = format!("touch {}", marker.display());
    kit.define_vars(
        "app/dev",
        &[
            ("FOO", "bar"),
            ("PROMPT_COMMAND", &evil),
            ("BASH_ENV", "/tmp/evil-bash-env"),
            ("LD_PRELOAD", "/nonexistent/evil.so"),
            ("ESCSH_HOME", "h"),
            ("__escsh_bin", "/bin/false"),
            ("fish_function_path", "/tmp/evil"),
        ],
    );
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let optin = kit.project("optin", "environment: app/dev\nunsafe-vars: BASH_ENV\n");
    kit.allow(&optin);
    let names = ["FOO", "BASH_ENV", "LD_PRELOAD"];
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &names),
            "echo \"@home $ESCSH_HOME\"".into(),
            ":".into(),
            "cd ../optin".into(),
            sh.show("optin", &names),
            "cd ..".into(),
            sh.show("out", &names),
        ],
    ) else {
        return;
    };
    assert_eq!(
        s.line("in"),
        "FOO=bar BASH_ENV=<unset> LD_PRELOAD=<unset>",
        "{}",
        s.dump()
    );
    assert!(!s.stdout.contains("/tmp/evil\n"), "{}", s.dump());
    assert_eq!(s.line("home"), kit.escsh_home.display().to_string());
    assert!(!marker.exists(), "PROMPT_COMMAND ran\n{}", s.dump());
    assert_eq!(
        s.line("optin"),
        "FOO=bar BASH_ENV=/tmp/evil-bash-env LD_PRELOAD=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("out"),
        "FOO=<unset> BASH_ENV=<unset> LD_PRELOAD=<unset>",
        "{}",
        s.dump()
    );
    for name in [
        "PROMPT_COMMAND",
        "BASH_ENV",
        "LD_PRELOAD",
        "fish_function_path",
    ] {
        let hint = format!("sets {name}, which makes the shell or the loader run code: not exported; to export it, add `unsafe-vars: {name}`");
        assert!(said_count(&s, &hint) >= 1, "{name}\n{}", s.dump());
    }
    for name in ["ESCSH_HOME", "__escsh_bin"] {
        let hint = format!("sets {name}, a name escsh keeps for itself");
        assert!(said_count(&s, &hint) >= 1, "{name}\n{}", s.dump());
    }
    assert!(!s.stderr.contains("/tmp/evil"), "{}", s.dump());
}

/// Item 7: No previous value of any variable is in `ESCSH_STATE`, which stays
/// under 4 KB with 1,800 variables; leaving still restores exactly.
fn state_holds_no_previous_value_and_stays_small(sh: Sh) {
    let kit = Kit::new();
    let mut yaml = String::from("values:\n  environmentVariables:\n    GITHUB_TOKEN: from-env\n");
    for i in 0..1800 {
        yaml.push_str(&format!("    VARIABLE_{i:04}: value-{i}\n"));
    }
    kit.define("app/dev", &yaml);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let state_file = kit.root.join("state.txt");
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.set_var("GITHUB_TOKEN", "users-own-token-4711"),
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["GITHUB_TOKEN", "VARIABLE_1799"]),
            format!("printf '%s' \"$ESCSH_STATE\" > {}", q(&state_file)),
            "cd ..".into(),
            sh.show("out", &["GITHUB_TOKEN", "VARIABLE_1799"]),
        ],
    ) else {
        return;
    };
    assert_eq!(
        s.line("in"),
        "GITHUB_TOKEN=from-env VARIABLE_1799=value-1799",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("out"),
        "GITHUB_TOKEN=users-own-token-4711 VARIABLE_1799=<unset>",
        "{}",
        s.dump()
    );
    let state = fs::read_to_string(&state_file).unwrap();
    assert!(state.len() < 4096, "ESCSH_STATE is {} bytes", state.len());
    let decoded = escsh::hook::state::State::decode(&state, &kit.escsh_home.join("run/states"))
        .expect("ESCSH_STATE decodes");
    assert_eq!(decoded.keys.len(), 1801 + 1);
    let json = serde_json::to_string(&decoded).unwrap();
    assert!(!json.contains("users-own-token"), "{json}");
    assert!(!state.contains("users-own-token"));
}

/// Item 11: Control characters from an `.escrc` reach the terminal escaped.
fn control_characters_are_escaped(sh: Sh) {
    let kit = Kit::new();
    kit.project("proj", "app/dev\u{1b}]0;pwned\u{7}x\n");
    let Some(s) = session(
        &kit,
        sh,
        &[sh.hook_line().into(), "cd proj".into(), ":".into()],
    ) else {
        return;
    };
    let line = said(&s)
        .into_iter()
        .find(|l| l.contains("is not allowed"))
        .unwrap_or_else(|| panic!("no notice\n{}", s.dump()))
        .to_string();
    assert!(line.contains("app/dev\\x1b]0;pwned\\x07x"), "{line:?}");
    assert!(!s.stderr.contains('\u{7}'), "{}", s.dump());
}

/// Items 17, 18, 20: A missing or broken environment: the error names the
/// definition's full path, is shown again on each entry (and by `status`),
/// and the prompt after the fix loads it, without leaving the directory.
fn errors_are_shown_and_fixes_picked_up(sh: Sh) {
    let kit = Kit::new();
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let def = kit.definition_path("app/dev");
    fs::create_dir_all(def.parent().unwrap()).unwrap();
    let broken = kit.root.join("broken.yaml");
    fs::write(
        &broken,
        "values:\n  a: 1\n  environmentVariables:\n    FOO: ${nope.x}\n",
    )
    .unwrap();
    let fixed = kit.root.join("fixed.yaml");
    fs::write(&fixed, "values:\n  environmentVariables:\n    FOO: bar\n").unwrap();
    let status = kit.root.join("status.json");
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("missing", &["FOO"]),
            "sleep 1".into(),
            format!("cat {} > {}", q(&broken), q(&def)),
            sh.show("broken", &["FOO"]),
            ":".into(),
            format!("escsh status --json > {}", q(&status)),
            "cd ..".into(),
            "cd proj".into(),
            "sleep 1".into(),
            format!("cat {} > {}", q(&fixed), q(&def)),
            sh.show("fixed", &["FOO"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("missing"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("broken"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("fixed"), "FOO=bar", "{}", s.dump());
    assert_said(
        &s,
        &format!(
            "cannot load app/dev: environment local/app/dev not found ({})",
            def.display()
        ),
        1,
    );
    let located = format!("cannot load app/dev: {}:4:", def.display());
    assert_eq!(
        said_count(&s, &located),
        2,
        "once, then again on re-entering\n{}",
        s.dump()
    );
    assert!(
        said(&s).iter().all(|l| l.matches("error:").count() <= 1),
        "{}",
        s.dump()
    );
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&status).unwrap()).unwrap();
    let err = status["loadError"].as_str().unwrap_or_default();
    assert!(err.contains(&format!("{}:4:", def.display())), "{status}");
    assert_said(&s, "loading app/dev (+FOO)", 1);
}

/// Items 21, 22: A project's own definition imports `org/project/env`; paths are
/// shown normalized; loading says `~` for overridden variables and
/// `(no variables)` for an environment without any.
fn project_definitions_import_other_orgs(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("acme/web/dev", &[("FOO", "from-acme"), ("NEW", "n")]);
    kit.define("app/empty", "values:\n  a: 1\n");
    let proj = kit.project("proj", "file: ./env/dev.yaml\n");
    fs::create_dir_all(proj.join("env")).unwrap();
    fs::write(proj.join("env/dev.yaml"), "imports:\n  - acme/web/dev\n").unwrap();
    kit.allow(&proj);
    let miss = kit.project("miss", "file: ./dev.yaml\n");
    fs::write(miss.join("dev.yaml"), "imports:\n  - web/dev\n").unwrap();
    kit.allow(&miss);
    let empty = kit.project("empty", "app/empty\n");
    kit.allow(&empty);
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.set_var("FOO", "mine"),
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["FOO", "NEW"]),
            "cd ../miss".into(),
            ":".into(),
            "cd ../empty".into(),
            ":".into(),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=from-acme NEW=n", "{}", s.dump());
    let name = proj.join("env/dev.yaml").display().to_string();
    assert_said(&s, &format!("loading {name} (~FOO +NEW)"), 1);
    assert!(!s.stderr.contains("/./"), "{}", s.dump());
    assert_said(&s, "defaultOrg, `local`", 1);
    assert_said(&s, "loading app/empty (no variables)", 1);
}

/// Item 16: `deny` takes effect in a loaded shell even when the generation file
/// cannot be written; a runtime directory that cannot be created gives an
/// error naming it, and no "loading".
fn deny_without_generation_and_unwritable_runtime(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let generation = kit.escsh_home.join("generation");
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["FOO"]),
            format!(
                "rm -f {}; mkdir -p {}",
                q(&generation),
                q(&generation.join("blocked"))
            ),
            "sleep 1".into(),
            match sh {
                Sh::Tcsh => "escsh deny >& /dev/null",
                Sh::Xonsh => "escsh deny e>/dev/null",
                _ => "escsh deny 2>/dev/null",
            }
            .into(),
            sh.show("denied", &["FOO"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("denied"), "FOO=<unset>", "{}", s.dump());

    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let run = kit.escsh_home.join("run");
    let _ = fs::remove_dir_all(&run);
    fs::write(&run, "not a directory").unwrap();
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["FOO"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=<unset>", "{}", s.dump());
    assert!(
        said(&s)
            .iter()
            .any(|l| l.contains(&run.display().to_string())),
        "the error names the path\n{}",
        s.dump()
    );
    assert_said(&s, "loading", 0);
}

/// Item 14: a value over the kernel's per-string limit (or variables over
/// 1 MiB in all) is refused with an error naming it, nothing is applied,
/// and the shell can still run programs.
fn oversized_values_are_refused_and_nothing_applied(sh: Sh) {
    let kit = Kit::new();
    let big = "x".repeat(200 * 1024);
    kit.define(
        "app/big",
        &format!("values:\n  environmentVariables:\n    FOO: bar\n    HUGE: {big}\n"),
    );
    let chunk = "y".repeat(100 * 1024);
    let mut many = String::from("values:\n  environmentVariables:\n    FOO: bar\n");
    for i in 0..12 {
        many.push_str(&format!("    PART_{i}: {chunk}\n"));
    }
    kit.define("app/many", &many);
    for (dir, env) in [("big", "app/big"), ("many", "app/many")] {
        let p = kit.project(dir, &format!("{env}\n"));
        kit.allow(&p);
    }
    let Some(s) = session(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd big".into(),
            sh.show("big", &["FOO"]),
            "cd ../many".into(),
            sh.show("many", &["FOO"]),
            "/bin/echo @exec works".into(),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("big"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("many"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("exec"), "works", "{}", s.dump());
    assert_said(
        &s,
        "cannot load app/big: environment variable HUGE is 204806 bytes",
        1,
    );
    assert_said(&s, "cannot load app/many:", 1);
    assert!(!s.stderr.contains("xxxxxxxx"), "no value in the message");
}

macro_rules! for_each_shell {
    ($($name:ident),* $(,)?) => {
        mod bash { $( #[test] fn $name() { super::$name(super::Sh::Bash) } )* }
        mod zsh { $( #[test] fn $name() { super::$name(super::Sh::Zsh) } )* }
        mod fish { $( #[test] fn $name() { super::$name(super::Sh::Fish) } )* }
        mod xonsh { $( #[test] fn $name() { super::$name(super::Sh::Xonsh) } )* }
        mod tcsh { $( #[test] fn $name() { super::$name(super::Sh::Tcsh) } )* }
    };
}

for_each_shell!(
    symlinked_escrc_needs_its_own_allow,
    nothing_is_read_before_trust,
    variables_that_run_code_are_refused,
    state_holds_no_previous_value_and_stays_small,
    control_characters_are_escaped,
    errors_are_shown_and_fixes_picked_up,
    project_definitions_import_other_orgs,
    deny_without_generation_and_unwritable_runtime,
    oversized_values_are_refused_and_nothing_applied,
);

/// `escsh export bash` in `dir`, as the hook runs it: the script it prints.
fn export_once(kit: &Kit, dir: &Path) -> String {
    String::from_utf8_lossy(&kit.escsh(dir, &["export", "bash"]).stdout).into_owned()
}

/// Rewrites `path` with `a` and `b` in turn until `stop`: in place (as an
/// attacker would, so readers also see half-written files), or by rename
/// (as editors save, so readers see either version whole).
fn swapper(
    path: &Path,
    a: &str,
    b: &str,
    stop: Instant,
    in_place: bool,
) -> std::thread::JoinHandle<u32> {
    let (path, a, b) = (path.to_path_buf(), a.to_string(), b.to_string());
    std::thread::spawn(move || {
        let tmp = path.with_extension("swap");
        let write = |text: &str| {
            if in_place {
                fs::write(&path, text)
            } else {
                fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &path))
            }
        };
        let mut n = 0;
        while Instant::now() < stop {
            if write(if n % 2 == 0 { &b } else { &a }).is_err() {
                break; // the test is over (its directory is gone)
            }
            n += 1;
            std::thread::sleep(Duration::from_micros(300));
        }
        let _ = write(&a);
        n
    })
}

/// Item 1: A writer swapping the allowed `file:` definition with another for
/// 10 s while exports run: no export ever shows the other version.
#[test]
fn swapping_the_definition_never_exports_what_was_not_allowed() {
    let kit = Kit::new();
    let proj = kit.project("proj", "file: ./dev.yaml\n");
    let allowed = "values:\n  environmentVariables:\n    FOO: allowed\n";
    let evil = "values:\n  environmentVariables:\n    FOO: evil\n    PROMPT_COMMAND: evil\n";
    fs::write(proj.join("dev.yaml"), allowed).unwrap();
    kit.allow(&proj);
    let stop = Instant::now() + Duration::from_secs(10);
    let writer = swapper(&proj.join("dev.yaml"), allowed, evil, stop, true);
    let (mut loaded, mut runs) = (0, 0);
    while Instant::now() < stop {
        let script = export_once(&kit, &proj);
        assert!(
            !script.contains("evil"),
            "an un-allowed version was exported:\n{script}"
        );
        loaded += usize::from(script.contains("export FOO='allowed'"));
        runs += 1;
    }
    assert!(writer.join().unwrap() > 100);
    assert!(runs > 10 && loaded > 0, "{runs} exports, {loaded} loaded");
}

/// Item 1: The cache never holds values under the hash of other bytes: a store
/// definition swapped between two versions while exports run; every cache
/// entry's values match the content its source hash names.
#[test]
fn the_cache_never_records_values_under_another_contents_hash() {
    let kit = Kit::new();
    let a = "values:\n  environmentVariables:\n    FOO: version-a\n";
    let b = "values:\n  environmentVariables:\n    FOO: version-b\n";
    let def = kit.define("app/dev", a);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let hash = |s: &str| escsh::digest::sha256_hex(s.as_bytes());
    let stop = Instant::now() + Duration::from_secs(10);
    let writer = swapper(&def, a, b, stop, false);
    let cache = kit.escsh_home.join("run/opened");
    let mut checked = 0;
    while Instant::now() < stop {
        export_once(&kit, &proj);
        for entry in fs::read_dir(&cache).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                let Ok(text) = fs::read_to_string(entry.path()) else {
                    continue;
                };
                let e: serde_json::Value = serde_json::from_str(&text).unwrap();
                let value = e["vars"][0]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let recorded = e["sources"][0]["sha256"].as_str().unwrap_or_default();
                let expected = if value == "version-a" {
                    hash(a)
                } else {
                    hash(b)
                };
                assert_eq!(
                    recorded, expected,
                    "values of one content under another's hash"
                );
                checked += 1;
            }
        }
    }
    writer.join().unwrap();
    assert!(checked > 10, "{checked} entries checked");
    // After a normal save the shell gets the saved values, not stale ones.
    fs::write(&def, b).unwrap();
    let script = export_once(&kit, &proj);
    assert!(script.contains("export FOO='version-b'"), "{script}");
}
