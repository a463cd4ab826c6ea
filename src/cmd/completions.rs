//! `onboard completions SHELL`: a completion script for bash, zsh, fish (or elvish,
//! PowerShell), generated from the same clap definition as the help.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "onboard", &mut script);
    super::ignore_broken_pipe(std::io::Write::write_all(&mut out, &script).map_err(Into::into))?;
    Ok(crate::exit::OK)
}
