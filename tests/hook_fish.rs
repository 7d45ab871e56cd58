//! The fish hook in a real interactive fish, given a terminal by `script`.

mod shellkit;

use shellkit::{scenarios, Kit, Sh};

const SH: Sh = Sh::Fish;

crate::shared_scenarios!(SH);

/// A fish started inside a loaded fish (non-interactive here, so the
/// prompt event is emitted by hand).
#[test]
fn child_shell() {
    scenarios::child_shell_from_script(
        SH,
        &scenarios::ChildScript {
            file: "child.fish",
            prelude: &[],
            prompt: "emit fish_prompt",
            epilogue: &[],
            start: "fish --no-config \"$CHILD\"",
        },
    );
}

/// A directory change made at the prompt without running a command (a key
/// binding, like Alt-arrows) loads through the PWD handler before the next
/// command runs.
#[test]
fn pwd_change_at_the_prompt_loads() {
    let kit = Kit::new();
    scenarios::standard(&kit, true);
    let Some(s) = kit.run(
        SH,
        &[
            SH.hook_line(),
            "bind \\cg 'cd proj'",
            // Ctrl-G, then a command typed on the same prompt.
            &format!("\u{7}{}", SH.show("at-prompt", &["FOO", "ESCSH_ENV"])),
            "cd ..",
            &SH.show("out", &["FOO"]),
        ]
        .join("\n"),
    ) else {
        return;
    };
    assert_eq!(
        s.line("at-prompt"),
        "FOO=bar ESCSH_ENV=app/dev",
        "{}",
        s.dump()
    );
    assert_eq!(s.line("out"), "FOO=<unset>", "{}", s.dump());
    assert_eq!(s.stderr_count("escsh: loading app/dev"), 1, "{}", s.dump());
}

/// A fish that inherits a loaded environment but starts elsewhere (a new
/// tmux pane) restores outside any project and switches in another one.
#[test]
fn child_shell_elsewhere() {
    let kit = Kit::new();
    kit.define_vars("app/dev", &[("FOO", "bar"), ("KEEP", "inner")]);
    kit.define_vars("c/dev", &[("C", "3"), ("KEEP", "c")]);
    for (dir, env) in [("proj", "app/dev"), ("pc", "c/dev")] {
        let p = kit.project(dir, &format!("{env}\n"));
        kit.allow(&p);
    }
    let names = ["FOO", "C", "KEEP", "ESCSH_ENV"];
    let write = |file: &str, dir: &str, tag: &str| {
        let path = kit.root.join(file);
        std::fs::write(
            &path,
            [
                &format!("cd \"$WORK\"/{dir}"),
                SH.hook_line(),
                "emit fish_prompt",
                &SH.show(tag, &names),
            ]
            .join("\n"),
        )
        .unwrap();
        path
    };
    let outside = write("outside.fish", ".", "child-outside");
    let other = write("other.fish", "pc", "child-other");
    let Some(s) = kit.run_with(
        SH,
        &[
            &SH.set_var("KEEP", "orig"),
            SH.hook_line(),
            "cd proj",
            "fish --no-config \"$OUTSIDE\"",
            "fish --no-config \"$OTHER\"",
            &SH.show("parent", &names),
        ]
        .join("\n"),
        &[
            ("OUTSIDE", outside.to_str().unwrap()),
            ("OTHER", other.to_str().unwrap()),
        ],
    ) else {
        return;
    };
    assert_eq!(
        s.line("child-outside"),
        "FOO=<unset> C=<unset> KEEP=orig ESCSH_ENV=<unset>",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("child-other"),
        "FOO=<unset> C=3 KEEP=c ESCSH_ENV=c/dev",
        "{}",
        s.dump()
    );
    assert_eq!(
        s.line("parent"),
        "FOO=bar C=<unset> KEEP=inner ESCSH_ENV=app/dev",
        "{}",
        s.dump()
    );
}
