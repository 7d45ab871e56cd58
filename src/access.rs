//! Property paths (`app.db["host-1"].ports[0]`) and `${...}` templates, in
//! ESC's access grammar, for the command line: `open ENV PATH`, `env get`,
//! `env set` and the interpolation of `run` arguments. The evaluator has its
//! own parser; this one only has to agree with the grammar.

use std::fmt;

use crate::lang::{Kind, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accessor {
    Key(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("missing closing brace '}}' in interpolation")]
    MissingBrace,
    #[error("property name must not be empty")]
    EmptyName,
    #[error("subscript is missing closing bracket ']'")]
    MissingBracket,
    #[error("key subscript is missing closing quote '\"'")]
    MissingQuote,
    #[error("key subscript must not be empty")]
    EmptyKey,
    #[error("numeric subscript must be a positive base-10 integer")]
    BadIndex,
    #[error(
        "the first accessor must be a property name or key subscript, not a numeric subscript"
    )]
    IndexFirst,
    #[error("unexpected '{0}'")]
    Unexpected(char),
}

/// A piece of a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Access(Vec<Accessor>),
}

/// Parses a property path as given on the command line. An empty path is
/// the whole value.
pub fn parse_path(path: &str) -> Result<Vec<Accessor>, AccessError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Parser {
        s: path,
        i: 0,
        braces: false,
    };
    p.access()
}

/// Splits `s` into text and `${access}` pieces; `$$` is a literal `$`
/// everywhere, a lone `$` is literal.
pub fn parse_template(s: &str) -> Result<Vec<Piece>, AccessError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            text.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            let mut p = Parser {
                s: r,
                i: 0,
                braces: true,
            };
            pieces.push(Piece::Access(p.access()?));
            rest = &r[p.i..];
        } else {
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
    /// Inside `${...}`: `}` ends the access and whitespace is an error.
    braces: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn access(&mut self) -> Result<Vec<Accessor>, AccessError> {
        let mut out = Vec::new();
        // ESC tolerates a leading dot: `${.a}` is `${a}`.
        if self.peek() == Some('.') {
            self.i += 1;
        }
        if self.peek() == Some('[') {
            let first = self.subscript()?;
            if matches!(first, Accessor::Index(_)) {
                return Err(AccessError::IndexFirst);
            }
            out.push(first);
        } else {
            // `${}` is an access to the empty name, as in ESC.
            out.push(Accessor::Key(self.name().to_string()));
        }
        loop {
            match self.peek() {
                None if self.braces => return Err(AccessError::MissingBrace),
                None => return Ok(out),
                Some('}') if self.braces => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('.') => {
                    self.i += 1;
                    let name = self.name();
                    if name.is_empty() {
                        return Err(AccessError::EmptyName);
                    }
                    out.push(Accessor::Key(name.to_string()));
                }
                Some('[') => out.push(self.subscript()?),
                Some(c) if self.braces && c.is_whitespace() => {
                    return Err(AccessError::MissingBrace)
                }
                Some(c) => return Err(AccessError::Unexpected(c)),
            }
        }
    }

    fn name(&mut self) -> &str {
        let start = self.i;
        while let Some(c) = self.peek() {
            let ends = c == '.' || c == '[' || (self.braces && (c == '}' || c.is_whitespace()));
            if ends {
                break;
            }
            self.i += c.len_utf8();
        }
        &self.s[start..self.i]
    }

    /// `[n]` or `["key"]`, starting at the `[`.
    fn subscript(&mut self) -> Result<Accessor, AccessError> {
        self.i += 1;
        let acc = if self.peek() == Some('"') {
            self.i += 1;
            let mut key = String::new();
            loop {
                match self.peek() {
                    None => return Err(AccessError::MissingQuote),
                    Some('"') => {
                        self.i += 1;
                        break;
                    }
                    // Only `\"` is an escape; any other backslash is literal.
                    Some('\\') if self.s[self.i + 1..].starts_with('"') => {
                        key.push('"');
                        self.i += 2;
                    }
                    Some(c) => {
                        key.push(c);
                        self.i += c.len_utf8();
                    }
                }
            }
            if key.is_empty() {
                return Err(AccessError::EmptyKey);
            }
            Accessor::Key(key)
        } else {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == ']' {
                    break;
                }
                self.i += c.len_utf8();
            }
            let digits = &self.s[start..self.i];
            let ok = !digits.is_empty()
                && digits
                    .strip_prefix(['+', '-'])
                    .unwrap_or(digits)
                    .bytes()
                    .all(|b| b.is_ascii_digit());
            if self.peek().is_none() {
                return Err(AccessError::MissingBracket);
            }
            match digits.parse::<i64>() {
                Ok(n) if ok => Accessor::Index(n),
                _ => return Err(AccessError::BadIndex),
            }
        };
        if self.peek() != Some(']') {
            return Err(AccessError::MissingBracket);
        }
        self.i += 1;
        Ok(acc)
    }
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

