//! `atrest cell ...`: field encryption from the command line.

use std::io::Write;

use clap::{Args, Subcommand};

use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct CellArgs {
    #[command(subcommand)]
    pub command: CellCommand,
}

#[derive(Debug, Subcommand)]
pub enum CellCommand {
    /// Create a local wrapping-key file (0600) for offline use
    Keygen,
}

pub fn run(args: CellArgs, _out: &mut dyn Write) -> CliResult {
    match args.command {
        CellCommand::Keygen => Err(CliError::failure(
            "cell keygen is not available in this build",
        )),
    }
}
