//! Behaviour every shell's hook must have, written once and run by
//! `hook_bash.rs`, `hook_zsh.rs` and `hook_fish.rs`. Shell-specific lines
//! come from [`Sh`]'s helpers; everything else (`cd`, `escsh ...`, `sh -c`,
//! redirections) reads the same in all three shells.

use std::fs;

use super::{Kit, Session, Sh};

/// A value that appears nowhere unless escsh leaks it.
pub fn secret_value(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}-{}-{nanos}-zq", std::process::id())
}

/// The common project: `WORK/proj/.escrc` naming `app/dev`, which sets
/// `FOO=bar`, `BAR=baz` and a secret `SEC`. Returns the secret.
pub fn standard(kit: &Kit, allowed: bool) -> String {
    let secret = secret_value("s3cr3t");
    kit.define(
        "app/dev",
        &format!(
            "values:\n  environmentVariables:\n    FOO: bar\n    BAR: baz\n    SEC:\n      fn::secret: {secret}\n"
        ),
    );
    let proj = kit.project("proj", "app/dev\n");
    if allowed {
        kit.allow(&proj);
    }
    secret
}

fn script(lines: &[String]) -> String {
    lines.join("\n")
}

fn run(kit: &Kit, sh: Sh, lines: &[String]) -> Option<Session> {
    kit.run(sh, &script(lines))
}

/// Waits for the clock to move past every file escsh just wrote, then
/// gives the hook one prompt to catch up: until then every prompt re-runs
/// escsh (see `spawn_count_right_after_loading`), which would hide what a
/// test wants to show is (or is not) noticed. Every `sleep 2` followed
/// by `:` in this file is this.
fn settle() -> Vec<String> {
    vec!["sleep 2".into(), ":".into()]
}

