//! The evaluator's own value: the public [`Value`] plus what only evaluation
//! needs: `fin` (made by `fn::final`: an importer may not override it) and
//! `inherited` (the entry came from a lower layer: an import).

use std::collections::BTreeMap;

use super::budget;
use super::value::{Kind, Number, Value};

#[derive(Clone, Debug)]
pub struct Val {
    pub kind: VKind,
    pub secret: bool,
    pub unknown: bool,
    pub fin: bool,
    pub inherited: bool,
    /// What the value occupies, children included (see [`budget`]); kept
    /// up to date by [`Val::new`] so that charging a copy costs nothing.
    pub weight: u64,
    /// How many levels of arrays and objects it nests (a scalar is 0).
    pub depth: usize,
}

#[derive(Clone, Debug)]
pub enum VKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Val>),
    Object(BTreeMap<String, Val>),
}

impl Val {
    pub fn new(kind: VKind) -> Val {
        let (weight, depth) = measure(&kind);
        Val {
            kind,
            secret: false,
            unknown: false,
            fin: false,
            inherited: false,
            weight,
            depth,
        }
    }

    /// Measures again after the children changed in place.
    fn remeasure(&mut self) {
        (self.weight, self.depth) = measure(&self.kind);
    }

    pub fn unknown() -> Val {
        Val {
            unknown: true,
            ..Val::new(VKind::Null)
        }
    }

    pub fn string(s: String) -> Val {
        Val::new(VKind::String(s))
    }

    pub fn with_secret(mut self, secret: bool) -> Val {
        self.secret |= secret;
        self
    }

    pub fn object(&self) -> Option<&BTreeMap<String, Val>> {
        match &self.kind {
            VKind::Object(m) if !self.unknown => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Val> {
        self.object()?.get(key)
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            VKind::Null => "null",
            VKind::Bool(_) => "boolean",
            VKind::Number(_) => "number",
            VKind::String(_) => "string",
            VKind::Array(_) => "array",
            VKind::Object(_) => "object",
        }
    }

    pub fn contains_secret(&self) -> bool {
        self.secret
            || match &self.kind {
                VKind::Array(items) => items.iter().any(Val::contains_secret),
                VKind::Object(map) => map.values().any(Val::contains_secret),
                _ => false,
            }
    }

    pub fn contains_unknown(&self) -> bool {
        self.unknown
            || match &self.kind {
                VKind::Array(items) => items.iter().any(Val::contains_unknown),
                VKind::Object(map) => map.values().any(Val::contains_unknown),
                _ => false,
            }
    }

    pub fn deep_secret(&mut self) {
        self.secret = true;
        match &mut self.kind {
            VKind::Array(items) => items.iter_mut().for_each(Val::deep_secret),
            VKind::Object(map) => map.values_mut().for_each(Val::deep_secret),
            _ => {}
        }
    }

    /// The public value. `own_only` leaves out entries inherited from
    /// imports, which is what ESC's `fn::toString` sees.
    pub fn to_value(&self, own_only: bool) -> Value {
        let kind = match &self.kind {
            VKind::Null => Kind::Null,
            VKind::Bool(b) => Kind::Bool(*b),
            VKind::Number(n) => Kind::Number(*n),
            VKind::String(s) => Kind::String(s.clone()),
            VKind::Array(items) => {
                Kind::Array(items.iter().map(|v| v.to_value(own_only)).collect())
            }
            VKind::Object(map) => Kind::Object(
                map.iter()
                    .filter(|(_, v)| !(own_only && v.inherited))
                    .map(|(k, v)| (k.clone(), v.to_value(own_only)))
                    .collect(),
            ),
        };
        Value {
            kind,
            secret: self.secret,
            unknown: self.unknown,
        }
    }

    pub fn from_value(v: &Value) -> Val {
        let kind = match &v.kind {
            Kind::Null => VKind::Null,
            Kind::Bool(b) => VKind::Bool(*b),
            Kind::Number(n) => VKind::Number(*n),
            Kind::String(s) => VKind::String(s.clone()),
            Kind::Array(items) => VKind::Array(items.iter().map(Val::from_value).collect()),
            Kind::Object(map) => VKind::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Val::from_value(v)))
                    .collect(),
            ),
        };
        Val {
            secret: v.secret,
            unknown: v.unknown,
            ..Val::new(kind)
        }
    }
}

/// Weight and depth from the children's (already measured) own.
fn measure(kind: &VKind) -> (u64, usize) {
    let node = budget::NODE_WEIGHT;
    match kind {
        VKind::String(s) => (node.saturating_add(s.len() as u64), 0),
        VKind::Array(items) => items.iter().fold((node, 1), |(w, d), v| {
            (w.saturating_add(v.weight), d.max(v.depth + 1))
        }),
        VKind::Object(map) => map.iter().fold((node, 1), |(w, d), (k, v)| {
            let entry = (k.len() as u64).saturating_add(v.weight);
            (w.saturating_add(entry), d.max(v.depth + 1))
        }),
        _ => (node, 0),
    }
}

/// Layers `top` over `base`: objects merge key by key, anything else in
/// `top` replaces `base` (null included: it is a value, not a delete). A
/// final `base` wins; `on_final` is told so the caller can warn.
pub fn merge(top: Val, base: &Val, on_final: &mut dyn FnMut()) -> Val {
    if base.fin {
        on_final();
        return base.clone();
    }
    if top.object().is_none() || base.object().is_none() {
        return top;
    }
    merge_owned(top, base.clone(), on_final)
}

/// [`merge`] that takes `base` by value and fills it in place, so layering
/// many imports does not copy the growing base once per import.
pub fn merge_owned(top: Val, mut base: Val, on_final: &mut dyn FnMut()) -> Val {
    if base.fin {
        on_final();
        return base;
    }
    if top.object().is_none() || base.object().is_none() {
        return top;
    }
    let (VKind::Object(top_map), VKind::Object(base_map)) = (top.kind, &mut base.kind) else {
        unreachable!("both checked to be known objects");
    };
    // What only the lower layer has is inherited (ESC's fn::toString skips it).
    for b in base_map.values_mut() {
        b.inherited = true;
    }
    for (k, t) in top_map {
        let merged = match base_map.remove(&k) {
            Some(b) => merge_owned(t, b, on_final),
            None => t,
        };
        base_map.insert(k, merged);
    }
    base.secret = top.secret;
    base.fin = top.fin;
    base.inherited = top.inherited;
    base.remeasure();
    base
}
