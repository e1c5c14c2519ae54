//! AFL++ harness for the `markup` target: `cargo afl build --release --features afl`, then
//! `cargo afl fuzz -i SEEDS -o out/markup target/release/afl_markup`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        tidings_fuzz::markup(data);
    });
}
