//! URL identity: when two URLs name the same thing.

use url::Url;

/// `host:port`, the unit of politeness.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("").to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(0)
    )
}
