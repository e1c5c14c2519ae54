//! AFL++ harness for the `config` target: `cargo afl build --release --features afl`, then
//! `cargo afl fuzz -i SEEDS -o out/config target/release/afl_config`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        tidings_fuzz::config(data);
    });
}
