//! The zsh hook in a real `zsh -i` (reading a pipe: precmd fires).

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Zsh;

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
            "setopt nounset",
            SH.hook_line(),
            ":",
            "cd proj",
            &SH.show("in", &["FOO"]),
            ":",
            "cd ..",
            &SH.show("out", &["FOO"]),
            "[[ -o nounset ]] && echo '@u on'",
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("u"), "on", "{}", s.dump());
    assert_eq!(s.stderr_count("parameter not set"), 0, "{}", s.dump());
}

/// Other precmd hooks keep running, and the hook is added once.
#[test]
fn other_precmd_hooks_keep_working() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "mine() { typeset -g __rc=$?; typeset -g __n=$((${__n:-0}+1)) }",
            "autoload -Uz add-zsh-hook; add-zsh-hook precmd mine",
            SH.hook_line(),
            SH.hook_line(),
            "echo \"@hooks ${(j: :)precmd_functions}\"",
            "cd proj; false",
            "echo \"@rc $__rc\"",
            &SH.show("in", &["FOO"]),
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(s.line("hooks"), "mine __escsh_hook", "{}", s.dump());
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("rc"), "1", "{}", s.dump());
}

#[test]
fn child_shell_elsewhere() {
    scenarios::child_shell_elsewhere(SH);
}

/// Options users set in their .zshrc change how arrays, words and globs
/// expand; the hook must still notice every watched file.
#[test]
fn user_options_do_not_break_the_hook() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            "setopt ksharrays shwordsplit rcexpandparam globsubst noclobber nounset warncreateglobal",
            SH.hook_line(),
            "cd proj",
            &SH.show("loaded", &["FOO"]),
            "sleep 2",
            ":",
            // The .escrc is the third watched file, not the first.
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
        "parameter not set",
        "created globally",
        "file exists",
        "no matches",
    ] {
        assert_eq!(s.stderr_count(bad), 0, "{bad}\n{}", s.dump());
    }
}
