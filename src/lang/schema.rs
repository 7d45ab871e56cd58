//! Checks a value against a schema in ESC's JSON-Schema dialect (provider
//! inputs, rotation state, `fn::validate`), with ESC's messages.

use serde_json::Value as Json;

use super::interp::Accessor;
use super::text;
use super::value::{Kind, Number, Value};

/// One failed check, at a path relative to the value checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: Vec<Accessor>,
    pub message: String,
}

pub fn validate(value: &Value, schema: &Json) -> Vec<Violation> {
    let mut v = Validator {
        root: schema,
        out: Vec::new(),
        path: Vec::new(),
    };
    v.check(value, schema);
    v.out
}

struct Validator<'s> {
    root: &'s Json,
    out: Vec<Violation>,
    path: Vec<Accessor>,
}

impl<'s> Validator<'s> {
    fn fail(&mut self, message: String) {
        self.out.push(Violation {
            path: self.path.clone(),
            message,
        });
    }

    /// Checks and returns whether the value passed.
    fn check(&mut self, value: &Value, schema: &'s Json) -> bool {
        if value.unknown {
            return true;
        }
        let before = self.out.len();
        match schema {
            Json::Bool(true) | Json::Null => {}
            Json::Bool(false) => self.fail("no value is allowed here".into()),
            Json::Object(s) => self.check_object_schema(value, s),
            _ => {}
        }
        self.out.len() == before
    }

    fn check_object_schema(&mut self, value: &Value, s: &'s serde_json::Map<String, Json>) {
        if let Some(Json::String(r)) = s.get("$ref") {
            if let Some(target) = r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                self.check(value, target);
            }
        }
        let type_ok = match s.get("type").and_then(Json::as_str) {
            None | Some("") => true,
            Some(t) => {
                let ok = matches_type(value, t);
                if !ok {
                    self.fail(format!("expected {t}, got {}", value.type_name()));
                }
                ok
            }
        };
        if let Some(c) = s.get("const") {
            if !equals(value, c) {
                self.fail(format!("expected {}", compact(c)));
            }
        }
        if let Some(Json::Array(options)) = s.get("enum") {
            if !options.iter().any(|o| equals(value, o)) {
                self.fail(format!(
                    "expected one of {}",
                    compact(&Json::Array(options.clone()))
                ));
            }
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(value, sub);
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let (passed, errors) = self.branches(value, any);
            if passed == 0 {
                self.out.extend(errors);
                self.fail("at least one subschema must match".into());
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let (passed, errors) = self.branches(value, one);
            if passed == 0 {
                self.out.extend(errors);
                self.fail("exactly one subschema must match".into());
            } else if passed > 1 {
                self.fail("exactly one subschema may match".into());
            }
        }
        if !type_ok {
            return;
        }
        match &value.kind {
            Kind::Number(n) => self.check_number(*n, s),
            Kind::String(text) => self.check_string(text, s),
            Kind::Array(items) => self.check_array(items, s),
            Kind::Object(map) => self.check_map(map, s),
            _ => {}
        }
    }

    /// Runs each subschema on its own; returns how many passed and the
    /// errors of those that failed.
    fn branches(&mut self, value: &Value, subs: &'s [Json]) -> (usize, Vec<Violation>) {
        let mut passed = 0;
        let mut errors = Vec::new();
        for sub in subs {
            let before = self.out.len();
            if self.check(value, sub) {
                passed += 1;
            } else {
                errors.extend(self.out.drain(before..));
            }
        }
        (passed, errors)
    }

    fn check_number(&mut self, n: Number, s: &serde_json::Map<String, Json>) {
        let x = n.as_f64();
        let bound = |k: &str| s.get(k).and_then(|b| Some((b.as_f64()?, b.to_string())));
        if let Some((m, text)) = bound("multipleOf") {
            if m != 0.0 && (x / m).fract() != 0.0 {
                self.fail(format!("expected a multiple of {text}"));
            }
        }
        if let Some((b, text)) = bound("minimum").filter(|(b, _)| x < *b) {
            let _ = b;
            self.fail(format!("expected a number greater than or equal to {text}"));
        }
        if let Some((_, text)) = bound("exclusiveMinimum").filter(|(b, _)| x <= *b) {
            self.fail(format!("expected a number greater than {text}"));
        }
        // ESC's message has no space before the number here; kept verbatim.
        if let Some((_, text)) = bound("maximum").filter(|(b, _)| x > *b) {
            self.fail(format!("expected a number less than or equal to{text}"));
        }
        if let Some((_, text)) = bound("exclusiveMaximum").filter(|(b, _)| x >= *b) {
            self.fail(format!("expected a number less than {text}"));
        }
    }

    fn check_string(&mut self, text: &str, s: &serde_json::Map<String, Json>) {
        let len = text.chars().count() as u64;
        if let Some(min) = s
            .get("minLength")
            .and_then(Json::as_u64)
            .filter(|m| len < *m)
        {
            self.fail(format!("expected a string of at least length {min}"));
        }
        if let Some(max) = s
            .get("maxLength")
            .and_then(Json::as_u64)
            .filter(|m| len > *m)
        {
            self.fail(format!("expected a string of at most length {max}"));
        }
        if let Some(Json::String(pattern)) = s.get("pattern") {
            match regex_lite::Regex::new(pattern) {
                Ok(re) if !re.is_match(text) => self.fail(format!(
                    "string must match the pattern {}",
                    text::go_quote(pattern)
                )),
                Ok(_) => {}
                Err(e) => self.fail(format!("invalid pattern {}: {e}", text::go_quote(pattern))),
            }
        }
    }

