//! Arbitrary bytes as the definition of an environment that can import, and
//! reference, a few fixed environments. Nothing may panic, overflow the
//! stack or hang, whatever the input.

#![no_main]

use escsh::lang::{self, Decrypter, LoadError, Loader, Options, Registry, Value};
use libfuzzer_sys::fuzz_target;

/// Small environments that cover what an import can bring in: plain
/// values, a secret, a reference, an import of its own, and a cycle back to
/// the environment under test (named `fuzz`).
const FIXED: &[(&str, &str)] = &[
    (
        "base",
        "values:\n  a: 1\n  s: { fn::secret: hunter2 }\n  o: { x: [1, two, true], y: ${a} }\n",
    ),
    (
        "proj/shared",
        "imports:\n  - base\nvalues:\n  url: https://${o.x[1]}.example\n  o: { z: null }\n",
    ),
    ("loop", "imports:\n  - fuzz\nvalues:\n  back: ${nothing}\n"),
];

struct Fixed;

impl Loader for Fixed {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        FIXED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, src)| src.as_bytes().to_vec())
            .ok_or_else(|| LoadError::NotFound {
                name: name.to_string(),
                hint: None,
            })
    }
}

/// Lets ciphertext envelopes in the input reach the decryption path.
struct Rot128;

impl Decrypter for Rot128 {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        Ok(payload.iter().map(|b| b.wrapping_add(128)).collect())
    }
}

fuzz_target!(|data: &[u8]| {
    let registry = Registry::new();
    let options = Options {
        providers: &registry,
        decrypter: Some(&Rot128),
        context: Value::object([("user".to_string(), Value::string("fuzzer"))]),
    };
    let evaluated = lang::evaluate("fuzz", data, &Fixed, &options);
    // The consumers walk the result too; they must cope with whatever came out.
    if let Some(value) = &evaluated.value {
        let _ = value.to_json(true);
        let _ = value.to_json(false);
        let _ = value.secret_strings();
        let _ = value.to_text();
        let _ = format!("{value:?}");
    }
    for d in &evaluated.diagnostics {
        let _ = d.to_string();
    }
});
