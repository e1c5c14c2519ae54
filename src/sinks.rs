//! EDGE: sinks — where alerts go besides the desktop: a command that gets the alert as JSON on
//! stdin, or a webhook that gets it POSTed (ntfy and similar services accept it).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::config::SinkKind;
use crate::store::PendingAlert;

/// A sink that takes longer than this has failed (the alert is retried later).
pub const SINK_TIMEOUT: Duration = Duration::from_secs(30);

/// The JSON document a sink receives for one alert.
pub fn payload(a: &PendingAlert) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "topic": a.topic,
        "title": a.title,
        "link": a.link,
        "source": a.source,
        "published": a.published_at,
        "created": a.created_at,
        "terms": a.terms,
        "snippet": a.snippet.text,
        "message": format!("{}: {}", a.topic, a.title),
        // For a topic that learns: the model's score and what pushed it up; else null.
        "score": a.learned.as_ref().map(|l| l.score),
        "reasons": a.learned.as_ref().map(|l| &l.reasons),
    })
}

/// Hands one alert to a sink. `Err` carries why it failed.
pub async fn deliver(
    kind: &SinkKind,
    client: &reqwest::Client,
    alert: &PendingAlert,
) -> Result<(), String> {
    let body = payload(alert).to_string();
    match tokio::time::timeout(SINK_TIMEOUT, send(kind, client, body)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}s", SINK_TIMEOUT.as_secs())),
    }
}

async fn send(kind: &SinkKind, client: &reqwest::Client, body: String) -> Result<(), String> {
    match kind {
        SinkKind::Command(argv) => {
            let (program, args) = argv.split_first().ok_or("empty command")?;
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            if let Some(mut stdin) = child.stdin.take() {
                // A program that does not read its input is its own business.
                let _ = stdin.write_all(body.as_bytes()).await;
            }
            let status = child.wait().await.map_err(|e| format!("{program}: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("{program} exited with {status}"))
            }
        }
        SinkKind::Webhook(url) => {
            let resp = client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("HTTP {}", resp.status()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> PendingAlert {
        PendingAlert {
            id: 7,
            terms: vec!["nato".into()],
            topic: "NATO membership".into(),
            title: "Finland applies".into(),
            link: Some("https://example.com/a".into()),
            source: "Wire".into(),
            feed_id: crate::model::FeedId(1),
            snippet: Default::default(),
            published_at: None,
            created_at: Default::default(),
            attempts: 0,
            learned: None,
        }
    }

    #[test]
    fn the_payload_carries_a_learned_topics_score() {
        let plain = payload(&alert());
        assert!(plain["score"].is_null() && plain["reasons"].is_null());
        let learned = PendingAlert {
            learned: Some(crate::model::Learned {
                score: 0.93,
                threshold: 0.5,
                reasons: vec![("t:talks".into(), 0.81)],
            }),
            ..alert()
        };
        let p = payload(&learned);
        assert_eq!(p["score"], 0.93);
        assert_eq!(p["reasons"], serde_json::json!([["t:talks", 0.81]]));
    }

    #[tokio::test]
    async fn command_sink_gets_json_on_stdin_and_its_exit_status_counts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let script = format!("cat > '{}'", out.display());
        let ok = SinkKind::Command(vec!["sh".into(), "-c".into(), script]);
        let client = crate::fetch::client_builder().build().unwrap();
        deliver(&ok, &client, &alert()).await.unwrap();
        let got: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(got["topic"], "NATO membership");
        assert_eq!(got["link"], "https://example.com/a");

        let failing = SinkKind::Command(vec!["sh".into(), "-c".into(), "exit 3".into()]);
        let err = deliver(&failing, &client, &alert()).await.unwrap_err();
        assert!(err.contains("exit status: 3"), "{err}");
        let missing = SinkKind::Command(vec!["/nonexistent/tidings-sink".into()]);
        assert!(
            deliver(&missing, &client, &alert())
                .await
                .unwrap_err()
                .contains("cannot run")
        );
    }
}
