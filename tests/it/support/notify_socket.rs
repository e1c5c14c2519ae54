//! A stand-in for systemd's notification socket (`$NOTIFY_SOCKET`, trap 8): a path
//! `AF_UNIX` datagram socket bound in a temp dir, drained by a background task (so that the
//! kernel's small datagram queue, `net.unix.max_dgram_qlen` = 10 here, never fills up and
//! blocks the daemon's sends while a test looks elsewhere), read with deadlines, and every
//! message kept for failure messages.

use std::path::PathBuf;
use std::time::Duration;

use tokio::net::UnixDatagram;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub struct NotifySocket {
    _dir: tempfile::TempDir,
    /// The socket's path: what `NOTIFY_SOCKET` is set to.
    pub path: PathBuf,
    rx: mpsc::UnboundedReceiver<String>,
    reader: JoinHandle<()>,
    /// Every datagram taken from the socket so far, in arrival order.
    log: Vec<String>,
    markers: u32,
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl NotifySocket {
    /// Binds `TMPDIR/tidings-sd-XXXX/notify` and starts draining it on the current runtime.
    pub fn bind() -> NotifySocket {
        let dir = tempfile::Builder::new()
            .prefix("tidings-sd-")
            .tempdir()
            .expect("tempdir");
        let path = dir.path().join("notify");
        let sock =
            UnixDatagram::bind(&path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = sock.recv(&mut buf).await {
                if tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        NotifySocket {
            _dir: dir,
            path,
            rx,
            reader,
            log: Vec::new(),
            markers: 0,
        }
    }

    /// The next datagram, or `None` when none arrives before `deadline`.
    pub async fn recv_until(&mut self, deadline: Instant) -> Option<String> {
        match tokio::time::timeout_at(deadline, self.rx.recv()).await {
            Ok(Some(msg)) => {
                self.log.push(msg.clone());
                Some(msg)
            }
            Ok(None) => panic!("the reader of {} stopped", self.path.display()),
            Err(_) => None,
        }
    }

    /// Reads datagrams until one satisfies `wanted`; returns it and those skipped before it.
    /// Fails the test (showing everything received) after `timeout`.
    pub async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> (String, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let mut skipped = Vec::new();
        loop {
            match self.recv_until(deadline).await {
                Some(m) if wanted(&m) => return (m, skipped),
                Some(m) => skipped.push(m),
                None => panic!(
                    "no {what} on NOTIFY_SOCKET within {timeout:?}; received so far:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Every datagram that was sent to the socket before this call, and not yet read: sends a
    /// marker datagram of our own and reads up to it (the queue is first in, first out).
    pub async fn flush(&mut self) -> Vec<String> {
        self.markers += 1;
        let marker = format!("X_TEST_MARKER={}\n", self.markers);
        let sender = std::os::unix::net::UnixDatagram::unbound().expect("unbound datagram");
        sender
            .send_to(marker.as_bytes(), &self.path)
            .unwrap_or_else(|e| panic!("send a marker to {}: {e}", self.path.display()));
        let (_, before) = self
            .expect("our own marker", super::TIMEOUT, |m| m == marker)
            .await;
        self.log.pop();
        before
    }

    /// Every datagram received so far (markers left out), one per line, `\n` shown escaped.
    pub fn transcript(&self) -> String {
        self.log
            .iter()
            .map(|m| format!("  {m:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Every datagram received so far (markers left out).
    pub fn log(&self) -> &[String] {
        &self.log
    }
}
