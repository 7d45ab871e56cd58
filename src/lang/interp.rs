//! The `${...}` grammar inside YAML strings.
//!
//! `$$` is a literal `$` everywhere; `${` starts an access that ends at `}`:
//! a root name or `["key"]`, then `.name`, `["key"]` or `[index]` accessors.
//! A broken access still yields its accessors (so evaluation can add what
//! it finds) plus errors whose offsets point into the string.

#[derive(Debug, Clone, PartialEq)]
pub enum Accessor {
    Key(String),
    Index(i64),
}

/// One accessor and the character offset where it starts in the string.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub accessor: Accessor,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub steps: Vec<Step>,
}

/// Literal text followed by an optional access.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub text: String,
    pub access: Option<Access>,
}

/// A grammar error at a character offset in the string.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: &'static str,
    pub offset: usize,
}

/// The message alone: what the offset counts from depends on the caller.
impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ParseError {}

pub const MISSING_BRACE: &str = "missing closing brace '}' in interpolation";
/// In a bare path there is no brace to close: what ends an access early
/// (whitespace, a stray character or `}`) is simply out of place.
pub const UNEXPECTED_IN_PATH: &str = "unexpected character";

/// Splits `s` into parts. A string without accesses gives one part (its
/// text with `$$` unescaped) or none when empty.
pub fn parse(s: &str) -> (Vec<Part>, Vec<ParseError>) {
    let chars: Vec<char> = s.chars().collect();
    let mut parser = Scan {
        chars: &chars,
        at: 0,
        errors: Vec::new(),
    };
    let mut parts = Vec::new();
    let mut text = String::new();
    while parser.at < chars.len() {
        match (chars[parser.at], chars.get(parser.at + 1)) {
            ('$', Some('$')) => {
                text.push('$');
                parser.at += 2;
            }
            ('$', Some('{')) => {
                parser.at += 2;
                let access = parser.access();
                parts.push(Part {
                    text: std::mem::take(&mut text),
                    access: Some(access),
                });
            }
            (c, _) => {
                text.push(c);
                parser.at += 1;
            }
        }
    }
    if !text.is_empty() {
        parts.push(Part { text, access: None });
    }
    (parts, parser.errors)
}

/// Parses a bare access path such as `a.b[0]["c"]` (no `${}`), as `open ENV
/// PATH` takes it. `None` when it does not parse cleanly.
pub fn parse_path(path: &str) -> Option<Access> {
    try_parse_path(path).ok()
}

/// [`parse_path`] with the first grammar error; offsets count characters
/// of `path`.
pub fn try_parse_path(path: &str) -> Result<Access, ParseError> {
    // The path is read as the inside of `${...}`: the closing brace we add
    // is what ends it, so a `}` before it leaves text behind.
    let chars: Vec<char> = path.chars().chain(['}']).collect();
    let mut scan = Scan {
        chars: &chars,
        at: 0,
        errors: Vec::new(),
    };
    let access = scan.access();
    let unexpected = |offset| ParseError {
        message: UNEXPECTED_IN_PATH,
        offset,
    };
    match scan.errors.into_iter().next() {
        Some(e) if e.message == MISSING_BRACE => Err(unexpected(e.offset)),
        Some(e) => Err(e),
        None if scan.at < chars.len() => Err(unexpected(scan.at - 1)),
        None => Ok(access),
    }
}

struct Scan<'a> {
    chars: &'a [char],
    at: usize,
    errors: Vec<ParseError>,
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn error(&mut self, message: &'static str, offset: usize) {
        self.errors.push(ParseError { message, offset });
    }

    /// Called just after `${`; consumes through the closing `}` if present.
    fn access(&mut self) -> Access {
        let mut steps = Vec::new();
        // The root: a name (possibly empty) or a subscript. A leading dot is tolerated.
        let lead = self.at;
        if self.peek() == Some('.') {
            self.at += 1;
        }
        if self.peek() == Some('[') {
            let start = self.at;
            if let Some(accessor) = self.subscript() {
                if matches!(accessor, Accessor::Index(_)) {
                    self.error(
                        "the first accessor must be a property name or key subscript, not a numeric subscript",
                        start,
                    );
                }
                steps.push(Step {
                    accessor,
                    offset: start,
                });
            }
        } else {
            // ESC's range of a dotted root starts at the dot.
            let name = self.name();
            steps.push(Step {
                accessor: Accessor::Key(name),
                offset: lead,
            });
        }
        loop {
            match self.peek() {
                Some('}') => {
                    self.at += 1;
                    return Access { steps };
                }
                Some('.') => {
                    let dot = self.at;
                    self.at += 1;
                    let name = self.name();
                    if name.is_empty() {
                        self.error("property name must not be empty", dot);
                    } else {
                        steps.push(Step {
                            accessor: Accessor::Key(name),
                            offset: dot,
                        });
                    }
                }
                Some('[') => {
                    let start = self.at;
                    if let Some(accessor) = self.subscript() {
                        steps.push(Step {
                            accessor,
                            offset: start,
                        });
                    }
                }
                // End of string, or whitespace (which no access may contain):
                // the rest of the string is text again.
                _ => {
                    self.error(MISSING_BRACE, self.at);
                    return Access { steps };
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' || c == '}' || c.is_whitespace() {
                break;
            }
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    /// At `[`: a quoted key or a decimal index, then `]`.
    fn subscript(&mut self) -> Option<Accessor> {
        let open = self.at;
        self.at += 1;
        let accessor = if self.peek() == Some('"') {
            let quote = self.at;
            self.at += 1;
            let mut key = String::new();
            let mut closed = false;
            while let Some(c) = self.peek() {
                self.at += 1;
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' if self.peek() == Some('"') => {
                        key.push('"');
                        self.at += 1;
                    }
                    c => key.push(c),
                }
            }
            if !closed {
                self.error("key subscript is missing closing quote '\"'", quote);
            } else if key.is_empty() {
                self.error("key subscript must not be empty", quote);
            }
            Some(Accessor::Key(key))
        } else {
            let start = self.at;
            while let Some(c) = self.peek() {
                if c == ']' || c == '}' {
                    break;
                }
                self.at += 1;
            }
            let text: String = self.chars[start..self.at].iter().collect();
            match parse_index(&text) {
                Some(i) => Some(Accessor::Index(i)),
                None => {
                    self.error(
                        "numeric subscript must be a positive base-10 integer",
                        start,
                    );
                    None
                }
            }
        };
        if self.peek() == Some(']') {
            self.at += 1;
        } else {
            self.error("subscript is missing closing bracket ']'", open);
        }
        accessor
    }
}

