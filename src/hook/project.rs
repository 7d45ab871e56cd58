//! A project: the `.escrc` that applies to a directory, what it asks for,
//! and whether the user allowed it. Every command that acts on a project
//! (`export`, `allow`, `deny`, `reload`, `refresh`, `status`) starts here,
//! so the bytes checked for trust are the bytes that are evaluated and
//! hashed for the cache: each file is read once, into memory.

use std::path::{Path, PathBuf};

use super::cache::{Cache, Source};
use super::rc::{self, BadRc, RcError, RcFile, Settings, Target};
use super::trust::{sha256_hex, RcTrust, TrustStore};
use crate::fsutil::{self, ReadError, Trusting};

#[derive(Debug)]
pub struct Project {
    pub rc: RcFile,
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Bad(#[from] BadRc),
    #[error(transparent)]
    Parse(#[from] RcError),
}

impl ProjectError {
    /// The `.escrc` that is in error (it still applies to its directory).
    pub fn path(&self) -> PathBuf {
        match self {
            ProjectError::Bad(b) => b.path.clone(),
            ProjectError::Parse(p) => PathBuf::from(&p.path),
        }
    }
}

/// The answer of [`Project::standing`].
#[derive(Debug)]
pub enum Standing {
    Denied,
    /// Not allowed as it is; `id` names the content, to say so once.
    /// `rc_allowed`: the `.escrc` is, its definition changed since.
    NotAllowed {
        id: String,
        rc_allowed: bool,
    },
    /// Allowed; for a `file:` target, the definition's bytes as checked.
    Allowed {
        definition: Option<Vec<u8>>,
    },
}

impl Project {
    /// The project that applies to `dir` (absolute, symlinks resolved), if any.
    pub fn find(dir: &Path) -> Option<Result<Project, ProjectError>> {
        Some(
            rc::find(dir)?
                .map_err(ProjectError::from)
                .and_then(Project::parse),
        )
    }

    /// The project of exactly the `.escrc` at `path` (for a refresh, which
    /// must not wander to a parent's when the file is gone).
    pub fn at(path: &Path) -> Result<Project, ProjectError> {
        let content =
            fsutil::read_checked(path, rc::MAX_SIZE, Trusting::Any).map_err(|error| BadRc {
                path: path.to_path_buf(),
                error,
            })?;
        Project::parse(RcFile {
            path: path.to_path_buf(),
            content,
        })
    }

    /// A project of a store reference alone, as `run --aws-endpoint` and
    /// `aws credential-process` open it: no `.escrc` (its path is empty),
    /// so nothing to trust, and the same cache entry as a project naming
    /// the same reference.
    pub fn for_reference(reference: &str) -> Project {
        Project {
            rc: RcFile {
                path: PathBuf::new(),
                content: Vec::new(),
            },
            settings: Settings {
                target: Target::Reference(reference.to_string()),
                refresh: None,
                unsafe_vars: Vec::new(),
                aws: None,
            },
        }
    }

    fn parse(rc: RcFile) -> Result<Project, ProjectError> {
        let settings = rc::parse(&rc)?;
        Ok(Project { rc, settings })
    }

    /// What the project loads, as messages and the cache name it.
    pub fn target_name(&self) -> String {
        target_name(&self.settings.target)
    }

    pub fn cache_key(&self) -> String {
        Cache::key(&self.target_name())
    }

    /// The project's own definition file, if it names one.
    pub fn definition_path(&self) -> Option<&Path> {
        match &self.settings.target {
            Target::File(p) => Some(p),
            Target::Reference(_) => None,
        }
    }

    /// Reads the project's own definition, checked (a regular file within
    /// the size limit, opened without blocking).
    pub fn read_definition(&self) -> Result<Option<Vec<u8>>, ReadError> {
        self.definition_path()
            .map(|p| fsutil::read_checked(p, crate::store::MAX_DEFINITION, Trusting::Any))
            .transpose()
    }

    /// Whether the user allowed this project as it is. The definition a
    /// `file:` line names is opened only once the `.escrc` itself is
    /// allowed, and the bytes returned are the ones compared.
    pub fn standing(&self, trust: &TrustStore) -> Result<Standing, ReadError> {
        match trust.status(&self.rc) {
            RcTrust::Denied => Ok(Standing::Denied),
            RcTrust::NotAllowed => Ok(Standing::NotAllowed {
                id: TrustStore::content_id(&self.rc, None),
                rc_allowed: false,
            }),
            RcTrust::Allowed { definition: hash } => {
                let definition = self.read_definition()?;
                let actual = definition.as_deref().map(sha256_hex);
                if actual == hash {
                    Ok(Standing::Allowed { definition })
                } else {
                    Ok(Standing::NotAllowed {
                        id: TrustStore::content_id(&self.rc, actual.as_deref()),
                        rc_allowed: true,
                    })
                }
            }
        }
    }

    /// The sources the caller holds for this project: its own definition
    /// as read for the trust check.
    pub fn held(&self, definition: Option<&[u8]>) -> Vec<Source> {
        match (self.definition_path(), definition) {
            (Some(p), Some(bytes)) => vec![Source::read_as(p, Some(bytes))],
            _ => Vec::new(),
        }
    }
}

pub fn target_name(target: &Target) -> String {
    match target {
        Target::Reference(r) => r.clone(),
        Target::File(p) => p.display().to_string(),
    }
}

/// Where a nearer `.escrc` could appear: in each directory from `cwd` up
/// to (not including) `applies`, or up to the root. Watching the files
/// rather than the directories keeps busy directories such as `/tmp` or
/// `$HOME` from waking the hook.
pub fn candidates(cwd: &Path, applies: Option<&Path>) -> Vec<PathBuf> {
    rc::dirs_between(cwd, applies)
        .into_iter()
        .filter(|d| Some(d.as_path()) != applies)
        .map(|d| d.join(rc::FILE_NAME))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(dir: &Path) -> Project {
        Project::find(dir).unwrap().unwrap()
    }

    #[test]
    fn a_symlinked_escrc_is_its_own_project() {
        let home = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(home.path()).unwrap();
        let (a, b) = (root.join("a"), root.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join(".escrc"), "app/dev\n").unwrap();
        std::os::unix::fs::symlink(a.join(".escrc"), b.join(".escrc")).unwrap();
        let trust = TrustStore::new(&root.join("data"));
        trust.allow(&project(&a).rc, None).unwrap();
        assert!(matches!(
            project(&a).standing(&trust),
            Ok(Standing::Allowed { .. })
        ));
        let linked = project(&b);
        assert_eq!(linked.rc.path, b.join(".escrc"));
        assert!(matches!(
            linked.standing(&trust),
            Ok(Standing::NotAllowed { .. })
        ));
    }

    #[test]
    fn nothing_named_is_opened_before_the_escrc_is_allowed() {
        let home = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(home.path()).unwrap();
        let trust = TrustStore::new(&root.join("data"));
        let fifo = root.join("def.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::fs::write(root.join(".escrc"), "file: ./def.yaml\n").unwrap();
        let p = project(&root);
        assert_eq!(p.definition_path(), Some(fifo.as_path()));
        // Not allowed: the FIFO is never opened (opening it would block
        // for a writer without O_NONBLOCK, reading it would wait forever).
        assert!(matches!(
            p.standing(&trust),
            Ok(Standing::NotAllowed { .. })
        ));
        // Allowed (as if it had been a file): a FIFO is refused, not read.
        trust.allow(&p.rc, Some(b"values: {}")).unwrap();
        assert!(matches!(
            p.standing(&trust),
            Err(ReadError::NotRegular { .. })
        ));
        std::fs::remove_file(&fifo).unwrap();
        std::fs::write(&fifo, "values: {}").unwrap();
        match p.standing(&trust) {
            Ok(Standing::Allowed { definition }) => {
                assert_eq!(definition.as_deref(), Some(&b"values: {}"[..]))
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&fifo, "values: {a: 1}").unwrap();
        assert!(matches!(
            p.standing(&trust),
            Ok(Standing::NotAllowed { .. })
        ));
    }

    #[test]
    fn an_escrc_that_is_a_fifo_is_an_error_not_a_hang() {
        let home = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(home.path()).unwrap();
        let child = root.join("child");
        std::fs::create_dir_all(&child).unwrap();
        std::fs::write(root.join(".escrc"), "parent/env\n").unwrap();
        let c = std::ffi::CString::new(child.join(".escrc").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = Project::find(&child).unwrap().unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
