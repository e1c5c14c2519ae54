//! The panes drawn on ratatui's `TestBackend` at 80×24 and 160×40, snapshotted with insta:
//! long headlines, Cyrillic, Hebrew and Arabic, a control character in a title (drawn
//! escaped), an empty database.

use chrono::{DateTime, FixedOffset, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::model::{FeedId, Field, Hit, Learned, Snippet};
use crate::review::app::{App, FeedLine, Loading, Pane, QueueItem, TopicFigures};
use crate::store::{AlertDetail, AlertPage, AlertRow};

fn at(minutes: i64) -> DateTime<Utc> {
    crate::store::test_support::now() + chrono::Duration::minutes(minutes)
}

fn row(id: i64, topic: &str, source: &str, title: &str, mark: Option<bool>) -> AlertRow {
    AlertRow {
        id,
        created_at: at(-id * 7),
        created_key: crate::store::ts(at(-id * 7)),
        topic: topic.into(),
        source: source.into(),
        title: title.into(),
        mark,
        delivered_via: Some("desktop".into()),
        link: Some(format!("https://news.example/{id}")),
    }
}

const LONG: &str = "Finland and Sweden formally apply to join NATO in a historic shift away from decades of military non-alignment, ending a policy that outlasted the Cold War";

fn full_app() -> App {
    let mut app = App::new(FixedOffset::east_opt(0).unwrap());
    let rows = vec![
        row(1, "NATO membership", "Reuters World", LONG, None),
        row(
            2,
            "Talks",
            "Українська правда",
            "Зеленський і Путін: переговори в Стамбулі відновлюються",
            Some(true),
        ),
        row(
            3,
            "Talks",
            "הארץ",
            "שיחות השלום בין רוסיה לאוקראינה יתחדשו באיסטנבול",
            Some(false),
        ),
        row(
            4,
            "NATO membership",
            "الجزيرة",
            "فنلندا والسويد تتقدمان بطلب الانضمام إلى حلف الناتو",
            None,
        ),
        row(
            5,
            "Talks",
            "Evil \u{1b}]0;feed\u{7}",
            "Talks \u{1b}[2J resume\u{202e} today\u{7}",
            None,
        ),
        row(
            6,
            "NATO membership",
            "Kyiv Independent",
            "NATO summit opens in Vilnius",
            None,
        ),
    ];
    app.append_page(AlertPage { rows, next: None });
    app.feeds = vec![
        FeedLine {
            id: FeedId(1),
            url: "https://reuters.example/world.rss".into(),
            name: "Reuters World".into(),
            last_polled_at: Some(at(-3)),
            last_status: Some(200),
            next_poll_at: Some(at(12)),
            failures: 0,
            switched_off: false,
            state: "ok".into(),
            muted_until: None,
        },
        FeedLine {
            id: FeedId(2),
            url: "https://pravda.example/rss".into(),
            name: "Українська правда".into(),
            last_polled_at: Some(at(-30)),
            last_status: Some(503),
            next_poll_at: Some(at(90)),
            failures: 3,
            switched_off: false,
            state: "host deferred until 11-27 13:30 (Retry-After); backing off; error: HTTP 503 Service Unavailable \u{1b}[31m".into(),
            muted_until: Some(at(60)),
        },
        FeedLine {
            id: FeedId(3),
            url: "https://old.example/feed".into(),
            name: "Old blog with a rather long feed title".into(),
            last_polled_at: None,
            last_status: None,
            next_poll_at: None,
            failures: 0,
            switched_off: true,
            state: "disabled in the watch-list".into(),
            muted_until: None,
        },
    ];
    app.detail = Some(AlertDetail {
        id: 1,
        article_id: 11,
        feed_id: FeedId(1),
        created_at: at(-7),
        published_at: None,
        topic: "NATO membership".into(),
        source: "Reuters World".into(),
        feed_url: "https://reuters.example/world.rss".into(),
        title: LONG.into(),
        link: Some("https://news.example/1".into()),
        summary: "Helsinki and Stockholm hand in their NATO applications; Turkey objects. \u{1b}[2J The accession talks start in Brussels.".into(),
        terms: vec!["nato".into(), "join*".into()],
        hits: vec![
            hit("nato", Field::Title, LONG, "NATO"),
            hit("join*", Field::Title, LONG, "join"),
            hit("nato", Field::Summary, "Helsinki and Stockholm hand in their NATO applications; Turkey objects. \u{1b}[2J The accession talks start in Brussels.", "NATO"),
        ],
        snippet: Snippet::default(),
        learned: Some(Learned {
            score: 0.93,
            threshold: 0.5,
            reasons: vec![("t:join".into(), 0.81), ("q:nato".into(), 0.62)],
        }),
        also_reported_by: vec!["Kyiv Independent".into(), "الجزيرة".into()],
        mark: None,
    });
    app.queue = Loading::Ready(vec![
        QueueItem {
            topic: "NATO membership".into(),
            article_id: 40,
            alert_id: None,
            title: "NATO jets scrambled over the Baltic as Finland debates".into(),
            source: "Reuters World".into(),
            link: None,
            score: 0.48,
            threshold: 0.5,
            mark: None,
        },
        QueueItem {
            topic: "NATO membership".into(),
            article_id: 41,
            alert_id: Some(4),
            title: "فنلندا والسويد تتقدمان بطلب الانضمام إلى حلف الناتو".into(),
            source: "الجزيرة".into(),
            link: None,
            score: 0.53,
            threshold: 0.5,
            mark: Some(true),
        },
        QueueItem {
            topic: "Talks".into(),
            article_id: 42,
            alert_id: None,
            title: "Делегації зустрінуться знову наступного тижня".into(),
            source: "Українська правда".into(),
            link: None,
            score: 0.41,
            threshold: 0.5,
            mark: None,
        },
    ]);
    app.figures_before = Loading::Ready(vec![
        figures("NATO membership", 3, 2, Some(0.871)),
        figures("Talks", 0, 1, Some(0.86)),
    ]);
    app.figures_after = Loading::Ready(vec![
        figures("NATO membership", 4, 2, Some(0.88)),
        figures("Talks", 0, 1, None),
    ]);
    app
}

fn figures(topic: &str, right: u32, wrong: u32, f1: Option<f64>) -> TopicFigures {
    TopicFigures {
        topic: topic.into(),
        right,
        wrong,
        f1,
    }
}

fn hit(term: &str, field: Field, text: &str, found: &str) -> Hit {
    let start = text.find(found).unwrap();
    Hit {
        term: term.into(),
        text: found.into(),
        field,
        start,
        end: start + found.len(),
    }
}

fn empty_app() -> App {
    let mut app = App::new(FixedOffset::east_opt(0).unwrap());
    app.append_page(AlertPage {
        rows: Vec::new(),
        next: None,
    });
    app.queue = Loading::Ready(Vec::new());
    app.figures_before = Loading::Ready(Vec::new());
    app
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(f, app)).unwrap();
    t
}

