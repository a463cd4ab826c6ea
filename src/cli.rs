//! What the user types: the command line, parsed by clap. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pipeline::MaxFailed;
use crate::plan::{OnExisting, OnShortage};

/// Add a whole department of user accounts from one spreadsheet and give them licences.
///
/// Reads a CSV saved by Excel (Microsoft 365 or Entra ID bulk template), checks every row,
/// serves licence seats in file order without overbooking, generates passwords, records
/// the users in an embedded directory and writes a result CSV.
///
/// Exit codes: 0 all rows fine, 1 some rows failed (the rest committed), 2 fatal error
/// (nothing written), 3 more rows failed than --max-failed allows (nothing committed).
#[derive(Debug, Parser)]
#[command(name = "onboard", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Tenant file: domains, licences and password policy.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "tenant.toml"
    )]
    pub tenant: PathBuf,
    /// Directory file (SQLite) that holds the users.
    #[arg(long, global = true, value_name = "FILE", default_value = "onboard.db")]
    pub directory: PathBuf,
    /// Only errors on stderr: no summary, no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text or as one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the users of a spreadsheet and assign their licences.
    ///
    /// Example: onboard import hr/sales.csv --tenant tenant.toml -o sales.results.csv
    Import(ImportArgs),
    /// Show the licence pool: purchased, assigned and available seats per SKU.
    Seats(SeatsArgs),
    /// Write the directory's users as CSV (importable again, without passwords).
    Users(UsersArgs),
    /// Print an empty input template with the right headers.
    Template(TemplateArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The spreadsheet (CSV: comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252).
    pub input: PathBuf,
    /// Do all the checks and write the same result file, but change nothing and
    /// generate no password.
    #[arg(long)]
    pub dry_run: bool,
    /// Result file [default: <input stem>.results.csv in the current folder].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing result file.
    #[arg(long)]
    pub force: bool,
    /// What to do with a row whose User Name is already in the directory.
    #[arg(long, value_enum, default_value_t = OnExisting::Skip)]
    pub on_existing: OnExisting,
    /// When seats run out: create the user without licences, or fail the row.
    #[arg(long, value_enum, default_value_t = OnShortage::Unlicensed)]
    pub on_shortage: OnShortage,
    /// Error budget: commit nothing (exit 3) if more rows than N, or than P% of the
    /// rows, fail.
    #[arg(long, value_name = "N|P%")]
    pub max_failed: Option<MaxFailed>,
    /// Allow the Global Administrator role in the Roles column.
    #[arg(long)]
    pub allow_global_admin: bool,
    /// Worker threads for checking rows [default: number of CPUs].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// Progress bar on stderr: auto shows it only on a terminal.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub summary: Option<PathBuf>,
    /// Seconds to wait for another import that holds the directory.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct SeatsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = SeatsFormat::Table)]
    pub format: SeatsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeatsFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Which template.
    #[arg(value_enum, default_value_t = TemplateKind::M365)]
    pub kind: TemplateKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateKind {
    M365,
    Entra,
}
