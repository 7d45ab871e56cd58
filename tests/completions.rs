//! `escsh completions SHELL` and `escsh man`, through the real shells'
//! own completion machinery and the real man/groff.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

/// A store with environments that `ac` does and does not match.
fn home_with_envs() -> Home {
    let h = Home::new();
    for env in ["acme/app/dev", "acme/app/prod", "zeta/app/dev"] {
        h.write_env(env, "values: {}\n");
    }
    h
}

/// `escsh completions SHELL`, saved in the home (the scripts are sourced
/// from a file, as users install them).
fn script(h: &Home, shell: &str) -> PathBuf {
    let o = h.run(["completions", shell]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    let path = h.path().join(format!("escsh.{shell}"));
    fs::write(&path, &o.stdout).unwrap();
    path
}

/// `program ARGS` with the home and escsh first on PATH: the scripts call
/// `escsh` by name, as they do once installed.
fn shell(h: &Home, program: &str, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_escsh")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    Command::new(program)
        .args(args)
        .env("ESCSH_HOME", h.path())
        .env("PATH", path)
        .env("HOME", h.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn lines(o: &Output) -> Vec<String> {
    stdout(o).lines().map(str::to_string).collect()
}

/// Completes the command line `line` (ending where the cursor is) in bash,
/// as bash does on TAB: the function `complete -p escsh` registered, called
/// with COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT set; prints COMPREPLY.
fn bash_complete(h: &Home, script: &Path, line: &str) -> Output {
    let program = r#"
source "$1" || exit 1
line=$2
spec=$(complete -p escsh) || exit 1
fn=${spec#*-F }
fn=${fn%% *}
read -r -a COMP_WORDS <<<"$line"
[[ $line == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
"$fn" escsh "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let script = script.to_str().unwrap();
    shell(
        h,
        "bash",
        &["--norc", "--noprofile", "-c", program, "bash", script, line],
    )
}

#[test]
fn bash_completes_environment_names_from_the_store() {
    if !tools::require("bash") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "bash");
    let o = bash_complete(&h, &script, "escsh open ac");
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    assert_eq!(lines(&o), ["acme/app/dev", "acme/app/prod"]);
    for line in [
        "escsh run acme/app/d",
        "escsh env get acme/app/d",
        "escsh env edit acme/app/d",
        "escsh env set acme/app/d",
        "escsh env rm acme/app/d",
        "escsh open -f yaml acme/app/d",
        "escsh open --format=yaml acme/app/d",
    ] {
        let o = bash_complete(&h, &script, line);
        assert_eq!(lines(&o), ["acme/app/dev"], "{line}: {}", stderr(&o));
    }
    // Not where an environment goes: clap's completions as before.
    assert_eq!(lines(&bash_complete(&h, &script, "escsh op")), ["open"]);
    assert_no_hidden_commands(&lines(&bash_complete(&h, &script, "escsh ")));
    let o = bash_complete(&h, &script, "escsh open -f ya");
    assert_eq!(lines(&o), ["yaml"]);
    let o = bash_complete(&h, &script, "escsh open acme/app/dev ac");
    assert!(!stdout(&o).contains("acme/"), "{}", stdout(&o));
    // `env init` names a new environment.
    let o = bash_complete(&h, &script, "escsh env init ac");
    assert!(!stdout(&o).contains("acme/"), "{}", stdout(&o));
}

/// The commands offered after `escsh `: the visible ones, not those the
/// hook and the scripts run (`export`, `refresh`, `complete-envs`).
fn assert_no_hidden_commands(offered: &[String]) {
    for visible in ["open", "run", "env", "completions", "man"] {
        assert!(
            offered.iter().any(|o| o == visible),
            "{visible}: {offered:?}"
        );
    }
    for hidden in ["export", "refresh", "complete-envs"] {
        assert!(
            !offered.iter().any(|o| o == hidden),
            "{hidden}: {offered:?}"
        );
    }
}

#[test]
fn bash_offers_nothing_but_names_when_none_match() {
    if !tools::require("bash") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "bash");
    // No file names from the current directory either.
    let o = bash_complete(&h, &script, "escsh open nomatch");
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "");
}

fn fish_complete(h: &Home, script: &Path, line: &str) -> Output {
    let program = format!(
        "source {} ; or exit 1; complete -C '{line}'",
        script.to_str().unwrap()
    );
    shell(h, "fish", &["--no-config", "-c", &program])
}

#[test]
fn fish_completes_environment_names_from_the_store() {
    if !tools::require("fish") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "fish");
    let o = fish_complete(&h, &script, "escsh open ac");
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    assert_eq!(lines(&o), ["acme/app/dev", "acme/app/prod"]);
    for line in [
        "escsh run acme/app/d",
        "escsh env get acme/app/d",
        "escsh env rm acme/app/d",
        "escsh open -f yaml acme/app/d",
    ] {
        let o = fish_complete(&h, &script, line);
        assert_eq!(lines(&o), ["acme/app/dev"], "{line}: {}", stderr(&o));
    }
    let o = fish_complete(&h, &script, "escsh open -f ac");
    assert!(!stdout(&o).contains("acme/"), "{}", stdout(&o));
    let o = fish_complete(&h, &script, "escsh ");
    let names: Vec<String> = lines(&o)
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_no_hidden_commands(&names);
    let o = fish_complete(&h, &script, "escsh op");
    assert!(stdout(&o).starts_with("open\t"), "{}", stdout(&o));
    let o = fish_complete(&h, &script, "escsh env init ac");
    assert!(!stdout(&o).contains("acme/"), "{}", stdout(&o));
}

#[test]
fn zsh_script_loads_in_zsh() {
    if !tools::require("zsh") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "zsh");
    // Sourced after compinit, as from ~/.zshrc: it registers the layer.
    let program = format!(
        "autoload -Uz compinit && compinit -u -D && source {} && print -r -- $_comps[escsh]",
        script.to_str().unwrap()
    );
    let o = shell(&h, "zsh", &["-f", "-c", &program]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), "_escsh_with_envs\n");
}

