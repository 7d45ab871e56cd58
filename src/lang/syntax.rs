//! YAML text → a tree of nodes that remember where they were written.
//!
//! Scalars are resolved with the YAML 1.2 core schema (as ESC's yaml.v3 does);
//! the tree is built from parser events with an explicit stack, so a deeply
//! nested document cannot overflow the Rust stack.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::value::Number;

/// Deeper documents are refused: nothing real nests this far, and every
/// later stage recurses over the tree.
pub const MAX_DEPTH: usize = 256;

/// Larger definitions are refused before parsing.
pub const MAX_SIZE: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Number(Number),
    /// `quoted` is true for every non-plain style: the column of the text
    /// then starts one character after `pos`.
    String {
        value: String,
        quoted: bool,
    },
    Array(Vec<Node>),
    /// Keys are kept in order, duplicates included: later stages decide.
    Object(Vec<(Node, Node)>),
}

/// A problem that stops parsing: the document is not evaluated.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Pos,
}

impl NodeKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Number(_) => "number",
            NodeKind::String { .. } => "string",
            NodeKind::Array(_) => "array",
            NodeKind::Object(_) => "object",
        }
    }
}

/// Parses the first YAML document of `source`; `Ok(None)` for an empty one.
pub fn parse(source: &[u8]) -> Result<Option<Node>, SyntaxError> {
    let mut allowance = usize::MAX;
    parse_counted(source, &mut allowance)
}

/// [`parse`] that takes each node (scalar, sequence, mapping) from
/// `allowance`, and stops with an error when it runs out: what a definition
/// costs to evaluate grows with its nodes, and 16 MB can hold millions.
pub fn parse_counted(source: &[u8], allowance: &mut usize) -> Result<Option<Node>, SyntaxError> {
    if source.len() > MAX_SIZE {
        return Err(SyntaxError {
            message: format!(
                "the definition is {:.1} MB; escsh reads definitions of at most {} MB: split it into imported environments",
                source.len() as f64 / 1e6,
                MAX_SIZE / (1024 * 1024)
            ),
            pos: Pos::default(),
        });
    }
    let text = std::str::from_utf8(source).map_err(|e| {
        let pos = position_of(source, e.valid_up_to());
        SyntaxError {
            message: format!(
                "invalid UTF-8 (byte 0x{:02x}) at line {}, column {}: definitions must be UTF-8 text",
                source[e.valid_up_to()],
                pos.line,
                pos.column
            ),
            pos,
        }
    })?;
    build(text, allowance)
}

