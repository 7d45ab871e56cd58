//! ESC's conversions of values to text, which follow Go's formatting:
//! `fn::toString` and interpolation use `strconv.Quote` for the elements of
//! arrays and objects, `fn::toJSON` uses `encoding/json`.

use std::fmt::Write;

use super::value::{Kind, Value};

/// null → "", booleans and numbers their literal text, strings themselves;
/// arrays `"a","b"`; objects `"k"="v"` with sorted keys. Unknown → `[unknown]`.
pub fn to_string(v: &Value) -> String {
    if v.unknown {
        return "[unknown]".into();
    }
    match &v.kind {
        Kind::Null => String::new(),
        Kind::Bool(b) => b.to_string(),
        Kind::Number(n) => n.to_string(),
        Kind::String(s) => s.clone(),
        Kind::Array(items) => items
            .iter()
            .map(|item| go_quote(&to_string(item)))
            .collect::<Vec<_>>()
            .join(","),
        Kind::Object(map) => map
            .iter()
            .map(|(k, item)| format!("{}={}", go_quote(k), go_quote(&to_string(item))))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Go's `strconv.Quote`: printable characters as they are, the rest escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || matches!(c as u32, 0x2028 | 0x2029 | 0xfeff) => {
                if (c as u32) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Compact JSON as Go's `encoding/json` writes it: sorted keys, no spaces,
/// `<`, `>`, `&`, U+2028 and U+2029 escaped. Flags are ignored: the caller
/// decides about secrets and unknowns.
pub fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match &v.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Kind::String(s) => json_string(s, out),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Kind::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::Number;

    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::object(entries.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn to_string_follows_go_quoting() {
        let v = obj(&[
            ("a", Value::null()),
            ("d", Value::new(Kind::Array(vec![Value::string("hello")]))),
            ("c", Value::new(Kind::Number(Number::Int(42)))),
        ]);
        assert_eq!(to_string(&v), r#""a"="","c"="42","d"="\"hello\"""#);
        assert_eq!(go_quote("a\u{1}é\n"), "\"a\\x01é\\n\"");
    }

    #[test]
    fn json_escapes_like_go() {
        let v = obj(&[("k", Value::string("<a&b>\u{2028}"))]);
        assert_eq!(to_json(&v), r#"{"k":"\u003ca\u0026b\u003e\u2028"}"#);
    }
}
