//! What this directory should have loaded, step by step: which project
//! applies, whether it is allowed, what the cache (or an open) gives, when
//! to refresh, and which variables may be exported. Each step also says
//! what the hook must watch to notice that its answer changed, on the error
//! paths too, so the prompt after a fix picks it up.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, SystemTime};

use super::cache::{Cache, Entry, Failure, Source};
use super::diff::Desired;
use super::guard;
use super::project::{candidates, Project, Standing};
use super::state::State;
use super::trust::{sha256_hex, TrustStore};
use crate::paths::Paths;

/// Far enough in the future that shells never reach it.
pub const NEVER: i64 = 1 << 40;
/// How soon to look again while a background refresh is running.
const POLL: i64 = 15;
/// How soon an environment that failed to open is tried again, when none
/// of the files it read changes first.
pub const RETRY_OPEN: i64 = 60;
/// How long a prompt waits for the first open of an environment on a
/// server (Pulumi Cloud) before it goes on without it: long enough for an
/// answer from a working service, far shorter than a slow one's timeout.
pub const FIRST_OPEN_WAIT: Duration = Duration::from_secs(2);

/// Opens what a project names (the commands layer provides this: it knows
/// the store and the providers).
pub trait Opener {
    /// Opens `project`; `definition` is its own definition (`file:`) as
    /// read for the trust check: these bytes, not a second read, are
    /// evaluated and recorded.
    fn open(&self, project: &Project, definition: Option<&[u8]>, now: i64)
        -> Result<Entry, Failed>;
    /// Starts a detached refresh of the project at `rc`; must not block.
    fn refresh_in_background(&self, rc: &std::path::Path) {
        drop(self.open_detached(rc));
    }
    /// Starts a detached open of the project at `rc` (`escsh refresh`),
    /// which writes the cache; the child, to see it end.
    fn open_detached(&self, rc: &std::path::Path) -> Option<Child>;
    /// True when opening `project` asks a server: the hook then opens it
    /// in the background instead of holding the prompt (see [`obtain`]).
    fn opens_remotely(&self, _project: &Project) -> bool {
        false
    }
}

/// Why [`obtain`] has no entry to give.
#[derive(Debug)]
pub enum Unavailable {
    /// The open failed; retry at the time given unless a source changes.
    Failed(Failed, i64),
    /// A server is still answering the first open; it goes on in the
    /// background and the shells look again when it is written.
    Opening,
}

/// How long [`obtain`] may wait for an open.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Until it is done (the agent and commands, which a client waits on).
    Done,
    /// A prompt: a remote environment's first open is waited for this long
    /// at most; local ones are opened in place, as their opens are local.
    Prompt(Duration),
}

/// An open that failed: why (one line per problem, no secret), and the
/// definitions it read or looked for, whose change may fix it.
#[derive(Debug, Clone)]
pub struct Failed {
    pub message: String,
    pub sources: Vec<Source>,
}

/// Where the decision landed for this directory.
pub struct Decision {
    /// The `.escrc` that applies, if any.
    pub rc: Option<PathBuf>,
    pub desired: Option<Desired>,
    /// Files whose change (or appearance) can change this decision.
    pub watch: Vec<PathBuf>,
    pub deadline: i64,
    /// Variables not exported, with why; said when the environment loads.
    pub refused: Vec<String>,
}

impl Decision {
    fn new(paths: &Paths) -> Decision {
        Decision {
            rc: None,
            desired: None,
            watch: vec![paths.generation_file()],
            deadline: NEVER,
            refused: Vec::new(),
        }
    }
}

/// Makes every shell look again at its next prompt.
pub fn bump_generation(paths: &Paths) -> std::io::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    crate::fsutil::write_atomic(
        &paths.generation_file(),
        format!("{}\n", now.as_nanos()).as_bytes(),
    )
}

pub fn decide(
    paths: &Paths,
    cwd: &std::path::Path,
    now: i64,
    opener: &dyn Opener,
    state: &mut State,
    messages: &mut Vec<String>,
    once: &mut Once,
) -> Decision {
    let d = decide_here(paths, cwd, now, opener, state, messages, once);
    // A shell that no longer uses the endpoint does not keep the agent up.
    let uses_agent = d.desired.as_ref().is_some_and(|want| {
        want.vars
            .iter()
            .any(|(n, _, _)| n == "AWS_CONTAINER_CREDENTIALS_FULL_URI")
    });
    if !uses_agent {
        crate::agent::files::AgentFiles::new(paths)
            .remove_shell(crate::agent::files::calling_shell());
    }
    d
}

