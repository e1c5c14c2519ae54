//! Where the watch-list and the database are (`--config`, `--db`, else the XDG defaults), and
//! opening them.

use std::path::PathBuf;

use super::{Failure, Global, usage};
use crate::config::{self, Config, ConfigError};
use crate::store::Store;

/// Where the watch-list is read from when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("tidings").join("watchlist.toml"))
}

/// Where the database lives when `--db` is not given.
pub fn default_db_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.data_dir().join("tidings").join("tidings.db"))
}

pub(super) fn load_config(global: &Global) -> Result<Config, Failure> {
    let path = match &global.config {
        Some(p) => p.clone(),
        None => default_config_path().ok_or_else(|| {
            usage(anyhow::anyhow!(
                "cannot find the home directory; pass --config"
            ))
        })?,
    };
    config::load(&path).map_err(|e| match &e {
        ConfigError::Read { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound && global.config.is_none() =>
        {
            usage(anyhow::Error::new(e).context(format!(
                "no watch-list at {}: copy config/watchlist.toml there, or pass --config PATH",
                path.display()
            )))
        }
        _ => usage(e),
    })
}

/// The database path in force (`--db` or the default).
pub(super) fn db_path(global: &Global) -> Result<PathBuf, Failure> {
    match &global.db {
        Some(p) => Ok(p.clone()),
        None => default_db_path()
            .ok_or_else(|| usage(anyhow::anyhow!("cannot find the home directory; pass --db"))),
    }
}

pub(super) fn open_store(global: &Global) -> Result<Store, Failure> {
    Ok(Store::open(&db_path(global)?)?)
}

/// The existing database, read-only, for commands that only read it: never created or
/// migrated; a missing one is an error naming its path.
pub(super) fn open_store_read_only(global: &Global) -> Result<Store, Failure> {
    Ok(Store::open_read_only(&db_path(global)?)?)
}

/// The watch-list path in force (`--config` or the default).
pub(super) fn config_path(global: &Global) -> Result<PathBuf, Failure> {
    match &global.config {
        Some(p) => Ok(p.clone()),
        None => default_config_path().ok_or_else(|| {
            usage(anyhow::anyhow!(
                "cannot find the home directory; pass --config"
            ))
        }),
    }
}

/// The database at `db` if it exists (never created, opened read-only), for its marks: one
/// that cannot be opened is logged and does without.
pub(super) fn existing_store(db: &std::path::Path) -> Option<Store> {
    if !db.exists() {
        return None;
    }
    Store::open_read_only(db)
        .map_err(|e| tracing::warn!("{:#}; going on without the marks", anyhow::Error::new(e)))
        .ok()
}
