//! `escsh completions SHELL`: clap_complete's script for SHELL, generated
//! from the command-line definition (src/cli.rs), with a layer that
//! completes environment names. clap's scripts are static; the layer asks
//! `escsh complete-envs PREFIX` (which lists the store, evaluating nothing)
//! whenever the word being completed is an `env` argument.

use std::io::Write;

use anyhow::{bail, Result};
use clap::CommandFactory;
use clap_complete::Shell as ClapShell;

use super::App;
use crate::cli::{Cli, CompletionShell};

/// The arg id that means "an environment in the store" (`env init`'s new
/// name has another id).
const ENV_ARG: &str = "env";

/// The command the scripts complete (and call back).
const BIN: &str = "escsh";

pub fn completions(shell: CompletionShell, out: &mut dyn Write) -> Result<()> {
    let mut cmd = visible();
    let slots = EnvSlots::of(&cmd);
    let mut generated = Vec::new();
    match shell {
        CompletionShell::Bash => generate(ClapShell::Bash, &mut cmd, &mut generated),
        CompletionShell::Zsh => generate(ClapShell::Zsh, &mut cmd, &mut generated),
        CompletionShell::Fish => generate(ClapShell::Fish, &mut cmd, &mut generated),
        CompletionShell::Elvish => generate(ClapShell::Elvish, &mut cmd, &mut generated),
        CompletionShell::Nu => generate(clap_complete_nushell::Nushell, &mut cmd, &mut generated),
    }
    let generated = String::from_utf8(generated)?;
    let script = match shell {
        CompletionShell::Bash => format!("{generated}{}", slots.fill(BASH, "|")),
        CompletionShell::Zsh => zsh(&generated, &slots)?,
        CompletionShell::Fish => format!("{generated}{}", slots.fill(FISH, " ")),
        CompletionShell::Elvish => format!("{generated}{}", slots.fill(ELVISH, " ")),
        CompletionShell::Nu => nu(&generated, &slots)?,
    };
    out.write_all(script.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `escsh complete-envs PREFIX`: the references starting with PREFIX, as
/// `env ls` prints them: the store's, then the Pulumi Cloud login's. Once
/// PREFIX names an org only that org is listed; a cloud that cannot be
/// reached adds nothing (a completion must not print errors).
pub fn complete_envs(app: &App, prefix: &str, out: &mut dyn Write) -> Result<()> {
    let mut text = String::new();
    let org = prefix.split_once('/').map(|(org, _)| org);
    let local = app.store.list()?;
    let cloud = super::env_ls::cloud_envs(app, org).unwrap_or_default();
    for env in local.into_iter().chain(cloud) {
        let env = env.to_string();
        if env.starts_with(prefix) {
            text.push_str(&env);
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// escsh's command line without its hidden commands (the hook's `export`
/// and `refresh`, `complete-envs`): clap_complete offers hidden commands
/// too. Only the top level has any, and no arguments of its own, so the
/// rest is copied whole.
fn visible() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new(BIN)
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd.subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

fn generate<G: clap_complete::Generator>(g: G, cmd: &mut clap::Command, buf: &mut Vec<u8>) {
    clap_complete::generate(g, cmd, BIN, buf);
}

/// Where an environment name goes, read from the clap definition: the
/// subcommand paths whose first positional is [`ENV_ARG`] (`open`,
/// `env get`), and the options of those commands that take a value (whose
/// value the scripts skip when they count words).
struct EnvSlots {
    commands: Vec<String>,
    value_options: Vec<String>,
}

impl EnvSlots {
    fn of(cmd: &clap::Command) -> EnvSlots {
        let mut slots = EnvSlots {
            commands: Vec::new(),
            value_options: Vec::new(),
        };
        slots.walk(cmd, "");
        slots.value_options.sort();
        slots.value_options.dedup();
        slots
    }

    fn walk(&mut self, cmd: &clap::Command, path: &str) {
        for sub in cmd.get_subcommands() {
            let path = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            if sub.get_positionals().next().map(|a| a.get_id().as_str()) == Some(ENV_ARG) {
                self.commands.push(path.clone());
                for arg in sub.get_opts() {
                    if !arg.get_action().takes_values() {
                        continue;
                    }
                    self.value_options
                        .extend(arg.get_short().map(|s| format!("-{s}")));
                    self.value_options
                        .extend(arg.get_long().map(|l| format!("--{l}")));
                }
            }
            self.walk(sub, &path);
        }
    }

    /// `template` with `@COMMANDS@` and `@OPTIONS@` replaced by the lists,
    /// joined by `sep` (`|` for a `case` pattern, a space for a list), each
    /// item single-quoted (names and options are plain words, which
    /// single quotes keep as they are in every one of these shells).
    fn fill(&self, template: &str, sep: &str) -> String {
        let quote = |items: &[String], sep: &str| {
            items
                .iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(sep)
        };
        // An empty list would leave `case` without a pattern: a word no
        // argument is stands in.
        let none = ["'-- none --'".to_string()];
        let options = if self.value_options.is_empty() {
            &none[..]
        } else {
            &self.value_options[..]
        };
        template
            .replace("@COMMANDS@", &quote(&self.commands, sep))
            .replace("@OPTIONS@", &quote(options, sep))
    }
}

/// clap's zsh script ends by calling (autoloaded) or registering (sourced)
/// `_escsh`; ours calls the layer instead, which calls `_escsh`.
fn zsh(generated: &str, slots: &EnvSlots) -> Result<String> {
    const TRAILER: &str = "if [ \"$funcstack[1]\" = \"_escsh\" ]; then";
    let Some(at) = generated.rfind(TRAILER) else {
        bail!("clap_complete's zsh script has no `{TRAILER}` line: the completion layer needs updating");
    };
    Ok(format!("{}{}", &generated[..at], slots.fill(ZSH, "|")))
}

/// The nushell script declares each command's arguments (`env: string`);
/// each `env` argument gets the store's names as its completer.
fn nu(generated: &str, slots: &EnvSlots) -> Result<String> {
    let mut script = String::new();
    let mut inside_env_command = false;
    let mut done = 0;
    for line in generated.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed
            .strip_prefix("export extern \"escsh ")
            .and_then(|rest| rest.split('"').next())
        {
            inside_env_command = slots.commands.iter().any(|c| c == name);
        }
        // An optional ENV (`env encrypt`, which also takes --file) is `env?`.
        let slot = [format!("{ENV_ARG}: string"), format!("{ENV_ARG}?: string")]
            .into_iter()
            .find(|s| trimmed.starts_with(s.as_str()));
        if let Some(slot) = slot.filter(|_| inside_env_command) {
            let indent = &line[..line.len() - trimmed.len()];
            let rest = &trimmed[slot.len()..];
            script.push_str(&format!(
                "{indent}{slot}@\"nu-complete escsh envs\"{rest}\n"
            ));
            inside_env_command = false;
            done += 1;
            continue;
        }
        if trimmed.starts_with("module completions {") {
            script.push_str(line);
            script.push('\n');
            script.push_str(NU);
            continue;
        }
        script.push_str(line);
        script.push('\n');
    }
    if done != slots.commands.len() || !script.contains(NU) {
        bail!("clap_complete_nushell's script changed shape: the completion layer needs updating");
    }
    Ok(script)
}

const BASH: &str = r#"
# Environment names come from the store: `escsh complete-envs PREFIX`.
_escsh_with_envs() {
    local cur="${COMP_WORDS[COMP_CWORD]}" at="" word skip="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if [[ -n $skip ]]; then
            # `--format=json` is three words to bash: skip the value too.
            [[ $word == "=" ]] || skip=""
            continue
        fi
        case "$word" in
            @OPTIONS@) skip=1 ;;
            -*) ;;
            *) at="${at:+$at }$word" ;;
        esac
    done
    # After `-f`, the word is that option's value.
    if [[ -z $skip && $cur != -* ]]; then
        case "$at" in
            @COMMANDS@)
                compopt +o default +o bashdefault 2>/dev/null
                mapfile -t COMPREPLY < <(command escsh complete-envs -- "$cur" 2>/dev/null)
                return 0
                ;;
        esac
    fi
    _escsh "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _escsh_with_envs -o nosort -o bashdefault -o default escsh
else
    complete -F _escsh_with_envs -o bashdefault -o default escsh
fi
"#;

const ZSH: &str = r#"# Environment names come from the store: `escsh complete-envs PREFIX`.
_escsh_with_envs() {
    local at="" word skip="" i
    for ((i = 2; i < CURRENT; i++)); do
        word="${words[i]}"
        if [[ -n $skip ]]; then
            skip=""
            continue
        fi
        case "$word" in
            (@OPTIONS@) skip=1 ;;
            (-*) ;;
            (*) at="${at:+$at }$word" ;;
        esac
    done
    # After `-f`, the word is that option's value.
    if [[ -z $skip && $PREFIX != -* ]]; then
        case "$at" in
            (@COMMANDS@)
                local -a envs
                envs=(${(f)"$(command escsh complete-envs -- "$PREFIX" 2>/dev/null)"})
                compadd -a envs
                return
                ;;
        esac
    fi
    _escsh "$@"
}

# Autoloaded from $fpath as `_escsh` (compinit registered that name from
# the #compdef line): register the layer for the next TAB, then complete.
if [ "$funcstack[1]" = "_escsh" ]; then
    compdef _escsh_with_envs escsh
    _escsh_with_envs "$@"
else
    compdef _escsh_with_envs escsh
fi
"#;

const FISH: &str = r#"
# Environment names come from the store: `escsh complete-envs PREFIX`.
function __escsh_at_env
    set -l cur (commandline -ct)
    string match -q -- '-*' "$cur"; and return 1
    set -l words (commandline -opc)
    set -e words[1]
    set -l at
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case @OPTIONS@
                set skip 1
            case '-*'
            case '*'
                set -a at $word
        end
    end
    # After `-f`, the word is that option's value.
    test $skip = 1; and return 1
    contains -- "$at" @COMMANDS@
end
complete -c escsh -n __escsh_at_env -f -a '(command escsh complete-envs -- (commandline -ct) 2>/dev/null)'
"#;

const ELVISH: &str = r#"
# Environment names come from the store: `escsh complete-envs PREFIX`.
var escsh-clap-completer~ = $edit:completion:arg-completer[escsh]
set edit:completion:arg-completer[escsh] = {|@words|
    var at = []
    var skip = $false
    for word $words[1..-1] {
        if $skip {
            set skip = $false
        } elif (has-value [@OPTIONS@] $word) {
            set skip = $true
        } elif (not (str:has-prefix $word -)) {
            set at = [$@at $word]
        }
    }
    var current = $words[-1]
    # After `-f`, the word is that option's value.
    if (and (not $skip) (not (str:has-prefix $current -)) (has-value [@COMMANDS@] (str:join ' ' $at))) {
        try {
            e:escsh complete-envs -- $current 2>/dev/null | from-lines
        } catch e {
            nop $e
        }
    } else {
        escsh-clap-completer $@words
    }
}
"#;

const NU: &str = r#"
  # Environment names come from the store: `escsh complete-envs`.
  def "nu-complete escsh envs" [] {
    ^escsh complete-envs | lines
  }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_slots_come_from_the_definition() {
        let slots = EnvSlots::of(&Cli::command());
        assert_eq!(
            slots.commands,
            [
                "open",
                "run",
                "env get",
                "env edit",
                "env set",
                "env rm",
                "env encrypt",
                "env rekey",
                "aws credential-process"
            ]
        );
        assert_eq!(slots.value_options, ["--file", "--format", "-f"]);
    }

    #[test]
    fn completions_offer_every_visible_command_and_no_hidden_one() {
        let full = Cli::command();
        assert_eq!(
            full.get_arguments().count(),
            0,
            "top-level arguments to copy"
        );
        assert_eq!(full.get_name(), BIN);
        let names = |c: &clap::Command| -> Vec<String> {
            c.get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect()
        };
        let expected: Vec<String> = full
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect();
        assert!(
            expected.len() < names(&full).len(),
            "no hidden command left?"
        );
        assert_eq!(names(&visible()), expected);
        visible().debug_assert();
    }

    #[test]
    fn every_shell_gets_the_layer() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
            CompletionShell::Elvish,
            CompletionShell::Nu,
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("complete-envs"), "{shell:?}:\n{text}");
            assert!(!text.contains("@COMMANDS@"), "{shell:?}:\n{text}");
            assert!(!text.contains("@OPTIONS@"), "{shell:?}:\n{text}");
        }
    }
}
