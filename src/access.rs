//! Property paths given on the command line (`open ENV PATH`, `env get`,
//! `env set`, `${...}` in `run` arguments) and their lookup in an opened
//! value. The grammar is the evaluator's own ([`crate::lang::interp`]), so
//! the command line and definitions can never disagree on what a path means.

pub use crate::lang::interp::Accessor;
use crate::lang::interp::{self, ParseError};
use crate::lang::{Kind, Value};

/// A path that does not parse, with the grammar's reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid property path \"{path}\": {error} ({})", self.position())]
pub struct PathError {
    path: String,
    error: ParseError,
}

impl PathError {
    fn position(&self) -> String {
        if self.error.offset < self.path.chars().count() {
            format!("at character {}", self.error.offset + 1)
        } else {
            "at the end".to_string()
        }
    }
}

/// Parses a property path. An empty path is the whole value, as with
/// `esc open ENV ""`.
pub fn parse_path(path: &str) -> Result<Vec<Accessor>, PathError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    interp::try_parse_path(path)
        .map(|access| access.accessors())
        .map_err(|error| PathError {
            path: path.to_string(),
            error,
        })
}

/// The value at `path`, or `None` when a step does not exist. A value below
/// a secret comes back marked secret; a step into an unknown is unknown.
pub fn lookup(root: &Value, path: &[Accessor]) -> Option<Value> {
    let mut node = root;
    let mut secret = root.secret;
    for step in path {
        if node.unknown {
            break;
        }
        node = match (&node.kind, step) {
            (Kind::Object(map), Accessor::Key(k)) => map.get(k)?,
            (Kind::Array(items), Accessor::Index(i)) => items.get(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
        secret |= node.secret;
    }
    let mut v = node.clone();
    if secret {
        v.deep_secret();
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Accessor::{Index, Key};

    fn key(s: &str) -> Accessor {
        Key(s.into())
    }

    #[test]
    fn paths_use_the_language_grammar() {
        assert_eq!(parse_path("").unwrap(), []);
        assert_eq!(
            parse_path("a[0][\"x.y\"].c").unwrap(),
            [key("a"), Index(0), key("x.y"), key("c")]
        );
        let err = parse_path("app[").unwrap_err().to_string();
        assert!(err.starts_with("invalid property path \"app[\": "), "{err}");
        assert!(err.ends_with("integer (at the end)"), "{err}");
        let err = parse_path("a b").unwrap_err().to_string();
        assert!(err.ends_with("character (at character 2)"), "{err}");
        assert!(parse_path("[0]").is_err());
        assert!(parse_path("a b").is_err());
    }

    #[test]
    fn lookups_inherit_secrecy() {
        let mut inner = Value::object([("k".to_string(), Value::string("v"))]);
        inner.secret = true;
        let root = Value::object([
            ("s".to_string(), inner),
            (
                "arr".to_string(),
                Value::new(Kind::Array(vec![Value::string("z")])),
            ),
        ]);
        let get = |p: &str| lookup(&root, &parse_path(p).unwrap());
        let got = get("s.k").unwrap();
        assert!(got.secret);
        assert_eq!(got.as_str(), Some("v"));
        assert_eq!(get("arr[0]").unwrap().as_str(), Some("z"));
        assert!(get("arr[1]").is_none());
        assert!(get("arr[-1]").is_none());
        assert!(get("missing").is_none());
        assert_eq!(get("").unwrap().as_object().map(|m| m.len()), Some(2));
    }
}
