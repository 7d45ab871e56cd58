//! The tcsh hook in a real interactive tcsh reading a pipe.

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Tcsh;

crate::shared_scenarios!(SH);

/// An interactive tcsh started inside a loaded one adopts the state
/// without applying it twice and restores on leave; the parent is
/// unaffected. (The child reads a file: tcsh reads a pipe ahead, so a
/// child could not share the parent's.)
#[test]
fn child_shell() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    kit.define(
        "app/dev",
        "values:\n  environmentVariables:\n    FOO: bar\n    KEEP: inner\n    SEC:\n      fn::secret: hush-hush\n",
    );
    let names = ["FOO", "KEEP", "SEC", "ESCSH_ENV"];
    let child = kit.root.join("child.tcsh");
    std::fs::write(
        &child,
        [
            "set prompt = ''",
            SH.hook_line(),
            &SH.show("child-in", &names),
            ":",
            "cd ..",
            &SH.show("child-out", &names),
            "exit",
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
            "tcsh -f -i < $CHILD:q",
            &SH.show("parent-after", &names),
            "cd ..",
            &SH.show("parent-out", &names),
        ]
        .join("\n"),
        &[("CHILD", child.to_str().unwrap())],
    ) else {
        return;
    };
    let loaded = "FOO=bar KEEP=inner SEC=hush-hush ESCSH_ENV=app/dev";
    let out = "FOO=<unset> KEEP=orig SEC=<unset> ESCSH_ENV=<unset>";
    assert_eq!(s.line("parent-in"), loaded, "{}", s.dump());
    assert_eq!(s.line("child-in"), loaded, "{}", s.dump());
    assert_eq!(s.line("child-out"), out, "{}", s.dump());
    assert_eq!(s.line("parent-after"), loaded, "{}", s.dump());
    assert_eq!(s.line("parent-out"), out, "{}", s.dump());
    assert_eq!(
        s.stderr_count("escsh: loading app/dev"),
        1,
        "loaded once, not again by the child\n{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("escsh: unloading app/dev"),
        2,
        "{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("was changed since escsh set it"),
        0,
        "{}",
        s.dump()
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
