//! The nushell hook in a real interactive nushell, on a terminal of shellkit's.

mod shellkit;

use shellkit::{scenarios, Sh};

const SH: Sh = Sh::Nu;

crate::shared_scenarios!(SH);

#[test]
fn child_shell() {
    scenarios::child_shell(SH);
}

#[test]
fn child_shell_elsewhere() {
    scenarios::child_shell_elsewhere(SH);
}

#[test]
fn hook_loaded_twice() {
    scenarios::hook_loaded_twice(
        SH,
        r#"print $"@hooks ($env.config.hooks.pre_prompt? | default [] | length) ($env.config.hooks.env_change.PWD? | default [] | length)""#,
    );
}
