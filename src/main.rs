use std::process::ExitCode;

use clap::Parser;
use tidings::cli::{self, Cli};

fn main() -> ExitCode {
    limit_malloc_arenas();
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

/// glibc gives every thread that allocates its own heap arena (up to 8 per core), and each
/// keeps the memory it freed: with the parser running on several blocking threads that is
/// megabytes of resident memory for nothing. Two arenas keep the peak lower at about the same
/// CPU (measured in BENCHMARKS.md). An explicit `MALLOC_ARENA_MAX` in the environment wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
