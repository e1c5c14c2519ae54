//! A seeded mutation fuzzer that runs on the stable toolchain without AFL: for when `cargo afl`
//! is not available, and for the short smoke run.
//!
//! ```text
//! drive TARGET SECONDS [SEED_DIR...]   # fuzz one target for SECONDS
//! drive smoke                          # every target, built-in seeds + 3000 mutants each
//! ```
//!
//! Every input runs under `catch_unwind`; a panicking input is written to
//! `artifacts/TARGET/crash-<hash>` and the run exits 1 at the end. Mutations: bit flips, byte
//! sets, insertions of interesting tokens (XML, entities, query operators, TOML), block
//! deletion, duplication, and splicing two inputs together. `TIDINGS_FUZZ_SEED` fixes the RNG.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&#xD800;",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE x [<!ENTITY e \"eeeeeeeeee\">]>",
    b"&e;",
    b"<!ENTITY",
    b"SYSTEM \"http://127.0.0.1:9/x\"",
    b"<rss version=\"2.0\"><channel>",
    b"</channel></rss>",
    b"<item>",
    b"</item>",
    b"<title>",
    b"</title>",
    b"<link>",
    b"</link>",
    b"<guid>",
    b"</guid>",
    b"<description>",
    b"</description>",
    b"<feed xmlns=\"http://www.w3.org/2005/Atom\">",
    b"<entry>",
    b"</entry>",
    b"<content type=\"html\">",
    b"<rdf:RDF>",
    b"xmlns:a=\"x\"",
    b"{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[",
    b"]}",
    b"\"title\":",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xc3\x28",
    b"\xf0\x9f\x98\x80",
    b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    b"encoding=\"EBCDIC\"",
    b" AND ",
    b" OR ",
    b"NOT ",
    b" NEAR/",
    b" NEAR/0 ",
    b" NEAR/99999999999 ",
    b"(",
    b")",
    b"\"",
    b"*",
    b"@",
    b"@a",
    b"title:",
    b"feed:",
    b"/",
    b"/(a|b)*/",
    b"/[/",
    b"-",
    b"[settings]\n",
    b"[[feed]]\nurl = \"",
    b"[[topic]]\nname = \"t\"\nquery = \"",
    b"interval = \"",
    b"1s",
    b"0s",
    b"99999999999h",
    b"max_body_size = \"",
    b"quiet_hours = \"",
    b"[aliases]\n",
    b"\"\n",
    b"'",
    b"\n",
    b"\r\n",
    b"\t",
    b"\xc2\x85",
    b"\xe2\x80\xae",
    b"<b>",
    b"</b>",
    b"\xef\xbf\xbe",
    b"\x1b[31m",
    b"\x1b]0;",
    b"\x1b]8;;",
    b"\x07",
    b"\x1b\\",
    b"\x1b[2J",
    b"\x1bP",
    b"\xc2\x9b",
    b"\xc2\x9c",
    b"\xc2\x9d",
    b"\x7f",
    b"\xe2\x81\xa6",
    b"\xe2\x80\x8f",
    b"\xd8\x9c",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0, 0xff, b'<', b'&', b'"', 0x7f, 0x80, b'\n'][rng.below(8)];
            }
            2 | 3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                v.splice(at..at, t.iter().copied());
            }
            4 if len > 1 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64.min(len - a))).min(len);
                v.drain(a..b);
            }
            5 if len > 1 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(256.min(len - a))).min(len);
                let block = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, block);
            }
            6 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            _ if len > 0 => {
                v.truncate(rng.below(len));
            }
            _ => v.extend_from_slice(TOKENS[rng.below(TOKENS.len())]),
        }
    }
    v.truncate(1 << 20);
    v
}

