//! Evaluator behaviour beyond the conformance cases: escsh's own limits,
//! expiry propagation, and error wording.

use std::collections::HashMap;

use super::budget;
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
                credentials: Vec::new(),
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
fn missing_imports_are_diagnosed_where_written() {
    let e = eval_with("imports:\n  - nope\nvalues:\n  a: 1\n", &[]);
    let d = e
        .diagnostics
        .iter()
        .find(|d| d.missing_environment.as_deref() == Some("nope"))
        .expect("a missing-environment diagnostic");
    assert_eq!(
        (d.file.as_deref(), d.line, d.column),
        (Some("app/dev"), 2, 5)
    );
}

fn find<'e>(e: &'e Evaluated, summary: &str) -> &'e Diagnostic {
    e.diagnostics
        .iter()
        .find(|d| d.summary == summary)
        .unwrap_or_else(|| panic!("no diagnostic {summary:?} in {:?}", e.diagnostics))
}

fn at(d: &Diagnostic) -> (usize, usize, &str) {
    (d.line, d.column, d.path.as_str())
}

/// Issue 7, item 25.
#[test]
fn an_unknown_function_is_an_error_and_stays_the_object_written() {
    let e = eval_with(
        "values:\n  a:\n    fn::frobnicate:\n      x: 1\n  b: ${a[\"fn::frobnicate\"].x}\n  c: ${a.nope}\n  d: {Fn::Join: [1]}\n",
        &[],
    );
    let d = find(&e, "'fn::' is a reserved prefix");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(at(d), (3, 5, "values.a"));
    let v = e.value.as_ref().unwrap();
    let a = v.get("a").unwrap();
    assert!(!a.unknown);
    assert_eq!(
        a.to_json(false),
        serde_json::json!({"fn::frobnicate": {"x": 1}})
    );
    assert_eq!(v.get("b").unwrap().to_json(false), serde_json::json!(1));
    // An access into it is checked like any object's.
    assert_eq!(at(find(&e, "unknown property \"nope\"")).2, "values.c");
    // The prefix is reserved whatever its case; the names are not.
    assert_eq!(
        e.diagnostics
            .iter()
            .filter(|d| d.summary == "'fn::' is a reserved prefix")
            .count(),
        2
    );
    assert_eq!(
        v.get("d").unwrap().to_json(false),
        serde_json::json!({"Fn::Join": [1]})
    );
}

/// Issue 7, item 26.
#[test]
fn validate_checks_its_schema_and_passes_the_value_through() {
    let e = eval_with(
        "values:\n  bad-type:\n    fn::validate:\n      schema: {type: integer}\n      value: 1\n  not-a-schema:\n    fn::validate:\n      schema: 42\n      value: x\n  bad-ref:\n    fn::validate:\n      schema: {$ref: \"#/definitions/x\"}\n      value: x\n  bad-count:\n    fn::validate:\n      schema: {minLength: -1}\n      value: x\n  no-schema:\n    fn::validate:\n      value: kept\n  good:\n    fn::validate:\n      schema: {type: string, minLength: 3}\n      value: ab\n",
        &[],
    );
    let s = summaries(&e);
    let has = |text: &str| s.iter().any(|x| x.contains(text));
    // The schema's own problems, where they are written.
    let d = e
        .diagnostics
        .iter()
        .find(|d| {
            d.summary.starts_with("type: expected one of")
                || d.summary.starts_with("expected one of")
        })
        .unwrap_or_else(|| panic!("{s:?}"));
    assert_eq!(d.line, 4, "{d}");
    assert!(has("at least one subschema must match"), "{s:?}");
    assert!(
        has("invalid schema: only fragment references of the form #/$defs/ref are supported"),
        "{s:?}"
    );
    assert!(
        has("invalid schema: strconv.ParseUint: parsing \"-1\": invalid syntax"),
        "{s:?}"
    );
    assert_eq!(
        at(find(&e, "missing required property 'schema'")).2,
        "values[\"no-schema\"][\"fn::validate\"]"
    );
    // A good schema is applied to the value, at the value.
    let d = find(&e, "expected a string of at least length 3");
    assert_eq!(d.line, 24);
    // The value passes through in every case.
    let v = e.value.unwrap();
    for (k, want) in [
        ("bad-type", serde_json::json!(1)),
        ("not-a-schema", serde_json::json!("x")),
        ("bad-ref", serde_json::json!("x")),
        ("no-schema", serde_json::json!("kept")),
        ("good", serde_json::json!("ab")),
    ] {
        assert_eq!(v.get(k).unwrap().to_json(false), want, "{k}");
    }
    // A schema of the right shape checks nothing more than it says.
    let e = eval_with(
        "values:\n  v:\n    fn::validate:\n      schema: {type: object, properties: {a: {type: number}}, unknownKeyword: 1}\n      value: {a: 1, b: 2}\n",
        &[],
    );
    assert!(!e.has_errors(), "{:?}", e.diagnostics);
}

