//! The poll benchmark program (`harness = false`): the real `tidings` binary against N
//! generated feeds on a loopback server, measured from outside (wall time, user+sys CPU and
//! peak RSS of the child from `wait4`).
//!
//! ```sh
//! cargo bench --bench poll                         # N = 100, 1000, 10000 + daemon + 1M-article DB
//! cargo bench --bench poll -- --n 100,1000 --skip-db --skip-idle
//! TIDINGS_BENCH_N=100 TIDINGS_BENCH_ARTICLES=200000 cargo bench --bench poll
//! ```
//!
//! Options (also as env): `--n LIST` (`TIDINGS_BENCH_N`, default `100,1000,10000`),
//! `--reps R` (`TIDINGS_BENCH_REPS`, default 3; runs at N > 1000 are done once),
//! `--articles M` (`TIDINGS_BENCH_ARTICLES`, default 1,000,000), `--skip-idle`, `--skip-db`,
//! `--keep DIR` (keep the databases and watch-lists there), `--serve DIR` (only serve the feeds
//! and write `DIR/watchlist-N.toml`, for profiling by hand; `TIDINGS_BENCH_304=1` honours validators).
//! `TIDINGS_BENCH_BIN=PATH` measures another build of `tidings` instead of this package's
//! (to compare two builds on the same generated feeds).
//!
//! The database part also runs `tidings review` in an 80×24 pseudo-terminal on the M-article
//! database (first frame, then the time per scrolling key; see `review_in_terminal`). Only
//! that part, on a smaller database: `TIDINGS_BENCH_N= TIDINGS_BENCH_ARTICLES=100000 cargo
//! bench --bench poll -- --skip-idle` (an empty `--n` list skips the poll passes).
//!
//! Feeds are generated deterministically (seeded by feed number; dates relative to today, so
//! that articles are inside the retention horizon and can alert).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

/// The pseudo-terminal of the integration tests (`tidings review` is measured in one).
#[allow(dead_code)]
#[path = "../tests/it/support/pty.rs"]
mod pty;

const BIN_BUILT: &str = env!("CARGO_BIN_EXE_tidings");
/// The binary measured: `TIDINGS_BENCH_BIN` (another build, to compare), else this package's.
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("TIDINGS_BENCH_BIN").unwrap_or_else(|_| BIN_BUILT.to_string())
});
const LAST_MODIFIED: &str = "Wed, 25 Nov 2026 10:00:00 GMT";

// ---------------------------------------------------------------------------------------------
// Deterministic generator

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5151_5151)
    }
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SUBJECTS: &[&str] = &[
    "The government",
    "Officials in Brussels",
    "The central bank",
    "Rescue workers",
    "The prime minister",
    "Opposition leaders",
    "Scientists at the university",
    "Local authorities",
    "The company",
    "Thousands of protesters",
    "The European Commission",
    "Health officials",
    "Investors",
    "Police",
    "The foreign ministry",
    "Union representatives",
    "The election commission",
    "Farmers",
    "The World Health Organization",
    "Regional governors",
];
const VERBS: &[&str] = &[
    "announced",
    "warned of",
    "confirmed",
    "denied reports of",
    "pledged",
    "criticised",
    "welcomed",
    "unveiled",
    "postponed",
    "called for",
    "launched an inquiry into",
    "approved",
];
const OBJECTS: &[&str] = &[
    "new measures to curb inflation",
    "a plan to expand high-speed rail links",
    "a sharp rise in energy prices",
    "an agreement on fishing quotas",
    "cuts to the education budget",
    "a vaccination campaign for children",
    "changes to the pension system",
    "a record harvest after heavy rains",
    "stricter rules for social media platforms",
    "the closure of two coal-fired power stations",
    "a delay to the new airport terminal",
    "talks with striking rail workers",
    "an investigation into the bridge collapse",
    "higher interest rates",
    "a programme to build affordable housing",
];
const PLACES: &[&str] = &[
    "in Berlin",
    "in Nairobi",
    "across the region",
    "in the capital",
    "on Tuesday",
    "late on Friday",
    "in a statement",
    "at a press conference",
    "in Madrid",
    "in Jakarta",
    "in São Paulo",
    "in Montréal",
    "this week",
    "despite criticism",
];
const HEADLINE_TAILS: &[&str] = &[
    "as pressure mounts",
    "amid growing concern",
    "after weeks of debate",
    "in surprise move",
    "– what we know so far",
    "despite warnings",
    "ahead of key vote",
];
/// Headlines and sentences the example watch-list's topics should catch (and near misses).
const TOPICAL: &[(&str, &str)] = &[
    (
        "Finland and Sweden formally apply to join NATO",
        "Finland and Sweden formally applied to join NATO on Wednesday, ending decades of military non-alignment.",
    ),
    (
        "Erdogan says Turkey will not approve Sweden's NATO bid yet",
        "Turkey's President Erdogan said Ankara would not ratify Sweden's accession until its concerns were addressed.",
    ),
    (
        "Zelensky says he is ready to meet Putin face-to-face",
        "Zelensky said he was ready to meet Putin for direct talks to end the war, the Kremlin said no date was set.",
    ),
    (
        "Russian and Ukrainian delegations hold new round of peace talks in Istanbul",
        "Russian and Ukrainian negotiators met in Istanbul for a new round of talks, with Turkey acting as mediator.",
    ),
    (
        "NATO leaders discuss Ukraine's membership aspirations at summit",
        "NATO leaders discussed Ukraine's membership aspirations and security guarantees for Kyiv at the summit.",
    ),
    (
        "NATO member Poland sends more tanks to the border",
        "Poland, a NATO member, said it would send more tanks to its eastern border after the latest drills.",
    ),
    (
        "Biden meets Zelensky in Washington",
        "US President Biden met Zelensky at the White House to discuss military aid for Ukraine.",
    ),
];

fn sentence(r: &mut Rng) -> String {
    format!(
        "{} {} {} {}.",
        r.pick(SUBJECTS),
        r.pick(VERBS),
        r.pick(OBJECTS),
        r.pick(PLACES)
    )
}

