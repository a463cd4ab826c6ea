//! The import job: the stages joined in the order the data flows.
//!
//! read a batch (reader thread; the file is hashed as it is read) → check each row on its
//! own (rayon workers, pure) → decide in file order (duplicates, existing users, seats;
//! main thread) → generate passwords, format and stage the result rows (writer thread) →
//! write the directory inside one transaction (directory thread) → commit → rename the
//! result file into place. Batches go round and back to the reader with their buffers, at
//! most `MAX_BATCHES` of them, so memory is bounded by those plus the duplicate index.
//! With `-j 1` the same stages run in turn on one thread; an import into an empty
//! directory, or of a small file, runs them in turn beside the directory thread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use rayon::prelude::*;
use tracing::{debug, info, warn};

use crate::columns::{Columns, Field};
use crate::directory::{Access, Directory, RunRecord, UserWrite};
use crate::input::{Input, InputEncoding, RawRow, ReadOptions};
use crate::output::{Destination, ResultWriter};
use crate::password;
use crate::plan::{OnExisting, OnShortage, PlannedRow, Planner, SeatPool, Status};
use crate::rules::{Code, Rules, PROFILE_FIELDS};
use crate::summary::{now_rfc3339, SeatChange, Summary};
use crate::tenant::Tenant;

/// What the stages of an import work with, handed to the way they are run.
struct Stages<'x, 'a> {
    input: Input,
    writer: ResultWriter,
    rules: &'x Rules<'a>,
    planner: &'x mut Planner<'a>,
    /// The connection that looks up existing users (a dry run's only one).
    lookup: Option<&'x Directory>,
    /// The connection that writes the directory (none in a dry run).
    store: Option<&'x mut Directory>,
    columns: &'x Columns,
}

/// How the stages of an import are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-j 1`: all in turn on one thread.
    OneThread,
    /// All but the directory's in turn on one thread, the directory writer on another.
    BesideStore,
    /// A thread for each stage and `-j` workers that check rows.
    Threaded,
}

impl Mode {
    fn describe(self) -> &'static str {
        match self {
            Mode::OneThread => "one thread",
            Mode::BesideStore => "one thread beside the directory writer",
            Mode::Threaded => "a thread per stage",
        }
    }
}

/// Rows read and checked together. On 2 cores a dry run of 1M rows took 1.08 s with
/// batches of 1,024 rows, 1.14 s with 2,048, 1.27 s with 4,096 and 1.12 s with 512: the
/// rows in flight should fit in the caches.
const BATCH: usize = 1024;

/// An input smaller than this (about 40,000 rows) is imported beside the directory writer
/// on one thread even into a directory with users: see [`Run::import`].
const SMALL_INPUT: u64 = 8 << 20;

/// Batches in the pipeline at most: about one for each of its five stages and the
/// channels between them; more only take memory and cache.
const MAX_BATCHES: usize = 8;

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
    pub dry_run: bool,
    pub on_existing: OnExisting,
    pub on_shortage: OnShortage,
    pub max_failed: Option<MaxFailed>,
    pub allow_global_admin: bool,
    pub jobs: usize,
    pub lock_timeout: Duration,
    pub progress: ProgressBar,
    /// `--sheet` and `--columns`.
    pub read: ReadOptions,
}

/// How an import ended (SPEC §10).
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

/// Running totals for the summary.
struct Tally {
    rows: u64,
    /// Rows by [`Status`], in the order of [`Status::ALL`].
    status: [u64; Status::ALL.len()],
    /// Errors by [`Code`], in the order of [`Code::ALL`].
    errors: [u64; Code::ALL.len()],
    warnings: BTreeMap<String, u64>,
    granted: Vec<u64>,
}

impl Tally {
    fn new(licenses: usize) -> Tally {
        Tally {
            rows: 0,
            status: [0; Status::ALL.len()],
            errors: [0; Code::ALL.len()],
            warnings: BTreeMap::new(),
            granted: vec![0; licenses],
        }
    }

