//! AFL++ harness for the `feed` target: `cargo afl build --release --features afl`, then
//! `cargo afl fuzz -i SEEDS -o out/feed target/release/afl_feed`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        tidings_fuzz::feed(data);
    });
}