    fn check_array(&mut self, items: &[Value], s: &'s serde_json::Map<String, Json>) {
        let len = items.len() as u64;
        if let Some(min) = s
            .get("minItems")
            .and_then(Json::as_u64)
            .filter(|m| len < *m)
        {
            self.fail(format!("expected an array with at least {min} items"));
        }
        if let Some(max) = s
            .get("maxItems")
            .and_then(Json::as_u64)
            .filter(|m| len > *m)
        {
            self.fail(format!("expected an array with at most {max} items"));
        }
        let prefix = match s.get("prefixItems") {
            Some(Json::Array(p)) => p.as_slice(),
            _ => &[],
        };
        for (i, item) in items.iter().enumerate() {
            let sub = match prefix.get(i) {
                Some(sub) => sub,
                // ESC does not reject extra tuple items (`items: false`).
                None if !prefix.is_empty() => continue,
                None => match s.get("items") {
                    Some(sub) => sub,
                    None => continue,
                },
            };
            self.path.push(Accessor::Index(i as i64));
            self.check(item, sub);
            self.path.pop();
        }
    }

    fn check_map(
        &mut self,
        map: &std::collections::BTreeMap<String, Value>,
        s: &'s serde_json::Map<String, Json>,
    ) {
        let len = map.len() as u64;
        if let Some(min) = s
            .get("minProperties")
            .and_then(Json::as_u64)
            .filter(|m| len < *m)
        {
            self.fail(format!("expected an object with at least {min} properties"));
        }
        if let Some(max) = s
            .get("maxProperties")
            .and_then(Json::as_u64)
            .filter(|m| len > *m)
        {
            self.fail(format!("expected an object with at most {max} properties"));
        }
        let mut missing: Vec<&str> = Vec::new();
        if let Some(Json::Array(required)) = s.get("required") {
            missing.extend(
                required
                    .iter()
                    .filter_map(Json::as_str)
                    .filter(|r| !map.contains_key(*r)),
            );
        }
        if let Some(Json::Object(deps)) = s.get("dependentRequired") {
            for (k, needed) in deps {
                if map.contains_key(k) {
                    if let Json::Array(needed) = needed {
                        for r in needed.iter().filter_map(Json::as_str) {
                            if !map.contains_key(r) && !missing.contains(&r) {
                                missing.push(r);
                            }
                        }
                    }
                }
            }
        }
        if !missing.is_empty() {
            self.fail(format!(
                "missing required properties: {}",
                missing.join(", ")
            ));
        }
        let props = s.get("properties").and_then(Json::as_object);
        for (k, item) in map {
            let sub = match props.and_then(|p| p.get(k)) {
                Some(sub) => sub,
                None => match s.get("additionalProperties") {
                    Some(Json::Bool(false)) => {
                        self.path.push(Accessor::Key(k.clone()));
                        self.fail(format!("unknown property \"{k}\""));
                        self.path.pop();
                        continue;
                    }
                    Some(sub) => sub,
                    None => continue,
                },
            };
            self.path.push(Accessor::Key(k.clone()));
            self.check(item, sub);
            self.path.pop();
        }
    }
}

fn matches_type(value: &Value, t: &str) -> bool {
    match (t, &value.kind) {
        ("null", Kind::Null)
        | ("boolean", Kind::Bool(_))
        | ("number", Kind::Number(_))
        | ("string", Kind::String(_))
        | ("array", Kind::Array(_))
        | ("object", Kind::Object(_)) => true,
        ("integer", Kind::Number(n)) => n.as_f64().fract() == 0.0,
        _ => false,
    }
}

fn equals(value: &Value, j: &Json) -> bool {
    match (&value.kind, j) {
        (Kind::Null, Json::Null) => true,
        (Kind::Bool(a), Json::Bool(b)) => a == b,
        (Kind::Number(a), Json::Number(b)) => Some(a.as_f64()) == b.as_f64(),
        (Kind::String(a), Json::String(b)) => a == b,
        (Kind::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equals(x, y))
        }
        (Kind::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| equals(x, y)))
        }
        _ => false,
    }
}

fn compact(j: &Json) -> String {
    serde_json::to_string(j).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(value: Json, schema: Json) -> Vec<String> {
        validate(&Value::from_json(&value), &schema)
            .into_iter()
            .map(|v| v.message)
            .collect()
    }

    #[test]
    fn esc_messages() {
        assert_eq!(
            messages(json!(null), json!({"type": "boolean"})),
            ["expected boolean, got null"]
        );
        assert_eq!(
            messages(json!({}), json!({"type": "object", "required": ["foo"]})),
            ["missing required properties: foo"]
        );
        assert_eq!(
            messages(
                json!(false),
                json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
            ),
            [
                "expected string, got boolean",
                "expected number, got boolean",
                "at least one subschema must match"
            ]
        );
        assert_eq!(
            messages(json!(1), json!({"type": "number", "maximum": 0})),
            ["expected a number less than or equal to0"]
        );
        assert!(messages(
            json!("foo42"),
            json!({"type": "string", "pattern": "^foo[0-9]+$"})
        )
        .is_empty());
    }

    #[test]
    fn nested_paths() {
        let v = validate(
            &Value::from_json(&json!({"a": [1, "x"]})),
            &json!({"properties": {"a": {"items": {"type": "number"}}}}),
        );
        assert_eq!(
            v[0].path,
            vec![Accessor::Key("a".into()), Accessor::Index(1)]
        );
    }
}
