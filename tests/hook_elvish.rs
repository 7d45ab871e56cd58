//! The elvish hook in a real interactive elvish, on a terminal of shellkit's.

mod shellkit;

use shellkit::{scenarios, Sh};

const SH: Sh = Sh::Elvish;

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
        "echo '@hooks' (count $edit:before-readline) (count $after-chdir)",
    );
}
