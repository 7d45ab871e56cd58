//! The input shape `aws-secrets` and `aws-parameter-store` share:
//! `{region?, login?, get: {name: {...}}}`, and their all-secret output.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use aws_config::SdkConfig;

use super::creds::Source;
use super::inputs::Object;
use super::sdk::{self, Call, Identity, Service, Target};
use super::Settings;
use crate::lang::{Opened, ProviderError, Value};

/// Validated inputs and a loaded SDK configuration.
pub struct Fetch<'a> {
    /// `get`'s entries: the output name and its request object.
    pub entries: Vec<(&'a str, Object<'a>)>,
    pub config: SdkConfig,
    pub endpoint: String,
    /// Whether the calls are signed with the standard chain's credentials
    /// (no `login` given).
    pub from_chain: bool,
}

impl Fetch<'_> {
    /// Describes the calls to `name` (e.g. "SSM GetParameter") of
    /// `provider`, for messages.
    pub fn call<'a>(&'a self, provider: &'a str, name: &'a str) -> Call<'a> {
        Call {
            name,
            endpoint: self.endpoint.clone(),
            credentials: self.from_chain.then_some(Source {
                needed_by: provider,
                profile: None,
            }),
        }
    }
}

/// Checks the inputs (each `get` entry may only use `entry_keys`) and loads
/// the SDK configuration. Without `login`, credentials come from the
/// standard AWS chain, as for `aws-login`'s `assumeRole` (an escsh
/// extension; ESC requires `login`).
pub async fn prepare<'a>(
    provider: &'static str,
    inputs: &'a Value,
    settings: &Settings,
    service: Service,
    entry_keys: &[&str],
) -> Result<Fetch<'a>, ProviderError> {
    let root = Object::root(provider, inputs)?;
    root.only(&["region", "login", "get"])?;
    let entries = root.required_object("get")?.objects()?;
    if entries.is_empty() {
        return Err(root.error("get", "is empty: name at least one value to fetch"));
    }
    for (_, entry) in &entries {
        entry.only(entry_keys)?;
    }
    let login = root.object("login")?;
    let from_chain = login.is_none();
    let identity = match login {
        Some(login) => Identity::from_login(&login)?,
        None => Identity::Chain { profile: None },
    };
    let config = sdk::load(
        settings,
        Target {
            provider,
            region: root.string("region")?,
            default_region: None,
            identity,
        },
    )
    .await?;
    let endpoint = sdk::endpoint(settings, service, &config);
    Ok(Fetch {
        entries,
        config,
        endpoint,
        from_chain,
    })
}

/// The output object: every value fetched is secret.
pub fn output(values: Vec<(String, Value)>) -> Opened {
    let mut value = Value::object(values);
    value.deep_secret();
    // The names are the definition's own, not secret.
    value.secret = false;
    Opened::from(value)
}

/// Runs the requests side by side (one per `get` entry) and returns their
/// results in order: a dozen values cost one round trip, not twelve.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_all_keeps_order() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let futures = [30u64, 10, 20]
            .into_iter()
            .map(|ms| async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                ms
            })
            .collect();
        let started = std::time::Instant::now();
        assert_eq!(runtime.block_on(join_all(futures)), vec![30, 10, 20]);
        assert!(started.elapsed() < std::time::Duration::from_millis(55));
    }
}
