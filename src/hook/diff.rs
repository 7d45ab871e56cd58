//! Load, unload and refresh as changes to the shell's variables.
//!
//! Unloading puts back what each variable held before escsh set it (unset
//! and empty are different), except where the user changed the variable
//! since: escsh then leaves it alone and says so.

use std::collections::BTreeMap;

use super::state::{Fingerprinter, Managed, Prev, State};

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Set(String, Vec<u8>),
    Unset(String),
}

/// What the environment to load asks for.
#[derive(Debug, Clone)]
pub struct Desired {
    pub env: String,
    /// Name, value, and whether the value is secret.
    pub vars: Vec<(String, String, bool)>,
    pub expires_at: Option<i64>,
    /// Variables unset while the environment is loaded and given back on
    /// leave (those that would shadow the credential endpoint).
    pub hidden: Vec<String>,
}

/// What a hidden variable is fingerprinted as: no variable can hold a NUL,
/// so no value the user sets matches it.
const HIDDEN: &[u8] = b"\0hidden";

#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub state: State,
    /// Previous values kept in the shell rather than in the exported state.
    pub shell_prev: BTreeMap<String, Vec<u8>>,
    pub notes: Vec<String>,
}

/// Moves the shell from `state` to `desired` (`None`: nothing loaded).
/// `env` reads the shell's current variables; `shell_prev` is what the
/// shell kept from the previous call.
pub fn apply(
    env: &dyn Fn(&str) -> Option<Vec<u8>>,
    state: &State,
    shell_prev: &BTreeMap<String, Vec<u8>>,
    desired: Option<&Desired>,
    fp: &Fingerprinter,
) -> Outcome {
    let mut out = Outcome {
        state: State {
            blocked: state.blocked.clone(),
            warned: state.warned.clone(),
            ..State::default()
        },
        ..Outcome::default()
    };
    let same_env = desired.is_some_and(|d| state.is_loaded() && d.env == state.env);
    let wanted = |name: &str| {
        desired.is_some_and(|d| {
            d.vars.iter().any(|(n, _, _)| n == name) || d.hidden.iter().any(|n| n == name)
        })
    };
    // Give back every variable escsh no longer sets (all of them on leave
    // or switch); keep ownership of those it still sets in the same env.
    let mut kept: BTreeMap<&str, &Managed> = BTreeMap::new();
    for m in &state.keys {
        let current = env(&m.name);
        // A hidden variable is untouched while it stays unset.
        let untouched = fp.of(&m.name, current.as_deref().unwrap_or(HIDDEN)) == m.fingerprint;
        if same_env && wanted(&m.name) {
            if untouched {
                kept.insert(&m.name, m);
            } else {
                out.notes.push(format!(
                    "{} was changed since escsh set it: left as it is",
                    m.name
                ));
            }
            continue;
        }
        if !untouched {
            out.notes.push(format!(
                "{} was changed since escsh set it: left as it is",
                m.name
            ));
            continue;
        }
        match &m.prev {
            Prev::Unset => out.changes.push(Change::Unset(m.name.clone())),
            Prev::Kept => match shell_prev.get(&m.name) {
                Some(v) => out.changes.push(Change::Set(m.name.clone(), v.clone())),
                None => {
                    out.changes.push(Change::Unset(m.name.clone()));
                    out.notes.push(format!(
                        "{}: the value it had before escsh is not known to this shell: unset",
                        m.name
                    ));
                }
            },
        }
    }
    let Some(desired) = desired else {
        return out;
    };
    // The variables as they are once the give-backs above are applied.
    let pristine = |name: &str| -> Option<Vec<u8>> {
        for c in out.changes.iter().rev() {
            match c {
                Change::Set(n, v) if n == name => return Some(v.clone()),
                Change::Unset(n) if n == name => return None,
                _ => {}
            }
        }
        env(name)
    };
    let mut keys = Vec::new();
    let mut changes = Vec::new();
    let items = desired
        .vars
        .iter()
        .map(|(n, v, _)| (n, Some(v.as_bytes())))
        .chain(desired.hidden.iter().map(|n| (n, None)));
    for (name, value) in items {
        let fingerprint = fp.of(name, value.unwrap_or(HIDDEN));
        if !kept.contains_key(name.as_str())
            && same_env
            && state.keys.iter().any(|m| &m.name == name)
        {
            // The user took this variable over: not ours any more.
            continue;
        }
        let prev = match kept.get(name.as_str()) {
            Some(m) => {
                if let (Prev::Kept, Some(v)) = (&m.prev, shell_prev.get(name)) {
                    out.shell_prev.insert(name.clone(), v.clone());
                }
                m.prev.clone()
            }
            // Whatever it held, secret or not, stays with this shell:
            // nothing a variable held before goes into exported state.
            None => match pristine(name) {
                None => Prev::Unset,
                Some(v) => {
                    out.shell_prev.insert(name.clone(), v);
                    Prev::Kept
                }
            },
        };
        match value {
            Some(v) if env(name).as_deref() != Some(v) => {
                changes.push(Change::Set(name.clone(), v.to_vec()))
            }
            None if env(name).is_some() => changes.push(Change::Unset(name.clone())),
            _ => {}
        }
        keys.push(Managed {
            name: name.clone(),
            prev,
            fingerprint,
        });
    }
    out.changes.extend(changes);
    out.state.env = desired.env.clone();
    out.state.keys = keys;
    out.state.expires_at = desired.expires_at;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> (tempfile::TempDir, Fingerprinter) {
        let dir = tempfile::tempdir().unwrap();
        let fp = Fingerprinter::load(dir.path()).unwrap();
        (dir, fp)
    }

    /// Applies changes to a map standing in for the shell.
    fn run(shell: &mut BTreeMap<String, Vec<u8>>, out: &Outcome) {
        for c in &out.changes {
            match c {
                Change::Set(n, v) => {
                    shell.insert(n.clone(), v.clone());
                }
                Change::Unset(n) => {
                    shell.remove(n);
                }
            }
        }
    }

    fn step(
        shell: &mut BTreeMap<String, Vec<u8>>,
        state: &State,
        prev: &BTreeMap<String, Vec<u8>>,
        desired: Option<&Desired>,
        fp: &Fingerprinter,
    ) -> Outcome {
        let snapshot = shell.clone();
        let out = apply(&|n| snapshot.get(n).cloned(), state, prev, desired, fp);
        run(shell, &out);
        out
    }

    /// The first export in a shell that had nothing loaded.
    fn enter(
        shell: &mut BTreeMap<String, Vec<u8>>,
        desired: Option<&Desired>,
        fp: &Fingerprinter,
    ) -> Outcome {
        step(shell, &State::default(), &BTreeMap::new(), desired, fp)
    }

    fn desired(env: &str, vars: &[(&str, &str, bool)]) -> Desired {
        Desired {
            env: env.into(),
            vars: vars
                .iter()
                .map(|(n, v, s)| (n.to_string(), v.to_string(), *s))
                .collect(),
            expires_at: None,
            hidden: Vec::new(),
        }
    }

    #[test]
    fn hidden_variables_are_unset_while_loaded_and_given_back() {
        let (_d, fp) = fp();
        let mut shell: BTreeMap<String, Vec<u8>> =
            [("AWS_PROFILE".to_string(), b"prod".to_vec())].into();
        let before = shell.clone();
        let mut want = desired("a", &[("URI", "http://x", false)]);
        want.hidden = vec!["AWS_PROFILE".into(), "AWS_ROLE_ARN".into()];
        let a = enter(&mut shell, Some(&want), &fp);
        assert!(!shell.contains_key("AWS_PROFILE"));
        assert_eq!(a.shell_prev["AWS_PROFILE"], b"prod");
        // The next export in the same environment changes nothing.
        let again = step(&mut shell, &a.state, &a.shell_prev, Some(&want), &fp);
        assert!(again.changes.is_empty() && again.notes.is_empty());
        step(&mut shell, &again.state, &again.shell_prev, None, &fp);
        assert_eq!(shell, before);
        // Set again by the user while hidden: theirs, left alone on leave.
        let a = enter(&mut shell, Some(&want), &fp);
        shell.insert("AWS_PROFILE".into(), b"mine".to_vec());
        let left = step(&mut shell, &a.state, &a.shell_prev, None, &fp);
        assert_eq!(shell["AWS_PROFILE"], b"mine");
        assert_eq!(left.notes.len(), 1);
    }

    #[test]
    fn enter_then_leave_restores_exactly() {
        let (_d, fp) = fp();
        let mut shell: BTreeMap<String, Vec<u8>> = [
            ("EMPTY".to_string(), vec![]),
            ("KEY".to_string(), b"outer-secret".to_vec()),
            ("PLAIN".to_string(), b"plain-before".to_vec()),
        ]
        .into();
        let before = shell.clone();
        let want = desired(
            "a",
            &[
                ("EMPTY", "x", false),
                ("KEY", "inner", true),
                ("NEW", "n", false),
                ("PLAIN", "p", false),
            ],
        );
        let loaded = enter(&mut shell, Some(&want), &fp);
        assert_eq!(shell["KEY"], b"inner");
        let json = serde_json::to_string(&loaded.state).unwrap();
        // No previous value, secret or not, is in the exported state.
        assert!(!json.contains("outer-secret") && !json.contains("plain-before"));
        assert_eq!(loaded.shell_prev["PLAIN"], b"plain-before");
        assert_eq!(loaded.shell_prev["KEY"], b"outer-secret");
        step(&mut shell, &loaded.state, &loaded.shell_prev, None, &fp);
        assert_eq!(shell, before);
    }

    #[test]
    fn a_variable_the_user_changed_is_left_alone() {
        let (_d, fp) = fp();
        let mut shell = BTreeMap::new();
        let want = desired("a", &[("A", "1", false), ("B", "2", false)]);
        let loaded = enter(&mut shell, Some(&want), &fp);
        shell.insert("A".into(), b"mine".to_vec());
        let left = step(&mut shell, &loaded.state, &loaded.shell_prev, None, &fp);
        assert_eq!(shell.get("A").map(Vec::as_slice), Some(&b"mine"[..]));
        assert!(!shell.contains_key("B"));
        assert_eq!(left.notes.len(), 1);
    }

    #[test]
    fn switching_restores_before_loading_and_refresh_keeps_the_original_prev() {
        let (_d, fp) = fp();
        let mut shell: BTreeMap<String, Vec<u8>> = [("A".to_string(), b"orig".to_vec())].into();
        let a = enter(&mut shell, Some(&desired("a", &[("A", "1", false)])), &fp);
        let b = step(
            &mut shell,
            &a.state,
            &a.shell_prev,
            Some(&desired("b", &[("A", "2", false)])),
            &fp,
        );
        assert_eq!(b.state.keys[0].prev, Prev::Kept);
        assert_eq!(b.shell_prev["A"], b"orig");
        let b2 = step(
            &mut shell,
            &b.state,
            &b.shell_prev,
            Some(&desired("b", &[("A", "3", false)])),
            &fp,
        );
        assert_eq!(shell["A"], b"3");
        assert_eq!(b2.state.keys[0].prev, Prev::Kept);
        step(&mut shell, &b2.state, &b2.shell_prev, None, &fp);
        assert_eq!(shell["A"], b"orig");
    }

    #[test]
    fn a_child_shell_without_the_kept_secret_unsets_with_a_note() {
        let (_d, fp) = fp();
        let mut shell: BTreeMap<String, Vec<u8>> = [("K".to_string(), b"outer".to_vec())].into();
        let a = enter(&mut shell, Some(&desired("a", &[("K", "s", true)])), &fp);
        let left = step(&mut shell, &a.state, &BTreeMap::new(), None, &fp);
        assert!(!shell.contains_key("K"));
        assert_eq!(left.notes.len(), 1);
    }
}
