//! `escsh export SHELL`: what the hook runs when something may have
//! changed. It decides what this directory should have loaded, moves the
//! shell there, and tells the hook what to watch and until when nothing
//! needs checking again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::cache::{Cache, Entry};
use super::diff::{self, Change, Desired, Outcome};
use super::rc::{self, RcFile, Settings, Target};
use super::state::{Fingerprinter, State, VAR as STATE_VAR};
use super::trust::{Trust, TrustStore};
use crate::paths::Paths;
use crate::shell::Shell;

/// Far enough in the future that shells never reach it.
const NEVER: i64 = 1 << 40;
/// How soon to look again while a background refresh is running.
const POLL: i64 = 15;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Opens what an `.escrc` names (the commands layer provides this: it
/// knows the store and the providers).
pub trait Opener {
    fn open(&self, settings: &Settings, now: i64) -> Result<Entry, String>;
    /// Starts a detached refresh of what `rc` names; must not block.
    fn refresh_in_background(&self, rc: &RcFile);
}

/// Everything the export reads from the world, so tests can supply it.
pub struct Inputs<'a> {
    pub paths: &'a Paths,
    pub shell: Shell,
    pub now: i64,
    pub cwd: PathBuf,
    /// What the shell calls this directory (`$PWD`), for its own comparisons.
    pub pwd: String,
    pub env: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// `__ESCSH_PREV`: values the shell kept for escsh.
    pub shell_prev: Option<String>,
    /// `__ESCSH_STAMP`: this shell's stamp file, once it has one.
    pub stamp: Option<PathBuf>,
    pub fingerprinter: &'a Fingerprinter,
}

pub struct Export {
    /// Statements for the shell to eval.
    pub script: String,
    /// One line each, for stderr.
    pub messages: Vec<String>,
}

/// Where the decision landed for this directory.
struct Decision {
    /// The `.escrc` that applies, if any.
    rc: Option<PathBuf>,
    desired: Option<Desired>,
    watch: Vec<PathBuf>,
    deadline: i64,
}

pub fn export(inputs: &Inputs, opener: &dyn Opener) -> anyhow::Result<Export> {
    let env = inputs.env;
    let mut messages = Vec::new();
    let state = match env(STATE_VAR) {
        None => State::default(),
        Some(raw) => State::decode(&String::from_utf8_lossy(&raw)).unwrap_or_else(|| {
            messages.push(format!(
                "ignoring {STATE_VAR} written by another version of escsh"
            ));
            State::default()
        }),
    };
    let mut next = state.clone();
    let decision = decide(inputs, opener, &mut next, &mut messages);
    let shell_prev = decode_prev(inputs.shell_prev.as_deref());
    let mut outcome = diff::apply(
        env,
        &state,
        &shell_prev,
        decision.desired.as_ref(),
        inputs.fingerprinter,
    );
    outcome.state.blocked = next.blocked;
    outcome.state.warned = next.warned;
    outcome.state.rc = decision.rc.clone();
    messages.extend(transition_messages(
        &state,
        &outcome,
        decision.desired.as_ref(),
    ));
    messages.extend(outcome.notes.iter().cloned());
    let stamp = touch_stamp(inputs)?;
    let script = render(inputs, &outcome, &decision, &stamp)?;
    Ok(Export { script, messages })
}

