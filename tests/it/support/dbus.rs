//! A private D-Bus session bus (its own `dbus-daemon`) with a recording
//! `org.freedesktop.Notifications` server inside the test process (trap 7).
//!
//! The daemon under test must run as a child process with `DBUS_SESSION_BUS_ADDRESS` set to
//! [`TestBus::address`] on the child only; the notification server answers on this process's
//! tokio runtime, so tests must use the multi-threaded runtime and await the child with
//! `tokio::process` (never block a worker thread).

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::TIMEOUT;

pub const NOTIFICATIONS_NAME: &str = "org.freedesktop.Notifications";
pub const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// One recorded `Notify` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The id the server answered with (1, 2, ... unless `replaces_id` was set).
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    /// Hint values rendered as plain strings: bytes and integers in decimal, strings as is,
    /// anything else in GVariant text form.
    pub hints: BTreeMap<String, String>,
    pub expire_timeout: i32,
}

impl Notification {
    pub fn body_lines(&self) -> Vec<&str> {
        self.body.lines().collect()
    }
}

#[derive(Debug)]
struct Recorder {
    notifications: Mutex<Vec<Notification>>,
    closed: Mutex<Vec<u32>>,
    capabilities: Mutex<Vec<String>>,
    next_id: AtomicU32,
    /// Never answer `Notify` (the call is counted in `hung`, then left pending forever).
    hang: std::sync::atomic::AtomicBool,
    hung: AtomicU32,
    /// `GetCapabilities` calls answered.
    asked: AtomicU32,
    changed: tokio::sync::Notify,
}

struct NotificationServer(Arc<Recorder>);

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationServer {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, zbus::OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        if self.0.hang.load(Ordering::SeqCst) {
            self.0.hung.fetch_add(1, Ordering::SeqCst);
            self.0.changed.notify_waiters();
            return std::future::pending::<u32>().await;
        }
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            self.0.next_id.fetch_add(1, Ordering::SeqCst)
        };
        let hints = hints
            .iter()
            .map(|(k, v)| (k.clone(), render_variant(v)))
            .collect();
        self.0.notifications.lock().unwrap().push(Notification {
            id,
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            hints,
            expire_timeout,
        });
        self.0.changed.notify_waiters();
        id
    }

    async fn get_capabilities(&self) -> Vec<String> {
        self.0.asked.fetch_add(1, Ordering::SeqCst);
        self.0.capabilities.lock().unwrap().clone()
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    async fn get_server_information(&self) -> (String, String, String, String) {
        (
            "tidings-test-server".into(),
            "tidings".into(),
            "0.0.0".into(),
            "1.2".into(),
        )
    }

    async fn close_notification(&self, id: u32) {
        self.0.closed.lock().unwrap().push(id);
        self.0.changed.notify_waiters();
    }
}

fn render_variant(v: &zbus::Variant<'_>) -> String {
    use zbus::Variant as V;
    match v {
        V::U8(n) => n.to_string(),
        V::Bool(b) => b.to_string(),
        V::I16(n) => n.to_string(),
        V::U16(n) => n.to_string(),
        V::I32(n) => n.to_string(),
        V::U32(n) => n.to_string(),
        V::I64(n) => n.to_string(),
        V::U64(n) => n.to_string(),
        V::F64(n) => n.to_string(),
        V::Str(s) => s.as_str().to_owned(),
        V::Variant(inner) => render_variant(inner),
        other => other.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("dbus-daemon not found on PATH")]
    NotFound,
    #[error("{0}")]
    Failed(String),
}

/// A running private bus with the recording notification server on it.
pub struct TestBus {
    address: String,
    recorder: Arc<Recorder>,
    // Field order is drop order: close our connection before the daemon goes away.
    /// The notification server's connection, once it serves (see [`TestBus::serve`]).
    server: tokio::sync::Mutex<Option<zbus::Connection>>,
    _stdout: BufReader<ChildStdout>,
    _daemon: Child, // kill_on_drop
    _dir: tempfile::TempDir,
}

impl TestBus {
    /// Starts `dbus-daemon` with a minimal config (no `<servicedir>`, so nothing is
    /// auto-started) and registers the notification server on it.
    pub async fn start() -> Result<TestBus, BusError> {
        let bus = TestBus::start_without_server().await?;
        bus.serve().await?;
        Ok(bus)
    }

    /// A private bus on which nobody owns `org.freedesktop.Notifications` (yet): a session
    /// started before the desktop. [`TestBus::serve`] brings the server up later.
    pub async fn start_without_server() -> Result<TestBus, BusError> {
        let exe = super::find_on_path("dbus-daemon").ok_or(BusError::NotFound)?;
        let dir = tempfile::Builder::new()
            .prefix("tidings-bus-")
            .tempdir()
            .map_err(|e| BusError::Failed(format!("tempdir: {e}")))?;
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .map_err(|e| BusError::Failed(format!("write bus config: {e}")))?;

        let mut daemon = Command::new(&exe)
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BusError::Failed(format!("spawn {}: {e}", exe.display())))?;
        let mut stdout = BufReader::new(daemon.stdout.take().expect("piped stdout"));
        let mut address = String::new();
        match tokio::time::timeout(TIMEOUT, stdout.read_line(&mut address)).await {
            Err(_) => {
                return Err(BusError::Failed(format!(
                    "dbus-daemon printed no address within {TIMEOUT:?}"
                )));
            }
            Ok(Err(e)) => return Err(BusError::Failed(format!("read dbus-daemon stdout: {e}"))),
            Ok(Ok(0)) => {
                return Err(BusError::Failed(
                    "dbus-daemon exited without printing an address".into(),
                ));
            }
            Ok(Ok(_)) => {}
        }
        let address = address.trim().to_owned();

