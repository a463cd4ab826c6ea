//! The import job: the stages joined in the order the data flows.
//!
//! read a batch (reader thread; the file is hashed as it is read) → check each row on its
//! own (rayon workers, pure) → decide in file order (duplicates, existing users, seats;
//! main thread) → generate passwords, format and stage the result rows (writer thread) →
//! write the directory inside one transaction (directory thread) → commit → rename the
//! result file into place.
//!
//! This file sets a run up (the job, the directory's transaction, the stages' inputs) and
//! reads the file again as Windows-1252 when it turns out not to be UTF-8; [`stages`]
//! runs the stages on their threads; [`finish`] commits, records the run, puts the
//! result file in place and recovers result files that a stopped run left behind.

mod chunked;
pub(crate) mod finish;
mod stages;

pub(crate) use finish::absolute as absolute_path;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use tracing::{debug, info};

use crate::check::{RowDefaults, Rules};
use crate::clock::now_rfc3339;
use crate::plan::{MatchBy, OnExisting, OnShortage, Planner, SeatPool};
use crate::read::{Input, ReadOptions};
use crate::row::Status;
use crate::store::{Access, Directory};
use crate::tenant::Tenant;
use crate::write::file::{self, Kept, Target};
use crate::write::result::{Destination, ResultWriter};
use crate::write::summary::Summary;

use finish::recover_staged_results;
use stages::{Mode, Stages};

/// `--max-failed`: how many failed rows a run may have and still commit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFailed {
    Rows(u64),
    Percent(f64),
}

impl std::str::FromStr for MaxFailed {
    type Err = String;
    fn from_str(s: &str) -> Result<MaxFailed, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(MaxFailed::Percent(v)),
                _ => Err(format!("`{s}` is not a percentage from 0% to 100%")),
            }
        } else {
            s.parse::<u64>()
                .map(MaxFailed::Rows)
                .map_err(|_| format!("`{s}` is not a number of rows or a percentage like 5%"))
        }
    }
}

impl MaxFailed {
    pub fn exceeded(self, failed: u64, rows: u64) -> bool {
        match self {
            MaxFailed::Rows(n) => failed > n,
            MaxFailed::Percent(p) => failed as f64 > p / 100.0 * rows as f64,
        }
    }
}

/// Everything `onboard import` was asked to do, checked.
pub struct ImportJob {
    pub input: PathBuf,
    pub tenant: Tenant,
    pub directory: PathBuf,
    pub destination: Destination,
    /// `--summary`: checked with the result file before anything is done.
    pub summary: Option<Target>,
    /// Files besides the input and the directory that no output may replace (the tenant
    /// and mapping files).
    pub kept: Vec<Kept>,
    pub dry_run: bool,
    pub on_existing: OnExisting,
    pub on_shortage: OnShortage,
    pub max_failed: Option<MaxFailed>,
    pub allow_global_admin: bool,
    /// `--license` and `--usage-location`, checked against the tenant.
    pub defaults: RowDefaults,
    /// `--match`.
    pub match_by: MatchBy,
    /// `--full-export`: active users with an Employee ID that are not in the file leave.
    pub full_export: bool,
    /// `--max-leavers`.
    pub max_leavers: MaxFailed,
    pub jobs: usize,
    pub lock_timeout: Duration,
    pub progress: ProgressBar,
    /// `--sheet` and `--columns`.
    pub read: ReadOptions,
    /// `--mail-credentials` and `--mail-results-to`: planned in the transaction.
    pub mail: crate::mail::MailRequest,
}

/// How an import ended (docs/results.md#exit-codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportEnd {
    /// Every row created, updated, unchanged or skipped.
    Clean,
    /// Committed, some rows failed.
    SomeFailed,
    /// Too many rows failed: nothing committed.
    OverBudget,
}

impl ImportEnd {
    pub fn exit_code(self) -> u8 {
        match self {
            ImportEnd::Clean => crate::exit::OK,
            ImportEnd::SomeFailed => crate::exit::ROWS_FAILED,
            ImportEnd::OverBudget => crate::exit::OVER_BUDGET,
        }
    }
}

