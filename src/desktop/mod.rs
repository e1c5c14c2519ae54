//! EDGE: desktop notifications (freedesktop Notifications over the session bus). The only
//! module that talks D-Bus.
//!
//! notify-rust models the notification (summary, body, hints, actions, expiry) and encodes its
//! hints; the transport is one long-lived zbus connection of ours, because notify-rust opens a
//! new connection per notification, has no timeout (a server that owns the name but never
//! answers blocks it forever), and `ActionInvoked` only arrives on a connection that stays open.
//! Every call here runs under [`CALL_TIMEOUT`]; `GetCapabilities` is asked once per connection.
//!
//! Feed text never becomes markup: with `body-markup` everything from a feed is escaped and
//! only our own `<b>` tags mark the hits; without it the body is plain text. Links are opened
//! through actions (http/https only), never `<a href>`.
//!
//! The transport is `dbus.rs`; what a notification says is `render.rs`, with feed text made
//! safe in `escape.rs`; `fit.rs` fits it to the server's capabilities (body, actions).

mod dbus;
mod escape;
mod fit;
mod render;

use std::future::Future;
use std::time::Duration;

use thiserror::Error;

use crate::model::Urgency;

pub use dbus::{CALL_TIMEOUT, DesktopNotifier};
pub use escape::{escape_markup, is_openable};
pub use fit::{ACTION_DEFAULT, ACTION_MUTE, ACTION_OPEN, ACTION_RIGHT, ACTION_WRONG, build};
pub use render::{AlertContent, age, render, render_summary};

/// What to show, before it is fitted to the server's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Plain text (the spec allows no markup in the summary).
    pub summary: String,
    /// Body for servers with `body-markup`: feed text escaped, hits in `<b>`.
    pub body_markup: String,
    /// Body for servers without it: plain text.
    pub body_plain: String,
    pub urgency: Urgency,
    /// Opened by the `default` and `open` actions (only http/https links are kept).
    pub link: Option<String>,
    /// Offer "Mute topic for 1 h" for this topic.
    pub mute_topic: Option<String>,
    /// The alert this notification shows on its own: offer "Not relevant" and "Relevant",
    /// which mark it. `None` for a summary (and for [`render`]'s result until the caller,
    /// which knows the alert's id, sets it).
    pub mark_alert: Option<i64>,
    /// How long the server should show it; `None` = the server's default.
    pub expire: Option<Duration>,
}

/// An action the user invoked on one of our notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// `ActionInvoked(id, key)`.
    Action { id: u32, key: String },
    /// `NotificationClosed(id, reason)`: its actions can be forgotten.
    Closed { id: u32 },
    /// A notification server took the name on the bus: pending alerts can go now.
    ServerAppeared,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// Something that shows notifications. Returns the server's id for the notification.
pub trait Notifier {
    fn send(&self, n: &Notification) -> impl Future<Output = Result<u32, NotifyError>> + Send;
}
