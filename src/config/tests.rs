//! The watch-list read as a whole: every bad config's error line, defaults and overrides.

use std::path::Path;
use std::time::Duration;

use super::*;

fn check_ok(text: &str) -> Config {
    parse(text, Path::new("watchlist.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Every bad config with the exact first line of its error.
#[test]
fn bad_configs_name_file_line_column_key_and_problem() {
    let cases: &[(&str, &str)] = &[
        (
            "[[feed]]\nurl = \"feeds/world.xml\"\n",
            "watchlist.toml:2:7: feed[1].url: relative URL without a base",
        ),
        (
            "[[feed]]\nurl = \"https://a.example/rss\"\n[[feed]]\nurl = \"https://b.example/rss\"\n[[feed]]\nurl = \"https://c.example/rss\"\n\n\n\n    url = \"x\"\n",
            "watchlist.toml:10:5: feed[3].url: duplicate key",
        ),
        (
            "[[feed]]\nurl = \"ftp://a.example/rss\"\n",
            "watchlist.toml:2:7: feed[1].url: unsupported scheme \"ftp\" (expected http or https)",
        ),
        (
            "[[feed]]\nurl = \"https://a.example/rss\"\n[[feed]]\nurl = \"https://a.example/rss\"\n",
            "watchlist.toml:4:7: feed[2].url: duplicate feed https://a.example/rss",
        ),
        (
            "[[feed]]\nurl = \"https://a.example/rss\"\nurll = \"x\"\n",
            "watchlist.toml:3:1: feed[1].urll: unknown field `urll`, expected one of `url`, `name`, `interval`, `enabled`",
        ),
        (
            "[[feed]]\nname = \"A\"\n",
            "watchlist.toml:1:1: feed[1]: missing field `url`",
        ),
        (
            "[settings]\nkeep_alerts = \"300000y\"\n",
            "watchlist.toml:2:15: settings.keep_alerts: \"300000y\" is out of range: from 1s to 100years",
        ),
        (
            "[settings]\nhost_spacing = \"18446744073709551615s\"\n",
            "watchlist.toml:2:16: settings.host_spacing: \"18446744073709551615s\" is too long: at most 1h",
        ),
        (
            "[[feed]]\nurl = \"https://a.example/rss\"\ninterval = \"0s\"\n",
            "watchlist.toml:3:12: feed[1].interval: \"0s\" is out of range: from 1s to 30days",
        ),
        (
            "[settings]\ninterval = \"soon\"\n",
            "watchlist.toml:2:12: settings.interval: invalid duration \"soon\": expected number at 0 (examples: \"90s\", \"15m\", \"1h 30m\")",
        ),
        (
            "[settings]\ninterval = \"0s\"\n",
            "watchlist.toml:2:12: settings.interval: \"0s\" is out of range: from 1s to 30days",
        ),
        (
            "[settings]\ninterval = 15\n",
            "watchlist.toml:2:12: settings.interval: invalid type: integer `15`, expected a string",
        ),
        (
            "[settings]\nconcurrency = 0\n",
            "watchlist.toml:2:15: settings.concurrency: expected a number from 1 to 1024, got 0",
        ),
        (
            "[settings]\nalert_on_first_pol = true\n",
            "watchlist.toml:2:1: settings.alert_on_first_pol: unknown field `alert_on_first_pol`, expected one of `interval`, `alert_on_first_poll`, `concurrency`, `host_concurrency`, `host_spacing`, `max_body_size`, `batch_after`, `batch_window`, `max_per_topic_per_hour`, `quiet_hours`, `notification_timeout`, `opener`, `keep_articles`, `keep_alerts`",
        ),
        (
            "[setings]\n",
            "watchlist.toml:1:2: setings: unknown field `setings`, expected one of `settings`, `aliases`, `feed`, `topic`, `sink`",
        ),
        (
            "[[topic]]\nname = \"A\"\nquery = \"x\"\nurgency = \"loud\"\n",
            "watchlist.toml:4:11: topic[1].urgency: unknown variant `loud`, expected one of `low`, `normal`, `critical`",
        ),
        (
            "[[topic]]\nname = \"A\"\nquery = \"x\"\n[[topic]]\nname = \"A\"\nquery = \"y\"\n",
            "watchlist.toml:5:8: topic[2].name: duplicate topic \"A\"",
        ),
        (
            "[[topic]]\nname = \" \"\nquery = \"x\"\n",
            "watchlist.toml:2:8: topic[1].name: empty topic name",
        ),
        (
            "[[feed]]\nurl = \"https://a.example/rss\"\nname = \"\"\n",
            "watchlist.toml:3:8: feed[1].name: empty name (leave the key out to use the feed's title)",
        ),
        ("[[feed]\nurl = 1\n", "watchlist.toml:1:8: (syntax): "),
        (
            "[settings]\nquiet_hours = \"late\"\n",
            "watchlist.toml:2:15: settings.quiet_hours: expected local times \"HH:MM-HH:MM\", e.g. \"23:00-07:00\"",
        ),
        (
            "[[sink]]\nkind = \"pigeon\"\n",
            "watchlist.toml:2:8: sink[1].kind: unknown sink kind \"pigeon\", expected \"command\" or \"webhook\"",
        ),
        (
            "[[sink]]\nkind = \"webhook\"\nurl = \"ntfy/topic\"\n",
            "watchlist.toml:3:7: sink[1].url: relative URL without a base",
        ),
        (
            "[[sink]]\nkind = \"command\"\n",
            "watchlist.toml:2:8: sink[1].kind: a command sink needs `command` (and no `url`)",
        ),
        (
            "[aliases]\nkyiv = []\n",
            "watchlist.toml:2:8: aliases.kyiv: an alias needs at least one spelling",
        ),
        (
            "[aliases]\nkyiv = [\"Kyiv\", \" \"]\n",
            "watchlist.toml:2:17: aliases.kyiv[2]: empty spelling",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text, Path::new("watchlist.toml"))
            .expect_err(text)
            .to_string();
        let first = err.lines().next().unwrap();
        assert!(
            first.starts_with(want),
            "config:\n{text}\nwant: {want}\ngot:  {first}"
        );
    }
}

#[test]
fn defaults_and_overrides() {
    let c = check_ok("");
    assert_eq!(c.settings, Settings::default());
    let c = check_ok(
        "[settings]\ninterval = \"1h\"\nalert_on_first_poll = true\nhost_spacing = \"0s\"\nmax_body_size = \"1MiB\"\n\
         [[feed]]\nurl = \"https://user:secret@a.example/rss\"\ninterval = \"30m\"\n",
    );
    assert_eq!(c.settings.interval, Duration::from_secs(3600));
    assert!(c.settings.alert_on_first_poll);
    assert_eq!(c.settings.host_spacing, Duration::ZERO);
    assert_eq!(c.settings.max_body_bytes, 1 << 20);
    assert_eq!(c.feeds[0].interval, Some(Duration::from_secs(1800)));
    assert_eq!(
        redact_url(&c.feeds[0].url),
        "https://a.example/rss",
        "credentials never shown"
    );
}
