//! The commands, one file each, and what they share: finding the store,
//! parsing references, and opening (evaluating) an environment.

pub mod agent;
pub mod allow;
pub mod aws;
pub mod completions;
pub mod deny;
pub mod endpoint;
pub mod env_edit;
pub mod env_encrypt;
pub mod env_get;
pub mod env_init;
pub mod env_ls;
pub mod env_rekey;
pub mod env_rm;
pub mod env_set;
pub mod export;
pub mod hook;
pub mod key;
pub mod located;
pub mod man;
pub mod open;
pub mod opener;
pub mod refresh;
pub mod reload;
pub mod run;
mod sealing;
pub mod status;

use std::io::{self, Write};

use anyhow::{Context as _, Result};

use crate::access::{self, Accessor};
use crate::backend::Resolver;
use crate::hook::project::Project;
use crate::hook::rc;
use crate::lang::{self, interp, Diagnostic, Evaluated, Value};
use crate::paths::Paths;
use crate::printable;
use crate::reference::{self, EnvRef};
use crate::store::{LocalStore, Recording, Source, Store, StoreError, StoreLoader};
pub use located::{Located, OpenedValue};

/// An evaluation together with every definition it read (or looked for),
/// as read: what a cache records and a watcher watches.
pub struct Recorded {
    /// The evaluation, or why the root definition could not be read.
    pub evaluated: std::result::Result<Evaluated, StoreError>,
    pub sources: Vec<Source>,
    /// Turns the evaluation's diagnostics into paths the user can open.
    pub locate: Locator,
}

/// Where a diagnostic's environment name lives: the root definition's
/// location, or an import's in the store.
pub struct Locator {
    root_name: String,
    root_location: String,
    resolved: Vec<(String, String)>,
}

impl Locator {
    pub fn location(&self, name: &str) -> String {
        if name == self.root_name {
            return self.root_location.clone();
        }
        self.resolved
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| name.to_string(), |(_, l)| l.clone())
    }

    /// `d` with its file a path the user can open.
    pub fn locate(&self, d: &Diagnostic) -> Diagnostic {
        let mut d = d.clone();
        d.file = Some(match &d.file {
            Some(name) => self.location(name),
            None => self.root_location.clone(),
        });
        d
    }

    /// `path:line:col: message (at property)`, for one-line reports that
    /// already say it is an error.
    pub fn one_line(&self, d: &Diagnostic) -> String {
        let d = self.locate(d);
        let file = d.file.unwrap_or_default();
        let at = if d.line > 0 {
            format!("{file}:{}:{}", d.line, d.column)
        } else {
            file
        };
        let path = if d.path.is_empty() {
            String::new()
        } else {
            format!(" (at {})", d.path)
        };
        format!("{at}: {}{path}", d.summary)
    }
}

/// An environment was evaluated with errors; its diagnostics are already on
/// stderr. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{reference} has errors (see above)")]
pub struct EvalFailed {
    pub reference: EnvRef,
}

/// What every command starts from.
pub struct App {
    pub paths: Paths,
    pub default_org: String,
    pub store: Box<dyn Store>,
    /// Which backend each org is in.
    pub backends: Resolver,
    /// Decrypts secrets for every evaluation and encrypts them on save.
    pub keyring: crate::secrets::Keyring,
}

impl App {
    pub fn from_env() -> Result<App> {
        let paths = Paths::from_env()?;
        let default_org = reference::default_org(&paths.config_file())?;
        let store = Box::new(LocalStore::new(paths.store_dir()));
        let backends = Resolver::new(
            &paths.config_file(),
            &paths.store_dir(),
            crate::cloud::login::Env::process(),
        )?;
        let keyring = crate::secrets::Keyring::new(paths.config_dir());
        Ok(App {
            paths,
            default_org,
            store,
            backends,
            keyring,
        })
    }

    pub fn reference(&self, s: &str) -> Result<EnvRef> {
        Ok(EnvRef::parse(s, &self.default_org)?)
    }

    /// Evaluates `source` as the definition of `env` (which need not be
    /// saved yet: `env edit` checks an edit this way).
    pub fn evaluate(&self, env: &EnvRef, source: &[u8]) -> Evaluated {
        let loader = StoreLoader::new(self.store.as_ref(), &env.org);
        self.evaluate_with(&env.short_name(), env, source, &loader)
    }

