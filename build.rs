//! Packs the binary's relative relocations (`-z pack-relative-relocs`, DT_RELR).
//!
//! A position-independent Rust binary carries one 24-byte `R_X86_64_RELATIVE` entry for every
//! pointer in its read-only data (vtables, string tables): about 670 KB for tidings, read at
//! every start and resident for the daemon's life. DT_RELR encodes the same relocations as
//! bitmaps in about 13 KB (BENCHMARKS.md: 0.6 MB less resident memory, idle and at peak).
//!
//! The dynamic loader must understand DT_RELR (glibc 2.36 and later; the linker then records a
//! `GLIBC_ABI_DT_RELR` version need, so an older loader refuses the binary with a clear error
//! instead of running it unrelocated). The flag is therefore only passed when building for the
//! machine the build runs on and its glibc is new enough; cross builds and older systems link
//! exactly as before.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    let linux_gnu_x86_64 = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_ARCH") == "x86_64";
    if native && linux_gnu_x86_64 && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build machine's glibc is at least `major.minor`, from
/// `getconf GNU_LIBC_VERSION` ("glibc 2.36"); false when that cannot be told.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    out.status.success() && have >= (major, minor)
}
