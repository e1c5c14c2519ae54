//! Watch-list files for tests, built as TOML tables.

use std::path::PathBuf;

use toml::{Table, Value};

/// Topic names and queries used by most tests. Both match the seed article; the unrelated
/// seed items match neither.
pub const NATO: (&str, &str) = ("NATO membership", "NATO AND (membership OR join*)");
pub const TALKS: (&str, &str) = (
    "Peace talks",
    "(Putin OR Kremlin) AND (Zelensky OR Ukraine) AND (talks OR negotiat*)",
);

/// The fallback for the shipped example's topics while `config/watchlist.toml` is missing.
const SHIPPED_FALLBACK: [(&str, &str); 2] = [
    NATO,
    (
        "Putin–Zelensky talks",
        "(Putin OR Kremlin) AND (Zelensky OR Ukraine) AND (talks OR negotiat*)",
    ),
];

#[derive(Debug, Clone)]
pub struct WatchList {
    table: Table,
}

impl WatchList {
    /// `[settings] interval = "15m", alert_on_first_poll = true, host_spacing = "0s"` and no
    /// feeds or topics. (Every test feed is on 127.0.0.1: without `host_spacing = "0s"` the
    /// polite 2 s spacing between requests to one host would make multi-feed tests slow.)
    pub fn empty() -> WatchList {
        let mut settings = Table::new();
        settings.insert("interval".into(), Value::String("15m".into()));
        settings.insert("alert_on_first_poll".into(), Value::Boolean(true));
        settings.insert("host_spacing".into(), Value::String("0s".into()));
        let mut table = Table::new();
        table.insert("settings".into(), Value::Table(settings));
        WatchList { table }
    }

    /// [`WatchList::empty`] with the topics [`NATO`] and [`TALKS`].
    pub fn standard() -> WatchList {
        WatchList::empty()
            .topic(NATO.0, NATO.1)
            .topic(TALKS.0, TALKS.1)
    }

    /// The shipped example `config/watchlist.toml` with its feeds removed, or (while it does
    /// not exist yet) two inline topics like its own. The flag says which one it is.
    pub fn shipped_example() -> (WatchList, bool) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/watchlist.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut table: Table = toml::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", path.display()));
                table.remove("feed");
                // Example files are relative to the watch-list: point them at config/.
                let dir = path.parent().expect("config/");
                let absolute = |file: &str| Value::String(dir.join(file).display().to_string());
                if let Some(Value::Array(topics)) = table.get_mut("topic") {
                    for t in topics.iter_mut().filter_map(Value::as_table_mut) {
                        let Some(Value::Array(files)) = t.get_mut("examples") else {
                            continue;
                        };
                        for f in files.iter_mut() {
                            match f {
                                Value::String(s) => *f = absolute(s),
                                Value::Table(e) => {
                                    if let Some(Value::String(s)) = e.get("file") {
                                        let v = absolute(s);
                                        e.insert("file".into(), v);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                let mut w = WatchList { table };
                w.settings()
                    .insert("host_spacing".into(), Value::String("0s".into()));
                (w, true)
            }
            Err(_) => {
                let mut w = WatchList::empty();
                for (name, query) in SHIPPED_FALLBACK {
                    w = w.topic(name, query);
                }
                (w, false)
            }
        }
    }

    fn settings(&mut self) -> &mut Table {
        self.table
            .entry("settings")
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .expect("[settings] is a table")
    }

    pub fn alert_on_first_poll(mut self, on: bool) -> WatchList {
        self.settings()
            .insert("alert_on_first_poll".into(), Value::Boolean(on));
        self
    }

    fn push(&mut self, key: &str, entry: Table) {
        let arr = self
            .table
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .unwrap_or_else(|| panic!("{key} is an array of tables"));
        arr.push(Value::Table(entry));
    }

    /// Adds a `[[feed]]`, with a `name` unless `None`.
    pub fn feed(mut self, url: &str, name: Option<&str>) -> WatchList {
        let mut t = Table::new();
        t.insert("url".into(), Value::String(url.into()));
        if let Some(name) = name {
            t.insert("name".into(), Value::String(name.into()));
        }
        self.push("feed", t);
        self
    }

    /// Sets `[settings] key = value` (e.g. `("batch_after", 10)`, `("quiet_hours", "23:00-07:00")`,
    /// `("opener", vec!["/path/to/script"])`).
    pub fn setting(mut self, key: &str, value: impl Into<Value>) -> WatchList {
        self.settings().insert(key.into(), value.into());
        self
    }

    /// Adds a `[[feed]]` with a `name` and its own `interval` (may be below the 5 min floor,
    /// e.g. `"1s"`, so that `tidings run` polls it again soon).
    pub fn feed_every(mut self, url: &str, name: &str, interval: &str) -> WatchList {
        let mut t = Table::new();
        t.insert("url".into(), Value::String(url.into()));
        t.insert("name".into(), Value::String(name.into()));
        t.insert("interval".into(), Value::String(interval.into()));
        self.push("feed", t);
        self
    }

    /// Adds a `[[topic]]` with an `urgency` (`low`, `normal`, `critical`).
    pub fn topic_with_urgency(mut self, name: &str, query: &str, urgency: &str) -> WatchList {
        let mut t = Table::new();
        t.insert("name".into(), Value::String(name.into()));
        t.insert("query".into(), Value::String(query.into()));
        t.insert("urgency".into(), Value::String(urgency.into()));
        self.push("topic", t);
        self
    }

    /// Adds a `[[topic]]` that learns: `examples = [files...]` (relative to the watch-list).
    pub fn topic_learning(mut self, name: &str, query: &str, examples: &[&str]) -> WatchList {
        let mut t = Table::new();
        t.insert("name".into(), Value::String(name.into()));
        t.insert("query".into(), Value::String(query.into()));
        t.insert(
            "examples".into(),
            Value::Array(
                examples
                    .iter()
                    .map(|e| Value::String(e.to_string()))
                    .collect(),
            ),
        );
        self.push("topic", t);
        self
    }

    pub fn topic(mut self, name: &str, query: &str) -> WatchList {
        let mut t = Table::new();
        t.insert("name".into(), Value::String(name.into()));
        t.insert("query".into(), Value::String(query.into()));
        self.push("topic", t);
        self
    }

    /// Names of the enabled topics, in order.
    pub fn topic_names(&self) -> Vec<String> {
        let Some(Value::Array(topics)) = self.table.get("topic") else {
            return Vec::new();
        };
        topics
            .iter()
            .filter_map(Value::as_table)
            .filter(|t| t.get("enabled").and_then(Value::as_bool).unwrap_or(true))
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    }

    /// The `urgency` of the enabled topic `name` (`normal` when not given).
    pub fn topic_urgency(&self, name: &str) -> Option<String> {
        let Some(Value::Array(topics)) = self.table.get("topic") else {
            return None;
        };
        topics
            .iter()
            .filter_map(Value::as_table)
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
            .map(|t| {
                t.get("urgency")
                    .and_then(Value::as_str)
                    .unwrap_or("normal")
                    .to_owned()
            })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(&self.table).expect("serialise watch-list")
    }
}
