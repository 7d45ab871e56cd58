//! `escsh man`: the manual page, in roff, generated from the command-line
//! definition (src/cli.rs). clap_mangen writes the head (name, synopsis,
//! description, options); its subcommand list points at one page per
//! command, which escsh does not install, so the page instead describes
//! every command, nested ones too, in one COMMANDS section.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use roff::{bold, italic, roman, Roff};

use crate::cli::Cli;

pub fn man(out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command();
    // Building gives each subcommand its full name (`escsh env get`).
    cmd.build();
    let head = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    head.render_title(&mut page)?;
    head.render_name_section(&mut page)?;
    head.render_synopsis_section(&mut page)?;
    head.render_description_section(&mut page)?;
    head.render_options_section(&mut page)?;
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    commands(&mut roff, &cmd);
    roff.control("SH", ["ENVIRONMENT"]);
    roff.control("TP", []);
    roff.text([bold("ESCSH_HOME")]);
    roff.text([roman(
        "Keep the configuration, the store of definitions, the trust records and the cache under this one directory.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "Completion scripts: escsh completions bash|zsh|fish|elvish|nu (see the README).",
    )]);
    roff.to_writer(&mut page)?;
    head.render_version_section(&mut page)?;
    out.write_all(&page)?;
    out.flush()?;
    Ok(())
}

/// One subsection per visible command under `cmd`, depth first.
fn commands(roff: &mut Roff, cmd: &clap::Command) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        roff.control("SS", [name]);
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
        roff.text([bold(usage)]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            for paragraph in about.to_string().split("\n\n") {
                roff.control("PP", []);
                roff.text([roman(paragraph.replace('\n', " "))]);
            }
        }
        arguments(roff, sub);
        commands(roff, sub);
    }
}

/// The command's arguments and options, as `--help` lists them.
fn arguments(roff: &mut Roff, cmd: &clap::Command) {
    let shown = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"));
    for arg in shown {
        roff.control("TP", []);
        let value = arg
            .get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let mut term = Vec::new();
        if arg.is_positional() {
            term.push(italic(format!("<{value}>")));
        } else {
            let flags: Vec<String> = arg
                .get_short()
                .map(|s| format!("-{s}"))
                .into_iter()
                .chain(arg.get_long().map(|l| format!("--{l}")))
                .collect();
            term.push(bold(flags.join(", ")));
            if arg.get_action().takes_values() {
                term.push(roman(" "));
                term.push(italic(format!("<{value}>")));
            }
        }
        roff.text(term);
        let mut help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|h| h.to_string().replace('\n', " "))
            .unwrap_or_default();
        let possible = arg.get_possible_values();
        let values: Vec<&str> = possible
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name())
            .collect();
        if !values.is_empty() {
            help.push_str(&format!(" [possible values: {}]", values.join(", ")));
        }
        roff.text([roman(help.trim_start())]);
    }
}
