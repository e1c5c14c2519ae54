//! EDGE: the only owner of SQLite — the [`Store`], opening the database, [`StoreError`]; each
//! concern of the store has its own file below.
//!
//! One poll of one feed is one transaction ([`PollTx`]): the new articles, their alerts, the
//! feed's new state, and a host deferral or the feed disabled (429 with `Retry-After`, 410) are
//! committed together, so a crash never leaves an article stored without its alert, or a
//! validator (ETag) advanced past articles that were not stored.
//!
//! | file | what it holds |
//! |---|---|
//! | `schema.rs` | the SQL schema, one migration per `user_version`, the `alert_history` view |
//! | `feeds.rs` | feed rows and state: sync with the watch-list, enable/disable, host deferrals |
//! | `poll.rs` | [`PollTx`]: one poll's new articles, alerts (one per story), feed state, host deferral, disabling |
//! | `explanation.rs` | the JSON kept in `alerts.explanation` |
//! | `outbox.rs` | pending alerts, deliveries to the desktop and to sinks, what was shown |
//! | `mutes.rs` | topics and feeds muted until a time |
//! | `history.rs` | `tidings history` rows and filters, counts and per-day stats |
//! | `articles.rs` | stored articles read back |
//! | `marks.rs` | the user's marks (right/wrong) on alerts and articles |
//! | `retention.rs` | pruning old alerts and articles |
//! | `review.rs` | `tidings review`: alerts page by page, one alert's detail, recent articles, mark counts, `data_version` |
//! | `daemon_state.rs` | daemon-wide facts by key |

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;
use thiserror::Error;

mod articles;
mod daemon_state;
mod explanation;
mod feeds;
mod history;
mod marks;
mod mutes;
mod outbox;
mod poll;
mod retention;
mod review;
mod schema;
#[cfg(test)]
pub(crate) mod test_support;

pub use feeds::{FeedState, HostDeferral};
pub use history::{HistoryFilter, HistoryRow};
pub use marks::{Mark, MarkedAlert, label_word};
pub use outbox::PendingAlert;
pub use poll::{NewAlert, NewArticle, PollRecord, PollTx};
pub use review::{
    AlertDetail, AlertFilter, AlertPage, AlertRow, MarkCounts, PageKey, RecentArticle, SCAN_WINDOW,
};
pub use schema::SCHEMA_VERSION;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "database {path} has schema version {found}, newer than this tidings understands ({supported}); \
         refusing to touch it (upgrade tidings, or use another --db)"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "database {path} has schema version {found}, older than this tidings reads ({supported}); \
         a read-only command does not upgrade it (`tidings run` or `tidings poll --once` does)"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "no database at {path} (check --db or TIDINGS_DB; `tidings run` or `tidings poll --once` creates it)"
    )]
    Missing { path: PathBuf },
    #[error("no alert with id {0} (`tidings history` shows the ids)")]
    NoSuchAlert(i64),
    #[error("no article with id {0}")]
    NoSuchArticle(i64),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// A lock held by another writer past `busy_timeout`: worth retrying later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Replaces SQLite's `lower()`, which folds ASCII only, with Unicode lower case on this