fn headline(r: &mut Rng) -> String {
    let mut h = format!("{} {} {}", r.pick(SUBJECTS), r.pick(VERBS), r.pick(OBJECTS));
    if r.below(2) == 0 {
        h.push(' ');
        h.push_str(r.pick(HEADLINE_TAILS));
    }
    h
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One generated feed document: RSS 2.0 for even feeds, Atom for odd ones; 20–60 items,
/// 50–100 KB; about one item in ten is topical.
fn gen_feed(i: usize, today: DateTime<Utc>) -> Vec<u8> {
    let mut r = Rng::new(i as u64 + 1);
    let atom = i % 2 == 1;
    let items = 20 + r.below(41);
    let target = 50_000 + r.below(50_000);
    let host = format!("news{}.example", i);
    let per_item = target / items;
    let mut out = String::with_capacity(target + 4096);
    let title = format!(
        "World News {i} – {}",
        r.pick(&["Top stories", "Europe", "World", "Politics"])
    );
    if atom {
        let _ = write!(
            out,
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<title>{}</title><id>https://{host}/</id><link rel="alternate" href="https://{host}/"/>
<link rel="self" href="https://{host}/feed.atom"/><updated>{}</updated>
"#,
            xml_escape(&title),
            today.to_rfc3339()
        );
    } else {
        let _ = write!(
            out,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>{}</title><link>https://{host}/</link><description>Latest news</description>
<language>en</language><ttl>15</ttl><lastBuildDate>{}</lastBuildDate>
"#,
            xml_escape(&title),
            today.to_rfc2822()
        );
    }
    for k in 0..items {
        let topical = (r.below(10) == 0).then(|| TOPICAL[r.below(TOPICAL.len())]);
        let head = match topical {
            Some((h, _)) => h.to_string(),
            None => headline(&mut r),
        };
        let slug: String = head
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .take(60)
            .collect::<String>()
            .to_lowercase()
            .replace(' ', "-");
        let link =
            format!("https://www.{host}/world/2026/{slug}-{i}-{k}?utm_source=rss&utm_medium=feed");
        let published = today - chrono::Duration::minutes((k * 37 + r.below(30)) as i64);
        let mut summary = String::new();
        if let Some((_, s)) = topical {
            summary.push_str(s);
        }
        for _ in 0..(1 + r.below(3)) {
            if !summary.is_empty() {
                summary.push(' ');
            }
            summary.push_str(&sentence(&mut r));
        }
        let summary_html = format!(
            "<p>{}</p><p><a href=\"https://www.{host}/tag/world\">More world news</a> &amp; analysis</p>",
            xml_escape(&summary)
        );
        // Content fills the item up to its share of the feed's size.
        let mut content = String::from("<div class=\"article-body\">");
        let budget = per_item.saturating_sub(summary_html.len() * 2 + 500);
        while content.len() < budget {
            content.push_str("<p>");
            for _ in 0..(2 + r.below(4)) {
                content.push_str(&xml_escape(&sentence(&mut r)));
                content.push(' ');
            }
            content.push_str("</p>\n");
        }
        content.push_str("</div>");
        let author = r.pick(&[
            "Anna Kowalska",
            "John Smith",
            "Maria García",
            "Staff and agencies",
        ]);
        let category = r.pick(&["World", "Europe", "Politics", "Business", "Science"]);
        if atom {
            let _ = writeln!(
                out,
                "<entry><title>{}</title><link rel=\"alternate\" href=\"{}\"/><id>tag:{host},2026:{i}-{k}</id>\
                 <published>{}</published><updated>{}</updated><author><name>{author}</name></author>\
                 <category term=\"{category}\"/><summary type=\"html\">{}</summary>\
                 <content type=\"html\">{}</content></entry>",
                xml_escape(&head),
                xml_escape(&link),
                published.to_rfc3339(),
                published.to_rfc3339(),
                xml_escape(&summary_html),
                xml_escape(&content),
            );
        } else {
            let _ = writeln!(
                out,
                "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{host}-{i}-{k}</guid>\
                 <pubDate>{}</pubDate><dc:creator>{author}</dc:creator><category>{category}</category>\
                 <description>{}</description><content:encoded><![CDATA[{}]]></content:encoded></item>",
                xml_escape(&head),
                xml_escape(&link),
                published.to_rfc2822(),
                xml_escape(&summary_html),
                content,
            );
        }
    }
    out.push_str(if atom {
        "</feed>\n"
    } else {
        "</channel></rss>\n"
    });
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Loopback server: HTTP/1.1 keep-alive, a thread per connection, ETag/Last-Modified + 304.

struct Server {
    port: u16,
    feeds: RwLock<Vec<Arc<Vec<u8>>>>,
    /// Honour validators (304) or ignore them (always 200).
    honour_validators: AtomicBool,
    requests: AtomicUsize,
    not_modified: AtomicUsize,
    bytes: AtomicU64,
    first_request: Mutex<Option<Instant>>,
}

impl Server {
    fn start() -> Arc<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let server = Arc::new(Server {
            port: listener.local_addr().unwrap().port(),
            feeds: RwLock::new(Vec::new()),
            honour_validators: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            first_request: Mutex::new(None),
        });
        let s = server.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = s.serve(conn);
                });
            }
        });
        server
    }

    fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/feed/{i}.xml", self.port)
    }

    fn reset_counters(&self) {
        self.requests.store(0, Ordering::SeqCst);
        self.not_modified.store(0, Ordering::SeqCst);
        self.bytes.store(0, Ordering::SeqCst);
        *self.first_request.lock().unwrap() = None;
    }

    fn serve(&self, conn: TcpStream) -> std::io::Result<()> {
        conn.set_nodelay(true)?;
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut writer = conn;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            {
                let mut first = self.first_request.lock().unwrap();
                if first.is_none() {
                    *first = Some(Instant::now());
                }
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut inm = None;
            let mut ims = None;
            let mut content_length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h)? == 0 {
                    return Ok(());
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    let v = v.trim().to_string();
                    match k.to_ascii_lowercase().as_str() {
                        "if-none-match" => inm = Some(v),
                        "if-modified-since" => ims = Some(v),
                        "content-length" => content_length = v.parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            if content_length > 0 {
                let mut skip = vec![0; content_length];
                reader.read_exact(&mut skip)?;
            }
            let id = path
                .strip_prefix("/feed/")
                .and_then(|p| p.strip_suffix(".xml"))
                .and_then(|n| n.parse::<usize>().ok());
            let body = id.and_then(|i| self.feeds.read().unwrap().get(i).cloned());
            let Some(body) = body else {
                writer.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
                continue;
            };
            let etag = format!("\"feed-{}-v1\"", id.unwrap());
            let fresh = inm.as_deref() == Some(etag.as_str())
                || (inm.is_none() && ims.as_deref() == Some(LAST_MODIFIED));
            if fresh && self.honour_validators.load(Ordering::Relaxed) {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
                let head = format!(
                    "HTTP/1.1 304 Not Modified\r\netag: {etag}\r\nlast-modified: {LAST_MODIFIED}\r\n\r\n"
                );
                writer.write_all(head.as_bytes())?;
                continue;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/xml; charset=utf-8\r\ncontent-length: {}\r\n\
                 etag: {etag}\r\nlast-modified: {LAST_MODIFIED}\r\n\r\n",
                body.len()
            );
            writer.write_all(head.as_bytes())?;
            writer.write_all(&body)?;
            self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Watch-list

/// The example watch-list, its topics' example files pointed at `config/` (they are relative
/// to the watch-list, which the bench writes elsewhere). With `TIDINGS_BENCH_NO_LEARN=1` the
/// topics lose their examples: the queries alone decide (to measure what learning costs).
fn example_watchlist() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/watchlist.toml");
    let text = std::fs::read_to_string(&path).expect("read config/watchlist.toml");
    let mut t = text
        .parse::<toml::Table>()
        .expect("example watch-list is TOML");
    let dir = path.parent().expect("config/");
    let no_learn = std::env::var("TIDINGS_BENCH_NO_LEARN").is_ok_and(|v| v == "1");
    let topics = t.get_mut("topic").and_then(toml::Value::as_array_mut);
    for topic in topics
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table_mut)
    {
        if no_learn {
            topic.remove("examples");
            continue;
        }
        let files = topic
            .get_mut("examples")
            .and_then(toml::Value::as_array_mut);
        for f in files.into_iter().flatten() {
            let file = match f {
                toml::Value::Table(e) => e.get_mut("file"),
                other => Some(other),
            };
            if let Some(toml::Value::String(s)) = file {
                *s = dir.join(&*s).display().to_string();
            }
        }
    }
    t
}

/// The example's `[aliases]` and `[[topic]]`s, the benchmark's settings, and `urls` as feeds.
fn write_watchlist(path: &Path, urls: &[String]) {
    write_watchlist_with(path, urls, None);
}

/// [`write_watchlist`], every feed with its own `interval` when one is given (a feed's own
/// interval may be below the 5-minute floor of the default one).
fn write_watchlist_with(path: &Path, urls: &[String], feed_interval: Option<&str>) {
    let mut t = example_watchlist();
    t.remove("feed");
    let mut settings = toml::Table::new();
    settings.insert("interval".into(), "12h".into());
    settings.insert("concurrency".into(), 8.into());
    settings.insert("host_concurrency".into(), 8.into());
    settings.insert("host_spacing".into(), "0s".into());
    t.insert("settings".into(), settings.into());
    let feeds: Vec<toml::Value> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut f = toml::Table::new();
            f.insert("url".into(), u.clone().into());
            f.insert("name".into(), format!("Feed {i}").into());
            if let Some(every) = feed_interval {
                f.insert("interval".into(), every.into());
            }
            f.into()
        })
        .collect();
    t.insert("feed".into(), feeds.into());
    std::fs::write(path, toml::to_string(&t).expect("serialise watch-list"))
        .expect("write watch-list");
}

