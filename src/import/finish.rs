//! The end of an import: commit or roll back, record the run, put the result file in
//! place, sum up; and, at the start of the next run, the result files that a run stopped
//! between its commit and the rename left behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use tracing::{debug, info, warn};

use crate::clock::now_rfc3339;
use crate::import::{ImportEnd, Run};
use crate::interrupt::pause_point;
use crate::row::{printable, Status};
use crate::store::{Directory, RunRecord};
use crate::write::result::{Destination, Fingerprint, ResultWriter};
use crate::write::summary::{MailSummary, SeatChange, Summary, Tally};

impl Run<'_> {
    /// Decides between commit and roll-back, puts the result file in place and sums up.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &self,
        directory: Option<&Directory>,
        writer: ResultWriter,
        staged_path: PathBuf,
        tally: Tally,
        active_people: u64,
        assigned: &HashMap<String, u64>,
        input_sha256: String,
        encoding: &str,
    ) -> Result<(Summary, ImportEnd)> {
        let job = self.job;
        let tenant = &job.tenant;
        let leavers = tally.count(Status::Offboarded);
        let too_many_leavers = leavers > 0 && job.max_leavers.exceeded(leavers, active_people);
        if too_many_leavers {
            warn!(
                leavers,
                active = active_people,
                "the run would offboard more people than --max-leavers allows (is the HR export whole?); nothing was committed"
            );
        }
        let over_budget = too_many_leavers
            || job
                .max_failed
                .is_some_and(|m| m.exceeded(tally.failed(), tally.rows));
        let finished_at = now_rfc3339();
        let committed;
        let mut result_file = None;
        if over_budget {
            // The staged file holds passwords of users that will never exist: drop it.
            drop(writer);
            if let Some(d) = directory {
                d.rollback();
            }
            committed = false;
            warn!(
                failed = tally.failed(),
                rows = tally.rows,
                "more rows failed than --max-failed allows; nothing was committed"
            );
        } else {
            let staged = writer.finish(!job.dry_run)?;
            pause_point("staged");
            match (directory, job.dry_run) {
                (Some(d), false) => {
                    // The last moment to stop: the staged file is dropped, the transaction
                    // rolled back. After the commit a signal waits for the rename.
                    crate::interrupt::check()?;
                    let skus: Vec<&str> = tenant.licenses.iter().map(|l| l.sku.as_str()).collect();
                    let t = Instant::now();
                    d.build_indexes()?;
                    debug!(seconds = t.elapsed().as_secs_f64(), "user index built");
                    d.add_seats(&skus, &tally.granted)?;
                    d.record_run(&RunRecord {
                        run_id: self.run_id.clone(),
                        started_at: self.started_at.clone(),
                        finished_at: finished_at.clone(),
                        input_name: absolute(&job.input),
                        input_sha256: input_sha256.clone(),
                        dry_run: false,
                        rows: tally.rows,
                        created: tally.count(Status::Created),
                        updated: tally.count(Status::Updated),
                        unchanged: tally.count(Status::Unchanged),
                        skipped: tally.count(Status::Skipped),
                        failed: tally.failed(),
                        result_file: absolute(&job.destination.path),
                        staged_file: staged_path.display().to_string(),
                        staged_sha256: staged.fingerprint.sha256.clone(),
                        staged_size: staged.fingerprint.size,
                        kind: "import".to_string(),
                        offboarded: tally.count(Status::Offboarded),
                        restored: 0,
                        purged: 0,
                    })?;
                    if job.mail.credentials {
                        d.plan_credential_mails(false)?;
                    }
                    d.plan_result_mails(&job.mail.results_to)?;
                    let t = Instant::now();
                    d.commit()?;
                    debug!(seconds = t.elapsed().as_secs_f64(), "committed");
                    pause_point("committed");
                    committed = true;
                }
                (Some(d), true) => {
                    d.rollback();
                    committed = false;
                }
                (None, _) => committed = false,
            }
            let published = staged.publish()?;
            if committed && published != staged_path {
                if let Some(d) = directory {
                    // In place: a later run has nothing to recover. Should this fail, the
                    // next run finds the staged file gone and forgets it then.
                    if let Err(e) = d.no_wait().and_then(|()| d.forget_staged(d.run_row())) {
                        debug!(error = %e, "staged path not forgotten");
                    }
                }
            }
            result_file = Some(published.display().to_string());
        }

        let seconds = self.started.elapsed().as_secs_f64();
        let seats = tenant
            .licenses
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let before = assigned.get(&l.sku).copied().unwrap_or(0);
                let after = if committed || job.dry_run {
                    (before + tally.granted[i]).saturating_sub(tally.freed[i])
                } else {
                    before
                };
                SeatChange {
                    sku: l.sku.clone(),
                    purchased: l.seats,
                    assigned_before: before,
                    assigned_after: after,
                    available_after: l.seats as i64 - after as i64,
                }
            })
            .collect();
        let end = if over_budget {
            ImportEnd::OverBudget
        } else if tally.failed() > 0 {
            ImportEnd::SomeFailed
        } else {
            ImportEnd::Clean
        };
        let summary = Summary {
            run_id: self.run_id.clone(),
            started_at: self.started_at.clone(),
            finished_at,
            input: job.input.display().to_string(),
            input_sha256,
            input_encoding: encoding.to_string(),
            result_file,
            dry_run: job.dry_run,
            committed,
            rows: tally.rows,
            status: tally.status_map(),
            errors: tally.error_map(),
            warnings: tally.warnings,
            seats,
            seconds,
            rows_per_second: if seconds > 0.0 {
                tally.rows as f64 / seconds
            } else {
                0.0
            },
            exit_code: end.exit_code(),
            mail: job.mail.any().then(|| MailSummary {
                credentials: tally.mails,
                results_to: job.mail.results_to.clone(),
                delivered: None,
            }),
        };
        info!(rows = summary.rows, committed, "import finished");
        Ok((summary, end))
    }
}