/// connection: the case-insensitive filters of `history` and `review` (`instr(lower(..),
/// lower(?))`) then work on Cyrillic, Greek or accented headlines too.
fn unicode_lower(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Null => None,
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Some(String::from_utf8_lossy(t).to_lowercase())
                }
                ValueRef::Integer(i) => Some(i.to_string()),
                ValueRef::Real(r) => Some(r.to_string()),
            })
        },
    )
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time stored to the second, rounded *up*: for a host's `Retry-After`, which must never come
/// early. (A feed's own `next_poll_at` is rounded down; a 429/503's `Retry-After` also defers
/// its host, so the host deferral is what holds.)
pub(crate) fn ts_ceil(t: DateTime<Utc>) -> String {
    use chrono::{DurationRound, Timelike};
    let t = if t.nanosecond() == 0 {
        t
    } else {
        crate::checked_time::later_by(
            t.duration_trunc(chrono::Duration::seconds(1)).unwrap_or(t),
            chrono::Duration::seconds(1),
        )
    };
    ts(t)
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Opens (creating if needed) the database at `path`: directory 0700, file 0600, WAL,
    /// `busy_timeout`, migrations. A newer schema or a file that is not a database is an
    /// error naming the path; nothing is overwritten.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        create_parent_dir(path).map_err(|e| open_err(Box::new(e)))?;
        if path.is_dir() {
            return Err(open_err("it is a directory".into()));
        }
        // Create the file ourselves so that it is private from the first byte. Only a new
        // file: opening (and closing) an existing one outside SQLite would drop this process's
        // POSIX locks on it, held by its other connections — another process would then take
        // itself for the last one and delete the WAL under them.
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(open_err(Box::new(e))),
        }
        let conn = Connection::open(path).map_err(|e| open_err(Box::new(e)))?;
        // Recording a poll uses about twenty distinct statements: with rusqlite's default
        // cache of 16 they were evicted and compiled again for every feed.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        // Two processes opening a new database at once: the loser of the race to switch it to
        // WAL gets SQLITE_BUSY without waiting; it simply tries again.
        let mut tries = 0;
        let configured = loop {
            match store.configure() {
                Err(e) if e.is_busy() && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => break other,
            }
        };
        configured.map_err(|e| match e {
            StoreError::Sqlite(e) => open_err(Box::new(e)),
            other => other,
        })?;
        Ok(store)
    }

    /// Opens the existing database at `path` for reading only (`status`, `history`, `stats`,
    /// `match --history`, `feeds list`, the marks of `match` and `eval`): nothing is created,
    /// migrated or written. A missing file is [`StoreError::Missing`]; a schema older or newer
    /// than this build is refused (older: `run` or `poll --once` upgrades it).
    ///
    /// SQLite reads a WAL database through its `-shm` (and `-wal`) files, which it creates
    /// beside the database when they are missing (with the database's mode). Where it cannot
    /// create or use them (a read-only filesystem or folder, a `-shm` this process may not
    /// write) and there is no WAL content to read, the database is opened `immutable`
    /// instead: nobody is writing to it then.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(open_err(Box::new(e))),
            Ok(m) if m.is_dir() => return Err(open_err("it is a directory".into())),
            Ok(_) => {}
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(Box::new(e)))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let store = match store.check_version() {
            Err(StoreError::Sqlite(e)) if cannot_use_shm(&e) && !has_wal_content(path) => {
                drop(store);
                let conn = Connection::open_with_flags(
                    immutable_uri(path),
                    flags | rusqlite::OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(|e| open_err(Box::new(e)))?;
                let store = Store {
                    conn,
                    path: path.to_path_buf(),
                };
                store.check_version().map(|()| store)
            }
            other => other.map(|()| store),
        };
        let store = store.map_err(|e| match e {
            StoreError::Sqlite(e) => open_err(Box::new(e)),
            other => other,
        })?;
        store.conn.set_prepared_statement_cache_capacity(64);
        Ok(store)
    }

    /// For [`Store::open_read_only`]: waits for writers like [`Store::open`], and refuses any
    /// schema but this build's.
    fn check_version(&self) -> Result<()> {
        unicode_lower(&self.conn)?;
        self.conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        // The schema itself read now: a damaged first page is an error naming the file here,
        // not a bare "malformed" from the first query.
        self.conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        let (path, found, supported) = (self.path.clone(), version, SCHEMA_VERSION);
        match version.cmp(&SCHEMA_VERSION) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Greater => Err(StoreError::NewerSchema {
                path,
                found,
                supported,
            }),
            std::cmp::Ordering::Less => Err(StoreError::OlderSchema {
                path,
                found,
                supported,
            }),
        }
    }

    fn configure(&mut self) -> Result<()> {
        unicode_lower(&self.conn)?;
        self.conn.busy_timeout(Duration::from_secs(5))?;
        // Reading the schema version first fails cleanly on a file that is not a database.
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        if version < SCHEMA_VERSION {
            schema::migrate(&mut self.conn)?;
        }
        for suffix in ["-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the connection's page cache back to the allocator (the daemon calls this when a
    /// burst of polls is over; the cache refills on the next one).
    pub fn release_memory(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        Ok(())
    }

    /// Caps this connection's page cache at `kib` KiB (SQLite's default is 2 MiB): for a
    /// second connection that reads little, so two caches do not both grow to the default.
    pub fn limit_cache(&self, kib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib.max(1)))?;
        Ok(())
    }

    /// Does the database answer? (For the watchdog.)
    pub fn ping(&self) -> Result<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Creates the folder of `path` (the database, or a file beside it) with mode 0700 if it does
