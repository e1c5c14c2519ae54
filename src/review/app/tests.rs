//! Key handling without a terminal: moving, paging, the filter prompt, marks, mutes, panes.

use super::*;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn row(id: i64, title: &str) -> AlertRow {
    AlertRow {
        id,
        created_at: now(),
        created_key: crate::store::ts(now()),
        topic: "NATO".into(),
        source: "Wire".into(),
        title: title.into(),
        mark: None,
        delivered_via: None,
        link: Some(format!("https://a.example/{id}")),
    }
}

fn now() -> DateTime<Utc> {
    crate::store::test_support::now()
}

fn app_with(n: i64) -> App {
    let mut app = App::new(FixedOffset::east_opt(0).unwrap());
    app.append_page(AlertPage {
        rows: (0..n).map(|i| row(n - i, &format!("Story {i}"))).collect(),
        next: None,
    });
    app
}

#[test]
fn moving_and_paging() {
    let mut app = app_with(100);
    assert!(app.alerts_end, "a page without a next is the last");
    for k in [KeyCode::Char('j'), KeyCode::Down, KeyCode::Down] {
        app.handle_key(key(k), now());
    }
    assert_eq!(app.selected, 3);
    app.handle_key(key(KeyCode::Char('k')), now());
    assert_eq!(app.selected, 2);
    app.page_rows = 20;
    app.handle_key(key(KeyCode::PageDown), now());
    assert_eq!(app.selected, 22);
    app.handle_key(key(KeyCode::Char('G')), now());
    assert_eq!(app.selected, 99);
    app.handle_key(key(KeyCode::PageDown), now());
    assert_eq!(app.selected, 99, "stops at the end");
    app.handle_key(key(KeyCode::Char('g')), now());
    assert_eq!(app.selected, 0);
    app.handle_key(key(KeyCode::Up), now());
    assert_eq!(app.selected, 0, "stops at the top");

    let mut app = App::new(FixedOffset::east_opt(0).unwrap());
    assert!(app.needs_more(), "nothing loaded yet");
    let rows: Vec<AlertRow> = (0..200).map(|i| row(1000 - i, "x")).collect();
    let next = Some(PageKey::from(&rows[199]));
    app.append_page(AlertPage { rows, next });
    assert!(!app.needs_more());
    app.handle_key(key(KeyCode::Char('G')), now());
    assert!(app.needs_more(), "near the end of a full page");
}

#[test]
fn filter_prompt_applies_on_enter_and_cancels_on_esc() {
    let mut app = app_with(3);
    app.handle_key(key(KeyCode::Char('/')), now());
    assert_eq!(app.prompt.as_deref(), Some(""));
    for c in "topic:NATO finlXnd".chars() {
        app.handle_key(key(KeyCode::Char(c)), now());
    }
    app.handle_key(key(KeyCode::Backspace), now());
    app.handle_key(key(KeyCode::Backspace), now());
    app.handle_key(key(KeyCode::Backspace), now());
    for c in "and".chars() {
        app.handle_key(key(KeyCode::Char(c)), now());
    }
    assert_eq!(
        app.handle_key(key(KeyCode::Char('q')), now()),
        Action::None,
        "q is text in the prompt"
    );
    app.handle_key(key(KeyCode::Backspace), now());
    assert_eq!(app.handle_key(key(KeyCode::Enter), now()), Action::Reload);
    assert_eq!(app.filter.topic.as_deref(), Some("NATO"));
    assert_eq!(app.filter.text.as_deref(), Some("finland"));
    assert!(app.alerts.is_empty() && app.prompt.is_none());

    app.handle_key(key(KeyCode::Char('/')), now());
    app.handle_key(key(KeyCode::Char('x')), now());
    assert_eq!(app.handle_key(key(KeyCode::Esc), now()), Action::None);
    assert_eq!(app.filter.text.as_deref(), Some("finland"), "Esc cancels");
    assert_eq!(
        app.handle_key(key(KeyCode::Esc), now()),
        Action::Reload,
        "Esc again clears the filter"
    );
    assert_eq!(app.filter, AlertFilter::default());
}

