//! Finds the `fn::secret` nodes under `values` in a definition's text and
//! replaces them in place by their byte spans, so that comments, order and
//! formatting stay as the user wrote them. Every rewrite is checked: the
//! result must parse to the same document but for the secrets.

use std::ops::Range;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use crate::lang::interp::{self, Accessor};
use crate::lang::syntax::{self, Node, NodeKind};

/// One `fn::secret` call found in a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The property path below `values`, e.g. `db.password`.
    pub path: String,
    /// The bytes of the argument: the plaintext scalar, or the whole
    /// `{ciphertext: ...}` mapping.
    pub span: Range<usize>,
    pub form: Form,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// A string literal: its value with `$$` unescaped, or `None` when it
    /// is no literal (it interpolates; the evaluator reports it).
    Plain(Option<String>),
    Ciphertext(String),
}

/// A container being read.
struct Frame {
    path: Vec<Accessor>,
    under_values: bool,
    flow: bool,
    /// Byte offset of `{`/`[` (flow) or of the first key (block mapping).
    start: Option<usize>,
    kind: FrameKind,
}

enum FrameKind {
    Seq {
        index: i64,
    },
    Map {
        key: Option<(String, usize)>,
        entries: usize,
        /// The argument of an `fn::secret` key in this mapping.
        secret: Option<(Range<usize>, Form)>,
        /// The `ciphertext` entry when this mapping may be an argument.
        ciphertext: Option<(Range<usize>, String)>,
    },
}

/// The `fn::secret` calls under `values`, in document order.
pub fn find(text: &str) -> Result<Vec<Found>, String> {
    scan(text).map(|s| s.secrets)
}

/// The span of the scalar at `values.<path>`, if that node is a scalar
/// (`env set` replaces it in place, keeping the rest as written).
pub fn scalar_span(text: &str, path: &[Accessor]) -> Result<Option<Range<usize>>, String> {
    let scan = scan(text)?;
    Ok(scan
        .scalars
        .into_iter()
        .find(|(p, _)| p.as_slice() == path)
        .map(|(_, span)| span))
}

struct Scan {
    secrets: Vec<Found>,
    /// Every scalar value under `values` (not keys), with its path.
    scalars: Vec<(Vec<Accessor>, Range<usize>)>,
}

fn scan(text: &str) -> Result<Scan, String> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    let mut scalars = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        let at = offsets.byte(mark.index());
        // What the finished node was, for its parent: a scalar with its
        // span and value, or a finished mapping that may be a ciphertext.
        let done: Node2 = match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Scalar(value, style, ..) => {
                let flow = stack.last().is_some_and(|f| f.flow);
                let indent = parent_indent(text, &stack);
                let start = match style {
                    TScalarStyle::Literal | TScalarStyle::Folded => block_header(text, at),
                    _ => at,
                };
                let end = scalar_end(text, start, style, flow, indent)?;
                Node2::Scalar(value, start..end)
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let (path, under_values) = child_context(&stack);
                let flow = matches!(text.as_bytes().get(at), Some(b'{' | b'['));
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    FrameKind::Seq { index: 0 }
                } else {
                    FrameKind::Map {
                        key: None,
                        entries: 0,
                        secret: None,
                        ciphertext: None,
                    }
                };
                stack.push(Frame {
                    path,
                    under_values,
                    flow,
                    start: flow.then_some(at),
                    kind,
                });
                continue;
            }
            Event::SequenceEnd => {
                stack.pop();
                Node2::Other
            }
            Event::MappingEnd => {
                let Some(frame) = stack.pop() else { continue };
                let FrameKind::Map {
                    entries,
                    secret,
                    ciphertext,
                    ..
                } = frame.kind
                else {
                    continue;
                };
                if entries == 1 && frame.under_values {
                    if let Some((span, form)) = secret {
                        found.push(Found {
                            path: interp::path_string(&frame.path),
                            span,
                            form,
                        });
                    }
                }
                match (entries, ciphertext, frame.start) {
                    (1, Some((value, c)), Some(start)) => {
                        let end = if frame.flow {
                            closing_brace(text, value.end)?
                        } else {
                            value.end
                        };
                        Node2::Ciphertext(start..end, c)
                    }
                    _ => Node2::Other,
                }
            }
            _ => continue,
        };
        let top = stack.len() == 1;
        let Some(parent) = stack.last_mut() else {
            continue;
        };
        if let (Node2::Scalar(_, span), true, false) = (&done, parent.under_values, top) {
            let step = match &parent.kind {
                FrameKind::Seq { index } => Some(Accessor::Index(*index)),
                FrameKind::Map { key, .. } => key.as_ref().map(|(k, _)| Accessor::Key(k.clone())),
            };
            if let Some(step) = step {
                let mut path = parent.path.clone();
                path.push(step);
                scalars.push((path, span.clone()));
            }
        }
        match &mut parent.kind {
            FrameKind::Seq { index } => *index += 1,
            FrameKind::Map {
                key,
                entries,
                secret,
                ciphertext,
            } => match key.take() {
                None => {
                    let Node2::Scalar(k, span) = done else {
                        // A complex key: it names nothing we look for.
                        *key = Some((String::new(), at));
                        continue;
                    };
                    if parent.start.is_none() {
                        parent.start = Some(span.start);
                    }
                    *key = Some((k, span.start));
                }
                Some((k, _)) => {
                    *entries += 1;
                    if k == "fn::secret" {
                        *secret = match done {
                            Node2::Scalar(v, span) => Some((span, plain_form(v))),
                            Node2::Ciphertext(span, c) => Some((span, Form::Ciphertext(c))),
                            Node2::Other => None,
                        };
                    } else if k == "ciphertext" {
                        if let Node2::Scalar(v, span) = done {
                            *ciphertext = Some((span, v));
                        }
                    }
                }
            },
        }
    }
    Ok(Scan {
        secrets: found,
        scalars,
    })
}