/// Runs the import. `Err` is a run error (exit 2): nothing was written.
pub fn run(job: ImportJob) -> Result<(Summary, ImportEnd)> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let run_id = new_run_id();
    // Every log line of the run carries its id (a field of JSON log lines).
    let span = tracing::info_span!("import", run_id = %run_id);
    let _entered = span.enter();
    let mut targets = vec![job.destination.target()];
    targets.extend(job.summary.clone());
    let mut kept = vec![Kept::new(&job.input, "the input file")];
    kept.extend(Kept::directory(&job.directory));
    kept.extend(job.kept.iter().cloned());
    file::check(&targets.iter().collect::<Vec<_>>(), &kept)?;
    let input = Input::open_with(&job.input, &job.read, false)?;
    info!(
        file = %job.input.display(),
        encoding = input.encoding.name(),
        delimiter = %(input.delimiter as char).escape_default(),
        columns = input.width(),
        dry_run = job.dry_run,
        "import started"
    );
    // A first import that fails leaves the directory file it created, with no tables:
    // removing it is not safe, as a second import may have opened it meanwhile. Every
    // command reads such a file as an empty directory.
    let mut directory = Directory::open_run(&job.directory, job.dry_run, job.lock_timeout)?;
    let run = Run {
        job: &job,
        run_id,
        started_at,
        started,
    };
    let mut outcome = run.import(input, directory.as_mut());
    if let Ok(None) = outcome {
        // Invalid UTF-8 further on in a file without BOM: the reader stopped there and
        // nothing was kept of the first read; read the whole file again as Windows-1252.
        if let Some(d) = directory.as_mut() {
            d.rollback();
            d.begin(&job.directory, job.lock_timeout)?;
        }
        let input = Input::open_with(&job.input, &job.read, true)?;
        outcome = run.import(input, directory.as_mut());
    }
    if let (Err(_), Some(d)) = (&outcome, directory.as_ref()) {
        d.rollback();
    }
    outcome?.ok_or_else(|| anyhow::anyhow!("{}: cannot decide the encoding", job.input.display()))
}

impl Run<'_> {
    /// `--full-export`: every active user with an Employee ID that no row of the file had
    /// is a leaver; each is offboarded (not in a dry run) and gets a result row after the
    /// input's, without a line number.
    fn offboard_missing(
        &self,
        d: &Directory,
        planner: &Planner,
        writer: &mut ResultWriter,
        tally: &mut crate::write::summary::Tally,
    ) -> Result<()> {
        let tenant = &self.job.tenant;
        // Without a snapshot the directory has no users: nobody is missing.
        let t = Instant::now();
        let mut missing = match planner.snapshot.as_deref() {
            Some((snapshot, _)) => snapshot.missing(|d| planner.saw_employee(d)),
            None => Vec::new(),
        };
        debug!(
            seconds = t.elapsed().as_secs_f64(),
            leavers = missing.len(),
            "people not in the full export found"
        );
        missing.sort_unstable();
        let mut users = d.users_by_ids(&missing)?;
        if !self.job.dry_run {
            d.offboard_all(users.iter().map(|u| (u.id, &u.licenses[..])))?;
        }
        // In User Name order, not the snapshot's.
        users.sort_by_cached_key(|u| u.user_name.to_lowercase());
        for user in users {
            let held: Vec<u16> = user
                .licenses
                .iter()
                .filter_map(|sku| tenant.license_index(sku).map(|i| i as u16))
                .collect();
            tally.add_leaver(&held);
            writer.write_cells([
                "",
                &crate::row::escape_controls(&user.user_name),
                &crate::row::escape_controls(&user.profile[crate::row::DISPLAY_NAME_AT]),
                Status::Offboarded.as_str(),
                "",
                &user.licenses.join("+"),
                "left: not in the full export",
                "",
            ])?;
        }
        Ok(())
    }
}

/// One import run's fixed facts.
struct Run<'a> {
    job: &'a ImportJob,
    run_id: String,
    started_at: String,
    started: Instant,
}

