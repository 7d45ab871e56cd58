//! Reading provider inputs out of a [`Value`] with errors that name the
//! provider and the property path (`aws-login: oidc.roleArn: expected a
//! string, got number`), so a typo points at its line of YAML.

use std::collections::BTreeMap;
use std::fmt;

use crate::lang::{Kind, ProviderError, Value};

/// A string that must never be shown: `Debug` prints `[secret]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

/// An error about one input property.
pub fn error(provider: &str, path: &str, message: impl fmt::Display) -> ProviderError {
    if path.is_empty() {
        ProviderError(format!("{provider}: {message}"))
    } else {
        ProviderError(format!("{provider}: {path}: {message}"))
    }
}

/// One object of the inputs, with the path that leads to it.
pub struct Object<'a> {
    provider: &'static str,
    path: String,
    map: &'a BTreeMap<String, Value>,
}

impl<'a> Object<'a> {
    /// The inputs themselves, which must be an object.
    pub fn root(provider: &'static str, inputs: &'a Value) -> Result<Object<'a>, ProviderError> {
        Object::expect(provider, String::new(), inputs)
    }

    fn expect(
        provider: &'static str,
        path: String,
        value: &'a Value,
    ) -> Result<Object<'a>, ProviderError> {
        match &value.kind {
            Kind::Object(map) => Ok(Object {
                provider,
                path,
                map,
            }),
            _ => Err(error(
                provider,
                &path,
                format_args!("expected an object, got {}", value.type_name()),
            )),
        }
    }

    /// The path of a property of this object, as shown in messages.
    pub fn path_of(&self, key: &str) -> String {
        let simple = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if simple {
            key.to_string()
        } else {
            format!("[{key:?}]")
        };
        match (self.path.is_empty(), simple) {
            (true, _) => key,
            (false, true) => format!("{}.{key}", self.path),
            (false, false) => format!("{}{key}", self.path),
        }
    }

    /// An error about a property of this object (or the object itself when
    /// `key` is empty).
    pub fn error(&self, key: &str, message: impl fmt::Display) -> ProviderError {
        let path = if key.is_empty() {
            self.path.clone()
        } else {
            self.path_of(key)
        };
        error(self.provider, &path, message)
    }

    /// Rejects properties outside `allowed`, which catches misspellings
    /// that would otherwise silently fall back to a default.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ProviderError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(self.error(
                key,
                format_args!("unknown property; expected one of: {}", allowed.join(", ")),
            )),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A property; `null` counts as absent, as an unset YAML key would.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .get(key)
            .filter(|v| v.unknown || !matches!(v.kind, Kind::Null))
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match &value.kind {
            Kind::String(s) if !value.unknown => Ok(Some(s)),
            _ => Err(self.error(key, expected("a string", value))),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<&'a str, ProviderError> {
        match self.string(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.error(key, "must not be empty")),
            None => Err(self.error(key, "missing (a string is required)")),
        }
    }

    /// A string that must stay out of messages and `Debug` output.
    pub fn secret(&self, key: &str) -> Result<Option<Secret>, ProviderError> {
        Ok(self.string(key)?.map(Secret::new))
    }

    pub fn required_secret(&self, key: &str) -> Result<Secret, ProviderError> {
        self.required_string(key).map(Secret::new)
    }

    /// Whether the value at `key` was marked secret in the definition.
    pub fn is_secret(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v.secret)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match &value.kind {
            Kind::Bool(b) if !value.unknown => Ok(Some(*b)),
            _ => Err(self.error(key, expected("true or false", value))),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Vec<&'a str>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Kind::Array(items) = &value.kind else {
            return Err(self.error(key, expected("a list of strings", value)));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match &item.kind {
                Kind::String(s) if !item.unknown => Ok(s.as_str()),
                _ => Err(error(
                    self.provider,
                    &format!("{}[{i}]", self.path_of(key)),
                    expected("a string", item),
                )),
            })
            .collect()
    }

    pub fn object(&self, key: &str) -> Result<Option<Object<'a>>, ProviderError> {
        self.get(key)
            .map(|v| Object::expect(self.provider, self.path_of(key), v))
            .transpose()
    }

    pub fn required_object(&self, key: &str) -> Result<Object<'a>, ProviderError> {
        self.object(key)?
            .ok_or_else(|| self.error(key, "missing (an object is required)"))
    }

    /// Every property of this object as an object of its own, for maps like
    /// `get: {name: {...}}`.
    pub fn objects(&self) -> Result<Vec<(&'a str, Object<'a>)>, ProviderError> {
        self.map
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.as_str(),
                    Object::expect(self.provider, self.path_of(k), v)?,
                ))
            })
            .collect()
    }
}

fn expected(what: &str, got: &Value) -> String {
    if got.unknown {
        format!("expected {what}, but the value is not known yet")
    } else {
        format!("expected {what}, got {}", got.type_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(json: serde_json::Value) -> Value {
        Value::from_json(&json)
    }

    #[test]
    fn names_the_property_path() {
        let v = inputs(serde_json::json!({"oidc": {"roleArn": 42}}));
        let root = Object::root("aws-login", &v).unwrap();
        let oidc = root.required_object("oidc").unwrap();
        let err = oidc.required_string("roleArn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "aws-login: oidc.roleArn: expected a string, got number"
        );
        let err = oidc.required_string("sessionName").unwrap_err();
        assert_eq!(
            err.to_string(),
            "aws-login: oidc.sessionName: missing (a string is required)"
        );
    }

    #[test]
    fn rejects_unknown_properties() {
        let v = inputs(serde_json::json!({"odic": {}}));
        let root = Object::root("aws-login", &v).unwrap();
        let err = root.only(&["oidc", "static"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "aws-login: odic: unknown property; expected one of: oidc, static"
        );
    }

    #[test]
    fn lists_and_odd_keys() {
        let v = inputs(serde_json::json!({"get": {"a.b": {"policyArns": ["x", 1]}}}));
        let root = Object::root("aws-secrets", &v).unwrap();
        let get = root.required_object("get").unwrap();
        let (name, entry) = get.objects().unwrap().pop().unwrap();
        assert_eq!(name, "a.b");
        let err = entry.strings("policyArns").unwrap_err();
        assert_eq!(
            err.to_string(),
            "aws-secrets: get[\"a.b\"].policyArns[1]: expected a string, got number"
        );
    }

    #[test]
    fn null_is_absent_and_non_objects_are_rejected() {
        let v = inputs(serde_json::json!({"region": null}));
        let root = Object::root("aws-login", &v).unwrap();
        assert_eq!(root.string("region").unwrap(), None);
        let err = Object::root("aws-login", &Value::string("x"))
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "aws-login: expected an object, got string");
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[secret]");
    }
}