enum Node2 {
    Scalar(String, Range<usize>),
    Ciphertext(Range<usize>, String),
    Other,
}

fn plain_form(value: String) -> Form {
    let (mut parts, errors) = interp::parse(&value);
    match parts.len() {
        _ if !errors.is_empty() => Form::Plain(None),
        0 => Form::Plain(Some(String::new())),
        1 if parts[0].access.is_none() => Form::Plain(parts.pop().map(|p| p.text)),
        _ => Form::Plain(None),
    }
}

/// The path and `values` flag of a node about to start in the top frame.
fn child_context(stack: &[Frame]) -> (Vec<Accessor>, bool) {
    let Some(parent) = stack.last() else {
        return (Vec::new(), false);
    };
    let mut path = parent.path.clone();
    match &parent.kind {
        FrameKind::Seq { index } => {
            path.push(Accessor::Index(*index));
            (path, parent.under_values)
        }
        FrameKind::Map { key, .. } => {
            let k = key.as_ref().map(|(k, _)| k.clone()).unwrap_or_default();
            if stack.len() == 1 {
                // Top-level keys match case-insensitively, as ESC does.
                return (path, k.eq_ignore_ascii_case("values"));
            }
            path.push(Accessor::Key(k));
            (path, parent.under_values)
        }
    }
}

/// The column (0-based) of the block mapping a scalar belongs to: block
/// scalar content and plain continuation lines are indented deeper.
fn parent_indent(text: &str, stack: &[Frame]) -> usize {
    match stack.last().and_then(|f| f.start) {
        Some(start) => column_of(text, start),
        None => 0,
    }
}

fn column_of(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].chars().count()
}

