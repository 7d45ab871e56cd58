//! `escsh env set NAME PATH VALUE`: change one value of a definition.
//!
//! A value that replaces a scalar is written in its place, so comments and
//! layout stay. Anything else (a new key, a list or mapping replaced) is
//! done on the parsed document, re-serialized with serde_yaml: comments and
//! formatting are then lost, and escsh says so (`env edit` keeps them).

use std::collections::HashSet;

use anyhow::{bail, Context as _, Result};
use serde_yaml::{Mapping, Value as Yaml};

use super::env_init::{check_before_save, template};
use super::App;
use crate::access::{self, Accessor};
use crate::cli::EnvSetArgs;
use crate::lang::interp;
use crate::reference::EnvRef;

pub fn set(app: &App, args: &EnvSetArgs) -> Result<()> {
    let env = app.reference(&args.env)?;
    app.local_only(&env, "set")?;
    let path = access::parse_path(&args.path)?;
    if path.is_empty() {
        bail!("the property path is empty; name a value under `values`, e.g. app.url");
    }
    let value = new_value(args)?;
    let original = app.store.read(&env)?;
    let rewritten = set_in_definition(&original, &path, value.clone())?;
    let in_place = set_in_place(&original, &path, &value, &rewritten);
    let updated = in_place.as_deref().unwrap_or(&rewritten);
    check_before_save(app, &env, updated.as_bytes(), args.force)?;
    let sealed = app.seal(&env, updated.as_bytes(), &crate::secrets::Revealed::none())?;
    app.store.write(&env, &sealed)?;
    if in_place.is_none() && has_own_comments(&original, &env) {
        eprintln!("escsh: note: comments in {env} were not kept (`env set` rewrites the YAML; `env edit` keeps them)");
    }
    Ok(())
}

fn new_value(args: &EnvSetArgs) -> Result<Yaml> {
    if args.secret {
        let mut m = Mapping::new();
        m.insert(Yaml::from("fn::secret"), Yaml::String(args.value.clone()));
        return Ok(Yaml::Mapping(m));
    }
    if args.string {
        return Ok(Yaml::String(args.value.clone()));
    }
    // Never echo the value in an error: it may be a secret.
    serde_yaml::from_str(&args.value)
        .map_err(|_| anyhow::anyhow!("VALUE is not valid YAML; pass --string to store it as text"))
}

/// Sets `values.<path>` in the YAML document `source`, creating missing
/// mappings on the way; returns the new document.
pub fn set_in_definition(source: &[u8], path: &[Accessor], value: Yaml) -> Result<String> {
    let mut doc: Yaml = if source.iter().all(u8::is_ascii_whitespace) {
        Yaml::Null
    } else {
        serde_yaml::from_slice(source)
            .context("the definition is not valid YAML; fix it with `escsh env edit`")?
    };
    if doc.is_null() {
        doc = Yaml::Mapping(Mapping::new());
    }
    let Yaml::Mapping(root) = &mut doc else {
        bail!("the definition is not a YAML mapping; fix it with `escsh env edit`");
    };
    // Top-level keys are matched case-insensitively, as ESC does.
    let key = root
        .keys()
        .find(|k| k.as_str().is_some_and(|s| s.eq_ignore_ascii_case("values")))
        .cloned()
        .unwrap_or_else(|| Yaml::from("values"));
    let mut node = root.entry(key).or_insert(Yaml::Null);
    for (i, step) in path.iter().enumerate() {
        let here = || interp::path_string(&path[..i]);
        if node.is_null() && matches!(step, Accessor::Key(_)) {
            *node = Yaml::Mapping(Mapping::new());
        }
        node = match (node, step) {
            (Yaml::Mapping(m), Accessor::Key(k)) => {
                m.entry(Yaml::from(k.as_str())).or_insert(Yaml::Null)
            }
            (Yaml::Sequence(items), Accessor::Index(n)) => {
                let len = items.len();
                let idx = usize::try_from(*n)
                    .ok()
                    .filter(|&i| i <= len)
                    .with_context(|| {
                        format!(
                            "index {n} is out of range at values.{} (length {len})",
                            here()
                        )
                    })?;
                if idx == len {
                    items.push(Yaml::Null);
                }
                &mut items[idx]
            }
            (_, Accessor::Index(_)) => bail!("values.{} is not a list", here()),
            (_, Accessor::Key(_)) => bail!(
                "values.{} is neither a mapping nor empty; cannot set a key in it",
                here()
            ),
        };
    }
    *node = value;
    serde_yaml::to_string(&doc).context("rendering the definition")
}

/// `source` with the scalar at `values.<path>` replaced by `value` in flow
/// style, everything else as written; `None` when no scalar is there, or
/// when the result would not be the document `expected` (the same change
/// made on the parsed document) is.
fn set_in_place(source: &[u8], path: &[Accessor], value: &Yaml, expected: &str) -> Option<String> {
    let text = std::str::from_utf8(source).ok()?;
    let span = crate::secrets::rewrite::scalar_span(text, path).ok()??;
    let mut out = text.to_string();
    out.replace_range(span, &flow(value)?);
    let got: Yaml = serde_yaml::from_str(&out).ok()?;
    let want: Yaml = serde_yaml::from_str(expected).ok()?;
    (got == want).then_some(out)
}