// ---------------------------------------------------------------------------------------------
// Running the real binary

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    wall: f64,
    user: f64,
    sys: f64,
    maxrss_kb: i64,
}

impl Usage {
    fn cpu(&self) -> f64 {
        self.user + self.sys
    }
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

const BUS: &str = "unix:path=/nonexistent/tidings-bench-bus";

fn base_command(config: &Path, db: &Path) -> Command {
    let mut c = Command::new(&*BIN);
    c.arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .env("DBUS_SESSION_BUS_ADDRESS", BUS)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    c
}

/// Measured children are started by a small launcher process (this program re-executed with
/// `--launcher` before the feeds are generated): a child's `ru_maxrss` includes the memory of
/// the process it was forked from, so forking it from this (large) process would report this
/// process's size.
struct Launcher {
    _child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

static LAUNCHER: Mutex<Option<Launcher>> = Mutex::new(None);

fn start_launcher() {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .arg("--launcher")
        .env("DBUS_SESSION_BUS_ADDRESS", BUS)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start launcher");
    let input = child.stdin.take().unwrap();
    let output = BufReader::new(child.stdout.take().unwrap());
    *LAUNCHER.lock().unwrap() = Some(Launcher {
        _child: child,
        input,
        output,
    });
}

/// The launcher: one request per line (`stdout-path TAB arg TAB arg ...`), one answer per
/// line (`wall user sys maxrss_kb exit_code`).
fn launcher_main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let mut parts = line.split('\t');
        let out = parts.next().unwrap_or("/dev/null").to_string();
        let args: Vec<&str> = parts.collect();
        let mut cmd = Command::new(&*BIN);
        cmd.args(&args).stdin(Stdio::null());
        let (u, code) = wait_measured(cmd, Path::new(&out));
        let _ = writeln!(
            stdout,
            "{} {} {} {} {code}",
            u.wall, u.user, u.sys, u.maxrss_kb
        );
        let _ = stdout.flush();
    }
}

/// Runs the child to completion; its rusage comes from `wait4`.
fn wait_measured(mut cmd: Command, stdout: &Path) -> (Usage, i32) {
    let out = std::fs::File::create(stdout).expect("stdout file");
    let start = Instant::now();
    let child = cmd
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tidings");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is a plain C struct filled by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(r, pid, "wait4");
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        Usage {
            wall,
            user: tv(ru.ru_utime),
            sys: tv(ru.ru_stime),
            maxrss_kb: ru.ru_maxrss,
        },
        code,
    )
}