/// Where the scalar starting at byte `at` ends.
fn scalar_end(
    text: &str,
    at: usize,
    style: TScalarStyle,
    flow: bool,
    indent: usize,
) -> Result<usize, String> {
    let b = text.as_bytes();
    let unclosed = || format!("a quoted string at byte {at} is not closed");
    match style {
        TScalarStyle::SingleQuoted => {
            let mut i = at + 1;
            loop {
                match b.get(i) {
                    None => return Err(unclosed()),
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => return Ok(i + 1),
                    Some(_) => i += 1,
                }
            }
        }
        TScalarStyle::DoubleQuoted => {
            let mut i = at + 1;
            loop {
                match b.get(i) {
                    None => return Err(unclosed()),
                    Some(b'\\') => i += 2,
                    Some(b'"') => return Ok(i + 1),
                    Some(_) => i += 1,
                }
            }
        }
        TScalarStyle::Literal | TScalarStyle::Folded => {
            // The header line, then every line blank or deeper than the
            // parent; trailing blank lines belong to what follows.
            let mut end = line_end(text, at);
            let mut next = end + 1;
            while next < text.len() {
                let stop = line_end(text, next);
                let line = &text[next..stop];
                if line.trim().is_empty() {
                    next = stop + 1;
                    continue;
                }
                if line.len() - line.trim_start_matches(' ').len() <= indent {
                    break;
                }
                end = stop;
                next = stop + 1;
            }
            Ok(end.min(text.len()))
        }
        _ if at >= text.len() => Ok(at),
        _ => {
            // A plain scalar: up to a comment, `: `, a flow indicator in
            // flow context, or the end of the line, continued on deeper
            // lines in block context.
            let mut end = plain_line_end(text, at, flow);
            let mut next = line_end(text, at) + 1;
            if end == line_end(text, at) && !flow {
                while next < text.len() {
                    let stop = line_end(text, next);
                    let line = &text[next..stop];
                    let content = line.trim_start_matches(' ');
                    if content.is_empty() {
                        next = stop + 1;
                        continue;
                    }
                    if line.len() - content.len() <= indent || content.starts_with('#') {
                        break;
                    }
                    let start = next + (line.len() - content.len());
                    end = plain_line_end(text, start, false);
                    if end != stop {
                        break;
                    }
                    next = stop + 1;
                }
            }
            Ok(end)
        }
    }
}

/// Where the `|` or `>` of a block scalar whose content starts at `at` is:
/// the first one after a blank on the last non-blank line before it.
fn block_header(text: &str, at: usize) -> usize {
    let before = text[..at].trim_end();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    let b = line.as_bytes();
    (0..b.len())
        .find(|&i| matches!(b[i], b'|' | b'>') && (i == 0 || matches!(b[i - 1], b' ' | b'\t')))
        .map_or(at, |i| line_start + i)
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// The end of a plain scalar's text on the line starting at `from`,
/// trailing blanks left out.
fn plain_line_end(text: &str, from: usize, flow: bool) -> usize {
    let b = text.as_bytes();
    let stop = line_end(text, from);
    let mut i = from;
    while i < stop {
        let c = b[i];
        let next_blank = matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r'));
        let prev_blank = i > from && matches!(b[i - 1], b' ' | b'\t');
        if (c == b'#' && prev_blank)
            || (c == b':'
                && (next_blank || (flow && matches!(b.get(i + 1), Some(b',' | b'}' | b']')))))
            || (flow && matches!(c, b',' | b'}' | b']' | b'{' | b'['))
        {
            break;
        }
        i += 1;
    }
    while i > from && matches!(b[i - 1], b' ' | b'\t' | b'\r') {
        i -= 1;
    }
    i
}

/// Just past the `}` closing a flow mapping whose last value ends at `from`.
fn closing_brace(text: &str, from: usize) -> Result<usize, String> {
    let mut i = from;
    let b = text.as_bytes();
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b',') {
        i += 1;
    }
    match b.get(i) {
        Some(b'}') => Ok(i + 1),
        _ => Err(format!("no closing brace after byte {from}")),
    }
}

/// Character offsets (what the YAML parser counts) to byte offsets.
struct Offsets {
    /// Byte offset of every character, for non-ASCII text only.
    table: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        Offsets {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, chars: usize) -> usize {
        match &self.table {
            None => chars.min(self.len),
            Some(t) => t.get(chars).copied().unwrap_or(self.len),
        }
    }
}