fn snap(name: &str, mut app: App, pane: Pane) {
    app.pane = pane;
    for (w, h) in [(80, 24), (160, 40)] {
        let t = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn alerts_pane() {
    let mut app = full_app();
    app.selected = 1;
    snap("alerts", app, Pane::Alerts);
}

#[test]
fn alerts_pane_with_a_filter_and_the_prompt() {
    let mut app = full_app();
    app.filter_text = "topic:Talks since:7d".into();
    app.prompt = Some("feed:wire finland".into());
    snap("alerts_prompt", app, Pane::Alerts);
}

#[test]
fn detail_pane() {
    snap("detail", full_app(), Pane::Detail);
}

#[test]
fn queue_pane() {
    let mut app = full_app();
    app.queue_selected = 1;
    snap("queue", app, Pane::Queue);
}

#[test]
fn feeds_pane() {
    snap("feeds", full_app(), Pane::Feeds);
}

#[test]
fn help_screen() {
    let mut app = full_app();
    app.help = true;
    snap("help", app, Pane::Alerts);
}

#[test]
fn empty_database() {
    for pane in Pane::ALL {
        snap(
            &format!("empty_{}", pane.title().to_lowercase()),
            empty_app(),
            pane,
        );
    }
}

/// Feed text never reaches the terminal raw: the escape sequence, BEL and the bidi override
/// of row 5 are drawn as visible escapes.
#[test]
fn control_characters_are_drawn_escaped() {
    let mut app = full_app();
    let t = draw(&mut app, 160, 40);
    let text = format!("{}", t.backend());
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'));
    assert!(
        text.contains("Talks \\x1b[2J resume\\u{202e} today\\x07"),
        "{text}"
    );
}