fn position_of(source: &[u8], offset: usize) -> Pos {
    let before = &source[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos { line, column }
}

fn pos(mark: &Marker) -> Pos {
    Pos {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

/// A container being filled while its events stream in.
enum Open {
    Array(Vec<Node>, Pos),
    /// Entries so far, and a key waiting for its value.
    Object(Vec<(Node, Node)>, Option<Node>, Pos),
}

fn build(text: &str, allowance: &mut usize) -> Result<Option<Node>, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| syntax_error(&e, &stack))?;
        let at = pos(&mark);
        if matches!(
            event,
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..)
        ) {
            if *allowance == 0 {
                return Err(SyntaxError {
                    message: super::budget::Limit::Nodes.message(),
                    pos: at,
                });
            }
            *allowance -= 1;
        }
        let node = match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => continue,
            Event::Alias(_) => {
                return Err(SyntaxError {
                    message: "alias nodes are not supported: write the value out again or import a shared environment".into(),
                    pos: at,
                })
            }
            Event::Scalar(value, style, _, tag) => Node {
                kind: resolve_scalar(value, style, tag.as_ref().map(|t| t.suffix.as_str())),
                pos: at,
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        message: format!(
                            "the document nests deeper than {MAX_DEPTH} levels at line {}, column {}: flatten it",
                            at.line, at.column
                        ),
                        pos: at,
                    });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Array(Vec::new(), at)
                } else {
                    Open::Object(Vec::new(), None, at)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Array(items, p)) => Node {
                    kind: NodeKind::Array(items),
                    pos: p,
                },
                Some(Open::Object(entries, _, p)) => Node {
                    kind: NodeKind::Object(entries),
                    pos: p,
                },
                None => continue,
            },
        };
        match stack.last_mut() {
            None => {
                root = Some(node);
                break;
            }
            Some(Open::Array(items, _)) => items.push(node),
            Some(Open::Object(entries, key, at)) => match key.take() {
                None => {
                    // The parser marks a block mapping after its first key;
                    // ESC (yaml.v3) places it at that key, a flow mapping at
                    // its `{`, which comes first anyway.
                    if entries.is_empty() {
                        *at = (*at).min(node.pos);
                    }
                    *key = Some(node)
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(root)
}

/// Words a YAML error the way libyaml does ("did not find expected ...")
/// and, for an unclosed collection, says where it was opened.
fn syntax_error(e: &yaml_rust2::ScanError, stack: &[Open]) -> SyntaxError {
    let info = e.info();
    let problem = match info.split_once(", expected ") {
        Some((_, expected)) => format!("did not find expected {expected}"),
        None => info.to_string(),
    };
    let at = pos(e.marker());
    let opened = stack.last().map(|open| match open {
        Open::Array(_, p) => ("sequence", *p),
        Open::Object(_, _, p) => ("mapping", *p),
    });
    let message = match opened {
        Some((what, p)) if info.starts_with("while parsing a flow") => format!(
            "yaml: line {}: {problem} (the {what} opened at line {}, column {} is not closed)",
            at.line, p.line, p.column
        ),
        _ => format!("yaml: line {}, column {}: {problem}", at.line, at.column),
    };
    SyntaxError { message, pos: at }
}

/// The YAML 1.2 core schema for plain scalars; explicit `!!` tags are
/// honoured; every other tag keeps the raw text.
fn resolve_scalar(value: String, style: TScalarStyle, tag: Option<&str>) -> NodeKind {
    let plain = matches!(style, TScalarStyle::Plain);
    let string = |value| NodeKind::String {
        value,
        quoted: !plain,
    };
    match tag {
        Some("str") => return string(value),
        Some("null") => return NodeKind::Null,
        Some("bool") => {
            return match value.to_ascii_lowercase().as_str() {
                "true" => NodeKind::Bool(true),
                "false" => NodeKind::Bool(false),
                _ => string(value),
            }
        }
        Some("int") | Some("float") => {
            return parse_number(&value).map_or_else(|| string(value), NodeKind::Number)
        }
        Some(_) => return string(value),
        None if !plain => return string(value),
        None => {}
    }
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        _ => parse_number(&value).map_or_else(|| string(value), NodeKind::Number),
    }
}

fn parse_number(s: &str) -> Option<Number> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let radix = |prefix: &str, radix: u32| {
        let body = digits.strip_prefix(prefix)?;
        let n = i64::from_str_radix(body, radix).ok()?;
        Some(Number::Int(if neg { -n } else { n }))
    };
    if let Some(n) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return Some(n);
    }
    match digits {
        ".inf" | ".Inf" | ".INF" => {
            return Some(Number::Float(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }))
        }
        ".nan" | ".NaN" | ".NAN" if s == digits => return Some(Number::Float(f64::NAN)),
        _ => {}
    }
    if digits.is_empty()
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    if !digits.as_bytes()[0].is_ascii_digit() && !digits.starts_with('.') {
        return None;
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Number::Int(i));
        }
    }
    s.parse::<f64>().ok().map(Number::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> NodeKind {
        parse(text.as_bytes()).unwrap().unwrap().kind
    }

    #[test]
    fn core_schema_scalars() {
        assert!(matches!(scalar("~"), NodeKind::Null));
        assert!(matches!(scalar("True"), NodeKind::Bool(true)));
        assert!(matches!(scalar("0x1F"), NodeKind::Number(Number::Int(31))));
        assert!(matches!(scalar("1.50"), NodeKind::Number(Number::Float(f)) if f == 1.5));
        assert!(matches!(scalar("1e3"), NodeKind::Number(Number::Float(f)) if f == 1000.0));
        assert!(matches!(scalar("'42'"), NodeKind::String { .. }));
        assert!(matches!(scalar("2001-12-14"), NodeKind::String { .. }));
        assert!(matches!(scalar("yes"), NodeKind::String { .. }));
        assert!(matches!(scalar("1.2.3"), NodeKind::String { .. }));
    }

    #[test]
    fn positions_are_one_based() {
        let root = parse(b"values:\n  a: b\n").unwrap().unwrap();
        let NodeKind::Object(entries) = root.kind else {
            panic!()
        };
        let NodeKind::Object(inner) = &entries[0].1.kind else {
            panic!()
        };
        assert_eq!(inner[0].1.pos, Pos { line: 2, column: 6 });
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse(b"values:\n  list: [hello, world\n").unwrap_err();
        assert!(
            err.message.contains("did not find expected ',' or ']'")
                && err.message.contains("opened at line 2, column 9"),
            "{}",
            err.message
        );
        let err = parse(b"values:\n  a: b\n c: d\n").unwrap_err();
        assert!(err.message.starts_with("yaml: line 3"), "{}", err.message);
    }

    #[test]
    fn refuses_aliases_deep_nesting_and_bad_utf8() {
        assert!(parse(b"a: &x 1\nb: *x\n")
            .unwrap_err()
            .message
            .contains("alias"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(deep.as_bytes()).unwrap_err().message;
        assert!(
            err.contains("deeper") || err.contains("recursion limit"),
            "{err}"
        );
        let block: String = (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let err = parse(block.as_bytes()).unwrap_err().message;
        assert!(err.contains("deeper than 256 levels"), "{err}");
        let err = parse(b"a: b\nc: \xff\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 4 });
        assert!(err.message.contains("UTF-8"));
    }
}