impl Run<'_> {
    /// One read of the input; `None` when a file assumed to be UTF-8 turned out not to be.
    fn import(
        &self,
        input: Input,
        mut directory: Option<&mut Directory>,
    ) -> Result<Option<(Summary, ImportEnd)>> {
        let job = self.job;
        let tenant = &job.tenant;
        if let (Some(d), false) = (directory.as_deref(), job.dry_run) {
            recover_staged_results(d, &job.destination)?;
        }
        let (assigned, has_users) = match directory.as_deref() {
            Some(d) => (d.assigned_seats()?, d.has_users()?),
            None => Default::default(),
        };
        // The base of --max-leavers: active people before the run. Counted only when
        // the run can have leavers, as it reads every user.
        let may_have_leavers = job.full_export
            || input
                .columns
                .get(crate::row::Field::AccountStatus)
                .is_some();
        // Under --match employee-id the snapshot counts them on its way.
        let mut active_people = match directory.as_deref() {
            Some(d) if has_users && may_have_leavers && job.match_by == MatchBy::UserName => {
                d.count_active_people()?
            }
            _ => 0,
        };
        // Look-ups of existing users go through a connection of their own, so that the
        // writing connection can work in its own thread. The write lock that the
        // import holds keeps what this connection sees from changing.
        let mut lookup_connection = match (has_users, job.dry_run) {
            (true, false) => {
                let mut d = Directory::open(&job.directory, Access::Read, job.lock_timeout)?;
                if let Some(d) = d.as_mut() {
                    d.begin(&job.directory, job.lock_timeout)?;
                }
                d
            }
            _ => None,
        };
        if let (Some(d), false, false) = (directory.as_deref(), has_users, job.dry_run) {
            d.defer_indexes()?;
        }
        let (lookup, writer_directory): (Option<&mut Directory>, Option<&mut Directory>) =
            if job.dry_run {
                (directory.as_deref_mut().filter(|_| has_users), None)
            } else {
                (lookup_connection.as_mut(), directory.as_deref_mut())
            };

        let columns = input.columns.clone();
        let input_hash = input.hash();
        let not_utf8 = input.not_utf8();
        let encoding = input.encoding.name();
        let rules = Rules::with_defaults(tenant, &columns, job.allow_global_admin, &job.defaults);
        let file_len = std::fs::metadata(&job.input).map(|m| m.len()).unwrap_or(0);
        let mut planner = Planner::new(
            tenant,
            &columns,
            job.on_existing,
            job.on_shortage,
            SeatPool::new(tenant, &assigned),
            has_users,
            // About 150 bytes a row in real exports: room for the duplicate index
            // up front, so it is not rebuilt while it grows.
            (file_len / 150).min(50_000_000) as usize,
        );
        planner.match_by = job.match_by;
        if let (MatchBy::EmployeeId, Some(d)) = (job.match_by, lookup.as_deref()) {
            let spec = crate::snapshot::StateSpec::new(&columns);
            let t = Instant::now();
            // A second connection scans half the directory on another thread. Only under
            // the write lock: then both see the same directory.
            let helper = match job.dry_run {
                false => {
                    let mut h = Directory::open(&job.directory, Access::Read, job.lock_timeout)?;
                    if let Some(h) = h.as_mut() {
                        h.begin(&job.directory, job.lock_timeout)?;
                    }
                    h
                }
                true => None,
            };
            let (snapshot, fresh) = crate::snapshot::Snapshot::build(d, &spec, helper)?;
            // Before the run's writes, whose triggers then drop the digests of the people
            // this run changes; those it keeps again before it commits.
            if let Some(w) = writer_directory.as_deref() {
                w.keep_digests(spec.key(), &fresh)?;
                w.note_written();
            }
            if may_have_leavers {
                active_people = snapshot.len() as u64;
            }
            planner.snapshot = Some(std::sync::Arc::new((snapshot, spec)));
            debug!(
                seconds = t.elapsed().as_secs_f64(),
                "directory snapshot taken"
            );
        }
        let writer = ResultWriter::create(
            &job.destination,
            input.delimiter,
            input.encoding.result_wants_bom(),
            !job.dry_run,
        )?;
        let staged_path = writer.staged_path().to_path_buf();
        job.progress.set_length(file_len);
        let mode = Mode::choose(job.jobs, writer_directory.is_some(), has_users, file_len);
        debug!(mode = mode.describe(), jobs = job.jobs, "rows on");
        let stages = Stages {
            input,
            writer,
            rules: &rules,
            planner: &mut planner,
            lookup,
            store: writer_directory,
            columns: &columns,
        };
        let (mut writer, mut tally) = self.run_stages(mode, stages)?;
        if planner.snapshot.is_some() {
            debug!(
                rows = planner.unchanged_by_snapshot,
                "rows decided by the snapshot"
            );
        }
        if job.full_export {
            if let Some(d) = directory.as_deref() {
                self.offboard_missing(d, &planner, &mut writer, &mut tally)?;
            }
        }
        if let (Some((_, spec)), Some(d), false) = (
            planner.snapshot.as_deref(),
            directory.as_deref(),
            job.dry_run,
        ) {
            let t = Instant::now();
            let kept = crate::snapshot::keep_written(d, spec, &d.written())?;
            debug!(
                seconds = t.elapsed().as_secs_f64(),
                people = kept,
                "digests of the people this run wrote kept"
            );
        }
        job.progress.finish_and_clear();
        debug!(
            seconds = self.started.elapsed().as_secs_f64(),
            "all rows written"
        );
        if not_utf8.found() {
            return Ok(None);
        }
        let input_sha256 = input_hash
            .finish(&job.input)
            .with_context(|| format!("cannot read {}", job.input.display()))?;
        self.finish(
            directory.as_deref(),
            writer,
            staged_path,
            tally,
            active_people,
            &assigned,
            input_sha256,
            encoding,
        )
        .map(Some)
    }
}

pub(crate) fn new_run_id() -> String {
    use rand::Rng;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{now:x}-{:08x}", rand::rng().random::<u32>())
}
