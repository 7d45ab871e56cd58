//! escsh: Pulumi ESC environments in the shell.
//!
//! Data flows one way: a reference names a definition in a [`store`], the
//! [`lang`] evaluator turns it into a [`lang::Value`] (calling [`providers`]
//! only when it meets `fn::open`), [`projection`] picks the variables and
//! files, and the consumers (`open`, `run`, the shell hook) render them.

pub mod access;
pub mod agent;
pub mod backend;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod digest;
pub mod duration;
pub mod fsutil;
pub mod hook;
pub mod lang;
pub mod paths;
pub mod printable;
pub mod projection;
pub mod providers;
pub mod redact;
pub mod reference;
pub mod run;
pub mod secrets;
pub mod shell;
pub mod store;
pub mod sweep;
pub mod time;