/// Finds result files that a committed run staged but never renamed (it was stopped
/// between commit and rename) and renames them into place, but only the very file that
/// run wrote (its SHA-256 and size, recorded at the commit): anything else at that path
/// is left alone, with a warning. A path is forgotten once its file is in place or gone.
/// Also names staged files of runs that never committed: they hold no password of any
/// user in the directory.
pub(crate) fn recover_staged_results(d: &Directory, destination: &Destination) -> Result<()> {
    let runs = d.staged_runs()?;
    for run in &runs {
        let staged = Path::new(&run.staged_file);
        let result = Path::new(&run.result_file);
        let shown_staged = printable(&staged.display().to_string());
        if staged.symlink_metadata().is_err() {
            d.forget_staged(run.id)?;
            continue;
        }
        if same_file(staged, result) {
            // Stopped between the link into place and the removal of the staged name.
            std::fs::remove_file(staged)
                .with_context(|| format!("cannot remove left-over {}", staged.display()))?;
            d.forget_staged(run.id)?;
            continue;
        }
        let own = !run.staged_sha256.is_empty()
            && Fingerprint::of(staged)
                .is_some_and(|f| f.sha256 == run.staged_sha256 && f.size == run.staged_size);
        if !own {
            warn!(
                run_id = %run.run_id,
                file = %shown_staged,
                "a file lies where an earlier import staged its result file, but it is not the file that import wrote; it is left alone (delete it if you do not know it)"
            );
            continue;
        }
        if result.symlink_metadata().is_err() {
            std::fs::rename(staged, result).with_context(|| {
                format!("cannot move left-over result file {}", staged.display())
            })?;
            crate::write::file::sync_folder(result);
            d.forget_staged(run.id)?;
            warn!(
                run_id = %run.run_id,
                file = %printable(&result.display().to_string()),
                "an earlier import was stopped after it committed; its result file (with the passwords of its users) is now in place"
            );
        } else {
            warn!(
                run_id = %run.run_id,
                file = %shown_staged,
                "an earlier import was stopped after it committed; the passwords of its users are in this left-over file"
            );
        }
    }
    for orphan in destination.staged_files()? {
        if !runs.iter().any(|r| Path::new(&r.staged_file) == orphan) {
            warn!(
                file = %printable(&orphan.display().to_string()),
                "left over from an import that was stopped before it committed; it holds no password of any user in the directory and can be deleted"
            );
        }
    }
    Ok(())
}

/// Whether `a` and `b` are one file (two links to it), neither through a symlink.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (a.symlink_metadata(), b.symlink_metadata()) {
            (Ok(a), Ok(b)) => a.file_type().is_file() && a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

pub(crate) fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
