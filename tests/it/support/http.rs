//! A loopback HTTP/1.1 server for tests, hand-rolled on tokio so that every byte on the wire is
//! under the test's control (which the fault behaviours need).
//!
//! The listener is bound to `127.0.0.1:0` before [`TestServer::start`] returns, so a URL from
//! [`TestServer::url`] is connectable at once. Each path has a [`Behaviour`] that tests may
//! change between polls; every request is recorded, in arrival order. One request per
//! connection (`Connection: close`), which keeps the fault behaviours simple.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does for one path.
///
/// New fault behaviours slot in as variants: the connection handler matches on the variant
/// after the request has been read and recorded, and owns the socket from then on.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answer with this response. If the response carries an `ETag` or `Last-Modified` header,
    /// a matching `If-None-Match` / `If-Modified-Since` gets `304 Not Modified` instead
    /// (RFC 9110 §13.1: `If-None-Match` wins over `If-Modified-Since`).
    Respond(Response),
    /// Redirect: `status` (301, 302, 303, 307, 308) with a `Location` header.
    Redirect { status: u16, location: String },
    /// Read the request, then never answer (and never close): for fetch timeout tests.
    Hang,
    /// Send the status line, the headers (with the full `Content-Length`) and the first
    /// `after` bytes of the body, then reset the connection (TCP RST).
    ResetMidBody { response: Response, after: usize },
    /// Send the head at once (with the full `Content-Length`), then the body one byte per
    /// `interval`.
    Trickle {
        response: Response,
        interval: Duration,
    },
    /// 200 with a body of `len` bytes repeating `pattern`, streamed in chunks (never held in
    /// memory). Without `declare_length` the body is delimited by closing the connection, so
    /// the client cannot refuse it up front and must cap it while streaming.
    Huge {
        len: u64,
        pattern: Vec<u8>,
        content_type: String,
        declare_length: bool,
    },
    /// 200 with `Content-Encoding: gzip`: a valid gzip stream of `inflated_mib` MiB of
    /// zeros, generated and streamed on the fly (about 1 KiB on the wire per inflated MiB).
    /// The gzip trailer's CRC is not computed (a client that reads that far has already
    /// failed to cap the body).
    GzipBomb { inflated_mib: u64 },
    /// Wait `delay`, then do `then`.
    Delayed {
        delay: Duration,
        then: Box<Behaviour>,
    },
}

impl Behaviour {
    /// `then` after `delay`.
    pub fn delayed(delay: Duration, then: impl Into<Behaviour>) -> Behaviour {
        Behaviour::Delayed {
            delay,
            then: Box::new(then.into()),
        }
    }
}

