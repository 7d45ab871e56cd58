//! Evaluation speed on generated environment sets (issue 2's goals: the
//! large set under 20 ms, a typical environment under 1 ms), with the time
//! spent only parsing the same YAML beside it for scale.
//!
//! Issue 10's goal beside them: the typical environment with 3 and with
//! 100 age-encrypted secrets (escsh's own at-rest form), against the same
//! definitions with the secrets in plaintext; 100 secrets should add < 5 ms.
//!
//! `cargo bench --bench eval`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use escsh::lang::Registry;
use escsh::lang::{self, Decrypter, Kind, LoadError, Loader, Options, Value};

const LIBS: usize = 20;
const VALUES_PER_LIB: usize = 500;
const ROOT_APP_VALUES: usize = 980;
const ROOT_ENV_VARS: usize = 20;

/// A root definition plus the definitions it imports, all in memory.
struct EnvSet {
    root: String,
    others: HashMap<String, String>,
}

impl Loader for EnvSet {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        self.others
            .get(name)
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| LoadError::NotFound {
                name: name.to_string(),
                hint: None,
            })
    }
}

impl EnvSet {
    fn sources(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.root.as_str()).chain(self.others.values().map(String::as_str))
    }

    fn interpolations(&self) -> usize {
        self.sources().map(|s| s.matches("${").count()).sum()
    }

    fn secrets(&self) -> usize {
        self.sources()
            .map(|s| s.matches("fn::secret").count())
            .sum()
    }
}

/// The conformance suite's toy cipher, so ciphertext secrets exercise the
/// envelope path as stored secrets would.
struct Rot128;

impl Decrypter for Rot128 {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        Ok(payload.iter().map(|b| b.wrapping_add(128)).collect())
    }
}

