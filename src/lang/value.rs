//! The value tree every stage of escsh passes around: plain JSON-like data
//! with `secret` and `unknown` carried as flags on each node, so redaction and
//! projection never have to guess.

use std::collections::BTreeMap;
use std::fmt;

/// One evaluated node.
#[derive(Clone, PartialEq)]
pub struct Value {
    pub kind: Kind,
    /// The node (and everything below it) must never be shown unredacted.
    pub secret: bool,
    /// The evaluator could not compute the node; `kind` is meaningless.
    pub unknown: bool,
}

#[derive(Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// A JSON number that remembers whether it was written as an integer, so
/// `42` stays `42` and `1.5` stays `1.5` on the way out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl fmt::Display for Number {
    /// Shortest round-trip text, integral floats without a fraction (as Go's
    /// `strconv.FormatFloat(f, 'g', -1, 64)` renders JSON numbers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) if x.is_nan() => f.write_str("NaN"),
            Number::Float(x) if x.is_infinite() => {
                f.write_str(if x > 0.0 { "+Inf" } else { "-Inf" })
            }
            Number::Float(x) => {
                let abs = x.abs();
                if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                    let s = format!("{x:e}");
                    // Go writes a signed, at-least-two-digit exponent: 1e+21, 1e-07.
                    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                    let (sign, digits) = match e.strip_prefix('-') {
                        Some(d) => ('-', d),
                        None => ('+', e),
                    };
                    write!(f, "{m}e{sign}{digits:0>2}")
                } else {
                    write!(f, "{x}")
                }
            }
        }
    }
}

impl Value {
    pub fn new(kind: Kind) -> Value {
        Value {
            kind,
            secret: false,
            unknown: false,
        }
    }

    pub fn null() -> Value {
        Value::new(Kind::Null)
    }

    pub fn unknown() -> Value {
        Value {
            kind: Kind::Null,
            secret: false,
            unknown: true,
        }
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::new(Kind::String(s.into()))
    }

    pub fn secret(mut self) -> Value {
        self.secret = true;
        self
    }

    pub fn object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
        Value::new(Kind::Object(entries.into_iter().collect()))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) if !self.unknown => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match &self.kind {
            Kind::Object(m) if !self.unknown => Some(m),
            _ => None,
        }
    }

    /// Looks up a dotted path of object keys (no indexing), as `open ENV PATH` does.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// True when this node or any node below it is secret.
    pub fn contains_secret(&self) -> bool {
        self.secret
            || match &self.kind {
                Kind::Array(items) => items.iter().any(Value::contains_secret),
                Kind::Object(map) => map.values().any(Value::contains_secret),
                _ => false,
            }
    }

    /// True when this node or any node below it is unknown.
    pub fn contains_unknown(&self) -> bool {
        self.unknown
            || match &self.kind {
                Kind::Array(items) => items.iter().any(Value::contains_unknown),
                Kind::Object(map) => map.values().any(Value::contains_unknown),
                _ => false,
            }
    }

    /// Marks this node and every node below it secret.
    pub fn deep_secret(&mut self) {
        self.secret = true;
        match &mut self.kind {
            Kind::Array(items) => items.iter_mut().for_each(Value::deep_secret),
            Kind::Object(map) => map.values_mut().for_each(Value::deep_secret),
            _ => {}
        }
    }

    /// Every secret string (leaf) below this node, for redaction.
    pub fn secret_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_secrets(false, &mut out);
        out
    }

    fn collect_secrets(&self, inherited: bool, out: &mut Vec<String>) {
        let secret = inherited || self.secret;
        match &self.kind {
            Kind::Array(items) => items.iter().for_each(|v| v.collect_secrets(secret, out)),
            Kind::Object(map) => map.values().for_each(|v| v.collect_secrets(secret, out)),
            _ if secret && !self.unknown => out.push(self.to_text()),
            _ => {}
        }
    }

    /// The value as plain JSON. `redact` replaces secrets by `"[secret]"`;
    /// unknowns are always `"[unknown]"`.
    pub fn to_json(&self, redact: bool) -> serde_json::Value {
        use serde_json::Value as J;
        if redact && self.secret {
            return J::String("[secret]".into());
        }
        if self.unknown {
            return J::String("[unknown]".into());
        }
        match &self.kind {
            Kind::Null => J::Null,
            Kind::Bool(b) => J::Bool(*b),
            Kind::Number(Number::Int(i)) => J::from(*i),
            Kind::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(Number::Float(*f).to_string())),
            Kind::String(s) => J::String(s.clone()),
            Kind::Array(items) => J::Array(items.iter().map(|v| v.to_json(redact)).collect()),
            Kind::Object(map) => J::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_json(redact)))
                    .collect(),
            ),
        }
    }

    /// Builds a value from plain JSON (no flags).
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        Value::new(match json {
            J::Null => Kind::Null,
            J::Bool(b) => Kind::Bool(*b),
            J::Number(n) => Kind::Number(match n.as_i64() {
                Some(i) => Number::Int(i),
                None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
            }),
            J::String(s) => Kind::String(s.clone()),
            J::Array(items) => Kind::Array(items.iter().map(Value::from_json).collect()),
            J::Object(map) => Kind::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// ESC's string conversion of a scalar, as the projection and `${}` in
    /// `run` arguments use it: null is empty, unknown is `[unknown]`. Arrays
    /// and objects use ESC's quoted forms (see `lang::text`).
    pub fn to_text(&self) -> String {
        crate::lang::text::to_string(self)
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Number(_) => "number",
            Kind::String(_) => "string",
            Kind::Array(_) => "array",
            Kind::Object(_) => "object",
        }
    }
}

/// `Debug` never shows a secret: a stray `{:?}` in an error or log cannot leak.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            return f.write_str("[secret]");
        }
        if self.unknown {
            return f.write_str("[unknown]");
        }
        match &self.kind {
            Kind::Null => f.write_str("null"),
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Number(n) => write!(f, "{n}"),
            Kind::String(s) => write!(f, "{s:?}"),
            Kind::Array(items) => f.debug_list().entries(items).finish(),
            Kind::Object(map) => f.debug_map().entries(map).finish(),
        }
    }
}
