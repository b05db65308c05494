//! Kernel subcommands (`load`, `attach`, `detach`, `prog`, `map`). (Being written.)

use crate::CliError;
use clap::Subcommand;

/// Subcommands that act on the running kernel.
#[derive(Subcommand, Debug)]
pub enum KernelCmd {}

/// Run a kernel subcommand; returns the exit code.
pub fn run(cmd: KernelCmd) -> Result<u8, CliError> {
    match cmd {}
}
