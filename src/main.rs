use std::process::ExitCode;

use clap::Parser;
use tidings::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tidings::logging::init(cli.global.log_format);
    match cli::run(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("tidings: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
