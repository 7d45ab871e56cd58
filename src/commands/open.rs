//! `escsh open ENV [PATH] [--format ...]`: the piping command; secrets are
//! revealed.

use std::io::Write;

use anyhow::{bail, Context as _, Result};

use super::{print_text, to_json_text, value_at, App};
use crate::access;
use crate::cli::{Format, OpenArgs};
use crate::lang::Value;
use crate::projection;
use crate::reference::EnvRef;
use crate::shell::{self, Shell};

pub fn run(app: &App, args: &OpenArgs, out: &mut dyn Write) -> Result<()> {
    let loc = app.locate(&args.env)?;
    let env = loc.env.clone();
    let projected = matches!(args.format, Format::Dotenv | Format::Shell);
    if projected && args.path.is_some() {
        bail!(
            "output format '{}' may not be used with a property path; drop the path or use --format json",
            format_name(args.format)
        );
    }
    // Check the path before evaluating: a typo should cost nothing.
    let path = args.path.as_deref().map(access::parse_path).transpose()?;
    let top = app.open_located(&loc)?.value;
    if projected {
        return print_projection(app, &env, &top, args.format, out);
    }
    let value = match &path {
        Some(path) => value_at(&env, top, path),
        None => top,
    };
    let text = match args.format {
        Format::Yaml => serde_yaml::to_string(&value.to_json(false)).context("rendering YAML")?,
        Format::String => value.to_text(),
        _ => to_json_text(&value, false),
    };
    print_text(out, &text)?;
    out.flush()?;
    Ok(())
}

/// `NAME='value'` or `export NAME='value'` lines; `files` are written to a
/// private per-environment directory that the variables name.
fn print_projection(
    app: &App,
    env: &EnvRef,
    top: &Value,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let vars = projection::project(top);
    // Refuse a bad name before anything is written to disk.
    for var in &vars {
        shell::check_name(&var.name)?;
    }
    projection::check_sizes(&vars)?;
    let dir = app
        .paths
        .open_files_dir()
        .join(&env.org)
        .join(&env.project)
        .join(&env.env);
    let vars = projection::materialize(&vars, &dir)
        .with_context(|| format!("writing files to {}", dir.display()))?;
    let mut text = String::new();
    for var in &vars {
        let line = match format {
            Format::Shell => Shell::Bash.export(&var.name, var.value.as_bytes())?,
            _ => shell::dotenv_line(&var.name, var.value.as_bytes())?,
        };
        text.push_str(&line);
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Json => "json",
        Format::Yaml => "yaml",
        Format::Dotenv => "dotenv",
        Format::Shell => "shell",
        Format::String => "string",
    }
}