        let recorder = Arc::new(Recorder {
            notifications: Mutex::new(Vec::new()),
            closed: Mutex::new(Vec::new()),
            capabilities: Mutex::new(
                ["body", "body-markup", "actions"]
                    .map(String::from)
                    .to_vec(),
            ),
            next_id: AtomicU32::new(1),
            hang: std::sync::atomic::AtomicBool::new(false),
            hung: AtomicU32::new(0),
            asked: AtomicU32::new(0),
            changed: tokio::sync::Notify::new(),
        });
        Ok(TestBus {
            address,
            recorder,
            server: tokio::sync::Mutex::new(None),
            _stdout: stdout,
            _daemon: daemon,
            _dir: dir,
        })
    }

    /// A private bus whose notification server owns the name and answers `GetCapabilities`,
    /// but never answers `Notify`.
    pub async fn start_hanging() -> Result<TestBus, BusError> {
        let bus = TestBus::start_without_server().await?;
        bus.recorder.hang.store(true, Ordering::SeqCst);
        bus.serve().await?;
        Ok(bus)
    }

    /// Registers the recording notification server on the bus (taking the well-known name,
    /// which the bus announces with `NameOwnerChanged`). Idempotent.
    pub async fn serve(&self) -> Result<(), BusError> {
        let mut server = self.server.lock().await;
        if server.is_some() {
            return Ok(());
        }
        let address = self.address.as_str();
        let build = zbus::connection::Builder::address(address)
            .serve_at(
                NOTIFICATIONS_PATH,
                NotificationServer(self.recorder.clone()),
            )
            .name(NOTIFICATIONS_NAME)
            .build();
        let conn = tokio::time::timeout(TIMEOUT, build)
            .await
            .map_err(|_| BusError::Failed(format!("connecting to {address} timed out")))?
            .map_err(|e| BusError::Failed(format!("serve notifications on {address}: {e}")))?;
        *server = Some(conn);
        Ok(())
    }

    /// The notification server leaves the bus (its connection closes; the bus announces the
    /// name's loss). [`TestBus::serve`] brings it back with the same recorder.
    pub async fn unserve(&self) {
        let conn = self.server.lock().await.take();
        if let Some(conn) = conn {
            let _ = tokio::time::timeout(TIMEOUT, conn.graceful_shutdown()).await;
        }
    }

    /// Emits `signal` with `body` from the notification server's connection (broadcast, as a
    /// real server does). Panics if the server is not serving.
    async fn emit<B>(&self, signal: &str, body: &B)
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let conn = self
            .server
            .lock()
            .await
            .clone()
            .expect("the notification server is not serving");
        tokio::time::timeout(
            TIMEOUT,
            conn.emit_signal(
                None::<&str>,
                NOTIFICATIONS_PATH,
                NOTIFICATIONS_NAME,
                signal,
                body,
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("emitting {signal} timed out"))
        .unwrap_or_else(|e| panic!("emit {signal}: {e}"));
    }

    /// The user clicked action `key` of notification `id`: `ActionInvoked(id, key)`.
    pub async fn invoke_action(&self, id: u32, key: &str) {
        self.emit("ActionInvoked", &(id, key)).await;
    }

    /// Notification `id` was closed: `NotificationClosed(id, reason)` (2 = dismissed by the
    /// user).
    pub async fn close(&self, id: u32, reason: u32) {
        self.emit("NotificationClosed", &(id, reason)).await;
    }

    /// How many times `GetCapabilities` was called.
    pub fn capabilities_asked(&self) -> u32 {
        self.recorder.asked.load(Ordering::SeqCst)
    }

    /// How many `Notify` calls a hanging server left unanswered.
    pub fn unanswered(&self) -> u32 {
        self.recorder.hung.load(Ordering::SeqCst)
    }

    /// [`TestBus::start`], or `None` after printing `SKIPPED: dbus-daemon not found` when
    /// there is no `dbus-daemon` and we are not under CI (`CI=true` makes that a failure).
    pub async fn start_or_skip(test: &str) -> Option<TestBus> {
        TestBus::or_skip(TestBus::start().await, test)
    }

    /// A started bus, or `None` after printing `SKIPPED` when `dbus-daemon` is missing (not
    /// under CI); any other failure fails the test.
    pub fn or_skip(started: Result<TestBus, BusError>, test: &str) -> Option<TestBus> {
        match started {
            Ok(bus) => Some(bus),
            Err(BusError::NotFound) if !super::in_ci() => {
                crate::support::skipped(&format!("dbus-daemon not found ({test})"));
                None
            }
            Err(e) => panic!("cannot start a private D-Bus for {test}: {e}"),
        }
    }

    /// The address to give the child as `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Every `Notify` call so far, in order.
    pub fn notifications(&self) -> Vec<Notification> {
        self.recorder.notifications.lock().unwrap().clone()
    }

    /// Ids passed to `CloseNotification`, in order.
    pub fn closed(&self) -> Vec<u32> {
        self.recorder.closed.lock().unwrap().clone()
    }

    /// What `GetCapabilities` answers from now on.
    pub fn set_capabilities(&self, caps: &[&str]) {
        *self.recorder.capabilities.lock().unwrap() = caps.iter().map(|c| c.to_string()).collect();
    }

    /// Waits until at least `n` notifications were recorded; fails the test after `timeout`.
    pub async fn wait_for_notifications(&self, n: usize, timeout: Duration) -> Vec<Notification> {
        let wait = async {
            loop {
                let changed = self.recorder.changed.notified();
                let now = self.notifications();
                if now.len() >= n {
                    return now;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(v) => v,
            Err(_) => panic!(
                "waited {timeout:?} for {n} notifications, got {}: {:#?}",
                self.notifications().len(),
                self.notifications()
            ),
        }
    }
}
