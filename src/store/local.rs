//! The local store: one YAML file per environment,
//! `<root>/<org>/<project>/<env>.yaml`, private (0700 dirs, 0600 files) and
//! replaced atomically.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Store, StoreError};
use crate::fsutil;
use crate::reference::EnvRef;

const EXT: &str = "yaml";

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    /// The definition file. `EnvRef` parts are validated path components, so
    /// this never leaves `root`.
    pub fn path(&self, env: &EnvRef) -> PathBuf {
        self.root
            .join(&env.org)
            .join(&env.project)
            .join(format!("{}.{EXT}", env.env))
    }

    fn io(&self, action: &'static str, path: &Path, source: io::Error) -> StoreError {
        StoreError::Io {
            action,
            location: path.display().to_string(),
            source,
        }
    }

    fn ensure_parent(&self, path: &Path) -> Result<(), StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        fsutil::create_private_dir_all(dir).map_err(StoreError::Write)
    }

    fn not_found(&self, env: &EnvRef) -> StoreError {
        StoreError::NotFound {
            reference: env.clone(),
            location: self.location(env),
        }
    }
}

impl Store for LocalStore {
    fn read(&self, env: &EnvRef) -> Result<Vec<u8>, StoreError> {
        let path = self.path(env);
        fsutil::read_checked(&path, super::MAX_DEFINITION, fsutil::Trusting::Any).map_err(|e| {
            if e.is_not_found() {
                self.not_found(env)
            } else {
                StoreError::Unreadable(e)
            }
        })
    }

    fn write(&self, env: &EnvRef, definition: &[u8]) -> Result<(), StoreError> {
        let path = self.path(env);
        self.ensure_parent(&path)?;
        fsutil::write_atomic(&path, definition).map_err(StoreError::Write)
    }

    fn create(&self, env: &EnvRef, definition: &[u8]) -> Result<(), StoreError> {
        let path = self.path(env);
        self.ensure_parent(&path)?;
        // Write the content under a temp name first, then link it into place:
        // hard_link fails if the target exists, so two concurrent `init`s
        // cannot clobber each other and nobody sees a half-written file.
        let mut tmp = tempfile::Builder::new()
            .prefix(".escsh-")
            .suffix(".tmp")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(path.parent().unwrap_or(&self.root))
            .map_err(|e| self.io("creating", &path, e))?;
        tmp.write_all(definition)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.io("writing", &path, e))?;
        match fs::hard_link(tmp.path(), &path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(StoreError::AlreadyExists {
                reference: env.clone(),
                location: self.location(env),
            }),
            Err(e) => Err(self.io("creating", &path, e)),
        }
    }

    fn remove(&self, env: &EnvRef) -> Result<(), StoreError> {
        let path = self.path(env);
        fs::remove_file(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => self.not_found(env),
            _ => self.io("removing", &path, e),
        })?;
        // Tidy up emptied project and org directories; failing (not empty,
        // raced) is fine.
        if let Some(project_dir) = path.parent() {
            if fs::remove_dir(project_dir).is_ok() {
                if let Some(org_dir) = project_dir.parent() {
                    let _ = fs::remove_dir(org_dir);
                }
            }
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<EnvRef>, StoreError> {
        let mut out = Vec::new();
        for org in subdirs(&self.root).map_err(|e| self.io("listing", &self.root, e))? {
            let org_dir = self.root.join(&org);
            for project in subdirs(&org_dir).map_err(|e| self.io("listing", &org_dir, e))? {
                let dir = org_dir.join(&project);
                let entries = fs::read_dir(&dir).map_err(|e| self.io("listing", &dir, e))?;
                for entry in entries {
                    let entry = entry.map_err(|e| self.io("listing", &dir, e))?;
                    let path = entry.path();
                    if path.extension().and_then(|e| e.to_str()) != Some(EXT) {
                        continue;
                    }
                    let Some(env) = path.file_stem().and_then(|s| s.to_str()) else {
                        continue;
                    };
                    // Stray files whose names are no valid reference (editor
                    // backups, temp files) are not environments.
                    if let Ok(r) = EnvRef::parse(&format!("{org}/{project}/{env}"), &org) {
                        out.push(r);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn location(&self, env: &EnvRef) -> String {
        self.path(env).display().to_string()
    }

    fn watch_path(&self, env: &EnvRef) -> Option<PathBuf> {
        Some(self.path(env))
    }
}

/// Names of the subdirectories of `dir` (none when `dir` does not exist).
fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if let Some(name) = entry.file_name().to_str() {
                out.push(name.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> EnvRef {
        EnvRef::parse(s, "local").unwrap()
    }

    #[test]
    fn roundtrip_list_remove() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path().join("environments"));
        assert!(s.list().unwrap().is_empty());
        s.create(&r("p/b"), b"values: {}\n").unwrap();
        s.write(&r("a"), b"x").unwrap();
        assert!(matches!(
            s.create(&r("p/b"), b"other"),
            Err(StoreError::AlreadyExists { .. })
        ));
        assert_eq!(s.read(&r("p/b")).unwrap(), b"values: {}\n");
        let names: Vec<String> = s.list().unwrap().iter().map(|r| r.to_string()).collect();
        assert_eq!(names, ["local/default/a", "local/p/b"]);
        let path = s.path(&r("p/b"));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let dir = path.parent().unwrap();
        assert_eq!(
            fs::metadata(dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        s.remove(&r("p/b")).unwrap();
        assert!(matches!(
            s.read(&r("p/b")),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            s.remove(&r("p/b")),
            Err(StoreError::NotFound { .. })
        ));
        // Only the definition itself is left in the project dir after a create.
        assert_eq!(
            fs::read_dir(s.path(&r("a")).parent().unwrap())
                .unwrap()
                .count(),
            1
        );
    }
}
