//! The commands, one file each, and what they share: finding the store,
//! parsing references, and opening (evaluating) an environment.

pub mod env;
pub mod env_edit;
pub mod env_set;
pub mod hook;
pub mod open;
pub mod run;

use std::io::{self, Write};

use anyhow::{Context as _, Result};

use crate::access::{self, Accessor};
use crate::lang::{self, interp, Diagnostic, Evaluated, Value};
use crate::paths::Paths;
use crate::reference::{self, EnvRef};
use crate::store::{LocalStore, Store, StoreLoader};

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
}

impl App {
    pub fn from_env() -> Result<App> {
        let paths = Paths::from_env()?;
        let default_org = reference::default_org(&paths.config_file())?;
        let store = Box::new(LocalStore::new(paths.store_dir()));
        Ok(App {
            paths,
            default_org,
            store,
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
            decrypter: None,
            context: context(&env.org),
        };
        lang::evaluate(name, source, loader, &options)
    }

    /// Prints diagnostics on stderr as `file:line:col: severity: message`,
    /// with the file a path the user can open.
    pub fn print_diagnostics(&self, env: &EnvRef, diagnostics: &[Diagnostic]) {
        let loader = StoreLoader::new(self.store.as_ref(), &env.org);
        let mut err = io::stderr().lock();
        for d in diagnostics {
            let mut d = d.clone();
            d.file = Some(match &d.file {
                Some(name) => loader.location_of(name),
                None => self.store.location(env),
            });
            let _ = writeln!(err, "{d}");
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
