//! The JSON kept in `alerts.explanation`: what matched, the snippet, the model's verdict.

/// What is stored in `alerts.explanation`: the hits, the snippet and, for a topic that learns,
/// the model's verdict, as JSON. Rows written before models existed have no `learned`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Explanation {
    pub(super) hits: Vec<crate::model::Hit>,
    pub(super) snippet: crate::model::Snippet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) learned: Option<crate::model::Learned>,
}

#[cfg(test)]
mod tests {
    use crate::model::Match;
    use crate::store::test_support::{article, matched, now};
    use crate::store::{HistoryFilter, NewAlert, PollRecord, Store};

    /// The model's verdict is kept in `alerts.explanation` and read back by `pending_alerts` and
    /// `history`; an explanation written before models existed (no `learned`) still reads.
    #[test]
    fn explanations_keep_the_models_score() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let state = store
            .sync_feed("https://a.example/rss", None, now())
            .unwrap();
        let mut tx = store.begin_poll(state.id).unwrap();
        let new = tx
            .insert_new(vec![article("1", "Talks"), article("2", "Old")], now())
            .unwrap();
        let learned = crate::model::Learned {
            score: 0.93,
            threshold: 0.5,
            reasons: vec![("t:talks".into(), 0.81), ("q:@side".into(), 0.62)],
        };
        let with = Match {
            learned: Some(learned.clone()),
            ..matched("s")
        };
        let without = matched("s");
        let alerts = [
            NewAlert {
                article_id: new[0].id,
                topic: "Talks",
                matched: &with,
                notify: true,
            },
            NewAlert {
                article_id: new[1].id,
                topic: "Plain",
                matched: &without,
                notify: true,
            },
        ];
        assert_eq!(tx.record_alerts(&alerts, now()).unwrap(), 2);
        tx.finish(&PollRecord::default(), now()).unwrap();
        // An old row: the explanation as it was written before `learned` existed.
        store
            .conn
            .execute(
                r#"UPDATE alerts SET explanation = '{"hits":[],"snippet":{"field":null,"text":"s","marks":[]}}'
                   WHERE topic = 'Plain'"#,
                [],
            )
            .unwrap();

        let pending = store.pending_alerts(10).unwrap();
        let by_topic = |t: &str| pending.iter().find(|a| a.topic == t).unwrap();
        assert_eq!(by_topic("Talks").learned.as_ref(), Some(&learned));
        assert_eq!(by_topic("Plain").learned, None);
        assert_eq!(by_topic("Plain").snippet.text, "s", "old rows still read");

        let rows = store
            .history(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let row = |t: &str| rows.iter().find(|r| r.topic == t).unwrap();
        let talks = row("Talks");
        assert_eq!(
            (talks.score, talks.threshold, talks.reasons.as_ref()),
            (Some(0.93), Some(0.5), Some(&learned.reasons))
        );
        let plain = row("Plain");
        assert_eq!(
            (plain.score, plain.threshold, &plain.reasons),
            (None, None, &None)
        );
        let json = serde_json::to_value(plain).unwrap();
        assert!(
            json["score"].is_null() && json["reasons"].is_null(),
            "{json}"
        );
        let json = serde_json::to_value(talks).unwrap();
        assert_eq!(
            json["reasons"][0],
            serde_json::json!(["t:talks", 0.81]),
            "{json}"
        );
    }
}
