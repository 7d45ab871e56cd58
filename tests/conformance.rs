//! Runs the ESC evaluator conformance suite (`../shared/conformance/esc-eval`,
//! or `$ESCSH_CONFORMANCE_DIR`) against `escsh::lang::evaluate`.
//!
//! `ESCSH_CONFORMANCE_CASE=name[,name...]` runs only those cases and prints
//! everything about them.
//!
//! Progress and results are written straight to the process's stderr rather
//! than through `eprintln!`, which libtest captures: the score must show up
//! in CI logs even when the test passes.

mod support;
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use std::{env, fs, thread};

use escsh::lang::Registry;
use escsh::lang::{self, Diagnostic, LoadError, Loader, Severity, Value};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// The cases known to fail, each with why. Every other case must pass, so a
/// regression fails CI; a case listed here that passes fails the run too,
/// so the list stays true (remove it from here when it starts passing).
const KNOWN_FAILURES: &[(&str, &str)] = &[(
    "unterminated-array",
    "escsh words the YAML error with the line of the problem and where the sequence opened; upstream's yaml.v3 says `line 1`",
)];

/// Cases whose diagnostics are known to sit elsewhere than upstream's, with
/// why; every other case must report each diagnostic at upstream's file,
/// line, column and property path.
const KNOWN_POSITION_DIFFERENCES: &[(&str, &str)] = &[
    (
        "invalid-import",
        "yaml-rust2 places an empty scalar at the next token, yaml.v3 after the `- `",
    ),
    (
        "unterminated-array",
        "the YAML error has a position in escsh and none upstream",
    ),
];

/// A case that runs longer than this is hung, not slow (debug build).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Differences listed per field before the line is cut short.
const MAX_DIFFS: usize = 3;

/// Longest rendering of one value inside a failure line.
const MAX_SHOWN: usize = 80;

const NOT_FOUND_KIND: &str = "environment-not-found";

fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn conformance_dir() -> PathBuf {
    match env::var_os("ESCSH_CONFORMANCE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/esc-eval"),
    }
}

fn in_ci() -> bool {
    tools::in_ci()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expected {
    environment_name: String,
    values: Json,
    values_redacted: Json,
    errors: Vec<String>,
    warnings: Vec<String>,
    diagnostics: Vec<ExpectedDiagnostic>,
}

#[derive(Deserialize)]
struct ExpectedDiagnostic {
    severity: String,
    summary: String,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    #[serde(default)]
    path: String,
    kind: Option<String>,
    environment: Option<String>,
}

/// Serves `<case>/<name>.yaml`, as upstream's file loader does.
struct CaseLoader {
    dir: PathBuf,
}

impl Loader for CaseLoader {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        let not_found = || LoadError::NotFound {
            name: name.to_string(),
            hint: None,
        };
        // Names come from the definitions under test; keep them inside the case.
        let relative = Path::new(name);
        if name.is_empty()
            || !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(not_found());
        }
        match fs::read(self.dir.join(format!("{name}.yaml"))) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
            Err(e) => Err(LoadError::Other(format!("{name}: {e}"))),
        }
    }
}

fn context() -> Value {
    Value::from_json(&json!({"pulumi": {"user": {"id": "USER_123"}}}))
}

/// What one evaluation produced, reduced to what the suite compares.
struct Actual {
    values: Json,
    values_redacted: Json,
    diagnostics: Vec<Diagnostic>,
}

const WORKER_PREFIX: &str = "conformance case ";

/// A panicking case would otherwise print a full backtrace (CI sets
/// RUST_BACKTRACE) for each of dozens of cases; one line with the location
/// is enough unless the case was asked for by name.
fn quiet_case_panics(verbose: bool) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    if verbose {
        return;
    }
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = thread::current();
            match thread.name() {
                Some(name) if name.starts_with(WORKER_PREFIX) => {
                    let at = info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()))
                        .unwrap_or_default();
                    say(&format!("{name}: panicked at {at}\n"));
                }
                _ => default(info),
            }
        }));
    });
}

