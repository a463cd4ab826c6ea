//! What the user types: the command line, parsed by clap. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use clap::builder::PossibleValue;

use crate::import::MaxFailed;
use crate::logging::LogFormat;
use crate::plan::{MatchBy, OnExisting, OnShortage};

/// Add a whole department of user accounts from one spreadsheet and give them licences.
///
/// Reads a CSV saved by Excel or the workbook itself (Microsoft 365 or Entra ID bulk
/// template, or an HR export mapped with --columns), checks every row, serves licence
/// seats in file order without overbooking, generates passwords, records the users in an
/// embedded directory and writes a result CSV.
///
/// Exit codes: 0 all rows fine, 1 some rows failed (the rest committed), 2 fatal error
/// (nothing written), 3 more rows failed than --max-failed allows (nothing committed),
/// 4 committed, but some mail or push did not go (`onboard mail` or `onboard push`
/// sends it later),
/// 130 stopped by Ctrl-C or SIGTERM before the commit (nothing committed).
#[derive(Debug, Parser)]
#[command(
    name = "onboard",
    version,
    max_term_width = 100,
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line of this process; prints help or a usage error and exits when asked to.
pub fn parse() -> Cli {
    Cli::parse()
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

/// Lets clap parse an enum of another module by its values' names, so that no module but
/// this one and `cmd` depends on clap.
macro_rules! value_enum {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($ty::$variant),+]
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($ty::$variant => PossibleValue::new($name)),+
                })
            }
        }
    };
}

value_enum!(LogFormat { Text = "text", Json = "json" });
value_enum!(OnExisting { Skip = "skip", Update = "update", Fail = "fail" });
value_enum!(OnShortage { Unlicensed = "unlicensed", Fail = "fail" });
value_enum!(MatchBy { UserName = "user-name", EmployeeId = "employee-id" });

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the users of a spreadsheet and assign their licences.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Show the licence pool: purchased, assigned and available seats per SKU.
    #[command(after_help = SEATS_EXAMPLES)]
    Seats(SeatsArgs),
    /// Write the directory's users as CSV (importable again, without passwords).
    #[command(after_help = USERS_EXAMPLES)]
    Users(UsersArgs),
    /// Print an empty input template with the right headers.
    #[command(after_help = TEMPLATE_EXAMPLES)]
    Template(TemplateArgs),
    /// Show the import history, newest first (dry runs are not recorded).
    #[command(after_help = RUNS_EXAMPLES)]
    Runs(RunsArgs),
    /// Offboard the people a file names (User Name, Employee ID or Object ID): sign-in
    /// blocked, licences and roles removed (the seats are free at once), restorable.
    #[command(after_help = OFFBOARD_EXAMPLES)]
    Offboard(PeopleArgs),
    /// Restore offboarded people a file names (User Name or Object ID): a new password,
    /// their licences served again.
    #[command(after_help = RESTORE_EXAMPLES)]
    Restore(RestoreArgs),
    /// Remove offboarded users for good once they are past the retention days.
    #[command(after_help = PURGE_EXAMPLES)]
    Purge(PurgeArgs),
    /// Send the mails of an import or restore that did not go yet (never one twice),
    /// with the passwords from its result file.
    #[command(after_help = MAIL_EXAMPLES)]
    Mail(SendMailArgs),
    /// Bring Microsoft 365 in line with the directory through Microsoft Graph: create
    /// the users it does not have (passwords from RESULTS), update, delete, restore and
    /// purge, with their licences and roles.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
    /// Write the tenant file: a commented starter (init), or from Microsoft Graph (pull).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), for man(1).
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

// The examples shown after each command's help, and in the man page's EXAMPLES. Each is
// an "Examples:" line followed by indented lines: `#` comments and commands.

const EXAMPLES: &str = "\
Examples:
  # First steps: a tenant file to edit, an empty template, a check, the import
  onboard tenant init --name Contoso --domain contoso.com
  onboard template > new-hires.csv
  onboard import new-hires.csv --dry-run -o new-hires.check.csv
  onboard import new-hires.csv

  # What is left in the licence pool, and what was imported when
  onboard seats
  onboard runs";

const IMPORT_EXAMPLES: &str = "\
Examples:
  # Check first: the same checks and result file, nothing written, no passwords
  onboard import hr/sales.csv --dry-run -o sales.check.csv

  # Import for real; sales.results.csv holds each row's status and password
  onboard import hr/sales.csv --tenant tenant.toml --directory onboard.db

  # A workbook from HR: its sheet \"New hires\", results as CSV (UTF-8 with BOM)
  onboard import hr/new-hires.xlsx --sheet \"New hires\"

  # An HR export with its own headers; User Names built as first.last@fabrikam.nl
  onboard import hr/export.csv --columns hr-columns.toml --dry-run

  # Fail rows instead of creating unlicensed users when seats run out
  onboard import new-hires.csv --on-shortage fail

  # Mail each new user their sign-in, and the result file to two admins
  onboard import new-hires.csv --mail-credentials --mail-results-to it@contoso.com,hr@contoso.com

  # Nightly HR export: update existing people, commit nothing if over 5% fail
  onboard import /srv/hr/export.csv --on-existing update --max-failed 5% \\
      --summary runs/today.json -o runs/today.results.csv -q --log-format json";

