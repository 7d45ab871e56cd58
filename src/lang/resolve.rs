//! References: following the accessors of a `${...}` to the value they
//! name, evaluating only what lies on the way, with ESC's errors for a
//! missing property, a bad index or the wrong kind of accessor.

use std::collections::BTreeMap;

use super::ast::{self, ExprId, ExprKind, TextStart};
use super::eval::{Env, Evaluator};
use super::interp::{Access, Accessor, Step};
use super::syntax::Pos;
use super::val::{VKind, Val};

/// Where a reference currently points while its accessors are applied: an
/// expression not evaluated yet (with the value it layers over), a value
/// held elsewhere, or a value of its own. Borrowing keeps a reference into a
/// large import from copying the whole import.
enum Cursor<'b> {
    Expr(ExprId, Option<&'b Val>),
    Ref(&'b Val),
    Own(Val),
}

impl Evaluator<'_> {
    pub(super) fn resolve(
        &mut self,
        env: &mut Env,
        id: ExprId,
        access: &Access,
        start: TextStart,
    ) -> Val {
        let whole = env.doc.exprs[id].pos;
        let at = |step: &Step| match start.exact {
            true => Pos {
                line: start.pos.line,
                column: start.pos.column + step.offset,
            },
            false => whole,
        };
        let Some((first, rest)) = access.steps.split_first() else {
            return Val::unknown();
        };
        // Shared handles the cursor may borrow from while `env` is mutated.
        let (context, imports, base) = (env.context.clone(), env.imports.clone(), env.base.clone());
        let empty = Val::new(VKind::Object(BTreeMap::new()));
        let loaded;
        let (mut cursor, rest) = match &first.accessor {
            Accessor::Key(k) if k == "context" => (Cursor::Ref(&context), rest),
            Accessor::Key(k) if k == "imports" => (Cursor::Ref(&imports), rest),
            Accessor::Key(k) if k == "environments" => {
                let (Some(project), Some(name)) = (rest.first(), rest.get(1)) else {
                    return Val::unknown();
                };
                let (Accessor::Key(project), Accessor::Key(name)) =
                    (&project.accessor, &name.accessor)
                else {
                    return Val::unknown();
                };
                let target = format!("{project}/{name}");
                let path = env.doc.exprs[id].path.clone();
                let file = env.name.clone();
                // As in ESC, a failed load points at the reference as a whole.
                loaded = match self.load_env(&target, &file, whole, &path) {
                    Some(v) => v,
                    None => return Val::unknown(),
                };
                (Cursor::Ref(&loaded), &rest[2..])
            }
            _ => match env.doc.values {
                Some(root) => (Cursor::Expr(root, base.as_deref()), access.steps.as_slice()),
                None => (
                    Cursor::Ref(base.as_deref().unwrap_or(&empty)),
                    access.steps.as_slice(),
                ),
            },
        };
        for step in rest {
            cursor = match self.step(env, id, cursor, step, at(step)) {
                Some(c) => c,
                None => return Val::unknown(),
            };
        }
        let value = match cursor {
            Cursor::Expr(target, base) => self.eval(env, target, base),
            Cursor::Ref(v) => v.clone(),
            Cursor::Own(v) => v,
        };
        // A reference copies what it names.
        match self.afford(env, id, value.weight) {
            true => value,
            false => Val::unknown(),
        }
    }

    /// Applies one accessor; `None` (after reporting) when it fails.
    fn step<'b>(
        &mut self,
        env: &mut Env,
        id: ExprId,
        cursor: Cursor<'b>,
        step: &Step,
        pos: Pos,
    ) -> Option<Cursor<'b>> {
        let value = match cursor {
            Cursor::Expr(target, base) if !base.is_some_and(|b| b.fin) => {
                match (&env.doc.exprs[target].kind, &step.accessor) {
                    (ExprKind::Object(props), Accessor::Key(k)) => {
                        if let Some(child) = ast::property(props, k) {
                            return Some(Cursor::Expr(child, base.and_then(|b| b.get(k))));
                        }
                        if let Some(v) = base.and_then(|b| b.get(k)) {
                            return Some(Cursor::Ref(v));
                        }
                        let mut keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
                        if let Some(m) = base.and_then(Val::object) {
                            keys.extend(m.keys().map(String::as_str));
                        }
                        let summary = unknown_property(k, &keys);
                        self.access_error(env, id, pos, summary);
                        return None;
                    }
                    (ExprKind::Array(items), Accessor::Index(i)) => {
                        let i = self.index(env, id, pos, *i, items.len())?;
                        return Some(Cursor::Expr(items[i], None));
                    }
                    (ExprKind::Object(_), Accessor::Index(_))
                    | (ExprKind::Array(_), Accessor::Key(_)) => {
                        self.wrong_accessor(env, id, pos, &step.accessor);
                        return None;
                    }
                    _ => Held::Own(self.eval(env, target, base)),
                }
            }
            Cursor::Expr(target, base) => Held::Own(self.eval(env, target, base)),
            Cursor::Ref(v) => Held::Ref(v),
            Cursor::Own(v) => Held::Own(v),
        };
        let v = value.get();
        if v.unknown {
            return None;
        }
        let found = match (&v.kind, &step.accessor) {
            (VKind::Object(map), Accessor::Key(k)) => match map.get(k) {
                Some(_) => Ok(()),
                None => {
                    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                    Err(unknown_property(k, &keys))
                }
            },
            (VKind::Array(items), Accessor::Index(i)) => {
                let i = self.index(env, id, pos, *i, items.len())?;
                return Some(value.child(|v| match &v.kind {
                    VKind::Array(items) => items.get(i),
                    _ => None,
                }));
            }
            (VKind::Object(_), _) | (VKind::Array(_), _) => {
                self.wrong_accessor(env, id, pos, &step.accessor);
                return None;
            }
            _ => Err("receiver must be an array or an object".to_string()),
        };
        match (found, &step.accessor) {
            (Ok(()), Accessor::Key(k)) => Some(value.child(|v| v.get(k))),
            (Err(summary), _) => {
                self.access_error(env, id, pos, summary);
                None
            }
            (Ok(()), Accessor::Index(_)) => None,
        }
    }

    fn index(&mut self, env: &Env, id: ExprId, pos: Pos, i: i64, len: usize) -> Option<usize> {
        if i < 0 {
            self.access_error(env, id, pos, "array indices must not be negative".into());
            return None;
        }
        if i as usize >= len {
            let summary = format!("array index {i} out-of-bounds for array of length {len}");
            self.access_error(env, id, pos, summary);
            return None;
        }
        Some(i as usize)
    }

    fn wrong_accessor(&mut self, env: &Env, id: ExprId, pos: Pos, accessor: &Accessor) {
        let summary = match accessor {
            Accessor::Index(_) => "cannot access an object property using an integer index",
            Accessor::Key(_) => "cannot access an array element using a property name",
        };
        self.access_error(env, id, pos, summary.into());
    }

    fn access_error(&mut self, env: &Env, id: ExprId, pos: Pos, summary: String) {
        let path = env.doc.exprs[id].path.clone();
        self.error(&env.name, pos, &path, summary);
    }
}

/// A value being indexed: borrowed from elsewhere or owned here.
enum Held<'b> {
    Ref(&'b Val),
    Own(Val),
}

impl<'b> Held<'b> {
    fn get(&self) -> &Val {
        match self {
            Held::Ref(v) => v,
            Held::Own(v) => v,
        }
    }

    /// The child `pick` finds (which the caller checked exists), still
    /// borrowed when the parent was.
    fn child(self, pick: impl for<'v> Fn(&'v Val) -> Option<&'v Val>) -> Cursor<'b> {
        match self {
            Held::Ref(v) => pick(v).map_or(Cursor::Own(Val::unknown()), Cursor::Ref),
            Held::Own(v) => Cursor::Own(pick(&v).cloned().unwrap_or_else(Val::unknown)),
        }
    }
}

fn unknown_property(name: &str, keys: &[&str]) -> String {
    let best = keys
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d > 0 && (*d <= 1 || (*d <= 2 && name.chars().count() >= 5)))
        .min();
    match best {
        Some((_, k)) => format!("unknown property \"{name}\"; did you mean \"{k}\"?"),
        None => format!("unknown property \"{name}\""),
    }
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