/// Issue 7, item 27 (first half).
#[test]
fn a_definition_without_values_is_an_empty_object() {
    for source in [
        "values:\n",
        "description: nothing yet\n",
        "imports: []\n",
        "values: {}\n",
    ] {
        let e = eval_with(source, &[]);
        assert!(!e.has_errors(), "{source:?}: {:?}", e.diagnostics);
        assert_eq!(e.value, Some(Value::object([])), "{source:?}");
    }
    // Only the absence of any document stays null, as ESC's `empty` case.
    assert_eq!(eval_with("", &[]).value, None);
    assert_eq!(eval_with("# just a comment\n", &[]).value, None);
}

/// Issue 7, item 27 (second half).
#[test]
fn an_unknown_rotators_inputs_are_evaluated_like_an_unknown_providers() {
    let e = eval_with(
        "values:\n  p:\n    fn::open::nope:\n      x: ${missing.one}\n  r:\n    fn::rotate::nope:\n      inputs:\n        x: ${missing.two}\n      state:\n        y: ${missing.three}\n",
        &[],
    );
    let s = summaries(&e);
    assert!(
        s.contains(&"unknown provider \"nope\"".to_string()),
        "{s:?}"
    );
    assert!(s.contains(&"unknown rotator \"nope\"".to_string()), "{s:?}");
    assert_eq!(
        s.iter()
            .filter(|x| x.starts_with("unknown property \"missing\""))
            .count(),
        3,
        "{s:?}"
    );
}

