//! `tidings review`: the terminal UI (`crate::review`) on the database and the watch-list.

use std::process::ExitCode;

use super::paths::{db_path, load_config};
use super::{Failure, Global};
use crate::store::Store;

/// `tidings review`: a missing database is exit 1 naming its path (never created); a
/// watch-list that cannot be read leaves out the queue and feed switching, and says why.
pub(super) fn review_command(global: &Global) -> Result<ExitCode, Failure> {
    let reader = Store::open_read_only(&db_path(global)?)?;
    let (config, note) = match load_config(global) {
        Ok(c) => (Some(c), None),
        Err(f) => (None, Some(format!("watch-list: {:#}", f.error))),
    };
    crate::review::run(reader, config, note)?;
    Ok(ExitCode::SUCCESS)
}
