//! Commands name environments that live in the local store or in Pulumi
//! Cloud: [`Located`] says which, and these `App` methods open either.

use std::io::{self, Write};

use anyhow::Result;

use super::{App, EvalFailed};
use crate::backend::Backend;
use crate::cloud::{Cloud, CloudError};
use crate::lang::{self, Value};
use crate::reference::{self, EnvRef};
use crate::store::{Recording, StoreLoader};

/// An environment named on the command line, with where it lives.
pub struct Located {
    pub env: EnvRef,
    /// A revision or tag (cloud environments only).
    pub version: Option<String>,
    pub backend: Backend,
}

impl Located {
    /// `org/project/env[@version]`, as the user named it.
    pub fn name(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.env),
            None => self.env.to_string(),
        }
    }
}

/// An opened environment's value and when it expires.
pub struct OpenedValue {
    pub value: Value,
    pub expires_at: Option<i64>,
}

impl App {
    /// Parses `s` (versions allowed) and finds its backend; a version of
    /// a local environment is refused.
    pub fn locate(&self, s: &str) -> Result<Located> {
        let (env, version) = EnvRef::parse_versioned(s, &self.default_org)?;
        let backend = self.backends.resolve(&env)?;
        if let (Backend::Local, Some(v)) = (&backend, &version) {
            return Err(reference::RefError::Version {
                reference: s.to_string(),
                version: v.clone(),
            }
            .into());
        }
        Ok(Located {
            env,
            version,
            backend,
        })
    }

    /// Fails with a clear refusal when `env` is a Pulumi Cloud environment:
    /// escsh edits only local definitions.
    pub fn local_only(&self, env: &EnvRef, command: &str) -> Result<()> {
        if self.backends.is_local_org(&env.org) {
            return Ok(());
        }
        match self.backends.resolve(env) {
            Ok(Backend::Cloud(login)) => anyhow::bail!(
                "{env} is a Pulumi Cloud environment ({}): escsh does not change those; use \
                 `pulumi env {command} {env}` (or `esc env {command}`)",
                login.url
            ),
            _ => Ok(()),
        }
    }

    /// Opens `loc`: evaluates a local one, asks Pulumi Cloud for a cloud
    /// one. Diagnostics are printed; errors make it fail with [`EvalFailed`].
    pub fn open_located(&self, loc: &Located) -> Result<OpenedValue> {
        match &loc.backend {
            Backend::Local => {
                let loader = StoreLoader::new(self.store.as_ref(), &loc.env.org);
                let evaluated = self.open_with(&loc.env, &loader)?;
                Ok(OpenedValue {
                    value: evaluated.value.unwrap_or_else(|| Value::object([])),
                    expires_at: evaluated.expires_at,
                })
            }
            Backend::Cloud(login) => {
                let opened = self.open_cloud(login, loc)?;
                Ok(OpenedValue {
                    value: opened.value,
                    expires_at: Some(opened.expires_at),
                })
            }
        }
    }

    /// Opens a cloud environment; its diagnostics are printed as local
    /// ones are, and make it fail with [`EvalFailed`] (exit 2).
    pub fn open_cloud(
        &self,
        login: &crate::cloud::login::Login,
        loc: &Located,
    ) -> Result<crate::cloud::Opened> {
        let cloud = Cloud::new(login)?;
        match cloud.open(&loc.env, loc.version.as_deref(), crate::time::now()) {
            Err(CloudError::Invalid { diagnostics, .. }) => {
                let mut err = io::stderr().lock();
                for d in &diagnostics {
                    let _ = writeln!(err, "{d}");
                }
                Err(EvalFailed {
                    reference: loc.env.clone(),
                }
                .into())
            }
            other => Ok(other?),
        }
    }
}

/// A project definition's loader that refuses imports from an org that is
/// not local. escsh decided against importing Pulumi Cloud environments
/// into local definitions: the evaluator takes definitions, and a cloud
/// environment is only available as its opened value, so the import could
/// not be exact.
pub struct LocalImports<'a> {
    pub inner: &'a Recording<'a>,
    pub app: &'a App,
}

impl lang::Loader for LocalImports<'_> {
    fn load(&self, name: &str) -> std::result::Result<Vec<u8>, lang::LoadError> {
        match self.inner.loader().resolve(name) {
            Some(env) if !self.app.backends.is_local_org(&env.org) => {
                Err(lang::LoadError::Other(format!(
                    "{env} is not in the local store, and a local definition cannot import a \
                     Pulumi Cloud environment (escsh gets those only as opened values, so the \
                     import could not be exact); create {env} locally with `escsh env init \
                     {env}`, or use the cloud environment on its own"
                )))
            }
            _ => self.inner.load(name),
        }
    }
}
