//! The tcsh hook in a real interactive tcsh reading a pipe.

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Tcsh;

crate::shared_scenarios!(SH);

/// An interactive tcsh started inside a loaded one. (The child reads a
/// file: tcsh reads a pipe ahead, so a child could not share the
/// parent's; its prompt hook runs before each line it reads.)
#[test]
fn child_shell() {
    scenarios::child_shell_from_script(
        SH,
        &scenarios::ChildScript {
            file: "child.tcsh",
            prelude: &["set prompt = ''"],
            prompt: ":",
            epilogue: &["exit"],
            start: "tcsh -f -i < $CHILD:q",
        },
    );
}

/// The hook keeps a `precmd` alias the user had, and loading the hook
/// twice runs escsh once per prompt, not twice.
#[test]
fn user_precmd_is_kept_and_hook_loads_once() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "set mine = ()",
            "alias precmd 'set mine = ( $mine x )'",
            SH.hook_line(),
            SH.hook_line(),
            "cd proj",
            &SH.show("in", &["FOO"]),
            "echo \"@mine $#mine\"",
            "alias precmd",
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    // One run of the user's precmd per prompt since it was set: before
    // each of the 5 lines that followed it.
    assert_eq!(s.line("mine"), "5", "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: loading app/dev"), 1, "{}", s.dump());
    assert_eq!(
        s.stdout.matches("__escsh_export").count(),
        1,
        "{}",
        s.dump()
    );
}
