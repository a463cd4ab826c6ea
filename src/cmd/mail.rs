//! `onboard mail RESULTS.csv`: sends the mails of an import or restore that are not
//! recorded as sent, with the passwords from its result file.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cli::{GlobalArgs, SendMailArgs};
use crate::mail::{self, Outbox, RunMail};
use crate::store::{Access, Directory};
use crate::tenant::Tenant;

pub fn run(global: &GlobalArgs, args: SendMailArgs) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let outbox = Outbox::prepare(&tenant)?;
    let shown = args.results.display();
    if !args.results.is_file() {
        bail!("result file {shown} does not exist");
    }
    let recorded = crate::import::absolute_path(&args.results);
    let Some(d) = Directory::open(&global.directory, Access::Write, Duration::from_secs(60))?
    else {
        bail!("directory {} does not exist", global.directory.display());
    };
    let run = d.run_by_result_file(&recorded)?.with_context(|| {
        format!("no run in {} wrote the result file {recorded}: name the file where the import or restore put it", global.directory.display())
    })?;
    let tally = mail::deliver(
        &d,
        &outbox,
        &RunMail {
            run: run.id,
            run_id: &run.run_id,
            result_file: &args.results,
            summary: format!(
                "onboard's {} run {} of {}, finished at {}.",
                run.kind, run.run_id, run.input_name, run.finished_at
            ),
            resend_unconfirmed: args.resend_unconfirmed,
        },
    )?;
    if !global.quiet {
        let total = tally.sent
            + tally.already_sent
            + tally.refused
            + tally.failed
            + tally.not_sent
            + tally.unconfirmed;
        if total == 0 {
            eprintln!("onboard: run {} planned no mails", run.run_id);
        } else {
            eprintln!(
                "onboard: run {} ({}), {}",
                run.run_id,
                run.kind,
                tally.line()
            );
        }
    }
    Ok(if tally.incomplete() {
        crate::exit::INCOMPLETE
    } else {
        crate::exit::OK
    })
}
