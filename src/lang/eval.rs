//! The evaluator: imports first (each in its own scope, then layered), then
//! the environment's own expressions, lazily and memoized, in sorted key
//! order so that cycle reports are deterministic.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::ast::{Document, ExprId, ExprKind};
use super::budget::{self, Budget, Limit};
use super::diag::{Diagnostic, Severity};
use super::syntax::Pos;
use super::val::{merge, merge_owned, VKind, Val};
use super::{ast, syntax, Credential, LoadError, Loader, Options};

/// Per environment: what it evaluated, or why it could not be used.
enum Slot {
    InProgress,
    Done(Option<Rc<Val>>),
    Failed(LoadError),
}

/// State for one evaluation of a root environment and its imports.
pub(super) struct Evaluator<'a> {
    pub loader: &'a dyn Loader,
    pub options: &'a Options<'a>,
    pub root_name: String,
    envs: HashMap<String, Slot>,
    pub diags: Vec<Diagnostic>,
    pub runtime: Option<tokio::runtime::Runtime>,
    pub expires_at: Option<i64>,
    pub credentials: Vec<Credential>,
    budget: Budget,
    /// Ciphertext → its plaintext (or why not), decrypted together before
    /// the definition holding them is evaluated.
    pub decrypted: HashMap<String, Result<String, String>>,
}

enum Memo {
    Todo,
    Busy,
    Done(Val),
    /// Evaluated, and the value handed on without a copy: only the
    /// `values` root, which no reference can name as a whole.
    Moved,
}

/// One environment being evaluated.
pub(super) struct Env<'d> {
    pub name: String,
    pub doc: &'d Document,
    pub base: Option<Rc<Val>>,
    pub imports: Rc<Val>,
    memo: Vec<Memo>,
    pub context: Rc<Val>,
}

impl<'a> Evaluator<'a> {
    pub fn new(root_name: &str, loader: &'a dyn Loader, options: &'a Options<'a>) -> Self {
        Evaluator {
            loader,
            options,
            root_name: root_name.to_string(),
            envs: HashMap::new(),
            diags: Vec::new(),
            runtime: None,
            expires_at: None,
            credentials: Vec::new(),
            budget: Budget::starting_here(),
            decrypted: HashMap::new(),
        }
    }

    /// Stops the evaluation at `limit`: reported once, here; everything not
    /// computed yet becomes unknown.
    fn stop(&mut self, limit: Limit, file: &str, pos: Pos, path: &str) {
        if self.budget.stopped.is_none() {
            self.budget.stopped = Some(limit);
            self.error(file, pos, path, limit.message());
        }
    }

    fn stop_at(&mut self, limit: Limit, env: &Env, id: ExprId) {
        let expr = &env.doc.exprs[id];
        let (pos, path) = (expr.pos, expr.path.clone());
        self.stop(limit, &env.name, pos, &path);
    }

    /// Charges a value made or copied at `file`/`pos`; `false` (after
    /// stopping) when it does not fit the budget.
    fn afford_at(&mut self, weight: u64, file: &str, pos: Pos, path: &str) -> bool {
        if self.budget.stopped.is_some() {
            return false;
        }
        match self.budget.charge(weight) {
            Ok(()) => true,
            Err(limit) => {
                self.stop(limit, file, pos, path);
                false
            }
        }
    }

    /// [`Self::afford_at`] for a value made by expression `id`.
    pub(super) fn afford(&mut self, env: &Env, id: ExprId, weight: u64) -> bool {
        let expr = &env.doc.exprs[id];
        let (pos, path) = (expr.pos, expr.path.clone());
        self.afford_at(weight, &env.name, pos, &path)
    }

    pub fn error(&mut self, file: &str, pos: Pos, path: &str, summary: impl Into<String>) {
        self.diag(Severity::Error, file, pos, path, summary.into());
    }

