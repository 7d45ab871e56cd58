//! How the hook opens a project's environment: through the store and the
//! shipped providers, recording every definition read, into a cache entry.

use std::path::Path;
use std::process::{Command, Stdio};

use super::App;
use crate::backend::Backend;
use crate::cloud::{Cloud, CloudError};
use crate::hook::cache::{CachedVar, Entry};
use crate::hook::decide::{Failed, Opener};
use crate::hook::project::Project;
use crate::hook::rc::Target;
use crate::lang::{Credential, Severity, Value};
use crate::projection::{self, VarKind};
use crate::store::Source;

/// At most this many diagnostics go into one hook message.
const MAX_SHOWN: usize = 3;

pub struct HookOpener<'a> {
    pub app: &'a App,
}

impl Opener for HookOpener<'_> {
    fn open(
        &self,
        project: &Project,
        definition: Option<&[u8]>,
        now: i64,
    ) -> Result<Entry, Failed> {
        let app = self.app;
        if let Target::Reference(r) = &project.settings.target {
            if let Some(cloud) = self.open_cloud(project, r, now) {
                let (opened, sources) = cloud?;
                return self.entry(
                    project,
                    opened.value,
                    Some(opened.expires_at),
                    &opened.credentials,
                    sources,
                    now,
                );
            }
        }
        let recorded = match (&project.settings.target, definition) {
            (Target::Reference(r), _) => match app.reference(r) {
                Ok(env) => app.open_recorded(&env),
                Err(e) => {
                    return Err(Failed {
                        message: format!("{e:#}"),
                        sources: Vec::new(),
                    })
                }
            },
            (Target::File(path), Some(bytes)) => app.evaluate_project_file(path, bytes),
            (Target::File(path), None) => {
                return Err(Failed {
                    message: format!("{} was not read", path.display()),
                    sources: Vec::new(),
                })
            }
        };
        let sources = recorded.sources;
        let fail = |message: String| Failed {
            message,
            sources: sources.clone(),
        };
        let evaluated = recorded.evaluated.map_err(|e| fail(e.to_string()))?;
        if evaluated.has_errors() {
            let errors: Vec<String> = evaluated
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .take(MAX_SHOWN)
                .map(|d| recorded.locate.one_line(d))
                .collect();
            return Err(fail(errors.join("; ")));
        }
        let value = evaluated.value.unwrap_or_else(|| Value::object([]));
        self.entry(
            project,
            value,
            evaluated.expires_at,
            &evaluated.credentials,
            dedup(sources),
            now,
        )
    }
    fn opens_remotely(&self, project: &Project) -> bool {
        let Target::Reference(r) = &project.settings.target else {
            return false;
        };
        self.app
            .locate(r)
            .is_ok_and(|loc| matches!(loc.backend, Backend::Cloud(_)))
    }

    fn open_detached(&self, rc: &Path) -> Option<std::process::Child> {
        let exe = std::env::current_exe().ok()?;
        let mut cmd = Command::new(exe);
        cmd.arg("refresh")
            .arg(rc)
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
        cmd.spawn().ok()
    }
}

impl HookOpener<'_> {
    /// The cache entry of an opened `value`: its variables projected and
    /// checked, its files written to the project's private directory.
    fn entry(
        &self,
        project: &Project,
        value: Value,
        expires_at: Option<i64>,
        credentials: &[Credential],
        sources: Vec<Source>,
        now: i64,
    ) -> Result<Entry, Failed> {
        let app = self.app;
        let fail = |message: String| Failed {
            message,
            sources: sources.clone(),
        };
        let vars = projection::project(&value);
        for v in &vars {
            crate::shell::check_name(&v.name).map_err(|e| fail(e.to_string()))?;
        }
        // Past the kernel's limits every later exec in the shell fails,
        // escsh's own included: refuse the whole environment instead.
        projection::check_sizes(&vars).map_err(|e| fail(e.to_string()))?;
        let files_dir = app.paths.hook_files_dir().join(project.cache_key());
        let vars = projection::materialize(&vars, &files_dir)
            .map_err(|e| fail(format!("writing files to {}: {e}", files_dir.display())))?;
        Ok(Entry {
            target: project.target_name(),
            vars: vars
                .into_iter()
                .map(|v| CachedVar {
                    aws: projection::credential_part(&v, credentials),
                    secret: v.secret && v.kind == VarKind::Env,
                    name: v.name,
                    value: v.value,
                })
                .collect(),
            expires_at,
            opened_at: now,
            sources,
            failure: None,
            unopened: false,
        })
    }

    /// Opens `name` through Pulumi Cloud when it lives there (`None` for a
    /// local environment). The entry's one source is the `.escrc` itself:
    /// nothing else on disk changes what the server answers, so the entry
    /// stays until the `.escrc` changes or the environment expires.
    fn open_cloud(&self, project: &Project, name: &str, now: i64) -> Option<CloudOpened> {
        let sources = vec![Source::current(&project.rc.path)];
        let fail = |message: String| Failed {
            message,
            sources: sources.clone(),
        };
        let loc = match self.app.locate(name) {
            Ok(loc) => loc,
            Err(e) => return Some(Err(fail(format!("{e:#}")))),
        };
        let Backend::Cloud(login) = &loc.backend else {
            return None;
        };
        let opened = Cloud::new(login).and_then(|c| c.open(&loc.env, loc.version.as_deref(), now));
        Some(match opened {
            Ok(o) => Ok((o, sources.clone())),
            Err(CloudError::Invalid { diagnostics, .. }) => {
                let errors: Vec<String> = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .take(MAX_SHOWN)
                    .map(ToString::to_string)
                    .collect();
                Err(fail(errors.join("; ")))
            }
            Err(e) => Err(fail(e.to_string())),
        })
    }
}

/// A cloud environment opened, with its sources, or why it failed.
type CloudOpened = Result<(crate::cloud::Opened, Vec<Source>), Failed>;

/// One record per file. A file read twice with different bytes (changed
/// during the evaluation) gets a hash nothing matches, so the entry is
/// opened again at the next look rather than kept under either content.
fn dedup(sources: Vec<Source>) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::with_capacity(sources.len());
    for s in sources {
        match out.iter_mut().find(|o| o.path == s.path) {
            Some(o) if o.sha256 != s.sha256 => o.sha256 = "changed-while-read".into(),
            Some(_) => {}
            None => out.push(s),
        }
    }
    out
}
