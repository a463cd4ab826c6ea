//! `onboard offboard`, `onboard restore` and `onboard purge`: turn the arguments into a
//! [`PeopleJob`], run it, report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{GlobalArgs, PeopleArgs, PurgeArgs, RestoreArgs};
use crate::mail::{MailRequest, Outbox};
use crate::people::{self, Action, PeopleJob};
use crate::plan::OnShortage;
use crate::read::ReadOptions;
use crate::tenant::Tenant;
use crate::write::file::Kept;
use crate::write::result::Destination;

pub fn offboard(global: &GlobalArgs, args: PeopleArgs) -> Result<u8> {
    with_file(
        global,
        args,
        Action::Offboard,
        OnShortage::Unlicensed,
        MailRequest::default(),
    )
}

pub fn restore(global: &GlobalArgs, args: RestoreArgs) -> Result<u8> {
    let mail = MailRequest::new(args.mail.mail_credentials, &args.mail.mail_results_to)?;
    with_file(global, args.people, Action::Restore, args.on_shortage, mail)
}

pub fn purge(global: &GlobalArgs, args: PurgeArgs) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let action = Action::Purge {
        older_than_days: args.older_than.unwrap_or(tenant.retention_days),
    };
    let job = PeopleJob {
        action,
        input: None,
        read: ReadOptions::default(),
        destination: Destination {
            path: args
                .output
                .unwrap_or_else(|| PathBuf::from("purge.results.csv")),
            force: args.force,
        },
        kept: vec![Kept::new(&global.tenant, "the tenant file")],
        tenant,
        directory: global.directory.clone(),
        dry_run: args.dry_run,
        max_failed: None,
        on_shortage: OnShortage::Unlicensed,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        mail: MailRequest::default(),
    };
    report(global, job)
}

fn with_file(
    global: &GlobalArgs,
    args: PeopleArgs,
    action: Action,
    on_shortage: OnShortage,
    mail: MailRequest,
) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let output = args
        .output
        .unwrap_or_else(|| super::import::default_output(&args.input));
    let job = PeopleJob {
        action,
        read: ReadOptions {
            sheet: args.sheet,
            mapping: None,
            default_domain: tenant.default_domain.clone(),
            identifies: true,
        },
        input: Some(args.input),
        destination: Destination {
            path: output,
            force: args.force,
        },
        kept: vec![Kept::new(&global.tenant, "the tenant file")],
        tenant,
        directory: global.directory.clone(),
        dry_run: args.dry_run,
        max_failed: args.max_failed,
        on_shortage,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        mail,
    };
    report(global, job)
}

fn report(global: &GlobalArgs, job: PeopleJob) -> Result<u8> {
    let kind = job.action.kind();
    let dry_run = job.dry_run;
    // Everything mail needs is read now: a mistake in it stops the run before it writes.
    let outbox = job
        .mail
        .any()
        .then(|| Outbox::prepare(&job.tenant))
        .transpose()?;
    let (directory, lock_timeout) = (job.directory.clone(), job.lock_timeout);
    let mut end = people::run(job)?;
    if let (Some(outbox), Some(result_file), true, Some(mail)) =
        (&outbox, &end.result_file, end.committed, &end.mail)
    {
        let summary = format!(
            "onboard {kind}: {} {}, {}.",
            end.rows,
            if end.rows == 1 { "row" } else { "rows" },
            end.counts
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(o, n)| format!("{} {n}", o.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let tally = crate::mail::after_commit(
            &directory,
            outbox,
            &end.run_id,
            result_file,
            summary,
            lock_timeout,
            mail.planned(),
        );
        if let Some(m) = &mut end.mail {
            m.delivered = Some(tally);
        }
    }
    if !global.quiet {
        end.print(&mut std::io::stderr().lock(), kind, dry_run)?;
    }
    Ok(end.exit_code())
}
