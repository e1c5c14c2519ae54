use std::process::ExitCode;

use clap::Parser;
use tidings::cli::{self, Cli};

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any other thread exists.
    unsafe { tidings::memory::tune_malloc() };
    let cli = Cli::parse();
    if cli.command.prints_a_report() {
        // `tidings status | head`: end quietly when the reader goes away, like other Unix
        // tools, instead of panicking in println!. (Not for commands that talk to the network:
        // a peer's reset must stay an error there, not a signal.)
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    tidings::logging::init(cli.global.log_format);
    match cli::run(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("tidings: {}", chain(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// The error and its causes, `: `-separated like `{:#}`, each cause once: an error whose
/// message already ends with its cause's (`cannot read watch-list P: No such file or
/// directory (os error 2)`, whose source is that io error) does not print it again.
fn chain(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
