//! Logging setup: the systemd journal under systemd, stderr elsewhere.
//!
//! - Started by systemd with stderr connected to the journal (`JOURNAL_STREAM` names stderr's
//!   device and inode): native journal entries with structured fields (tracing-journald,
//!   fields prefixed `TIDINGS_`, e.g. `journalctl --user -u tidings TIDINGS_FEED=…`). If the
//!   journal socket cannot be opened, plain stderr lines without timestamps or colour (the
//!   journal adds its own timestamps).
//! - Elsewhere: human-readable lines on stderr, coloured only when stderr is a terminal and
//!   `NO_COLOR` is unset.
//! - `--log-format json`: one JSON object per line on stderr, also under systemd (an explicit
//!   request wins).
//!
//! The level comes from `TIDINGS_LOG`, else `RUST_LOG` (`EnvFilter` syntax), default `info`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (or the journal under systemd).
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Where the logs go, decided from the environment before anything is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// The systemd journal (native protocol, structured fields).
    Journal,
    /// Lines on stderr; `ansi` for colour, `time` for timestamps.
    Human { ansi: bool, time: bool },
    /// JSON lines on stderr.
    Json,
}

/// Whether `journal_stream` (`JOURNAL_STREAM`, "DEVICE:INODE") names stderr, whose device and
/// inode are `stderr_id`. systemd sets the variable for the service's own stderr; a child that
/// inherited the variable but writes elsewhere (a terminal opened from a service) is not
/// connected to the journal.
fn is_journal_stream(journal_stream: Option<&str>, stderr_id: Option<(u64, u64)>) -> bool {
    let Some((dev, ino)) = journal_stream.and_then(|s| s.trim().split_once(':')) else {
        return false;
    };
    match (dev.parse::<u64>(), ino.parse::<u64>(), stderr_id) {
        (Ok(d), Ok(i), Some(id)) => (d, i) == id,
        _ => false,
    }
}

fn choose_sink(format: LogFormat, journal: bool, terminal: bool, no_color: bool) -> Sink {
    match format {
        LogFormat::Json => Sink::Json,
        LogFormat::Human if journal => Sink::Journal,
        LogFormat::Human => Sink::Human {
            ansi: terminal && !no_color,
            time: true,
        },
    }
}

/// The filter directive: `TIDINGS_LOG`, else `RUST_LOG`, else `info`; an empty value counts
/// as unset.
fn filter_directive(tidings_log: Option<String>, rust_log: Option<String>) -> String {
    tidings_log
        .filter(|s| !s.trim().is_empty())
        .or_else(|| rust_log.filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "info".to_string())
}

/// Device and inode of stderr, as `JOURNAL_STREAM` writes them.
fn stderr_id() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Installs the global tracing subscriber (once; later calls do nothing). See the module
/// documentation for where logs go. An invalid filter falls back to `info` with a warning.
pub fn init(format: LogFormat) {
    let directive = filter_directive(
        std::env::var("TIDINGS_LOG").ok(),
        std::env::var("RUST_LOG").ok(),
    );
    let (filter, bad_filter) = match EnvFilter::try_new(&directive) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let journal = is_journal_stream(std::env::var("JOURNAL_STREAM").ok().as_deref(), stderr_id());
    let sink = choose_sink(
        format,
        journal,
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").is_some(),
    );
    let mut journal_error = None;
    let sink = match sink {
        Sink::Journal => match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(Some("TIDINGS".into()))
                    .with_syslog_identifier("tidings".into());
                let _ = tracing_subscriber::registry()
                    .with(filter)
                    .with(layer)
                    .try_init();
                None
            }
            Err(e) => {
                journal_error = Some(e);
                Some((
                    filter,
                    Sink::Human {
                        ansi: false,
                        time: false,
                    },
                ))
            }
        },
        other => Some((filter, other)),
    };
    if let Some((filter, sink)) = sink {
        let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        let _ = match sink {
            Sink::Json => tracing_subscriber::registry()
                .with(filter)
                .with(fmt.json())
                .try_init(),
            Sink::Human { ansi, time: true } => tracing_subscriber::registry()
                .with(filter)
                .with(fmt.with_ansi(ansi))
                .try_init(),
            Sink::Human { ansi, time: false } => tracing_subscriber::registry()
                .with(filter)
                .with(fmt.with_ansi(ansi).without_time())
                .try_init(),
            Sink::Journal => Ok(()),
        };
    }
    if let Some(e) = journal_error {
        tracing::warn!(error = %e, "cannot log to the journal; logging to stderr");
    }
    if let Some(e) = bad_filter {
        tracing::warn!(filter = %directive, error = %e, "invalid log filter; using \"info\"");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_only_when_journal_stream_names_stderr() {
        assert!(is_journal_stream(Some("8:12345"), Some((8, 12345))));
        assert!(!is_journal_stream(Some("8:12345"), Some((8, 99))));
        assert!(!is_journal_stream(Some("8:12345"), None));
        assert!(!is_journal_stream(Some("garbage"), Some((8, 12345))));
        assert!(!is_journal_stream(Some(""), Some((0, 0))));
        assert!(!is_journal_stream(None, Some((8, 12345))));
    }

    #[test]
    fn sinks() {
        use LogFormat::*;
        assert_eq!(choose_sink(Human, true, false, false), Sink::Journal);
        assert_eq!(choose_sink(Json, true, false, false), Sink::Json);
        assert_eq!(
            choose_sink(Human, false, true, false),
            Sink::Human {
                ansi: true,
                time: true
            }
        );
        assert_eq!(
            choose_sink(Human, false, true, true),
            Sink::Human {
                ansi: false,
                time: true
            }
        );
        assert_eq!(
            choose_sink(Human, false, false, false),
            Sink::Human {
                ansi: false,
                time: true
            }
        );
        assert_eq!(choose_sink(Json, false, true, false), Sink::Json);
    }

    #[test]
    fn filter_precedence() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(filter_directive(s("debug"), s("warn")), "debug");
        assert_eq!(filter_directive(None, s("warn")), "warn");
        assert_eq!(filter_directive(s(""), s("warn")), "warn");
        assert_eq!(filter_directive(None, None), "info");
        assert_eq!(filter_directive(s(" "), None), "info");
    }

    #[test]
    fn stderr_has_an_identity() {
        // The test harness's stderr is a file, pipe or terminal: fstat works on all of them.
        assert!(stderr_id().is_some());
    }
}