/// Issue 7, item 28: a builtin's diagnostics point at its `fn::` key, the
/// way ESC points at the mapping that holds the call.
#[test]
fn builtin_diagnostics_point_at_the_fn_key() {
    let e = eval_with(
        "values:\n  secret:\n    fn::secret:\n      ciphertext: bm9wZQ==\n  open:\n    fn::open::nope: {}\n  rotate:\n    fn::rotate::nope:\n      inputs: {}\n  bad:\n    fn::open:\n      inputs: {}\n  json:\n    fn::fromJSON: \"{\"\n",
        &[],
    );
    assert_eq!(
        at(find(&e, "invalid ciphertext: EOF")),
        (3, 5, "values.secret")
    );
    assert_eq!(
        at(find(&e, "unknown provider \"nope\"")),
        (6, 5, "values.open")
    );
    assert_eq!(
        at(find(&e, "unknown rotator \"nope\"")),
        (8, 5, "values.rotate")
    );
    assert_eq!(
        at(find(&e, "missing provider name ('provider')")),
        (12, 7, "values.bad[\"fn::open\"]")
    );
    let json = e
        .diagnostics
        .iter()
        .find(|d| d.summary.starts_with("decoding JSON string"))
        .unwrap();
    assert_eq!(at(json), (14, 19, "values.json[\"fn::fromJSON\"]"));
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

/// Serves generated definitions.
struct Generated(HashMap<String, String>);

impl Loader for Generated {
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

fn eval_generated(source: &str, others: HashMap<String, String>) -> Evaluated {
    let registry = Registry::new();
    let options = Options {
        providers: &registry,
        decrypter: None,
        context: Value::object([]),
    };
    evaluate("app/dev", source.as_bytes(), &Generated(others), &options)
}

/// The one diagnostic a budget stop reports, which must name the limit and
/// say where.
fn stopped_by(e: &Evaluated, limit: budget::Limit) -> &Diagnostic {
    let stops: Vec<&Diagnostic> = e
        .diagnostics
        .iter()
        .filter(|d| d.summary.starts_with("evaluation stopped"))
        .collect();
    assert_eq!(stops.len(), 1, "{:?}", summaries(e));
    let d = stops[0];
    assert_eq!(d.summary, limit.message());
    assert_eq!(d.severity, Severity::Error);
    assert!(d.file.is_some() && d.line > 0 && d.column > 0, "{d}");
    d
}

/// Forty lines, each twice the one before, in one of the shapes of issue 7
/// item 15.
fn doubling(line: impl Fn(usize) -> String) -> String {
    let mut doc = String::from("values:\n  s00: abcdefghijklmnop\n");
    for i in 1..=40 {
        doc.push_str(&format!("  s{i:02}: {}\n", line(i - 1)));
    }
    doc
}

#[test]
fn doubling_strings_stop_at_the_size_limit() {
    let shapes = [
        doubling(|p| format!("${{s{p:02}}}${{s{p:02}}}")),
        doubling(|p| format!("{{fn::join: [\"\", [\"${{s{p:02}}}\", \"${{s{p:02}}}\"]]}}")),
        doubling(|p| format!("{{fn::toJSON: [\"${{s{p:02}}}\", \"${{s{p:02}}}\"]}}")),
        doubling(|p| format!("[\"${{s{p:02}}}\", \"${{s{p:02}}}\"]")),
        doubling(|p| format!("{{fn::toString: [\"${{s{p:02}}}\", \"${{s{p:02}}}\"]}}")),
    ];
    for doc in shapes {
        let e = eval_generated(&doc, HashMap::new());
        let d = stopped_by(&e, budget::Limit::Weight);
        assert!(d.path.starts_with("values.s"), "{d}");
        // Lines before the stop keep their values.
        let v = e.value.unwrap();
        assert!(!v.get("s01").unwrap().unknown, "{doc}");
    }
}

#[test]
fn a_long_reference_chain_stops_at_the_depth_limit_without_overflowing() {
    // Sorted key order evaluates r00000 first, which needs r00001, ...
    let mut doc = String::from("values:\n");
    for i in 0..10_000 {
        doc.push_str(&format!("  r{i:05}: ${{r{:05}}}\n", i + 1));
    }
    doc.push_str("  r10000: end\n");
    let e = eval_generated(&doc, HashMap::new());
    let d = stopped_by_depth(&e);
    assert!(d.path.starts_with("values.r"), "{d}");
}

/// The depth stop: by count, or by stack first where frames are large
/// (unoptimized builds).
fn stopped_by_depth(e: &Evaluated) -> &Diagnostic {
    let stops: Vec<&Diagnostic> = e
        .diagnostics
        .iter()
        .filter(|d| d.summary.starts_with("evaluation stopped"))
        .collect();
    assert_eq!(
        stops.len(),
        1,
        "{:?}",
        &summaries(e)[..3.min(e.diagnostics.len())]
    );
    let d = stops[0];
    assert!(
        [budget::Limit::EvalDepth, budget::Limit::Stack]
            .iter()
            .any(|l| d.summary == l.message()),
        "{d}"
    );
    assert!(d.file.is_some() && d.line > 0 && d.column > 0, "{d}");
    d
}

#[test]
fn a_value_nested_through_references_stops_at_the_value_depth_limit() {
    // Each entry is evaluated before the next, so evaluation stays shallow
    // while the value nests one level per line.
    let mut doc = String::from("values:\n  k00000: leaf\n");
    for i in 1..=5_000 {
        doc.push_str(&format!("  k{i:05}: {{x: \"${{k{:05}}}\"}}\n", i - 1));
    }
    let e = eval_generated(&doc, HashMap::new());
    stopped_by(&e, budget::Limit::ValueDepth);
}

#[test]
fn a_deep_import_chain_stops_at_the_import_depth_limit() {
    let others: HashMap<String, String> = (0..5_000)
        .map(|i| {
            (
                format!("e{i}"),
                format!("imports: [e{}]\nvalues:\n  v{i}: {i}\n", i + 1),
            )
        })
        .collect();
    let e = eval_generated("imports: [e0]\nvalues:\n  root: 1\n", others);
    let d = stopped_by(&e, budget::Limit::ImportDepth);
    assert_eq!(d.path, "imports[0]");
}

#[test]
fn too_many_environments_stop_at_the_count_limit() {
    let n = budget::MAX_ENVIRONMENTS + 1;
    let others: HashMap<String, String> = (0..n)
        .map(|i| (format!("e{i}"), format!("values:\n  v{i}: {i}\n")))
        .collect();
    let imports: String = (0..n).map(|i| format!("  - e{i}\n")).collect();
    let e = eval_generated(&format!("imports:\n{imports}values:\n  a: 1\n"), others);
    let d = stopped_by(&e, budget::Limit::Environments);
    assert!(d.path.starts_with("imports["), "{d}");
}

#[test]
fn large_ordinary_definitions_stay_within_the_budget() {
    // 20 imports of 500 values each and a root referring to all of them:
    // the benchmark's "large" shape, far below every limit.
    let others: HashMap<String, String> = (0..20)
        .map(|l| {
            let values: String = (0..500)
                .map(|i| format!("  lib{l}_v{i}: \"value {i} of library {l}\"\n"))
                .collect();
            (format!("lib{l}"), format!("values:\n{values}"))
        })
        .collect();
    let imports: String = (0..20).map(|l| format!("  - lib{l}\n")).collect();
    let refs: String = (0..20)
        .flat_map(|l| (0..500).step_by(10).map(move |i| (l, i)))
        .map(|(l, i)| format!("  r{l}_{i}: ${{lib{l}_v{i}}}-${{imports.lib{l}.lib{l}_v{i}}}\n"))
        .collect();
    let e = eval_generated(&format!("imports:\n{imports}values:\n{refs}"), others);
    assert!(!e.has_errors(), "{:?}", &e.diagnostics[..1]);
}

#[test]
fn reference_chains_through_builtins_stop_cleanly_whatever_the_shape() {
    let shapes: [fn(usize) -> String; 5] = [
        |n| format!("{{fn::toJSON: \"${{r{n:05}}}\"}}"),
        |n| format!("{{fn::join: [\"\", [\"${{r{n:05}}}\"]]}}"),
        |n| format!("\"x${{r{n:05}}}\""),
        |n| format!("[[\"${{r{n:05}}}\"]]"),
        |n| format!("{{fn::secret: x, a: \"${{r{n:05}}}\"}}"),
    ];
    for shape in shapes {
        let mut doc = String::from("values:\n");
        for i in 0..10_000 {
            doc.push_str(&format!("  r{i:05}: {}\n", shape(i + 1)));
        }
        doc.push_str("  r10000: end\n");
        stopped_by_depth(&eval_generated(&doc, HashMap::new()));
    }
}

#[test]
fn definitions_with_too_many_nodes_stop_at_the_node_limit() {
    // Each entry is two nodes (key and value): half the limit.
    let items: String = (0..budget::MAX_NODES / 4)
        .map(|i| format!("  k{i}: v\n"))
        .collect();
    let e = eval_generated(&format!("values:\n{items}"), HashMap::new());
    assert!(!e.has_errors(), "{:?}", &summaries(&e)[..1]);
    // Two such definitions together are over the limit.
    let others = HashMap::from([("half".to_string(), format!("values:\n{items}"))]);
    let e = eval_generated(&format!("imports: [half]\nvalues:\n{items}"), others);
    let d = stopped_by(&e, budget::Limit::Nodes);
    assert_eq!(d.file.as_deref(), Some("half"));
}

#[test]
fn the_fuzz_regressions_replay_and_the_budget_shapes_stop() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut budget_shapes = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let e = eval_generated(&source, HashMap::new());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("budget-") {
            budget_shapes += 1;
            assert!(
                summaries(&e)
                    .iter()
                    .any(|s| s.starts_with("evaluation stopped")),
                "{name}: {:?}",
                summaries(&e)
            );
        }
    }
    assert!(
        budget_shapes >= 6,
        "budget shapes missing from {}",
        dir.display()
    );
}

