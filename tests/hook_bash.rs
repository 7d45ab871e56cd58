//! The bash hook in a real `bash -i` (reading a pipe: PROMPT_COMMAND fires).

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Bash;

crate::shared_scenarios!(SH);

#[test]
fn child_shell() {
    scenarios::child_shell(SH);
}

#[test]
fn nounset_gives_no_errors() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "set -u",
            SH.hook_line(),
            ":",
            "cd proj",
            &SH.show("in", &["FOO"]),
            ":",
            "cd ..",
            &SH.show("out", &["FOO"]),
            "case $- in *u*) echo '@u on';; esac",
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("u"), "on", "{}", s.dump());
    assert_eq!(s.stderr_count("unbound variable"), 0, "{}", s.dump());
}

/// The hook goes first in PROMPT_COMMAND and hands `$?` on to what follows.
#[test]
fn prompt_command_string_keeps_working() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "PROMPT_COMMAND='__rc=$?; __n=$((${__n:-0}+1))'",
            SH.hook_line(),
            // A second eval (rc sourced twice) must not add the hook again.
            SH.hook_line(),
            "echo \"@pc $PROMPT_COMMAND\"",
            "cd proj; false",
            "echo \"@rc $__rc\"",
            &SH.show("in", &["FOO"]),
            "n1=$__n",
            ":",
            "echo \"@count $((__n - n1))\"",
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(
        s.line("pc"),
        "__escsh_hook;__rc=$?; __n=$((${__n:-0}+1))",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("rc"),
        "1",
        "the user's PROMPT_COMMAND sees the command's status\n{}",
        s.dump()
    );
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    // Two prompts: after `n1=...` and after `:`.
    assert_eq!(s.line("count"), "2", "{}", s.dump());
}

#[test]
fn prompt_command_array_keeps_working() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            // Arrays in PROMPT_COMMAND need bash 5.1.
            "if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then echo '@old yes'; exit; fi",
            "PROMPT_COMMAND=('__rc=$?' '__n=$((${__n:-0}+1))')",
            SH.hook_line(),
            SH.hook_line(),
            "echo \"@pc ${#PROMPT_COMMAND[@]} ${PROMPT_COMMAND[0]}\"",
            "cd proj; false",
            "echo \"@rc $__rc\"",
            &SH.show("in", &["FOO"]),
            "n1=$__n",
            ":",
            "echo \"@count $((__n - n1))\"",
            "cd ..",
            &SH.show("out", &["FOO"]),
        ]
        .join("\n"),
    ) else {
        return;
    };
    if s.stdout.contains("@old yes") {
        shellkit::tools::skip("bash 5.1 or newer", "PROMPT_COMMAND arrays need it");
        return;
    }
    assert_eq!(s.line("pc"), "3 __escsh_hook", "{}", s.dump());
    assert_eq!(s.line("rc"), "1", "{}", s.dump());
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    // Two prompts: after `n1=...` and after `:`.
    assert_eq!(s.line("count"), "2", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
}

#[test]
fn child_shell_elsewhere() {
    scenarios::child_shell_elsewhere(SH);
}

/// Settings users have in their .bashrc (word splitting on `/`, glob
/// options, noclobber) must not stop the hook from noticing watched files.
#[test]
fn user_settings_do_not_break_the_hook() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "shopt -s failglob nullglob extglob globstar; set -o noclobber -o nounset",
            "IFS=' /.'",
            SH.hook_line(),
            "cd proj",
            &SH.show("loaded", &["FOO"]),
            "sleep 2",
            ":",
            "printf '# edited\\napp/dev\\n' >| .escrc",
            &SH.show("edited", &["FOO"]),
            "escsh allow",
            &SH.show("again", &["FOO"]),
            "cd ..",
            &SH.show("out", &["FOO"]),
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("loaded"), "FOO=bar", "{}", s.dump());
    assert_eq!(
        s.line("edited"),
        "FOO=<unset>",
        "an edit of .escrc went unnoticed\n{}",
        s.dump()
    );
    assert_eq!(s.line("again"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    for bad in [
        "unbound variable",
        "no match",
        "cannot overwrite",
        "command not found",
    ] {
        assert_eq!(s.stderr_count(bad), 0, "{bad}\n{}", s.dump());
    }
}
