//! The shell integration commands: `hook`, `export`, `allow`, `deny`,
//! `reload`, `status`, and the background `refresh` the hook starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use super::App;
use crate::hook::cache::{Cache, CachedVar, Entry, Failure, Source};
use crate::hook::diff::Change;
use crate::hook::export::{self, bump_generation, target_name, Inputs, Opener};
use crate::hook::rc::{self, RcFile, Settings, Target};
use crate::hook::state::{Fingerprinter, State, VAR as STATE_VAR};
use crate::hook::trust::{Trust, TrustStore};
use crate::projection::{self, VarKind};
use crate::reference::EnvRef;
use crate::shell::Shell;
use crate::store::{Recording, StoreLoader};

/// `escsh hook SHELL`: the script to eval from the shell's rc file.
pub fn hook(shell: Shell) -> Result<()> {
    let exe = std::env::current_exe().context("finding escsh's own path")?;
    let exe = exe.as_os_str().as_encoded_bytes();
    let script = crate::shell::hook_script(shell).replace("@ESCSH@", &shell.quote(exe));
    std::io::stdout().write_all(script.as_bytes())?;
    Ok(())
}

/// `escsh export SHELL`: what the hook evals. Prints nothing on stdout
/// when it fails, so a shell never gets half a change.
pub fn export(app: &App, shell: Shell) -> Result<()> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let pwd = std::env::var("PWD")
        .ok()
        .filter(|p| same_dir(Path::new(p), &cwd))
        .unwrap_or_else(|| cwd.display().to_string());
    let snapshot: std::collections::HashMap<String, Vec<u8>> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_encoded_bytes())))
        .collect();
    let env = |name: &str| snapshot.get(name).cloned();
    let shell_prev = std::env::var("__ESCSH_PREV").ok();
    let fingerprinter = Fingerprinter::load(app.paths.data_dir())?;
    use_pristine_environment(&env, shell_prev.as_deref(), &fingerprinter)?;
    let inputs = Inputs {
        paths: &app.paths,
        shell,
        now: now(),
        cwd,
        pwd,
        env: &env,
        shell_prev,
        fingerprinter: &fingerprinter,
        stamp: std::env::var_os("__ESCSH_STAMP")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    };
    let out = export::export(&inputs, &HookOpener { app })?;
    let mut err = std::io::stderr().lock();
    for m in &out.messages {
        let _ = writeln!(err, "escsh: {m}");
    }
    std::io::stdout().write_all(out.script.as_bytes())?;
    Ok(())
}