    fn add(&mut self, p: &PlannedRow) {
        self.rows += 1;
        self.status[p.status() as usize] += 1;
        for e in &p.row.errors {
            self.errors[e.code as usize] += 1;
        }
        for w in &p.warnings {
            let code = w.split(':').next().unwrap_or(w);
            match self.warnings.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    self.warnings.insert(code.to_string(), 1);
                }
            }
        }
        for &l in &p.new_licenses {
            self.granted[l as usize] += 1;
        }
    }

    fn count(&self, status: Status) -> u64 {
        self.status[status as usize]
    }

    fn failed(&self) -> u64 {
        self.count(Status::Failed)
    }

    /// Rows by status name, every status listed.
    fn status_map(&self) -> BTreeMap<String, u64> {
        Status::ALL
            .iter()
            .map(|&s| (s.as_str().to_string(), self.count(s)))
            .collect()
    }

    /// Errors by code, only the codes that occurred.
    fn error_map(&self) -> BTreeMap<String, u64> {
        Code::ALL
            .iter()
            .filter(|&&c| self.errors[c as usize] > 0)
            .map(|&c| (c.as_str().to_string(), self.errors[c as usize]))
            .collect()
    }
}

/// One row on its way round: the reader fills `raw`, the checkers `plan.row`, the planner
/// the rest of `plan`; then the batch goes back to the reader, buffers and all.
#[derive(Default)]
struct Row {
    raw: RawRow,
    plan: PlannedRow,
}

/// Runs the import. `Err` is a run error (exit 2): nothing was written.
pub fn run(job: ImportJob) -> Result<(Summary, ImportEnd)> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let run_id = new_run_id();
    // Every log line of the run carries its id (a field of JSON log lines).
    let span = tracing::info_span!("import", run_id = %run_id);
    let _entered = span.enter();
    job.destination.check(&job.input)?;
    let input = Input::open_with(&job.input, &job.read, false)?;
    info!(
        file = %job.input.display(),
        encoding = input.encoding.name(),
        delimiter = %(input.delimiter as char).escape_default(),
        columns = input.width(),
        dry_run = job.dry_run,
        "import started"
    );
    let access = if job.dry_run {
        Access::Read
    } else {
        Access::Write
    };
    // A first import that fails leaves the directory file it created, with no tables:
    // removing it is not safe, as a second import may have opened it meanwhile. Every
    // command reads such a file as an empty directory.
    let mut directory = Directory::open(&job.directory, access, job.lock_timeout)?;
    if let Some(d) = directory.as_mut() {
        d.begin(&job.directory, job.lock_timeout)?;
    }
    let run = Run {
        job: &job,
        run_id,
        started_at,
        started,
    };
    let mut outcome = run.import(input, directory.as_mut());
    if let Ok(None) = outcome {
        // Invalid UTF-8 further on in a file without BOM: nothing was kept of the
        // first read; read the whole file again as Windows-1252.
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

/// One import run's fixed facts.
struct Run<'a> {
    job: &'a ImportJob,
    run_id: String,
    started_at: String,
    started: Instant,
}