/// Evaluates on a worker thread so that a panicking or hanging case is
/// reported as that case's failure instead of taking the whole run down.
fn evaluate_case(
    name: &str,
    source: Vec<u8>,
    dir: &Path,
    registry: &Registry,
) -> Result<Actual, String> {
    let (tx, rx) = mpsc::channel();
    let name = name.to_string();
    let loader = CaseLoader {
        dir: dir.to_path_buf(),
    };
    let registry = registry.clone();
    let worker = thread::Builder::new()
        .name(format!(
            "{WORKER_PREFIX}{}",
            dir.file_name().unwrap_or_default().to_string_lossy()
        ))
        .spawn(move || {
            let options = lang::Options {
                providers: &registry,
                decrypter: Some(&support::Rot128),
                context: context(),
            };
            let evaluated = lang::evaluate(&name, &source, &loader, &options);
            let (values, values_redacted) = match &evaluated.value {
                Some(v) => (v.to_json(false), v.to_json(true)),
                None => (Json::Null, Json::Null),
            };
            let _ = tx.send(Actual {
                values,
                values_redacted,
                diagnostics: evaluated.diagnostics,
            });
        })
        .map_err(|e| format!("cannot start a worker thread: {e}"))?;
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok(actual) => {
            let _ = worker.join();
            Ok(actual)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "evaluation still running after {}s (left running)",
            CASE_TIMEOUT.as_secs()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let payload = worker.join().err();
            let message = payload
                .as_ref()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "unknown panic payload".into());
            Err(format!("evaluator panicked: {message}"))
        }
    }
}

/// `; did you mean "x"?` comes from a spelling heuristic the suite lets
/// implementations differ on.
fn normalize_summary(summary: &str) -> String {
    const MARK: &str = "; did you mean \"";
    match summary.rfind(MARK) {
        Some(i) if summary.ends_with("\"?") && i + MARK.len() < summary.len() - 1 => {
            summary[..i].to_string()
        }
        _ => summary.to_string(),
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_SHOWN {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_SHOWN - 1).collect();
    format!("{cut}…")
}

fn show(json: &Json) -> String {
    shorten(&json.to_string())
}

/// Elements of `a` not matched one-for-one in `b`.
fn multiset_minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, isize> = BTreeMap::new();
    for s in b {
        *counts.entry(s).or_default() += 1;
    }
    let mut out = Vec::new();
    for s in a {
        let n = counts.entry(s).or_default();
        if *n > 0 {
            *n -= 1;
        } else {
            out.push(s.clone());
        }
    }
    out
}

/// Compares one severity's summaries as multisets. Missing-environment
/// diagnostics are matched on the environment they name, because the
/// expected text is Go's file-system error.
fn compare_summaries(
    severity: Severity,
    expected_summaries: &[String],
    expected_diagnostics: &[ExpectedDiagnostic],
    actual: &[Diagnostic],
) -> Option<String> {
    let sev = severity_name(severity);
    let mut expected: Vec<String> = expected_summaries
        .iter()
        .map(|s| normalize_summary(s))
        .collect();
    let mut missing_envs: Vec<String> = Vec::new();
    for d in expected_diagnostics {
        if d.severity != sev || d.kind.as_deref() != Some(NOT_FOUND_KIND) {
            continue;
        }
        let summary = normalize_summary(&d.summary);
        if let Some(i) = expected.iter().position(|s| *s == summary) {
            expected.remove(i);
        }
        missing_envs.push(d.environment.clone().unwrap_or_default());
    }
    let mut got = Vec::new();
    for d in actual.iter().filter(|d| d.severity == severity) {
        if let Some(env) = &d.missing_environment {
            if let Some(i) = missing_envs.iter().position(|e| e == env) {
                missing_envs.remove(i);
                continue;
            }
        }
        got.push(normalize_summary(&d.summary));
    }
    let mut absent = multiset_minus(&expected, &got);
    absent.extend(
        missing_envs
            .iter()
            .map(|e| format!("<{NOT_FOUND_KIND} {e:?}>")),
    );
    let extra = multiset_minus(&got, &expected);
    if absent.is_empty() && extra.is_empty() {
        return None;
    }
    let list = |items: &[String]| {
        let shown: Vec<String> = items
            .iter()
            .take(MAX_DIFFS)
            .map(|s| format!("{:?}", shorten(s)))
            .collect();
        let more = items.len().saturating_sub(MAX_DIFFS);
        if more > 0 {
            format!("[{} +{more} more]", shown.join(", "))
        } else {
            format!("[{}]", shown.join(", "))
        }
    };
    let mut text = format!("{sev}s:");
    if !absent.is_empty() {
        let _ = write!(text, " missing {}", list(&absent));
    }
    if !extra.is_empty() {
        let _ = write!(text, " unexpected {}", list(&extra));
    }
    Some(text)
}

