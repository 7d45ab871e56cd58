//! What this directory should have loaded, step by step: which project
//! applies, whether it is allowed, what the cache (or an open) gives, when
//! to refresh, and which variables may be exported. Each step also says
//! what the hook must watch to notice that its answer changed, on the error
//! paths too, so the prompt after a fix picks it up.

use std::path::PathBuf;
use std::process::Child;

use super::cache::{Entry, Source};
use super::diff::Desired;
use super::guard;
use super::obtain::{obtain, Unavailable, Wait, FIRST_OPEN_WAIT};
use super::project::{candidates, Project, Standing};
use super::state::State;
use super::trust::{sha256_hex, TrustStore};
use crate::paths::Paths;

/// Far enough in the future that shells never reach it.
pub const NEVER: i64 = 1 << 40;
/// How soon to look again while a background refresh is running.
const POLL: i64 = 15;
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
