//! The xonsh hook in a real interactive xonsh, given a terminal by `script`.

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Xonsh;

crate::shared_scenarios!(SH);

/// A xonsh started inside a loaded xonsh (running a script here, so the
/// prompt event is fired by hand).
#[test]
fn child_shell() {
    scenarios::child_shell_from_script(
        SH,
        &scenarios::ChildScript {
            file: "child.xsh",
            prelude: &[],
            prompt: "events.on_pre_prompt.fire()",
            epilogue: &[],
            start: "xonsh --no-rc $CHILD",
        },
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