fn ciphertext(plain: &str) -> String {
    let mut envelope = b"escx".to_vec();
    envelope.extend_from_slice(&1u32.to_be_bytes());
    envelope.extend(plain.bytes().map(|b| b.wrapping_sub(128)));
    let crc = crc32fast::hash(&envelope);
    envelope.extend_from_slice(&crc.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(envelope)
}

fn lib_name(k: usize) -> String {
    format!("lib{k:02}")
}

/// What value `i` of library `k` evaluates to, as text. The generator and
/// this function must agree; `check_large` holds them to it.
fn lib_text(k: usize, i: usize) -> String {
    match i % 5 {
        0 => format!("lib{k}-value-{i}"),
        1 => format!("{}/x", lib_text(k, i - 1)),
        2 => i.to_string(),
        3 => format!("{}+y", lib_text(k, i - 2)),
        _ if i % 100 == 4 => format!("s3cr3t-{k}-{i}"),
        _ => "true".to_string(),
    }
}

/// One library: its values nest under its own name so the 20 imports merge
/// side by side instead of overriding each other. Value kinds cycle through
/// plain strings, references to earlier values, numbers and secrets.
fn lib_source(k: usize) -> String {
    let lib = lib_name(k);
    let mut s = format!("values:\n  {lib}:\n");
    for i in 0..VALUES_PER_LIB {
        let key = format!("v{i:03}");
        let _ = match i % 5 {
            0 => writeln!(s, "    {key}: {}", lib_text(k, i)),
            1 => writeln!(s, "    {key}: ${{{lib}.v{:03}}}/x", i - 1),
            2 => writeln!(s, "    {key}: {i}"),
            3 => writeln!(s, "    {key}: \"${{{lib}.v{:03}}}+y\"", i - 2),
            // Alternate plaintext and ciphertext secrets.
            _ if i % 100 == 4 && (k + i / 100) % 2 == 1 => writeln!(
                s,
                "    {key}:\n      fn::secret:\n        ciphertext: {}",
                ciphertext(&lib_text(k, i))
            ),
            _ if i % 100 == 4 => {
                writeln!(s, "    {key}:\n      fn::secret: {}", lib_text(k, i))
            }
            _ => writeln!(s, "    {key}: true"),
        };
    }
    s
}

/// Which library value root entry `j` refers to.
fn root_target(j: usize) -> (usize, usize) {
    (j % LIBS, (j * 7) % VALUES_PER_LIB)
}

fn large() -> EnvSet {
    let mut others = HashMap::new();
    let mut root = String::from("imports:\n");
    for k in 0..LIBS {
        others.insert(lib_name(k), lib_source(k));
        let _ = writeln!(root, "  - {}", lib_name(k));
    }
    root.push_str("values:\n  app:\n");
    for j in 0..ROOT_APP_VALUES {
        let (k, i) = root_target(j);
        let lib = lib_name(k);
        // Every tenth goes through `imports.` rather than the merged tree.
        let reference = if j % 10 == 0 {
            format!("imports.{lib}.{lib}.v{i:03}")
        } else {
            format!("{lib}.v{i:03}")
        };
        let _ = writeln!(root, "    r{j:03}: \"r{j}=${{{reference}}}\"");
    }
    root.push_str("  environmentVariables:\n");
    for j in 0..ROOT_ENV_VARS {
        let _ = writeln!(root, "    APP_{j:02}: ${{app.r{j:03}}}");
    }
    EnvSet { root, others }
}

/// A 50-value environment with three small imports, the common case.
fn typical() -> EnvSet {
    typical_with(0, &|plain| format!("fn::secret: {plain}"))
}

/// [`typical`] with `extra` more secrets in the root (`s000`...), every
/// secret written by `secret` (given its plaintext).
fn typical_with(extra: usize, secret: &dyn Fn(&str) -> String) -> EnvSet {
    let mut others = HashMap::new();
    for (name, prefix) in [("base", "b"), ("db", "d"), ("cloud", "c")] {
        let mut s = format!("values:\n  {name}:\n");
        for i in 0..9 {
            let _ = writeln!(s, "    {prefix}{i}: {name}-setting-{i}");
        }
        let _ = writeln!(
            s,
            "    token:\n      {}",
            secret(&format!("{name}-token-value"))
        );
        others.insert(name.to_string(), s);
    }
    let mut root = String::from("imports:\n  - base\n  - db\n  - cloud\nvalues:\n");
    for i in 0..40 {
        let _ = match i % 5 {
            0 => writeln!(root, "  t{i:02}: ${{base.b{}}}-{i}", i % 9),
            1 => writeln!(
                root,
                "  t{i:02}: \"${{db.d{}}}:${{cloud.c{}}}\"",
                i % 9,
                i % 9
            ),
            2 => writeln!(root, "  t{i:02}: plain-{i}"),
            3 => writeln!(root, "  t{i:02}: {i}"),
            _ => writeln!(root, "  t{i:02}:\n    nested: [a, {i}, true]"),
        };
    }
    for i in 0..extra {
        let _ = writeln!(
            root,
            "  s{i:03}:\n    {}",
            secret(&format!("secret-value-{i}"))
        );
    }
    root.push_str("  environmentVariables:\n");
    for i in 0..7 {
        let _ = writeln!(root, "    VAR_{i}: ${{t{:02}}}", i * 5);
    }
    for (var, name) in [("BASE", "base"), ("DB", "db"), ("CLOUD", "cloud")] {
        let _ = writeln!(root, "    {var}_TOKEN: ${{{name}.token}}");
    }
    EnvSet { root, others }
}

fn evaluate(set: &EnvSet, registry: &Registry) -> lang::Evaluated {
    evaluate_with(set, registry, &Rot128)
}

fn evaluate_with(set: &EnvSet, registry: &Registry, decrypter: &dyn Decrypter) -> lang::Evaluated {
    let options = Options {
        providers: registry,
        decrypter: Some(decrypter),
        context: Value::object([]),
    };
    lang::evaluate("root", set.root.as_bytes(), set, &options)
}

fn leaf_count(v: &Value) -> usize {
    match &v.kind {
        Kind::Array(items) => items.iter().map(leaf_count).sum(),
        Kind::Object(map) => map.values().map(leaf_count).sum(),
        _ => 1,
    }
}

fn assert_clean(label: &str, evaluated: &lang::Evaluated) -> Value {
    let errors: Vec<String> = evaluated
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{label}: {errors:#?}");
    evaluated
        .value
        .clone()
        .unwrap_or_else(|| panic!("{label}: no value"))
}

/// Timing a failed evaluation would be meaningless: first make sure every
/// generated reference resolved to what the generator meant.
fn check_large(set: &EnvSet, registry: &Registry) {
    assert_eq!(set.interpolations(), 5_000);
    assert_eq!(set.secrets(), 100);
    let value = assert_clean("large", &evaluate(set, registry));
    let app = value.get("app").expect("app");
    for j in 0..ROOT_APP_VALUES {
        let (k, i) = root_target(j);
        let got = app.get(&format!("r{j:03}")).map(Value::to_text);
        assert_eq!(got, Some(format!("r{j}={}", lib_text(k, i))), "app.r{j:03}");
    }
    for k in 0..LIBS {
        let lib = value.get(&lib_name(k)).expect("library merged");
        for i in 0..VALUES_PER_LIB {
            let v = lib.get(&format!("v{i:03}")).expect("library value");
            assert_eq!(v.to_text(), lib_text(k, i), "{}.v{i:03}", lib_name(k));
            assert_eq!(v.secret, i % 100 == 4, "{}.v{i:03} secrecy", lib_name(k));
        }
    }
    let vars = value
        .get("environmentVariables")
        .expect("environmentVariables");
    assert_eq!(vars.as_object().map(|m| m.len()), Some(ROOT_ENV_VARS));
    assert!(leaf_count(&value) >= LIBS * VALUES_PER_LIB + ROOT_APP_VALUES);
}

fn check_typical(set: &EnvSet, registry: &Registry) {
    let value = assert_clean("typical", &evaluate(set, registry));
    assert_eq!(
        value.get("t00").map(Value::to_text).as_deref(),
        Some("base-setting-0-0")
    );
    assert_eq!(
        value.get("t01").map(Value::to_text).as_deref(),
        Some("db-setting-1:cloud-setting-1")
    );
    let vars = value
        .get("environmentVariables")
        .expect("environmentVariables");
    assert_eq!(vars.as_object().map(|m| m.len()), Some(10));
    assert!(vars.get("DB_TOKEN").is_some_and(|v| v.secret));
    // 40 own entries, the three import objects, environmentVariables.
    assert_eq!(value.as_object().map(|m| m.len()), Some(44));
}

fn bench_set(c: &mut Criterion, label: &str, set: &EnvSet, registry: &Registry) {
    let mut group = c.benchmark_group(label);
    group.bench_function("parse yaml-rust2", |b| {
        b.iter(|| {
            for src in set.sources() {
                black_box(yaml_rust2::YamlLoader::load_from_str(black_box(src)).unwrap());
            }
        })
    });
    group.bench_function("parse serde_yaml", |b| {
        b.iter(|| {
            for src in set.sources() {
                let doc: serde_yaml::Value = serde_yaml::from_str(black_box(src)).unwrap();
                black_box(doc);
            }
        })
    });
    group.bench_function("evaluate", |b| {
        b.iter(|| black_box(evaluate(black_box(set), registry)))
    });
    group.finish();
}

/// The typical set with 3 and 100 secrets, in plaintext and sealed with
/// age for `others` recipients besides the user (whose key comes last, the
/// worst place were every stanza tried).
fn bench_age(c: &mut Criterion, registry: &Registry) {
    let dir = tempfile::tempdir().unwrap();
    let keyring = escsh::secrets::Keyring::new(dir.path());
    let own = keyring.key().unwrap().recipient.clone();
    let mut group = c.benchmark_group("typical secrets");
    for others in [0, 4] {
        let mut recipients: Vec<_> = (0..others)
            .map(|_| age::x25519::Identity::generate().to_public())
            .collect();
        recipients.push(own.clone());
        let sealed = |plain: &str| {
            let payload = escsh::secrets::sealed::seal(plain.as_bytes(), &recipients).unwrap();
            format!(
                "fn::secret: {{ciphertext: {}}}",
                lang::envelope::seal(&payload)
            )
        };
        for extra in [0, 97] {
            let label = format!("{} secrets", extra + 3);
            if others == 0 {
                let plain = typical_with(extra, &|p| format!("fn::secret: {p}"));
                check_secrets(&plain, registry, &keyring, extra);
                group.bench_function(format!("{label}, plaintext"), |b| {
                    b.iter(|| black_box(evaluate_with(black_box(&plain), registry, &keyring)))
                });
            }
            let set = typical_with(extra, &sealed);
            check_secrets(&set, registry, &keyring, extra);
            group.bench_function(format!("{label}, age, {} recipient(s)", others + 1), |b| {
                b.iter(|| black_box(evaluate_with(black_box(&set), registry, &keyring)))
            });
        }
    }
    group.finish();
}

fn check_secrets(set: &EnvSet, registry: &Registry, keyring: &dyn Decrypter, extra: usize) {
    let value = assert_clean("typical secrets", &evaluate_with(set, registry, keyring));
    for i in 0..extra {
        let v = value.get(&format!("s{i:03}")).expect("secret");
        assert_eq!(v.to_text(), format!("secret-value-{i}"));
        assert!(v.secret);
    }
    let db = value
        .get("db")
        .and_then(|d| d.get("token"))
        .expect("db.token");
    assert_eq!(db.to_text(), "db-token-value");
}

fn benches(c: &mut Criterion) {
    let registry = Registry::new();
    let large = large();
    let typical = typical();
    check_large(&large, &registry);
    check_typical(&typical, &registry);
    bench_set(c, "large", &large, &registry);
    bench_set(c, "typical", &typical, &registry);
    bench_age(c, &registry);
}

criterion_group!(eval, benches);
criterion_main!(eval);
