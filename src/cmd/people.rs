//! `onboard offboard`, `onboard restore` and `onboard purge`: turn the arguments into a
//! [`PeopleJob`], run it, report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{GlobalArgs, PeopleArgs, PurgeArgs, RestoreArgs};
use crate::people::{self, Action, PeopleJob};
use crate::plan::OnShortage;
use crate::read::ReadOptions;
use crate::tenant::Tenant;
use crate::write::file::Kept;
use crate::write::result::Destination;

pub fn offboard(global: &GlobalArgs, args: PeopleArgs) -> Result<u8> {
    with_file(global, args, Action::Offboard, OnShortage::Unlicensed)
}

pub fn restore(global: &GlobalArgs, args: RestoreArgs) -> Result<u8> {
    with_file(global, args.people, Action::Restore, args.on_shortage)
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
    };
    report(global, job)
}

fn with_file(
    global: &GlobalArgs,
    args: PeopleArgs,
    action: Action,
    on_shortage: OnShortage,
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
    };
    report(global, job)
}

fn report(global: &GlobalArgs, job: PeopleJob) -> Result<u8> {
    let kind = job.action.kind();
    let dry_run = job.dry_run;
    let end = people::run(job)?;
    if !global.quiet {
        end.print(&mut std::io::stderr().lock(), kind, dry_run)?;
    }
    Ok(end.exit_code())
}