    /// The same with a loader of the caller's (the hook records which
    /// definition files were read) and the environment's name for diagnostics.
    pub fn evaluate_with(
        &self,
        name: &str,
        env: &EnvRef,
        source: &[u8],
        loader: &dyn lang::Loader,
    ) -> Evaluated {
        let providers = crate::providers::builtin();
        let options = lang::Options {
            providers: &providers,
            decrypter: Some(&self.keyring),
            context: context(&env.org),
        };
        lang::evaluate(name, source, loader, &options)
    }

    /// `definition` with its plaintext secrets encrypted for `env`'s
    /// recipients (see [`crate::secrets`]), ready to be saved.
    pub fn seal(
        &self,
        env: &EnvRef,
        definition: &[u8],
        revealed: &crate::secrets::Revealed,
    ) -> Result<Vec<u8>> {
        sealing::seal_in_store(self, env, definition, revealed)
    }

    /// Prints diagnostics on stderr as `file:line:col: severity: message`,
    /// with the file a path the user can open.
    pub fn print_diagnostics(&self, env: &EnvRef, diagnostics: &[Diagnostic]) {
        let loader = StoreLoader::new(self.store.as_ref(), &env.org);
        let locator = self.locator(
            &loader,
            &env.short_name(),
            self.store.location(env),
            diagnostics,
        );
        let mut err = io::stderr().lock();
        for d in diagnostics {
            let _ = writeln!(err, "{}", locator.locate(d));
        }
    }

    fn locator(
        &self,
        loader: &StoreLoader,
        root_name: &str,
        root_location: String,
        diagnostics: &[Diagnostic],
    ) -> Locator {
        let resolved = diagnostics
            .iter()
            .filter_map(|d| d.file.clone())
            .filter(|n| n != root_name)
            .map(|n| {
                let l = loader.location_of(&n);
                (n, l)
            })
            .collect();
        Locator {
            root_name: root_name.to_string(),
            root_location,
            resolved,
        }
    }

    /// Opens `env` from the store, recording what it reads (the hook's
    /// cache and `run --watch` use the record).
    pub fn open_recorded(&self, env: &EnvRef) -> Recorded {
        let root = self.store.watch_path(env);
        let location = self.store.location(env);
        let read = self.store.read(env);
        let mut sources: Vec<Source> = root
            .iter()
            .map(|p| Source::read_as(p, read.as_ref().ok().map(Vec::as_slice)))
            .collect();
        let recording = Recording::new(StoreLoader::new(self.store.as_ref(), &env.org));
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                return Recorded {
                    evaluated: Err(e),
                    sources,
                    locate: self.locator(recording.loader(), &env.short_name(), location, &[]),
                }
            }
        };
        let evaluated = self.evaluate_with(&env.short_name(), env, &bytes, &recording);
        let locate = self.locator(
            recording.loader(),
            &env.short_name(),
            location,
            &evaluated.diagnostics,
        );
        sources.extend(recording.into_sources());
        Recorded {
            evaluated: Ok(evaluated),
            sources,
            locate,
        }
    }

    /// Evaluates a project's own definition (`file:` in an `.escrc`), the
    /// `bytes` read from `path`. It belongs to no org: it may import
    /// `org/project/env`, and shorter names resolve in the default org.
    pub fn evaluate_project_file(&self, path: &std::path::Path, bytes: &[u8]) -> Recorded {
        let name = path.display().to_string();
        let env = EnvRef::parse("default/project", &self.default_org)
            .unwrap_or_else(|_| EnvRef::parse("local/default/project", "local").expect("valid"));
        let recording =
            Recording::new(StoreLoader::orgless(self.store.as_ref(), &self.default_org));
        let refusing = located::LocalImports {
            inner: &recording,
            app: self,
        };
        let evaluated = self.evaluate_with(&name, &env, bytes, &refusing);
        let locate = self.locator(
            recording.loader(),
            &name,
            name.clone(),
            &evaluated.diagnostics,
        );
        let mut sources = vec![Source::read_as(path, Some(bytes))];
        sources.extend(recording.into_sources());
        Recorded {
            evaluated: Ok(evaluated),
            sources,
            locate,
        }
    }

    /// Loads and evaluates `env`; prints its diagnostics; fails with
    /// [`EvalFailed`] when any is an error. An empty definition is an empty
    /// object.
    pub fn open(&self, env: &EnvRef) -> Result<Value> {
        let loader = StoreLoader::new(self.store.as_ref(), &env.org);
        let evaluated = self.open_with(env, &loader)?;
        Ok(evaluated.value.unwrap_or_else(|| Value::object([])))
    }

    /// [`App::open`] through the caller's loader, keeping the whole
    /// evaluation (its expiry).
    pub fn open_with(&self, env: &EnvRef, loader: &dyn lang::Loader) -> Result<Evaluated> {
        let source = self.store.read(env)?;
        let evaluated = self.evaluate_with(&env.short_name(), env, &source, loader);
        self.check(env, &evaluated)?;
        Ok(evaluated)
    }

    /// Prints the diagnostics of an evaluation; errors make it fail.
    pub fn check(&self, env: &EnvRef, evaluated: &Evaluated) -> Result<()> {
        self.print_diagnostics(env, &evaluated.diagnostics);
        if evaluated.has_errors() {
            return Err(EvalFailed {
                reference: env.clone(),
            }
            .into());
        }
        Ok(())
    }
}

