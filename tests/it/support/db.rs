//! Reading the daemon's SQLite database after the child has exited (or while it runs: the
//! database is in WAL mode, and every read here is one short statement).

use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;

/// A row as strings (`None` for NULL), whatever the column types are.
pub type Row = Vec<Option<String>>;

/// Runs `sql` against the database at `path` and returns every row as strings.
#[track_caller]
pub fn query(path: &Path, sql: &str) -> Vec<Row> {
    try_query(path, sql).unwrap_or_else(|e| panic!("{e}"))
}

/// [`query`] for a database that a running child may not have created (or migrated) yet:
/// an error instead of a panic.
pub fn try_query(path: &Path, sql: &str) -> Result<Vec<Row>, String> {
    if !path.exists() {
        return Err(format!("no database at {} yet", path.display()));
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("open database {}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| format!("set busy_timeout: {e}"))?;
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| format!("prepare {sql:?} on {}: {e}", path.display()))?;
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(v) => Some(v.to_string()),
                        ValueRef::Real(v) => Some(v.to_string()),
                        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Some(format!("<{} bytes>", b.len())),
                    })
                })
                .collect::<rusqlite::Result<Row>>()
        })
        .map_err(|e| format!("run {sql:?}: {e}"))?;
    rows.collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(|e| format!("read rows of {sql:?}: {e}"))
}

/// Runs one statement that changes the database (test setup, e.g. back-dating alerts);
/// returns the number of rows changed.
#[track_caller]
pub fn execute(path: &Path, sql: &str) -> usize {
    let conn = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("open database {}: {e}", path.display()));
    conn.busy_timeout(Duration::from_secs(10))
        .expect("set busy_timeout");
    conn.execute(sql, [])
        .unwrap_or_else(|e| panic!("run {sql:?} on {}: {e}", path.display()))
}

/// The single integer `sql` selects.
#[track_caller]
pub fn count(path: &Path, sql: &str) -> i64 {
    let rows = query(path, sql);
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{sql:?} gave no integer: {rows:?}"))
}

/// One alert joined with its article and feed.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub topic: String,
    pub title: String,
    pub feed_url: String,
    pub notify: bool,
    pub delivered_at: Option<String>,
    pub delivery_error: Option<String>,
    pub created_at: String,
    pub terms: Option<String>,
    /// `desktop`, `summary`, `muted`, ... once delivered.
    pub delivered_via: Option<String>,
    pub attempts: i64,
    pub link: Option<String>,
}

#[track_caller]
pub fn alerts(path: &Path) -> Vec<AlertRow> {
    try_alerts(path).unwrap_or_else(|e| panic!("{e}"))
}

/// [`alerts`] while a child may still be creating the database: empty until it can be read.
pub fn alerts_so_far(path: &Path) -> Vec<AlertRow> {
    try_alerts(path).unwrap_or_default()
}

pub fn try_alerts(path: &Path) -> Result<Vec<AlertRow>, String> {
    Ok(try_query(
        path,
        "SELECT al.topic, ar.title, f.url, al.notify, al.delivered_at, al.delivery_error, \
                al.created_at, al.terms, al.delivered_via, al.attempts, ar.link \
         FROM alerts al JOIN articles ar ON ar.id = al.article_id JOIN feeds f ON f.id = ar.feed_id \
         ORDER BY al.id",
    )?
    .into_iter()
    .map(|r| AlertRow {
        topic: r[0].clone().unwrap_or_default(),
        title: r[1].clone().unwrap_or_default(),
        feed_url: r[2].clone().unwrap_or_default(),
        notify: r[3].as_deref() != Some("0"),
        delivered_at: r[4].clone(),
        delivery_error: r[5].clone(),
        created_at: r[6].clone().unwrap_or_default(),
        terms: r[7].clone(),
        delivered_via: r[8].clone(),
        attempts: r[9].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0),
        link: r[10].clone(),
    })
    .collect())
}

/// `(url, title)` of every stored article, in insertion order.
pub fn articles(path: &Path) -> Vec<(String, String)> {
    query(
        path,
        "SELECT f.url, ar.title FROM articles ar JOIN feeds f ON f.id = ar.feed_id ORDER BY ar.id",
    )
    .into_iter()
    .map(|r| {
        (
            r[0].clone().unwrap_or_default(),
            r[1].clone().unwrap_or_default(),
        )
    })
    .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_failures: Option<String>,
}

/// The row of the feed with this URL; fails the test if there is none.
#[track_caller]
pub fn feed(path: &Path, url: &str) -> FeedRow {
    let rows = query(
        path,
        "SELECT url, etag, last_modified, last_status, last_error, consecutive_failures FROM feeds",
    );
    let r = rows
        .iter()
        .find(|r| r[0].as_deref() == Some(url))
        .unwrap_or_else(|| panic!("no row for {url} in feeds: {rows:?}"));
    FeedRow {
        url: url.to_owned(),
        etag: r[1].clone(),
        last_modified: r[2].clone(),
        last_status: r[3].clone(),
        last_error: r[4].clone(),
        consecutive_failures: r[5].clone(),
    }
}
