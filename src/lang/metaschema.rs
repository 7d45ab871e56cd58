//! Is a value a schema ESC accepts? `fn::validate` asks before it checks a
//! value against a schema written in the definition: first the shape (the
//! schema for schemas, so the problems are reported where they were written,
//! with the same messages as any other schema violation), then what ESC's
//! schema compiler refuses beyond the shape (references, counts, patterns).

use std::sync::OnceLock;

use serde_json::{json, Map, Value as Json};

use super::text;

/// The schema every `fn::validate` schema must satisfy: a boolean, or an
/// object whose known keywords have the types ESC's dialect gives them
/// (unknown keywords are allowed, as in ESC).
pub fn schema_for_schemas() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sub = json!({"$ref": "#/$defs/schema"});
        let number = json!({"type": "number"});
        let string = json!({"type": "string"});
        let strings = json!({"type": "array", "items": {"type": "string"}});
        let sub_array = json!({"type": "array", "items": sub});
        let sub_map = json!({"type": "object", "additionalProperties": sub});
        let keywords = json!({
            "$defs": sub_map,
            "$ref": string,
            "anyOf": sub_array,
            "oneOf": sub_array,
            "prefixItems": sub_array,
            "items": sub,
            "additionalProperties": sub,
            "properties": sub_map,
            "type": {
                "type": "string",
                "enum": ["string", "number", "boolean", "array", "object", "null"]
            },
            "const": true,
            "enum": {"type": "array"},
            "multipleOf": number,
            "maximum": number,
            "exclusiveMaximum": number,
            "minimum": number,
            "exclusiveMinimum": number,
            "maxLength": number,
            "minLength": number,
            "pattern": string,
            "maxItems": number,
            "minItems": number,
            "uniqueItems": {"type": "boolean"},
            "maxProperties": number,
            "minProperties": number,
            "required": strings,
            "dependentRequired": {"type": "object", "additionalProperties": strings},
            "title": string,
            "description": string,
            "default": true,
            "deprecated": {"type": "boolean"},
            "examples": {"type": "array"},
        });
        json!({
            "$defs": {
                "schema": {
                    "anyOf": [
                        {"type": "boolean"},
                        {"type": "object", "properties": keywords}
                    ]
                }
            },
            "$ref": "#/$defs/schema"
        })
    })
}

/// What ESC's schema compiler refuses in a schema of the right shape, as
/// `invalid schema: ...`. The first problem wins, as in ESC.
pub fn compile(schema: &Json) -> Result<(), String> {
    compile_at(schema, schema).map_err(|e| format!("invalid schema: {e}"))
}

const SUBSCHEMA_LISTS: [&str; 3] = ["anyOf", "oneOf", "prefixItems"];
const SUBSCHEMAS: [&str; 2] = ["items", "additionalProperties"];
const COUNTS: [&str; 6] = [
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
];

fn compile_at(schema: &Json, root: &Json) -> Result<(), String> {
    let Json::Object(s) = schema else {
        return Ok(());
    };
    if let Some(Json::String(r)) = s.get("$ref") {
        check_ref(r, root)?;
    }
    let lists = SUBSCHEMA_LISTS
        .iter()
        .filter_map(|k| s.get(*k).and_then(Json::as_array))
        .flatten();
    let singles = SUBSCHEMAS.iter().filter_map(|k| s.get(*k));
    let properties = s
        .get("properties")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(Map::values);
    for sub in lists.chain(singles).chain(properties) {
        compile_at(sub, root)?;
    }
    for key in COUNTS {
        if let Some(n) = s.get(key).filter(|n| n.as_u64().is_none()) {
            return Err(format!(
                "strconv.ParseUint: parsing {}: invalid syntax",
                text::go_quote(&n.to_string())
            ));
        }
    }
    if let Some(Json::String(p)) = s.get("pattern") {
        if !p.is_empty() {
            regex_lite::Regex::new(p).map_err(|e| format!("error parsing regexp: {e}"))?;
        }
    }
    Ok(())
}

/// ESC resolves only `#/$defs/<name>` against the root's `$defs`.
fn check_ref(reference: &str, root: &Json) -> Result<(), String> {
    let name = reference
        .strip_prefix("#/$defs/")
        .filter(|n| !n.contains('/'))
        .ok_or("only fragment references of the form #/$defs/ref are supported")?;
    let name = percent_decode(name).ok_or_else(|| format!("invalid URL escape in {reference}"))?;
    match root.get("$defs").and_then(|d| d.get(&name)) {
        Some(_) => Ok(()),
        None => Err(format!("unknown subschema {reference}")),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::super::schema::validate;
    use super::super::value::Value;
    use super::*;

    fn shape_errors(schema: Json) -> Vec<String> {
        validate(&Value::from_json(&schema), schema_for_schemas())
            .into_iter()
            .map(|v| v.message)
            .collect()
    }

    #[test]
    fn accepts_the_schemas_esc_accepts() {
        for ok in [
            json!(true),
            json!({"type": "string", "minLength": 1, "unknownKeyword": 1}),
            json!({"$defs": {"a b": {"type": "number"}}, "$ref": "#/$defs/a%20b"}),
            json!({"properties": {"x": {"items": {"enum": [1, 2]}}}, "required": ["x"]}),
        ] {
            assert!(shape_errors(ok.clone()).is_empty(), "{ok}");
            assert_eq!(compile(&ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn shape_errors_use_the_violation_wording() {
        let errors = shape_errors(json!({"type": "integer"}));
        assert!(
            errors.iter().any(|e| e.starts_with("expected one of")),
            "{errors:?}"
        );
        let errors = shape_errors(json!("string"));
        assert!(
            errors.contains(&"at least one subschema must match".to_string()),
            "{errors:?}"
        );
    }

    #[test]
    fn compile_errors_name_the_problem() {
        assert_eq!(
            compile(&json!({"$ref": "#/definitions/x"})).unwrap_err(),
            "invalid schema: only fragment references of the form #/$defs/ref are supported"
        );
        assert_eq!(
            compile(&json!({"items": {"$ref": "#/$defs/nope"}})).unwrap_err(),
            "invalid schema: unknown subschema #/$defs/nope"
        );
        assert_eq!(
            compile(&json!({"minLength": -1})).unwrap_err(),
            "invalid schema: strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        assert!(compile(&json!({"pattern": "[a"}))
            .unwrap_err()
            .starts_with("invalid schema: error parsing regexp: "));
    }
}