fn decide(
    inputs: &Inputs,
    opener: &dyn Opener,
    state: &mut State,
    messages: &mut Vec<String>,
) -> Decision {
    let mut watch = vec![generation_file(inputs.paths)];
    let Some(rc) = rc::find(&inputs.cwd) else {
        watch.extend(candidates(&inputs.cwd, None));
        return Decision {
            rc: None,
            desired: None,
            watch,
            deadline: NEVER,
        };
    };
    let at = Some(rc.path.clone());
    let none = |watch| Decision {
        rc: at.clone(),
        desired: None,
        watch,
        deadline: NEVER,
    };
    watch.extend(candidates(&inputs.cwd, Some(rc.dir())));
    watch.push(rc.path.clone());
    let settings = match rc::parse(&rc) {
        Ok(s) => s,
        Err(e) => {
            say_once(state, messages, e.to_string());
            return none(watch);
        }
    };
    let local = match &settings.target {
        Target::File(path) => {
            watch.push(path.clone());
            match std::fs::read(path) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    say_once(
                        state,
                        messages,
                        format!("{}: cannot read {}: {e}", rc.path.display(), path.display()),
                    );
                    return none(watch);
                }
            }
        }
        Target::Reference(_) => None,
    };
    // allow and deny bump the generation file, which is watched already.
    let trust = TrustStore::new(inputs.paths.data_dir());
    match trust.status(&rc, local.as_deref()) {
        Trust::Allowed => {}
        Trust::Denied => return none(watch),
        Trust::NotAllowed => {
            let id = TrustStore::content_id(&rc, local.as_deref());
            if state.blocked.as_deref() != Some(id.as_str()) {
                messages.push(format!(
                    "{} ({}) is not allowed: run 'escsh allow' to load it",
                    rc.path.display(),
                    target_name(&settings.target)
                ));
                state.blocked = Some(id);
            }
            return none(watch);
        }
    }
    let cache = Cache::new(inputs.paths.runtime_dir());
    let key = Cache::key(&target_name(&settings.target));
    // A background refresh bumps the generation file when it has written
    // the cache, so the cache itself need not be watched.
    let entry = match obtain(&cache, &key, || opener.open(&settings, inputs.now)) {
        Ok(entry) => entry,
        Err(e) => {
            say_once(
                state,
                messages,
                format!("cannot load {}: {e}", target_name(&settings.target)),
            );
            return Decision {
                rc: at,
                desired: None,
                watch,
                deadline: inputs.now + 60,
            };
        }
    };
    watch.extend(entry.sources.iter().map(|s| s.path.clone()));
    let now = inputs.now;
    let margin = settings.refresh.map(|d| d.as_secs() as i64);
    let backing_off = entry.failure.as_ref().is_some_and(|f| f.retry_at > now);
    if let Some(f) = &entry.failure {
        say_once(
            state,
            messages,
            format!("refreshing {} failed: {}", entry.target, f.message),
        );
    }
    let due = entry.refresh_at(margin).is_some_and(|at| now >= at);
    if due && !backing_off {
        opener.refresh_in_background(&rc);
    }
    let deadline = match (entry.refresh_at(margin), entry.expires_at) {
        (Some(at), Some(_)) if now < at => at,
        (_, Some(expires)) if now < expires => {
            let retry = entry
                .failure
                .as_ref()
                .map_or(now + POLL, |f| f.retry_at.max(now + 1));
            retry.min(expires)
        }
        (_, Some(_)) => entry
            .failure
            .as_ref()
            .map_or(now + POLL, |f| f.retry_at.max(now + 1)),
        _ => NEVER,
    };
    if entry.expired(now) {
        say_once(
            state,
            messages,
            format!(
                "the credentials of {} have expired: unloaded until a refresh succeeds",
                entry.target
            ),
        );
        return Decision {
            rc: at,
            desired: None,
            watch,
            deadline,
        };
    }
    let mut vars: Vec<(String, String, bool)> = entry
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.value.clone(), v.secret))
        .collect();
    vars.push(("ESCSH_ENV".into(), entry.target.clone(), false));
    if let Some(expires) = entry.expires_at {
        vars.push(("AWS_CREDENTIAL_EXPIRATION".into(), rfc3339(expires), false));
    }
    Decision {
        rc: at,
        desired: Some(Desired {
            env: entry.target.clone(),
            vars,
            expires_at: entry.expires_at,
        }),
        watch,
        deadline,
    }
}

/// Where a nearer `.escrc` could appear: in each directory from `cwd` up
/// to (not including) the one that applies, or up to the root. Watching
/// the files rather than the directories keeps busy directories such as
/// `/tmp` or `$HOME` from waking the hook.
fn candidates(cwd: &Path, applies: Option<&Path>) -> Vec<PathBuf> {
    rc::dirs_between(cwd, applies)
        .into_iter()
        .filter(|d| Some(d.as_path()) != applies)
        .map(|d| d.join(rc::FILE_NAME))
        .collect()
}