/// A batch on its way through the stages, or the run error that ends it.
type Batch<T> = Result<Vec<T>>;

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
        // Look-ups of existing users go through a connection of their own, so that the
        // writing connection can work in its own thread. The write lock that the
        // import holds keeps what this connection sees from changing.
        let lookup_connection = match (has_users, job.dry_run) {
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
        let (lookup, writer_directory): (Option<&Directory>, Option<&mut Directory>) =
            if job.dry_run {
                (directory.as_deref().filter(|_| has_users), None)
            } else {
                (lookup_connection.as_ref(), directory.as_deref_mut())
            };

        let columns = input.columns.clone();
        let input_hash = input.hash();
        let input_encoding = input.encoding;
        let encoding = input.encoding.name();
        let rules = Rules::new(tenant, &columns, job.allow_global_admin);
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
        let writer = ResultWriter::create(
            &job.destination,
            input.delimiter,
            input.encoding.result_wants_bom(),
        )?;
        let staged_path = writer.staged_path().to_path_buf();
        job.progress.set_length(file_len);
        // A first import (no users yet) is bound by the directory writer: the other
        // stages, on one thread beside it, keep up, and more threads only take CPU from
        // it. So is a small file (the threads would not get going). A large file into a
        // directory with users needs a look-up a row: threaded. Measured on 2 cores: 1M
        // rows into an empty directory 2.92 s threaded, 2.65 s beside the writer; 10k new
        // rows into 1M users 0.068 s and 0.061 s; a re-run of 1M existing users 3.85 s
        // threaded, 5.2 s beside the writer.
        let mode = if job.jobs <= 1 {
            Mode::OneThread
        } else if writer_directory.is_some() && (!has_users || file_len < SMALL_INPUT) {
            Mode::BesideStore
        } else {
            Mode::Threaded
        };
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
        let (writer, tally) = match mode {
            Mode::OneThread => self.import_one_thread(stages)?,
            Mode::BesideStore => self.import_beside_store(stages)?,
            Mode::Threaded => self.import_threaded(stages)?,
        };
        job.progress.finish_and_clear();
        debug!(
            seconds = self.started.elapsed().as_secs_f64(),
            "all rows written"
        );
        if input_encoding == InputEncoding::Utf8 && rules.saw_invalid_utf8() {
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
            &assigned,
            input_sha256,
            encoding,
        )
        .map(Some)
    }

    /// `-j N` with N >= 2: a thread for each stage and N rayon workers, batches handed on
    /// through bounded channels and back to the reader.
    fn import_threaded(&self, stages: Stages) -> Result<(ResultWriter, Tally)> {
        let Stages {
            input,
            writer,
            rules,
            planner,
            lookup,
            store: writer_directory,
            columns,
        } = stages;
        let job = self.job;
        let tenant = &job.tenant;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(job.jobs)
            .thread_name(|i| format!("onboard-check-{i}"))
            .build()
            .context("cannot start worker threads")?;

        let (raw_tx, raw_rx) = mpsc::sync_channel::<Batch<Row>>(1);
        let (checked_tx, checked_rx) = mpsc::sync_channel::<Batch<Row>>(1);
        let (planned_tx, planned_rx) = mpsc::sync_channel::<Vec<Row>>(1);
        let (db_tx, db_rx) = mpsc::sync_channel::<Vec<Row>>(1);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<Row>>();
        std::thread::scope(|scope| -> Result<(ResultWriter, Tally)> {
            named("onboard-read")
                .spawn_scoped(scope, move || read_batches(input, raw_tx, recycle_rx))?;
            let rules = &rules;
            let pool = &pool;
            named("onboard-batch").spawn_scoped(scope, move || {
                for mut batch in raw_rx {
                    if let Ok(batch) = &mut batch {
                        pool.install(|| {
                            batch
                                .par_iter_mut()
                                .with_min_len(128)
                                .for_each(|r| rules.check_into(&mut r.raw, &mut r.plan.row))
                        });
                    }
                    if checked_tx.send(batch).is_err() {
                        return;
                    }
                }
            })?;
            let columns = &columns;
            let db_recycle = recycle_tx.clone();
            let db_thread = writer_directory.map(|d| {
                named("onboard-store").spawn_scoped(scope, move || {
                    store_batches(d, tenant, columns, db_rx, db_recycle)
                })
            });
            let db_thread = db_thread.transpose()?;
            let db_tx = db_thread.is_some().then_some(db_tx);
            let span = tracing::Span::current(); // the run id, on this thread's logs too
            let finisher = named("onboard-write").spawn_scoped(scope, move || {
                let _entered = span.enter();
                self.finish_batches(writer, planned_rx, db_tx, recycle_tx, columns)
            })?;

            let mut planned = Ok(());
            for checked in checked_rx {
                let mut batch = checked?;
                plan_batch(planner, &mut batch, lookup)?;
                if planned_tx.send(batch).is_err() {
                    // The writing stopped on an error; its join below says which.
                    planned = Err(());
                    break;
                }
            }
            drop(planned_tx);
            let finished = finisher
                .join()
                .map_err(|_| anyhow::anyhow!("the result writer thread failed"))?;
            if let Some(handle) = db_thread {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("the directory writer thread failed"))??;
            }
            let finished = finished?;
            if planned.is_err() {
                anyhow::bail!("the result writer stopped");
            }
            Ok(finished)
        })
    }

    /// The result-writing thread: gives created users their passwords, writes the result
    /// rows in file order, counts, and hands each batch on to the directory writer (or
    /// back to the reader). Formatting here rather than in the rayon workers measured
    /// about 3% faster on 2 cores: the rows stay on one core.
    fn finish_batches(
        &self,
        mut writer: ResultWriter,
        planned: mpsc::Receiver<Vec<Row>>,
        db: Option<mpsc::SyncSender<Vec<Row>>>,
        recycle: mpsc::Sender<Vec<Row>>,
        columns: &Columns,
    ) -> Result<(ResultWriter, Tally)> {
        let job = self.job;
        let mut tally = Tally::new(job.tenant.licenses.len());
        for mut batch in planned {
            write_results(&mut batch, &mut writer, job, columns)?;
            self.count_batch(&mut tally, &batch);
            match &db {
                Some(db) => {
                    if db.send(batch).is_err() {
                        anyhow::bail!("the directory writer stopped");
                    }
                }
                None => {
                    let _ = recycle.send(batch);
                }
            }
        }
        Ok((writer, tally))
    }

    /// Counts a written batch and moves the progress bar on.
    fn count_batch(&self, tally: &mut Tally, batch: &[Row]) {
        let job = self.job;
        for r in batch {
            tally.add(&r.plan);
        }
        let file_len = job.progress.length().unwrap_or(0);
        let position = batch.last().map_or(0, |r| r.plan.row.position);
        job.progress.set_position(position.min(file_len));
        if !job.progress.is_hidden() {
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            job.progress.set_message(format!(
                "{} rows, {:.0} rows/s",
                tally.rows,
                tally.rows as f64 / seconds
            ));
        }
        debug!(rows = tally.rows, "batch done");
    }

    /// `-j 1`: every stage in turn on this one thread, batch after batch.
    fn import_one_thread(&self, mut stages: Stages) -> Result<(ResultWriter, Tally)> {
        let mut tally = Tally::new(self.job.tenant.licenses.len());
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let more = self.one_batch(&mut stages, &mut batch, &mut tally)?;
            if let Some(d) = stages.store.as_deref() {
                store_batch(d, &self.job.tenant, stages.columns, &batch)?;
            }
            if !more {
                return Ok((stages.writer, tally));
            }
        }
    }

    /// Every stage but the directory's in turn on this thread; the directory writer on a
    /// thread of its own.
    fn import_beside_store(&self, mut stages: Stages) -> Result<(ResultWriter, Tally)> {
        let tenant = &self.job.tenant;
        let columns = stages.columns;
        let store = stages
            .store
            .take()
            .ok_or_else(|| anyhow::anyhow!("no directory to write"))?;
        let mut tally = Tally::new(tenant.licenses.len());
        let (db_tx, db_rx) = mpsc::sync_channel::<Vec<Row>>(1);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<Row>>();
        std::thread::scope(|scope| -> Result<()> {
            let db_thread = named("onboard-store").spawn_scoped(scope, move || {
                store_batches(store, tenant, columns, db_rx, recycle_tx)
            })?;
            // Three batches: one here, one waiting, one being written.
            let mut batches = Batches::new(recycle_rx, 3);
            let mut sent = Ok(());
            loop {
                let Some(mut batch) = batches.next() else {
                    break; // the directory writer stopped; its join says why
                };
                let more = self.one_batch(&mut stages, &mut batch, &mut tally)?;
                if db_tx.send(batch).is_err() {
                    sent = Err(());
                    break;
                }
                if !more {
                    break;
                }
            }
            drop(db_tx);
            db_thread
                .join()
                .map_err(|_| anyhow::anyhow!("the directory writer thread failed"))??;
            if sent.is_err() {
                anyhow::bail!("the directory writer stopped");
            }
            Ok(())
        })?;
        Ok((stages.writer, tally))
    }

    /// Reads, checks, decides, formats and writes one batch on this thread; `false` once
    /// the input has ended.
    fn one_batch(&self, s: &mut Stages, batch: &mut Vec<Row>, tally: &mut Tally) -> Result<bool> {
        let more = fill_batch(&mut s.input, batch)?;
        for r in batch.iter_mut() {
            s.rules.check_into(&mut r.raw, &mut r.plan.row);
        }
        plan_batch(s.planner, batch, s.lookup)?;
        write_results(batch, &mut s.writer, self.job, s.columns)?;
        self.count_batch(tally, batch);
        Ok(more)
    }

    /// Decides between commit and roll-back, puts the result file in place and sums up.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        directory: Option<&Directory>,
        writer: ResultWriter,
        staged_path: PathBuf,
        tally: Tally,
        assigned: &std::collections::HashMap<String, u64>,
        input_sha256: String,
        encoding: &str,
    ) -> Result<(Summary, ImportEnd)> {
        let job = self.job;
        let tenant = &job.tenant;
        let over_budget = job
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
                    })?;
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
            result_file = Some(staged.publish()?.display().to_string());
        }

        let seconds = self.started.elapsed().as_secs_f64();
        let seats = tenant
            .licenses
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let before = assigned.get(&l.sku).copied().unwrap_or(0);
                let after = if committed || job.dry_run {
                    before + tally.granted[i]
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
        };
        info!(rows = summary.rows, committed, "import finished");
        Ok((summary, end))
    }
}

