//! The shell hook: which `.escrc` applies, whether it is trusted, what to
//! load, and the exact changes that move a shell from what it has to that.

pub mod cache;
pub mod decide;
pub mod diff;
pub mod export;
pub mod fingerprint;
pub mod guard;
pub mod obtain;
pub mod project;
pub mod rc;
pub mod state;
pub mod trust;