    fn diag(&mut self, severity: Severity, file: &str, pos: Pos, path: &str, summary: String) {
        self.diags.push(Diagnostic {
            severity,
            summary,
            file: Some(file.to_string()),
            line: pos.line,
            column: pos.column,
            path: path.to_string(),
            missing_environment: None,
        });
    }

    /// Parses `source` and reports its load diagnostics under `name`.
    /// `None` when the YAML itself is broken.
    pub fn parse(&mut self, name: &str, source: &[u8]) -> Option<Document> {
        match syntax::parse_counted(source, &mut self.budget.nodes_left) {
            Ok(Some(node)) => Some(ast::parse_document(node)),
            Ok(None) => Some(Document {
                imports: Vec::new(),
                values: None,
                exprs: Vec::new(),
                diags: Vec::new(),
                blank: true,
            }),
            Err(e) if self.budget.nodes_left == 0 => {
                self.stop(Limit::Nodes, name, e.pos, "");
                None
            }
            Err(e) => {
                self.error(name, e.pos, "", e.message);
                None
            }
        }
    }

    pub fn report_load_diags(&mut self, name: &str, doc: &Document) {
        for d in &doc.diags {
            self.diag(d.severity, name, d.pos, &d.path, d.summary.clone());
        }
    }

    /// Evaluates the root environment: an object, `{}` when it defines no
    /// values.
    pub fn eval_root(&mut self, doc: &Document) -> Val {
        let name = self.root_name.clone();
        self.envs.insert(name.clone(), Slot::InProgress);
        let value = self.eval_env(&name, doc);
        // Nothing loads the root once it is done: no need to keep a copy.
        self.envs.insert(name, Slot::Done(None));
        value
    }

    fn eval_env(&mut self, name: &str, doc: &Document) -> Val {
        self.decrypt_ahead(doc);
        let mut base: Option<Val> = None;
        let mut imports = BTreeMap::new();
        for import in &doc.imports {
            let Some(value) = self.load_env(&import.name, name, import.pos, &import.path) else {
                continue;
            };
            // Held twice: under `imports` and merged into the base.
            if !self.afford_at(2 * value.weight, name, import.pos, &import.path) {
                break;
            }
            imports.insert(import.name.clone(), (*value).clone());
            if !import.merge {
                continue;
            }
            base = Some(match base {
                None => (*value).clone(),
                Some(b) => {
                    let mut final_hit = false;
                    let merged = merge_owned((*value).clone(), b, &mut || final_hit = true);
                    if final_hit {
                        self.warn_final(name, import.pos, &import.path);
                    }
                    merged
                }
            });
        }
        let mut env = Env {
            name: name.to_string(),
            doc,
            base: base.map(Rc::new),
            imports: Rc::new(Val::new(VKind::Object(imports))),
            memo: doc.exprs.iter().map(|_| Memo::Todo).collect(),
            context: Rc::new(self.context_for(name)),
        };
        match doc.values {
            Some(root) => {
                let base = env.base.clone();
                self.eval(&mut env, root, base.as_deref())
            }
            None => env
                .base
                .as_deref()
                .cloned()
                .unwrap_or_else(|| Val::new(VKind::Object(BTreeMap::new()))),
        }
    }

    fn context_for(&self, name: &str) -> Val {
        let mut ctx = match Val::from_value(&self.options.context) {
            Val {
                kind: VKind::Object(map),
                ..
            } => map,
            _ => BTreeMap::new(),
        };
        let root = if self.root_name == "<yaml>" {
            name
        } else {
            &self.root_name
        };
        let named = |n: &str| {
            Val::new(VKind::Object(BTreeMap::from([(
                "name".to_string(),
                Val::string(n.to_string()),
            )])))
        };
        ctx.insert("currentEnvironment".into(), named(name));
        ctx.insert("rootEnvironment".into(), named(root));
        Val::new(VKind::Object(ctx))
    }

