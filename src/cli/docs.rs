//! `tidings completions` and `tidings man`: generated from the clap definitions.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::{Cli, Failure};

/// `tidings completions SHELL`.
pub(super) fn completions_command(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tidings", &mut buf);
    print_bytes(&buf)
}

/// `tidings man`.
pub(super) fn man_command() -> Result<ExitCode, Failure> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .context("cannot render the manual")?;
    print_bytes(&buf)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(buf: &[u8]) -> Result<ExitCode, Failure> {
    match std::io::stdout().lock().write_all(buf) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e)
            .context("cannot write to standard output")
            .into()),
    }
}