/// Reverses its payload; records how it was asked.
#[derive(Default)]
struct Reversing {
    batches: std::cell::RefCell<Vec<usize>>,
    singles: std::cell::Cell<usize>,
}

impl Decrypter for Reversing {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        self.singles.set(self.singles.get() + 1);
        match payload {
            b"bad!" => Err("not for you".into()),
            p => Ok(p.iter().rev().copied().collect()),
        }
    }

    fn decrypt_all(&self, payloads: &[&[u8]]) -> Vec<Result<Vec<u8>, String>> {
        self.batches.borrow_mut().push(payloads.len());
        let results = payloads.iter().map(|p| self.decrypt(p)).collect();
        self.singles.set(0);
        results
    }
}

#[test]
fn a_definitions_ciphertexts_are_decrypted_in_one_call() {
    let seal = |s: &str| envelope::seal(s.as_bytes());
    let root = format!(
        "imports: [lib]\nvalues:\n  a: {{fn::secret: {{ciphertext: {}}}}}\n  b: {{fn::secret: {{ciphertext: {}}}}}\n  c: {{fn::secret: {{ciphertext: {}}}}}\n  broken: {{fn::secret: {{ciphertext: ZXNjeA==}}}}\n  again: {{fn::secret: {{ciphertext: {}}}}}\n",
        seal("1-aa"),
        seal("2-bb"),
        seal("bad!"),
        seal("1-aa"),
    );
    let lib = format!(
        "values:\n  l1: {{fn::secret: {{ciphertext: {}}}}}\n  l2: {{fn::secret: {{ciphertext: {}}}}}\n",
        seal("1-ll"),
        seal("2-ll"),
    );
    let lib: &'static str = Box::leak(lib.into_boxed_str());
    let registry = Registry::new();
    let decrypter = Reversing::default();
    let options = Options {
        providers: &registry,
        decrypter: Some(&decrypter),
        context: Value::object([]),
    };
    let e = evaluate(
        "app/dev",
        root.as_bytes(),
        &Memory([("lib", lib)].into_iter().collect()),
        &options,
    );
    // The root's four good envelopes (one repeated) in one call, the
    // import's two in another, and nothing decrypted one by one after.
    assert_eq!(*decrypter.batches.borrow(), vec![3, 2]);
    assert_eq!(decrypter.singles.get(), 0);
    let v = e.value.as_ref().unwrap();
    for (key, plain) in [
        ("a", "aa-1"),
        ("b", "bb-2"),
        ("again", "aa-1"),
        ("l1", "ll-1"),
        ("l2", "ll-2"),
    ] {
        let got = v.get(key).unwrap();
        assert_eq!(
            (got.to_text(), got.secret),
            (plain.to_string(), true),
            "{key}"
        );
    }
    let summaries = summaries(&e);
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(
        summaries.contains(&"decrypting: not for you".to_string()),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("invalid ciphertext")),
        "{summaries:?}"
    );
}