    /// Loads and evaluates an imported or referenced environment once per
    /// evaluation; errors are reported at the site that asked for it.
    pub(super) fn load_env(
        &mut self,
        name: &str,
        file: &str,
        pos: Pos,
        path: &str,
    ) -> Option<Rc<Val>> {
        match self.envs.get(name) {
            Some(Slot::InProgress) => {
                self.error(file, pos, path, format!("cyclic import of {name}"));
                return None;
            }
            Some(Slot::Done(v)) => return v.clone(),
            Some(Slot::Failed(e)) => {
                let e = e.clone();
                self.load_failed(name, file, pos, path, &e);
                return None;
            }
            None => {}
        }
        if self.budget.stopped.is_some() {
            return None;
        }
        self.budget.environments += 1;
        if self.budget.environments > budget::MAX_ENVIRONMENTS {
            self.stop(Limit::Environments, file, pos, path);
            return None;
        }
        if self.budget.import_depth >= budget::MAX_IMPORT_DEPTH {
            self.stop(Limit::ImportDepth, file, pos, path);
            return None;
        }
        let source = match self.loader.load(name) {
            Ok(source) => source,
            Err(e) => {
                self.load_failed(name, file, pos, path, &e);
                self.envs.insert(name.to_string(), Slot::Failed(e));
                return None;
            }
        };
        self.envs.insert(name.to_string(), Slot::InProgress);
        let value = match self.parse(name, &source) {
            Some(doc) => {
                self.report_load_diags(name, &doc);
                if doc.diags.iter().any(|d| d.severity == Severity::Error) {
                    None
                } else {
                    self.budget.import_depth += 1;
                    let value = self.eval_env(name, &doc);
                    self.budget.import_depth -= 1;
                    Some(value)
                }
            }
            None => None,
        };
        let value = value.map(Rc::new);
        self.envs
            .insert(name.to_string(), Slot::Done(value.clone()));
        value
    }

    fn load_failed(&mut self, name: &str, file: &str, pos: Pos, path: &str, e: &LoadError) {
        self.error(file, pos, path, e.to_string());
        if let (LoadError::NotFound { .. }, Some(d)) = (e, self.diags.last_mut()) {
            d.missing_environment = Some(name.to_string());
        }
    }

    fn warn_final(&mut self, file: &str, pos: Pos, path: &str) {
        self.diag(
            Severity::Warning,
            file,
            pos,
            path,
            "cannot override final value".into(),
        );
    }

    /// Evaluates expression `id`, layered over `base` (the value the same
    /// path has in the imports).
    pub fn eval(&mut self, env: &mut Env, id: ExprId, base: Option<&Val>) -> Val {
        if self.budget.stopped.is_some() {
            return Val::unknown();
        }
        match &env.memo[id] {
            Memo::Done(v) => return v.clone(),
            Memo::Moved => return Val::unknown(),
            Memo::Busy => {
                let expr = &env.doc.exprs[id];
                let property = expr.path.strip_prefix("values").unwrap_or(&expr.path);
                let property = property.strip_prefix('.').unwrap_or(property);
                let (pos, path, summary) = (
                    expr.pos,
                    expr.path.clone(),
                    format!("cyclic reference to {property}"),
                );
                self.error(&env.name, pos, &path, summary);
                return Val::unknown();
            }
            Memo::Todo => {}
        }
        if self.budget.eval_depth >= budget::MAX_EVAL_DEPTH {
            self.stop_at(Limit::EvalDepth, env, id);
            return Val::unknown();
        }
        if self.budget.stack_exhausted() {
            self.stop_at(Limit::Stack, env, id);
            return Val::unknown();
        }
        self.budget.eval_depth += 1;
        env.memo[id] = Memo::Busy;
        let expr = &env.doc.exprs[id];
        let value = if let Some(b) = base.filter(|b| b.fin) {
            let (pos, path) = (expr.pos, expr.path.clone());
            self.warn_final(&env.name, pos, &path);
            b.clone()
        } else if let ExprKind::Object(props) = &expr.kind {
            self.eval_object(env, props, base)
        } else {
            let v = self.eval_inner(env, id);
            match base {
                None => v,
                Some(b) => {
                    let mut final_hit = false;
                    let merged = merge(v, b, &mut || final_hit = true);
                    if final_hit {
                        let expr = &env.doc.exprs[id];
                        let (pos, path) = (expr.pos, expr.path.clone());
                        self.warn_final(&env.name, pos, &path);
                    }
                    merged
                }
            }
        };
        self.budget.eval_depth -= 1;
        let value = self.within_limits(env, id, value);
        env.memo[id] = if Some(id) == env.doc.values {
            Memo::Moved
        } else if self.afford(env, id, value.weight) {
            Memo::Done(value.clone())
        } else {
            Memo::Done(Val::unknown())
        };
        value
    }

