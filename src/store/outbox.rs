//! The outbox: alerts waiting for delivery, to the desktop and to sinks; marking them
//! delivered or failed; what was shown lately (for flood control).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::explanation::Explanation;
use super::{Result, Store, parse_ts, ts};

/// An alert waiting for delivery, with what the notification needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAlert {
    pub id: i64,
    /// The query terms that fired.
    pub terms: Vec<String>,
    pub topic: String,
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    /// The feed that carried the article (a muted feed's alerts are not shown).
    pub feed_id: crate::model::FeedId,
    pub snippet: crate::model::Snippet,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    /// For a topic that learns: the model's score, threshold and reasons.
    pub learned: Option<crate::model::Learned>,
}

impl Store {
    /// Alerts recorded for notification and not yet delivered, oldest first.
    pub fn pending_alerts(&self, limit: usize) -> Result<Vec<PendingAlert>> {
        self.pending_where(
            "al.notify = 1 AND al.delivered_at IS NULL",
            &[&(limit as i64)],
        )
    }

    /// Alerts the sink `name` has not yet received, oldest first.
    pub fn sink_pending(&self, name: &str, limit: usize) -> Result<Vec<PendingAlert>> {
        self.pending_where(
            "al.notify = 1
             AND al.id > (SELECT baseline FROM sinks WHERE name = ?2)
             AND NOT EXISTS (SELECT 1 FROM sink_deliveries d
                             WHERE d.alert_id = al.id AND d.sink = ?2 AND d.delivered_at IS NOT NULL)",
            &[&(limit as i64), &name],
        )
    }

    fn pending_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<PendingAlert>> {
        let sql = format!(
            "SELECT al.id, al.topic, ar.title, ar.link, COALESCE(f.name, f.title, f.url), al.explanation,
                    ar.published_at, al.created_at, al.attempts, al.terms, f.id
             FROM alerts al JOIN articles ar ON ar.id = al.article_id JOIN feeds f ON f.id = ar.feed_id
             WHERE {condition}
             ORDER BY al.id LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, |r| {
            let explanation: String = r.get(5)?;
            let explanation = serde_json::from_str::<Explanation>(&explanation).unwrap_or_default();
            let terms: String = r.get(9)?;
            Ok(PendingAlert {
                id: r.get(0)?,
                terms: serde_json::from_str(&terms).unwrap_or_default(),
                topic: r.get(1)?,
                title: r.get(2)?,
                link: r.get(3)?,
                source: r.get(4)?,
                feed_id: crate::model::FeedId(r.get(10)?),
                snippet: explanation.snippet,
                published_at: parse_ts(r.get(6)?),
                created_at: parse_ts(r.get(7)?).unwrap_or_default(),
                attempts: r.get(8)?,
                learned: explanation.learned,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Registers a sink: it receives the alerts created from now on (not the history).
    pub fn register_sink(&mut self, name: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO sinks (name, baseline) VALUES (?1, (SELECT COALESCE(MAX(id), 0) FROM alerts))",
            [name],
        )?;
        Ok(())
    }

    /// Records one attempt to hand an alert to a sink.
    pub fn mark_sink(
        &mut self,
        alert: i64,
        sink: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sink_deliveries (alert_id, sink, delivered_at, error, attempts) VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT(alert_id, sink) DO UPDATE SET
                delivered_at = excluded.delivered_at, error = excluded.error, attempts = attempts + 1",
            params![alert, sink, error.is_none().then(|| ts(now)), error],
        )?;
        Ok(())
    }

    /// Marks alerts as delivered (`via`: `desktop`, `summary`, `muted`, ...).
    pub fn mark_delivered(&mut self, alerts: &[i64], now: DateTime<Utc>, via: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE alerts SET delivered_at = ?2, delivered_via = ?3, delivery_error = NULL,
                                   attempts = attempts + 1
                 WHERE id = ?1",
            )?;
            for id in alerts {
                stmt.execute(params![id, ts(now), via])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed delivery attempt; the alerts stay pending.
    pub fn mark_failed(&mut self, alerts: &[i64], error: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE alerts SET delivery_error = ?2, attempts = attempts + 1 WHERE id = ?1",
            )?;
            for id in alerts {
                stmt.execute(params![id, error])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Notifications shown since `since`, for flood control: (when, topic) for each alert shown
    /// on its own, and (when, "") once per summary.
    pub fn shown_since(&self, since: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT delivered_at, topic FROM alerts WHERE delivered_at >= ?1 AND delivered_via = 'desktop'
             UNION ALL
             SELECT DISTINCT delivered_at, '' FROM alerts WHERE delivered_at >= ?1 AND delivered_via = 'summary'",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            Ok((
                parse_ts(r.get(0)?).unwrap_or_default(),
                r.get::<_, String>(1)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
