//! `tidings feeds ...`: list, add (finding a page's feeds), remove, enable, disable, import and
//! export the watch-list's feeds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::daemon::runtime;
use super::paths::{config_path, open_store, open_store_read_only};
use super::{EXIT_USAGE, Failure, Global, usage};
use crate::config;
use crate::sanitize::escape_controls;

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Add a feed to the watch-list. An HTML page's advertised feeds are found and offered.
    Add {
        /// The feed's URL, or a web page that links to its feeds.
        url: String,
        /// A name for the feed (default: the feed's own title).
        #[arg(long)]
        name: Option<String>,
        /// When the page offers several feeds, add the Nth (from 1).
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
    },
    /// List the watch-list's feeds with their health.
    List,
    /// Remove a feed from the watch-list (its history stays in the database).
    Remove { url: String },
    /// Poll a feed again: removes `enabled = false`, and lifts a 410 Gone.
    Enable { url: String },
    /// Stop polling a feed without removing it (`enabled = false`).
    Disable { url: String },
    /// Add the feeds of an OPML file (duplicates skipped).
    Import { file: PathBuf },
    /// Print the watch-list's feeds as OPML 2.0.
    Export,
}

/// Reads the watch-list text for editing (an absent file is an empty watch-list).
fn read_watchlist(path: &std::path::Path) -> Result<String, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot read {}", path.display()))
            .into()),
    }
}

/// Switches the watch-list's feed `url` on or off (`enabled = false`, comments kept), writing
/// the file only when that changes it; `feeds enable|disable` and the review's Feeds pane.
pub(crate) fn switch_feed(path: &std::path::Path, url: &str, enabled: bool) -> Result<(), Failure> {
    let text = read_watchlist(path)?;
    let new = crate::watchlist_edit::set_feed_enabled(&text, url, enabled).map_err(usage)?;
    if new != text {
        write_watchlist(path, &new)?;
    }
    Ok(())
}

/// Validates and writes an edited watch-list atomically (temp file + rename), keeping its mode.
/// A running daemon notices the change and reloads.
fn write_watchlist(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    config::parse(text, path).map_err(usage)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
    };
    crate::atomic_write::replace(path, text.as_bytes(), mode)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// `tidings feeds ...`: edits the watch-list, keeping its comments and layout.
