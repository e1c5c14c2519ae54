//! EDGE: HTTP. Conditional GET with limits (timeouts, redirects, body cap) -> [`FetchOutcome`].
//!
//! One [`Fetcher`] (one reqwest client, one connection pool) serves the whole process.

#![deny(clippy::arithmetic_side_effects)] // instants move only through `checked_time`

use crate::checked_time;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, redirect};
use thiserror::Error;
use url::Url;

use crate::schedule::{self, CacheHints};

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!(
    "tidings/",
    env!("CARGO_PKG_VERSION"),
    " (+",
    env!("CARGO_PKG_REPOSITORY"),
    ")"
);

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = 5;

/// Limits of one fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: u64,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: crate::config::DEFAULT_MAX_BODY,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// What we send back to the server from the last successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The result of one request.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// 2xx with a body.
    Fetched {
        status: u16,
        body: Vec<u8>,
        validators: Validators,
        hints: CacheHints,
        /// Where the body came from after redirects.
        final_url: Url,
        /// Set when every redirect on the way was permanent (301/308): the feed's new home.
        moved_to: Option<Url>,
    },
    /// 304: nothing to parse.
    NotModified {
        hints: CacheHints,
        moved_to: Option<Url>,
    },
    /// No usable body.
    Failed {
        status: Option<u16>,
        /// What the failure means for the feed (the daemon decides by this, never by `status`).
        failure: Failure,
        /// What went wrong, for the feed's `last_error` and the log.
        error: FetchError,
        hints: CacheHints,
    },
}

impl FetchOutcome {
    /// A response with an error status (not 2xx, 304 or a followed redirect), classified.
    pub fn http_error(status: u16, hints: CacheHints) -> FetchOutcome {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        FetchOutcome::Failed {
            status: Some(status),
            failure: Failure::of_status(status, &hints),
            error: FetchError::Status {
                status,
                reason: reason.to_string(),
            },
            hints,
        }
    }

    /// A failure before any usable response (network, timeout, redirects, body cap): retried.
    fn failed(status: Option<u16>, error: FetchError, hints: CacheHints) -> FetchOutcome {
        FetchOutcome::Failed {
            status,
            failure: Failure::Retry,
            error,
            hints,
        }
    }
}

/// What a failed fetch means for the feed and its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Try again after the feed's backoff: network errors, timeouts, refused redirects, a body
    /// over the cap, and every error status but those below.
    Retry,
    /// 429 or 503 with `Retry-After`: the whole host asked for a pause until `until`
    /// (clamped like every hint, see [`cache_hints`]).
    RateLimited { until: DateTime<Utc> },
    /// 410: the feed is gone for good.
    Gone,
}

impl Failure {
    /// What an error status means, given the response's (clamped) hints.
    pub fn of_status(status: u16, hints: &CacheHints) -> Failure {
        match (status, hints.retry_after) {
            (410, _) => Failure::Gone,
            (429 | 503, Some(until)) => Failure::RateLimited { until },
            _ => Failure::Retry,
        }
    }
}

/// Why a fetch produced no usable body.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("HTTP {status} {reason}")]
    Status { status: u16, reason: String },
    #[error("body larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("redirect refused: {0}")]
    Redirect(String),
    #[error("{0}")]
    Other(String),
}

