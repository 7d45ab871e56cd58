//! Where environment definitions live. The evaluator never sees a store: it
//! gets definitions through [`StoreLoader`], so another backend (Pulumi
//! Cloud, an org mapped to a remote service) only has to implement [`Store`].

pub mod local;

pub use local::LocalStore;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::lang::{LoadError, Loader};
use crate::reference::EnvRef;

/// The largest definition read (the language's own input limit), checked
/// before reading: store definitions, imports and project definitions.
pub const MAX_DEFINITION: u64 = crate::lang::syntax::MAX_SIZE as u64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("environment {reference} not found ({location}); create it with `escsh env init {reference}`")]
    NotFound { reference: EnvRef, location: String },
    #[error("environment {reference} already exists ({location})")]
    AlreadyExists { reference: EnvRef, location: String },
    #[error(transparent)]
    Unreadable(#[from] crate::fsutil::ReadError),
    /// From `fsutil`, whose errors already say what and where.
    #[error(transparent)]
    Write(std::io::Error),
    #[error("{action} {location}: {source}")]
    Io {
        action: &'static str,
        location: String,
        #[source]
        source: std::io::Error,
    },
}

/// Definitions by reference. Implementations decide what a location is (a
/// file path for the local store); callers show it so users can find the
/// definition.
pub trait Store {
    fn read(&self, env: &EnvRef) -> Result<Vec<u8>, StoreError>;
    /// Replaces (or creates) a definition atomically.
    fn write(&self, env: &EnvRef, definition: &[u8]) -> Result<(), StoreError>;
    /// Creates a definition; fails with `AlreadyExists` rather than replace one.
    fn create(&self, env: &EnvRef, definition: &[u8]) -> Result<(), StoreError>;
    fn remove(&self, env: &EnvRef) -> Result<(), StoreError>;
    /// Every environment, sorted.
    fn list(&self) -> Result<Vec<EnvRef>, StoreError>;
    /// Where the definition of `env` is, for messages.
    fn location(&self, env: &EnvRef) -> String;
    /// The file whose change (or appearance) changes `env`'s definition,
    /// for the hook and `run --watch`; `None` for a store that is not
    /// files (its callers then re-open on their deadline instead).
    fn watch_path(&self, env: &EnvRef) -> Option<PathBuf>;
}

/// Lets the evaluator load imports and `${environments.project.env}`
/// references. Names resolve inside `org`, the org of the environment being
/// opened, as in ESC.
pub struct StoreLoader<'a> {
    store: &'a dyn Store,
    org: String,
    /// A project's own definition (`file:` in an `.escrc`) belongs to no
    /// org: it may name `org/project/env`, and shorter names resolve in
    /// the default org.
    orgless: bool,
}

impl<'a> StoreLoader<'a> {
    pub fn new(store: &'a dyn Store, org: &str) -> StoreLoader<'a> {
        StoreLoader {
            store,
            org: org.to_string(),
            orgless: false,
        }
    }

    /// The loader of a definition outside the store; `default_org` is the
    /// user's `defaultOrg`.
    pub fn orgless(store: &'a dyn Store, default_org: &str) -> StoreLoader<'a> {
        StoreLoader {
            store,
            org: default_org.to_string(),
            orgless: true,
        }
    }

    /// What the evaluator's environment name `name` refers to, if anything.
    pub fn resolve(&self, name: &str) -> Option<EnvRef> {
        self.parse(name).ok()
    }

    fn parse(&self, name: &str) -> Result<EnvRef, crate::reference::RefError> {
        if self.orgless {
            EnvRef::parse(name, &self.org)
        } else {
            EnvRef::parse_import(name, &self.org)
        }
    }

    /// The location of `name` (e.g. the YAML file), for diagnostics; the name
    /// itself when it does not name a valid environment.
    pub fn location_of(&self, name: &str) -> String {
        match self.resolve(name) {
            Some(r) => self.store.location(&r),
            None => name.to_string(),
        }
    }
}

impl Loader for StoreLoader<'_> {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        let env = self
            .parse(name)
            .map_err(|e| LoadError::Other(e.to_string()))?;
        match self.store.read(&env) {
            Ok(bytes) => Ok(bytes),
            Err(StoreError::NotFound { location, .. }) => {
                let mut hint = format!("no {location}; create it with `escsh env init {env}`");
                if self.orgless && name.matches('/').count() < 2 {
                    hint.push_str(&format!(
                        ", or name another org as org/project/env (a name without an org \
                         resolves in your defaultOrg, `{}`)",
                        self.org
                    ));
                }
                Err(LoadError::NotFound {
                    name: name.to_string(),
                    hint: Some(hint),
                })
            }
            Err(e) => Err(LoadError::Other(e.to_string())),
        }
    }
}

