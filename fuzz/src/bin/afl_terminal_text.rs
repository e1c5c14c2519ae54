//! AFL++ harness for the `terminal_text` target: `cargo afl build --release --features afl`,
//! then `cargo afl fuzz -i SEEDS -o out/terminal_text target/release/afl_terminal_text`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        tidings_fuzz::terminal_text(data);
    });
}
