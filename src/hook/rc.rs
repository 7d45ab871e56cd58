//! `.escrc`: finding the one that applies to a directory, and reading it.
//!
//! The file is data, never code. The simplest form is one line naming an
//! environment (`acme/app/dev`). The longer form has `key: value` lines:
//!
//! ```text
//! # .escrc
//! environment: acme/app/dev   # or: file: ./env/dev.yaml
//! refresh: 5m                 # re-open this long before credentials expire
//! unsafe-vars: PS1 LD_LIBRARY_PATH   # export these though they can run code
//! aws: endpoint               # serve AWS keys from the agent, not the environment
//! ```

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::fsutil::{self, ReadError, Trusting};

pub const FILE_NAME: &str = ".escrc";
/// An `.escrc` is a few lines; anything bigger is not one.
pub const MAX_SIZE: u64 = 64 * 1024;
const KEYS: &str = "environment, file, refresh, unsafe-vars, aws";

/// An `.escrc` as found on disk.
#[derive(Debug, Clone)]
pub struct RcFile {
    /// Where it was found: the directory searched (as the kernel names the
    /// working directory, so with its symlinks resolved) joined with
    /// `.escrc`. The file itself may be a symlink: its target never counts,
    /// so a repository's link to another project's allowed `.escrc` is a new
    /// file needing its own allow.
    pub path: PathBuf,
    /// The bytes read, once: the same bytes are parsed and checked for trust.
    pub content: Vec<u8>,
}

/// An `.escrc` that is there but cannot be used (a FIFO, a device, too big).
#[derive(Debug, thiserror::Error)]
#[error("{error}: remove it or make it a small text file")]
pub struct BadRc {
    pub path: PathBuf,
    #[source]
    pub error: ReadError,
}

impl RcFile {
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }
}

/// What an `.escrc` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub target: Target,
    /// How long before expiry credentials are re-opened; `None` for the
    /// default (10 minutes or a fifth of the lifetime, whichever is smaller).
    pub refresh: Option<Duration>,
    /// Variables that can make a shell or the loader run code which this
    /// `.escrc` asks to export all the same (see `hook::guard`).
    pub unsafe_vars: Vec<String>,
    /// How AWS keys reach the shell; `None`: the user's default
    /// (`aws:` in config.yaml), else [`AwsMode::Export`].
    pub aws: Option<AwsMode>,
}

/// How an environment's aws-login keys reach processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AwsMode {
    /// As the three `AWS_*` variables, like any other.
    #[default]
    Export,
    /// Through the agent's credential endpoint: the variables name it.
    Endpoint,
}

impl AwsMode {
    pub fn parse(s: &str) -> Option<AwsMode> {
        match s {
            "export" => Some(AwsMode::Export),
            "endpoint" => Some(AwsMode::Endpoint),
            _ => None,
        }
    }
}

