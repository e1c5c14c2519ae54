//! `tidings check`: validates the watch-list and says what it holds.

use std::process::ExitCode;

use super::paths::load_config;
use super::{Failure, Global};

/// `tidings check`: exit 0 if the watch-list is valid, 2 with the error if not.
pub(super) fn check_command(global: &Global) -> Result<ExitCode, Failure> {
    let config = load_config(global)?;
    println!(
        "{}: ok ({} feeds, {} topics, {} aliases)",
        config.path.display(),
        config.feeds.len(),
        config.topics.len(),
        config.aliases.len()
    );
    Ok(ExitCode::SUCCESS)
}
