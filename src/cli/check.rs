//! `tidings check`: validates the watch-list and says what it holds.

use std::process::ExitCode;

use super::paths::load_config;
use super::{Failure, Global};

/// `tidings check`: exit 0 if the watch-list is valid, 2 with the error if not. A valid one
/// with no feeds and no topics (an emptied file?) is warned about on stderr, still exit 0.
pub(super) fn check_command(global: &Global) -> Result<ExitCode, Failure> {
    let config = load_config(global)?;
    println!(
        "{}: ok ({} feeds, {} topics, {} aliases)",
        config.path.display(),
        config.feeds.len(),
        config.topics.len(),
        config.aliases.len()
    );
    if config.is_empty() {
        eprintln!(
            "tidings: warning: {} holds no feeds and no topics: nothing will be monitored \
             (a running daemon keeps its current watch-list rather than reload an empty one)",
            config.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
