//! The provider contracts: what `fn::open::<name>` and `fn::rotate::<name>`
//! call, and the registry the evaluator looks names up in.
//!
//! They live beside the evaluator that calls them (as ESC keeps its provider
//! loader beside its evaluator): the `providers` module implements them and
//! depends on this module, never the reverse.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::Value;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider returns.
#[derive(Debug)]
pub struct Opened {
    pub value: Value,
    /// When what was opened stops being valid (Unix seconds), e.g. the
    /// expiry of STS credentials.
    pub expires_at: Option<i64>,
    /// Which output strings are parts of a cloud credential (aws-login's
    /// keys): the front ends find the variables that carry them, however
    /// the definition referenced them, by these.
    pub credentials: Vec<Credential>,
}

impl From<Value> for Opened {
    fn from(value: Value) -> Opened {
        Opened {
            value,
            expires_at: None,
            credentials: Vec::new(),
        }
    }
}

/// The role of one part of an AWS credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CredentialPart {
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
}

impl Credential {
    /// The key strings of an object shaped as `aws-login`'s output
    /// (`accessKeyId`, `secretAccessKey`, and `sessionToken` but for some
    /// static keys).
    pub fn aws_keys(login: &Value) -> Vec<Credential> {
        [
            ("accessKeyId", CredentialPart::AccessKeyId),
            ("secretAccessKey", CredentialPart::SecretAccessKey),
            ("sessionToken", CredentialPart::SessionToken),
        ]
        .into_iter()
        .filter_map(|(key, part)| {
            let value = login.get(key).and_then(Value::as_str)?;
            Some(Credential {
                part,
                value: value.to_string(),
            })
        })
        .collect()
    }
}

/// One output string that is a credential part. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub part: CredentialPart,
    pub value: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({:?})", self.part)
    }
}

/// What a provider may know about the evaluation that opens it.
#[derive(Debug, Clone)]
pub struct Context {
    /// The environment whose definition contains the `fn::open`
    /// (`org/project/env` or whatever name the loader used).
    pub current_environment: String,
    /// The environment that was opened (the root of the evaluation).
    pub root_environment: String,
    /// The property path of the `fn::open` call, for error messages.
    pub path: String,
}

/// A provider failure. The message becomes a diagnostic at the `fn::open`;
/// it must never contain a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

pub trait Provider: Send + Sync {
    /// ESC's JSON-schema dialect for the inputs; `None` accepts anything.
    fn input_schema(&self) -> Option<serde_json::Value> {
        None
    }

    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>>;
}

pub trait Rotator: Send + Sync {
    fn input_schema(&self) -> Option<serde_json::Value> {
        None
    }
    /// The schema of the rotation state itself. A missing state (null) is
    /// always accepted: the evaluator checks against "this schema or null"
    /// (a schema already written that way is used as it is).
    fn state_schema(&self) -> Option<serde_json::Value> {
        None
    }
    /// Properties of the inputs evaluated only during rotation.
    fn rotate_only(&self) -> Vec<String> {
        Vec::new()
    }
    fn open<'a>(
        &'a self,
        inputs: &'a Value,
        state: &'a Value,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Opened, ProviderError>>;
}

/// Name → provider. Cheap to clone.
#[derive(Default, Clone)]
pub struct Registry {
    providers: HashMap<String, Arc<dyn Provider>>,
    rotators: HashMap<String, Arc<dyn Rotator>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn register(&mut self, name: &str, provider: impl Provider + 'static) {
        self.providers.insert(name.to_string(), Arc::new(provider));
    }

    pub fn register_rotator(&mut self, name: &str, rotator: impl Rotator + 'static) {
        self.rotators.insert(name.to_string(), Arc::new(rotator));
    }

    pub fn provider(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(name)
    }

    pub fn rotator(&self, name: &str) -> Option<&Arc<dyn Rotator>> {
        self.rotators.get(name)
    }
}
