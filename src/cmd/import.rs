//! `onboard import`: turns the arguments into an [`ImportJob`], runs it, reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::check::RowDefaults;
use crate::cli::{GlobalArgs, ImportArgs};
use crate::import::{self, ImportJob};
use crate::logging::LogFormat;
use crate::mail::{MailRequest, Outbox};
use crate::progress::Progress;
use crate::read::mapping::Mapping;
use crate::read::ReadOptions;
use crate::tenant::Tenant;
use crate::write::file::{Kept, Target};
use crate::write::result::Destination;

pub fn run(global: &GlobalArgs, args: ImportArgs) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let mut defaults = RowDefaults::parse(
        &tenant,
        args.license.as_deref(),
        args.usage_location.as_deref(),
    )?;
    let mapping = args.columns.as_deref().map(Mapping::load).transpose()?;
    if let Some(m) = &mapping {
        m.check_tenant(&tenant)?;
        defaults.active_values = m.active_values.clone();
        defaults.leaver_values = m.leaver_values.clone();
    }
    defaults.employee_id_required = args.match_by == crate::plan::MatchBy::EmployeeId;
    let mail = MailRequest::new(args.mail.mail_credentials, &args.mail.mail_results_to)?;
    // Everything mail needs is read now: a mistake in it stops the run before it writes.
    let outbox = mail.any().then(|| Outbox::prepare(&tenant)).transpose()?;
    // The same for the push: signed in, its file checked, before the import writes.
    let graph = args
        .push
        .then(|| super::push::connect(&tenant).map(|c| (c, tenant.clone())))
        .transpose()?;
    if args.full_export && !defaults.employee_id_required {
        anyhow::bail!("--full-export needs --match employee-id: only people with an Employee ID can be missed from the export");
    }
    let read = ReadOptions {
        sheet: args.sheet.clone(),
        mapping,
        default_domain: tenant.default_domain.clone(),
        identifies: false,
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.input));
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let saving = if args.dry_run {
        "finishing the result file".to_string()
    } else {
        format!("committing to {}", global.directory.display())
    };
    let progress = Progress::new(global.quiet, args.progress, &args.input, saving);
    let push_target = super::push::target(super::push::push_file_of(&output), args.force);
    if graph.is_some() && !args.dry_run {
        crate::write::file::check(&[&push_target], &super::push::kept(global, Some(&output)))?;
    }
    let job_summary = args.summary.as_ref().map(|path| Target {
        path: path.clone(),
        what: "summary",
        option: "--summary",
        force: args.force,
        private: true,
    });
    let job = ImportJob {
        input: args.input.clone(),
        tenant,
        directory: global.directory.clone(),
        destination: Destination {
            path: output,
            force: args.force,
        },
        summary: job_summary.clone(),
        kept: [Some(Kept::new(&global.tenant, "the tenant file"))]
            .into_iter()
            .chain(
                args.columns
                    .as_deref()
                    .map(|c| Some(Kept::new(c, "the columns file"))),
            )
            .flatten()
            .collect(),
        dry_run: args.dry_run,
        on_existing: args.on_existing,
        on_shortage: args.on_shortage,
        max_failed: args.max_failed,
        allow_global_admin: args.allow_global_admin,
        defaults,
        match_by: args.match_by,
        full_export: args.full_export,
        max_leavers: args.max_leavers,
        jobs,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        progress: progress.bar(),
        read,
        mail,
    };
    let (mut summary, end) = import::run(job)?;
    progress.done();
    if crate::interrupt::requested() {
        // The signal came after the commit: the run finished, its users exist and the
        // result file is in place; the summary is left out.
        eprintln!(
            "onboard: interrupted after the commit: the users are in the directory and the result file is in place{}{}{}",
            if job_summary.is_some() { "; the summary was not written" } else { "" },
            if outbox.is_some() { "; `onboard mail RESULTS.csv` sends the mails" } else { "" },
            if graph.is_some() { "; `onboard push RESULTS.csv` pushes the users" } else { "" },
        );
        let rest = outbox.is_some() || graph.is_some();
        return Ok(if rest && end.exit_code() == crate::exit::OK {
            crate::exit::INCOMPLETE
        } else {
            end.exit_code()
        });
    }
    let mut exit_code = end.exit_code();
    if let (Some(outbox), Some(result_file), true, Some(mail)) = (
        &outbox,
        &summary.result_file,
        summary.committed,
        &summary.mail,
    ) {
        // The run has committed: whatever happens to its mails, its users stay.
        let tally = crate::mail::after_commit(
            &global.directory,
            outbox,
            &summary.run_id,
            Path::new(result_file),
            summary.short_text(),
            Duration::from_secs(args.lock_timeout),
            mail.planned(),
        );
        if tally.incomplete() && exit_code == crate::exit::OK {
            exit_code = crate::exit::INCOMPLETE;
        }
        summary.exit_code = exit_code;
        if let Some(m) = &mut summary.mail {
            m.delivered = Some(tally);
        }
    }
    if let (Some((client, tenant)), Some(result_file), true) =
        (&graph, &summary.result_file, summary.committed)
    {
        let job = crate::graph::push::PushJob {
            tenant,
            directory: global.directory.clone(),
            results: Some(PathBuf::from(result_file)),
            output: push_target.clone(),
            kept: super::push::kept(global, Some(Path::new(result_file))),
            concurrency: usize::from(args.push_concurrency),
            lock_timeout: Duration::from_secs(args.lock_timeout),
        };
        // The import stands whatever the push does.
        let pushed = super::push::report(global, &job, client).unwrap_or_else(|e| {
            tracing::error!("the push stopped: {e:#}; `onboard push` takes it up again");
            crate::exit::INCOMPLETE
        });
        if pushed != crate::exit::OK && exit_code == crate::exit::OK {
            exit_code = crate::exit::INCOMPLETE;
            summary.exit_code = exit_code;
        }
    }
    if let Some(target) = &job_summary {
        // Checked before the run, so this fails only on a full disk or the like; the run
        // has committed, so its exit code stands.
        if let Err(e) = summary.write_json(target) {
            tracing::error!("{e:#}");
        }
    }
    if !global.quiet {
        let mut err = std::io::stderr().lock();
        match global.log_format {
            LogFormat::Text => summary.print(&mut err, summary_width())?,
            LogFormat::Json => writeln!(err, "{}", summary.json_line())?,
        }
    }
    Ok(exit_code)
}

/// Columns for the summary's lists: the terminal's, up to 100; 100 when not a terminal.
fn summary_width() -> usize {
    let columns = console::Term::stderr()
        .size_checked()
        .map_or(100, |(_, c)| usize::from(c));
    columns.clamp(40, 100)
}

/// `<input stem>.results.csv` in the current folder.
pub(super) fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "onboard".to_string());
    PathBuf::from(format!("{stem}.results.csv"))
}
