//! Nushell cannot `eval` text, so `escsh export nu` prints one JSON document
//! that its hook applies: `{"set": {NAME: value}, "unset": [NAME],
//! "keep": {pwd: ..., watch: [...]}}` (`load-env`, `hide-env`, and the
//! hook's own record `$env.__escsh`, which is not exported because it is
//! not a string). Nushell strings are UTF-8 text: a value that is not is
//! refused, never exported changed.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::{Op, ShellError};

/// Variables nushell computes or owns; setting one would fail or break the
/// shell itself.
const RESERVED: &[&str] = &[
    "PWD",
    "OLDPWD",
    "config",
    "FILE_PWD",
    "CURRENT_FILE",
    "LAST_EXIT_CODE",
    "CMD_DURATION_MS",
    "ENV_CONVERSIONS",
];

fn text(name: &str, value: &[u8]) -> Result<String, ShellError> {
    String::from_utf8(value.to_vec()).map_err(|_| ShellError::NotText {
        name: name.to_string(),
        shell: "nushell",
    })
}

fn user_name(name: &str) -> Result<&str, ShellError> {
    if RESERVED.contains(&name) {
        return Err(ShellError::Reserved {
            name: name.to_string(),
            shell: "nushell",
        });
    }
    Ok(name)
}

/// The bookkeeping key: the protocol name without its `__escsh_` prefix
/// (the record itself is `$env.__escsh`).
fn key(name: &str) -> String {
    name.strip_prefix("__escsh_").unwrap_or(name).to_string()
}

pub fn render(ops: &[Op]) -> Result<String, ShellError> {
    let (mut set, mut unset, mut keep) = (Map::new(), Vec::<String>::new(), Map::new());
    for op in ops {
        match op {
            // The hook sets, then hides: a later op on a name wins, as it
            // would in a script (an unload then a load set it again).
            Op::Set(name, value) => {
                unset.retain(|n| n != name);
                set.insert(user_name(name)?.into(), text(name, value)?.into());
            }
            Op::Unset(name) => {
                set.remove(name);
                unset.push(user_name(name)?.to_string());
            }
            Op::Keep(name, value) => {
                keep.insert(key(name), text(name, value)?.into());
            }
            Op::KeepList(name, values) => {
                let list: Result<Vec<Value>, _> = values
                    .iter()
                    .map(|v| text(name, v).map(Value::from))
                    .collect();
                keep.insert(key(name), list?.into());
            }
        }
    }
    let doc = serde_json::json!({ "set": set, "unset": unset, "keep": keep });
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Ascii);
    serde::Serialize::serialize(&doc, &mut ser).map_err(|_| ShellError::NotText {
        name: "the change".into(),
        shell: "nushell",
    })?;
    out.push(b'\n');
    // Only ASCII was written.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Compact JSON in ASCII only (`\uXXXX` for the rest), like the other
/// shells' output: no terminal or locale can change it on the way.
struct Ascii;

impl serde_json::ser::Formatter for Ascii {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// A nushell double-quoted string; only ASCII in the output (escapes for
/// the rest), so no terminal or locale can change it.
pub fn quote(value: &[u8]) -> Result<String, ShellError> {
    let text = text("the escsh binary's path", value)?;
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    out.push('"');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_json_document() {
        let ops = [
            Op::Set("A".into(), b"x\n\"y".to_vec()),
            Op::Unset("B".into()),
            Op::Keep("__escsh_pwd", b"/p".to_vec()),
            Op::KeepList("__escsh_watch", vec![b"/a".to_vec()]),
        ];
        let doc: Value = serde_json::from_str(&render(&ops).unwrap()).unwrap();
        assert_eq!(doc["set"]["A"], "x\n\"y");
        assert_eq!(doc["unset"][0], "B");
        assert_eq!(doc["keep"]["pwd"], "/p");
        assert_eq!(doc["keep"]["watch"][0], "/a");
        let text = render(&[Op::Set("U".into(), "é🚀".as_bytes().to_vec())]).unwrap();
        assert!(
            text.is_ascii() && text.contains(r"\u00e9\ud83d\ude80"),
            "{text}"
        );
    }

    #[test]
    fn the_last_op_on_a_name_wins() {
        let ops = [
            Op::Unset("A".into()),
            Op::Set("A".into(), b"new".to_vec()),
            Op::Set("B".into(), b"old".to_vec()),
            Op::Unset("B".into()),
        ];
        let doc: Value = serde_json::from_str(&render(&ops).unwrap()).unwrap();
        assert_eq!(doc["set"], serde_json::json!({"A": "new"}));
        assert_eq!(doc["unset"], serde_json::json!(["B"]));
    }

    #[test]
    fn refuses_what_nushell_cannot_hold() {
        let err = render(&[Op::Set("A".into(), b"sec\xffret".to_vec())]).unwrap_err();
        let said = err.to_string();
        assert!(said.contains('A') && said.contains("UTF-8") && !said.contains("sec"));
        assert!(render(&[Op::Set("PWD".into(), b"/".to_vec())]).is_err());
    }

    #[test]
    fn quotes() {
        assert_eq!(quote(b"/a b/\"q\"\\").unwrap(), r#""/a b/\"q\"\\""#);
        assert_eq!(quote("\u{fc}\n".as_bytes()).unwrap(), r#""\u{fc}\u{a}""#);
        assert!(quote(b"\xff").is_err());
    }
}