const SEATS_EXAMPLES: &str = "\
Examples:
  onboard seats
  onboard seats --format csv > seats.csv
  onboard seats --format json | jq '.[] | select(.available < 10)'";

const USERS_EXAMPLES: &str = "\
Examples:
  # Export everyone, edit the file in Excel, import the changes back
  onboard users -o everyone.csv
  onboard import everyone.csv --on-existing update

  onboard users | grep -i '@fabrikam.nl'";

const TEMPLATE_EXAMPLES: &str = "\
Examples:
  # The Microsoft 365 bulk-add headers plus onboard's extensions
  onboard template > new-hires.csv

  # The Entra ID bulk-create template, with its version line and example row
  onboard template entra > entra-bulk-create.csv";

const RUNS_EXAMPLES: &str = "\
Examples:
  onboard runs
  onboard runs --limit 5
  onboard runs --format csv > history.csv
  onboard runs --format json | jq '.[0].failed'";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  onboard completions bash > ~/.local/share/bash-completion/completions/onboard
  onboard completions fish > ~/.config/fish/completions/onboard.fish

  # zsh: a folder in $fpath, e.g. with fpath+=(~/.zfunc) in ~/.zshrc
  onboard completions zsh > ~/.zfunc/_onboard";

const MAN_EXAMPLES: &str = "\
Examples:
  onboard man | man -l -
  sudo onboard man -o /usr/local/share/man/man1/onboard.1";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The spreadsheet: CSV (comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252) or a
    /// workbook (.xlsx, .xlsm, .xlsb, .xls, .ods).
    pub input: PathBuf,
    /// The sheet of a workbook to read [default: the first visible one].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Map the input's own headers to onboard's columns and build missing User Names
    /// from a pattern (a TOML file; see docs/input.md).
    #[arg(long, value_name = "MAP.toml")]
    pub columns: Option<PathBuf>,
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
    /// How a row finds its user in the directory: by User Name, or by Employee ID (which
    /// every row then needs; renames follow, and a built User Name is numbered past the
    /// names the directory has).
    #[arg(long = "match", value_enum, default_value_t = MatchBy::UserName)]
    pub match_by: MatchBy,
    /// The file is the whole HR export: active users with an Employee ID that are not in
    /// it are offboarded (needs --match employee-id).
    #[arg(long)]
    pub full_export: bool,
    /// Commit nothing (exit 3) if the run would offboard more than N people, or more
    /// than P% of the active users with an Employee ID.
    #[arg(long, value_name = "N|P%", default_value = "10%")]
    pub max_leavers: MaxFailed,
    /// Licences for every row whose Licenses cell is empty or whose file has no such
    /// column, as the admin center's wizard gives them to a whole upload.
    #[arg(long, value_name = "SKU[+SKU...]")]
    pub license: Option<String>,
    /// Usage location for every row whose cell is empty or whose file has no such
    /// column (over the tenant's default).
    #[arg(long, value_name = "CC")]
    pub usage_location: Option<String>,
    /// Threads for the rows [default: number of CPUs]: 1 reads, checks, decides and
    /// writes on one thread (one core); N >= 2 gives reading, deciding and writing a
    /// thread each and N workers that check rows (an import into an empty directory,
    /// or of a file under 8 MiB: one thread for the rows beside the directory writer's).
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
    #[command(flatten)]
    pub mail: MailArgs,
    /// After the commit (and the mails), push the directory's changes to Microsoft 365
    /// through Microsoft Graph (the tenant file's [graph]); the push file is
    /// <result stem>.push.csv beside the result file.
    #[arg(long)]
    pub push: bool,
    /// Batches of 20 requests in flight at once during the push.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub push_concurrency: u16,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The result file of the import or restore whose users are to be created: it holds
    /// their passwords. Without it, users that Graph does not have yet are not created.
    pub results: Option<PathBuf>,
    /// Push file [default: <results stem>.push.csv beside RESULTS, or push.csv].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing push file.
    #[arg(long)]
    pub force: bool,
    /// Batches of 20 requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub push_concurrency: u16,
    /// Seconds to wait for a run that holds the directory.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
}