fn child_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{key:?}]")
    }
}

/// Every place where `actual` departs from `expected`, outermost first.
fn json_diffs(path: &str, expected: &Json, actual: &Json, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for key in keys {
                let at = child_path(path, key);
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => json_diffs(&at, ev, av, out),
                    (Some(ev), None) => out.push(format!("{at} missing (expected {})", show(ev))),
                    (None, Some(av)) => out.push(format!("{at} unexpected {}", show(av))),
                    (None, None) => {}
                }
            }
        }
        (Json::Array(e), Json::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                json_diffs(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        _ if expected != actual => {
            let at = if path.is_empty() { "(top)" } else { path };
            out.push(format!(
                "{at} expected {} got {}",
                show(expected),
                show(actual)
            ));
        }
        _ => {}
    }
}

fn compare_values(field: &str, expected: &Json, actual: &Json) -> Option<String> {
    let mut diffs = Vec::new();
    json_diffs("", expected, actual, &mut diffs);
    if diffs.is_empty() {
        return None;
    }
    let more = diffs.len().saturating_sub(MAX_DIFFS);
    diffs.truncate(MAX_DIFFS);
    let mut text = format!("{field}: {}", diffs.join(", "));
    if more > 0 {
        let _ = write!(text, " (+{more} more)");
    }
    Some(text)
}

/// Where each diagnostic is reported: `file:line:column path summary`,
/// with a missing environment named instead of Go's file-system text.
fn compare_positions(expected: &[ExpectedDiagnostic], actual: &[Diagnostic]) -> Option<String> {
    let place = |file: &str, line: usize, column: usize, path: &str, what: &str| {
        format!("{file}:{line}:{column} {path} {what}")
    };
    let expected: Vec<String> = expected
        .iter()
        .map(|d| {
            let what = match d.kind.as_deref() {
                Some(NOT_FOUND_KIND) => {
                    format!("<missing {}>", d.environment.as_deref().unwrap_or(""))
                }
                _ => normalize_summary(&d.summary),
            };
            let file = d.file.as_deref().unwrap_or("-");
            place(
                file,
                d.line.unwrap_or(0),
                d.column.unwrap_or(0),
                &d.path,
                &what,
            )
        })
        .collect();
    let actual: Vec<String> = actual
        .iter()
        .map(|d| {
            let what = match &d.missing_environment {
                Some(env) => format!("<missing {env}>"),
                None => normalize_summary(&d.summary),
            };
            let file = d.file.as_deref().unwrap_or("-");
            place(file, d.line, d.column, &d.path, &what)
        })
        .collect();
    let absent = multiset_minus(&expected, &actual);
    let extra = multiset_minus(&actual, &expected);
    if absent.is_empty() && extra.is_empty() {
        return None;
    }
    let list = |items: &[String]| {
        let shown: Vec<String> = items.iter().take(MAX_DIFFS).map(|s| shorten(s)).collect();
        shown.join(" | ")
    };
    Some(format!(
        "positions: expected [{}] got [{}]",
        list(&absent),
        list(&extra)
    ))
}

/// What one case showed: its differences in content, and in where its
/// diagnostics point (checked separately, see [`KNOWN_POSITION_DIFFERENCES`]).
struct Outcome {
    failures: Vec<String>,
    positions: Option<String>,
}

/// Runs one case; empty failures when it passes.
fn run_case(case_dir: &Path, registry: &Registry, verbose: bool) -> Outcome {
    match run_case_inner(case_dir, registry, verbose) {
        Ok(outcome) => outcome,
        Err(failures) => Outcome {
            positions: Some(failures.join("; ")),
            failures,
        },
    }
}

