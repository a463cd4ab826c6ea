//! The stages of an import on their threads. A CSV file with `-j N` (N >= 2) goes to N
//! workers that each take a chunk of records all the way ([`super::chunked`]). A workbook,
//! or a file whose User Names a `--columns` mapping builds in file order, goes through a
//! thread per stage: the reader, the rayon workers that check rows, the in-order planner,
//! the result writer and the directory writer, joined by bounded channels. Batches go
//! round and back to the reader with their buffers, at most [`MAX_BATCHES`] of them, so
//! memory is bounded by those plus the duplicate index. With `-j 1` the same stages run
//! in turn on one thread; an import into an empty directory, or of a small file, runs
//! them in turn beside the directory thread ([`Mode::choose`]).

use std::sync::mpsc;

use anyhow::{Context, Result};
use rayon::prelude::*;
use tracing::debug;

use crate::check::Rules;
use crate::import::{ImportJob, Run};
use crate::password;
use crate::plan::{PlannedRow, Planner};
use crate::read::Input;
use crate::row::{Columns, Field, RawRow, Status};
use crate::store::Directory;
use crate::tenant::Tenant;
use crate::write::result::ResultWriter;
use crate::write::summary::Tally;

/// What the stages of an import work with, handed to the way they are run.
pub(super) struct Stages<'x, 'a, I = Input> {
    pub(super) input: I,
    pub(super) writer: ResultWriter,
    pub(super) rules: &'x Rules<'a>,
    pub(super) planner: &'x mut Planner<'a>,
    /// The connection that looks up existing users (a dry run's only one).
    pub(super) lookup: Option<&'x mut Directory>,
    /// The connection that writes the directory (none in a dry run).
    pub(super) store: Option<&'x mut Directory>,
    pub(super) columns: &'x Columns,
}

/// How the stages of an import are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `-j 1`: all in turn on one thread.
    OneThread,
    /// All but the directory's in turn on one thread, the directory writer on another.
    BesideStore,
    /// `-j` workers that each take a chunk of a CSV file all the way; for other inputs a
    /// thread for each stage and `-j` workers that check rows.
    Threaded,
}

impl Mode {
    /// The way to run an import with `jobs` threads. A first import (no users yet) is
    /// bound by the directory writer: the other stages, on one thread beside it, keep
    /// up, and more threads only take CPU from it. So is a small file (the threads would
    /// not get going). A large file into a directory with users needs a look-up a row:
    /// threaded. Measured on 2 cores: 1M rows into an empty directory 2.92 s threaded,
    /// 2.65 s beside the writer; 10k new rows into 1M users 0.068 s and 0.061 s; a re-run
    /// of 1M existing users 3.85 s threaded, 5.2 s beside the writer.
    pub(super) fn choose(jobs: usize, writes: bool, has_users: bool, file_len: u64) -> Mode {
        if jobs <= 1 {
            Mode::OneThread
        } else if writes && (!has_users || file_len < SMALL_INPUT) {
            Mode::BesideStore
        } else {
            Mode::Threaded
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Mode::OneThread => "one thread",
            Mode::BesideStore => "one thread beside the directory writer",
            Mode::Threaded => {
                "threaded: a CSV file in chunks to workers, other inputs a thread per stage"
            }
        }
    }
}

/// Rows read and checked together. On 2 cores a dry run of 1M rows took 1.08 s with
/// batches of 1,024 rows, 1.14 s with 2,048, 1.27 s with 4,096 and 1.12 s with 512: the
/// rows in flight should fit in the caches.
const BATCH: usize = 1024;

/// An input smaller than this (about 40,000 rows) is imported beside the directory writer
/// on one thread even into a directory with users: see [`Mode::choose`].
const SMALL_INPUT: u64 = 8 << 20;

/// Batches in the pipeline at most: about one for each of its five stages and the
/// channels between them; more only take memory and cache.
const MAX_BATCHES: usize = 8;

/// One row on its way round: the reader fills `raw`, the checkers `plan.row`, the planner
/// the rest of `plan`; then the batch goes back to the reader, buffers and all.
#[derive(Default)]
pub(super) struct Row {
    pub(super) raw: RawRow,
    pub(super) plan: PlannedRow,
}

/// The most bytes of records a batch holds. A batch of [`BATCH`] rows of a few hundred
/// bytes is far below it; rows near the longest a record may be (a megabyte) end their
/// batch early, so that the batches in flight stay within a few tens of megabytes.
const BATCH_BYTES: usize = 4 << 20;

/// A row's buffers that grew past this for one long record are let go before the row is
/// read again, so that a few long records do not leave every batch's rows holding a
/// megabyte each.
const ROW_BUFFER: usize = 64 << 10;

