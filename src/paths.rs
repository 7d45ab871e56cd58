//! Every per-user location escsh reads or writes.
//!
//! `ESCSH_HOME` puts everything under one directory (tests, portable setups);
//! otherwise the platform directories apply (`~/.config/escsh`,
//! `~/.local/share/escsh`, `~/.cache/escsh`, `$XDG_RUNTIME_DIR/escsh` on Linux).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

/// The variable that relocates every per-user path.
pub const HOME_VAR: &str = "ESCSH_HOME";

#[derive(Debug, Clone)]
pub struct Paths {
    config: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    runtime: PathBuf,
}

impl Paths {
    /// Paths from `ESCSH_HOME` when it is set and not empty, else the platform's.
    pub fn from_env() -> Result<Paths> {
        match std::env::var_os(HOME_VAR) {
            Some(home) if !home.is_empty() => {
                let home = PathBuf::from(home);
                // A relative home would move with the working directory.
                let home = if home.is_absolute() {
                    home
                } else {
                    std::env::current_dir()
                        .context("reading the current directory to resolve ESCSH_HOME")?
                        .join(home)
                };
                Ok(Paths::under(&home))
            }
            _ => Paths::platform(),
        }
    }

    /// Everything below one directory.
    pub fn under(home: &Path) -> Paths {
        Paths {
            config: home.to_path_buf(),
            data: home.to_path_buf(),
            cache: home.join("cache"),
            runtime: home.join("run"),
        }
    }

    fn platform() -> Result<Paths> {
        let Some(dirs) = directories::ProjectDirs::from("", "", "escsh") else {
            bail!("cannot find your home directory; set {HOME_VAR} to a directory escsh may use");
        };
        // Not every system has a runtime dir (macOS, no XDG_RUNTIME_DIR);
        // a private directory in the cache is the next best place.
        let runtime = dirs
            .runtime_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.cache_dir().join("run"));
        Ok(Paths {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
            runtime,
        })
    }

    pub fn config_dir(&self) -> &Path {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Short-lived private files (materialized `files` entries).
    pub fn runtime_dir(&self) -> &Path {
        &self.runtime
    }

    /// The user's settings (`defaultOrg`, ...).
    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.yaml")
    }

    /// The root of the local store: `<config>/environments/<org>/<project>/<env>.yaml`.
    pub fn store_dir(&self) -> PathBuf {
        self.config.join("environments")
    }

    /// Where `open --format dotenv|shell` materializes `files` entries.
    pub fn open_files_dir(&self) -> PathBuf {
        self.runtime.join("files")
    }

    /// Where `run` creates its per-run directory of `files` entries.
    pub fn run_files_dir(&self) -> PathBuf {
        self.runtime.join("run-files")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_puts_everything_below_it() {
        let p = Paths::under(Path::new("/h"));
        assert_eq!(p.store_dir(), Path::new("/h/environments"));
        assert_eq!(p.config_file(), Path::new("/h/config.yaml"));
        assert!(p.runtime_dir().starts_with("/h"));
        assert!(p.cache_dir().starts_with("/h"));
    }
}
