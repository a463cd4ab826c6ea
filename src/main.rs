//! The `onboard` binary: parse the command line, set up logging, run, map to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = onboard::cli::Cli::parse();
    onboard::logging::init(&cli.global);
    match onboard::cmd::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("onboard: error: {e:#}");
            ExitCode::from(onboard::exit::FATAL)
        }
    }
}
