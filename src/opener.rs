//! EDGE. Opens an article's link with the user's opener (`settings.opener`, default
//! `xdg-open`): only http and https links, the child detached (no stdio) and reaped on a
//! thread of its own. One place for the notification's "Open" and the review's `o`.

use std::process::{Command, Stdio};

use thiserror::Error;

/// Why a link was not opened.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("only http and https links are opened")]
    NotOpenable,
    #[error("no opener configured (settings.opener is empty)")]
    NoOpener,
    #[error("cannot run {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
}

/// Runs `opener` with `link` appended; returns once the child is started.
pub fn open(opener: &[String], link: &str) -> Result<(), OpenError> {
    if !crate::desktop::is_openable(link) {
        return Err(OpenError::NotOpenable);
    }
    let (command, args) = opener.split_first().ok_or(OpenError::NoOpener)?;
    let mut child = Command::new(command)
        .args(args)
        .arg(link)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| OpenError::Spawn {
            command: command.clone(),
            source,
        })?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_opened_and_a_missing_opener_is_named() {
        let opener = ["true".to_string()];
        assert!(matches!(
            open(&opener, "file:///etc/passwd"),
            Err(OpenError::NotOpenable)
        ));
        assert!(matches!(
            open(&[], "https://example.com/"),
            Err(OpenError::NoOpener)
        ));
        let missing = ["/nonexistent/opener".to_string()];
        let e = open(&missing, "https://example.com/").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot run /nonexistent/opener: "),
            "{e}"
        );
        open(&opener, "https://example.com/").unwrap();
    }
}