/// What a run that makes passwords mails after its commit.
#[derive(Debug, Args)]
pub struct MailArgs {
    /// Mail each new user their User Name and password at their Alternate email address,
    /// after the commit, through the tenant file's [mail] server.
    #[arg(long)]
    pub mail_credentials: bool,
    /// Mail the run's summary, with the result file attached, to these people (at most 5).
    #[arg(long, value_name = "ADDR[,ADDR...]", value_delimiter = ',')]
    pub mail_results_to: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SendMailArgs {
    /// The result file of an import or restore: its passwords go into the mails.
    pub results: PathBuf,
    /// Also send again the mails that an attempt stopped while handing them over (they
    /// may have arrived).
    #[arg(long)]
    pub resend_unconfirmed: bool,
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
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    /// Write to FILE instead of stdout (mode 0600: it holds personal data).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List the offboarded users (not yet purged) with the time they were offboarded.
    #[arg(long, conflicts_with = "unlicensed")]
    pub deleted: bool,
    /// List the active users without a licence, with the days since they had one (the
    /// admin center disables an unlicensed user's mailbox after 30 days).
    #[arg(long)]
    pub unlicensed: bool,
    /// Overwrite an existing FILE.
    #[arg(long, requires = "output")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Show at most N runs (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing FILE.
    #[arg(long, requires = "output")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PeopleArgs {
    /// The file naming the people: CSV or a workbook, with a User Name, Employee ID or
    /// Object ID column (Entra ID's bulk delete template works as it is).
    pub input: PathBuf,
    /// The sheet of a workbook to read [default: the first visible one].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Decide every row and write the result file, but change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Result file [default: <input stem>.results.csv in the current folder].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing result file.
    #[arg(long)]
    pub force: bool,
    /// Commit nothing (exit 3) if more rows than N, or than P% of the rows, fail or name
    /// nobody.
    #[arg(long, value_name = "N|P%")]
    pub max_failed: Option<MaxFailed>,
    /// Seconds to wait for another run that holds the directory.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub people: PeopleArgs,
    /// When the seats of a user's licences ran out meanwhile: restore without them and
    /// warn, or fail the row.
    #[arg(long, value_enum, default_value_t = OnShortage::Unlicensed)]
    pub on_shortage: OnShortage,
    #[command(flatten)]
    pub mail: MailArgs,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Purge users offboarded at least DAYS days ago [default: the tenant's
    /// retention_days, 30 unless set]; 0 purges every offboarded user now.
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u64>,
    /// List what would be purged, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Result file [default: purge.results.csv in the current folder].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing result file.
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for another run that holds the directory.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
}

const OFFBOARD_EXAMPLES: &str = "\
Examples:
  # See what would happen, then do it
  onboard offboard leavers.csv --dry-run -o leavers.check.csv
  onboard offboard leavers.csv

  # Entra ID's bulk delete template, as it is
  onboard offboard UserDeleteTemplate.csv";

const RESTORE_EXAMPLES: &str = "\
Examples:
  # Bring people back; their new passwords are in the result file
  onboard restore returners.csv -o returners.results.csv";

const MAIL_EXAMPLES: &str = "\
Examples:
  # The import committed, but the mail server was down (exit 4): send them now
  onboard mail new-hires.results.csv

  # Nightly, after the import: whatever did not go the night before
  onboard mail /srv/onboard/runs/today.results.csv -q";

const PUSH_EXAMPLES: &str = "\
Examples:
  # The users of an import, with their passwords, into Microsoft 365
  onboard push new-hires.results.csv

  # Or in one go, and every night after the HR sync
  onboard import new-hires.csv --push
  onboard push -q --log-format json";

const PURGE_EXAMPLES: &str = "\
Examples:
  # Nightly, after the import: remove users offboarded more than retention_days ago
  onboard purge -q

  # Everyone offboarded, now
  onboard purge --older-than 0";

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Write a commented starter tenant file to edit (to --tenant's path, tenant.toml
    /// unless given, or -o FILE); never over an existing file without --force.
    #[command(after_help = TENANT_EXAMPLES)]
    Init(TenantInitArgs),
    /// Write the tenant file from Microsoft Graph (the tenant file's [graph]): the
    /// organisation's name, verified domains and subscriptions (seats, apps and their
    /// ids), keeping [password], [mail], [graph] and the defaults.
    #[command(after_help = TENANT_PULL_EXAMPLES)]
    Pull(TenantPullArgs),
}

#[derive(Debug, Args)]
pub struct TenantPullArgs {
    /// Write to FILE [default: the --tenant file itself, replaced].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const TENANT_PULL_EXAMPLES: &str = "\
Examples:
  # tenant.toml has [graph]; refresh its domains, licences and seats
  ONBOARD_GRAPH_SECRET=... onboard tenant pull

  # Look first
  onboard tenant pull -o /tmp/tenant.pulled.toml && diff tenant.toml /tmp/tenant.pulled.toml";

#[derive(Debug, Args)]
pub struct TenantInitArgs {
    /// Write to FILE [default: the --tenant path].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// The organisation's name.
    #[arg(long, default_value = "My organisation")]
    pub name: String,
    /// A verified domain (repeat for more); the first is the default domain.
    #[arg(long = "domain", value_name = "DOMAIN", default_values_t = ["example.com".to_string()])]
    pub domains: Vec<String>,
}

const TENANT_EXAMPLES: &str = "\
Examples:
  # A starter tenant.toml in this folder, then edit its licences and seats
  onboard tenant init --name Contoso --domain contoso.com --domain fabrikam.nl

  # Somewhere else
  onboard tenant init -o /etc/onboard/tenant.toml";

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
