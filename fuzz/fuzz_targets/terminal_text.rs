//! libFuzzer harness (cargo-fuzz, nightly) for the `terminal_text` target:
//! `cargo +nightly fuzz run --features libfuzzer terminal_text` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tidings_fuzz::terminal_text(data);
});