/// A `reqwest` client builder with TLS ready: installs rustls's ring provider as the process
/// default (once; a provider installed earlier is kept). Every HTTP client is built from here.
pub fn client_builder() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err means a provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Fetcher, reqwest::Error> {
        // Redirects are followed by hand: to refuse non-http(s) targets, to count hops, and to
        // notice a chain of permanent redirects (the scheduler adopts the new URL).
        let client = client_builder()
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            .redirect(redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()?;
        Ok(Fetcher { client, limits })
    }

    /// Conditional GET of `url`. Never panics, never returns more than the body cap, never
    /// takes longer than the request timeout (redirects included).
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> FetchOutcome {
        let whole = self.limits.request_timeout;
        match tokio::time::timeout(whole, self.fetch_inner(url, validators, now)).await {
            Ok(outcome) => outcome,
            Err(_) => FetchOutcome::failed(
                None,
                FetchError::Timeout(format!("no complete response within {}s", whole.as_secs())),
                CacheHints::default(),
            ),
        }
    }

    async fn fetch_inner(
        &self,
        url: &Url,
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> FetchOutcome {
        let failed = |status, error| FetchOutcome::failed(status, error, CacheHints::default());
        let mut url = url.clone();
        let mut all_permanent = true;
        let mut hops = 0;
        let resp = loop {
            let resp = match self.request(&url, validators).send().await {
                Ok(r) => r,
                Err(e) => return failed(None, classify(e)),
            };
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            if hops == MAX_REDIRECTS {
                return failed(
                    Some(status.as_u16()),
                    FetchError::Redirect(format!("more than {MAX_REDIRECTS} redirects")),
                );
            }
            let Some(next) =
                header_str(resp.headers(), header::LOCATION).and_then(|l| url.join(&l).ok())
            else {
                return failed(
                    Some(status.as_u16()),
                    FetchError::Redirect(format!(
                        "HTTP {} without a usable Location",
                        status.as_u16()
                    )),
                );
            };
            if !matches!(next.scheme(), "http" | "https") {
                return failed(
                    Some(status.as_u16()),
                    FetchError::Redirect(format!("redirect to a {}: URL", next.scheme())),
                );
            }
            all_permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            hops = hops.saturating_add(1);
            url = next;
        };
        let moved_to = (hops > 0 && all_permanent).then(|| url.clone());
        let status = resp.status();
        let hints = cache_hints(resp.headers(), now);
        if status == StatusCode::NOT_MODIFIED {
            return FetchOutcome::NotModified { hints, moved_to };
        }
        if !status.is_success() {
            return FetchOutcome::http_error(status.as_u16(), hints);
        }
        let new_validators = Validators {
            etag: header_str(resp.headers(), header::ETAG),
            last_modified: header_str(resp.headers(), header::LAST_MODIFIED),
        };
        match read_capped(resp, self.limits.max_body_bytes).await {
            Ok(body) => FetchOutcome::Fetched {
                status: status.as_u16(),
                body,
                validators: new_validators,
                hints,
                final_url: url,
                moved_to,
            },
            Err(error) => FetchOutcome::failed(Some(status.as_u16()), error, hints),
        }
    }

    fn request(&self, url: &Url, validators: &Validators) -> reqwest::RequestBuilder {
        let mut req = self.client.get(url.clone()).header(
            header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, \
             application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        );
        if let Some(etag) = validators
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        req
    }
}

/// Streams the (decompressed) body, failing as soon as it passes `cap` bytes.
async fn read_capped(mut resp: reqwest::Response, cap: u64) -> Result<Vec<u8>, FetchError> {
    if resp.content_length().is_some_and(|n| n > cap) {
        return Err(FetchError::TooLarge { limit: cap });
    }
    // Sized once from Content-Length (capped): growing by doubling copied a 75 KB body about
    // five times.
    let mut body = Vec::with_capacity(resp.content_length().map_or(0, |n| n.min(cap)) as usize);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() as u64).saturating_add(chunk.len() as u64) > cap {
                    return Err(FetchError::TooLarge { limit: cap });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(classify(e)),
        }
    }
}

fn classify(e: reqwest::Error) -> FetchError {
    let e = e.without_url();
    let chain = error_chain(&e);
    if e.is_timeout() {
        FetchError::Timeout(chain)
    } else if e.is_redirect() {
        FetchError::Redirect(chain)
    } else if e.is_connect() {
        // The innermost cause says it best ("Connection refused (os error 111)").
        let mut root: &dyn std::error::Error = &e;
        while let Some(s) = root.source() {
            root = s;
        }
        FetchError::Connect(root.to_string())
    } else {
        FetchError::Other(chain)
    }
}

