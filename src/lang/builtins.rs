//! The `fn::*` builtins that compute on values (everything but the calls
//! to providers, which live in `call.rs`).

use base64::Engine;

use super::ast::{Builtin, Document, ExprId, ExprKind, Secret};
use super::eval::{Env, Evaluator};
use super::text;
use super::val::{VKind, Val};
use super::value::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl Evaluator<'_> {
    pub(super) fn eval_builtin(&mut self, env: &mut Env, id: ExprId, builtin: &Builtin) -> Val {
        match builtin {
            Builtin::Secret(Secret::Plaintext(s)) => Val::string(s.clone()).with_secret(true),
            Builtin::Secret(Secret::Invalid) => Val::string(String::new()).with_secret(true),
            Builtin::Secret(Secret::Ciphertext(c)) => match self.decrypt(c) {
                Ok(plain) => Val::string(plain).with_secret(true),
                Err(summary) => {
                    self.expr_error(env, id, summary);
                    Val::unknown().with_secret(true)
                }
            },
            Builtin::Join(delim, list) => self.join(env, *delim, *list),
            Builtin::Split(delim, s) => self.split(env, *delim, *s),
            Builtin::Concat(arg) => self.concat(env, *arg),
            Builtin::ToJson(arg) => {
                let v = self.eval(env, *arg, None);
                derived(&v, || Val::string(text::to_json(&v.to_value(false))))
            }
            Builtin::FromJson(arg) => {
                let v = self.eval(env, *arg, None);
                let Some(s) = self.expect_string(env, *arg, &v) else {
                    return unknown_like(&v);
                };
                match serde_json::from_str::<serde_json::Value>(&s) {
                    Ok(json) => {
                        let mut out = Val::from_value(&Value::from_json(&json));
                        if v.secret {
                            out.deep_secret();
                        }
                        out
                    }
                    Err(e) => {
                        self.expr_error(env, *arg, format!("decoding JSON string: {e}"));
                        unknown_like(&v)
                    }
                }
            }
            Builtin::ToBase64(arg) => {
                let v = self.eval(env, *arg, None);
                match self.expect_string(env, *arg, &v) {
                    Some(s) => Val::string(B64.encode(s)).with_secret(v.secret),
                    None => unknown_like(&v),
                }
            }
            Builtin::FromBase64(arg) => {
                let v = self.eval(env, *arg, None);
                let Some(s) = self.expect_string(env, *arg, &v) else {
                    return unknown_like(&v);
                };
                match B64.decode(s.as_bytes()) {
                    Ok(bytes) => Val::string(String::from_utf8_lossy(&bytes).into_owned())
                        .with_secret(v.secret),
                    Err(e) => {
                        self.expr_error(
                            env,
                            *arg,
                            format!(
                                "decoding base64 string: {}",
                                super::envelope::base64_error(&e)
                            ),
                        );
                        unknown_like(&v)
                    }
                }
            }
            Builtin::ToString(arg) => {
                let v = self.eval(env, *arg, None);
                derived(&v, || Val::string(v.to_value(true).to_text()))
            }
            Builtin::Final(arg) => {
                let mut v = self.eval(env, *arg, None);
                v.fin = true;
                v
            }
            Builtin::Validate { schema, value } => self.validate(env, *schema, *value),
            Builtin::Open { provider, inputs } => self.open(env, id, provider, *inputs),
            Builtin::Rotate {
                provider,
                inputs,
                state,
            } => self.rotate(env, id, provider, *inputs, *state),
        }
    }

    pub(super) fn expr_error(&mut self, env: &Env, id: ExprId, summary: String) {
        let expr = &env.doc.exprs[id];
        let (pos, path) = (expr.pos, expr.path.clone());
        self.error(&env.name, pos, &path, summary);
    }

    /// The string in `v`, or `None` after reporting a type error (silently
    /// for an unknown value).
    fn expect_string(&mut self, env: &Env, id: ExprId, v: &Val) -> Option<String> {
        if v.unknown {
            return None;
        }
        match &v.kind {
            VKind::String(s) => Some(s.clone()),
            _ => {
                self.expr_error(env, id, format!("expected string, got {}", v.type_name()));
                None
            }
        }
    }

    /// Reports a type error for each element of `list` that is not a
    /// `want`, at the element's own expression when it has one.
    fn check_elements(&mut self, env: &Env, list_id: ExprId, items: &[Val], want: &str) -> bool {
        let element_exprs = match &env.doc.exprs[list_id].kind {
            ExprKind::Array(ids) if ids.len() == items.len() => Some(ids.clone()),
            _ => None,
        };
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            if item.unknown || item.type_name() == want {
                continue;
            }
            ok = false;
            let at = element_exprs.as_ref().map_or(list_id, |ids| ids[i]);
            self.expr_error(
                env,
                at,
                format!("expected {want}, got {}", item.type_name()),
            );
        }
        ok
    }

    fn expect_array(&mut self, env: &Env, id: ExprId, v: &Val) -> Option<Vec<Val>> {
        if v.unknown {
            return None;
        }
        match &v.kind {
            VKind::Array(items) => Some(items.clone()),
            _ => {
                self.expr_error(env, id, format!("expected array, got {}", v.type_name()));
                None
            }
        }
    }

    fn join(&mut self, env: &mut Env, delim_id: ExprId, list_id: ExprId) -> Val {
        let delim = self.eval(env, delim_id, None);
        let list = self.eval(env, list_id, None);
        let secret = delim.contains_secret() || list.contains_secret();
        let d = self.expect_string(env, delim_id, &delim);
        let items = self.expect_array(env, list_id, &list);
        let (Some(d), Some(items)) = (d, items) else {
            return Val::unknown().with_secret(secret);
        };
        if !self.check_elements(env, list_id, &items, "string") || items.iter().any(|i| i.unknown) {
            return Val::unknown().with_secret(secret);
        }
        let parts: Vec<String> = items
            .iter()
            .filter_map(|i| match &i.kind {
                VKind::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        Val::string(parts.join(&d)).with_secret(secret)
    }

    fn split(&mut self, env: &mut Env, delim_id: ExprId, s_id: ExprId) -> Val {
        let delim = self.eval(env, delim_id, None);
        let s = self.eval(env, s_id, None);
        let secret = delim.contains_secret() || s.contains_secret();
        let d = self.expect_string(env, delim_id, &delim);
        let s = self.expect_string(env, s_id, &s);
        let (Some(d), Some(s)) = (d, s) else {
            return Val::unknown().with_secret(secret);
        };
        let parts: Vec<Val> = if d.is_empty() {
            s.chars().map(|c| Val::string(c.to_string())).collect()
        } else {
            s.split(d.as_str())
                .map(|p| Val::string(p.to_string()))
                .collect()
        };
        Val::new(VKind::Array(parts)).with_secret(secret)
    }

    fn concat(&mut self, env: &mut Env, arg: ExprId) -> Val {
        let v = self.eval(env, arg, None);
        let Some(arrays) = self.expect_array(env, arg, &v) else {
            return unknown_like(&v);
        };
        if !self.check_elements(env, arg, &arrays, "array") {
            return unknown_like(&v);
        }
        let mut secret = v.secret;
        let mut out = Vec::new();
        for array in arrays {
            if array.unknown {
                return Val::unknown().with_secret(secret);
            }
            secret |= array.secret;
            if let VKind::Array(items) = array.kind {
                out.extend(items);
            }
        }
        Val::new(VKind::Array(out)).with_secret(secret)
    }

    /// Decrypts every ciphertext of `doc` in one call to the decrypter,
    /// which may spread them over the cores; [`Self::decrypt`] then finds
    /// them done. A ciphertext whose envelope is broken is left to it.
    pub(super) fn decrypt_ahead(&mut self, doc: &Document) {
        let Some(decrypter) = self.options.decrypter else {
            return;
        };
        let mut seen = std::collections::HashSet::new();
        let opened: Vec<(&str, Vec<u8>)> = doc
            .exprs
            .iter()
            .filter_map(|e| match &e.kind {
                ExprKind::Builtin(Builtin::Secret(Secret::Ciphertext(c))) => Some(c.as_str()),
                _ => None,
            })
            .filter(|c| !self.decrypted.contains_key(*c) && seen.insert(*c))
            .filter_map(|c| super::envelope::open(c).ok().map(|p| (c, p)))
            .collect();
        if opened.len() < 2 {
            return;
        }
        let payloads: Vec<&[u8]> = opened.iter().map(|(_, p)| p.as_slice()).collect();
        let results = decrypter.decrypt_all(&payloads);
        for ((c, _), result) in opened.iter().zip(results) {
            self.decrypted.insert(c.to_string(), plaintext(result));
        }
    }

    /// Opens a ciphertext envelope and hands its payload to the decrypter.
    fn decrypt(&self, ciphertext: &str) -> Result<String, String> {
        if let Some(done) = self.decrypted.get(ciphertext) {
            return done.clone();
        }
        let payload = super::envelope::open(ciphertext)?;
        let Some(decrypter) = self.options.decrypter else {
            return Err(
                "decrypting: this environment holds a Pulumi Cloud ciphertext, which only Pulumi Cloud can decrypt; write the secret as `fn::secret: <plaintext>` in a local environment".into(),
            );
        };
        plaintext(decrypter.decrypt(&payload))
    }
}

fn plaintext(decrypted: Result<Vec<u8>, String>) -> Result<String, String> {
    decrypted
        .map(|plain| String::from_utf8_lossy(&plain).into_owned())
        .map_err(|e| format!("decrypting: {e}"))
}

/// A value computed from `v` as a whole: unknown if anything in `v` is,
/// secret if anything in `v` is.
fn derived(v: &Val, compute: impl FnOnce() -> Val) -> Val {
    let secret = v.contains_secret();
    if v.contains_unknown() {
        return Val::unknown().with_secret(secret);
    }
    compute().with_secret(secret)
}

fn unknown_like(v: &Val) -> Val {
    Val::unknown().with_secret(v.contains_secret())
}
