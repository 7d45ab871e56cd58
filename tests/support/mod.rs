//! The providers, rotators and decrypter that the ESC conformance suite
//! expects the harness to register. They exist only in test code so that the
//! shipped binary can never reach them.

use std::fs;
use std::path::Path;

use escsh::lang::{BoxFuture, Context, Opened, Provider, ProviderError, Registry, Rotator};
use escsh::lang::{Decrypter, Kind, Value};
use serde_json::Value as Json;

/// The conformance cipher: every payload byte shifted by 128. The envelope
/// (magic, version, CRC) is the evaluator's business, not the decrypter's.
pub struct Rot128;

impl Decrypter for Rot128 {
    fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        Ok(payload.iter().map(|b| b.wrapping_add(128)).collect())
    }
}

/// The schemas of `provider-arg-schemas.json`, keyed as that file keys them
/// (`fn::open::NAME`, `fn::rotate::NAME`).
pub struct Schemas(Json);

impl Schemas {
    pub fn load(conformance_dir: &Path) -> Result<Schemas, String> {
        let path = conformance_dir.join("provider-arg-schemas.json");
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Schemas(json))
    }

    fn provider(&self, name: &str) -> Option<Json> {
        self.0.get(format!("fn::open::{name}")).cloned()
    }

    /// A rotator's entry describes the whole `{inputs, state}` argument;
    /// the trait wants the two halves separately.
    fn rotator_part(&self, name: &str, part: &str) -> Option<Json> {
        self.0
            .get(format!("fn::rotate::{name}"))?
            .get("properties")?
            .get(part)
            .cloned()
    }

    fn rotator_inputs(&self, name: &str) -> Option<Json> {
        self.rotator_part(name, "inputs")
    }

    /// The recorded state schema is already "state OR null", because the
    /// Go evaluator adds that alternative itself. Hand back the state half
    /// so an evaluator that wraps it again does not wrap it twice.
    fn rotator_state(&self, name: &str) -> Option<Json> {
        let wrapped = self.rotator_part(name, "state")?;
        let unwrapped = wrapped
            .get("oneOf")
            .and_then(Json::as_array)
            .and_then(|alts| {
                let is_null = |s: &Json| s.get("type").and_then(Json::as_str) == Some("null");
                match alts.as_slice() {
                    [state, null] if is_null(null) => Some(state.clone()),
                    [null, state] if is_null(null) => Some(state.clone()),
                    _ => None,
                }
            });
        Some(unwrapped.unwrap_or(wrapped))
    }
}

/// Every provider and rotator the conformance cases name.
pub fn registry(schemas: &Schemas) -> Registry {
    let mut registry = Registry::new();
    registry.register(
        "test",
        Echo {
            schema: schemas.provider("test"),
        },
    );
    registry.register(
        "secret-wrapper",
        SecretWrapper {
            schema: schemas.provider("secret-wrapper"),
        },
    );
    registry.register(
        "error",
        Fail {
            schema: schemas.provider("error"),
        },
    );
    registry.register(
        "schema",
        Echo {
            schema: schemas.provider("schema"),
        },
    );
    registry.register_rotator(
        "swap",
        Swap {
            inputs: schemas.rotator_inputs("swap"),
            state: schemas.rotator_state("swap"),
        },
    );
    registry.register_rotator(
        "echo",
        EchoRotator {
            inputs: schemas.rotator_inputs("echo"),
            state: schemas.rotator_state("echo"),
        },
    );
    registry
}

fn known(value: &Value) -> Option<&Value> {
    (!value.unknown).then_some(value)
}

fn require_object(inputs: &Value) -> Result<(), ProviderError> {
    match known(inputs).map(|v| &v.kind) {
        Some(Kind::Object(_)) => Ok(()),
        _ => Err(ProviderError(format!(
            "inputs must be an object, got {}",
            if inputs.unknown {
                "an unknown value"
            } else {
                inputs.type_name()
            }
        ))),
    }
}

/// `test` and `schema`: the inputs come back as they went in, flags and all.
pub struct Echo {
    schema: Option<Json>,
}

impl Provider for Echo {
    fn input_schema(&self) -> Option<Json> {
        self.schema.clone()
    }

    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move {
            require_object(inputs)?;
            Ok(Opened::from(inputs.clone()))
        })
    }
}

/// `secret-wrapper`: only the top node is flagged, so the cases that read
/// into the result check that the evaluator propagates secrecy downwards.
pub struct SecretWrapper {
    schema: Option<Json>,
}

impl Provider for SecretWrapper {
    fn input_schema(&self) -> Option<Json> {
        self.schema.clone()
    }

    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move {
            require_object(inputs)?;
            Ok(Opened::from(inputs.clone().secret()))
        })
    }
}

/// `error`: always fails with the caller's `why`.
pub struct Fail {
    schema: Option<Json>,
}

impl Provider for Fail {
    fn input_schema(&self) -> Option<Json> {
        self.schema.clone()
    }

    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move {
            // A `why` the evaluator could not compute should never reach a
            // provider; say so rather than invent a reason.
            let why = inputs
                .get("why")
                .and_then(Value::as_str)
                .unwrap_or("error provider called without a known string 'why'");
            Err(ProviderError(why.to_string()))
        })
    }
}

/// `swap`: opening shows the stored state.
pub struct Swap {
    inputs: Option<Json>,
    state: Option<Json>,
}

impl Rotator for Swap {
    fn input_schema(&self) -> Option<Json> {
        self.inputs.clone()
    }