/// ESC's path syntax: `a.b[0]["k-1"]`.
pub struct PathDisplay<'a>(pub &'a [Accessor]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.0.iter().enumerate() {
            match step {
                Accessor::Index(i) => write!(f, "[{i}]")?,
                Accessor::Key(k) if is_plain_name(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?
                }
                Accessor::Key(k) => write!(f, "[\"{}\"]", k.replace('"', "\\\""))?,
            }
        }
        Ok(())
    }
}

fn is_plain_name(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use Accessor::{Index, Key};

    fn key(s: &str) -> Accessor {
        Key(s.into())
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("a.b").unwrap(), [key("a"), key("b")]);
        assert_eq!(
            parse_path("a[0][\"x.y\"].c").unwrap(),
            [key("a"), Index(0), key("x.y"), key("c")]
        );
        assert_eq!(parse_path("[\"a\\\"b\"]").unwrap(), [key("a\"b")]);
        assert_eq!(parse_path(".a").unwrap(), [key("a")]);
        assert_eq!(parse_path("34.x").unwrap(), [key("34"), key("x")]);
        assert_eq!(parse_path("").unwrap(), []);
        assert_eq!(parse_path("a.").unwrap_err(), AccessError::EmptyName);
        assert_eq!(parse_path("[0]").unwrap_err(), AccessError::IndexFirst);
        assert_eq!(parse_path("a[x]").unwrap_err(), AccessError::BadIndex);
        assert_eq!(parse_path("a[1").unwrap_err(), AccessError::MissingBracket);
        assert_eq!(parse_path("a[\"x").unwrap_err(), AccessError::MissingQuote);
        assert_eq!(parse_path("a[\"\"]").unwrap_err(), AccessError::EmptyKey);
    }

    #[test]
    fn templates() {
        use Piece::{Access, Text};
        assert_eq!(
            parse_template("x=${a.b}!").unwrap(),
            [
                Text("x=".into()),
                Access(vec![key("a"), key("b")]),
                Text("!".into())
            ]
        );
        assert_eq!(
            parse_template("$${a} a$$b $x $").unwrap(),
            [Text("${a} a$b $x $".into())]
        );
        assert_eq!(parse_template("${}").unwrap(), [Access(vec![key("")])]);
        assert_eq!(
            parse_template("${a").unwrap_err(),
            AccessError::MissingBrace
        );
        assert_eq!(
            parse_template("${a b}").unwrap_err(),
            AccessError::MissingBrace
        );
        assert_eq!(
            parse_template("héllo ${é}").unwrap()[1],
            Access(vec![key("é")])
        );
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
        let got = lookup(&root, &parse_path("s.k").unwrap()).unwrap();
        assert!(got.secret);
        assert_eq!(got.as_str(), Some("v"));
        assert_eq!(
            lookup(&root, &parse_path("arr[0]").unwrap())
                .unwrap()
                .as_str(),
            Some("z")
        );
        assert!(lookup(&root, &parse_path("arr[1]").unwrap()).is_none());
        assert!(lookup(&root, &parse_path("arr[-1]").unwrap()).is_none());
        assert!(lookup(&root, &parse_path("missing").unwrap()).is_none());
    }

    #[test]
    fn display() {
        let p = parse_path("a[0][\"k-1\"].b").unwrap();
        assert_eq!(PathDisplay(&p).to_string(), "a[0][\"k-1\"].b");
    }
}