/// `value` on one line, in YAML's flow style: `{fn::secret: "s"}`.
fn flow(value: &Yaml) -> Option<String> {
    let items = |all: Vec<Option<String>>| all.into_iter().collect::<Option<Vec<_>>>();
    Some(match value {
        // JSON's escapes are a subset of YAML's double-quoted ones.
        Yaml::String(s) => serde_json::to_string(s).ok()?,
        Yaml::Sequence(seq) => format!("[{}]", items(seq.iter().map(flow).collect())?.join(", ")),
        Yaml::Mapping(map) => {
            let entries = map
                .iter()
                .map(|(k, v)| Some(format!("{}: {}", key(k)?, flow(v)?)));
            format!("{{{}}}", items(entries.collect())?.join(", "))
        }
        Yaml::Tagged(_) => return None,
        _ => serde_yaml::to_string(value).ok()?.trim_end().to_string(),
    })
}

/// A mapping key: bare when it reads back as the same string.
fn key(k: &Yaml) -> Option<String> {
    let text = k.as_str()?;
    let bare = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        && !text.ends_with(':')
        && !["true", "false", "null"].contains(&text.to_ascii_lowercase().as_str());
    if bare {
        Some(text.to_string())
    } else {
        serde_json::to_string(text).ok()
    }
}

/// Whether `source` has comment lines of the user's: the guidance of the
/// `env init` template is escsh's own, and dropping it is no loss worth a
/// warning.
fn has_own_comments(source: &[u8], env: &EnvRef) -> bool {
    let template = template(env);
    let is_comment = |l: &&str| l.trim_start().starts_with('#');
    let ours: HashSet<&str> = template.lines().filter(is_comment).collect();
    String::from_utf8_lossy(source)
        .lines()
        .map(str::trim_end)
        .filter(is_comment)
        .any(|l| !ours.contains(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(src: &str, path: &str, value: &str) -> Result<String> {
        let v: Yaml = serde_yaml::from_str(value).unwrap();
        set_in_definition(src.as_bytes(), &access::parse_path(path).unwrap(), v)
    }

    #[test]
    fn creates_and_replaces() {
        let out = set("", "app.url", "https://x").unwrap();
        assert_eq!(out, "values:\n  app:\n    url: https://x\n");
        let out = set("imports: [a]\nValues:\n  n: 1\n", "n", "2").unwrap();
        assert_eq!(out, "imports:\n- a\nValues:\n  n: 2\n");
        let out = set("values:\n  l: [1]\n", "l[1]", "x").unwrap();
        assert_eq!(out, "values:\n  l:\n  - 1\n  - x\n");
        let out = set(
            "values:\n  a:\n    b:\n      fn::secret: s\n",
            "a[\"k.1\"]",
            "1",
        )
        .unwrap();
        assert!(out.contains("k.1: 1"), "{out}");
    }

    /// What `env set` saves: in place when it can be.
    fn set_kept(src: &str, path: &str, value: &str) -> String {
        let v: Yaml = serde_yaml::from_str(value).unwrap();
        let path = access::parse_path(path).unwrap();
        let rewritten = set_in_definition(src.as_bytes(), &path, v.clone()).unwrap();
        set_in_place(src.as_bytes(), &path, &v, &rewritten).unwrap_or(rewritten)
    }

    #[test]
    fn a_replaced_scalar_keeps_comments_and_layout() {
        let src = "# the app
values:
  app:
    port: 80 # public
    url: 'x'
  list: [a, \"b\"] # two
  env:
    - one
";
        assert_eq!(
            set_kept(src, "app.port", "8080"),
            src.replace("port: 80 #", "port: 8080 #")
        );
        assert_eq!(
            set_kept(src, "app.url", r#""it's \"q\"\tx""#),
            src.replace("url: 'x'", r#"url: "it's \"q\"\tx""#)
        );
        assert_eq!(
            set_kept(src, "list[1]", "{fn::secret: s}"),
            src.replace("\"b\"]", "{fn::secret: \"s\"}]")
        );
        assert_eq!(
            set_kept(src, "env[0]", "null"),
            src.replace("- one", "- null")
        );
        assert_eq!(
            set_kept(src, "app.port", r#"{"a b": 1, k: [1, two], "true": x}"#),
            src.replace("80 #", r#"{"a b": 1, k: [1, "two"], "true": "x"} #"#)
        );
        // A new key, or a mapping replaced: the whole document is rewritten.
        assert!(!set_kept(src, "app.new", "1").contains('#'));
        assert!(!set_kept(src, "app", "1").contains('#'));
    }

    #[test]
    fn only_the_users_comments_count() {
        let env = EnvRef::parse("e", "local").unwrap();
        assert!(!has_own_comments(template(&env).as_bytes(), &env));
        let edited = template(&env).replace("values: {}", "values:\n  a: 1 # mine\n# mine too");
        assert!(has_own_comments(edited.as_bytes(), &env));
        let other = EnvRef::parse("other", "local").unwrap();
        assert!(has_own_comments(template(&other).as_bytes(), &env));
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        assert!(set("values:\n  a: 1\n", "a.b", "x").is_err());
        assert!(set("values:\n  l: []\n", "l[5]", "x").is_err());
        assert!(set("- a\n", "a", "x").is_err());
        assert!(set("values: [\n", "a", "x").is_err());
    }
}
