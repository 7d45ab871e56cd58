//! `escsh hook SHELL`: the script to eval from the shell's rc file.

use std::io::Write;

use anyhow::{Context as _, Result};

use crate::shell::Shell;

pub fn hook(shell: Shell) -> Result<()> {
    let exe = std::env::current_exe().context("finding escsh's own path")?;
    let exe = exe.as_os_str().as_encoded_bytes();
    let script = crate::shell::hook_script(shell).replace("@ESCSH@", &shell.quote(exe)?);
    std::io::stdout().write_all(script.as_bytes())?;
    Ok(())
}
