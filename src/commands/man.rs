//! `escsh man`: the manual page, in roff, generated from the command-line
//! definition (src/cli.rs) by clap_mangen: one page for escsh whose
//! SUBCOMMANDS section lists every visible command.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

pub fn man(out: &mut dyn Write) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    out.write_all(&page)?;
    out.flush()?;
    Ok(())
}
