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
            eprintln!("tidings: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
