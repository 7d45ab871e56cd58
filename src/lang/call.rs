//! `fn::open`, `fn::rotate` and `fn::validate`: values checked against a
//! schema, and the calls into providers.
//!
//! The async runtime is built here, the first time a provider is actually
//! called, so evaluating a definition without `fn::open` never starts one.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::ast::{self, ExprId, ExprKind};
use super::eval::{Env, Evaluator};
use super::interp::{self, Accessor};
use super::provider::{Context, Opened, ProviderError};
use super::val::{VKind, Val};
use super::{metaschema, schema};

impl Evaluator<'_> {
    /// ESC's `fn::validate`: the value passes through whatever happens; the
    /// schema is checked first (its shape, then what ESC's compiler
    /// refuses), and only a schema that passes is applied to the value.
    pub(super) fn validate(
        &mut self,
        env: &mut Env,
        schema_id: Option<ExprId>,
        value_id: ExprId,
    ) -> Val {
        let schema_val = schema_id.map(|id| (id, self.eval(env, id, None)));
        let value = self.eval(env, value_id, None);
        let Some((schema_id, schema_val)) = schema_val else {
            return value;
        };
        if schema_val.contains_unknown()
            || !self.check_against(
                env,
                schema_id,
                &schema_val,
                metaschema::schema_for_schemas(),
            )
        {
            return value;
        }
        let schema = schema_val.to_value(false).to_json(false);
        match metaschema::compile(&schema) {
            Ok(()) => {
                self.check_against(env, value_id, &value, &schema);
            }
            Err(e) => self.expr_error(env, schema_id, e),
        }
        value
    }

    /// Reports each violation at the deepest expression that wrote the
    /// offending value; the rest of the path prefixes the message. Returns
    /// whether the value passed.
    fn check_against(&mut self, env: &Env, id: ExprId, value: &Val, schema: &Json) -> bool {
        let violations = schema::validate(&value.to_value(false), schema);
        for v in &violations {
            let mut at = id;
            let mut rest = v.path.as_slice();
            while let Some((first, tail)) = rest.split_first() {
                let child = match (&env.doc.exprs[at].kind, first) {
                    (ExprKind::Object(props), Accessor::Key(k)) => ast::property(props, k),
                    (ExprKind::Array(items), Accessor::Index(i)) => {
                        usize::try_from(*i).ok().and_then(|i| items.get(i).copied())
                    }
                    _ => None,
                };
                match child {
                    Some(c) => {
                        at = c;
                        rest = tail;
                    }
                    None => break,
                }
            }
            let summary = if rest.is_empty() {
                v.message.clone()
            } else {
                format!("{}: {}", interp::path_string(rest), v.message)
            };
            self.expr_error(env, at, summary);
        }
        violations.is_empty()
    }

    pub(super) fn open(&mut self, env: &mut Env, id: ExprId, name: &str, inputs_id: ExprId) -> Val {
        // As in ESC, the inputs are evaluated (and their errors reported)
        // even when the provider is unknown.
        let inputs = self.eval(env, inputs_id, None);
        let Some(provider) = self.options.providers.provider(name).cloned() else {
            self.expr_error(env, id, format!("unknown provider \"{name}\""));
            return Val::unknown();
        };
        if inputs.contains_unknown() {
            return Val::unknown();
        }
        if let Some(schema) = provider.input_schema() {
            if !self.check_against(env, inputs_id, &inputs, &schema) {
                return Val::unknown();
            }
        }
        let ctx = self.provider_context(env, id);
        let inputs = inputs.to_value(false);
        let result = self.block_on(provider.open(&inputs, &ctx));
        self.opened(env, id, result)
    }

    pub(super) fn rotate(
        &mut self,
        env: &mut Env,
        id: ExprId,
        name: &str,
        inputs_id: ExprId,
        state_id: Option<ExprId>,
    ) -> Val {
        let rotator = self.options.providers.rotator(name).cloned();
        // Rotate-only inputs are evaluated only while rotating: on open they
        // stay unknown, and the rotator is still called. An unknown rotator
        // has none: all its inputs are evaluated, as an unknown provider's.
        let rotate_only = rotator
            .as_ref()
            .map(|r| r.rotate_only())
            .unwrap_or_default();
        let inputs = match &env.doc.exprs[inputs_id].kind {
            ExprKind::Object(props) => {
                let mut map = BTreeMap::new();
                for (k, child) in props.clone() {
                    let v = if rotate_only.contains(&k) {
                        Val::unknown()
                    } else {
                        self.eval(env, child, None)
                    };
                    map.insert(k, v);
                }
                Val::new(VKind::Object(map))
            }
            _ => self.eval(env, inputs_id, None),
        };
        let known_inputs_unknown = match inputs.object() {
            Some(map) => map
                .iter()
                .any(|(k, v)| !rotate_only.contains(k) && v.contains_unknown()),
            None => inputs.contains_unknown(),
        };
        let state = match state_id {
            Some(s) => self.eval(env, s, None),
            None => Val::new(VKind::Null),
        };
        let Some(rotator) = rotator else {
            self.expr_error(env, id, format!("unknown rotator \"{name}\""));
            return Val::unknown();
        };
        if known_inputs_unknown || state.contains_unknown() {
            return Val::unknown();
        }
        let mut valid = true;
        if let (Some(schema), Some(s)) = (rotator.state_schema(), state_id) {
            valid &= self.check_against(env, s, &state, &nullable(schema));
        }
        if let Some(schema) = rotator.input_schema() {
            valid &= self.check_against(env, inputs_id, &inputs, &schema);
        }
        if !valid {
            return Val::unknown();
        }
        let ctx = self.provider_context(env, id);
        let (inputs, state) = (inputs.to_value(false), state.to_value(false));
        let result = self.block_on(rotator.open(&inputs, &state, &ctx));
        self.opened(env, id, result)
    }

    fn provider_context(&self, env: &Env, id: ExprId) -> Context {
        Context {
            current_environment: env.name.clone(),
            root_environment: self.root_name.clone(),
            path: env.doc.exprs[id].path.clone(),
        }
    }

    fn opened(&mut self, env: &Env, id: ExprId, result: Result<Opened, ProviderError>) -> Val {
        match result {
            Ok(opened) => {
                if let Some(t) = opened.expires_at {
                    self.expires_at = Some(self.expires_at.map_or(t, |e| e.min(t)));
                }
                self.credentials.extend(opened.credentials);
                let mut v = Val::from_value(&opened.value);
                if v.secret {
                    v.deep_secret();
                }
                v
            }
            Err(e) => {
                self.expr_error(env, id, e.0);
                Val::unknown()
            }
        }
    }

    fn block_on<T>(
        &mut self,
        future: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        if self.runtime.is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    ProviderError(format!("cannot start the async runtime for providers: {e}"))
                })?;
            self.runtime = Some(runtime);
        }
        match &self.runtime {
            Some(rt) => rt.block_on(future),
            None => Err(ProviderError("no async runtime".into())),
        }
    }
}

/// ESC accepts a missing (null) rotation state: the state schema is wrapped
/// as "schema or null", unless it already is.
fn nullable(schema: Json) -> Json {
    let already = schema
        .get("oneOf")
        .and_then(Json::as_array)
        .is_some_and(|alts| {
            alts.iter()
                .any(|a| a.get("type").and_then(Json::as_str) == Some("null"))
        });
    if already {
        schema
    } else {
        serde_json::json!({"oneOf": [schema, {"type": "null"}], "type": ""})
    }
}