/// The error and its causes on one line, without the URL (which may hold credentials).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_str = s.to_string();
        if !out.contains(&s_str) {
            out.push_str(": ");
            out.push_str(&s_str);
        }
        src = s.source();
    }
    out
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Reads `Cache-Control`, `Expires` and `Retry-After`, clamped by [`clamp`].
pub fn cache_hints(h: &HeaderMap, now: DateTime<Utc>) -> CacheHints {
    let max_age = h
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|d| {
            let (k, v) = d.trim().split_once('=')?;
            matches!(
                k.trim().to_ascii_lowercase().as_str(),
                "max-age" | "s-maxage"
            )
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
            .flatten()
        })
        .max()
        .map(Duration::from_secs);
    let expires = header_str(h, header::EXPIRES).and_then(|s| http_date(&s));
    let retry_after = header_str(h, header::RETRY_AFTER).and_then(|s| match s.parse::<u64>() {
        Ok(secs) => Some(Later::After(Duration::from_secs(secs))),
        Err(_) => http_date(&s).map(Later::At),
    });
    clamp(
        now,
        Sent {
            max_age,
            expires,
            retry_after,
        },
    )
}

/// The server's hints as sent, before [`clamp`].
#[derive(Debug, Clone, Copy, Default)]
struct Sent {
    max_age: Option<Duration>,
    expires: Option<DateTime<Utc>>,
    retry_after: Option<Later>,
}

/// `Retry-After`'s two forms.
#[derive(Debug, Clone, Copy)]
enum Later {
    /// Seconds.
    After(Duration),
    /// An HTTP date.
    At(DateTime<Utc>),
}

/// Every server hint clamped, in one place: nothing defers a feed or its host beyond the
/// schedule's ceiling ([`schedule::CEILING`], a day) from `now`, and a time in the past is `now`.
fn clamp(now: DateTime<Utc>, sent: Sent) -> CacheHints {
    let latest = checked_time::later(now, schedule::CEILING);
    let at = |later: Later| match later {
        Later::After(d) => checked_time::later(now, d.min(schedule::CEILING)),
        Later::At(t) => t.clamp(now, latest),
    };
    CacheHints {
        max_age: sent.max_age.map(|d| d.min(schedule::CEILING)),
        expires: sent.expires.map(|t| at(Later::At(t))),
        retry_after: sent.retry_after.map(at),
    }
}