/// `tidings --config CONFIG --db DB ARGS...` through the launcher.
fn run_measured(config: &Path, db: &Path, args: &[&str], stdout: &Path) -> (Usage, i32) {
    let mut guard = LAUNCHER.lock().unwrap();
    let l = guard.as_mut().expect("launcher started");
    let mut line = format!(
        "{}\t--config\t{}\t--db\t{}",
        stdout.display(),
        config.display(),
        db.display()
    );
    for a in args {
        line.push('\t');
        line.push_str(a);
    }
    writeln!(l.input, "{line}").expect("launcher request");
    l.input.flush().unwrap();
    let mut answer = String::new();
    l.output.read_line(&mut answer).expect("launcher answer");
    let f: Vec<f64> = answer
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(f.len(), 5, "launcher answered {answer:?}");
    (
        Usage {
            wall: f[0],
            user: f[1],
            sys: f[2],
            maxrss_kb: f[3] as i64,
        },
        f[4] as i32,
    )
}

/// Totals of `poll --once`'s summary lines: (ok feeds, errors, items, new, alerts, 304s).
fn summarise(stdout: &Path) -> (usize, usize, usize, usize, usize, usize) {
    let text = std::fs::read_to_string(stdout).unwrap_or_default();
    let (mut ok, mut err, mut items, mut new, mut alerts, mut nm) = (0, 0, 0, 0, 0, 0);
    for line in text.lines() {
        if line.starts_with("error") {
            err += 1;
            continue;
        }
        ok += 1;
        if line.contains("  304  not modified") {
            nm += 1;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            let n: usize = w[0].parse().unwrap_or(0);
            match w[1].trim_end_matches(['(', ',']) {
                "items" => items += n,
                "new" => new += n,
                "alert" | "alerts" => alerts += n,
                _ => {}
            }
        }
    }
    (ok, err, items, new, alerts, nm)
}

/// One pass's usage, requests, 304s, MB served and summary totals.
type PassResult = (Usage, usize, usize, f64, Summary);
/// (ok feeds, errors, items, new, alerts, 304s) from the summary lines.
type Summary = (usize, usize, usize, usize, usize, usize);

struct Row {
    n: usize,
    pass: &'static str,
    usage: Usage,
    reps: usize,
    requests: usize,
    not_modified: usize,
    mb_served: f64,
    summary: (usize, usize, usize, usize, usize, usize),
}

fn median(mut v: Vec<Usage>) -> Usage {
    v.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    v[v.len() / 2]
}