impl Settings {
    /// The refresh margin in seconds, `None` for the default.
    pub fn refresh_margin(&self) -> Option<i64> {
        self.refresh.map(|d| d.as_secs() as i64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An environment reference, resolved in the store.
    Reference(String),
    /// A definition file in the project, relative paths from the `.escrc`'s directory.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct RcError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The nearest `.escrc` in `start` (an absolute, resolved directory) or
/// one of its parents. Each candidate is opened, not just stat'ed, without
/// blocking: one that does not exist, that we may not read, or that is a
/// directory does not apply; one that is a FIFO, a device or too big
/// applies and is an error (looking further up would load a parent's
/// environment the user did not mean).
pub fn find(start: &Path) -> Option<Result<RcFile, BadRc>> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let path = d.join(FILE_NAME);
        match fsutil::read_checked(&path, MAX_SIZE, Trusting::Any) {
            Ok(content) => return Some(Ok(RcFile { path, content })),
            Err(
                ReadError::Io { .. }
                | ReadError::NotRegular {
                    kind: "directory", ..
                },
            ) => {}
            Err(error) => return Some(Err(BadRc { path, error })),
        }
        dir = d.parent();
    }
    None
}

/// The directories from `start` up to and including `stop` (or the root):
/// a new `.escrc` in any of them changes which file applies.
pub fn dirs_between(start: &Path, stop: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dir = Some(start);
    while let Some(d) = dir {
        out.push(d.to_path_buf());
        if Some(d) == stop {
            break;
        }
        dir = d.parent();
    }
    out
}

pub fn parse(rc: &RcFile) -> Result<Settings, RcError> {
    let shown = rc.path.display().to_string();
    let err = |line: usize, column: usize, message: String| RcError {
        path: shown.clone(),
        line,
        column,
        message,
    };
    let text = std::str::from_utf8(&rc.content)
        .map_err(|_| err(1, 1, "the file is not UTF-8 text".into()))?;
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let content = strip_comment(raw);
        let trimmed = content.trim();
        if !trimmed.is_empty() {
            let column = content.len() - content.trim_start().len() + 1;
            lines.push((i + 1, column, trimmed));
        }
    }
    let keyed = |s: &str| {
        s.split_once(':').is_some_and(|(k, _)| {
            k.starts_with(|c: char| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        })
    };
    match lines.as_slice() {
        [] => Err(err(
            1,
            1,
            "empty .escrc: write the environment to load, e.g. `acme/app/dev`".into(),
        )),
        [(line, column, only)] if !keyed(only) => {
            check_reference(only).map_err(|m| err(*line, *column, m))?;
            Ok(Settings {
                target: Target::Reference(only.to_string()),
                refresh: None,
                unsafe_vars: Vec::new(),
                aws: None,
            })
        }
        _ => {
            let mut target = None;
            let mut refresh = None;
            let mut unsafe_vars = Vec::new();
            let mut aws = None;
            for (line, column, text) in &lines {
                let Some((key, value)) = text.split_once(':').filter(|_| keyed(text)) else {
                    return Err(err(
                        *line,
                        *column,
                        format!("expected `key: value` (keys: {KEYS})"),
                    ));
                };
                let value = value.trim();
                let vcol = column + text.len() - text[key.len() + 1..].trim_start().len();
                match key {
                    "environment" => {
                        check_reference(value).map_err(|m| err(*line, vcol, m))?;
                        set_once(&mut target, Target::Reference(value.into()))
                            .map_err(|m| err(*line, *column, m))?;
                    }
                    "file" => {
                        if value.is_empty() {
                            return Err(err(
                                *line,
                                vcol,
                                "`file` needs a path to a definition".into(),
                            ));
                        }
                        set_once(&mut target, Target::File(normalize(&rc.dir().join(value))))
                            .map_err(|m| err(*line, *column, m))?;
                    }
                    "refresh" => {
                        let d = crate::duration::parse(value)
                            .map_err(|e| err(*line, vcol, e.to_string()))?;
                        refresh = Some(d);
                    }
                    "unsafe-vars" => {
                        for name in value.split([' ', ',']).filter(|n| !n.is_empty()) {
                            crate::shell::check_name(name).map_err(|_| {
                                err(
                                    *line,
                                    vcol,
                                    format!("`{name}` is not a variable name: list names separated by spaces"),
                                )
                            })?;
                            unsafe_vars.push(name.to_string());
                        }
                    }
                    "aws" => {
                        aws = Some(AwsMode::parse(value).ok_or_else(|| {
                            err(
                                *line,
                                vcol,
                                format!("`aws` is `export` or `endpoint`, not `{value}`"),
                            )
                        })?);
                    }
                    other => {
                        return Err(err(
                            *line,
                            *column,
                            format!("unknown key `{other}` (keys: {KEYS})"),
                        ))
                    }
                }
            }
            let target = target.ok_or_else(|| {
                err(
                    1,
                    1,
                    "no `environment:` or `file:` line: say what to load".into(),
                )
            })?;
            Ok(Settings {
                target,
                refresh,
                unsafe_vars,
                aws,
            })
        }
    }
}

/// `path` without `.` components (`/p/./env/dev.yaml` is `/p/env/dev.yaml`).
/// `..` stays: removing it without the filesystem would be wrong with symlinks.
pub fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn set_once(slot: &mut Option<Target>, target: Target) -> Result<(), String> {
    if slot.is_some() {
        return Err("`environment` and `file` may appear once, and not together".into());
    }
    *slot = Some(target);
    Ok(())
}

/// A `#` starts a comment at the start of a line or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn check_reference(r: &str) -> Result<(), String> {
    if r.split('/').count() > 3
        || r.split('/').any(str::is_empty)
        || r.chars().any(char::is_whitespace)
    {
        return Err(format!(
            "`{r}` is not an environment reference: write [org/][project/]env, e.g. acme/app/dev"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(text: &str) -> RcFile {
        RcFile {
            path: PathBuf::from("/p/.escrc"),
            content: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn one_line_names_an_environment() {
        let s = parse(&rc("# team env\nacme/app/dev  # dev\n")).unwrap();
        assert_eq!(s.target, Target::Reference("acme/app/dev".into()));
    }

    #[test]
    fn keyed_form() {
        let s = parse(&rc(
            "file: ./env/dev.yaml\nrefresh: 5m\nunsafe-vars: PS1, LD_PRELOAD\nunsafe-vars: ENV\n",
        ))
        .unwrap();
        assert_eq!(s.target, Target::File(PathBuf::from("/p/env/dev.yaml")));
        assert_eq!(s.refresh, Some(Duration::from_secs(300)));
        assert_eq!(s.unsafe_vars, ["PS1", "LD_PRELOAD", "ENV"]);
        assert_eq!(s.aws, None);
        let s = parse(&rc("environment: a/b\naws: endpoint\n")).unwrap();
        assert_eq!(s.aws, Some(AwsMode::Endpoint));
        let e = parse(&rc("environment: a/b\naws: keys\n")).unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(e.to_string().contains("`export` or `endpoint`"), "{e}");
        let e = parse(&rc("environment: a/b\nunsafe-vars: $(x)\n")).unwrap_err();
        assert_eq!((e.line, e.column), (2, 14));
    }

    #[test]
    fn errors_point_at_the_line() {
        let e = parse(&rc("environment: a/b\nrefresh: soon\n")).unwrap_err();
        assert_eq!((e.line, e.column), (2, 10));
        let text = e.to_string();
        assert!(
            text.starts_with("/p/.escrc:2:10: invalid duration \"soon\""),
            "{text}"
        );
        let e = parse(&rc("\n  colour: blue\n")).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(parse(&rc("a b c\n")).is_err());
        assert!(parse(&rc("")).is_err());
    }
}