/// The project whose `.escrc` applies to `dir` (a directory or an
/// `.escrc` file; the current directory by default).
pub fn project_for(dir: Option<&std::path::Path>) -> Result<Project> {
    let start = start_dir(dir)?;
    match Project::find(&start) {
        Some(found) => Ok(found?),
        None => anyhow::bail!(
            "no {} in {} or its parents: create one naming an environment, e.g. `echo acme/app/dev > .escrc`",
            rc::FILE_NAME,
            printable::line(&start.display().to_string())
        ),
    }
}

/// The resolved directory to search from.
fn start_dir(dir: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    let start = match dir {
        Some(d) => std::fs::canonicalize(d).with_context(|| {
            format!("cannot open {}", printable::line(&d.display().to_string()))
        })?,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    // `escsh allow path/to/.escrc`: the directory it is in. (Canonicalizing
    // resolved a symlinked `.escrc` to its target: name the link's directory.)
    if let Some(d) = dir.filter(|d| d.file_name() == Some(rc::FILE_NAME.as_ref())) {
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty());
        return Ok(std::fs::canonicalize(
            parent.unwrap_or(std::path::Path::new(".")),
        )?);
    }
    Ok(start)
}

/// The project's own definition, as checked, if the project is allowed.
pub fn allowed_definition(app: &App, project: &Project) -> Result<Option<Vec<u8>>> {
    use crate::hook::project::Standing;
    let trust = crate::hook::trust::TrustStore::new(&app.paths.trust_dir());
    let shown = printable::line(&project.rc.path.display().to_string()).into_owned();
    match project.standing(&trust)? {
        Standing::Allowed { definition } => Ok(definition),
        Standing::Denied => anyhow::bail!("{shown} is denied: run 'escsh allow' first"),
        Standing::NotAllowed { .. } => {
            anyhow::bail!("{shown} is not allowed: run 'escsh allow' first")
        }
    }
}

/// Tells every shell to look again; a failure is a warning, not an error:
/// shells also watch the trust records themselves.
pub fn bump_generation_or_warn(app: &App) {
    if let Err(e) = crate::hook::decide::bump_generation(&app.paths) {
        eprintln!(
            "escsh: warning: cannot tell other shells to look again ({e}); they will at their next change of directory"
        );
    }
}

/// The value at `path` in `top`; a missing one is null, with a warning on
/// stderr so that stdout stays parseable.
pub fn value_at(env: &EnvRef, top: Value, path: &[Accessor]) -> Value {
    access::lookup(&top, path).unwrap_or_else(|| {
        eprintln!(
            "escsh: warning: {env} has no value at {}",
            interp::path_string(path)
        );
        Value::null()
    })
}

/// `${context.*}` as Pulumi Cloud provides it: the user and the org.
fn context(org: &str) -> Value {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    let login = |s: &str| Value::object([("login".to_string(), Value::string(s))]);
    Value::object([(
        "pulumi".to_string(),
        Value::object([
            ("user".to_string(), login(&user)),
            ("organization".to_string(), login(org)),
        ]),
    )])
}

/// Writes `text` to stdout, adding the final newline if missing.
pub fn print_text(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The JSON form escsh prints: 2-space indent, keys sorted.
pub fn to_json_text(v: &Value, redact: bool) -> String {
    // Serializing a serde_json::Value cannot fail.
    serde_json::to_string_pretty(&v.to_json(redact)).unwrap_or_default()
}

/// Asks a yes/no question on the terminal; only call when stdin is one.
pub fn confirm(question: &str) -> Result<bool> {
    let answer = prompt(&format!("{question} [y/N] "))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Prints `question` on stderr and reads one line from stdin.
pub fn prompt(question: &str) -> Result<String> {
    let mut err = io::stderr();
    err.write_all(question.as_bytes())?;
    err.flush()?;
    let mut line = String::new();
    io::stdin()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(line)
}