fn decide_here(
    paths: &Paths,
    cwd: &std::path::Path,
    now: i64,
    opener: &dyn Opener,
    state: &mut State,
    messages: &mut Vec<String>,
    once: &mut Once,
) -> Decision {
    let mut d = Decision::new(paths);
    let project = match Project::find(cwd) {
        None => {
            d.watch.extend(candidates(cwd, None));
            // Out of every project: nothing to remember, notices included.
            state.at = None;
            state.blocked = None;
            state.warned = None;
            return d;
        }
        Some(found) => found,
    };
    let rc_path = match &project {
        Ok(p) => p.rc.path.clone(),
        Err(e) => e.path(),
    };
    enter(state, &rc_path);
    d.watch.extend(candidates(cwd, rc_path.parent()));
    d.watch.push(rc_path.clone());
    d.rc = Some(rc_path);
    let project = match project {
        Ok(p) => p,
        Err(e) => {
            once.say(e.to_string());
            return d;
        }
    };
    let Some(definition) = trusted_definition(paths, &project, &mut d, state, messages, once)
    else {
        return d;
    };
    let wait = Wait::Prompt(FIRST_OPEN_WAIT);
    let entry = match obtain(paths, &project, definition.as_deref(), now, opener, wait) {
        Ok(entry) => entry,
        Err(Unavailable::Failed(failed, retry_at)) => {
            let name = project.target_name();
            once.say(format!("cannot load {name}: {}", failed.message));
            d.watch.extend(failed.sources.into_iter().map(|s| s.path));
            d.deadline = retry_at;
            return d;
        }
        Err(Unavailable::Opening) => {
            // The opener bumps the generation file when it is done; the
            // deadline covers one that dies first.
            once.say(format!(
                "opening {} in the background: its variables load at a prompt once it answers",
                project.target_name()
            ));
            d.deadline = now + 1;
            return d;
        }
    };
    d.watch.extend(entry.sources.iter().map(|s| s.path.clone()));
    schedule(&project, &entry, now, opener, &mut d, once);
    if entry.expired(now) {
        once.say(format!(
            "the credentials of {} have expired: unloaded until a refresh succeeds",
            entry.target
        ));
        return d;
    }
    let endpoint = endpoint_mode(paths, &project, &entry, now, &mut d, once);
    d.desired = Some(desired(&project, &entry, endpoint, &mut d.refused));
    d
}

/// How often a shell in endpoint mode looks again at its prompt, to start
/// the agent again if it was killed (a dead process changes no file the
/// hook could watch).
const AGENT_CHECK: i64 = 30;

/// The agent's variables when this project's AWS keys go through the
/// endpoint (`aws: endpoint` in the `.escrc` or config.yaml) and the
/// environment has some; the agent is started if needed.
fn endpoint_mode(
    paths: &Paths,
    project: &Project,
    entry: &Entry,
    now: i64,
    d: &mut Decision,
    once: &mut Once,
) -> Option<Vec<(String, String)>> {
    use crate::agent::{self, files::AgentFiles, Target};
    use crate::hook::rc::AwsMode;
    let mode = match project.settings.aws {
        Some(mode) => mode,
        None => crate::reference::aws_mode(&paths.config_file()).unwrap_or_else(|e| {
            once.say(format!("{e:#}"));
            AwsMode::Export
        }),
    };
    if mode != AwsMode::Endpoint || !entry.vars.iter().any(|v| v.aws.is_some()) {
        return None;
    }
    let files = AgentFiles::new(paths);
    let shell = agent::files::calling_shell();
    d.deadline = d.deadline.min(now + AGENT_CHECK);
    let mut notes = Vec::new();
    let found = agent::ensure(paths, &mut notes);
    notes.into_iter().for_each(|n| once.say(n));
    match found {
        Ok(e) => {
            if let Err(err) = files.add_shell(shell) {
                once.say(format!("cannot record this shell for the agent: {err}"));
            }
            Some(agent::endpoint_vars(
                &e,
                &Target::Rc(project.rc.path.clone()),
            ))
        }
        Err(err) => {
            once.say(format!(
                "{err:#}: the AWS keys of {} are not exported (aws: endpoint)",
                entry.target
            ));
            Some(Vec::new())
        }
    }
}

/// Entering a project (another `.escrc` than at the last export) shows
/// its notices and errors again.
fn enter(state: &mut State, rc: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let id = sha256_hex(rc.as_os_str().as_bytes())[..16].to_string();
    if state.at.as_deref() != Some(id.as_str()) {
        state.blocked = None;
        state.warned = None;
        state.at = Some(id);
    }
}

