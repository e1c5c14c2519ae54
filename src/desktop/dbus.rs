//! The session-bus transport: one kept-alive zbus connection, `GetCapabilities` once per
//! connection, `Notify` under [`CALL_TIMEOUT`], and the server's signals as [`Feedback`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Mutex, mpsc};
use tracing::debug;

use super::{Feedback, Notification, Notifier, NotifyError, build};

/// A D-Bus call that gets no answer within this is a failure.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

const DEST: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const IFACE: &str = "org.freedesktop.Notifications";

/// The desktop's notification server on the session bus, over one kept-alive connection.
#[derive(Clone)]
pub struct DesktopNotifier {
    session: Arc<Mutex<Option<Session>>>,
    feedback: mpsc::UnboundedSender<Feedback>,
}

struct Session {
    conn: zbus::Connection,
    caps: Vec<String>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl DesktopNotifier {
    /// The notifier, and the stream of what happens to its notifications (clicks, closes, a
    /// notification server appearing). Must be called inside the tokio runtime: it starts a
    /// task that watches the bus for a notification server.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Feedback>) {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(watch_for_server(tx.clone()));
        (
            DesktopNotifier {
                session: Arc::new(Mutex::new(None)),
                feedback: tx,
            },
            rx,
        )
    }

    async fn connect(&self) -> Result<Session, NotifyError> {
        let conn = timed("connecting to the session bus", zbus::Connection::session()).await?;
        let caps: Vec<String> = timed(
            "GetCapabilities",
            conn.call_method(Some(DEST), PATH, Some(IFACE), "GetCapabilities", &()),
        )
        .await?
        .body()
        .deserialize()
        .map_err(|e| NotifyError(format!("GetCapabilities: {e}")))?;
        debug!(?caps, "notification server capabilities");
        // Subscribe before the first Notify, so that no click can arrive unheard.
        let signals = timed("subscribing to notification signals", subscribe(&conn)).await?;
        let listener = tokio::spawn(listen(signals, self.feedback.clone()));
        Ok(Session {
            conn,
            caps,
            listener,
        })
    }
}

/// Reports every time a notification server takes its name on the session bus, so pending
/// alerts go out as soon as the desktop is up. Without a session bus it retries slowly.
async fn watch_for_server(tx: mpsc::UnboundedSender<Feedback>) {
    let mut pause = Duration::from_secs(5);
    loop {
        if let Ok(Ok(conn)) = tokio::time::timeout(CALL_TIMEOUT, zbus::Connection::session()).await
        {
            pause = Duration::from_secs(5);
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender("org.freedesktop.DBus")
                .interface("org.freedesktop.DBus")
                .member("NameOwnerChanged")
                .add_arg(DEST)
                .build();
            if let Ok(rule) = rule
                && let Ok(mut stream) = zbus::MessageStream::for_match_rule(rule, &conn, None).await
            {
                while let Some(Ok(msg)) = stream.next().await {
                    let appeared = msg
                        .body()
                        .deserialize::<(String, String, String)>()
                        .is_ok_and(|(_, _, new_owner)| !new_owner.is_empty());
                    if appeared && tx.send(Feedback::ServerAppeared).is_err() {
                        return;
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(300));
    }
}

/// Forwards `ActionInvoked` and `NotificationClosed` until the connection ends.
type Signals = futures_util::stream::Select<zbus::MessageStream, zbus::MessageStream>;

/// The `ActionInvoked` and `NotificationClosed` signals on `conn`.
async fn subscribe(conn: &zbus::Connection) -> zbus::Result<Signals> {
    let rule = |member: &'static str| {
        zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(IFACE)
            .member(member)
            .build()
    };
    let actions = zbus::MessageStream::for_match_rule(rule("ActionInvoked")?, conn, None).await?;
    let closes =
        zbus::MessageStream::for_match_rule(rule("NotificationClosed")?, conn, None).await?;
    Ok(futures_util::stream::select(actions, closes))
}

async fn listen(mut all: Signals, tx: mpsc::UnboundedSender<Feedback>) {
    while let Some(Ok(msg)) = all.next().await {
        let header = msg.header();
        let feedback = match header.member().map(|m| m.as_str()) {
            Some("ActionInvoked") => msg
                .body()
                .deserialize::<(u32, String)>()
                .ok()
                .map(|(id, key)| Feedback::Action { id, key }),
            Some("NotificationClosed") => msg
                .body()
                .deserialize::<(u32, u32)>()
                .ok()
                .map(|(id, _)| Feedback::Closed { id }),
            _ => None,
        };
        if let Some(f) = feedback
            && tx.send(f).is_err()
        {
            return;
        }
    }
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, NotifyError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(NotifyError(format!("{what}: {e}"))),
        Err(_) => Err(NotifyError(format!(
            "{what}: no answer within {}s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

impl Notifier for DesktopNotifier {
    async fn send(&self, n: &Notification) -> Result<u32, NotifyError> {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_none_or(|s| s.listener.is_finished()) {
            *guard = Some(self.connect().await?);
        }
        let session = guard.as_ref().expect("connected above");
        let note = build(n, &session.caps);
        #[allow(deprecated)] // notify-rust 4 encodes hints as `zvariant::Value`
        let hints: HashMap<&str, zbus::zvariant::Value<'_>> =
            note.hints.iter().map(Into::into).collect();
        let body = (
            &note.appname,
            0u32,
            &note.icon,
            &note.summary,
            &note.body,
            &note.actions,
            hints,
            i32::from(note.timeout),
        );
        let call = session
            .conn
            .call_method(Some(DEST), PATH, Some(IFACE), "Notify", &body);
        let result = timed("Notify", call).await.and_then(|reply| {
            reply
                .body()
                .deserialize::<u32>()
                .map_err(|e| NotifyError(format!("Notify: {e}")))
        });
        if result.is_err() {
            // Start afresh next time: the server may have gone, or come back as another owner.
            *guard = None;
        }
        result
    }
}