/// The cached entry while its definitions are unchanged; otherwise opens
/// now, under the lock, so concurrent shells open once.
fn obtain(
    cache: &Cache,
    key: &str,
    open: impl FnOnce() -> Result<Entry, String>,
) -> Result<Entry, String> {
    let valid = |e: &Entry| e.sources_unchanged();
    if let Some(e) = cache.read(key).filter(valid) {
        return Ok(e);
    }
    let _lock = cache
        .lock(key)
        .map_err(|e| format!("locking the cache: {e}"))?;
    if let Some(e) = cache.read(key).filter(valid) {
        return Ok(e);
    }
    let entry = open()?;
    cache
        .write(key, &entry)
        .map_err(|e| format!("writing the cache: {e}"))?;
    Ok(entry)
}

pub fn target_name(target: &Target) -> String {
    match target {
        Target::Reference(r) => r.clone(),
        Target::File(p) => p.display().to_string(),
    }
}

/// Says `message` unless it is what was said last.
fn say_once(state: &mut State, messages: &mut Vec<String>, message: String) {
    let id = super::trust::hex(&<sha2::Sha256 as sha2::Digest>::digest(message.as_bytes()))[..16]
        .to_string();
    if state.warned.as_deref() != Some(id.as_str()) {
        messages.push(message);
        state.warned = Some(id);
    }
}

/// Touched by `allow`, `deny` and `reload`: every shell watches it.
pub fn generation_file(paths: &Paths) -> PathBuf {
    paths.data_dir().join("generation")
}

pub fn bump_generation(paths: &Paths) -> std::io::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    crate::fsutil::write_atomic(
        &generation_file(paths),
        format!("{}\n", now.as_nanos()).as_bytes(),
    )
}

fn transition_messages(old: &State, out: &Outcome, desired: Option<&Desired>) -> Vec<String> {
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
        .map(|t| format!(" expires {}", local_hh_mm(t)))
        .unwrap_or_default();
    if old.env != desired.env {
        let names: Vec<String> = out
            .state
            .keys
            .iter()
            .filter(|k| !matches!(k.name.as_str(), "ESCSH_ENV" | "AWS_CREDENTIAL_EXPIRATION"))
            .map(|k| format!("+{}", k.name))
            .collect();
        lines.push(format!(
            "loading {} ({}){expiry}",
            desired.env,
            names.join(" ")
        ));
    } else if out.changes.iter().any(|c| matches!(c, Change::Set(..))) {
        lines.push(format!("refreshed {}{expiry}", desired.env));
    }
    lines
}