/// The project's own definition if the project is allowed (`Some(None)`
/// for a store reference); `None` when nothing may load.
fn trusted_definition(
    paths: &Paths,
    project: &Project,
    d: &mut Decision,
    state: &mut State,
    messages: &mut Vec<String>,
    once: &mut Once,
) -> Option<Option<Vec<u8>>> {
    let trust = TrustStore::new(&paths.trust_dir());
    // allow and deny also bump the generation file; watching the records
    // makes them take effect when that file cannot be written.
    d.watch.extend(trust.records(&project.rc));
    let standing = project.standing(&trust);
    let rc_allowed = !matches!(
        standing,
        Ok(Standing::Denied)
            | Ok(Standing::NotAllowed {
                rc_allowed: false,
                ..
            })
    );
    if rc_allowed {
        d.watch.extend(project.definition_path().map(PathBuf::from));
    }
    match standing {
        Ok(Standing::Allowed { definition }) => Some(definition),
        Ok(Standing::Denied) => None,
        Ok(Standing::NotAllowed { id, .. }) => {
            if state.blocked.as_deref() != Some(id.as_str()) {
                messages.push(format!(
                    "{} ({}) is not allowed: run 'escsh allow' to load it",
                    project.rc.path.display(),
                    project.target_name()
                ));
                state.blocked = Some(id);
            }
            None
        }
        Err(e) => {
            once.say(format!("{}: {e}", project.rc.path.display()));
            None
        }
    }
}

/// The cached entry while every definition it came from is unchanged;
/// otherwise opens now, under the lock, so concurrent shells open once. A
/// failure is cached too (every shell shows it; it is retried when a file
/// it read changes, or after [`RETRY_OPEN`]). At a prompt, a remote
/// environment is opened by a detached `escsh refresh` instead, waited for
/// [`FIRST_OPEN_WAIT`] at most.
pub fn obtain(
    paths: &Paths,
    project: &Project,
    definition: Option<&[u8]>,
    now: i64,
    opener: &dyn Opener,
    wait: Wait,
) -> Result<Entry, Unavailable> {
    let cache = Cache::new(&paths.opened_dir());
    let key = project.cache_key();
    let held = project.held(definition);
    let usable = |e: Entry| -> Option<Result<Entry, Unavailable>> {
        if !e.is_current(&held) {
            return None;
        }
        match (&e.failure, e.unopened) {
            (Some(f), true) if now < f.retry_at => Some(Err(Unavailable::Failed(
                Failed {
                    message: f.message.clone(),
                    sources: e.sources.clone(),
                },
                f.retry_at,
            ))),
            (_, true) => None,
            _ => Some(Ok(e)),
        }
    };
    if let Some(found) = cache.read(&key).and_then(usable) {
        return found;
    }
    let fail = |message: String| {
        Unavailable::Failed(
            Failed {
                message,
                sources: held.clone(),
            },
            now + RETRY_OPEN,
        )
    };
    if let Wait::Prompt(limit) = wait {
        if opener.opens_remotely(project) {
            let found = || cache.read(&key).and_then(usable);
            // `None`: no process could be started; open in place instead.
            if let Some(result) = open_detached(&cache, &key, project, opener, limit, found)
                .map_err(|e| fail(e.to_string()))?
            {
                return result;
            }
        }
    }
    let _lock = cache.lock(&key).map_err(|e| fail(e.to_string()))?;
    if let Some(found) = cache.read(&key).and_then(usable) {
        return found;
    }
    match opener.open(project, definition, now) {
        Ok(entry) => {
            cache.write(&key, &entry).map_err(|e| fail(e.to_string()))?;
            Ok(entry)
        }
        Err(failed) => {
            let mut entry = Entry::unopened(project.target_name(), failed.sources.clone(), now);
            entry.failure = Some(Failure {
                message: failed.message.clone(),
                at: now,
                retry_at: now + RETRY_OPEN,
                count: 1,
            });
            // Best effort: without it, each shell finds the error itself.
            let _ = cache.write(&key, &entry);
            Err(Unavailable::Failed(failed, now + RETRY_OPEN))
        }
    }
}

/// Starts the open in the background unless one is under way, and waits
/// for what it writes until `limit` after that open started (when its
/// opener took the lock: a loaded machine's slow process start does not
/// count against the server). A prompt that starts it, or another shell's
/// arriving just after, gets its answer from a working server; a prompt
/// while a slow one is still answering does not wait again.
fn open_detached(
    cache: &Cache,
    key: &str,
    project: &Project,
    opener: &dyn Opener,
    limit: Duration,
    found: impl Fn() -> Option<Result<Entry, Unavailable>>,
) -> std::io::Result<Option<Result<Entry, Unavailable>>> {
    let ours = match cache.try_lock(key)? {
        Some(lock) => {
            // The opener takes the lock itself; should another shell take
            // it first, one of the two openers finds it held and leaves.
            drop(lock);
            match opener.open_detached(&project.rc.path) {
                Some(child) => Some(child),
                None => return Ok(None),
            }
        }
        None => None,
    };
    wait_for(cache, key, ours, limit, found).map(Some)
}