/// A status, headers and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// 200 with this body and no headers.
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// This status with an empty body.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// Adds a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn content_type(self, value: &str) -> Response {
        self.header("Content-Type", value)
    }

    /// `etag` as written on the wire, quotes included: `"v1"` or `W/"v1"`.
    pub fn etag(self, etag: &str) -> Response {
        self.header("ETag", etag)
    }

    /// An HTTP date, e.g. `Tue, 22 Mar 2022 12:00:00 GMT`.
    pub fn last_modified(self, date: &str) -> Response {
        self.header("Last-Modified", date)
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl From<Response> for Behaviour {
    fn from(r: Response) -> Behaviour {
        Behaviour::Respond(r)
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0-based arrival order over the whole server.
    pub seq: usize,
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The status the server answered with (`None` for behaviours that send no status line).
    pub status: Option<u16>,
    /// When the request head had been read (before any `Delayed` wait).
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Behaviour>>,
    requests: Mutex<Vec<Request>>,
    /// Connections accepted (a black-hole server reads no requests, so counts only these).
    connections: AtomicUsize,
    /// Accept connections and hold them without reading or writing a byte.
    black_hole: bool,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Binds `127.0.0.1:0`, then starts serving on the current tokio runtime.
    pub async fn start() -> TestServer {
        TestServer::start_on("127.0.0.1").await
    }

    /// Binds `IP:0` on a loopback address of its own (`127.0.0.2`, `127.0.0.3`, … are all
    /// loopback on Linux), so that tests can have distinct "hosts" for per-host politeness.
    pub async fn start_on(ip: &str) -> TestServer {
        TestServer::spawn(ip, false).await
    }

    /// A server on `IP:0` that accepts every connection and then never reads, writes or
    /// closes it: a host that is up but never answers. [`TestServer::connections`] counts
    /// the accepted connections; no request is ever recorded.
    pub async fn start_black_hole(ip: &str) -> TestServer {
        TestServer::spawn(ip, true).await
    }

    async fn spawn(ip: &str, black_hole: bool) -> TestServer {
        let listener = TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}:0: {e}"));
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(State {
            black_hole,
            ..State::default()
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                st.connections.fetch_add(1, Ordering::SeqCst);
                if st.black_hole {
                    held.push(stream);
                    continue;
                }
                let st = st.clone();
                tokio::spawn(async move {
                    // A client that goes away mid-request is not the test's business.
                    let _ = handle(stream, st).await;
                });
            }
        });
        TestServer { addr, state, task }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/PATH` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "path must start with '/': {path}");
        format!("http://{}{}", self.addr, path)
    }

    /// Sets (or replaces) what `path` does from the next request on.
    pub fn set(&self, path: &str, behaviour: impl Into<Behaviour>) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), behaviour.into());
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests for one path, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// A URL on loopback where nothing listens: a port that was bound and then released.
pub async fn closed_port_url(path: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("local_addr");
    drop(l);
    format!("http://{addr}{path}")
}

async fn handle(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await? == 0 {
            return Ok(());
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    if let Some(len) = header(&headers, "content-length").and_then(|v| v.parse::<u64>().ok()) {
        let mut sink = Vec::new();
        (&mut reader).take(len).read_to_end(&mut sink).await?;
    }

    let behaviour = state.routes.lock().unwrap().get(&path).cloned();
    let behaviour = behaviour.unwrap_or_else(|| {
        Behaviour::Respond(
            Response::status(404)
                .content_type("text/plain")
                .body(format!("no route for {path}\n")),
        )
    });
    let planned = planned_status(&behaviour, &headers);
    {
        let mut reqs = state.requests.lock().unwrap();
        let seq = reqs.len();
        reqs.push(Request {
            seq,
            method: method.clone(),
            path,
            headers,
            status: planned,
            at: Instant::now(),
        });
    }

    let stream = reader.into_inner();
    respond(stream, behaviour, planned, &method).await
}

fn planned_status(b: &Behaviour, headers: &[(String, String)]) -> Option<u16> {
    match b {
        Behaviour::Respond(r) => Some(if not_modified(r, headers) {
            304
        } else {
            r.status
        }),
        Behaviour::Redirect { status, .. } => Some(*status),
        Behaviour::Hang => None,
        Behaviour::ResetMidBody { response, .. } | Behaviour::Trickle { response, .. } => {
            Some(response.status)
        }
        Behaviour::Huge { .. } | Behaviour::GzipBomb { .. } => Some(200),
        Behaviour::Delayed { then, .. } => planned_status(then, headers),
    }
}

async fn respond(
    mut stream: TcpStream,
    behaviour: Behaviour,
    planned: Option<u16>,
    method: &str,
) -> std::io::Result<()> {
    let mut behaviour = behaviour;
    while let Behaviour::Delayed { delay, then } = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = *then;
    }
    match behaviour {
        Behaviour::Respond(r) => {
            if planned == Some(304) {
                let keep: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .filter(|(n, _)| {
                        ["etag", "last-modified", "cache-control", "expires"]
                            .iter()
                            .any(|k| n.eq_ignore_ascii_case(k))
                    })
                    .cloned()
                    .collect();
                write_head(&mut stream, 304, &keep, None).await?;
            } else {
                let body = if method == "HEAD" {
                    &[][..]
                } else {
                    &r.body[..]
                };
                write_head(&mut stream, r.status, &r.headers, Some(r.body.len())).await?;
                stream.write_all(body).await?;
            }
            stream.flush().await?;
            stream.shutdown().await?;
        }
        Behaviour::Redirect { status, location } => {
            let headers = vec![("Location".to_owned(), location)];
            write_head(&mut stream, status, &headers, Some(0)).await?;
            stream.flush().await?;
            stream.shutdown().await?;
        }
        Behaviour::Hang => {
            // Hold the socket open until the client gives up (or the server is dropped).
            let mut buf = [0u8; 1024];
            while stream.read(&mut buf).await? > 0 {}
        }
        Behaviour::ResetMidBody { response, after } => {
            write_head(
                &mut stream,
                response.status,
                &response.headers,
                Some(response.body.len()),
            )
            .await?;
            stream
                .write_all(&response.body[..after.min(response.body.len())])
                .await?;
            stream.flush().await?;
            // SO_LINGER 0 makes the close send RST instead of FIN.
            let std = stream.into_std()?;
            socket_linger_zero(&std);
            drop(std);
        }
        Behaviour::Trickle { response, interval } => {
            write_head(
                &mut stream,
                response.status,
                &response.headers,
                Some(response.body.len()),
            )
            .await?;
            stream.flush().await?;
            for b in &response.body {
                tokio::time::sleep(interval).await;
                stream.write_all(std::slice::from_ref(b)).await?;
                stream.flush().await?;
            }
            stream.shutdown().await?;
        }
        Behaviour::Huge {
            len,
            pattern,
            content_type,
            declare_length,
        } => {
            let headers = vec![("Content-Type".to_owned(), content_type)];
            let declared = declare_length.then_some(len as usize);
            write_head(&mut stream, 200, &headers, declared).await?;
            let pattern = if pattern.is_empty() {
                vec![b' ']
            } else {
                pattern
            };
            let chunk: Vec<u8> = pattern.iter().copied().cycle().take(64 * 1024).collect();
            let mut sent = 0u64;
            while sent < len {
                let n = (len - sent).min(chunk.len() as u64) as usize;
                stream.write_all(&chunk[..n]).await?;
                sent += n as u64;
            }
            stream.flush().await?;
            stream.shutdown().await?;
        }
        Behaviour::GzipBomb { inflated_mib } => {
            let (head, block, tail) = gzip_bomb_parts(inflated_mib);
            let len = head.len() + block.len() * inflated_mib as usize + tail.len();
            let headers = vec![
                ("Content-Type".to_owned(), "application/rss+xml".to_owned()),
                ("Content-Encoding".to_owned(), "gzip".to_owned()),
            ];
            write_head(&mut stream, 200, &headers, Some(len)).await?;
            stream.write_all(&head).await?;
            for _ in 0..inflated_mib {
                stream.write_all(&block).await?;
            }
            stream.write_all(&tail).await?;
            stream.flush().await?;
            stream.shutdown().await?;
        }
        Behaviour::Delayed { .. } => unreachable!("delays were unwrapped above"),
    }
    Ok(())
}

/// The pieces of a gzip stream of `mib` MiB of zeros: the gzip header, one raw-deflate block
/// (full flush, so byte-aligned and independent) that inflates to 1 MiB of zeros, to be sent
/// `mib` times, and the final empty block plus the trailer (CRC left 0, ISIZE mod 2^32).
pub fn gzip_bomb_parts(mib: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; 1 << 20];
    let deflate = |input: &[u8], flush: FlushCompress| {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(8 * 1024);
        c.compress_vec(input, &mut out, flush).expect("deflate");
        out
    };
    let block = deflate(&zeros, FlushCompress::Full);
    assert!(
        block.len() < 8 * 1024,
        "1 MiB of zeros should deflate small"
    );
    // An empty final block (BFINAL=1, fixed Huffman, end-of-block): bits 1,01,0000000.
    let mut tail = vec![0x03, 0x00];
    tail.extend_from_slice(&0u32.to_le_bytes());
    tail.extend_from_slice(&((mib << 20) as u32).to_le_bytes());
    let head = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    (head, block, tail)
}

fn socket_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    unsafe extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd, a properly sized and aligned struct linger.
    unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

/// Whether a conditional request may be answered with 304 for this response.
fn not_modified(r: &Response, req: &[(String, String)]) -> bool {
    if !(200..300).contains(&r.status) {
        return false;
    }
    if let Some(inm) = header(req, "if-none-match") {
        let Some(etag) = r.get_header("etag") else {
            return false;
        };
        let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
        let mine = strip(etag);
        return inm.split(',').any(|t| t.trim() == "*" || strip(t) == mine);
    }
    let ims = header(req, "if-modified-since").and_then(http_date);
    let lm = r.get_header("last-modified").and_then(http_date);
    matches!((ims, lm), (Some(ims), Some(lm)) if lm <= ims)
}

pub fn http_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

async fn write_head(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    content_length: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(len) = content_length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