    fn state_schema(&self) -> Option<Json> {
        self.state.clone()
    }

    fn open<'a>(
        &'a self,
        _inputs: &'a Value,
        state: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move { Ok(Opened::from(state.clone())) })
    }
}

/// `echo`: `next` is rotate-only, so a plain open that sees it evaluated
/// (and different from the current state) caught the evaluator cheating.
pub struct EchoRotator {
    inputs: Option<Json>,
    state: Option<Json>,
}

impl Rotator for EchoRotator {
    fn input_schema(&self) -> Option<Json> {
        self.inputs.clone()
    }

    fn state_schema(&self) -> Option<Json> {
        self.state.clone()
    }

    fn rotate_only(&self) -> Vec<String> {
        vec!["next".to_string()]
    }

    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        state: &'a Value,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>> {
        Box::pin(async move {
            let current = state.get("current").and_then(Value::as_str);
            if let Some(next) = inputs.get("next").and_then(known) {
                if next.as_str().is_none() || next.as_str() != current {
                    return Err(ProviderError(
                        "oh no! inputs were evaluated outside of rotation".into(),
                    ));
                }
            }
            let opened = match &state.kind {
                Kind::Null if !state.unknown => Value::object([]),
                _ => state.clone(),
            };
            Ok(Opened::from(opened))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn ctx() -> Context {
        Context {
            current_environment: "env".into(),
            root_environment: "env".into(),
            path: "values.x".into(),
        }
    }

    fn ready<T>(fut: BoxFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(fut)
    }

    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::object(entries.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn rot128_opens_the_readme_example() {
        // The README's sample envelope: "escx", u32 version, payload, CRC-32.
        let envelope = base64::engine::general_purpose::STANDARD
            .decode("ZXNjeAAAAAHo9e705fKyKo30VQ==")
            .unwrap();
        assert_eq!(&envelope[..4], b"escx");
        let payload = &envelope[8..envelope.len() - 4];
        let plain = Rot128.decrypt(payload).unwrap();
        assert_eq!(plain, b"hunter2");
        assert_eq!(Rot128.decrypt(b"hunter2").unwrap(), payload);
    }

    #[test]
    fn echo_keeps_element_flags_and_refuses_non_objects() {
        let inputs = obj(&[
            ("plain", Value::string("a")),
            ("hidden", Value::string("b").secret()),
        ]);
        let out = ready(Echo { schema: None }.open(&inputs, &ctx())).unwrap();
        assert_eq!(out.value, inputs);
        assert!(!out.value.secret);
        assert!(out.value.get("hidden").unwrap().secret);
        assert!(ready(Echo { schema: None }.open(&Value::string("x"), &ctx())).is_err());
    }

    #[test]
    fn secret_wrapper_flags_the_whole_result() {
        let inputs = obj(&[("k", Value::string("v"))]);
        let out = ready(SecretWrapper { schema: None }.open(&inputs, &ctx())).unwrap();
        assert!(out.value.secret);
        assert_eq!(out.value.to_json(true), serde_json::json!("[secret]"));
        assert_eq!(out.value.to_json(false), serde_json::json!({"k": "v"}));
    }

    #[test]
    fn error_provider_reports_why() {
        let inputs = obj(&[("why", Value::string("testing"))]);
        let err = ready(Fail { schema: None }.open(&inputs, &ctx())).unwrap_err();
        assert_eq!(err.0, "testing");
    }

    #[test]
    fn echo_rotator_refuses_next_outside_rotation() {
        let rot = EchoRotator {
            inputs: None,
            state: None,
        };
        let state = obj(&[("current", Value::string("a"))]);
        let next_b = obj(&[("next", Value::string("b"))]);
        let next_a = obj(&[("next", Value::string("a"))]);
        let next_unknown = obj(&[("next", Value::unknown())]);
        let err = ready(rot.open(&next_b, &state, &ctx())).unwrap_err();
        assert_eq!(err.0, "oh no! inputs were evaluated outside of rotation");
        assert_eq!(
            ready(rot.open(&next_a, &state, &ctx())).unwrap().value,
            state
        );
        assert_eq!(
            ready(rot.open(&next_unknown, &state, &ctx()))
                .unwrap()
                .value,
            state
        );
        let empty = ready(rot.open(&next_unknown, &Value::null(), &ctx())).unwrap();
        assert_eq!(empty.value.to_json(false), serde_json::json!({}));
        assert_eq!(rot.rotate_only(), vec!["next".to_string()]);
    }

    #[test]
    fn swap_opens_to_its_state() {
        let rot = Swap {
            inputs: None,
            state: None,
        };
        let state = obj(&[("a", Value::string("1")), ("b", Value::string("2"))]);
        let out = ready(rot.open(&Value::object([]), &state, &ctx())).unwrap();
        assert_eq!(out.value, state);
    }

    #[test]
    fn rotator_state_schema_drops_the_null_alternative() {
        let schemas = Schemas(serde_json::json!({
            "fn::rotate::r": {"properties": {
                "inputs": true,
                "state": {"oneOf": [{"type": "object", "required": ["a"]}, {"type": "null"}], "type": ""}
            }}
        }));
        assert_eq!(schemas.rotator_inputs("r"), Some(serde_json::json!(true)));
        assert_eq!(
            schemas.rotator_state("r"),
            Some(serde_json::json!({"type": "object", "required": ["a"]}))
        );
        assert_eq!(schemas.rotator_state("missing"), None);
    }
}