/// A crash-test hook: with `ONBOARD_PAUSE_AT=<point>` in the environment, the run stops
/// at that point (`staged`: result file complete, not committed; `committed`: committed,
/// result file not renamed) so a test can kill it there. Does nothing otherwise.
fn pause_point(point: &str) {
    if std::env::var_os("ONBOARD_PAUSE_AT").is_some_and(|p| p == point) {
        eprintln!("onboard: paused at {point}");
        std::thread::sleep(Duration::from_secs(600));
    }
}

fn named(name: &str) -> std::thread::Builder {
    std::thread::Builder::new().name(name.to_string())
}

/// The reader thread: fills batches, refilling the rows of batches that come back so
/// their buffers are reused instead of allocated per row.
fn read_batches(
    mut input: Input,
    out: mpsc::SyncSender<Batch<Row>>,
    recycled: mpsc::Receiver<Vec<Row>>,
) {
    let mut batches = Batches::new(recycled, MAX_BATCHES);
    loop {
        let Some(mut batch) = batches.next() else {
            return; // the stages after the reader have stopped
        };
        let result = fill_batch(&mut input, &mut batch);
        match result {
            Ok(more) => {
                if !batch.is_empty() && out.send(Ok(batch)).is_err() {
                    return;
                }
                if !more {
                    return;
                }
            }
            Err(e) => {
                let _ = out.send(Err(e));
                return;
            }
        }
    }
}

