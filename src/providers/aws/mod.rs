//! The AWS providers: `aws-login` (STS credentials), `aws-secrets`
//! (Secrets Manager) and `aws-parameter-store` (SSM Parameter Store).
//!
//! Region, endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_STS`, ...) and
//! source credentials come from `aws-config`, so the usual AWS environment
//! variables and profiles apply. See the README's "AWS credentials" section
//! for the inputs.

mod creds;
mod fetch;
mod http;
mod inputs;
mod login;
mod message;
mod parameters;
mod sdk;
mod secrets;
#[cfg(test)]
mod test_server;
mod token;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// The HTTP client escsh's AWS calls go through (rustls on ring, TLS set up
/// only for `https://` URLs), for other code that talks to AWS.
pub use http::client as http_client;
pub use login::AwsLogin;
pub use parameters::AwsParameterStore;
pub use secrets::AwsSecrets;

use crate::lang::{BoxFuture, Opened, ProviderError, Registry, Value};

/// Adds the AWS providers to `registry` under their ESC names.
pub fn register(registry: &mut Registry, settings: &Settings) {
    registry.register("aws-login", AwsLogin::new(settings.clone()));
    registry.register("aws-secrets", AwsSecrets::new(settings.clone()));
    registry.register(
        "aws-parameter-store",
        AwsParameterStore::new(settings.clone()),
    );
}

/// Runs `open` only when every input is known: nothing can be asked of AWS
/// before then, and the result is unknown too.
fn when_known<'a>(
    inputs: &'a Value,
    open: impl Future<Output = Result<Opened, ProviderError>> + Send + 'a,
) -> BoxFuture<'a, Result<Opened, ProviderError>> {
    Box::pin(async move {
        if inputs.contains_unknown() {
            return Ok(Value::unknown().into());
        }
        open.await
    })
}

/// What the providers take from their surroundings besides `aws-config`'s
/// own environment: by default the process environment. Embedders and
/// tests override it instead of mutating the process environment.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Sends every AWS request to this URL, ahead of `AWS_ENDPOINT_URL*`.
    pub endpoint_url: Option<String>,
    /// Where escsh's own variables (`AWS_WEB_IDENTITY_TOKEN_FILE`, the
    /// GitHub Actions token request variables) are read.
    pub env: Env,
}

/// A source of environment variables.
#[derive(Clone, Default)]
pub enum Env {
    #[default]
    Process,
    Fixed(Arc<HashMap<String, String>>),
}

impl Env {
    pub fn fixed<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Env {
        Env::Fixed(Arc::new(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// The variable's value; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            Env::Process => std::env::var(name).ok(),
            Env::Fixed(vars) => vars.get(name).cloned(),
        }
        .filter(|v| !v.is_empty())
    }
}

/// Names only: the values may be tokens.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Env::Process => f.write_str("Env::Process"),
            Env::Fixed(vars) => f.debug_set().entries(vars.keys()).finish(),
        }
    }
}