/// not exist.
pub(crate) fn create_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.exists() => DirBuilder::new().recursive(true).mode(0o700).create(dir),
        _ => Ok(()),
    }
}

/// SQLite cannot read this WAL database read-only through its `-shm` and `-wal`: it could not
/// create them (`SQLITE_CANTOPEN`, `SQLITE_READONLY_DIRECTORY`), or the `-shm` exists but
/// this process may not write it and no connection that may has it open
/// (`SQLITE_READONLY_CANTINIT`).
fn cannot_use_shm(e: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_READONLY_CANTINIT, SQLITE_READONLY_DIRECTORY};
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::CannotOpen
            || [SQLITE_READONLY_CANTINIT, SQLITE_READONLY_DIRECTORY].contains(&f.extended_code))
}

/// Whether `path`'s `-wal` holds anything (what an `immutable` open would not see).
fn has_wal_content(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

/// `file:PATH?immutable=1`, the path percent-encoded (a `?`, `#` or `%` in it stays a path).
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    // `file:///abs` for an absolute path: after `file://` comes an (empty) authority.
    let mut uri = String::from(if path.is_absolute() {
        "file://"
    } else {
        "file:"
    });
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare SQLite file at `path` whose `user_version` is `version`.
    fn db_with_version(path: &Path, version: i64) {
        let c = Connection::open(path).unwrap();
        c.pragma_update(None, "user_version", version).unwrap();
    }

    #[test]
    fn newer_schema_and_garbage_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.db");
        db_with_version(&newer, 99);
        let err = Store::open(&newer).err().unwrap().to_string();
        assert!(
            err.contains("schema version 99") && err.contains("newer.db"),
            "{err}"
        );

        let garbage = dir.path().join("garbage.db");
        std::fs::write(
            &garbage,
            b"this is not a database, just some bytes long enough to look like a header......",
        )
        .unwrap();
        let before = std::fs::read(&garbage).unwrap();
        let err = Store::open(&garbage).err().unwrap().to_string();
        assert!(err.contains("garbage.db"), "{err}");
        assert_eq!(
            std::fs::read(&garbage).unwrap(),
            before,
            "never overwritten"
        );

        let err = format!(
            "{:#}",
            anyhow::Error::from(Store::open(dir.path()).err().unwrap())
        );
        assert!(err.contains("is a directory"), "{err}");
    }

    #[test]
    fn read_only_opens_create_nothing_and_read_only_this_builds_schema() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("typo/tidings.db");
        let err = Store::open_read_only(&missing).err().unwrap();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("typo/tidings.db"), "{err}");
        assert!(!dir.path().join("typo").exists(), "no folder created");

        let older = dir.path().join("older.db");
        db_with_version(&older, 1);
        let err = Store::open_read_only(&older).err().unwrap().to_string();
        assert!(
            err.contains("schema version 1, older") && err.contains("older.db"),
            "{err}"
        );
        let version: i64 = Connection::open(&older)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1, "not migrated");

        let newer = dir.path().join("newer.db");
        db_with_version(&newer, 99);
        let err = Store::open_read_only(&newer).err().unwrap().to_string();
        assert!(err.contains("schema version 99, newer"), "{err}");

        let path = dir.path().join("tidings.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open_read_only(&path).unwrap();
        assert!(store.feeds().unwrap().is_empty());
        let err = store
            .conn
            .execute(
                "INSERT INTO daemon_state (key, value) VALUES ('k', 'v')",
                [],
            )
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("readonly"), "{err}");
    }

    #[test]
    fn immutable_uris_keep_odd_paths_paths() {
        assert_eq!(
            immutable_uri(Path::new("/a b/x?y#z%.db")),
            "file:///a%20b/x%3Fy%23z%25.db?immutable=1"
        );
        assert_eq!(immutable_uri(Path::new("t.db")), "file:t.db?immutable=1");
    }

    #[test]
    fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tidings.db");
        let _store = Store::open(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}
