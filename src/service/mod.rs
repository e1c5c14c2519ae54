//! Running under systemd: the user unit ([`install`](mod@install): `tidings service install |
//! uninstall`), the sd_notify protocol ([`SdNotify`]) and the `STATUS=` line
//! ([`status_line`]).

pub mod install;
pub mod sd_notify;
pub mod status;

pub use self::install::{install, uninstall};
pub use self::sd_notify::SdNotify;
pub use self::status::status_line;
