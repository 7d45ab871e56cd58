//! A parsed YAML tree → an environment document: its imports and the
//! expressions under `values`, each with its position and document path.
//! Problems found here are "load" diagnostics; evaluation still goes ahead.

use super::interp::{self, Accessor, Part};
use super::syntax::{Node, NodeKind, Pos};
use super::value::Number;
use super::Severity;

pub type ExprId = usize;

#[derive(Debug)]
pub struct Document {
    pub imports: Vec<Import>,
    /// The `values` object, when there is one.
    pub values: Option<ExprId>,
    pub exprs: Vec<Expr>,
    pub diags: Vec<LoadDiag>,
    /// No YAML document at all (empty, or comments only).
    pub blank: bool,
}

#[derive(Debug)]
pub struct Import {
    pub name: String,
    pub merge: bool,
    pub pos: Pos,
    pub path: String,
}

#[derive(Debug)]
pub struct LoadDiag {
    pub severity: Severity,
    pub summary: String,
    pub pos: Pos,
    pub path: String,
}

#[derive(Debug)]
pub struct Expr {
    pub pos: Pos,
    pub path: String,
    pub kind: ExprKind,
}

/// Where the characters of a string scalar start, so that accessor offsets
/// can be turned into columns.
#[derive(Debug, Clone, Copy)]
pub struct TextStart {
    pub pos: Pos,
    /// Offsets map to columns only in a plain (unquoted) scalar: escapes
    /// shift a quoted one, so there ESC points at the whole string instead.
    pub exact: bool,
}

#[derive(Debug)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Symbol(interp::Access, TextStart),
    Interpolate(Vec<Part>, TextStart),
    Array(Vec<ExprId>),
    /// Sorted by key (see [`property`]), duplicates and invalid keys removed.
    Object(Vec<(String, ExprId)>),
    Builtin(Builtin),
    /// A construct that failed to load; it evaluates to unknown.
    Invalid,
}

#[derive(Debug)]
pub enum Builtin {
    Secret(Secret),
    Join(ExprId, ExprId),
    Split(ExprId, ExprId),
    Concat(ExprId),
    ToJson(ExprId),
    FromJson(ExprId),
    ToBase64(ExprId),
    FromBase64(ExprId),
    ToString(ExprId),
    Final(ExprId),
    Validate {
        /// Missing (after the load error): the value passes through.
        schema: Option<ExprId>,
        value: ExprId,
    },
    Open {
        provider: String,
        inputs: ExprId,
    },
    Rotate {
        provider: String,
        inputs: ExprId,
        state: Option<ExprId>,
    },
}

#[derive(Debug)]
pub enum Secret {
    Plaintext(String),
    Ciphertext(String),
    /// Not a string literal: an empty secret, after the load error.
    Invalid,
}

/// The expression of `key` in an object's (sorted) properties.
pub fn property(props: &[(String, ExprId)], key: &str) -> Option<ExprId> {
    props
        .binary_search_by(|(k, _)| k.as_str().cmp(key))
        .ok()
        .map(|i| props[i].1)
}

pub fn parse_document(root: Node) -> Document {
    let mut b = Builder {
        exprs: Vec::new(),
        diags: Vec::new(),
    };
    let mut imports_node = None;
    let mut values_node = None;
    match root.kind {
        NodeKind::Null => {}
        NodeKind::Object(entries) => {
            for (key, value) in entries {
                let name = scalar_key(&key).unwrap_or_default();
                let slot = match name.to_ascii_lowercase().as_str() {
                    "imports" => &mut imports_node,
                    "values" => &mut values_node,
                    "description" => continue,
                    _ => {
                        b.warn(
                            format!(
                                "Field '{name}' does not exist on Object 'environment'. Existing fields are: {}",
                                suggest_fields(&name)
                            ),
                            key.pos,
                            name.clone(),
                        );
                        continue;
                    }
                };
                if slot.is_some() {
                    b.warn(format!("duplicate key \"{name}\""), key.pos, name.clone());
                }
                *slot = Some(value);
            }
        }
        other => b.error(
            format!(
                "an environment definition must be a mapping with `imports` and `values`, not a {}",
                other.type_name()
            ),
            root.pos,
            String::new(),
        ),
    }
    let imports = imports_node.map(|n| b.imports(n)).unwrap_or_default();
    let values = values_node.and_then(|n| b.values(n));
    Document {
        imports,
        values,
        exprs: b.exprs,
        diags: b.diags,
        blank: false,
    }
}