impl Row {
    pub(super) fn let_go_of_long_buffers(&mut self) {
        if self.raw.record.as_slice().len() > ROW_BUFFER {
            self.raw.record = csv::ByteRecord::new();
        }
        self.plan.row.record.let_go_past(ROW_BUFFER);
    }
}

/// A batch on its way through the stages, or the run error that ends it.
type Batch<T> = Result<Vec<T>>;

impl Run<'_> {
    /// Runs the stages the way `mode` says; the result file is staged, not yet in place.
    pub(super) fn run_stages(&self, mode: Mode, stages: Stages) -> Result<(ResultWriter, Tally)> {
        match mode {
            Mode::OneThread => self.import_one_thread(stages),
            Mode::BesideStore => self.import_beside_store(stages),
            Mode::Threaded => match stages.input.into_chunks() {
                Ok(chunks) => {
                    let stages = Stages {
                        input: (),
                        writer: stages.writer,
                        rules: stages.rules,
                        planner: stages.planner,
                        lookup: stages.lookup,
                        store: stages.store,
                        columns: stages.columns,
                    };
                    self.import_chunked(stages, chunks)
                }
                Err(input) => self.import_threaded(Stages {
                    input: *input,
                    ..stages
                }),
            },
        }
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
                plan_batch(planner, &mut batch, lookup.as_deref())?;
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
    pub(super) fn count_batch(&self, tally: &mut Tally, batch: &[Row]) {
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
        plan_batch(s.planner, batch, s.lookup.as_deref())?;
        write_results(batch, &mut s.writer, self.job, s.columns)?;
        self.count_batch(tally, batch);
        Ok(more)
    }
}

pub(super) fn named(name: &str) -> std::thread::Builder {
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
pub(super) fn store_batches<B: std::borrow::Borrow<[Row]>>(
    d: &Directory,
    tenant: &Tenant,
    columns: &Columns,
    batches: mpsc::Receiver<B>,
    recycle: mpsc::Sender<B>,
) -> Result<()> {
    for batch in batches {
        store_batch(d, tenant, columns, batch.borrow())?;
        let _ = recycle.send(batch);
    }
    Ok(())
}

/// Writes the created and updated users of `batch` to the directory.
fn store_batch(d: &Directory, tenant: &Tenant, columns: &Columns, batch: &[Row]) -> Result<()> {
    for r in batch {
        let p = &r.plan;
        if let (Some(Status::Offboarded), Some(user)) = (p.status, &p.existing) {
            d.offboard(user)
                .with_context(|| format!("cannot offboard the user of line {}", p.row.line))?;
            continue;
        }
        let Some(write) = p.user_write(tenant, columns) else {
            continue;
        };
        match &p.existing {
            Some(user) => d.update(user, &write),
            None => d.insert(&write),
        }
        .with_context(|| format!("cannot write user of line {} to the directory", p.row.line))?;
    }
    Ok(())
}

/// Fills `batch` with up to [`BATCH`] rows, refilling the rows it has; `false` when the
/// input has ended.
fn fill_batch(input: &mut Input, batch: &mut Vec<Row>) -> Result<bool> {
    crate::interrupt::check()?;
    let mut n = 0;
    let mut bytes = 0;
    let result = loop {
        if n == BATCH || bytes >= BATCH_BYTES {
            break Ok(true);
        }
        if n == batch.len() {
            batch.push(Row::default());
        }
        let row = &mut batch[n];
        row.let_go_of_long_buffers();
        match input.next_row(&mut row.raw) {
            Ok(true) => {
                bytes += row.raw.record.as_slice().len();
                n += 1;
            }
            Ok(false) => break Ok(false),
            Err(e) => break Err(e),
        }
    };
    batch.truncate(n);
    if matches!(result, Ok(true)) {
        crate::interrupt::pause_point("reading");
    }
    result
}

/// Decides the rows of `batch` in order. Ahead of each row, the row this far on is
/// prefetched: a probe into the duplicate index is otherwise a cache miss a row.
pub(super) fn plan_batch(
    planner: &mut Planner,
    batch: &mut [Row],
    lookup: Option<&Directory>,
) -> Result<()> {
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
    for r in rows {
        finish_row(&mut r.plan, job, columns);
        writer.write_row(&job.tenant, columns, &r.plan)?;
    }
    Ok(())
}

/// What a planned row gets before its result is written: a created user's password (in
/// a real run), and whether a credential mail goes to them.
pub(super) fn finish_row(p: &mut PlannedRow, job: &ImportJob, columns: &Columns) {
    if !job.dry_run {
        give_password(p, columns, job.tenant.password_length);
    }
    if job.mail.credentials && p.status == Some(Status::Created) {
        if p.row.cell(columns, Field::AlternateEmail).trim().is_empty() {
            p.warnings.push(
                "no_mail_address: no Alternate email address to mail the password to".to_string(),
            );
        } else {
            p.mail = true;
        }
    }
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
        password::Password::given(given)
    });
}
