//! Evaluator behaviour beyond the conformance cases: escsh's own limits,
//! expiry propagation, and error wording.

use std::collections::HashMap;

use super::*;
use super::{BoxFuture, Context, Opened, Provider, ProviderError, Registry};

struct Memory(HashMap<&'static str, &'static str>);

impl Loader for Memory {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        self.0
            .get(name)
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| LoadError::NotFound {
                name: name.to_string(),
                hint: None,
            })
    }
}

/// Returns its inputs and reports the expiry given in `expires`.
struct Expiring;

impl Provider for Expiring {
    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move {
            let expires = match inputs.get("expires").map(|v| &v.kind) {
                Some(Kind::Number(Number::Int(t))) => Some(*t),
                _ => None,
            };
            Ok(Opened {
                value: inputs.clone(),
                expires_at: expires,
            })
        })
    }
}

fn eval_with(source: &str, others: &[(&'static str, &'static str)]) -> Evaluated {
    let mut registry = Registry::new();
    registry.register("expiring", Expiring);
    let options = Options {
        providers: &registry,
        decrypter: None,
        context: Value::object([]),
    };
    evaluate(
        "app/dev",
        source.as_bytes(),
        &Memory(others.iter().copied().collect()),
        &options,
    )
}

fn summaries(e: &Evaluated) -> Vec<String> {
    e.diagnostics.iter().map(|d| d.summary.clone()).collect()
}

#[test]
fn earliest_expiry_wins_across_imports() {
    let e = eval_with(
        "imports: [base]\nvalues:\n  a:\n    fn::open::expiring: {expires: 2000}\n",
        &[(
            "base",
            "values:\n  b:\n    fn::open::expiring: {expires: 1000}\n",
        )],
    );
    assert!(!e.has_errors(), "{:?}", e.diagnostics);
    assert_eq!(e.expires_at, Some(1000));
}

#[test]
fn deep_nesting_within_the_limit_evaluates() {
    let depth = syntax::MAX_DEPTH - 2;
    let mut doc = String::from("values:\n");
    for i in 0..depth {
        doc.push_str(&format!("{}k{i}:\n", "  ".repeat(i + 1)));
    }
    doc.push_str(&format!("{}leaf: ${{top}}\n", "  ".repeat(depth + 1)));
    doc.push_str("  top: here\n");
    let e = eval_with(&doc, &[]);
    assert!(!e.has_errors(), "{:?}", e.diagnostics);
    let mut v = e.value.as_ref().unwrap();
    for i in 0..depth {
        v = v.get(&format!("k{i}")).unwrap();
    }
    assert_eq!(v.get("leaf").unwrap().as_str(), Some("here"));
}

#[test]
fn oversized_and_non_utf8_definitions_are_refused_with_a_position() {
    let big = format!("values:\n  a: \"{}\"\n", "x".repeat(syntax::MAX_SIZE));
    let e = eval_with(&big, &[]);
    assert!(e.value.is_none());
    assert!(summaries(&e)[0].contains("at most 16 MB"));
    let mut options_src = b"values:\n  a: ok\n  b: \xc3\x28\n".to_vec();
    options_src.extend_from_slice(b"\n");
    let registry = Registry::new();
    let options = Options {
        providers: &registry,
        decrypter: None,
        context: Value::object([]),
    };
    let e = evaluate("x", &options_src, &Memory(HashMap::new()), &options);
    let d = &e.diagnostics[0];
    assert_eq!((d.line, d.column), (3, 6));
    assert!(d.summary.contains("invalid UTF-8"));
}

#[test]
fn missing_imports_and_unknown_builtins_are_diagnosed_where_written() {
    let e = eval_with(
        "imports:\n  - nope\nvalues:\n  a: {fn::frobnicate: 1}\n",
        &[],
    );
    let d = e
        .diagnostics
        .iter()
        .find(|d| d.missing_environment.as_deref() == Some("nope"))
        .expect("a missing-environment diagnostic");
    assert_eq!(
        (d.file.as_deref(), d.line, d.column),
        (Some("app/dev"), 2, 5)
    );
    assert!(summaries(&e).contains(&"'fn::' is a reserved prefix".to_string()));
    assert_eq!(e.value.unwrap().get("a").map(|v| v.unknown), Some(true));
}

#[test]
fn ciphertext_without_a_decrypter_says_what_to_do() {
    let e = eval_with(
        "values:\n  p:\n    fn::secret:\n      ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==\n",
        &[],
    );
    assert!(
        summaries(&e)[0].starts_with("decrypting: "),
        "{:?}",
        summaries(&e)
    );
    let p = e.value.unwrap();
    let p = p.get("p").unwrap();
    assert!(p.secret && p.unknown);
}

#[test]
fn diagnostics_never_contain_secret_values() {
    let e = eval_with(
        "values:\n  s: {fn::secret: hunter2-very-secret}\n  n: {fn::toBase64: [\"${s}\"]}\n  j: {fn::fromJSON: \"${s}\"}\n  x: ${s.nope}\n",
        &[],
    );
    assert!(e.has_errors());
    for d in &e.diagnostics {
        assert!(!d.to_string().contains("hunter2"), "{d}");
    }
}

#[test]
fn keys_with_multibyte_characters_near_the_fn_prefix() {
    // Found by the fuzzer (fuzz/regressions/char-boundary-in-builtin-key.yaml).
    let e = eval_with("values:\n fn:\u{186}:\n  x: 1\n", &[]);
    assert!(!e.has_errors(), "{:?}", e.diagnostics);
    let e = eval_with("values:\n  a: {\"fn::\u{186}\": 1}\n", &[]);
    assert!(e
        .diagnostics
        .iter()
        .any(|d| d.summary == "'fn::' is a reserved prefix"));
}
