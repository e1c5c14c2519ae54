//! Daemon-wide facts by key (the `daemon_state` table), e.g. `config_error` for `status`.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

impl Store {
    /// Daemon-wide facts for `status` (e.g. `config_error`), by key.
    pub fn set_state(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO daemon_state (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self
                .conn
                .execute("DELETE FROM daemon_state WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    pub fn state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM daemon_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }
}