/// Types `escsh open sol<TAB>`, then on a fresh line `escsh env get
/// sol<TAB>`, at an interactive zsh (in a pseudo-terminal, through zsh's
/// zpty module): each line must become the one environment that starts
/// with `sol`. The script is installed both ways the README gives: sourced
/// after compinit, and as `_escsh` in $fpath (autoloaded at the first TAB;
/// the second TAB checks the layer stays in place). `timeout` bounds the
/// wait for a completion that never comes.
#[test]
fn zsh_completes_environment_names_at_its_prompt() {
    if !tools::require("zsh") || !tools::require("timeout") {
        return;
    }
    let h = home_with_envs();
    h.write_env("solo/app/only", "values: {}\n");
    let script = script(&h, "zsh");
    let fpath = h.path().join("zfunc");
    fs::create_dir(&fpath).unwrap();
    fs::copy(&script, fpath.join("_escsh")).unwrap();
    let program = r#"
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='> '; $1"
zpty -w -n z $'escsh open sol\t'
zpty -r z out '*open solo/app/only*' || exit 4
zpty -w -n z $'\C-u'
zpty -w -n z $'escsh env get sol\t'
zpty -r z out '*get solo/app/only*' || exit 5
zpty -d z
print -r -- completed
"#;
    let sourced = format!(
        "autoload -Uz compinit; compinit -u -D; source {}",
        script.to_str().unwrap()
    );
    let autoloaded = format!(
        "fpath=({} $fpath); autoload -Uz compinit; compinit -u -D",
        fpath.to_str().unwrap()
    );
    for setup in [sourced, autoloaded] {
        let o = shell(
            &h,
            "timeout",
            &["60", "zsh", "-f", "-c", program, "zsh", &setup],
        );
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "completed\n", "{setup}");
    }
}

#[test]
fn elvish_script_loads_and_completes_environment_names() {
    if !tools::require_with("elvish", &["-version"], "apt-get install elvish") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "elvish");
    // `edit:` exists only in an interactive elvish: the script is
    // evaluated in a namespace that provides what it uses of it.
    let program = format!(
        "var edit = (ns [&complex-candidate~={{|text &display=''| put $text}} \
         &completion:=(ns [&arg-completer=[&]])]) \n\
         var ns = (ns [&edit:=$edit]) \n\
         eval &ns=$ns (slurp < {}) \n\
         var complete = $ns[edit:][completion:][arg-completer][escsh] \n\
         $complete escsh open ac | to-lines \n\
         echo --- \n\
         $complete escsh op | to-lines \n\
         echo --- \n\
         $complete escsh open -f acme | to-lines",
        script.to_str().unwrap()
    );
    let o = shell(&h, "elvish", &["-norc", "-c", &program]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    let out = stdout(&o);
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts[0], "acme/app/dev\nacme/app/prod\n");
    assert!(parts[1].lines().any(|l| l == "open"), "{out}");
    // The value of `-f` is a format, not an environment.
    assert!(!parts[2].contains("acme/"), "{out}");
}