/// An HTTP date in any of RFC 9110's three forms (IMF-fixdate, RFC 850, asctime).
fn http_date(s: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(s).ok().map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TLS goes through the installed ring provider: an `https` URL whose server does not
    /// speak TLS is a failed fetch with a reason, not a panic about a missing provider.
    #[tokio::test]
    async fn https_handshake_with_a_plain_server_fails_cleanly() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let fetcher = Fetcher::new(Limits::default()).unwrap();
        let url = Url::parse(&format!("https://127.0.0.1:{port}/feed.xml")).unwrap();
        let out = fetcher
            .fetch(&url, &Validators::default(), Utc::now())
            .await;
        match out {
            FetchOutcome::Failed {
                status: None,
                error,
                ..
            } => {
                assert!(!error.to_string().is_empty());
            }
            other => panic!("expected a failed fetch, got {other:?}"),
        }
        server.abort();
    }

    #[test]
    fn cache_hints_read_max_age_expires_and_retry_after() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=600".parse().unwrap(),
        );
        h.insert(
            header::EXPIRES,
            "Fri, 27 Nov 2026 13:00:00 GMT".parse().unwrap(),
        );
        h.insert(header::RETRY_AFTER, "120".parse().unwrap());
        let hints = cache_hints(&h, now);
        assert_eq!(hints.max_age, Some(Duration::from_secs(600)));
        assert_eq!(hints.expires, Some(now + chrono::Duration::hours(1)));
        assert_eq!(hints.retry_after, Some(now + chrono::Duration::minutes(2)));
        h.insert(
            header::RETRY_AFTER,
            "Fri, 27 Nov 2026 12:30:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            cache_hints(&h, now).retry_after,
            Some(now + chrono::Duration::minutes(30))
        );
        h.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(cache_hints(&h, now).retry_after, None);
    }

    fn noon() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn hints_of(name: header::HeaderName, value: &str) -> CacheHints {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        cache_hints(&h, noon())
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let at = noon() + chrono::Duration::minutes(30);
        for form in [
            "Fri, 27 Nov 2026 12:30:00 GMT",  // IMF-fixdate
            "Friday, 27-Nov-26 12:30:00 GMT", // RFC 850
            "Fri Nov 27 12:30:00 2026",       // asctime
        ] {
            assert_eq!(http_date(form), Some(at), "{form}");
            assert_eq!(
                hints_of(header::RETRY_AFTER, form).retry_after,
                Some(at),
                "Retry-After: {form}"
            );
            assert_eq!(
                hints_of(header::EXPIRES, form).expires,
                Some(at),
                "Expires: {form}"
            );
        }
    }

    #[test]
    fn every_hint_is_clamped_to_a_day_and_never_before_now() {
        let day = noon() + chrono::Duration::days(1);
        let far = "Fri, 31 Dec 9999 23:59:59 GMT";
        let past = "Wed, 01 Jan 2020 00:00:00 GMT";
        assert_eq!(hints_of(header::RETRY_AFTER, far).retry_after, Some(day));
        assert_eq!(hints_of(header::EXPIRES, far).expires, Some(day));
        assert_eq!(
            hints_of(header::RETRY_AFTER, past).retry_after,
            Some(noon())
        );
        assert_eq!(hints_of(header::EXPIRES, past).expires, Some(noon()));
        assert_eq!(
            hints_of(header::RETRY_AFTER, "31536000").retry_after,
            Some(day),
            "a year in seconds"
        );
        assert_eq!(
            hints_of(header::RETRY_AFTER, "18446744073709551615").retry_after,
            Some(day),
            "u64::MAX seconds"
        );
        assert_eq!(
            hints_of(header::CACHE_CONTROL, "max-age=31536000").max_age,
            Some(schedule::CEILING)
        );
        assert_eq!(
            hints_of(header::CACHE_CONTROL, "max-age=60").max_age,
            Some(Duration::from_secs(60))
        );
        for garbage in [
            "soon",
            "-5",
            "Fri, 31 Dec 99999 23:59:59 GMT",
            "2026-11-27T12:30:00Z",
        ] {
            assert_eq!(
                hints_of(header::RETRY_AFTER, garbage).retry_after,
                None,
                "Retry-After: {garbage}"
            );
            assert_eq!(
                hints_of(header::EXPIRES, garbage).expires,
                None,
                "Expires: {garbage}"
            );
        }
    }

    #[test]
    fn error_statuses_are_classified() {
        let until = noon() + chrono::Duration::minutes(5);
        let asked = CacheHints {
            retry_after: Some(until),
            ..Default::default()
        };
        let failure =
            |status, hints: &CacheHints| match FetchOutcome::http_error(status, hints.clone()) {
                FetchOutcome::Failed { failure, .. } => failure,
                other => panic!("{other:?}"),
            };
        assert_eq!(failure(410, &CacheHints::default()), Failure::Gone);
        assert_eq!(failure(429, &asked), Failure::RateLimited { until });
        assert_eq!(failure(503, &asked), Failure::RateLimited { until });
        assert_eq!(failure(429, &CacheHints::default()), Failure::Retry);
        assert_eq!(failure(500, &asked), Failure::Retry);
        assert_eq!(failure(404, &CacheHints::default()), Failure::Retry);
    }

    /// A server that asks for a pause until the year 9999 stops its host for a day, not for
    /// ever (before the clamp the date form was taken as it came).
    #[tokio::test]
    async fn retry_after_in_year_9999_defers_the_host_one_day() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(
                    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        });
        let fetcher = Fetcher::new(Limits::default()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/feed.xml")).unwrap();
        let now = Utc::now();
        let day = now + chrono::Duration::days(1);
        match fetcher.fetch(&url, &Validators::default(), now).await {
            FetchOutcome::Failed {
                status: Some(429),
                failure: Failure::RateLimited { until },
                hints,
                ..
            } => {
                assert_eq!(until, day);
                assert_eq!(hints.retry_after, Some(day));
            }
            other => panic!("expected 429 rate limited, got {other:?}"),
        }
        server.abort();
    }

    #[test]
    fn user_agent_names_version_and_repository() {
        assert!(USER_AGENT.starts_with("tidings/"));
        assert!(USER_AGENT.contains("(+https://"));
    }
}
