//! AFL++ harness for the `query` target: `cargo afl build --release --features afl`, then
//! `cargo afl fuzz -i SEEDS -o out/query target/release/afl_query`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        tidings_fuzz::query(data);
    });
}