    /// `value`, or unknown (after stopping) when it nests too deeply: every
    /// later walk over it recurses.
    fn within_limits(&mut self, env: &Env, id: ExprId, value: Val) -> Val {
        if value.depth > budget::MAX_VALUE_DEPTH {
            self.stop_at(Limit::ValueDepth, env, id);
            return Val::unknown();
        }
        value
    }

    /// Own keys in sorted order, each over its counterpart in `base`, then
    /// the keys only `base` has, marked inherited.
    fn eval_object(
        &mut self,
        env: &mut Env,
        props: &[(String, ExprId)],
        base: Option<&Val>,
    ) -> Val {
        let mut map = BTreeMap::new();
        for (key, child) in props {
            let child_base = base.and_then(|b| b.get(key));
            let v = self.eval(env, *child, child_base);
            map.insert(key.clone(), v);
        }
        if let Some(base_map) = base.and_then(Val::object) {
            for (k, b) in base_map {
                map.entry(k.clone()).or_insert_with(|| Val {
                    inherited: true,
                    ..b.clone()
                });
            }
        }
        Val::new(VKind::Object(map))
    }

    fn eval_inner(&mut self, env: &mut Env, id: ExprId) -> Val {
        let doc = env.doc;
        match &doc.exprs[id].kind {
            ExprKind::Null => Val::new(VKind::Null),
            ExprKind::Bool(b) => Val::new(VKind::Bool(*b)),
            ExprKind::Number(n) => Val::new(VKind::Number(*n)),
            ExprKind::String(s) => Val::string(s.clone()),
            ExprKind::Array(items) => {
                let items = items
                    .iter()
                    .map(|item| self.eval(env, *item, None))
                    .collect();
                Val::new(VKind::Array(items))
            }
            ExprKind::Object(props) => self.eval_object(env, props, None),
            ExprKind::Symbol(access, start) => {
                let mut v = self.resolve(env, id, access, *start);
                v.fin = false;
                v.inherited = false;
                v
            }
            ExprKind::Interpolate(parts, start) => {
                let mut out = String::new();
                let (mut secret, mut unknown) = (false, false);
                for part in parts {
                    out.push_str(&part.text);
                    if let Some(access) = &part.access {
                        let v = self.resolve(env, id, access, *start);
                        secret |= v.contains_secret();
                        unknown |= v.contains_unknown();
                        let text = v.to_value(true).to_text();
                        if !self.afford(env, id, text.len() as u64) {
                            return Val::unknown();
                        }
                        out.push_str(&text);
                    }
                }
                let v = if unknown {
                    Val::unknown()
                } else {
                    Val::string(out)
                };
                v.with_secret(secret)
            }
            ExprKind::Builtin(b) => {
                let v = self.eval_builtin(env, id, b);
                // What a builtin returns is new: charge it as a whole.
                match self.afford(env, id, v.weight) {
                    true => v,
                    false => Val::unknown(),
                }
            }
            ExprKind::Invalid => Val::unknown(),
        }
    }
}
