//! The protocol between `escsh export` and the hook scripts in `shells/`,
//! written down once. Every name here is escsh's: the hook refuses to
//! export any of them from an environment (`hook::guard`).
//!
//! The hook script holds, as global variables that are never exported:
//!
//! | variable | holds | set by |
//! |---|---|---|
//! | `__escsh_bin` | the escsh binary to run (quoted absolute path) | `escsh hook` |
//! | [`PWD`] | `$PWD` at the last export | export |
//! | [`STATE`] | `ESCSH_STATE` as the last export left it | export |
//! | [`STAMP`] | this shell's stamp file; watched files newer than it changed | export |
//! | [`PREV`] | the values variables had before escsh set them (base64 JSON) | export |
//! | [`RC`] | the `.escrc` that applied (must keep existing) | export |
//! | [`WATCH`] | files that exist; one newer than the stamp means "look again" | export |
//! | [`ABSENT`] | files that did not exist; one appearing means "look again" | export |
//! | [`DEADLINE`] | Unix time at which to look again (refresh, expiry, retry) | export |
//! | [`TTL`] | the same as seconds after the stamp (fish has no clock) | export |
//!
//! At each prompt the script compares `$PWD`, `ESCSH_STATE`, the clock and
//! the watched files with these, using builtins only; when anything may
//! have changed it runs `escsh export SHELL` with two variables in that
//! command's environment only:
//!
//! - [`PREV_ENV`]: the value of [`PREV`] (the export needs it to restore);
//! - [`STAMP_ENV`]: the value of [`STAMP`], so a shell keeps one stamp file;
//!
//! and evals what it prints: `export`/`unset` statements for the user's
//! variables and `ESCSH_STATE`, then assignments of the variables above,
//! in one piece (a ^C cannot apply half). Tracing and verbose mode are off
//! while it evals, since the statements carry values.
//!
//! nushell and elvish keep the same variables under other spellings:
//! nushell in the record `$env.__escsh` (keys without the `__escsh_`
//! prefix; a record is never passed to programs), from the JSON document
//! `escsh export nu` prints instead of statements; elvish in a namespace
//! of its hook's, where what `escsh export elvish` prints is evaluated.
//! elvish has no clock and no way to read an mtime without a process: its
//! hook runs escsh at every prompt where an `.escrc` applies.

pub const PWD: &str = "__escsh_pwd";
pub const STATE: &str = "__escsh_state";
pub const STAMP: &str = "__escsh_stamp";
pub const PREV: &str = "__escsh_prev";
pub const RC: &str = "__escsh_rc";
pub const WATCH: &str = "__escsh_watch";
pub const ABSENT: &str = "__escsh_absent";
pub const DEADLINE: &str = "__escsh_deadline";
pub const TTL: &str = "__escsh_ttl";
pub const PREV_ENV: &str = "__ESCSH_PREV";
pub const STAMP_ENV: &str = "__ESCSH_STAMP";