fn poll_passes(server: &Server, n: usize, reps: usize, work: &Path, rows: &mut Vec<Row>) {
    let urls: Vec<String> = (0..n).map(|i| server.url(i)).collect();
    let config = work.join(format!("watchlist-{n}.toml"));
    write_watchlist(&config, &urls);
    let stdout = work.join("stdout.txt");
    let passes: [(&'static str, bool); 3] =
        [("cold", false), ("warm 200", false), ("warm 304", true)];
    let mut per_pass: Vec<Vec<PassResult>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for rep in 0..reps {
        let db = work.join(format!("poll-{n}-{rep}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        for (p, (_, honour)) in passes.iter().enumerate() {
            server.honour_validators.store(*honour, Ordering::SeqCst);
            server.reset_counters();
            let (usage, code) = run_measured(&config, &db, &["poll", "--once"], &stdout);
            assert_eq!(code, 0, "tidings poll --once exited {code}");
            per_pass[p].push((
                usage,
                server.requests.load(Ordering::SeqCst),
                server.not_modified.load(Ordering::SeqCst),
                server.bytes.load(Ordering::SeqCst) as f64 / 1e6,
                summarise(&stdout),
            ));
        }
        if rep + 1 < reps {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
    }
    for (p, (name, _)) in passes.iter().enumerate() {
        let runs = &per_pass[p];
        let last = runs.last().unwrap();
        rows.push(Row {
            n,
            pass: name,
            usage: median(runs.iter().map(|r| r.0).collect()),
            reps: runs.len(),
            requests: last.1,
            not_modified: last.2,
            mb_served: last.3,
            summary: last.4,
        });
    }
}

fn print_rows(rows: &[Row]) {
    println!();
    println!(
        "| feeds | pass | wall s | CPU s (user+sys) | user s | sys s | peak RSS MB | CPU ms/feed | runs | requests | 304s | MB served | ok/err | items | new | alerts |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for r in rows {
        let (ok, err, items, new, alerts, _) = r.summary;
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.2} | {} | {} | {} | {:.1} | {ok}/{err} | {items} | {new} | {alerts} |",
            r.n,
            r.pass,
            r.usage.wall,
            r.usage.cpu(),
            r.usage.user,
            r.usage.sys,
            r.usage.maxrss_kb as f64 / 1024.0,
            r.usage.cpu() * 1000.0 / r.n as f64,
            r.reps,
            r.requests,
            r.not_modified,
            r.mb_served,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The running daemon: idle memory, wake-ups, start-up

fn proc_status(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// (context switches over all threads, utime+stime clock ticks, threads)
fn proc_activity(pid: u32) -> (u64, u64, usize) {
    let mut switches = 0;
    let mut threads = 0;
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in dir.flatten() {
            threads += 1;
            if let Ok(text) = std::fs::read_to_string(t.path().join("status")) {
                for l in text.lines() {
                    if l.starts_with("voluntary_ctxt_switches")
                        || l.starts_with("nonvoluntary_ctxt_switches")
                    {
                        switches += l
                            .split_whitespace()
                            .nth(1)
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0);
                    }
                }
            }
        }
    }
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // fields after ")" start at field 3 (state): utime is field 14, stime 15.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    (switches, ticks, threads)
}

struct Daemon {
    child: std::process::Child,
    started: Instant,
}

impl Daemon {
    fn spawn(config: &Path, db: &Path, notify_socket: Option<&Path>) -> Daemon {
        let mut cmd = base_command(config, db);
        cmd.arg("run").stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(s) = notify_socket {
            cmd.env("NOTIFY_SOCKET", s);
        }
        let started = Instant::now();
        let child = cmd.spawn().expect("spawn tidings run");
        Daemon { child, started }
    }

    fn stop(mut self) {
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idle_daemon(server: &Server, work: &Path, report: &mut Vec<String>) {
    let n = 1000;
    let urls: Vec<String> = (0..n).map(|i| server.url(i)).collect();
    let config = work.join("watchlist-idle.toml");
    write_watchlist(&config, &urls);
    let db = work.join("idle.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // Every feed polled once (validators stored, next poll 12 h away), then the daemon.
    server.honour_validators.store(true, Ordering::SeqCst);
    let (_, code) = run_measured(&config, &db, &["poll", "--once"], &work.join("stdout.txt"));
    assert_eq!(code, 0);
    server.reset_counters();
    let d = Daemon::spawn(&config, &db, None);
    let pid = d.child.id();
    std::thread::sleep(Duration::from_secs(3));
    let rss_settled = proc_status(pid, "VmRSS:").unwrap_or(0);
    let (sw0, ticks0, threads) = proc_activity(pid);
    let watch = Duration::from_secs(10);
    std::thread::sleep(watch);
    let (sw1, ticks1, _) = proc_activity(pid);
    let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
    let hwm = proc_status(pid, "VmHWM:").unwrap_or(0);
    let requests = server.requests.load(Ordering::SeqCst);
    d.stop();
    report.push(format!(
        "| idle daemon, {n} feeds (304, interval 12h) | VmRSS {:.1} MB after 3 s, {:.1} MB after 13 s (peak VmHWM {:.1} MB) | {} context switches and {} CPU ticks in {}s idle, {threads} threads, {requests} requests |",
        rss_settled as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        sw1 - sw0,
        ticks1 - ticks0,
        watch.as_secs()
    ));
}

/// The daemon between polls after real work. On an empty database, every feed with
/// `interval = "60s"`, it
/// spreads the first polls of the 1,000 feeds over a minute (a poll every 60 ms, every article
/// new: fetch, parse, match, store), then goes on polling them (304s). VmRSS is sampled every
/// second through the minute after the first round: between polls, after a whole round of
/// real work.
fn working_daemon(server: &Server, work: &Path, report: &mut Vec<String>) {
    let n = 1000;
    let urls: Vec<String> = (0..n).map(|i| server.url(i)).collect();
    let config = work.join("watchlist-working.toml");
    write_watchlist_with(&config, &urls, Some("60s"));
    let db = work.join("working.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    server.honour_validators.store(true, Ordering::SeqCst);
    server.reset_counters();
    let d = Daemon::spawn(&config, &db, None);
    let pid = d.child.id();
    let deadline = Instant::now() + Duration::from_secs(300);
    while server.requests.load(Ordering::SeqCst) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_round = d.started.elapsed();
    let rss_after_first = proc_status(pid, "VmRSS:").unwrap_or(0);
    let mut samples = Vec::new();
    let window = Instant::now() + Duration::from_secs(60);
    while Instant::now() < window {
        std::thread::sleep(Duration::from_secs(1));
        samples.extend(proc_status(pid, "VmRSS:"));
    }
    let hwm = proc_status(pid, "VmHWM:").unwrap_or(0);
    let (_, ticks, threads) = proc_activity(pid);
    let requests = server.requests.load(Ordering::SeqCst);
    let not_modified = server.not_modified.load(Ordering::SeqCst);
    d.stop();
    samples.sort_unstable();
    let mb = |kb: u64| kb as f64 / 1024.0;
    let median = samples.get(samples.len() / 2).copied().unwrap_or(0);
    let max = samples.last().copied().unwrap_or(0);
    report.push(format!(
        "| working daemon, {n} feeds, each with interval 60s (first round every article new, done after {:.0} s; then 304s) | VmRSS {:.1} MB after the first round; through the next minute: median {:.1} MB, max {:.1} MB ({} samples; peak VmHWM {:.1} MB) | {} CPU ticks in all, {threads} threads, {requests} requests ({not_modified} 304s) |",
        first_round.as_secs_f64(),
        mb(rss_after_first),
        mb(median),
        mb(max),
        samples.len(),
        mb(hwm),
        ticks,
    ));
}

/// Time from spawning `tidings run` until READY=1 (if the build sends it) and until its first
/// request reaches the server.
fn startup(
    server: &Server,
    config: &Path,
    db: &Path,
    work: &Path,
    label: &str,
    report: &mut Vec<String>,
) {
    server.honour_validators.store(true, Ordering::SeqCst);
    let sock_path = work.join("notify.sock");
    let _ = std::fs::remove_file(&sock_path);
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    server.reset_counters();
    let d = Daemon::spawn(config, db, Some(&sock_path));
    let deadline = d.started + Duration::from_secs(120);
    let mut ready = None;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline
        && (ready.is_none() || server.first_request.lock().unwrap().is_none())
    {
        if ready.is_none()
            && let Ok(n) = sock.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
        {
            ready = Some(d.started.elapsed());
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        if ready.is_none()
            && d.started.elapsed() > Duration::from_secs(5)
            && server.first_request.lock().unwrap().is_some()
        {
            break;
        }
    }
    let first = server.first_request.lock().unwrap().map(|t| t - d.started);
    d.stop();
    let ms = |d: Option<Duration>| {
        d.map_or("—".to_string(), |d| {
            format!("{:.0} ms", d.as_secs_f64() * 1e3)
        })
    };
    report.push(format!(
        "| start-up, {label} | READY=1 after {} | first request after {} | |",
        ms(ready),
        ms(first)
    ));
}

// ---------------------------------------------------------------------------------------------
// A database of M articles: history, inserts, start-up

/// The articles among `new` with a NATO headline, each with a fake match.
fn nato_matches(new: &[tidings::store::NewArticle]) -> Vec<(i64, tidings::model::Match)> {
    new.iter()
        .filter(|a| a.article.title.starts_with("NATO"))
        .map(|a| (a.id, fake_match(&a.article.title)))
        .collect()
}

/// Silent "NATO membership" alerts for `matches`.
fn nato_alerts(matches: &[(i64, tidings::model::Match)]) -> Vec<tidings::store::NewAlert<'_>> {
    matches
        .iter()
        .map(|(id, m)| tidings::store::NewAlert {
            article_id: *id,
            topic: "NATO membership",
            matched: m,
            notify: false,
        })
        .collect()
}

fn fake_match(title: &str) -> tidings::model::Match {
    use tidings::model::{Field, Hit, Match, Snippet, TopicId};
    Match {
        learned: None,
        topic: TopicId(0),
        hits: vec![Hit {
            term: "nato".into(),
            text: "NATO".into(),
            field: Field::Title,
            start: 0,
            end: 4,
        }],
        snippet: Snippet {
            field: Some(Field::Title),
            text: title.to_string(),
            marks: vec![(0, 4)],
        },
    }
}

fn gen_article(r: &mut Rng, feed: usize, seq: usize, topical: bool) -> tidings::model::Article {
    let title = if topical {
        format!("NATO {} {}", r.pick(VERBS), r.pick(OBJECTS))
    } else {
        headline(r)
    };
    let link = format!("https://www.news{feed}.example/world/{seq}");
    tidings::model::Article {
        key: tidings::model::ArticleKey(format!("guid:news{feed}.example-{seq}")),
        guid: Some(format!("news{feed}.example-{seq}")),
        link: Some(link),
        summary: format!("{} {}", sentence(r), sentence(r)),
        title,
        authors: vec!["Staff and agencies".into()],
        categories: vec!["World".into()],
        published: None,
        ..Default::default()
    }
}

fn big_database(server: &Server, m: usize, work: &Path, report: &mut Vec<String>) {
    use tidings::store::{HistoryFilter, PollRecord, Store};
    const FEEDS: usize = 100;
    const PER_POLL: usize = 40;
    let db = work.join(format!("articles-{m}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let urls: Vec<String> = (0..FEEDS).map(|i| server.url(i)).collect();
    let start_time = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let polls = m / PER_POLL;
    let step = chrono::Duration::seconds((330 * 86_400 / polls.max(1)) as i64);
    let gen_start = Instant::now();
    let mut alerts_total = 0;
    {
        let mut store = Store::open(&db).expect("open");
        let ids: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(i, u)| {
                store
                    .sync_feed(u, Some(&format!("Feed {i}")), start_time)
                    .unwrap()
                    .id
            })
            .collect();
        let mut r = Rng::new(42);
        let mut seq = vec![0usize; FEEDS];
        for p in 0..polls {
            let f = p % FEEDS;
            let now = start_time + step * p as i32;
            let articles: Vec<_> = (0..PER_POLL)
                .map(|_| {
                    seq[f] += 1;
                    let topical = r.below(40) == 0;
                    gen_article(&mut r, f, seq[f], topical)
                })
                .collect();
            let mut tx = store.begin_poll(ids[f]).unwrap();
            let new = tx.insert_new(articles, now).unwrap();
            let matches = nato_matches(&new);
            let alerts = nato_alerts(&matches);
            alerts_total += tx.record_alerts(&alerts, now).unwrap();
            tx.finish(
                &PollRecord {
                    status: Some(200),
                    new_articles: new.len() as u32,
                    next_poll_at: None,
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        }
    }
    let gen_secs = gen_start.elapsed().as_secs_f64();
    let size_mb = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    report.push(format!(
        "| database generated | {} articles, {alerts_total} alerts, {FEEDS} feeds, {polls} polls through the Store API | {gen_secs:.1} s ({:.0} articles/s), {size_mb:.0} MB | |",
        polls * PER_POLL,
        (polls * PER_POLL) as f64 / gen_secs
    ));

    // Store::open on the big database (in-process).
    let t = Instant::now();
    let mut store = Store::open(&db).expect("open");
    report.push(format!(
        "| Store::open at {m} articles | | {:.1} ms | |",
        t.elapsed().as_secs_f64() * 1e3
    ));

    // history, in-process: best of 5.
    let time = |f: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..5 {
            let t = Instant::now();
            rows = f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        (best * 1e3, rows)
    };
    let cases: Vec<(&str, HistoryFilter)> = vec![
        (
            "history -n 20",
            HistoryFilter {
                limit: 20,
                ..Default::default()
            },
        ),
        (
            "history -n 20 --topic 'NATO membership'",
            HistoryFilter {
                limit: 20,
                topic: Some("NATO membership".into()),
                ..Default::default()
            },
        ),
        (
            "history -n 20 --feed 'Feed 7'",
            HistoryFilter {
                limit: 20,
                feed: Some("Feed 7".into()),
                ..Default::default()
            },
        ),
        (
            "history -n 20 --search housing",
            HistoryFilter {
                limit: 20,
                search: vec!["housing".into()],
                ..Default::default()
            },
        ),
        (
            "history -n 1000",
            HistoryFilter {
                limit: 1000,
                ..Default::default()
            },
        ),
    ];
    for (label, filter) in &cases {
        let (ms, rows) = time(&|| store.history(filter).expect("history").len());
        report.push(format!(
            "| `{label}` (Store::history, best of 5) at {m} articles | {rows} rows | {ms:.2} ms | |"
        ));
    }

    // `tidings history` as a process (includes start-up and opening the database).
    let config = work.join("watchlist-db.toml");
    write_watchlist(&config, &urls);
    let (u, code) = run_measured(
        &config,
        &db,
        &["history", "-n", "20"],
        &work.join("history.txt"),
    );
    report.push(format!(
        "| `tidings history -n 20` process at {m} articles | exit {code} | {:.1} ms wall, {:.1} ms CPU | {:.1} MB peak RSS |",
        u.wall * 1e3,
        u.cpu() * 1e3,
        u.maxrss_kb as f64 / 1024.0
    ));

    // `tidings review` in a terminal: the first frame, then scrolling.
    review_in_terminal(&config, &db, m, report);

    // Inserting one feed's poll (40 new, then the same 40 again) at this size vs an empty DB.
    let insert = |store: &mut Store, feed: tidings::model::FeedId, base_seq: usize, r: &mut Rng| {
        let now = start_time + chrono::Duration::days(340);
        let articles: Vec<_> = (0..PER_POLL)
            .map(|k| gen_article(r, 5, 10_000_000 + base_seq + k, k % 10 == 0))
            .collect();
        let mut out = [0.0; 2];
        for (pass, slot) in out.iter_mut().enumerate() {
            let t = Instant::now();
            let mut tx = store.begin_poll(feed).unwrap();
            let new = tx.insert_new(articles.clone(), now).unwrap();
            assert_eq!(new.len(), if pass == 0 { PER_POLL } else { 0 });
            let matches = nato_matches(&new);
            let alerts = nato_alerts(&matches);
            tx.record_alerts(&alerts, now).unwrap();
            tx.finish(
                &PollRecord {
                    status: Some(200),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
            *slot = t.elapsed().as_secs_f64() * 1e3;
        }
        out
    };
    let mut r = Rng::new(7);
    let feed = store.feed_by_url(&urls[5]).unwrap().unwrap().id;
    let mut big = [f64::MAX; 2];
    for rep in 0..5 {
        let t = insert(&mut store, feed, rep * 100, &mut r);
        big = [big[0].min(t[0]), big[1].min(t[1])];
    }
    let small_dir = work.join("small.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", small_dir.display()));
    }
    let mut small = Store::open(&small_dir).unwrap();
    let sfeed = small
        .sync_feed(&urls[5], Some("Feed 5"), start_time)
        .unwrap()
        .id;
    let mut empty = [f64::MAX; 2];
    for rep in 0..5 {
        let t = insert(&mut small, sfeed, rep * 100, &mut r);
        empty = [empty[0].min(t[0]), empty[1].min(t[1])];
    }
    report.push(format!(
        "| one feed's poll, {PER_POLL} new articles (insert_new + record_alerts + finish, best of 5) | {:.2} ms at {m} articles | {:.2} ms on an empty database | |",
        big[0], empty[0]
    ));
    report.push(format!(
        "| the same {PER_POLL} articles again (all already seen) | {:.2} ms at {m} articles | {:.2} ms on an empty database | |",
        big[1], empty[1]
    ));
    drop(store);

    // Start-up of `tidings run` on the big database: 100 feeds, all due (first one at once).
    // The first run also does the daemon's first retention pass (most of the generated
    // articles are older than the 90-day default); the second starts with it done.
    startup(
        server,
        &config,
        &db,
        work,
        &format!("{m}-article database, {FEEDS} feeds, first start (retention pass due)"),
        report,
    );
    startup(
        server,
        &config,
        &db,
        work,
        &format!("{m}-article database, {FEEDS} feeds, second start"),
        report,
    );
}

/// How many frames end in `out`: ratatui ends each frame it draws without a visible cursor
/// by hiding the cursor (`ESC [ ? 25 l`) and flushing, and a frame of the review is written in
/// several pieces (stdout's buffer is 1 KiB): a changed screen alone may be half a frame.
fn frame_ends(out: &[u8]) -> usize {
    out.windows(6).filter(|w| w == b"\x1b[?25l").count()
}

/// `tidings review` in an 80×24 pseudo-terminal on the big database: the time from spawn to
/// the first complete frame, three times (the Alerts pane's title on the first line, an alert's row, and
/// the frame's end: see [`frame_ends`]), then the time of each scrolling key (200 × `j`,
/// 20 × PgDn, `G`) until the end of a frame that changed the screen, two filters (Enter until
/// the list shows the outcome), then `q` until the exit. Waits are on the parsed screen (see `tests/it/support/pty.rs`);
/// a frame that never comes is reported, not a panic, so the rest of the benchmark runs.
fn review_in_terminal(config: &Path, db: &Path, m: usize, report: &mut Vec<String>) {
    const WAIT: Duration = Duration::from_secs(30);
    let mut cmd = base_command(config, db);
    cmd.arg("review")
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("LINES");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // Opened three times (the time to the first frame of each); the last one scrolls.
    let open = || -> Result<(pty::Pty, f64), String> {
        let mut term = pty::Pty::spawn(&cmd, 24, 80);
        let first = term.try_wait_until(WAIT, |s, out| {
            let lines = pty::lines(s);
            lines[0].contains("Alerts")
                && lines[1..].iter().any(|l| l.contains("NATO"))
                && frame_ends(out) > 0
        });
        let elapsed = ms(term.started().elapsed());
        match first {
            Ok(()) => Ok((term, elapsed)),
            Err(why) => {
                eprintln!("tidings review: no first frame: {why}\n{}", term.dump());
                Err(why)
            }
        }
    };
    let mut firsts = Vec::new();
    let mut term = loop {
        match open() {
            Ok((mut term, first)) => {
                firsts.push(first);
                if firsts.len() == 3 {
                    break term;
                }
                term.send("q");
                term.wait_exit(WAIT);
            }
            Err(why) => {
                report.push(format!(
                    "| `tidings review` in an 80×24 terminal at {m} articles | no first frame: {why} | | |"
                ));
                return;
            }
        }
    };
    // Each key, timed from the write to the end of a frame that changed the screen (text or
    // attributes: a moved highlight counts).
    let key = |term: &mut pty::Pty, k: &str| -> Option<Duration> {
        term.drain();
        let before = term.screen().contents_formatted();
        let from = term.output().len();
        let t = Instant::now();
        term.send(k);
        term.try_wait_until(Duration::from_secs(5), |s, out| {
            frame_ends(&out[from..]) > 0 && s.contents_formatted() != before
        })
        .ok()
        .map(|()| t.elapsed())
    };
    let series = |term: &mut pty::Pty, k: &str, n: usize| -> (Vec<f64>, usize) {
        let mut times = Vec::with_capacity(n);
        let mut unchanged = 0;
        for _ in 0..n {
            match key(term, k) {
                Some(d) => times.push(ms(d)),
                None => unchanged += 1,
            }
        }
        times.sort_by(f64::total_cmp);
        (times, unchanged)
    };
    let (j, j_none) = series(&mut term, "j", 200);
    let (pg, pg_none) = series(&mut term, pty::keys::PAGE_DOWN, 20);
    let (g, g_none) = series(&mut term, "G", 1);
    // Filters: `/TEXT` (waited for in the prompt), then Enter timed to the end of a frame
    // that shows the outcome: the filter named, and alert rows (`housing`: one NATO headline
    // in 15 has it) or none (`zzzz`: no match, every alert is looked at).
    let filter = |term: &mut pty::Pty, text: &str, matches: bool| -> String {
        term.send("/");
        term.send(text);
        if let Err(why) = term.try_wait_for(WAIT, |s| pty::line(s, 23).contains(text)) {
            return format!("`/{text}`: no prompt ({why})");
        }
        term.drain();
        let from = term.output().len();
        let t = Instant::now();
        term.send(pty::keys::ENTER);
        // Row 1 names the filter; rows 3-22 are the list (headlines may be cut short).
        let shown = term.try_wait_until(WAIT, |s, out| {
            let rows = pty::lines(s);
            let listed = rows[3..23].iter().any(|l| l.contains("NATO"));
            frame_ends(&out[from..]) > 0 && rows[1].contains(text) && listed == matches
        });
        match shown {
            Ok(()) => format!("`/{text}` Enter: {:.1} ms", ms(t.elapsed())),
            Err(why) => format!("`/{text}` Enter: {why}"),
        }
    };
    let housing = filter(&mut term, "housing", true);
    let nothing = filter(&mut term, "zzzz", false);
    let quit = Instant::now();
    term.send("q");
    let status = term.wait_exit(WAIT);
    let quit = quit.elapsed();
    let stats = |name: &str, v: &[f64], none: usize| {
        let mut s = match v {
            [] => format!("{name}: —"),
            [one] => format!("{name}: {one:.1} ms"),
            _ => format!(
                "{name} ×{}: median {:.1} ms, max {:.1} ms",
                v.len(),
                v[v.len() / 2],
                v[v.len() - 1]
            ),
        };
        if none > 0 {
            write!(s, " ({none} without a change in 5 s)").unwrap();
        }
        s
    };
    report.push(format!(
        "| `tidings review` in an 80×24 terminal at {m} articles | first frame after {} ms (3 starts) | {}; {}; {}; {housing}; {nothing} (no match) | `q`: exit {} after {:.1} ms |",
        firsts
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(" / "),
        stats("`j`", &j, j_none),
        stats("PgDn", &pg, pg_none),
        stats("`G`", &g, g_none),
        status.exit_code(),
        ms(quit)
    ));
}

// ---------------------------------------------------------------------------------------------

fn arg_or_env(args: &[String], flag: &str, env: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--launcher") {
        launcher_main();
        return;
    }
    start_launcher();
    // `cargo bench` passes `--bench`; a filter argument is ignored too.
    let ns: Vec<usize> = arg_or_env(&args, "--n", "TIDINGS_BENCH_N")
        .unwrap_or_else(|| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let reps: usize = arg_or_env(&args, "--reps", "TIDINGS_BENCH_REPS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let articles: usize = arg_or_env(&args, "--articles", "TIDINGS_BENCH_ARTICLES")
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let skip_idle = args.iter().any(|a| a == "--skip-idle");
    let skip_db = args.iter().any(|a| a == "--skip-db");
    let keep = arg_or_env(&args, "--keep", "TIDINGS_BENCH_KEEP").map(PathBuf::from);

    let tmp = tempfile::tempdir().expect("temp dir");
    let work = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&work).expect("work dir");

    let max_n = ns
        .iter()
        .copied()
        .chain((!skip_idle).then_some(1000))
        .chain((!skip_db).then_some(100))
        .max()
        .unwrap_or(0);
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(6, 0, 0)
        .unwrap()
        .and_utc();
    let server = Server::start();
    let t = Instant::now();
    let feeds: Vec<Arc<Vec<u8>>> = (0..max_n).map(|i| Arc::new(gen_feed(i, today))).collect();
    let total: usize = feeds.iter().map(|f| f.len()).sum();
    eprintln!(
        "generated {max_n} feeds, {:.1} MB (mean {:.1} KB) in {:.1} s; server on 127.0.0.1:{}",
        total as f64 / 1e6,
        total as f64 / 1e3 / max_n.max(1) as f64,
        t.elapsed().as_secs_f64(),
        server.port
    );
    *server.feeds.write().unwrap() = feeds;

    // `--serve DIR`: only serve the feeds (and write DIR/watchlist-N.toml), for profiling by hand.
    if let Some(dir) = arg_or_env(&args, "--serve", "TIDINGS_BENCH_SERVE") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("serve dir");
        for &n in &ns {
            let urls: Vec<String> = (0..n).map(|i| server.url(i)).collect();
            write_watchlist(&dir.join(format!("watchlist-{n}.toml")), &urls);
        }
        let honour = std::env::var("TIDINGS_BENCH_304").is_ok_and(|v| v == "1");
        server.honour_validators.store(honour, Ordering::SeqCst);
        eprintln!(
            "serving on port {} (304s: {honour}); watch-lists in {}",
            server.port,
            dir.display()
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "tidings poll benchmark: {}, {cpus} CPUs, binary measured from outside (wait4)",
        *BIN
    );
    let mut rows = Vec::new();
    for &n in &ns {
        let r = if n > 1000 { 1 } else { reps };
        eprintln!("polling {n} feeds ({r} runs of cold / warm 200 / warm 304)...");
        poll_passes(&server, n, r, &work, &mut rows);
        print_rows(&rows[rows.len() - 3..]);
    }
    println!("\n## All passes");
    print_rows(&rows);

    let mut report = Vec::new();
    if !skip_idle {
        eprintln!("idle daemon with 1000 feeds...");
        idle_daemon(&server, &work, &mut report);
        eprintln!("the daemon at work on 1000 feeds (about 2 minutes)...");
        working_daemon(&server, &work, &mut report);
    }
    if !skip_db {
        eprintln!("generating a database of {articles} articles...");
        big_database(&server, articles, &work, &mut report);
    }
    if !report.is_empty() {
        println!("\n## Daemon and database\n");
        println!("| what | | result | |");
        println!("|---|---|---|---|");
        for l in &report {
            println!("{l}");
        }
    }
}
