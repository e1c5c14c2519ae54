//! The process's memory and glibc's allocator: tuned once at start-up ([`tune_malloc`]),
//! trimmed whenever the daemon goes idle ([`trim_heap`]). Measurements in BENCHMARKS.md.

/// Tunes glibc's allocator for a daemon that idles most of its life (measured in
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
///
/// # Safety
///
/// Call it first thing in `main`, before any other thread exists (`mallopt` is not safe to
/// call while other threads allocate).
pub unsafe fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // GLIBC_TUNABLES may carry unrelated tunables (CPU features, ...): only the named
        // one counts as the user's choice.
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let chosen = |var: &str, tunable: &str| {
            std::env::var_os(var).is_some() || tunables.contains(tunable)
        };
        // SAFETY: the caller guarantees that no other thread exists yet.
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

/// Returns the heap's free memory to the system (glibc keeps what a burst of polls freed
/// until the next burst otherwise). Called by the daemon when it is about to idle.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
