//! The xonsh hook in a real interactive xonsh, given a terminal by `script`.

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Xonsh;

crate::shared_scenarios!(SH);

/// A xonsh started inside a loaded xonsh (running a script here, so the
/// prompt event is fired by hand) adopts the state without applying it
/// twice and restores on leave; the parent is unaffected.
#[test]
fn child_shell() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    kit.define(
        "app/dev",
        "values:\n  environmentVariables:\n    FOO: bar\n    KEEP: inner\n",
    );
    let names = ["FOO", "KEEP", "ESCSH_ENV"];
    let child = kit.root.join("child.xsh");
    std::fs::write(
        &child,
        [
            SH.hook_line(),
            "events.on_pre_prompt.fire()",
            &SH.show("child-in", &names),
            "cd ..",
            "events.on_pre_prompt.fire()",
            &SH.show("child-out", &names),
        ]
        .join("\n"),
    )
    .unwrap();
    let Some(s) = kit.run_with(
        SH,
        &[
            &SH.set_var("KEEP", "orig"),
            SH.hook_line(),
            "cd proj",
            &SH.show("parent-in", &names),
            "xonsh --no-rc $CHILD",
            &SH.show("parent-after", &names),
            "cd ..",
            &SH.show("parent-out", &names),
        ]
        .join("\n"),
        &[("CHILD", child.to_str().unwrap())],
    ) else {
        return;
    };
    let loaded = "FOO=bar KEEP=inner ESCSH_ENV=app/dev";
    let out = "FOO=<unset> KEEP=orig ESCSH_ENV=<unset>";
    assert_eq!(s.line("parent-in"), loaded, "{}", s.dump());
    assert_eq!(s.line("child-in"), loaded, "{}", s.dump());
    assert_eq!(s.line("child-out"), out, "{}", s.dump());
    assert_eq!(s.line("parent-after"), loaded, "{}", s.dump());
    assert_eq!(s.line("parent-out"), out, "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: loading app/dev"), 1, "{}", s.dump());
    assert_eq!(
        s.stderr_count("escsh: unloading app/dev"),
        2,
        "{}",
        s.dump()
    );
}

/// Loading the hook twice (say, a new binary) keeps one handler per event:
/// entering a project loads it once.
#[test]
fn hook_loaded_twice_runs_once() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            SH.hook_line(),
            SH.hook_line(),
            "cd proj",
            &SH.show("in", &["FOO"]),
            "print('@handlers', sum(f.__name__ == '__escsh_on_prompt' for f in events.on_precommand))",
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("handlers"), "1", "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: loading app/dev"), 1, "{}", s.dump());
}