fn parse_index(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Access {
    /// The accessors without their offsets.
    pub fn accessors(&self) -> Vec<Accessor> {
        self.steps.iter().map(|s| s.accessor.clone()).collect()
    }
}

impl std::fmt::Display for Access {
    /// ESC path syntax: `a.b[0]["k-1"]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&path_string(&self.accessors()))
    }
}

/// Renders a path in ESC syntax: names that are plain identifiers with dots,
/// everything else as `["quoted"]` subscripts.
pub fn path_string(accessors: &[Accessor]) -> String {
    let mut out = String::new();
    for accessor in accessors {
        push_accessor(&mut out, accessor);
    }
    out
}

pub fn push_accessor(out: &mut String, accessor: &Accessor) {
    match accessor {
        Accessor::Index(i) => out.push_str(&format!("[{i}]")),
        Accessor::Key(k) if is_plain_name(k) => {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k);
        }
        Accessor::Key(k) => out.push_str(&format!("[\"{}\"]", k.replace('"', "\\\""))),
    }
}

fn is_plain_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(s: &str) -> Vec<(&'static str, usize)> {
        parse(s)
            .1
            .into_iter()
            .map(|e| (e.message, e.offset))
            .collect()
    }

    #[test]
    fn escapes_and_parts() {
        let (parts, errors) = parse("a$$b $${x} ${y.z[0][\"q\\\"\"]}!");
        assert!(errors.is_empty());
        assert_eq!(parts[0].text, "a$b ${x} ");
        let access = parts[0].access.as_ref().unwrap();
        assert_eq!(access.to_string(), "y.z[0][\"q\\\"\"]");
        assert_eq!(parts[1].text, "!");
    }

    #[test]
    fn broken_accesses_report_esc_errors() {
        assert_eq!(messages("${"), vec![(MISSING_BRACE, 2)]);
        assert_eq!(
            messages("${open[\"foo]}"),
            vec![
                ("key subscript is missing closing quote '\"'", 7),
                ("subscript is missing closing bracket ']'", 6),
                (MISSING_BRACE, 13)
            ]
        );
        assert_eq!(
            messages("${array[1}"),
            vec![("subscript is missing closing bracket ']'", 7)]
        );
        assert_eq!(
            messages("${array[notAnIndex]}"),
            vec![("numeric subscript must be a positive base-10 integer", 8)]
        );
        assert_eq!(
            messages("${2.[\"bad\"]}"),
            vec![("property name must not be empty", 3)]
        );
        assert!(messages("${}").is_empty());
        assert!(messages("${.bad}").is_empty());
        assert_eq!(messages("${[2]}").len(), 1);
    }

    #[test]
    fn paths_render_in_esc_syntax() {
        let access = parse_path("x[\"k-1\"][0].y").unwrap();
        assert_eq!(access.to_string(), "x[\"k-1\"][0].y");
        assert!(parse_path("a b").is_none());
    }

    #[test]
    fn bare_paths_report_their_first_error() {
        let err = |p: &str| {
            let e = try_parse_path(p).unwrap_err();
            (e.message, e.offset)
        };
        assert_eq!(err("a b"), (UNEXPECTED_IN_PATH, 1));
        assert_eq!(err("a[0]x"), (UNEXPECTED_IN_PATH, 4));
        assert_eq!(err("a}b"), (UNEXPECTED_IN_PATH, 1));
        assert_eq!(err("a.").0, "property name must not be empty");
        assert_eq!(err("a[1").0, "subscript is missing closing bracket ']'");
        assert_eq!(
            err("a[\"x"),
            ("key subscript is missing closing quote '\"'", 2)
        );
        let key = try_parse_path("[\"a}b\"].c").unwrap();
        assert_eq!(
            key.accessors(),
            [Accessor::Key("a}b".into()), Accessor::Key("c".into())]
        );
        assert_eq!(key.steps[1].offset, 7);
    }
}
