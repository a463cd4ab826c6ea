//! One module per command; each has a `run` that reads, works and writes.

mod completions;
mod import;
mod mail;
mod man;
mod people;
mod push;
mod runs;
mod seats;
mod template;
mod tenant;
mod users;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the chosen command; `Ok` carries the exit code, `Err` is a fatal error (exit 2).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Import(args) => import::run(&cli.global, args),
        Command::Seats(args) => seats::run(&cli.global, args),
        Command::Users(args) => users::run(&cli.global, args),
        Command::Template(args) => template::run(args),
        Command::Tenant(command) => tenant::run(&cli.global, command),
        Command::Offboard(args) => people::offboard(&cli.global, args),
        Command::Restore(args) => people::restore(&cli.global, args),
        Command::Purge(args) => people::purge(&cli.global, args),
        Command::Mail(args) => mail::run(&cli.global, args),
        Command::Push(args) => push::run(&cli.global, args),
        Command::Runs(args) => runs::run(&cli.global, args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

/// Treats a closed stdout (`onboard users | head`) as the end of the output, not an error.
fn ignore_broken_pipe(result: Result<()>) -> Result<()> {
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}