#[test]
fn marks_mutes_opens_and_quits() {
    let mut app = app_with(3);
    app.handle_key(key(KeyCode::Char('j')), now());
    let id = app.alerts[1].id;
    let a = app.handle_key(key(KeyCode::Char('n')), now());
    assert_eq!(
        a,
        Action::Mark {
            target: MarkTarget::Alert(id),
            label: false
        }
    );
    app.apply_mark(&MarkTarget::Alert(id), false);
    assert_eq!(app.alerts[1].mark, Some(false));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('m')), now()),
        Action::MuteTopic("NATO".into())
    );
    assert_eq!(
        app.handle_key(key(KeyCode::Enter), now()),
        Action::Open(format!("https://a.example/{id}"))
    );
    app.alerts[1].link = Some("javascript:alert(1)".into());
    assert_eq!(app.handle_key(key(KeyCode::Char('o')), now()), Action::None);
    assert!(app.status.contains("http"));
    app.handle_key(key(KeyCode::Char('?')), now());
    assert!(app.help);
    app.handle_key(key(KeyCode::Esc), now());
    assert!(!app.help, "any key closes the help");
    assert_eq!(app.handle_key(key(KeyCode::Char('q')), now()), Action::Quit);
    assert_eq!(
        app.handle_key(
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            now()
        ),
        Action::Quit
    );
}

#[test]
fn panes_cycle_and_load_what_they_show() {
    let mut app = app_with(3);
    assert_eq!(app.pane, Pane::Alerts);
    assert_eq!(app.wants_detail(), None);
    app.handle_key(key(KeyCode::Tab), now());
    assert_eq!(app.pane, Pane::Detail);
    assert_eq!(app.wants_detail(), Some(app.alerts[0].id));
    app.handle_key(key(KeyCode::Tab), now());
    assert_eq!(app.pane, Pane::Queue);
    assert!(app.wants_queue());
    app.queue = Loading::Ready(vec![QueueItem {
        topic: "NATO".into(),
        article_id: 9,
        alert_id: None,
        title: "t".into(),
        source: "s".into(),
        link: None,
        score: 0.45,
        threshold: 0.5,
        mark: None,
    }]);
    assert!(!app.wants_queue());
    let a = app.handle_key(key(KeyCode::Char('y')), now());
    let target = MarkTarget::Article {
        id: 9,
        topic: "NATO".into(),
    };
    assert_eq!(
        a,
        Action::Mark {
            target: target.clone(),
            label: true
        }
    );
    app.apply_mark(&target, true);
    assert!(matches!(&app.queue, Loading::Ready(i) if i[0].mark == Some(true)));
    assert_eq!(
        app.handle_key(key(KeyCode::Char('r')), now()),
        Action::Refigure
    );
    app.handle_key(key(KeyCode::Tab), now());
    assert_eq!(app.pane, Pane::Feeds);
    app.feeds.push(FeedLine {
        id: FeedId(4),
        url: "https://a.example/rss".into(),
        name: "A".into(),
        last_polled_at: None,
        last_status: None,
        next_poll_at: None,
        failures: 0,
        switched_off: false,
        state: "ok".into(),
        muted_until: None,
    });
    assert_eq!(
        app.handle_key(key(KeyCode::Char('e')), now()),
        Action::SetFeedEnabled {
            url: "https://a.example/rss".into(),
            enabled: false
        }
    );
    assert_eq!(
        app.handle_key(key(KeyCode::Char('m')), now()),
        Action::MuteFeed {
            id: FeedId(4),
            name: "A".into()
        }
    );
    app.handle_key(key(KeyCode::Tab), now());
    assert_eq!(app.pane, Pane::Alerts);
    app.handle_key(key(KeyCode::BackTab), now());
    assert_eq!(app.pane, Pane::Feeds);
}

#[test]
fn new_alerts_go_on_top_and_the_cursor_stays_on_its_alert() {
    let mut app = app_with(3);
    app.handle_key(key(KeyCode::Down), now());
    let on = app.alerts[1].id;
    app.prepend_new(vec![row(10, "new 1"), row(9, "new 2")]);
    assert_eq!(app.alerts.len(), 5);
    assert_eq!(app.alerts[app.selected].id, on);
}