pub(super) fn feeds_command(global: &Global, cmd: FeedsCommand) -> Result<ExitCode, Failure> {
    use crate::watchlist_edit as edit;
    let path = config_path(global)?;
    match cmd {
        FeedsCommand::List => {
            let text = read_watchlist(&path)?;
            let entries = edit::list_feeds(&text).map_err(usage)?;
            // Read-only: a missing database is not created; the feeds show "not polled yet".
            let store = open_store_read_only(global).ok();
            for e in entries {
                let state = store
                    .as_ref()
                    .and_then(|s| s.feed_by_url(&e.url).ok().flatten());
                let health = match &state {
                    _ if !e.enabled => "disabled".to_string(),
                    Some(s) if s.disabled_reason.is_some() => {
                        format!("stopped: {}", s.disabled_reason.clone().unwrap_or_default())
                    }
                    Some(s) if s.consecutive_failures > 0 => {
                        format!("failing: {}", s.last_error.clone().unwrap_or_default())
                    }
                    Some(s) if s.last_polled_at.is_some() => {
                        format!(
                            "ok, HTTP {}",
                            s.last_status.map(|c| c.to_string()).unwrap_or_default()
                        )
                    }
                    _ => "not polled yet".to_string(),
                };
                let name = e
                    .name
                    .clone()
                    .or_else(|| state.as_ref().and_then(|s| s.title.clone()))
                    .unwrap_or_default();
                // The name may be the feed's own title and the health quote its server.
                println!(
                    "{}  {}  [{}]",
                    escape_controls(&e.url),
                    escape_controls(&name),
                    escape_controls(&health)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Export => {
            let text = read_watchlist(&path)?;
            let entries = edit::list_feeds(&text).map_err(usage)?;
            let pairs: Vec<(String, Option<String>)> =
                entries.into_iter().map(|e| (e.url, e.name)).collect();
            print!("{}", crate::opml::to_opml(&pairs));
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Import { file } => {
            let opml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let doc = crate::opml::parse_opml_document(&opml)
                .map_err(|e| usage(anyhow::anyhow!("{}: {e}", file.display())))?;
            let (feeds, dup_in_file) = crate::opml::dedup(doc.feeds);
            let mut text = read_watchlist(&path)?;
            let (mut added, mut already) = (0, 0);
            for f in feeds {
                match edit::add_feed(&text, &f.url, f.name.as_deref()) {
                    Ok(t) => {
                        text = t;
                        added += 1;
                    }
                    Err(edit::EditError::Duplicate { .. }) => already += 1,
                    Err(e) => return Err(usage(e)),
                }
            }
            if added > 0 {
                write_watchlist(&path, &text)?;
            }
            let invalid = if doc.invalid.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} invalid URLs ({})",
                    doc.invalid.len(),
                    doc.invalid.join(", ")
                )
            };
            println!(
                "{}: added {added} feeds; skipped {already} already in the watch-list, {dup_in_file} duplicated in the file, {} outlines that are not feeds{invalid}",
                file.display(),
                doc.skipped,
            );
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Remove { url } => {
            let text = read_watchlist(&path)?;
            write_watchlist(&path, &edit::remove_feed(&text, &url).map_err(usage)?)?;
            println!("removed {url} (its history stays in the database)");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Enable { url } => {
            switch_feed(&path, &url, true)?;
            if let Ok(mut store) = open_store(global)
                && store.enable_feed(&url)?
            {
                println!("{url}: was stopped after 410 Gone; polling it again");
            }
            println!("{url}: enabled");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Disable { url } => {
            switch_feed(&path, &url, false)?;
            println!("{url}: disabled (enabled = false)");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Add { url, name, pick } => {
            let candidate =
                url::Url::parse(&url).map_err(|e| usage(anyhow::anyhow!("{url}: {e}")))?;
            let (bytes, final_url) = fetch_once(&candidate)?;
            let chosen = match crate::parse::parse(&bytes, &final_url) {
                Ok(feed) => {
                    let title = feed
                        .title
                        .map(|t| format!(" ({})", escape_controls(&t)))
                        .unwrap_or_default();
                    println!("{url}: a feed{title} with {} entries", feed.articles.len());
                    url.clone()
                }
                Err(parse_err) => {
                    let html = String::from_utf8_lossy(&bytes);
                    let found = crate::discover::feed_links(&html, &final_url);
                    match (found.len(), pick) {
                        (0, _) => {
                            return Err(anyhow::anyhow!(
                                "{url} is not a feed ({}) and the page links to no feeds",
                                escape_controls(&parse_err.to_string())
                            )
                            .into());
                        }
                        (1, _) => {
                            println!("{url} is a web page; it offers one feed: {}", found[0].0);
                            found[0].0.to_string()
                        }
                        (n, Some(k)) if (1..=n).contains(&k) => found[k - 1].0.to_string(),
                        (n, _) => {
                            println!("{url} is a web page offering {n} feeds:");
                            for (i, (u, title, ty)) in found.iter().enumerate() {
                                println!(
                                    "  {}. {u}  {}  ({})",
                                    i + 1,
                                    escape_controls(title.as_deref().unwrap_or_default()),
                                    escape_controls(ty)
                                );
                            }
                            println!("add one with: tidings feeds add {url} --pick N");
                            return Ok(ExitCode::from(EXIT_USAGE));
                        }
                    }
                }
            };
            let text = read_watchlist(&path)?;
            write_watchlist(
                &path,
                &edit::add_feed(&text, &chosen, name.as_deref()).map_err(usage)?,
            )?;
            println!("added {chosen} to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One GET with the daemon's fetcher (limits, redirects, user agent).
pub(super) fn fetch_once(url: &url::Url) -> Result<(Vec<u8>, url::Url), Failure> {
    let outcome = runtime()?.block_on(async {
        let fetcher = crate::fetch::Fetcher::new(crate::fetch::Limits::default())?;
        Ok::<_, anyhow::Error>(
            fetcher
                .fetch(url, &Default::default(), chrono::Utc::now())
                .await,
        )
    })?;
    match outcome {
        crate::fetch::FetchOutcome::Fetched {
            body, final_url, ..
        } => Ok((body, final_url)),
        crate::fetch::FetchOutcome::Failed { error, .. } => Err(anyhow::anyhow!(
            "{}: {}",
            config::redact_url(url),
            escape_controls(&error.to_string())
        )
        .into()),
        crate::fetch::FetchOutcome::NotModified { .. } => {
            Err(anyhow::anyhow!("{}: unexpected 304 Not Modified", config::redact_url(url)).into())
        }
    }
}
