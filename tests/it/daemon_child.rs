//! `tidings run` as a long-lived child process, for the fault matrix, crash and security tests
//! (issue 7). Kept out of `support/` (owned by another test suite); same clean environment as
//! `support::cli::Sandbox::run`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Child;

use crate::support::TIMEOUT;
use crate::support::cli::Sandbox;

/// A running `tidings --config C --db D run`. Killed (SIGKILL) when dropped.
pub struct Daemon {
    child: Child,
    pub pid: u32,
    stderr_path: PathBuf,
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

impl Daemon {
    /// Starts the daemon on the sandbox's watch-list and database, talking to `bus` (a
    /// `DBUS_SESSION_BUS_ADDRESS`). Its stderr goes to `DIR/daemon-N.stderr` (appended to on
    /// restarts), so that a chatty log can never block it on a full pipe.
    pub fn start(sb: &Sandbox, bus: &str, log: &str) -> Daemon {
        let stderr_path = sb.path().join("daemon.stderr");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .expect("open daemon stderr file");
        let (mut cmd, _) = sb.command_with_files(&["run"]);
        cmd.stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .env("TIDINGS_LOG", log)
            .env("DBUS_SESSION_BUS_ADDRESS", bus);
        let child = cmd.spawn().expect("spawn tidings run");
        let pid = child.id().expect("child pid");
        Daemon {
            child,
            pid,
            stderr_path,
        }
    }

    /// `None` while it runs, else its exit status (`None` code: killed by a signal).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Peak resident set size so far (`VmHWM` in `/proc/PID/status`), in KiB.
    pub fn vm_hwm_kib(&self) -> Option<u64> {
        vm_hwm_kib(self.pid)
    }

    /// SIGKILL, then reap.
    pub async fn kill9(&mut self) {
        // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
        unsafe {
            kill(self.pid as i32, SIGKILL);
        }
        tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("killed daemon reaped within the timeout")
            .expect("wait for killed daemon");
    }

    /// SIGTERM, then wait for a clean exit; returns the exit code.
    pub async fn stop(&mut self) -> Option<i32> {
        // SAFETY: as in `kill9`.
        unsafe {
            kill(self.pid as i32, SIGTERM);
        }
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("daemon did not exit within {TIMEOUT:?} of SIGTERM"))
            .expect("wait for daemon");
        status.code()
    }

    /// Everything the daemon (and its earlier incarnations in this sandbox) wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Polls `cond` every 50 ms until it returns `Some`, or fails the test after `timeout`
/// with `what` and the last state `describe` gives.
pub async fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut cond: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `tidings status --json`, parsed.
pub async fn status_json(sb: &Sandbox) -> serde_json::Value {
    let out = sb.tidings(&["status", "--json"]).await;
    out.assert_code(0);
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}):\n{}", out.dump()))
}