/// Providers run by this process (and the refreshes it starts) must see
/// the shell's environment as it was before escsh loaded anything: an
/// `assumeRole` takes its source credentials from there, not from the
/// credentials escsh exported for another project.
fn use_pristine_environment(
    env: &dyn Fn(&str) -> Option<Vec<u8>>,
    shell_prev: Option<&str>,
    fp: &Fingerprinter,
) -> Result<()> {
    let Some(state) = env(STATE_VAR).and_then(|s| State::decode(&String::from_utf8_lossy(&s)))
    else {
        return Ok(());
    };
    let prev = export::decode_prev(shell_prev);
    let undo = crate::hook::diff::apply(env, &state, &prev, None, fp);
    for change in undo.changes {
        match change {
            Change::Set(name, value) => {
                use std::os::unix::ffi::OsStringExt;
                std::env::set_var(name, std::ffi::OsString::from_vec(value));
            }
            Change::Unset(name) => std::env::remove_var(name),
        }
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).is_ok_and(|a| a == b || std::fs::canonicalize(b).is_ok_and(|b| a == b))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The `.escrc` that applies to `dir` (or the current directory).
fn find_rc(dir: Option<&Path>) -> Result<RcFile> {
    let start = match dir {
        Some(d) => {
            std::fs::canonicalize(d).with_context(|| format!("cannot open {}", d.display()))?
        }
        None => std::env::current_dir()?,
    };
    let start = if start.is_file() && start.file_name() == Some(rc::FILE_NAME.as_ref()) {
        start.parent().map(Path::to_path_buf).unwrap_or(start)
    } else {
        start
    };
    rc::find(&start).with_context(|| {
        format!(
            "no {} in {} or its parents: create one naming an environment, e.g. `echo acme/app/dev > .escrc`",
            rc::FILE_NAME,
            start.display()
        )
    })
}

fn local_definition(settings: &Settings) -> Result<Option<Vec<u8>>> {
    match &settings.target {
        Target::File(p) => Ok(Some(
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )),
        Target::Reference(_) => Ok(None),
    }
}

/// `escsh allow [PATH]`.
pub fn allow(app: &App, dir: Option<&Path>) -> Result<()> {
    let rc = find_rc(dir)?;
    let settings = rc::parse(&rc)?;
    let local = local_definition(&settings)?;
    TrustStore::new(app.paths.data_dir()).allow(&rc, local.as_deref())?;
    bump_generation(&app.paths)?;
    eprintln!(
        "escsh: allowed {} ({})",
        rc.path.display(),
        target_name(&settings.target)
    );
    Ok(())
}

/// `escsh deny [PATH]`.
pub fn deny(app: &App, dir: Option<&Path>) -> Result<()> {
    let rc = find_rc(dir)?;
    TrustStore::new(app.paths.data_dir()).deny(&rc.path)?;
    bump_generation(&app.paths)?;
    eprintln!("escsh: denied {}", rc.path.display());
    Ok(())
}

/// `escsh reload`: re-opens the environment of this directory now; every
/// shell picks it up at its next prompt.
pub fn reload(app: &App) -> Result<()> {
    let rc = find_rc(None)?;
    let settings = rc::parse(&rc)?;
    let local = local_definition(&settings)?;
    match TrustStore::new(app.paths.data_dir()).status(&rc, local.as_deref()) {
        Trust::Allowed => {}
        Trust::Denied => bail!("{} is denied: run 'escsh allow' first", rc.path.display()),
        Trust::NotAllowed => bail!(
            "{} is not allowed: run 'escsh allow' first",
            rc.path.display()
        ),
    }
    let cache = Cache::new(app.paths.runtime_dir());
    let key = Cache::key(&target_name(&settings.target));
    let _lock = cache.lock(&key)?;
    let entry = HookOpener { app }
        .open(&settings, now())
        .map_err(anyhow::Error::msg)?;
    cache.write(&key, &entry)?;
    bump_generation(&app.paths)?;
    eprintln!("escsh: reloaded {}", entry.target);
    Ok(())
}

/// `escsh refresh RC` (started by the hook, detached): re-opens what `rc`
/// names unless another refresh holds the lock; records failures with a
/// backoff so the hook warns once and retries later.
pub fn refresh(app: &App, rc_path: &Path) -> Result<()> {
    let rc = find_rc(Some(rc_path))?;
    let settings = rc::parse(&rc)?;
    let local = local_definition(&settings)?;
    if TrustStore::new(app.paths.data_dir()).status(&rc, local.as_deref()) != Trust::Allowed {
        return Ok(());
    }
    let cache = Cache::new(app.paths.runtime_dir());
    let key = Cache::key(&target_name(&settings.target));
    let Some(_lock) = cache.try_lock(&key)? else {
        return Ok(());
    };
    let now = now();
    match (HookOpener { app }).open(&settings, now) {
        Ok(entry) => cache.write(&key, &entry)?,
        Err(message) => {
            let Some(mut old) = cache.read(&key) else {
                return Ok(());
            };
            let count = old.failure.as_ref().map_or(1, |f| f.count + 1);
            let backoff = (30i64 << count.min(5)).min(600);
            old.failure = Some(Failure {
                message,
                at: now,
                retry_at: now + backoff,
                count,
            });
            cache.write(&key, &old)?;
        }
    }
    // Every shell's next prompt looks at the new entry.
    bump_generation(&app.paths)?;
    Ok(())
}

/// `escsh status [--json]`.
pub fn status(app: &App, json: bool) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let rc = rc::find(&cwd);
    let state = std::env::var(STATE_VAR)
        .ok()
        .and_then(|s| State::decode(&s));
    let mut report = serde_json::Map::new();
    report.insert(
        "escrc".into(),
        rc.as_ref().map(|r| r.path.display().to_string()).into(),
    );
    if let Some(rc) = &rc {
        match rc::parse(rc) {
            Ok(settings) => {
                report.insert("target".into(), target_name(&settings.target).into());
                let local = local_definition(&settings).ok().flatten();
                let trust = TrustStore::new(app.paths.data_dir()).status(rc, local.as_deref());
                report.insert("trust".into(), serde_json::to_value(trust)?);
                let cache = Cache::new(app.paths.runtime_dir());
                if let Some(entry) = cache.read(&Cache::key(&target_name(&settings.target))) {
                    report.insert(
                        "expires".into(),
                        entry.expires_at.map(export::rfc3339).into(),
                    );
                    report.insert(
                        "lastRefreshError".into(),
                        entry.failure.map(|f| f.message).into(),
                    );
                }
            }
            Err(e) => {
                report.insert("error".into(), e.to_string().into());
            }
        }
    }
    if let Some(state) = state.filter(State::is_loaded) {
        report.insert("loaded".into(), state.env.clone().into());
        let names: Vec<String> = state.keys.iter().map(|k| k.name.clone()).collect();
        report.insert("variables".into(), names.into());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (k, v) in &report {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        println!("{k}: {text}");
    }
    Ok(())
}

/// Opens `.escrc` targets through the store and the shipped providers.
struct HookOpener<'a> {
    app: &'a App,
}