/// `text` with each span replaced; spans must not overlap.
pub fn apply(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// How a secret's argument is written: the ciphertext form as ESC writes it.
pub fn ciphertext_node(ciphertext: &str) -> String {
    format!("{{ciphertext: {ciphertext}}}")
}

/// A plaintext argument that evaluates to `plain`: a double-quoted YAML
/// string (JSON's escapes are YAML's), `$` doubled as the language wants.
pub fn plaintext_node(plain: &str) -> String {
    serde_json::to_string(&plain.replace('$', "$$")).unwrap_or_default()
}

/// Checks that `after` is `before` but for the arguments of `fn::secret`.
pub fn same_but_secrets(before: &str, after: &str) -> Result<(), String> {
    let shape = |t: &str| -> Result<String, String> {
        let node = syntax::parse(t.as_bytes()).map_err(|e| e.message)?;
        let mut out = String::new();
        if let Some(n) = node {
            write_shape(&n, &mut out);
        }
        Ok(out)
    };
    if shape(before)? == shape(after)? {
        Ok(())
    } else {
        Err("the rewritten definition does not read as the original".into())
    }
}

fn write_shape(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::Object(entries) => {
            let secret_call = entries.len() == 1
                && matches!(&entries[0].0.kind, NodeKind::String { value, .. } if value == "fn::secret");
            out.push('{');
            for (k, v) in entries {
                write_shape(k, out);
                out.push(':');
                if secret_call {
                    out.push_str("<secret>");
                } else {
                    write_shape(v, out);
                }
                out.push(',');
            }
            out.push('}');
        }
        NodeKind::Array(items) => {
            out.push('[');
            for i in items {
                write_shape(i, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(String, &str, Form)> {
        find(text)
            .unwrap()
            .into_iter()
            .map(|f| (f.path, &text[f.span], f.form))
            .collect()
    }

    fn plain(s: &str) -> Form {
        Form::Plain(Some(s.to_string()))
    }

    #[test]
    fn finds_every_form_with_its_span() {
        let text = "# top\nvalues:\n  a:\n    fn::secret: hunter2   # note\n  b: {fn::secret: 'it''s'}\n  c:\n    fn::secret: \"q\\\"x\"\n  d:\n    fn::secret: |\n      line1\n      line2\n\n  e:\n    fn::secret:\n      ciphertext: ZXNjeA==\n  f: {fn::secret: {ciphertext: ZXNjeB== }}\n  l:\n    - fn::secret: p$$x\n    - fn::secret: ${a}\n  g:\n    fn::secret: two\n      words\n  notme:\n    fn::secret: x\n    other: y\nimports: []\n";
        let got = spans(text);
        assert_eq!(
            got,
            vec![
                ("a".into(), "hunter2", plain("hunter2")),
                ("b".into(), "'it''s'", plain("it's")),
                ("c".into(), "\"q\\\"x\"", plain("q\"x")),
                (
                    "d".into(),
                    "|\n      line1\n      line2",
                    plain("line1\nline2\n")
                ),
                (
                    "e".into(),
                    "ciphertext: ZXNjeA==",
                    Form::Ciphertext("ZXNjeA==".into())
                ),
                (
                    "f".into(),
                    "{ciphertext: ZXNjeB== }",
                    Form::Ciphertext("ZXNjeB==".into())
                ),
                ("l[0]".into(), "p$$x", plain("p$x")),
                ("l[1]".into(), "${a}", Form::Plain(None)),
                ("g".into(), "two\n      words", plain("two words")),
            ]
        );
        assert!(find("fn::secret: x\n").unwrap().is_empty());
        assert!(find("Values:\n  x: {fn::secret: y}\n").unwrap().len() == 1);
    }

    #[test]
    fn rewrites_keep_the_rest() {
        let text = "values:\n  # keep me\n  z: 1\n  a:\n    fn::secret: |\n      multi\n  b: {fn::secret: ünïcode}  # and me\n";
        let found = find(text).unwrap();
        let edits = found
            .iter()
            .map(|f| (f.span.clone(), ciphertext_node("QUJD")))
            .collect();
        let out = apply(text, edits);
        assert_eq!(
            out,
            "values:\n  # keep me\n  z: 1\n  a:\n    fn::secret: {ciphertext: QUJD}\n  b: {fn::secret: {ciphertext: QUJD}}  # and me\n"
        );
        same_but_secrets(text, &out).unwrap();
        let back: Vec<_> = find(&out)
            .unwrap()
            .into_iter()
            .map(|f| (f.span.clone(), plaintext_node("a\"$b\n")))
            .collect();
        let revealed = apply(&out, back);
        assert_eq!(
            find(&revealed).unwrap()[0].form,
            plain("a\"$b\n"),
            "{revealed}"
        );
        assert!(same_but_secrets(text, "values:\n  z: 2\n").is_err());
    }
}
