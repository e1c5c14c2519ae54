use std::process::ExitCode;

use clap::Parser;
use tidings::cli::{self, Cli};

fn main() -> ExitCode {
    tune_malloc();
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

/// glibc's allocator, tuned for a daemon that idles most of its life (measured in
/// BENCHMARKS.md). An explicit setting in the environment (`MALLOC_ARENA_MAX`,
/// `MALLOC_TRIM_THRESHOLD_`, or the same tunable in `GLIBC_TUNABLES`) wins.
///
/// - Arenas: glibc gives every thread that allocates its own heap arena (up to 8 per core),
///   and each keeps the memory it freed: with the parser running on several blocking threads
///   that is megabytes of resident memory for nothing. Two arenas keep the peak lower at about
///   the same CPU; one costs CPU in lock contention.
/// - Trim threshold: glibc raises it (up to 64 MB) each time a large block is freed, and a
///   thread arena gives the free memory at its top back only when that exceeds the threshold
///   (`malloc_trim` does not shrink thread arenas): after start-up the daemon's worker arena
///   kept 0.8 MB it no longer used. Fixed at glibc's initial 128 KiB, it stays there.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // GLIBC_TUNABLES may carry unrelated tunables (CPU features, ...): only the named
        // one counts as the user's choice.
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let chosen = |var: &str, tunable: &str| {
            std::env::var_os(var).is_some() || tunables.contains(tunable)
        };
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe {
            if !chosen("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
            if !chosen("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold") {
                libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
            }
        }
    }
}
