//! The providers the shipped binary offers (`aws-login`, ...). The contracts
//! they implement ([`Provider`], [`Rotator`], [`Registry`], ...) belong to the
//! evaluator in `crate::lang`; they are re-exported here for callers that
//! only deal with providers.

pub use crate::lang::{BoxFuture, Context, Opened, Provider, ProviderError, Registry, Rotator};

pub mod aws;

/// The registry of the shipped binary: only real providers (tests register
/// their own).
pub fn builtin() -> Registry {
    let mut registry = Registry::new();
    aws::register(&mut registry, &aws::Settings::default());
    registry
}