#[test]
fn nu_script_loads_in_nushell_with_env_completers() {
    if !tools::require_with("nu", &["--version"], "npm install -g nushell") {
        return;
    }
    let h = home_with_envs();
    let script = script(&h, "nu");
    // Nushell completes only at its interactive prompt: check that each
    // command's first argument is declared with the store's completer,
    // and run that completer's pipeline as nu would.
    let program = format!(
        "source {}
        let completer = {{|name|
            scope commands | where name == $name | first | get signatures | values | first
            | where parameter_type == positional | first | get completion
        }}
        ['escsh open' 'escsh run' 'escsh env get' 'escsh env edit' 'escsh env set' 'escsh env rm' 'escsh env init']
        | each {{|c| print $'($c)=(do $completer $c);' }}
        print (^escsh complete-envs | lines | to json --raw)",
        script.to_str().unwrap()
    );
    let o = shell(&h, "nu", &["--no-config-file", "-c", &program]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    let out = stdout(&o);
    for c in ["open", "run", "env get", "env edit", "env set", "env rm"] {
        let line = format!("escsh {c}=nu-complete escsh envs;");
        assert!(out.lines().any(|l| l == line), "{line}:\n{out}");
    }
    assert!(out.lines().any(|l| l == "escsh env init=;"), "{out}");
    assert!(
        out.contains(r#"["acme/app/dev","acme/app/prod","zeta/app/dev"]"#),
        "{out}"
    );
}

#[test]
fn complete_envs_lists_the_store_without_evaluating() {
    let h = home_with_envs();
    // A definition with errors is still a name to offer.
    h.write_env("acme/app/broken", "values: {a: ${nope}}\n");
    let o = h.run(["complete-envs", "acme/"]);
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), "acme/app/broken\nacme/app/dev\nacme/app/prod\n");
    assert_eq!(lines(&h.run(["complete-envs"])).len(), 4);
    // Hidden from help: it is for the scripts.
    assert!(!stdout(&h.run(["--help"])).contains("complete-envs"));
}

/// The visible subcommands, as `escsh help` names them, nested ones as
/// `env get`.
fn subcommands(h: &Home) -> Vec<String> {
    let mut names = Vec::new();
    for (prefix, args) in [("", vec!["--help"]), ("env ", vec!["env", "--help"])] {
        let help = stdout(&h.run(&args));
        let listed = help
            .split("Commands:\n")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .next()
            .unwrap();
        for line in listed.lines() {
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                names.push(format!("{prefix}{name}"));
            }
        }
    }
    names
}

/// `text` without the overstrikes (`X\bX` bold, `_\bX` underline) that
/// man's formatter writes for a terminal.
fn plain(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let h = Home::new();
    let o = h.run(["man"]);
    assert_code(&o, 0);
    let page = stdout(&o);
    assert!(
        page.lines().any(|l| l.starts_with(".TH ")),
        "no .TH line:\n{page}"
    );
    // Rendered as the user reads it, through man's own formatter.
    if !tools::require_with("man", &["--version"], "apt-get install man-db") {
        return;
    }
    let path = h.path().join("escsh.1");
    fs::write(&path, &o.stdout).unwrap();
    let r = Command::new("man")
        .args(["-l", "-P", "cat", "-E", "UTF-8"])
        .arg(&path)
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_code(&r, 0);
    assert_eq!(stderr(&r), "", "man's formatter warned");
    let text = plain(&stdout(&r));
    let subcommands = subcommands(&h);
    assert!(subcommands.len() > 10, "{subcommands:?}");
    for name in &subcommands {
        assert!(text.contains(&format!("escsh {name}")), "{name}:\n{text}");
    }
}