/// Batches to fill: the ones that came back once written, or new ones until `max` exist,
/// so the rows' buffers are reused instead of grown anew and memory stays bounded.
struct Batches {
    recycled: mpsc::Receiver<Vec<Row>>,
    made: usize,
    max: usize,
}

impl Batches {
    fn new(recycled: mpsc::Receiver<Vec<Row>>, max: usize) -> Batches {
        Batches {
            recycled,
            made: 0,
            max,
        }
    }

    /// The next batch, waiting for one to come back if `max` exist; `None` when none can
    /// come back any more (the stages that send them back have stopped).
    fn next(&mut self) -> Option<Vec<Row>> {
        match self.recycled.try_recv() {
            Ok(batch) => Some(batch),
            Err(_) if self.made < self.max => {
                self.made += 1;
                Some(Vec::with_capacity(BATCH))
            }
            Err(_) => self.recycled.recv().ok(),
        }
    }
}

/// The directory thread: writes the users of each batch, then sends the batch back.
fn store_batches(
    d: &Directory,
    tenant: &Tenant,
    columns: &Columns,
    batches: mpsc::Receiver<Vec<Row>>,
    recycle: mpsc::Sender<Vec<Row>>,
) -> Result<()> {
    for batch in batches {
        store_batch(d, tenant, columns, &batch)?;
        let _ = recycle.send(batch);
    }
    Ok(())
}