fn run_case_inner(
    case_dir: &Path,
    registry: &Registry,
    verbose: bool,
) -> Result<Outcome, Vec<String>> {
    let text = fs::read_to_string(case_dir.join("expected.json"))
        .map_err(|e| vec![format!("expected.json: {e}")])?;
    let expected: Expected =
        serde_json::from_str(&text).map_err(|e| vec![format!("expected.json: {e}")])?;
    let source = fs::read(case_dir.join("env.yaml")).map_err(|e| vec![format!("env.yaml: {e}")])?;
    if verbose {
        print_definitions(case_dir);
    }
    let actual = evaluate_case(&expected.environment_name, source, case_dir, registry)
        .map_err(|e| vec![e])?;
    if verbose {
        print_comparison(&expected, &actual);
    }
    let failures: Vec<String> = [
        compare_values("values", &expected.values, &actual.values),
        compare_values(
            "valuesRedacted",
            &expected.values_redacted,
            &actual.values_redacted,
        ),
        compare_summaries(
            Severity::Error,
            &expected.errors,
            &expected.diagnostics,
            &actual.diagnostics,
        ),
        compare_summaries(
            Severity::Warning,
            &expected.warnings,
            &expected.diagnostics,
            &actual.diagnostics,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Outcome {
        failures,
        positions: compare_positions(&expected.diagnostics, &actual.diagnostics),
    })
}

fn print_definitions(case_dir: &Path) {
    let mut files = Vec::new();
    collect_yaml(case_dir, &mut files);
    files.sort();
    for file in files {
        let shown = file.strip_prefix(case_dir).unwrap_or(&file);
        let body = fs::read(&file).unwrap_or_default();
        say(&format!(
            "--- {}\n{}\n",
            shown.display(),
            String::from_utf8_lossy(&body).trim_end()
        ));
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn print_comparison(expected: &Expected, actual: &Actual) {
    let pretty = |j: &Json| serde_json::to_string_pretty(j).unwrap_or_default();
    let mut text = String::new();
    let _ = writeln!(text, "--- expected values\n{}", pretty(&expected.values));
    let _ = writeln!(text, "--- actual values\n{}", pretty(&actual.values));
    let _ = writeln!(
        text,
        "--- expected valuesRedacted\n{}",
        pretty(&expected.values_redacted)
    );
    let _ = writeln!(
        text,
        "--- actual valuesRedacted\n{}",
        pretty(&actual.values_redacted)
    );
    let _ = writeln!(text, "--- expected diagnostics");
    for d in &expected.diagnostics {
        let _ = write!(
            text,
            "{}:{}:{}: {}: {}",
            d.file.as_deref().unwrap_or("-"),
            d.line.unwrap_or(0),
            d.column.unwrap_or(0),
            d.severity,
            d.summary
        );
        if !d.path.is_empty() {
            let _ = write!(text, " (at {})", d.path);
        }
        if let Some(env) = &d.environment {
            let _ = write!(text, " [missing environment {env:?}]");
        }
        text.push('\n');
    }
    let _ = writeln!(text, "--- actual diagnostics");
    for d in &actual.diagnostics {
        let _ = write!(text, "{d}");
        if let Some(env) = &d.missing_environment {
            let _ = write!(text, " [missing environment {env:?}]");
        }
        text.push('\n');
    }
    say(&text);
}

/// Case names: every directory with an `expected.json`, plus every case the
/// index lists, so a case that lost its files counts as failing.
fn case_names(dir: &Path) -> Vec<String> {
    let mut names = BTreeSet::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().join("expected.json").is_file() {
                names.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let index: Option<Json> = fs::read_to_string(dir.join("index.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(cases) = index
        .as_ref()
        .and_then(|i| i.get("cases"))
        .and_then(Json::as_array)
    {
        for case in cases {
            if let Some(name) = case.get("case").and_then(Json::as_str) {
                names.insert(name.to_string());
            }
        }
    }
    names.into_iter().collect()
}

#[test]
fn esc_eval_conformance() {
    let dir = conformance_dir();
    if !dir.is_dir() {
        let missing = format!(
            "conformance dir {} not found (set ESCSH_CONFORMANCE_DIR)",
            dir.display()
        );
        assert!(!in_ci(), "{missing}; under CI=true the suite must run");
        say(&format!("\n*** SKIPPED: {missing} ***\n\n"));
        return;
    }
    let schemas = support::Schemas::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let registry = support::registry(&schemas);

    let only: Option<Vec<String>> = env::var("ESCSH_CONFORMANCE_CASE")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let all = case_names(&dir);
    assert!(!all.is_empty(), "no conformance cases in {}", dir.display());
    let selected: Vec<String> = match &only {
        Some(wanted) => {
            for name in wanted {
                assert!(
                    all.contains(name),
                    "no conformance case {name:?}; cases: {}",
                    all.join(" ")
                );
            }
            wanted.clone()
        }
        None => all,
    };

    let verbose = only.is_some();
    quiet_case_panics(verbose);
    let mut failed = BTreeSet::new();
    let mut misplaced = BTreeSet::new();
    for name in &selected {
        if verbose {
            say(&format!("=== {name}\n"));
        }
        let outcome = run_case(&dir.join(name), &registry, verbose);
        if outcome.failures.is_empty() {
            if verbose {
                say(&format!("PASS {name}\n"));
            }
        } else {
            say(&format!("FAIL {name}: {}\n", outcome.failures.join("; ")));
            failed.insert(name.clone());
        }
        if let Some(diff) = outcome.positions {
            if verbose || !is_listed(KNOWN_POSITION_DIFFERENCES, name) {
                say(&format!("POSITIONS {name}: {diff}\n"));
            }
            misplaced.insert(name.clone());
        }
    }
    let passed = selected.len() - failed.len();
    say(&format!(
        "conformance: {passed}/{} cases pass\n",
        selected.len()
    ));

    if only.is_some() {
        assert!(failed.is_empty(), "selected conformance cases failed");
        return;
    }
    let problems = [
        check_known("fail", KNOWN_FAILURES, &selected, &failed),
        check_known(
            "report diagnostics away from upstream's positions",
            KNOWN_POSITION_DIFFERENCES,
            &selected,
            &misplaced,
        ),
    ]
    .concat();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn is_listed(list: &[(&str, &str)], name: &str) -> bool {
    list.iter().any(|(n, _)| *n == name)
}

/// Compares the cases that showed a problem with the list of those known
/// to: a case missing from the list is a regression; a listed case that
/// no longer shows it (or no longer exists) makes the list untrue.
fn check_known(
    what: &str,
    known: &[(&str, &str)],
    all: &[String],
    showed: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems: Vec<String> = showed
        .iter()
        .filter(|name| !is_listed(known, name))
        .map(|name| format!("regression: conformance case {name} started to {what} (see above)"))
        .collect();
    for (name, why) in known {
        if !all.iter().any(|n| n == name) {
            problems.push(format!("known case {name} is not in the suite: remove it from the list of cases that {what}"));
        } else if !showed.contains(*name) {
            problems.push(format!(
                "conformance case {name} no longer does what it was listed for ({what}: {why}): remove it from that list"
            ));
        }
    }
    problems
}

#[test]
fn known_lists_catch_regressions_and_stale_entries() {
    let all: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let known = [("a", "why")];
    let showed = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert!(check_known("fail", &known, &all, &showed(&["a"])).is_empty());
    let p = check_known("fail", &known, &all, &showed(&["a", "b"]));
    assert!(
        p.len() == 1 && p[0].contains("regression") && p[0].contains(" b "),
        "{p:?}"
    );
    let p = check_known("fail", &known, &all, &showed(&[]));
    assert!(
        p.len() == 1 && p[0].contains("no longer") && p[0].contains(" a "),
        "{p:?}"
    );
    let p = check_known("fail", &[("gone", "why")], &all, &showed(&[]));
    assert!(p.len() == 1 && p[0].contains("not in the suite"), "{p:?}");
}

#[test]
fn positions_compare_file_line_column_and_path() {
    let expected = vec![ExpectedDiagnostic {
        severity: "error".into(),
        summary: "boom".into(),
        file: Some("x".into()),
        line: Some(3),
        column: Some(5),
        path: "values.a".into(),
        kind: None,
        environment: None,
    }];
    let mut d = diag(Severity::Error, "boom", None);
    d.file = Some("x".into());
    (d.line, d.column, d.path) = (3, 5, "values.a".into());
    assert_eq!(compare_positions(&expected, &[d.clone()]), None);
    d.column = 15;
    let diff = compare_positions(&expected, &[d]).unwrap();
    assert!(diff.contains("x:3:5") && diff.contains("x:3:15"), "{diff}");
}

#[test]
fn did_you_mean_suffix_is_ignored() {
    assert_eq!(
        normalize_summary("unknown property \"bar\"; did you mean \"baz\"?"),
        "unknown property \"bar\""
    );
    assert_eq!(normalize_summary("plain"), "plain");
    assert_eq!(
        normalize_summary("odd; did you mean \"?"),
        "odd; did you mean \"?"
    );
}

fn diag(severity: Severity, summary: &str, missing: Option<&str>) -> Diagnostic {
    Diagnostic {
        severity,
        summary: summary.to_string(),
        file: None,
        line: 0,
        column: 0,
        path: String::new(),
        missing_environment: missing.map(str::to_string),
    }
}

#[test]
fn summaries_compare_as_multisets_and_missing_environments_by_name() {
    let go_text = "open testdata/eval/x/foo/unknown.yaml: no such file or directory";
    let expected_diags = vec![ExpectedDiagnostic {
        severity: "error".into(),
        summary: go_text.into(),
        file: Some("x".into()),
        line: Some(1),
        column: Some(1),
        path: String::new(),
        kind: Some(NOT_FOUND_KIND.into()),
        environment: Some("foo/unknown".into()),
    }];
    let expected = vec!["a".to_string(), "a".to_string(), go_text.to_string()];
    let good = vec![
        diag(Severity::Error, "a", None),
        diag(Severity::Warning, "w", None),
        diag(
            Severity::Error,
            "environment \"foo/unknown\" not found",
            Some("foo/unknown"),
        ),
        diag(Severity::Error, "a", None),
    ];
    assert_eq!(
        compare_summaries(Severity::Error, &expected, &expected_diags, &good),
        None
    );
    // The warning is not an error, and warnings were expected to be empty.
    assert!(compare_summaries(Severity::Warning, &[], &expected_diags, &good).is_some());

    let once = vec![
        diag(Severity::Error, "a", None),
        diag(Severity::Error, "missing", Some("foo/unknown")),
    ];
    let diff = compare_summaries(Severity::Error, &expected, &expected_diags, &once).unwrap();
    assert!(diff.contains("missing [\"a\"]"), "{diff}");

    let wrong_env = vec![
        diag(Severity::Error, "a", None),
        diag(Severity::Error, "a", None),
        diag(Severity::Error, "gone", Some("foo/other")),
    ];
    let diff = compare_summaries(Severity::Error, &expected, &expected_diags, &wrong_env).unwrap();
    assert!(
        diff.contains("foo/unknown") && diff.contains("gone"),
        "{diff}"
    );
}

#[test]
fn value_diffs_name_the_path() {
    let expected = json!({"a": {"b": [1, 2]}, "c": 3, "d": "x", "n": 42});
    let actual = json!({"a": {"b": [1, 3]}, "d": "x", "e": true, "n": 42.0});
    let diff = compare_values("values", &expected, &actual).unwrap();
    assert!(diff.contains(".a.b[1] expected 2 got 3"), "{diff}");
    assert!(diff.contains(".c missing"), "{diff}");
    assert!(diff.contains("+1 more"), "{diff}");
    assert_eq!(compare_values("values", &expected, &expected), None);
    assert_eq!(compare_values("values", &Json::Null, &Json::Null), None);
}

#[test]
fn loader_stays_inside_the_case() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("foo")).unwrap();
    fs::write(dir.path().join("foo/bar.yaml"), "values: {}\n").unwrap();
    let loader = CaseLoader {
        dir: dir.path().to_path_buf(),
    };
    assert_eq!(loader.load("foo/bar").unwrap(), b"values: {}\n");
    for name in [
        "foo/unknown",
        "../foo/bar",
        "/etc/passwd",
        "",
        "foo/../foo/bar",
    ] {
        match loader.load(name) {
            Err(LoadError::NotFound {
                name: n,
                hint: None,
            }) => assert_eq!(n, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}
