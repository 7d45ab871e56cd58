//! `${path}` in `escsh run` arguments: each is replaced by that value of
//! the opened environment (`$$` is a `$`). A path with no value or a broken
//! `${` is an error, so a typo starts nothing instead of an empty argument.

use std::ffi::{OsStr, OsString};

use crate::access;
use crate::lang::{interp, Value};

/// An argument whose `${}` cannot be replaced. `index` counts the
/// command's arguments from 1 (the command itself is not interpolated).
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    #[error(
        "argument {index} ({arg:?}): ${{{path}}} has no value in the environment; fix the path \
         (`escsh open ENV` shows the value), or write `$${{` for a literal `${{`"
    )]
    NoValue {
        index: usize,
        arg: String,
        path: String,
    },
    #[error(
        "argument {index} ({arg:?}): {message} at character {offset}; write `$$` for a literal `$`"
    )]
    Syntax {
        index: usize,
        arg: String,
        message: &'static str,
        offset: usize,
    },
}

/// The arguments with every `${}` replaced.
pub struct Interpolated {
    pub args: Vec<OsString>,
    /// Secret values that went into arguments (to redact from output).
    pub secrets: Vec<String>,
    /// The 1-based indexes of the arguments that hold a secret.
    pub secret_args: Vec<usize>,
}

/// Interpolates `args` against `top`. Arguments that are not UTF-8 cannot
/// hold `${}` and are passed unchanged.
pub fn interpolate(args: &[OsString], top: &Value) -> Result<Interpolated, ArgError> {
    let mut out = Interpolated {
        args: Vec::with_capacity(args.len()),
        secrets: Vec::new(),
        secret_args: Vec::new(),
    };
    for (i, arg) in args.iter().enumerate() {
        let before = out.secrets.len();
        let arg = interpolate_one(arg, i + 1, top, &mut out.secrets)?;
        out.args.push(arg);
        if out.secrets.len() > before {
            out.secret_args.push(i + 1);
        }
    }
    Ok(out)
}

fn interpolate_one(
    arg: &OsStr,
    index: usize,
    top: &Value,
    secrets: &mut Vec<String>,
) -> Result<OsString, ArgError> {
    let Some(text) = arg.to_str() else {
        return Ok(arg.to_os_string());
    };
    if !text.contains('$') {
        return Ok(arg.to_os_string());
    }
    let (parts, errors) = interp::parse(text);
    if let Some(e) = errors.first() {
        return Err(ArgError::Syntax {
            index,
            arg: text.to_string(),
            message: e.message,
            offset: e.offset,
        });
    }
    let mut out = String::new();
    for part in parts {
        out.push_str(&part.text);
        let Some(access) = part.access else { continue };
        let path = access.accessors();
        let Some(v) = access::lookup(top, &path) else {
            return Err(ArgError::NoValue {
                index,
                arg: text.to_string(),
                path: interp::path_string(&path),
            });
        };
        let text = v.to_text();
        if v.contains_secret() {
            secrets.push(text.clone());
        }
        out.push_str(&text);
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top() -> Value {
        Value::object([
            ("url".to_string(), Value::string("https://x")),
            ("pw".to_string(), Value::string("hunter2").secret()),
        ])
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn replaces_paths_and_unescapes_dollars() {
        let out = interpolate(&args(&["plain", "a$$b", "[${url}]", "$${url}"]), &top()).unwrap();
        assert_eq!(out.args, args(&["plain", "a$b", "[https://x]", "${url}"]));
        assert!(out.secrets.is_empty() && out.secret_args.is_empty());
    }

    #[test]
    fn records_secrets_and_where_they_went() {
        let out = interpolate(&args(&["x", "--password=${pw}"]), &top()).unwrap();
        assert_eq!(out.args[1], "--password=hunter2");
        assert_eq!(out.secrets, ["hunter2"]);
        assert_eq!(out.secret_args, [2]);
    }

    #[test]
    fn a_missing_path_is_an_error_naming_argument_and_path() {
        let err = interpolate(&args(&["ok", "[${app.nope}]"]), &top())
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(
            text.starts_with("argument 2 (\"[${app.nope}]\"): ${app.nope} has no value"),
            "{text}"
        );
    }

    #[test]
    fn a_broken_access_is_an_error() {
        let err = interpolate(&args(&["${url"]), &top()).err().unwrap();
        assert!(matches!(err, ArgError::Syntax { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("missing closing brace"), "{err}");
    }
}