fn suggest_fields(name: &str) -> String {
    let mut fields = ["description", "imports", "values"];
    fields.sort_by_key(|f| (super::resolve::edit_distance(name, f), *f));
    fields.map(|f| format!("'{f}'")).join(", ")
}

fn scalar_key(node: &Node) -> Option<String> {
    Some(match &node.kind {
        NodeKind::String { value, .. } => value.clone(),
        NodeKind::Number(n) => n.to_string(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Null => String::new(),
        _ => return None,
    })
}

fn child_path(parent: &str, accessor: Accessor) -> String {
    let mut path = parent.to_string();
    interp::push_accessor(&mut path, &accessor);
    path
}

fn is_builtin_key(key: &str) -> bool {
    // `get`, not slicing: byte 4 may fall inside a multi-byte character.
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("fn::"))
}

/// The functions ESC defines (names are case-sensitive).
fn is_known_builtin(key: &str) -> bool {
    const NAMES: [&str; 13] = [
        "fn::concat",
        "fn::final",
        "fn::validate",
        "fn::fromJSON",
        "fn::fromBase64",
        "fn::join",
        "fn::open",
        "fn::rotate",
        "fn::secret",
        "fn::split",
        "fn::toBase64",
        "fn::toJSON",
        "fn::toString",
    ];
    NAMES.contains(&key) || key.starts_with("fn::open::") || key.starts_with("fn::rotate::")
}

struct Builder {
    exprs: Vec<Expr>,
    diags: Vec<LoadDiag>,
}

impl Builder {
    fn diag(&mut self, severity: Severity, summary: String, pos: Pos, path: String) {
        self.diags.push(LoadDiag {
            severity,
            summary,
            pos,
            path,
        });
    }

    fn error(&mut self, summary: impl Into<String>, pos: Pos, path: String) {
        self.diag(Severity::Error, summary.into(), pos, path);
    }

    fn warn(&mut self, summary: String, pos: Pos, path: String) {
        self.diag(Severity::Warning, summary, pos, path);
    }

    fn push(&mut self, pos: Pos, path: String, kind: ExprKind) -> ExprId {
        self.exprs.push(Expr { pos, path, kind });
        self.exprs.len() - 1
    }