/// Writes the created and updated users of `batch` to the directory.
fn store_batch(d: &Directory, tenant: &Tenant, columns: &Columns, batch: &[Row]) -> Result<()> {
    for r in batch {
        write_user(d, tenant, columns, &r.plan)?;
    }
    Ok(())
}

/// Fills `batch` with up to [`BATCH`] rows, refilling the rows it has; `false` when the
/// input has ended.
fn fill_batch(input: &mut Input, batch: &mut Vec<Row>) -> Result<bool> {
    let mut n = 0;
    let result = loop {
        if n == BATCH {
            break Ok(true);
        }
        if n == batch.len() {
            batch.push(Row::default());
        }
        match input.next_row(&mut batch[n].raw) {
            Ok(true) => n += 1,
            Ok(false) => break Ok(false),
            Err(e) => break Err(e),
        }
    };
    batch.truncate(n);
    result
}

/// Decides the rows of `batch` in order. Ahead of each row, the row this far on is
/// prefetched: a probe into the duplicate index is otherwise a cache miss a row.
fn plan_batch(planner: &mut Planner, batch: &mut [Row], lookup: Option<&Directory>) -> Result<()> {
    const AHEAD: usize = 8;
    for r in batch.iter().take(AHEAD) {
        planner.prefetch(&r.plan.row);
    }
    for i in 0..batch.len() {
        if let Some(r) = batch.get(i + AHEAD) {
            planner.prefetch(&r.plan.row);
        }
        planner.plan_in_place(&mut batch[i].plan, lookup)?;
    }
    Ok(())
}

/// Gives the created users among `rows` their passwords (in a real run) and writes the
/// rows' results.
fn write_results(
    rows: &mut [Row],
    writer: &mut ResultWriter,
    job: &ImportJob,
    columns: &Columns,
) -> Result<()> {
    let tenant = &job.tenant;
    let mut scratch = Scratch::default();
    for r in rows {
        if !job.dry_run {
            give_password(&mut r.plan, columns, tenant.password_length);
        }
        write_result(writer, tenant, columns, &r.plan, &mut scratch)?;
    }
    Ok(())
}

/// Gives a created user its password: the row's own, or a generated one.
fn give_password(p: &mut PlannedRow, columns: &Columns, len: usize) {
    if p.status != Some(Status::Created) {
        return;
    }
    let given = p.row.cell(columns, Field::Password);
    p.password = Some(if given.is_empty() {
        password::generate(len)
    } else {
        given.to_string()
    });
}

