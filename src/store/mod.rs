//! Where environment definitions live. The evaluator never sees a store: it
//! gets definitions through [`StoreLoader`], so another backend (Pulumi
//! Cloud, an org mapped to a remote service) only has to implement [`Store`].

pub mod local;

pub use local::LocalStore;

use std::cell::RefCell;
use std::path::PathBuf;

use crate::lang::{LoadError, Loader};
use crate::reference::EnvRef;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("environment {reference} not found ({location}); create it with `escsh env init {reference}`")]
    NotFound { reference: EnvRef, location: String },
    #[error("environment {reference} already exists ({location})")]
    AlreadyExists { reference: EnvRef, location: String },
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
}

/// Lets the evaluator load imports and `${environments.project.env}`
/// references. Names resolve inside `org`, the org of the environment being
/// opened, as in ESC.
pub struct StoreLoader<'a> {
    store: &'a dyn Store,
    org: String,
}

impl<'a> StoreLoader<'a> {
    pub fn new(store: &'a dyn Store, org: &str) -> StoreLoader<'a> {
        StoreLoader {
            store,
            org: org.to_string(),
        }
    }

    /// What the evaluator's environment name `name` refers to, if anything.
    pub fn resolve(&self, name: &str) -> Option<EnvRef> {
        EnvRef::parse_import(name, &self.org).ok()
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
        let env =
            EnvRef::parse_import(name, &self.org).map_err(|e| LoadError::Other(e.to_string()))?;
        match self.store.read(&env) {
            Ok(bytes) => Ok(bytes),
            Err(StoreError::NotFound { location, .. }) => Err(LoadError::NotFound {
                name: name.to_string(),
                hint: Some(format!(
                    "no {location}; create it with `escsh env init {env}`"
                )),
            }),
            Err(e) => Err(LoadError::Other(e.to_string())),
        }
    }
}

/// A [`StoreLoader`] that remembers the location of every definition it was
/// asked for (found or not), so that callers can fingerprint or watch the
/// files an evaluation depended on.
pub struct Recording<'a> {
    inner: StoreLoader<'a>,
    locations: RefCell<Vec<PathBuf>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: StoreLoader<'a>) -> Recording<'a> {
        Recording {
            inner,
            locations: RefCell::default(),
        }
    }

    /// The locations asked for, in order.
    pub fn into_locations(self) -> Vec<PathBuf> {
        self.locations.into_inner()
    }
}

impl Loader for Recording<'_> {
    fn load(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        self.locations
            .borrow_mut()
            .push(PathBuf::from(self.inner.location_of(name)));
        self.inner.load(name)
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
