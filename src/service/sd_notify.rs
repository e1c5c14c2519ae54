//! The sd_notify protocol: `READY=1`, `STATUS=…`, `RELOADING=1`, `STOPPING=1`, `WATCHDOG=1`
//! as datagrams to the service manager's `$NOTIFY_SOCKET`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use ::sd_notify::NotifyState;

/// Where sd_notify messages go: a path socket, or an abstract one (`@name`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

/// The service manager's notification socket (`$NOTIFY_SOCKET`) and watchdog
/// (`$WATCHDOG_USEC`, `$WATCHDOG_PID`). Every method is a no-op returning `Ok` when tidings
/// does not run under a service manager that listens.
///
/// Errors are `io::Error`s from sending; callers log them (a lost notification must never
/// stop the daemon).
#[derive(Debug, Clone, Default)]
pub struct SdNotify {
    target: Option<Target>,
    watchdog: Option<Duration>,
}

impl SdNotify {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Self {
        let var = |k| std::env::var(k).ok();
        Self::from_vars(
            std::env::var_os("NOTIFY_SOCKET"),
            var("WATCHDOG_USEC").as_deref(),
            var("WATCHDOG_PID").as_deref(),
            std::process::id(),
        )
    }

    /// A `SdNotify` that sends nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// From explicit values (what `from_env` reads; tests pass their own socket path).
    ///
    /// `socket` is an absolute path or `@abstract-name`; anything else disables sending. The
    /// watchdog is on when `watchdog_usec` is a positive number and `watchdog_pid` is unset or
    /// equals `our_pid`, as `sd_watchdog_enabled(3)` specifies.
    pub fn from_vars(
        socket: Option<OsString>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        our_pid: u32,
    ) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let target = socket.and_then(|s| {
            let bytes = s.as_bytes();
            match bytes.first() {
                Some(b'/') => Some(Target::Path(PathBuf::from(s))),
                Some(b'@') if bytes.len() > 1 => Some(Target::Abstract(bytes[1..].to_vec())),
                _ => None,
            }
        });
        let usec = watchdog_usec
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&u| u > 0);
        let for_us = match watchdog_pid {
            None => true,
            Some(p) => p.trim().parse::<u32>().is_ok_and(|p| p == our_pid),
        };
        SdNotify {
            target,
            watchdog: usec.filter(|_| for_us).map(Duration::from_micros),
        }
    }

    /// Whether a service manager listens (`NOTIFY_SOCKET` was usable).
    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// How often to send [`watchdog`](Self::watchdog): half of `WATCHDOG_USEC`, or `None`
    /// when the service manager runs no watchdog for this process.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    /// `READY=1`: startup (or a reload) is complete.
    pub fn ready(&self) -> io::Result<()> {
        self.send(&[NotifyState::Ready])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (the clock systemd compares reloads against);
    /// answer with [`ready`](Self::ready) when the reload is done.
    pub fn reloading(&self) -> io::Result<()> {
        if self.target.is_none() {
            return Ok(());
        }
        let now = NotifyState::monotonic_usec_now()?;
        self.send(&[NotifyState::Reloading, now])
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) -> io::Result<()> {
        self.send(&[NotifyState::Stopping])
    }

    /// `STATUS=…`, shown by `systemctl status`. Line breaks become spaces (one message is
    /// one line per variable).
    pub fn status(&self, status: &str) -> io::Result<()> {
        let one_line: String = status
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.send(&[NotifyState::Status(&one_line)])
    }

    /// `WATCHDOG=1`: the loop is healthy.
    pub fn watchdog(&self) -> io::Result<()> {
        self.send(&[NotifyState::Watchdog])
    }

    fn send(&self, states: &[NotifyState<'_>]) -> io::Result<()> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        let mut msg = String::new();
        for s in states {
            let _ = writeln!(msg, "{s}");
        }
        let sock = UnixDatagram::unbound()?;
        let sent = match target {
            Target::Path(p) => sock.send_to(msg.as_bytes(), p)?,
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                sock.send_to_addr(msg.as_bytes(), &addr)?
            }
        };
        if sent != msg.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "incomplete sd_notify datagram",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bound datagram socket standing in for systemd's notify socket (trap 8).
    struct Listener {
        _dir: tempfile::TempDir,
        path: PathBuf,
        sock: UnixDatagram,
    }

    impl Listener {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("notify");
            let sock = UnixDatagram::bind(&path).expect("bind");
            sock.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            Listener {
                _dir: dir,
                path,
                sock,
            }
        }

        fn notify(&self) -> SdNotify {
            SdNotify::from_vars(Some(self.path.clone().into()), None, None, 1)
        }

        fn recv(&self) -> String {
            let mut buf = [0u8; 4096];
            let n = self.sock.recv(&mut buf).expect("datagram");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
    }

    #[test]
    fn messages_arrive_on_the_socket_in_order() {
        let l = Listener::new();
        let n = l.notify();
        assert!(n.is_active());
        n.ready().expect("ready");
        n.status("3 feeds · last poll 12:03").expect("status");
        n.watchdog().expect("watchdog");
        n.reloading().expect("reloading");
        n.ready().expect("ready again");
        n.stopping().expect("stopping");
        assert_eq!(l.recv(), "READY=1\n");
        assert_eq!(l.recv(), "STATUS=3 feeds · last poll 12:03\n");
        assert_eq!(l.recv(), "WATCHDOG=1\n");
        let reloading = l.recv();
        let mut lines = reloading.lines();
        assert_eq!(lines.next(), Some("RELOADING=1"));
        let usec = lines
            .next()
            .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
            .and_then(|v| v.parse::<u64>().ok());
        assert!(usec.is_some_and(|u| u > 0), "{reloading:?}");
        assert_eq!(l.recv(), "READY=1\n");
        assert_eq!(l.recv(), "STOPPING=1\n");
    }

    #[test]
    fn status_cannot_inject_other_variables() {
        let l = Listener::new();
        l.notify().status("a\nREADY=1").expect("status");
        assert_eq!(l.recv(), "STATUS=a READY=1\n");
    }

    #[test]
    fn abstract_sockets_work_too() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("tidings-test-{}", std::process::id());
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let sock = UnixDatagram::bind_addr(&addr).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let n = SdNotify::from_vars(Some(format!("@{name}").into()), None, None, 1);
        n.ready().expect("ready");
        let mut buf = [0u8; 64];
        let got = sock.recv(&mut buf).expect("datagram");
        assert_eq!(&buf[..got], b"READY=1\n");
    }

    #[test]
    fn without_a_socket_everything_is_a_no_op() {
        for n in [
            SdNotify::disabled(),
            SdNotify::from_vars(None, Some("60000000"), None, 1),
            SdNotify::from_vars(Some("".into()), None, None, 1),
            SdNotify::from_vars(Some("relative/path".into()), None, None, 1),
        ] {
            assert!(!n.is_active());
            n.ready().expect("ready");
            n.reloading().expect("reloading");
            n.status("x").expect("status");
            n.watchdog().expect("watchdog");
            n.stopping().expect("stopping");
        }
    }

    #[test]
    fn a_vanished_socket_is_an_error_not_a_panic() {
        let l = Listener::new();
        let n = l.notify();
        drop(l);
        assert!(n.ready().is_err());
    }

    #[test]
    fn watchdog_interval_is_half_and_only_for_our_pid() {
        let w = |usec, pid| SdNotify::from_vars(None, usec, pid, 42).watchdog_interval();
        assert_eq!(w(Some("60000000"), None), Some(Duration::from_secs(30)));
        assert_eq!(
            w(Some("60000000"), Some("42")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(w(Some("60000000"), Some("43")), None);
        assert_eq!(w(Some("60000000"), Some("junk")), None);
        assert_eq!(w(Some("0"), None), None);
        assert_eq!(w(Some("soon"), None), None);
        assert_eq!(w(None, Some("42")), None);
    }
}