fn touch_stamp(inputs: &Inputs) -> std::io::Result<PathBuf> {
    let stamp = match &inputs.stamp {
        Some(p) if p.starts_with(inputs.paths.runtime_dir()) => p.clone(),
        _ => inputs.paths.runtime_dir().join("stamps").join(format!(
            "{}-{}",
            std::process::id(),
            inputs.now
        )),
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
    let file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&stamp)?;
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
        return Err(std::io::Error::last_os_error());
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

fn render(
    inputs: &Inputs,
    out: &Outcome,
    decision: &Decision,
    stamp: &Path,
) -> anyhow::Result<String> {
    let sh = inputs.shell;
    let mut lines = Vec::new();
    for change in &out.changes {
        lines.push(match change {
            Change::Set(name, value) => sh.export(name, value)?,
            Change::Unset(name) => sh.unset(name)?,
        });
    }
    let state = if out.state == State::default() {
        lines.push(sh.unset(STATE_VAR)?);
        String::new()
    } else {
        let encoded = out.state.encode();
        lines.push(sh.export(STATE_VAR, encoded.as_bytes())?);
        encoded
    };
    let path_text = |p: &Path| p.as_os_str().as_encoded_bytes().to_vec();
    lines.push(sh.assign_local("__escsh_pwd", inputs.pwd.as_bytes()));
    lines.push(sh.assign_local("__escsh_state", state.as_bytes()));
    lines.push(sh.assign_local("__escsh_stamp", &path_text(stamp)));
    lines.push(sh.assign_local("__escsh_prev", encode_prev(&out.shell_prev).as_bytes()));
    let rc = out.state.rc.as_deref().map(path_text).unwrap_or_default();
    lines.push(sh.assign_local("__escsh_rc", &rc));
    // Files that exist must not change (the .escrc must also stay);
    // files that do not must not appear.
    let (present, absent): (Vec<&PathBuf>, Vec<&PathBuf>) =
        decision.watch.iter().partition(|p| p.exists());
    let present: Vec<Vec<u8>> = present.iter().map(|p| path_text(p)).collect();
    let absent: Vec<Vec<u8>> = absent.iter().map(|p| path_text(p)).collect();
    lines.push(sh.assign_local_list("__escsh_watch", &present));
    lines.push(sh.assign_local_list("__escsh_absent", &absent));
    lines.push(sh.assign_local("__escsh_deadline", decision.deadline.to_string().as_bytes()));
    // fish has no clock: it compares the stamp's age with a time to live.
    let ttl = decision.deadline.saturating_sub(inputs.now);
    lines.push(sh.assign_local("__escsh_ttl", ttl.to_string().as_bytes()));
    lines.push(String::new());
    Ok(lines.join("\n"))
}

/// RFC 3339 in UTC, as the AWS CLI and prompt tools read it.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `HH:MM` in the local time zone.
pub fn local_hh_mm(unix: i64) -> String {
    let t = unix as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which outlives the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return rfc3339(unix);
    }
    format!("{:02}:{:02}", tm.tm_hour, tm.tm_min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::cache::CachedVar;
    use std::cell::Cell;

    /// Opens to fixed credentials expiring at `expires`; counts refreshes.
    struct Fake {
        expires: i64,
        opened_at: i64,
        refreshes: Cell<u32>,
    }

    impl Opener for Fake {
        fn open(&self, settings: &Settings, _: i64) -> Result<Entry, String> {
            Ok(Entry {
                target: target_name(&settings.target),
                vars: vec![CachedVar {
                    name: "AWS_SECRET_ACCESS_KEY".into(),
                    value: "s3cr3t-value".into(),
                    secret: true,
                }],
                expires_at: Some(self.expires),
                opened_at: self.opened_at,
                sources: Vec::new(),
                failure: None,
            })
        }

        fn refresh_in_background(&self, _: &RcFile) {
            self.refreshes.set(self.refreshes.get() + 1);
        }
    }

    /// An allowed project in a private home; returns the home and project.
    fn allowed_project() -> (tempfile::TempDir, Paths, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let proj = home.path().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        std::fs::write(proj.join(".escrc"), "app/dev\n").unwrap();
        let rc = rc::find(&proj).unwrap();
        TrustStore::new(paths.data_dir()).allow(&rc, None).unwrap();
        (home, paths, std::fs::canonicalize(proj).unwrap())
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
            shell_prev: None,
            stamp: None,
            fingerprinter: &Fingerprinter::load(paths.data_dir()).unwrap(),
        };
        export(&inputs, opener).unwrap()
    }

    #[test]
    fn near_expiry_refreshes_in_the_background_and_expired_credentials_are_not_exported() {
        let (_home, paths, proj) = allowed_project();
        let fake = Fake {
            expires: 1_000,
            opened_at: 100,
            refreshes: Cell::new(0),
        };
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
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_028_800), "2025-11-25T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn kept_values_round_trip() {
        let prev: BTreeMap<String, Vec<u8>> = [("A".to_string(), b"x\xff".to_vec())].into();
        assert_eq!(decode_prev(Some(&encode_prev(&prev))), prev);
        assert!(decode_prev(Some("garbage")).is_empty());
    }
}