impl Opener for HookOpener<'_> {
    fn open(&self, settings: &Settings, now: i64) -> Result<Entry, String> {
        let app = self.app;
        let (env, name, source, root_file) = match &settings.target {
            Target::Reference(r) => {
                let env = app.reference(r).map_err(|e| format!("{e:#}"))?;
                let source = app.store.read(&env).map_err(|e| format!("{e:#}"))?;
                let file = PathBuf::from(app.store.location(&env));
                (env.clone(), env.short_name(), source, file)
            }
            Target::File(path) => {
                let source =
                    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
                let env = EnvRef::parse("default/project", &app.default_org)
                    .map_err(|e| e.to_string())?;
                (env, path.display().to_string(), source, path.clone())
            }
        };
        let loader = Recording::new(StoreLoader::new(app.store.as_ref(), &env.org));
        let evaluated = app.evaluate_with(&name, &env, &source, &loader);
        if evaluated.has_errors() {
            let first: Vec<String> = evaluated
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::lang::Severity::Error)
                .take(3)
                .map(|d| d.to_string())
                .collect();
            return Err(first.join("; "));
        }
        let value = evaluated
            .value
            .unwrap_or_else(|| crate::lang::Value::object([]));
        let vars = projection::project(&value);
        for v in &vars {
            crate::shell::check_name(&v.name).map_err(|e| e.to_string())?;
        }
        let files_dir = app
            .paths
            .runtime_dir()
            .join("hook-files")
            .join(Cache::key(&target_name(&settings.target)));
        let vars = projection::materialize(&vars, &files_dir)
            .map_err(|e| format!("writing files: {e}"))?;
        let mut sources = vec![Source::of(&root_file)];
        sources.extend(loader.into_locations().iter().map(|p| Source::of(p)));
        Ok(Entry {
            target: target_name(&settings.target),
            vars: vars
                .into_iter()
                .map(|v| CachedVar {
                    secret: v.secret && v.kind == VarKind::Env,
                    name: v.name,
                    value: v.value,
                })
                .collect(),
            expires_at: evaluated.expires_at,
            opened_at: now,
            sources,
            failure: None,
        })
    }

    fn refresh_in_background(&self, rc: &RcFile) {
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut cmd = Command::new(exe);
        cmd.arg("refresh")
            .arg(&rc.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches the refresher
        // from the shell's session so ^C and hangups do not reach it.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let _ = cmd.spawn();
    }
}