/// Writes a created or updated user; other rows leave the directory alone.
fn write_user(d: &Directory, tenant: &Tenant, columns: &Columns, p: &PlannedRow) -> Result<()> {
    let status = p.status();
    if status != Status::Created && status != Status::Updated {
        return Ok(());
    }
    let row = &p.row;
    let mut profile = [""; 16];
    for (i, &f) in PROFILE_FIELDS.iter().enumerate() {
        profile[i] = row.cell(columns, f);
        if let (true, Some(user)) = (profile[i].is_empty(), &p.existing) {
            profile[i] = &user.profile[i]; // on update, an empty cell keeps the stored value
        }
    }
    let usage_location =
        if status == Status::Updated && row.cell(columns, Field::UsageLocation).is_empty() {
            p.existing
                .as_ref()
                .and_then(|u| u.usage_location.as_deref())
                .or(row.usage_location)
        } else {
            row.usage_location
        };
    let write = UserWrite {
        user_name: &row.user_name,
        key: &row.key,
        profile,
        usage_location,
        block_sign_in: row
            .block_sign_in
            .or(p.existing.as_ref().map(|u| u.block_sign_in))
            .unwrap_or(false),
        force_password_change: tenant.force_change,
        licenses: p
            .new_licenses
            .iter()
            .map(|&i| tenant.licenses[i as usize].sku.as_str())
            .collect(),
        disabled_apps: row
            .disabled_apps
            .iter()
            .map(|&(l, a)| {
                let license = &tenant.licenses[l as usize];
                (license.sku.as_str(), license.apps[a as usize].as_str())
            })
            .collect(),
        roles: &row.roles,
    };
    match &p.existing {
        Some(user) => d.update(user.id, &write),
        None => d.insert(&write),
    }
    .with_context(|| format!("cannot write user of line {} to the directory", row.line))
}

/// Buffers for the joined cells of result rows, reused from row to row.
#[derive(Default)]
struct Scratch {
    licenses: String,
    warnings: String,
    errors: String,
}

fn write_result(
    out: &mut ResultWriter,
    tenant: &Tenant,
    columns: &Columns,
    p: &PlannedRow,
    scratch: &mut Scratch,
) -> Result<()> {
    use std::fmt::Write as _;
    let Scratch {
        licenses,
        warnings,
        errors,
    } = scratch;
    licenses.clear();
    for (i, &l) in p.licenses.iter().enumerate() {
        if i > 0 {
            licenses.push('+');
        }
        licenses.push_str(&tenant.licenses[l as usize].sku);
    }
    warnings.clear();
    for (i, w) in p.warnings.iter().enumerate() {
        if i > 0 {
            warnings.push_str(" | ");
        }
        warnings.push_str(w);
    }
    errors.clear();
    for (i, e) in p.row.errors.iter().enumerate() {
        if i > 0 {
            errors.push_str(" | ");
        }
        let _ = write!(errors, "{e}");
    }
    out.write([
        itoa::Buffer::new().format(p.row.line),
        &p.row.user_name,
        p.row.cell(columns, Field::DisplayName),
        p.status().as_str(),
        p.password.as_deref().unwrap_or(""),
        licenses,
        warnings,
        errors,
    ])
}

/// Finds result files that a committed run staged but never renamed (it was stopped
/// between commit and rename): renames them into place, or names them. Also names staged
/// files of runs that never committed: they hold no password of any user.
fn recover_staged_results(d: &Directory, destination: &Destination) -> Result<()> {
    let runs = d.runs(100)?;
    for run in &runs {
        let staged = Path::new(&run.staged_file);
        if run.staged_file.is_empty() || !staged.exists() {
            continue;
        }
        let result = Path::new(&run.result_file);
        if !result.exists() {
            std::fs::rename(staged, result).with_context(|| {
                format!("cannot move left-over result file {}", staged.display())
            })?;
            warn!(
                run_id = %run.run_id,
                file = %result.display(),
                "an earlier import was stopped after it committed; its result file (with the passwords of its users) is now in place"
            );
        } else {
            warn!(
                run_id = %run.run_id,
                file = %staged.display(),
                "an earlier import was stopped after it committed; the passwords of its users are in this left-over file"
            );
        }
    }
    for orphan in destination.staged_files()? {
        if !runs.iter().any(|r| Path::new(&r.staged_file) == orphan) {
            warn!(
                file = %orphan.display(),
                "left over from an import that was stopped before it committed; it holds no password of any user in the directory and can be deleted"
            );
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn new_run_id() -> String {
    use rand::Rng;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{now:x}-{:08x}", rand::rng().random::<u32>())
}