    fn imports(&mut self, node: Node) -> Vec<Import> {
        let NodeKind::Array(items) = node.kind else {
            if !matches!(node.kind, NodeKind::Null) {
                self.error(
                    "imports must be a list of environment names",
                    node.pos,
                    "imports".into(),
                );
            }
            return Vec::new();
        };
        let mut imports = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("imports[{i}]");
            match item.kind {
                NodeKind::String { value, .. } => imports.push(Import {
                    name: value,
                    merge: true,
                    pos: item.pos,
                    path,
                }),
                NodeKind::Object(entries) if entries.len() == 1 => {
                    let (key, options) = entries.into_iter().next().expect("one entry");
                    let Some(name) = scalar_key(&key) else {
                        self.error("import must be a string or an object", item.pos, path);
                        continue;
                    };
                    let mut merge = true;
                    if let NodeKind::Object(opts) = options.kind {
                        for (k, v) in opts {
                            if scalar_key(&k).as_deref() == Some("merge") {
                                match v.kind {
                                    NodeKind::Bool(b) => merge = b,
                                    _ => self.error(
                                        "merge must be a boolean",
                                        v.pos,
                                        format!("{path}.merge"),
                                    ),
                                }
                            }
                        }
                    }
                    imports.push(Import {
                        name,
                        merge,
                        pos: key.pos,
                        path,
                    });
                }
                NodeKind::Object(_) => self.error("import must have a single key", item.pos, path),
                _ => self.error("import must be a string or an object", item.pos, path),
            }
        }
        imports
    }

    fn values(&mut self, node: Node) -> Option<ExprId> {
        let NodeKind::Object(entries) = node.kind else {
            if !matches!(node.kind, NodeKind::Null) {
                self.error(
                    format!("values must be a mapping, not a {}", node.kind.type_name()),
                    node.pos,
                    "values".into(),
                );
            }
            return None;
        };
        if entries.len() == 1 {
            if let Some(key) = scalar_key(&entries[0].0).filter(|k| is_builtin_key(k)) {
                self.error(
                    format!("builtin function call \"{key}\" not allowed at the top level"),
                    entries[0].0.pos,
                    child_path("values", Accessor::Key(key)),
                );
            }
        }
        let mut kept = Vec::new();
        for (key, value) in entries {
            if let Some(name) = scalar_key(&key) {
                if matches!(name.as_str(), "imports" | "context" | "environments") {
                    self.error(
                        format!("\"{name}\" is a reserved key"),
                        key.pos,
                        child_path("values", Accessor::Key(name)),
                    );
                    continue;
                }
            }
            kept.push((key, value));
        }
        Some(self.object(kept, node.pos, "values".into()))
    }

    fn expr(&mut self, node: Node, path: String) -> ExprId {
        let pos = node.pos;
        let kind = match node.kind {
            NodeKind::Null => ExprKind::Null,
            NodeKind::Bool(b) => ExprKind::Bool(b),
            NodeKind::Number(n) => ExprKind::Number(n),
            NodeKind::String { value, quoted } => self.string(&value, quoted, pos, &path),
            NodeKind::Array(items) => {
                let ids = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.expr(item, child_path(&path, Accessor::Index(i as i64))))
                    .collect();
                ExprKind::Array(ids)
            }
            NodeKind::Object(entries) => {
                if let [(key, _)] = entries.as_slice() {
                    match scalar_key(key) {
                        Some(name) if is_known_builtin(&name) => {
                            let (_, arg) = entries.into_iter().next().expect("one entry");
                            return self.builtin(&name, arg, pos, path);
                        }
                        // As in ESC, an unknown function is an error and the
                        // mapping stays the object it is written as.
                        Some(name) if is_builtin_key(&name) => {
                            self.error("'fn::' is a reserved prefix", key.pos, path.clone());
                        }
                        _ => {}
                    }
                    return self.object(entries, pos, path);
                }
                let builtin_keys = entries
                    .iter()
                    .filter_map(|(k, _)| scalar_key(k))
                    .filter(|k| k.starts_with("fn::"));
                for key in builtin_keys {
                    self.error(
                        format!("illegal call to builtin function: \"{key}\" must be the only key within its containing object"),
                        pos,
                        path.clone(),
                    );
                }
                return self.object(entries, pos, path);
            }
        };
        self.push(pos, path, kind)
    }

    fn string(&mut self, value: &str, quoted: bool, pos: Pos, path: &str) -> ExprKind {
        let (mut parts, errors) = interp::parse(value);
        let start = TextStart {
            pos: Pos {
                line: pos.line,
                column: pos.column + usize::from(quoted),
            },
            exact: !quoted,
        };
        for e in errors {
            let at = Pos {
                line: pos.line,
                column: start.pos.column + e.offset,
            };
            self.error(e.message, at, path.to_string());
        }
        match parts.len() {
            0 => ExprKind::String(String::new()),
            1 if parts[0].access.is_none() => ExprKind::String(parts.pop().expect("one part").text),
            1 if parts[0].text.is_empty() => ExprKind::Symbol(
                parts.pop().and_then(|p| p.access).expect("an access"),
                start,
            ),
            _ => ExprKind::Interpolate(parts, start),
        }
    }

    fn object(&mut self, entries: Vec<(Node, Node)>, pos: Pos, path: String) -> ExprId {
        let mut props: Vec<(String, ExprId)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (key, value) in entries {
            let name = match &key.kind {
                NodeKind::String { value: k, quoted } => {
                    match self.string(k, *quoted, key.pos, &path) {
                        ExprKind::String(s) => s,
                        _ => {
                            self.error(
                                "object keys must be strings",
                                key.pos,
                                child_path(&path, Accessor::Key(k.clone())),
                            );
                            continue;
                        }
                    }
                }
                _ => match scalar_key(&key) {
                    Some(k) => k,
                    None => {
                        self.error("mapping keys must be strings", key.pos, path.clone());
                        continue;
                    }
                },
            };
            let child = child_path(&path, Accessor::Key(name.clone()));
            if !seen.insert(name.clone()) {
                self.error(format!("duplicate key \"{name}\""), key.pos, child);
                continue;
            }
            let id = self.expr(value, child);
            props.push((name, id));
        }
        props.sort_by(|a, b| a.0.cmp(&b.0));
        self.push(pos, path, ExprKind::Object(props))
    }

    /// `node_pos`/`path` belong to the mapping holding the call; the
    /// argument's path is `path["fn::name"]`.
    fn builtin(&mut self, name: &str, arg: Node, node_pos: Pos, path: String) -> ExprId {
        let arg_path = child_path(&path, Accessor::Key(name.to_string()));
        let arg_pos = arg.pos;
        let kind = match name {
            "fn::secret" => ExprKind::Builtin(Builtin::Secret(self.secret(arg, &arg_path))),
            "fn::join" | "fn::split" => match self.pair(name, arg, &arg_path) {
                Some((a, b)) if name == "fn::join" => ExprKind::Builtin(Builtin::Join(a, b)),
                Some((a, b)) => ExprKind::Builtin(Builtin::Split(a, b)),
                None => ExprKind::Invalid,
            },
            "fn::concat" => {
                if !matches!(arg.kind, NodeKind::Array(_)) {
                    self.error(
                        "the argument to fn::concat must be an array of arrays",
                        arg_pos,
                        arg_path.clone(),
                    );
                }
                ExprKind::Builtin(Builtin::Concat(self.expr(arg, arg_path)))
            }
            "fn::toJSON" => ExprKind::Builtin(Builtin::ToJson(self.expr(arg, arg_path))),
            "fn::fromJSON" => ExprKind::Builtin(Builtin::FromJson(self.expr(arg, arg_path))),
            "fn::toBase64" => ExprKind::Builtin(Builtin::ToBase64(self.expr(arg, arg_path))),
            "fn::fromBase64" => ExprKind::Builtin(Builtin::FromBase64(self.expr(arg, arg_path))),
            "fn::toString" => ExprKind::Builtin(Builtin::ToString(self.expr(arg, arg_path))),
            "fn::final" => ExprKind::Builtin(Builtin::Final(self.expr(arg, arg_path))),
            "fn::validate" => self.validate(arg, arg_path),
            "fn::open" | "fn::rotate" => self.call(name, None, arg, arg_path),
            _ if name.starts_with("fn::open::") => {
                let provider = name["fn::open::".len()..].to_string();
                ExprKind::Builtin(Builtin::Open {
                    provider,
                    inputs: self.expr(arg, arg_path),
                })
            }
            _ => {
                let provider = name["fn::rotate::".len()..].to_string();
                self.call(name, Some(provider), arg, arg_path)
            }
        };
        self.push(node_pos, path, kind)
    }

    fn secret(&mut self, arg: Node, path: &str) -> Secret {
        match arg.kind {
            NodeKind::String { value, quoted } => {
                if let ExprKind::String(s) = self.string(&value, quoted, arg.pos, path) {
                    return Secret::Plaintext(s);
                }
            }
            NodeKind::Object(entries) if entries.len() == 1 => {
                let (key, value) = entries.into_iter().next().expect("one entry");
                if let (Some("ciphertext"), NodeKind::String { value, .. }) =
                    (scalar_key(&key).as_deref(), &value.kind)
                {
                    return Secret::Ciphertext(value.clone());
                }
            }
            _ => {}
        }
        self.error(
            "secret values must be string literals",
            arg.pos,
            path.to_string(),
        );
        Secret::Invalid
    }

    fn pair(&mut self, name: &str, arg: Node, path: &str) -> Option<(ExprId, ExprId)> {
        match arg.kind {
            NodeKind::Array(items) if items.len() == 2 => {
                let mut items = items.into_iter();
                let a = items.next().expect("two items");
                let b = items.next().expect("two items");
                let a = self.expr(a, child_path(path, Accessor::Index(0)));
                let b = self.expr(b, child_path(path, Accessor::Index(1)));
                Some((a, b))
            }
            _ => {
                self.error(
                    format!("the argument to {name} must be a two-valued list"),
                    arg.pos,
                    path.to_string(),
                );
                None
            }
        }
    }

    /// Takes the named entries of an object argument.
    fn fields(arg: Node, names: &[&str]) -> Result<Vec<Option<Node>>, Node> {
        let NodeKind::Object(entries) = arg.kind else {
            return Err(arg);
        };
        let mut out: Vec<Option<Node>> = names.iter().map(|_| None).collect();
        for (k, v) in entries {
            if let Some(i) = scalar_key(&k).and_then(|k| names.iter().position(|n| *n == k)) {
                out[i].get_or_insert(v);
            }
        }
        Ok(out)
    }

    fn validate(&mut self, arg: Node, path: String) -> ExprKind {
        let pos = arg.pos;
        let Ok(mut fields) = Self::fields(arg, &["schema", "value"]) else {
            self.error(
                "the argument to fn::validate must be an object containing 'schema' and 'value'",
                pos,
                path,
            );
            return ExprKind::Invalid;
        };
        let value = fields.pop().flatten();
        let schema = fields.pop().flatten();
        for (name, field) in [("schema", &schema), ("value", &value)] {
            if field.is_none() {
                self.error(
                    format!("missing required property '{name}'"),
                    pos,
                    path.clone(),
                );
            }
        }
        let Some(value) = value else {
            return ExprKind::Invalid;
        };
        let schema =
            schema.map(|s| self.expr(s, child_path(&path, Accessor::Key("schema".into()))));
        let value = self.expr(value, child_path(&path, Accessor::Key("value".into())));
        ExprKind::Builtin(Builtin::Validate { schema, value })
    }

    /// `fn::open` / `fn::rotate` long forms and `fn::rotate::<name>`.
    fn call(&mut self, name: &str, provider: Option<String>, arg: Node, path: String) -> ExprKind {
        let rotate = name.starts_with("fn::rotate");
        let pos = arg.pos;
        let Ok(mut fields) = Self::fields(arg, &["provider", "inputs", "state"]) else {
            let wants = match (rotate, &provider) {
                (false, _) => "'provider' and 'inputs'",
                (true, None) => "'provider', 'inputs' and 'state'",
                (true, Some(_)) => "'inputs' and 'state'",
            };
            let call = if rotate { "fn::rotate" } else { "fn::open" };
            self.error(
                format!("the argument to {call} must be an object containing {wants}"),
                pos,
                path,
            );
            return ExprKind::Invalid;
        };
        let state = fields.pop().flatten();
        let inputs = fields.pop().flatten();
        let provider_node = fields.pop().flatten();
        let mut ok = true;
        let provider = match provider {
            Some(p) => p,
            None => match provider_node {
                None => {
                    self.error("missing provider name ('provider')", pos, path.clone());
                    ok = false;
                    String::new()
                }
                Some(Node {
                    kind: NodeKind::String { value, .. },
                    ..
                }) => value,
                Some(other) => {
                    self.error(
                        "provider name must be a string literal",
                        other.pos,
                        child_path(&path, Accessor::Key("provider".into())),
                    );
                    ok = false;
                    String::new()
                }
            },
        };
        let Some(inputs) = inputs else {
            self.error("missing provider inputs ('inputs')", pos, path);
            return ExprKind::Invalid;
        };
        let inputs = self.expr(inputs, child_path(&path, Accessor::Key("inputs".into())));
        if !rotate {
            return if ok {
                ExprKind::Builtin(Builtin::Open { provider, inputs })
            } else {
                ExprKind::Invalid
            };
        }
        let state = match state {
            None => None,
            Some(node) if matches!(node.kind, NodeKind::Object(_)) => {
                Some(self.expr(node, child_path(&path, Accessor::Key("state".into()))))
            }
            Some(node) => {
                self.error(
                    "rotation state must be an object literal",
                    node.pos,
                    child_path(&path, Accessor::Key("state".into())),
                );
                ok = false;
                None
            }
        };
        if !ok {
            return ExprKind::Invalid;
        }
        ExprKind::Builtin(Builtin::Rotate {
            provider,
            inputs,
            state,
        })
    }
}
