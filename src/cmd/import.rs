//! `onboard import`: turns the arguments into an [`ImportJob`], runs it, reports.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{GlobalArgs, ImportArgs, LogFormat, ProgressMode};
use crate::output::Destination;
use crate::pipeline::{self, ImportJob};
use crate::tenant::Tenant;

pub fn run(global: &GlobalArgs, args: ImportArgs) -> Result<u8> {
    let tenant = Tenant::load(&global.tenant)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let job = ImportJob {
        input: args.input.clone(),
        tenant,
        directory: global.directory.clone(),
        destination: Destination {
            path: output,
            force: args.force,
        },
        dry_run: args.dry_run,
        on_existing: args.on_existing,
        on_shortage: args.on_shortage,
        max_failed: args.max_failed,
        allow_global_admin: args.allow_global_admin,
        jobs,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        progress: progress_bar(global.quiet, args.progress),
    };
    let (summary, end) = pipeline::run(job)?;
    if let Some(path) = &args.summary {
        summary.write_json(path)?;
    }
    if !global.quiet {
        let mut err = std::io::stderr().lock();
        match global.log_format {
            LogFormat::Text => summary.print(&mut err)?,
            LogFormat::Json => writeln!(err, "{}", summary.json_line())?,
        }
    }
    Ok(end.exit_code())
}

/// `<input stem>.results.csv` in the current folder.
fn default_output(input: &std::path::Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "onboard".to_string());
    PathBuf::from(format!("{stem}.results.csv"))
}

fn progress_bar(quiet: bool, mode: ProgressMode) -> ProgressBar {
    let show = match mode {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    if quiet || !show {
        return ProgressBar::hidden();
    }
    // Drawn as a terminal-like target so `--progress always` draws even when stderr is
    // not a terminal (indicatif's own stderr target hides itself then).
    let target =
        ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::buffered_stderr()), 10);
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {percent:>3}% {binary_bytes_per_sec} ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
