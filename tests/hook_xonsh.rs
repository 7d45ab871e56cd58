//! The xonsh hook in a real interactive xonsh, given a terminal by `script`.

mod shellkit;

use shellkit::Sh;

const SH: Sh = Sh::Xonsh;

crate::shared_scenarios!(SH);