fn seeds_from(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(b) = std::fs::read(&p)
            && b.len() <= 512 * 1024
        {
            out.push(b);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn builtin_seeds(target: &str) -> Vec<Vec<u8>> {
    let s: &[&str] = match target {
        "feed" => &[
            "<rss version=\"2.0\"><channel><title>T</title><item><title>NATO membership talks</title><link>/a</link><guid>g1</guid><description>&lt;b&gt;Putin&lt;/b&gt; meets</description></item></channel></rss>",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><entry><title type=\"html\">truce &amp;amp; ceasefire</title><link href=\"https://e.com/x\"/><id>x</id></entry></feed>",
            "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"items\":[{\"id\":\"1\",\"title\":\"NATO join\",\"url\":\"https://e.com/1\"}]}",
        ],
        "query" => &[
            "NATO NEAR/8 (join* OR membership OR accession)",
            "@zelensky NEAR/12 @a NEAR/12 (talks OR meet* OR summit)",
            "title:(ceasefire OR truce) AND NOT category:opinion",
            "\"peace talk*\" AND feed:\"Kyiv Independent\" OR /[0-9]+ dead/",
        ],
        "config" => &[
            "[settings]\ninterval = \"15m\"\nhost_spacing = \"0s\"\nmax_body_size = \"10MiB\"\nquiet_hours = \"23:00-07:00\"\n\n[aliases]\nz = [\"Zelensky\", \"Зеленський\"]\n\n[[feed]]\nurl = \"https://example.com/rss\"\nname = \"E\"\ninterval = \"1h 30m\"\n\n[[topic]]\nname = \"t\"\nquery = 'NATO NEAR/8 @z'\nurgency = \"critical\"\n",
        ],
        "terminal_text" => &[
            "\u{1b}]0;evil\u{7}NATO membership \u{1b}[2Jtalks",
            "\u{1b}]8;;https://evil.example/\u{1b}\\here\u{1b}]8;;\u{1b}\\ \u{202E}txt.exe",
            "a\u{9b}2J b\u{9d}c \u{2066}Зеленський\u{2069}\t\n",
        ],
        _ => &[
            "NATO <should> say & \"openly\" 'if' it is not",
            "<b>bold</b> <a href=\"file:///etc/passwd\">x</a> <img src=x onerror=alert(1)>",
            "Зеленський — «мир» \u{1F600} \t tab",
        ],
    };
    s.iter().map(|x| x.as_bytes().to_vec()).collect()
}

fn run_one(f: fn(&[u8]), input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| f(input))).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into())
    })
}

fn save_crash(target: &str, input: &[u8]) -> PathBuf {
    let mut h = DefaultHasher::new();
    input.hash(&mut h);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    let p = dir.join(format!("crash-{:016x}", h.finish()));
    std::fs::write(&p, input).expect("write crash input");
    p
}

/// Fuzzes one target; returns (executions, crashes).
fn fuzz(target: &str, budget: Budget, seed_dirs: &[PathBuf], rng_seed: u64) -> (u64, usize) {
    let f = tidings_fuzz::target(target).unwrap_or_else(|| panic!("unknown target {target}"));
    let mut pool = builtin_seeds(target);
    pool.extend(seeds_from(seed_dirs));
    let mut rng = Rng(rng_seed | 1);
    let mut execs = 0u64;
    let mut crashes = 0usize;
    let start = Instant::now();
    let mut last_report = Instant::now();
    let check = |input: &[u8], execs: &mut u64, crashes: &mut usize| {
        *execs += 1;
        if let Err(msg) = run_one(f, input) {
            *crashes += 1;
            let p = save_crash(target, input);
            eprintln!("CRASH in {target}: {msg}\n  input saved to {}", p.display());
        }
    };
    for s in pool.clone() {
        check(&s, &mut execs, &mut crashes);
    }
    loop {
        match budget {
            Budget::Time(d) if start.elapsed() >= d => break,
            Budget::Execs(n) if execs >= n => break,
            _ => {}
        }
        let parent = pool[rng.below(pool.len())].clone();
        let child = mutate(&mut rng, &parent, &pool);
        check(&child, &mut execs, &mut crashes);
        // Keep a bounded sample of mutants as parents (no coverage feedback in this engine).
        if rng.below(16) == 0 {
            if pool.len() < 4096 {
                pool.push(child);
            } else {
                let i = rng.below(pool.len());
                pool[i] = child;
            }
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "{target}: {execs} execs in {:.0?}, {crashes} crashes",
                start.elapsed()
            );
        }
    }
    (execs, crashes)
}

#[derive(Clone, Copy)]
enum Budget {
    Time(Duration),
    Execs(u64),
}

fn main() {
    // Panics are findings, reported once each by `run_one`, not printed by the hook.
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rng_seed = std::env::var("TIDINGS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x74_6964_696e_6773);
    let mut total_crashes = 0;
    match args.first().map(String::as_str) {
        Some("smoke") => {
            for (name, _) in tidings_fuzz::TARGETS {
                let t = Instant::now();
                let (execs, crashes) = fuzz(name, Budget::Execs(3000), &[], rng_seed);
                println!(
                    "smoke {name}: {execs} execs, {crashes} crashes, {:.1?}",
                    t.elapsed()
                );
                total_crashes += crashes;
            }
        }
        Some(target) => {
            let secs: u64 = args
                .get(1)
                .and_then(|s| s.parse().ok())
                .expect("usage: drive TARGET SECONDS [SEED_DIR...]");
            let dirs: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
            let t = Instant::now();
            let (execs, crashes) = fuzz(
                target,
                Budget::Time(Duration::from_secs(secs)),
                &dirs,
                rng_seed,
            );
            println!(
                "{target}: {execs} execs in {:.1?} ({:.0}/s), {crashes} crashing inputs",
                t.elapsed(),
                execs as f64 / t.elapsed().as_secs_f64()
            );
            total_crashes += crashes;
        }
        None => {
            eprintln!("usage: drive TARGET SECONDS [SEED_DIR...] | drive smoke");
            std::process::exit(2);
        }
    }
    if total_crashes > 0 {
        std::process::exit(1);
    }
}
