//! Pulumi Cloud's JSON shapes turned into escsh's own: an Environment's
//! properties into a [`Value`] with its secret and unknown flags, a 400's
//! diagnostics into [`Diagnostic`]s, and the facts the expiry rule needs
//! (each `expiration` value, the `duration` given to `fn::open::aws-login`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::lang::{Credential, CredentialPart, Diagnostic, Kind, Number, Severity, Value};

/// ESC's default lifetime of `aws-login` credentials.
pub const AWS_LOGIN_DEFAULT: i64 = 2 * 3600;

/// The `properties` of an Environment as one object value; `Err` says what
/// is wrong (the caller names the endpoint).
pub fn environment_value(env: &Json) -> Result<Value, String> {
    let Some(obj) = env.as_object() else {
        return Err("the answer is not a JSON object".into());
    };
    match obj.get("properties") {
        None | Some(Json::Null) => Ok(Value::object([])),
        Some(Json::Object(props)) => {
            let mut out = BTreeMap::new();
            for (k, v) in props {
                out.insert(k.clone(), value(v, k)?);
            }
            Ok(Value::new(Kind::Object(out)))
        }
        Some(_) => Err("`properties` is not an object".into()),
    }
}

/// One Value: `{"value": V, "secret": bool, "unknown": bool, "trace": ...}`.
fn value(v: &Json, path: &str) -> Result<Value, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!("the property {path} is not a Value object"));
    };
    let flag = |name: &str| -> Result<bool, String> {
        match obj.get(name) {
            None | Some(Json::Null) => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("`{name}` of {path} is not a boolean")),
        }
    };
    let kind = match obj.get("value") {
        None | Some(Json::Null) => Kind::Null,
        Some(Json::Bool(b)) => Kind::Bool(*b),
        Some(Json::Number(n)) => Kind::Number(match n.as_i64() {
            Some(i) => Number::Int(i),
            None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Some(Json::String(s)) => Kind::String(s.clone()),
        Some(Json::Array(items)) => Kind::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| value(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Some(Json::Object(map)) => Kind::Object(
            map.iter()
                .map(|(k, x)| Ok((k.clone(), value(x, &format!("{path}.{k}"))?)))
                .collect::<Result<_, String>>()?,
        ),
    };
    Ok(Value {
        kind,
        secret: flag("secret")?,
        unknown: flag("unknown")?,
    })
}

/// The diagnostics of an error answer, `name` the environment opened.
pub fn diagnostics(body: &Json, name: &str) -> Vec<Diagnostic> {
    let Some(list) = body.get("diagnostics").and_then(Json::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|d| {
            let range = d.get("range");
            let begin = range.and_then(|r| r.get("begin"));
            let num = |k: &str| {
                begin
                    .and_then(|b| b.get(k))
                    .and_then(Json::as_u64)
                    .unwrap_or(0) as usize
            };
            let file = range
                .and_then(|r| r.get("environment"))
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(name);
            let summary = d.get("summary").and_then(Json::as_str).unwrap_or("error");
            let severity = match d.get("severity").and_then(Json::as_str) {
                Some("warning") => Severity::Warning,
                _ => Severity::Error,
            };
            Diagnostic {
                severity,
                summary: crate::printable::line(summary).into_owned(),
                file: Some(crate::printable::line(file).into_owned()),
                line: num("line"),
                column: num("column"),
                path: String::new(),
                missing_environment: None,
            }
        })
        .collect()
}

/// The earliest `expiration` (RFC 3339 text) anywhere in `v`.
pub fn earliest_expiration(v: &Value) -> Option<i64> {
    let mut found: Option<i64> = None;
    let mut visit = |t: i64| found = Some(found.map_or(t, |f| f.min(t)));
    walk_expirations(v, &mut visit);
    found
}

fn walk_expirations(v: &Value, visit: &mut dyn FnMut(i64)) {
    match &v.kind {
        Kind::Object(map) => {
            for (k, x) in map {
                if k == "expiration" {
                    if let Some(t) = x.as_str().and_then(crate::time::parse_rfc3339) {
                        visit(t);
                    }
                }
                walk_expirations(x, visit);
            }
        }
        Kind::Array(items) => items.iter().for_each(|x| walk_expirations(x, visit)),
        _ => {}
    }
}

/// The AWS keys in an opened value, for the credential endpoint: Pulumi
/// Cloud evaluates the definition, so which values `aws-login` returned is
/// not known here, only their shape. Every object holding a text
/// `accessKeyId` and `secretAccessKey` (as `aws-login`'s output does, in
/// the root or in any import) counts.
pub fn aws_keys(value: &Value) -> Vec<Credential> {
    let mut found = Vec::new();
    walk_objects(value, &mut |v| {
        let keys = Credential::aws_keys(v);
        let ids = keys
            .iter()
            .filter(|k| k.part != CredentialPart::SessionToken);
        if ids.count() == 2 {
            found.extend(keys);
        }
    });
    found
}

fn walk_objects(v: &Value, visit: &mut dyn FnMut(&Value)) {
    match &v.kind {
        Kind::Object(map) => {
            visit(v);
            map.values().for_each(|x| walk_objects(x, visit));
        }
        Kind::Array(items) => items.iter().for_each(|x| walk_objects(x, visit)),
        _ => {}
    }
}

/// The shortest lifetime (seconds) of the `aws-login` credentials the
/// environment's expressions (`exprs`) mint: the literal `duration` of each
/// `fn::open::aws-login`, else ESC's default. `None` when it opens none.
pub fn aws_login_lifetime(env: &Json) -> Option<i64> {
    let mut found: Option<i64> = None;
    walk_exprs(env.get("exprs")?, &mut |d| {
        found = Some(found.map_or(d, |f| f.min(d)));
    });
    found
}

fn walk_exprs(e: &Json, visit: &mut dyn FnMut(i64)) {
    match e {
        Json::Object(map) => {
            if let Some(b) = map.get("builtin") {
                if b.get("name").and_then(Json::as_str) == Some("fn::open::aws-login") {
                    visit(login_duration(b.get("arg")).unwrap_or(AWS_LOGIN_DEFAULT));
                }
            }
            map.values().for_each(|x| walk_exprs(x, visit));
        }
        Json::Array(items) => items.iter().for_each(|x| walk_exprs(x, visit)),
        _ => {}
    }
}

/// `arg.object.(oidc|static...).object.duration.literal`, as Go text.
fn login_duration(arg: Option<&Json>) -> Option<i64> {
    let methods = arg?.get("object")?.as_object()?;
    methods.values().find_map(|m| {
        let text = m.get("object")?.get("duration")?.get("literal")?.as_str()?;
        crate::duration::parse(text)
            .ok()
            .map(|d| d.as_secs() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_keep_their_flags() {
        let env = json!({"properties": {
            "a": {"value": {"b": {"value": "s", "secret": true, "trace": {}},
                            "l": {"value": [{"value": 1}, {"value": 1.5}]},
                            "u": {"unknown": true}}},
            "n": {"trace": {}}}});
        let v = environment_value(&env).unwrap();
        let a = v.get("a").unwrap();
        assert!(a.get("b").unwrap().secret);
        assert_eq!(a.get("b").unwrap().as_str(), Some("s"));
        assert!(a.get("u").unwrap().unknown);
        assert_eq!(v.to_json(true)["a"]["l"], json!([1, 1.5]));
        assert_eq!(v.to_json(true)["a"]["b"], json!("[secret]"));
        assert_eq!(v.get("n").unwrap().type_name(), "null");
    }

    #[test]
    fn malformed_values_are_named() {
        let e = environment_value(&json!({"properties": {"a": {"value": {"b": 3}}}})).unwrap_err();
        assert!(e.contains("a.b"), "{e}");
        let e = environment_value(&json!({"properties": {"a": {"secret": "yes"}}})).unwrap_err();
        assert!(e.contains("secret"), "{e}");
        assert!(environment_value(&json!([1])).is_err());
    }

    #[test]
    fn diagnostics_name_the_environment() {
        let body = json!({"code": 400, "message": "x", "diagnostics": [
            {"range": {"environment": "app/dev", "begin": {"line": 3, "column": 7}}, "summary": "unknown property"},
            {"summary": "later", "severity": "warning"}]});
        let d = diagnostics(&body, "acme/app/dev");
        assert_eq!(d[0].to_string(), "app/dev:3:7: error: unknown property");
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(d[1].file.as_deref(), Some("acme/app/dev"));
    }

    #[test]
    fn expiry_facts() {
        let v = environment_value(&json!({"properties": {
            "x": {"value": {"expiration": {"value": "2030-01-01T00:00:00Z"}}},
            "y": {"value": [{"value": {"expiration": {"value": "2029-01-01T00:00:00Z"}}}]}}}))
        .unwrap();
        assert_eq!(earliest_expiration(&v), Some(1861920000));
        let login = |d: Json| json!({"builtin": {"name": "fn::open::aws-login", "arg": {"object": {"oidc": {"object": d}}}}});
        let env = json!({"exprs": {"aws": {"object": {
            "a": login(json!({"duration": {"literal": "1h"}, "roleArn": {"literal": "r"}})),
            "b": login(json!({"roleArn": {"literal": "r"}}))}}}});
        assert_eq!(aws_login_lifetime(&env), Some(3600));
        let env = json!({"exprs": {"b": login(json!({}))}});
        assert_eq!(aws_login_lifetime(&env), Some(AWS_LOGIN_DEFAULT));
        assert_eq!(aws_login_lifetime(&json!({"exprs": {}})), None);
    }

    #[test]
    fn aws_keys_are_found_by_shape_anywhere() {
        let env = json!({"properties": {
            "aws": {"value": {"login": {"value": {
                "accessKeyId": {"value": "AKIA1"},
                "secretAccessKey": {"value": "s1", "secret": true},
                "sessionToken": {"value": "t1", "secret": true}}}}},
            "list": {"value": [{"value": {
                "accessKeyId": {"value": "AKIA2"},
                "secretAccessKey": {"value": "s2", "secret": true}}}]},
            "half": {"value": {"accessKeyId": {"value": "AKIA3"}}},
            "odd": {"value": {"accessKeyId": {"value": 7}, "secretAccessKey": {"value": "s4"}}}
        }});
        let value = environment_value(&env).unwrap();
        let keys: Vec<(CredentialPart, String)> = aws_keys(&value)
            .into_iter()
            .map(|c| (c.part, c.value))
            .collect();
        use CredentialPart::*;
        assert_eq!(
            keys,
            [
                (AccessKeyId, "AKIA1".to_string()),
                (SecretAccessKey, "s1".into()),
                (SessionToken, "t1".into()),
                (AccessKeyId, "AKIA2".into()),
                (SecretAccessKey, "s2".into()),
            ]
        );
    }
}