pub fn not_allowed_until_allow(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, false);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("before", &["FOO", "ESCSH_ENV"]),
            ":".into(),
            ":".into(),
            "sleep 2".into(),
            ":".into(),
            "escsh allow".into(),
            sh.show("after", &["FOO", "ESCSH_ENV"]),
            "cd ..".into(),
            sh.show("out", &["FOO", "ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(
        s.line("before"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(s.line("after"), "FOO=bar ESCSH_ENV=app/dev", "{}", s.dump());
    assert_eq!(
        s.line("out"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    let rc = kit.work.join("proj/.escrc");
    let notice = format!(
        "{} (app/dev) is not allowed: run 'escsh allow'",
        rc.display()
    );
    assert_eq!(
        s.stderr_count(&notice),
        1,
        "the notice is given once\n{}",
        s.dump()
    );
    assert_eq!(s.stderr_count("is not allowed"), 1, "{}", s.dump());
    assert_eq!(
        s.stderr_count("escsh: loading app/dev (+"),
        1,
        "{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("escsh: unloading app/dev"),
        1,
        "{}",
        s.dump()
    );
    assert!(
        !s.stdout.contains("escsh:"),
        "messages go to stderr only\n{}",
        s.dump()
    );
}

pub fn enter_and_leave_restore(sh: Sh) {
    let kit = Kit::new();
    let secret = secret_value("inner");
    kit.define(
        "app/dev",
        &format!(
            "values:\n  environmentVariables:\n    KEEP: inner\n    NEWV: new\n    EMPTY: full\n    BLANK: ''\n    LONG: short\n    SEC:\n      fn::secret: {secret}\n"
        ),
    );
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    // Longer than what ESCSH_STATE keeps: the shell holds it.
    let long = "L".repeat(300);
    let names = ["KEEP", "NEWV", "EMPTY", "BLANK", "SEC", "ESCSH_ENV"];
    let Some(s) = kit.run_with(
        sh,
        &script(&[
            sh.set_var("KEEP", "orig"),
            sh.unset_var("NEWV"),
            sh.set_var("EMPTY", ""),
            sh.unset_var("BLANK"),
            sh.hook_line().into(),
            sh.show("pre", &names),
            "cd proj".into(),
            sh.show("in", &names),
            ":".into(),
            "cd ..".into(),
            sh.show("out", &names),
            sh.show("state", &["ESCSH_STATE"]),
            sh.show("long", &["LONG"]),
        ]),
        // A secret of the user's own, held before entering.
        &[("SEC", "outer-value"), ("LONG", &long)],
    ) else {
        return;
    };
    assert_eq!(
        s.line("pre"),
        "KEEP=orig NEWV=<unset> EMPTY= BLANK=<unset> SEC=outer-value ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("in"),
        format!("KEEP=inner NEWV=new EMPTY=full BLANK= SEC={secret} ESCSH_ENV=app/dev"),
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("out"),
        "KEEP=orig NEWV=<unset> EMPTY= BLANK=<unset> SEC=outer-value ESCSH_ENV=<unset>",
        "leaving restores each variable (empty and unset differ)\n{}",
        s.dump()
    );
    assert_eq!(s.line("state"), "ESCSH_STATE=<unset>", "{}", s.dump());
    assert_eq!(s.line("long"), format!("LONG={long}"), "{}", s.dump());
    assert_eq!(
        s.stderr_count("was changed since escsh set it"),
        0,
        "{}",
        s.dump()
    );
}

pub fn nested_and_switching(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("a/dev", &[("A", "1"), ("SHARED", "a")]);
    kit.define_vars("b/dev", &[("B", "2"), ("SHARED", "b")]);
    kit.define_vars("c/dev", &[("C", "3"), ("SHARED", "c")]);
    for (dir, env) in [("pa", "a/dev"), ("pa/inner", "b/dev"), ("pc", "c/dev")] {
        let p = kit.project(dir, &format!("{env}\n"));
        kit.allow(&p);
    }
    fs::create_dir_all(kit.work.join("pa/plain")).unwrap();
    let names = ["A", "B", "C", "SHARED", "ESCSH_ENV"];
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.set_var("SHARED", "outer"),
            sh.hook_line().into(),
            "cd pa".into(),
            sh.show("a", &names),
            "cd plain".into(),
            sh.show("a-plain", &names),
            "cd ../inner".into(),
            sh.show("b", &names),
            "cd ..".into(),
            sh.show("a-again", &names),
            "cd ../pc".into(),
            sh.show("c", &names),
            "cd ../pa/inner".into(),
            sh.show("c-to-b", &names),
            "cd \"$WORK\"".into(),
            sh.show("out", &names),
        ],
    ) else {
        return;
    };
    let a = "A=1 B=<unset> C=<unset> SHARED=a ESCSH_ENV=a/dev";
    let b = "A=<unset> B=2 C=<unset> SHARED=b ESCSH_ENV=b/dev";
    assert_eq!(s.line("a"), a, "{}", s.dump());
    assert_eq!(
        s.line("a-plain"),
        a,
        "a subdirectory keeps its project's environment\n{}",
        s.dump()
    );
    assert_eq!(
        s.line("b"),
        b,
        "the nested project replaces the outer one\n{}",
        s.dump()
    );
    assert_eq!(s.line("a-again"), a, "{}", s.dump());
    assert_eq!(
        s.line("c"),
        "A=<unset> B=<unset> C=3 SHARED=c ESCSH_ENV=c/dev",
        "{}",
        s.dump()
    );
    assert_eq!(s.line("c-to-b"), b, "{}", s.dump());
    assert_eq!(
        s.line("out"),
        "A=<unset> B=<unset> C=<unset> SHARED=outer ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(s.stderr_count("escsh: loading b/dev"), 2, "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: unloading c/dev"), 1, "{}", s.dump());
    assert_eq!(
        s.stderr_count("was changed since escsh set it"),
        0,
        "{}",
        s.dump()
    );
}

pub fn edit_blocks_until_allowed_again(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, true);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("loaded", &["FOO", "ESCSH_ENV"]),
            "sleep 2".into(),
            ":".into(),
            // The stamp was touched before the sleep, so the edit is newer
            // (the kernel dates both from a coarse clock: an edit in the
            // same tick as the stamp would look no newer).
            sh.posix("printf '# edited\\napp/dev\\n' > .escrc"),
            sh.show("edited", &["FOO", "ESCSH_ENV"]),
            ":".into(),
            "escsh allow".into(),
            sh.show("again", &["FOO", "ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(
        s.line("loaded"),
        "FOO=bar ESCSH_ENV=app/dev",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("edited"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "an edited .escrc is not trusted any more\n{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("is not allowed: run 'escsh allow'"),
        1,
        "{}",
        s.dump()
    );
    assert_eq!(s.line("again"), "FOO=bar ESCSH_ENV=app/dev", "{}", s.dump());
}

pub fn deny_unloads_and_survives_edits(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, true);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("loaded", &["FOO"]),
            "sleep 2".into(),
            ":".into(),
            "escsh deny".into(),
            sh.show("denied", &["FOO", "ESCSH_ENV"]),
            sh.posix("printf 'app/dev # changed\\n' > .escrc"),
            sh.show("edited", &["FOO", "ESCSH_ENV"]),
            "cd ..".into(),
            "cd proj".into(),
            sh.show("reentered", &["FOO", "ESCSH_ENV"]),
            "escsh allow".into(),
            sh.show("allowed", &["FOO", "ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("loaded"), "FOO=bar", "{}", s.dump());
    assert_eq!(
        s.line("denied"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("edited"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "a denial survives edits\n{}",
        s.dump()
    );
    assert_eq!(
        s.line("reentered"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("is not allowed"),
        0,
        "a denied file is not nagged about\n{}",
        s.dump()
    );
    assert_eq!(
        s.line("allowed"),
        "FOO=bar ESCSH_ENV=app/dev",
        "{}",
        s.dump()
    );
}

/// `escsh allow` and `escsh reload` run by another process (here `sh -c`,
/// as from another terminal) reach this shell at its next prompt.
pub fn allow_and_reload_from_another_process(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, false);
    let def = kit.definition_path("app/dev");
    let mut next = fs::read_to_string(&def)
        .unwrap()
        .replace("FOO: bar", "FOO: bbb");
    assert_ne!(next, fs::read_to_string(&def).unwrap());
    next.push('\n');
    let staged = kit.root.join("next.yaml");
    fs::write(&staged, &next).unwrap();
    let def_q = super::sh_quote(def.to_str().unwrap());
    let staged_q = super::sh_quote(staged.to_str().unwrap());
    let reference = super::sh_quote(kit.root.join("def.time").to_str().unwrap());
    let mut lines = vec![
        sh.hook_line().into(),
        "cd proj".into(),
        sh.show("blocked", &["FOO"]),
        "sleep 2".into(),
        ":".into(),
        "sh -c 'cd \"$WORK/proj\" && exec escsh allow'".into(),
        sh.show("allowed", &["FOO"]),
    ];
    lines.extend(settle());
    lines.extend([
        // Change the definition but keep its mtime: the hook cannot see
        // this edit, only a reload can bring it in.
        // (One line: a prompt in between would see the new mtime.)
        sh.posix(&format!(
            "touch -r {def_q} {reference}; cat {staged_q} > {def_q}; touch -r {reference} {def_q}"
        )),
        sh.show("unseen", &["FOO"]),
        "sh -c 'cd \"$WORK/proj\" && exec escsh reload'".into(),
        sh.show("reloaded", &["FOO", "BAR"]),
    ]);
    let Some(s) = run(&kit, sh, &lines) else {
        return;
    };
    assert_eq!(s.line("blocked"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("allowed"), "FOO=bar", "{}", s.dump());
    // elvish cannot read an mtime and tcsh has no clock, so their hooks
    // ask escsh at every prompt while loaded, and escsh sees the edit (the
    // file's ctime moved).
    let unseen = if matches!(sh, Sh::Elvish | Sh::Tcsh) {
        "FOO=bbb"
    } else {
        "FOO=bar"
    };
    assert_eq!(
        s.line("unseen"),
        unseen,
        "the edit kept the file's mtime, so only the reload should bring it in\n{}",
        s.dump()
    );
    assert_eq!(s.line("reloaded"), "FOO=bbb BAR=baz", "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: reloaded app/dev"), 1, "{}", s.dump());
    assert_eq!(
        s.stderr_count("escsh: refreshed app/dev"),
        1,
        "{}",
        s.dump()
    );
}

pub fn user_change_is_left_alone(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, true);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["FOO", "BAR"]),
            sh.set_var("FOO", "mine"),
            ":".into(),
            "cd ..".into(),
            sh.show("out", &["FOO", "BAR", "ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar BAR=baz", "{}", s.dump());
    assert_eq!(
        s.line("out"),
        "FOO=mine BAR=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.stderr_count("escsh: FOO was changed since escsh set it: left as it is"),
        1,
        "one line says so\n{}",
        s.dump()
    );
}

/// A line writing every variable the shell holds to `file` (quoted for
/// sh), one `NAME=value` a line for text. elvish cannot list its
/// variables; the hook's own live in a namespace the user cannot reach, so
/// the environment is what it holds.
fn list_variables(sh: Sh, file: &str) -> String {
    match sh {
        Sh::Nu => format!(
            "$env | items {{|k, v| $\"($k)=(if ($v | describe) == 'string' {{ $v }} else {{ $v | to nuon }})\" }} | str join \"\\n\" | save -f {file}"
        ),
        Sh::Elvish => sh.posix(&format!("env > {file}")),
        // globals and the environment: xonsh's variables are both.
        Sh::Xonsh => format!(
            "open({file}, 'w').write(''.join(f'{{k}}={{v!r}}\\n' for k, v in globals().items()) + ''.join(f'{{k}}={{v}}\\n' for k, v in __xonsh__.env.detype().items()))"
        ),
        // `set` leaves the environment out.
        Sh::Tcsh => format!("(set; printenv) > {file}"),
        _ => format!("set > {file}"),
    }
}

/// After loading (and after leaving), no shell variable but the exported
/// one holds the secret; `ESCSH_STATE` holds no value escsh set.
pub fn no_secret_in_shell_variables(sh: Sh) {
    let kit = Kit::new();
    let secret = standard(&kit, true);
    let set_in = kit.root.join("set-in.txt");
    let set_out = kit.root.join("set-out.txt");
    let q = |p: &std::path::Path| super::sh_quote(p.to_str().unwrap());
    let env_in = kit.root.join("env-in.bin");
    let outer = secret_value("outer");
    let Some(s) = kit.run_with(
        sh,
        &script(&[
            sh.hook_line().into(),
            "cd proj".into(),
            ":".into(),
            sh.posix(&format!("env -0 > {}", q(&env_in))),
            list_variables(sh, &q(&set_in)),
            sh.show("state", &["ESCSH_STATE"]),
            "cd ..".into(),
            ":".into(),
            list_variables(sh, &q(&set_out)),
            sh.show("restored", &["SEC"]),
        ]),
        // The user's own secret, which SEC held before escsh set it.
        &[("SEC", &outer)],
    ) else {
        return;
    };
    assert_eq!(s.line("restored"), format!("SEC={outer}"), "{}", s.dump());
    let exported = fs::read(&env_in).unwrap();
    let exported = String::from_utf8_lossy(&exported);
    assert!(
        exported.contains(&format!("SEC={secret}")),
        "not loaded\n{}",
        s.dump()
    );
    assert!(
        !exported.contains(&outer),
        "the previous secret value is in the exported environment while loaded\n{}",
        s.dump()
    );
    let listing = fs::read_to_string(&set_in).unwrap();
    let holding: Vec<&str> = listing.lines().filter(|l| l.contains(&secret)).collect();
    let own = match sh {
        Sh::Fish => format!("SEC {secret}"),
        _ => format!("SEC={secret}"),
    };
    assert!(
        holding.iter().all(|l| l.starts_with(&own)) && holding.len() == 1,
        "variables holding the secret besides SEC: {holding:?}\n{}",
        s.dump()
    );
    let after = fs::read_to_string(&set_out).unwrap();
    assert!(
        !after.contains(&secret),
        "a variable still holds the secret after leaving\n{after}"
    );
    let state = s.line("state");
    let state = state.strip_prefix("ESCSH_STATE=").unwrap();
    assert!(state.len() < 2048, "ESCSH_STATE is {} bytes", state.len());
    let decoded = escsh::hook::state::State::decode(state, &kit.escsh_home.join("run/states"))
        .expect("ESCSH_STATE decodes");
    assert_eq!(decoded.env, "app/dev");
    let json = serde_json::to_string(&decoded).unwrap();
    assert!(
        !json.contains(&secret) && !json.contains("bar"),
        "ESCSH_STATE holds values: {json}"
    );
}

/// Tracing (`set -x`, `xtrace`, `fish_trace`) never shows a value escsh
/// sets or restores, and stays on.
pub fn trace_shows_no_secret(sh: Sh) {
    let kit = Kit::new();
    let secret = standard(&kit, true);
    let outer = secret_value("outer");
    let (on, off, check) = match sh {
        Sh::Bash => ("set -x", "set +x", "case $- in *x*) echo '@x on';; esac"),
        Sh::Zsh => (
            "setopt xtrace",
            "unsetopt xtrace",
            "[[ -o xtrace ]] && echo '@x on'",
        ),
        Sh::Fish => (
            "set -g fish_trace 1",
            "set -e fish_trace",
            "set -q fish_trace; and echo '@x on'",
        ),
        // No tracing to turn on: what the session shows is still checked.
        Sh::Nu => ("$env.T = 1", "$env.T = 0", "print '@x on'"),
        Sh::Elvish => ("set-env T 1", "set-env T 0", "echo '@x on'"),
        Sh::Xonsh => (
            "$XONSH_TRACE_SUBPROC = True",
            "$XONSH_TRACE_SUBPROC = False",
            "if $XONSH_TRACE_SUBPROC: print('@x on')",
        ),
        Sh::Tcsh => ("set echo", "unset echo", "if ( $?echo ) echo '@x on'"),
    };
    let len = match sh {
        Sh::Fish => "echo '@len' (string length -- \"$SEC\")",
        Sh::Nu => "print $\"@len ($env.SEC | str length)\"",
        Sh::Elvish => "echo '@len' (count $E:SEC)",
        Sh::Xonsh => "print('@len', len($SEC))",
        Sh::Tcsh => "echo \"@len $%SEC\"",
        _ => "echo \"@len ${#SEC}\"",
    };
    let Some(s) = kit.run_with(
        sh,
        &script(&[
            sh.hook_line().into(),
            on.into(),
            "cd proj".into(),
            ":".into(),
            "cd ..".into(),
            "cd proj".into(),
            check.into(),
            off.into(),
            len.into(),
            on.into(),
            "cd ..".into(),
            off.into(),
            sh.show("out", &["FOO"]),
        ]),
        &[("SEC", &outer)],
    ) else {
        return;
    };
    assert_eq!(
        s.line("x"),
        "on",
        "tracing was switched off by the hook\n{}",
        s.dump()
    );
    assert_eq!(s.line("len"), secret.len().to_string(), "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    assert!(
        !s.stderr.contains(&secret),
        "the secret was traced\n{}",
        s.dump()
    );
    assert!(
        !s.stderr.contains(&outer),
        "the restored value was traced\n{}",
        s.dump()
    );
    assert!(!s.stdout.contains(&secret), "{}", s.dump());
}

/// `$?` / `$status` after a command is what the command left, also when
/// the prompt in between loaded an environment.
pub fn status_is_preserved(sh: Sh) {
    if sh == Sh::Elvish {
        // elvish has no status to keep: a failing command raises an
        // exception, which the prompt hook never sees.
        return;
    }
    // A nushell `false` is a value; `^false` runs the program.
    let fail = if sh == Sh::Nu { "^false" } else { "false" };
    let kit = Kit::new();
    standard(&kit, true);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            fail.into(),
            sh.show_status("plain"),
            format!("cd proj; {fail}"),
            sh.show_status("entering"),
            sh.show("in", &["FOO"]),
            "cd ..; sh -c 'exit 3'".into(),
            sh.show_status("leaving"),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("plain"), "1", "{}", s.dump());
    assert_eq!(s.line("entering"), "1", "{}", s.dump());
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("leaving"), "3", "{}", s.dump());
}

/// The binary's path is embedded quoted: spaces, quotes, `$`, backticks,
/// a backslash and non-ASCII text in it break nothing.
pub fn binary_path_needing_quotes(sh: Sh) {
    let kit = Kit::new();
    standard(&kit, true);
    let dir = kit.root.join("a b'c\"d $HOME `x` \\ \u{fc}");
    let bin = kit.copy_binary_to(&dir);
    let (hook, same) = match sh {
        Sh::Bash => (
            "eval \"$(\"$QBIN\" hook bash)\"",
            "[[ $__escsh_bin == \"$QBIN\" ]] && echo '@bin same'",
        ),
        Sh::Zsh => (
            "eval \"$(\"$QBIN\" hook zsh)\"",
            "[[ $__escsh_bin == \"$QBIN\" ]] && echo '@bin same'",
        ),
        Sh::Fish => (
            "$QBIN hook fish | source",
            "test \"$__escsh_bin\" = \"$QBIN\"; and echo '@bin same'",
        ),
        Sh::Nu => (
            "^$env.QBIN hook nu | save -f ~/escsh.nu\nsource ~/escsh.nu",
            "if $env.__escsh.bin == $env.QBIN { print '@bin same' }",
        ),
        // The hook's variables live in the namespace eval made for it.
        Sh::Elvish => (
            "eval ((external $E:QBIN) hook elvish | slurp) &on-end={|ns| if (eq $ns[__escsh_bin] $E:QBIN) { echo '@bin same' } }",
            "nop",
        ),
        Sh::Xonsh => (
            "execx($($QBIN hook xonsh))",
            "if __escsh_bin == $QBIN: print('@bin same')",
        ),
        Sh::Tcsh => (
            // A path holding quotes breaks inside "`...`": an alias does not.
            "alias __q '$QBIN:q hook tcsh'; eval \"`__q`\"",
            "if ( \"$__escsh_bin:q\" == \"$QBIN:q\" ) echo '@bin same'",
        ),
    };
    let Some(s) = kit.run_with(
        sh,
        &script(&[
            hook.into(),
            same.into(),
            "cd proj".into(),
            sh.show("in", &["FOO"]),
            "cd ..".into(),
            sh.show("out", &["FOO"]),
        ]),
        &[("QBIN", bin.to_str().unwrap())],
    ) else {
        return;
    };
    assert_eq!(s.line("bin"), "same", "{}", s.dump());
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    for bad in [
        "not found",
        "No such file",
        "syntax error",
        "parse error",
        "Unknown command",
    ] {
        assert_eq!(s.stderr_count(bad), 0, "{bad}\n{}", s.dump());
    }
}

/// Counts every process created and program run during 20 no-op prompts
/// in a loaded project, by tracing the whole session (`strace -f`): not
/// only escsh, but anything the hook might start (a subshell, `date`, ...).
fn spawn_count(sh: Sh, settle_first: bool) {
    let kit = Kit::new();
    standard(&kit, true);
    for mark in ["mark-a", "mark-b"] {
        fs::write(kit.work.join(mark), "").unwrap();
    }
    let mut lines = vec![
        sh.quiet_prompt().into(),
        sh.hook_line().into(),
        "cd proj".into(),
        sh.show("in", &["FOO"]),
    ];
    if settle_first {
        lines.extend(settle());
    }
    lines.push(sh.mark("mark-a"));
    lines.extend(std::iter::repeat_n(":".to_string(), 20));
    lines.push(sh.mark("mark-b"));
    lines.push("cd ..".into());
    lines.push(sh.show("out", &["FOO"]));
    let Some(s) = kit.run_traced(sh, &script(&lines), &[]) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    // The trace really sees the hook's processes: entering and leaving ran
    // escsh.
    let escsh = fs::canonicalize(super::real_escsh()).unwrap();
    let escsh = escsh.to_str().unwrap();
    let runs: Vec<usize> = s
        .trace
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(&e.kind, super::trace::Kind::Exec { program, .. } if program == escsh))
        .map(|(i, _)| i)
        .collect();
    let (a, b) = (s.trace.mark("mark-a"), s.trace.mark("mark-b"));
    assert!(
        runs.iter().any(|&i| i < a) && runs.iter().any(|&i| i > b),
        "the trace shows no escsh run on entering and leaving\n{}",
        s.dump()
    );
    let between = s.trace.processes_between("mark-a", "mark-b");
    if sh == Sh::Elvish {
        // elvish has no clock and cannot read an mtime without a process:
        // while loaded, each prompt (21 between the marks) runs escsh once
        // and nothing else (BENCHMARKS.md measures what that costs).
        let execs: Vec<&String> = between.iter().filter(|l| l.contains("execve(")).collect();
        assert!(
            execs.len() == 21 && execs.iter().all(|l| l.contains("\"export\", \"elvish\"")),
            "{} programs, not one escsh per prompt:\n{}\n{}",
            execs.len(),
            between.join("\n"),
            s.dump()
        );
        assert_eq!(between.len(), 42, "{}", between.join("\n"));
        return;
    }
    if sh == Sh::Tcsh {
        // tcsh cannot avoid a process (see shells/escsh.tcsh): escsh runs at
        // every prompt, and nothing else does.
        let (a, b) = (s.trace.mark("mark-a"), s.trace.mark("mark-b"));
        let execs: Vec<&super::trace::Event> = s.trace.events[a + 1..b]
            .iter()
            .filter(|e| matches!(e.kind, super::trace::Kind::Exec { .. }))
            .collect();
        assert!(
            execs.len() >= 20
                && execs.iter().all(|e| matches!(&e.kind, super::trace::Kind::Exec { program, .. } if program == escsh)),
            "20 no-op prompts ran {} programs:\n{}\n{}",
            execs.len(),
            between.join("\n"),
            s.dump()
        );
        return;
    }
    assert!(
        between.is_empty(),
        "20 no-op prompts created {} processes or programs:\n{}\n{}",
        between.len(),
        between.join("\n"),
        s.dump()
    );
}

/// Once the clock has moved past what escsh wrote, no-op prompts start
/// nothing.
pub fn spawn_count_settled(sh: Sh) {
    spawn_count(sh, true);
}

/// The same right after loading, without waiting: what the issue asks.
///
/// Fails today (21 spawns for 20 no-op prompts, in all three shells):
/// `escsh export` dates its stamp to the whole second before now, so the
/// files escsh itself has just written (the cache entry this export wrote,
/// the `generation` file and trust record `allow` wrote) are newer than
/// the stamp, and every prompt re-runs escsh until the clock has moved on
/// (1-2 s). bash 5.2 and zsh 5.9 compare mtimes in nanoseconds, fish in
/// whole seconds against `__escsh_stamp_mtime` (also now - 1).
pub fn spawn_count_right_after_loading(sh: Sh) {
    spawn_count(sh, false);
}

/// A child shell started in a loaded shell (bash in bash, zsh in zsh)
/// adopts the state without applying it twice, and restores on leave;
/// the parent is unaffected.
pub fn child_shell(sh: Sh) {
    let kit = child_world();
    let child = match sh {
        Sh::Bash => "bash --norc --noprofile -i",
        Sh::Zsh => "zsh -f -i",
        Sh::Nu => "nu --no-config-file -i",
        Sh::Elvish => "elvish -norc",
        Sh::Fish => unreachable!("fish: see hook_fish.rs"),
        Sh::Xonsh => "xonsh -i",
        Sh::Tcsh => "tcsh -f -i",
    };
    let names = CHILD_NAMES;
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.set_var("KEEP", "orig"),
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("parent-in", &names),
            child.into(),
            sh.hook_line().into(),
            sh.show("child-in", &names),
            ":".into(),
            "cd ..".into(),
            sh.show("child-out", &names),
            "exit".into(),
            sh.show("parent-after", &names),
            "cd ..".into(),
            sh.show("parent-out", &names),
        ],
    ) else {
        return;
    };
    child_session_checks(&s);
}

/// What both child-shell scenarios define: `app/dev` with a secret, and
/// `KEEP`, which the parent sets before loading.
fn child_world() -> Kit {
    let kit = Kit::new();
    standard(&kit, true);
    kit.define(
        "app/dev",
        "values:\n  environmentVariables:\n    FOO: bar\n    KEEP: inner\n    SEC:\n      fn::secret: hush-hush\n",
    );
    kit
}

const CHILD_NAMES: [&str; 4] = ["FOO", "KEEP", "SEC", "ESCSH_ENV"];

/// The parent loads, the child adopts without loading again and restores
/// on leave, the parent is unaffected and restores on its own leave.
fn child_session_checks(s: &Session) {
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

/// Values with quotes, backslashes, `$`, backticks, newlines, control
/// characters and non-ASCII text reach child processes byte for byte, and
/// are gone again after leaving.
pub fn values_round_trip_through_the_hook(sh: Sh) {
    let kit = Kit::new();
    let values: Vec<(&str, &str)> = vec![
        ("Q_QUOTES", "it's a \"test\" $HOME `id` $(id) \\ end\\"),
        ("Q_LINES", "line1\nline2\r\n\ttab\n"),
        ("Q_TEXT", "\u{fc}n\u{ef}c\u{f8}d\u{e9} \u{2713} \u{1f680}"),
        ("Q_BACKSLASH", "\\"),
        ("Q_CONTROL", "\u{1b}[31mred\u{7f}\u{1}"),
        ("Q_FISHY", "\\' \\x41 \\X41 %s {a,b} ~ * ;"),
        ("Q_EMPTY", ""),
    ];
    kit.define_vars("app/dev", &values);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let env_in = kit.root.join("env-in.bin");
    let env_out = kit.root.join("env-out.bin");
    let q = |p: &std::path::Path| super::sh_quote(p.to_str().unwrap());
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            sh.posix(&format!("env -0 > {}", q(&env_in))),
            "cd ..".into(),
            sh.posix(&format!("env -0 > {}", q(&env_out))),
        ],
    ) else {
        return;
    };
    let parse = |path: &std::path::Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        fs::read(path)
            .unwrap()
            .split(|&b| b == 0)
            .filter_map(|e| {
                let eq = e.iter().position(|&b| b == b'=')?;
                Some((
                    String::from_utf8_lossy(&e[..eq]).into_owned(),
                    e[eq + 1..].to_vec(),
                ))
            })
            .collect()
    };
    let inside = parse(&env_in);
    for (name, want) in &values {
        assert_eq!(
            inside
                .get(*name)
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            Some(want.to_string()),
            "{name}\n{}",
            s.dump()
        );
    }
    let outside = parse(&env_out);
    for (name, _) in &values {
        assert!(
            !outside.contains_key(*name),
            "{name} left behind\n{}",
            s.dump()
        );
    }
}

