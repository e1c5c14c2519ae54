//! `tidings service install|uninstall`: the systemd user unit, and the systemctl commands to run.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the user unit for this binary to ~/.config/systemd/user/ and print (or, with
    /// --now, run) the systemctl commands.
    Install {
        #[arg(long)]
        now: bool,
    },
    /// Remove the user unit (with --now, also stop and disable it).
    Uninstall {
        #[arg(long)]
        now: bool,
    },
}

/// `tidings service ...`.
pub(super) fn service_command(cmd: ServiceCommand) -> Result<ExitCode, Failure> {
    let (cmds, ran) = match cmd {
        ServiceCommand::Install { now } => {
            let binary = std::env::current_exe().context("cannot find this program's path")?;
            let binary = binary.canonicalize().unwrap_or(binary);
            let cmds = crate::service::install(&binary, now)?;
            println!("installed the user unit for {}", binary.display());
            (cmds, now)
        }
        ServiceCommand::Uninstall { now } => (crate::service::uninstall(now)?, now),
    };
    if !cmds.is_empty() {
        println!("{}", if ran { "ran:" } else { "now run:" });
        for c in cmds {
            println!("  {c}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