/// A definition an evaluation read (or looked for: an empty hash means it
/// was not there), as it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub path: PathBuf,
    pub sha256: String,
}

impl Source {
    /// The source `path` as read: `bytes`, or `None` when it was not found.
    pub fn read_as(path: &Path, bytes: Option<&[u8]>) -> Source {
        Source {
            path: path.to_path_buf(),
            sha256: bytes.map(crate::digest::sha256_hex).unwrap_or_default(),
        }
    }

    /// The source `path` as it is now.
    pub fn current(path: &Path) -> Source {
        let bytes =
            crate::fsutil::read_checked(path, MAX_DEFINITION, crate::fsutil::Trusting::Any).ok();
        Source::read_as(path, bytes.as_deref())
    }
}

/// A [`StoreLoader`] that remembers every definition it was asked for
/// (found or not) with the hash of the bytes it handed out, so callers can
/// cache what an evaluation depended on and watch it for changes.
pub struct Recording<'a> {
    inner: StoreLoader<'a>,
    read: RefCell<Vec<Source>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: StoreLoader<'a>) -> Recording<'a> {
        Recording {
            inner,
            read: RefCell::default(),
        }
    }

    /// The loader it records for (to name locations).
    pub fn loader(&self) -> &StoreLoader<'a> {
        &self.inner
    }

    /// The definitions read, in order, as they were read.
    pub fn into_sources(self) -> Vec<Source> {
        self.read.into_inner()
    }

    /// The locations asked for, in order.
    pub fn into_locations(self) -> Vec<PathBuf> {
        self.into_sources().into_iter().map(|s| s.path).collect()
    }
}

impl Loader for Recording<'_> {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        let result = self.inner.load(name);
        let watched = self
            .inner
            .resolve(name)
            .and_then(|env| self.inner.store.watch_path(&env));
        if let Some(path) = watched {
            self.read
                .borrow_mut()
                .push(Source::read_as(&path, result.as_deref().ok()));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_resolves_inside_the_org() {
        let d = tempfile::tempdir().unwrap();
        let store = LocalStore::new(d.path().to_path_buf());
        let base = EnvRef::parse("acme/proj/base", "local").unwrap();
        let legacy = EnvRef::parse("acme/default/legacy", "local").unwrap();
        store.write(&base, b"values: {a: 1}\n").unwrap();
        store.write(&legacy, b"values: {b: 2}\n").unwrap();
        let loader = StoreLoader::new(&store, "acme");
        assert_eq!(loader.load("proj/base").unwrap(), b"values: {a: 1}\n");
        assert_eq!(loader.load("legacy").unwrap(), b"values: {b: 2}\n");
        match loader.load("proj/missing") {
            Err(LoadError::NotFound { name, hint }) => {
                assert_eq!(name, "proj/missing");
                assert!(hint.unwrap().contains("escsh env init acme/proj/missing"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(loader.load("../../etc"), Err(LoadError::Other(_))));
        assert!(matches!(
            loader.load("other/proj/base"),
            Err(LoadError::Other(_))
        ));
    }
}