/// A variable name that is not a shell identifier is refused with a clear
/// message (once), and nothing is run or half-loaded.
pub fn bad_name_is_refused(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars(
        "app/dev",
        &[("FOO", "bar"), ("BAD-NAME", "x"), ("X;touch pwned", "y")],
    );
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            ":".into(),
            ":".into(),
            sh.show("in", &["ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "ESCSH_ENV=<unset>", "{}", s.dump());
    assert_eq!(
        s.stderr_count("is not a valid shell variable name"),
        1,
        "{}",
        s.dump()
    );
    assert!(!kit.work.join("proj/pwned").exists() && !kit.work.join("pwned").exists());
}

/// A project whose directory name needs quoting everywhere (spaces,
/// quotes, `$`, a backslash, a newline, non-ASCII text).
pub fn project_path_needing_quotes(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    let name = "we ird'd \"q\" $x `y` \\ \u{fc}\nnl";
    let proj = kit.project(name, "app/dev\n");
    kit.allow(&proj);
    let Some(s) = kit.run_with(
        sh,
        &script(&[
            sh.hook_line().into(),
            // csh cannot hold a newline in double quotes.
            if sh == Sh::Tcsh {
                "cd $PDIR:q".into()
            } else {
                "cd \"$PDIR\"".into()
            },
            sh.show("in", &["FOO"]),
            "sleep 2".into(),
            ":".into(),
            // The hook watches the .escrc under that name too.
            sh.posix("printf 'app/dev # edited\\n' > .escrc"),
            sh.show("edited", &["FOO"]),
            "cd ..".into(),
            sh.show("out", &["FOO"]),
        ]),
        &[("PDIR", proj.to_str().unwrap())],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("edited"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: loading app/dev"), 1, "{}", s.dump());
}

/// Editing the loaded environment's definition is picked up at the next
/// prompt.
pub fn definition_edit_is_picked_up(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar"), ("GONE", "soon")]);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let staged = kit.root.join("next.yaml");
    fs::write(&staged, "values:\n  environmentVariables:\n    FOO: new\n").unwrap();
    let def = kit.definition_path("app/dev");
    let q = |p: &std::path::Path| super::sh_quote(p.to_str().unwrap());
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.set_var("GONE", "before"),
            sh.hook_line().into(),
            "cd proj".into(),
            sh.show("in", &["FOO", "GONE"]),
            "sleep 2".into(),
            ":".into(),
            sh.posix(&format!("cat {} > {}", q(&staged), q(&def))),
            sh.show("edited", &["FOO", "GONE"]),
            "cd ..".into(),
            sh.show("out", &["FOO", "GONE"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("in"), "FOO=bar GONE=soon", "{}", s.dump());
    assert_eq!(
        s.line("edited"),
        "FOO=new GONE=before",
        "a variable the definition no longer sets is given back\n{}",
        s.dump()
    );
    assert_eq!(s.line("out"), "FOO=<unset> GONE=before", "{}", s.dump());
}

/// An `.escrc` created in (or removed from) the current directory is
/// noticed at the next prompt, without a `cd`.
pub fn escrc_created_and_removed_in_place(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    fs::create_dir_all(kit.work.join("later/sub")).unwrap();
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd later/sub".into(),
            "sleep 2".into(),
            ":".into(),
            // Created in a parent directory of the current one.
            sh.posix("printf 'app/dev\\n' > ../.escrc"),
            sh.show("created", &["FOO"]),
            "escsh allow".into(),
            sh.show("allowed", &["FOO"]),
            "sleep 2".into(),
            ":".into(),
            sh.posix("rm ../.escrc"),
            sh.show("removed", &["FOO", "ESCSH_ENV"]),
        ],
    ) else {
        return;
    };
    assert_eq!(s.line("created"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(
        s.stderr_count("later/.escrc (app/dev) is not allowed"),
        1,
        "{}",
        s.dump()
    );
    assert_eq!(s.line("allowed"), "FOO=bar", "{}", s.dump());
    assert_eq!(
        s.line("removed"),
        "FOO=<unset> ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
}

/// A malformed `.escrc` is reported once, with its line and column, loads
/// nothing, and works once fixed and allowed.
pub fn escrc_error_is_reported_once(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar")]);
    kit.project("proj", "# team env\nenvironment: app/dev\nrefresh: soon\n");
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.hook_line().into(),
            "cd proj".into(),
            ":".into(),
            ":".into(),
            sh.show("broken", &["FOO"]),
            sh.posix("printf 'environment: app/dev\\nrefresh: 5m\\n' > .escrc"),
            "escsh allow".into(),
            sh.show("fixed", &["FOO"]),
        ],
    ) else {
        return;
    };
    let rc = kit.work.join("proj/.escrc");
    assert_eq!(s.line("broken"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(
        s.stderr_count(&format!(
            "escsh: {}:3:10: invalid duration \"soon\"",
            rc.display()
        )),
        1,
        "{}",
        s.dump()
    );
    assert_eq!(s.line("fixed"), "FOO=bar", "{}", s.dump());
}

/// A new shell that inherits a loaded environment but starts in another
/// directory (a new tmux pane, `cd elsewhere && bash`) fixes it at its
/// first prompt: outside any project it restores, in another project it
/// switches. The parent is unaffected.
pub fn child_shell_elsewhere(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar"), ("KEEP", "inner")]);
    kit.define_vars("c/dev", &[("C", "3"), ("KEEP", "c")]);
    for (dir, env) in [("proj", "app/dev"), ("pc", "c/dev")] {
        let p = kit.project(dir, &format!("{env}\n"));
        kit.allow(&p);
    }
    let child = match sh {
        Sh::Bash => "bash --norc --noprofile -i",
        Sh::Zsh => "zsh -f -i",
        Sh::Nu => "nu --no-config-file -i",
        Sh::Elvish => "elvish -norc",
        Sh::Fish => unreachable!("fish: see hook_fish.rs"),
        Sh::Xonsh => "xonsh -i",
        Sh::Tcsh => "tcsh -f -i",
    };
    // nushell and elvish have no subshell: sh starts the child elsewhere.
    let elsewhere = |dir: &str| match sh {
        Sh::Nu | Sh::Elvish => format!("sh -c 'cd \"$WORK{dir}\" && exec {child}'"),
        _ => format!("(cd \"$WORK{dir}\" && exec {child})"),
    };
    let names = ["FOO", "C", "KEEP", "ESCSH_ENV"];
    let Some(s) = run(
        &kit,
        sh,
        &[
            sh.set_var("KEEP", "orig"),
            sh.hook_line().into(),
            "cd proj".into(),
            elsewhere(""),
            sh.hook_line().into(),
            sh.show("child-outside", &names),
            "exit".into(),
            elsewhere("/pc"),
            sh.hook_line().into(),
            sh.show("child-other", &names),
            "cd ..".into(),
            sh.show("child-other-out", &names),
            "exit".into(),
            sh.show("parent", &names),
        ],
    ) else {
        return;
    };
    let outside = "FOO=<unset> C=<unset> KEEP=orig ESCSH_ENV=<unset>";
    assert_eq!(s.line("child-outside"), outside, "{}", s.dump());
    assert_eq!(
        s.line("child-other"),
        "FOO=<unset> C=3 KEEP=c ESCSH_ENV=c/dev",
        "{}",
        s.dump()
    );
    assert_eq!(s.line("child-other-out"), outside, "{}", s.dump());
    assert_eq!(
        s.line("parent"),
        "FOO=bar C=<unset> KEEP=inner ESCSH_ENV=app/dev",
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

/// Previous values that are not UTF-8 text or hold newlines and a trailing
/// backslash come back byte for byte on leave.
pub fn odd_previous_values_restore(sh: Sh) {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("RAW", "plain"), ("NL", "plain")]);
    let proj = kit.project("proj", "app/dev\n");
    kit.allow(&proj);
    let set = match sh {
        Sh::Bash | Sh::Zsh => "export RAW=$'\\xff\\xfe a\\x01' NL=$'a\\nb\\\\'",
        Sh::Fish => "set -gx RAW \\Xff\\Xfe' a'\\x01; set -gx NL a\\nb\\\\",
        Sh::Elvish => "set-env RAW \"\\xff\\xfe a\\x01\"; set-env NL \"a\\nb\\\\\"",
        // Nushell holds text only: the odd bytes it can hold.
        Sh::Nu => "$env.RAW = \"\\u{ff}\\u{fe} a\\u{1}\"; $env.NL = \"a\\nb\\\\\"",
        Sh::Xonsh => "$RAW = '\\udcff\\udcfe a\\x01'; $NL = 'a\\nb\\\\'",
        Sh::Tcsh => "setenv RAW \"`printf '\\377\\376 a\\001'`\"; setenv NL $'a\\nb\\\\'",
    };
    // tcsh cannot quote a newline in double quotes (sh prints them), and
    // xonsh expands `$NL` even in single quotes (Python prints them).
    let hex = |tag: &str| {
        match sh {
        Sh::Nu => format!(
            "print $\"@{tag} (($env.RAW + '|' + $env.NL) | encode utf8 | encode hex | str downcase)\""
        ),
        Sh::Elvish => format!(
            "echo '@{tag} '(printf '%s|%s' $E:RAW $E:NL | od -An -tx1 | tr -d \" \\n\")"
        ),
        Sh::Xonsh => format!(
            "print('@{tag}', (__import__('os').fsencode($RAW) + b'|' + __import__('os').fsencode($NL)).hex())"
        ),
        Sh::Tcsh => format!(
            "printf '@{tag} '; sh -c 'printf \"%s|%s\" \"$RAW\" \"$NL\"' | od -An -tx1 | tr -d ' \\n'; echo"
        ),
        _ => format!(
            "printf '@{tag} '; printf '%s|%s' \"$RAW\" \"$NL\" | od -An -tx1 | tr -d ' \\n'; echo"
        ),
    }
    };
    let Some(s) = run(
        &kit,
        sh,
        &[
            set.into(),
            sh.hook_line().into(),
            hex("before"),
            "cd proj".into(),
            hex("in"),
            "cd ..".into(),
            hex("after"),
        ],
    ) else {
        return;
    };
    let odd = match sh {
        Sh::Nu => "c3bfc3be2061017c610a625c",
        _ => "fffe2061017c610a625c",
    };
    assert_eq!(s.line("before"), odd, "{}", s.dump());
    if sh == Sh::Tcsh {
        // tcsh cannot be given bytes that are not UTF-8 exactly (in a
        // UTF-8 locale): RAW is not overridden, since it could not be put
        // back, and the user is told which variable and why.
        assert_eq!(s.line("in"), "fffe2061017c706c61696e", "{}", s.dump());
        assert_eq!(
            s.stderr_count("app/dev sets RAW, but its value or the one it would replace has bytes that are not UTF-8"),
            1,
            "{}",
            s.dump()
        );
    } else {
        assert_eq!(s.line("in"), "706c61696e7c706c61696e", "{}", s.dump());
    }
    assert_eq!(s.line("after"), odd, "{}", s.dump());
}

/// How a shell runs a child shell from a script file, for
/// [`child_shell_from_script`]: shells that cannot share the parent's
/// input (fish and xonsh need a terminal; tcsh reads its pipe ahead).
pub struct ChildScript {
    /// The script's name under the kit's root.
    pub file: &'static str,
    /// Lines before the hook line.
    pub prelude: &'static [&'static str],
    /// A line that makes the child's prompt hook run.
    pub prompt: &'static str,
    /// Lines after the last one shown.
    pub epilogue: &'static [&'static str],
    /// The parent's line starting the child on `$CHILD`.
    pub start: &'static str,
}

/// A child shell started inside a loaded one adopts the state without
/// applying it twice and restores on leave; the parent is unaffected.
pub fn child_shell_from_script(sh: Sh, how: &ChildScript) {
    let kit = child_world();
    let names = CHILD_NAMES;
    let child = kit.root.join(how.file);
    let mut lines: Vec<String> = how.prelude.iter().map(|l| l.to_string()).collect();
    lines.extend([
        sh.hook_line().to_string(),
        how.prompt.to_string(),
        sh.show("child-in", &names),
        "cd ..".to_string(),
        how.prompt.to_string(),
        sh.show("child-out", &names),
    ]);
    lines.extend(how.epilogue.iter().map(|l| l.to_string()));
    fs::write(&child, lines.join("\n")).unwrap();
    let Some(s) = kit.run_with(
        sh,
        &[
            &sh.set_var("KEEP", "orig"),
            sh.hook_line(),
            "cd proj",
            &sh.show("parent-in", &names),
            how.start,
            &sh.show("parent-after", &names),
            "cd ..",
            &sh.show("parent-out", &names),
        ]
        .join("\n"),
        &[("CHILD", child.to_str().unwrap())],
    ) else {
        return;
    };
    child_session_checks(&s);
}

/// Loading the hook again (a re-sourced config) leaves one set of hooks,
/// and the environment still loads and unloads. `count` is a command that
/// prints `@hooks ` and the number of hooks in each list the hook joins.
pub fn hook_loaded_twice(sh: Sh, count: &str) {
    let kit = Kit::new();
    standard(&kit, true);
    let Some(s) = run(
        &kit,
        sh,
        &[
            count.replace("@hooks", "@none"),
            sh.hook_line().into(),
            count.replace("@hooks", "@once"),
            sh.hook_line().into(),
            count.replace("@hooks", "@twice"),
            "cd proj".into(),
            sh.show("in", &["FOO"]),
            "cd ..".into(),
            sh.show("out", &["FOO"]),
        ],
    ) else {
        return;
    };
    assert_ne!(s.line("none"), s.line("once"), "{}", s.dump());
    assert_eq!(s.line("once"), s.line("twice"), "{}", s.dump());
    assert_eq!(s.line("in"), "FOO=bar", "{}", s.dump());
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
}
