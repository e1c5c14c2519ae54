//! Stored articles read back (for `tidings match --history`, `mark --article`, `eval`).

use chrono::{DateTime, Utc};

use super::{Result, Store, parse_ts, ts};
use crate::model::Article;

impl Store {
    /// Stored articles first seen at or after `since` (all when `None`), oldest first, as
    /// articles (content is not stored: only title, summary, authors, categories, link).
    pub fn articles_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Article>> {
        Ok(self
            .articles_since_with_ids(since)?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    /// [`Store::articles_since`], each with its row id (what `tidings mark --article` takes).
    pub fn articles_since_with_ids(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(i64, Article)>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles ar JOIN feeds f ON f.id = ar.feed_id
                 WHERE ?1 IS NULL OR ar.first_seen_at >= ?1
                 ORDER BY ar.id"
        ))?;
        let rows = stmt.query_map([since.map(ts)], article_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The columns [`article_row`] reads, for a query over `articles ar JOIN feeds f`.
pub(super) const ARTICLE_COLUMNS: &str = "ar.id, ar.key, ar.guid, ar.link, ar.title, ar.summary, \
     ar.authors, ar.categories, ar.published_at, COALESCE(f.name, f.title, f.url)";

/// A row of [`ARTICLE_COLUMNS`] as its id and article.
pub(super) fn article_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Article)> {
    let authors: String = r.get(6)?;
    let categories: String = r.get(7)?;
    let article = Article {
        key: crate::model::ArticleKey(r.get(1)?),
        guid: r.get(2)?,
        link: r.get(3)?,
        title: r.get(4)?,
        summary: r.get(5)?,
        content: String::new(),
        authors: serde_json::from_str(&authors).unwrap_or_default(),
        categories: serde_json::from_str(&categories).unwrap_or_default(),
        published: parse_ts(r.get(8)?),
        updated: None,
        source: r.get(9)?,
    };
    Ok((r.get(0)?, article))
}