/// Waits for an open under way: see [`open_detached`]. `ours` is the
/// opener this prompt started, if it did.
fn wait_for(
    cache: &Cache,
    key: &str,
    mut ours: Option<Child>,
    limit: Duration,
    found: impl Fn() -> Option<Result<Entry, Unavailable>>,
) -> std::io::Result<Result<Entry, Unavailable>> {
    let started = SystemTime::now();
    loop {
        if let Some(found) = found() {
            return Ok(found);
        }
        let opening_since = match (&ours, cache.locked_at(key)) {
            (Some(_), Some(at)) => at.max(started),
            (Some(_), None) => started,
            (None, Some(at)) => at,
            (None, None) => return Ok(Err(Unavailable::Opening)),
        };
        if SystemTime::now() >= opening_since + limit {
            return Ok(Err(Unavailable::Opening));
        }
        // Over when no one holds the lock any more (and the opener this
        // prompt started has ended: it may not have taken it yet).
        let ours_ended = ours
            .as_mut()
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
        if ours_ended && cache.try_lock(key)?.is_some() {
            return Ok(found().unwrap_or(Err(Unavailable::Opening)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts a background refresh when one is due, and sets the deadline at
/// which the shell must look again.
fn schedule(
    project: &Project,
    entry: &Entry,
    now: i64,
    opener: &dyn Opener,
    d: &mut Decision,
    once: &mut Once,
) {
    let margin = project.settings.refresh_margin();
    let backing_off = entry.failure.as_ref().is_some_and(|f| f.retry_at > now);
    if let Some(f) = &entry.failure {
        once.say(format!("refreshing {} failed: {}", entry.target, f.message));
    }
    if let Some(lifetime) = entry.margin_too_long(margin) {
        once.say(format!(
            "refresh: in {} is not shorter than {}'s credential lifetime ({lifetime}s); refreshing at the default margin instead (set a shorter one)",
            project.rc.path.display(),
            entry.target,
        ));
    }
    let due = entry.refresh_at(margin).is_some_and(|at| now >= at);
    if due && !backing_off {
        opener.refresh_in_background(&project.rc.path);
    }
    let retry = || {
        entry
            .failure
            .as_ref()
            .map_or(now + POLL, |f| f.retry_at.max(now + 1))
    };
    d.deadline = match (entry.refresh_at(margin), entry.expires_at) {
        (Some(at), Some(_)) if now < at => at,
        (_, Some(expires)) if now < expires => retry().min(expires),
        (_, Some(_)) => retry(),
        _ => NEVER,
    };
}

/// The variables to export: the entry's, less those the guard refuses,
/// plus escsh's own.
fn desired(
    project: &Project,
    entry: &Entry,
    endpoint: Option<Vec<(String, String)>>,
    refused: &mut Vec<String>,
) -> Desired {
    let rc = project.rc.path.display().to_string();
    let mut vars = Vec::with_capacity(entry.vars.len() + 2);
    for v in &entry.vars {
        if endpoint.is_some() && v.aws.is_some() {
            continue;
        }
        match guard::check(&v.name, &project.settings.unsafe_vars) {
            None => vars.push((v.name.clone(), v.value.clone(), v.secret)),
            Some(why) => refused.push(guard::message(&v.name, &why, &entry.target, &rc)),
        }
    }
    vars.push(("ESCSH_ENV".into(), entry.target.clone(), false));
    if let Some(expires) = entry.expires_at {
        vars.push((
            "AWS_CREDENTIAL_EXPIRATION".into(),
            crate::time::rfc3339(expires),
            false,
        ));
    }
    let mut hidden = Vec::new();
    if let Some(endpoint) = endpoint {
        vars.extend(endpoint.into_iter().map(|(n, v)| (n, v, false)));
        hidden = crate::agent::SHADOWING
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    Desired {
        env: entry.target.clone(),
        vars,
        expires_at: entry.expires_at,
        hidden,
    }
}

/// Messages said once: errors and warnings that hold until something
/// changes. They are shown when they differ from what the last export
/// said (as a whole), and again on entering the project.
#[derive(Debug, Default)]
pub struct Once(pub Vec<String>);

impl Once {
    pub fn say(&mut self, message: String) {
        self.0.push(message);
    }

    /// What to show now, given and updating the shell's record of what it
    /// was told last.
    pub fn settle(self, state: &mut State) -> Vec<String> {
        if self.0.is_empty() {
            state.warned = None;
            return self.0;
        }
        let id = sha256_hex(self.0.join("\n").as_bytes())[..16].to_string();
        if state.warned.as_deref() == Some(id.as_str()) {
            return Vec::new();
        }
        state.warned = Some(id);
        self.0
    }
}
