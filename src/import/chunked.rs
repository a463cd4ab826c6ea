//! The threaded import of a CSV file: every worker takes a chunk of whole records and keeps
//! it on its core from the bytes to the result rows. In turn, in file order, it reads the
//! chunk; then it parses and checks the chunk's rows; in turn it plans them; it formats
//! their result rows; and in turn it writes those and hands the rows to the directory
//! writer. Only reading, planning and writing wait for the chunk before; each is a small
//! part of a row's cost, so with two workers one plans while the other checks.
//!
//! The stage-per-thread pipeline of [`super::stages`] handed every batch from core to
//! core four times. On 2 cores its dry run of 1M rows took 1 s more CPU than the same
//! work on one thread, and was barely faster than it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::Instant;

use anyhow::{anyhow, Result};
use tracing::debug;

use crate::import::stages::{finish_row, named, plan_batch, store_batches, Row, Stages};
use crate::import::Run;
use crate::plan::Planner;
use crate::read::{Chunk, Chunks};
use crate::snapshot::{Snapshot, StateSpec};
use crate::store::Directory;
use crate::write::result::{ResultWriter, RowFormatter};
use crate::write::summary::Tally;

/// A chunk and its rows, from its reading until the directory writer has them.
#[derive(Default)]
struct Work {
    chunk: Chunk,
    rows: Vec<Row>,
}

impl std::borrow::Borrow<[Row]> for Work {
    fn borrow(&self) -> &[Row] {
        &self.rows
    }
}

/// Something the workers use one at a time, in the order of the chunks' numbers.
struct Turns<T> {
    state: Mutex<TurnState<T>>,
    turned: Condvar,
    /// Nanoseconds spent in turns and waiting for them, for `-vv`.
    busy: AtomicU64,
    waited: AtomicU64,
}

struct TurnState<T> {
    /// The number of the chunk whose turn it is.
    next: u64,
    stopped: bool,
    value: T,
}

impl<T> Turns<T> {
    fn new(value: T) -> Turns<T> {
        Turns {
            state: Mutex::new(TurnState {
                next: 0,
                stopped: false,
                value,
            }),
            turned: Condvar::new(),
            busy: AtomicU64::new(0),
            waited: AtomicU64::new(0),
        }
    }

    /// Seconds in turns and waiting for them.
    fn seconds(&self) -> (f64, f64) {
        (seconds(&self.busy), seconds(&self.waited))
    }

    /// Waits for chunk `seq`'s turn and runs `f` in it; `None` once the workers stop.
    fn run<R>(&self, seq: u64, f: impl FnOnce(&mut T) -> Result<R>) -> Result<Option<R>> {
        let arrived = Instant::now();
        let mut state = self.state.lock().map_err(|_| anyhow!("a worker failed"))?;
        while state.next != seq && !state.stopped {
            state = self
                .turned
                .wait(state)
                .map_err(|_| anyhow!("a worker failed"))?;
        }
        if state.stopped {
            return Ok(None);
        }
        let started = add_since(&self.waited, arrived);
        let result = f(&mut state.value);
        add_since(&self.busy, started);
        state.next += 1;
        drop(state);
        self.turned.notify_all();
        result.map(Some)
    }

    fn stop(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.stopped = true;
        }
        self.turned.notify_all();
    }

    fn into_value(self) -> Result<T> {
        self.state
            .into_inner()
            .map(|s| s.value)
            .map_err(|_| anyhow!("a worker failed"))
    }
}

/// The reading: the chunks and the next chunk's number.
struct Reading {
    chunks: Chunks,
    next: u64,
    done: bool,
}

/// The planning: the planner and the connection it looks users up through.
struct Planning<'x, 'a> {
    planner: &'x mut Planner<'a>,
    lookup: Option<&'x mut Directory>,
}

/// The writing: the result file, the counts and the way to the directory writer.
struct Writing {
    writer: ResultWriter,
    tally: Tally,
    store: Option<mpsc::SyncSender<Work>>,
}

/// What the workers share.
struct Shared<'x, 'a> {
    reading: Mutex<Reading>,
    /// Nanoseconds spent reading and waiting to read, for `-vv`.
    read_busy: AtomicU64,
    read_waited: AtomicU64,
    planning: Turns<Planning<'x, 'a>>,
    writing: Turns<Writing>,
    /// Chunks the directory writer is done with.
    back: Mutex<mpsc::Receiver<Work>>,
    /// The first error of any worker.
    failed: Mutex<Option<anyhow::Error>>,
}

impl Shared<'_, '_> {
    fn stop(&self) {
        if let Ok(mut reading) = self.reading.lock() {
            reading.done = true;
        }
        self.planning.stop();
        self.writing.stop();
    }

    fn fail(&self, e: anyhow::Error) {
        if let Ok(mut failed) = self.failed.lock() {
            failed.get_or_insert(e);
        }
        self.stop();
    }

    /// A chunk to fill: the one the worker has, or one the directory writer is done with,
    /// or a new one. Never waits: a worker that waited here for a chunk to come back could
    /// wait for ever once the others have stopped with theirs. The number of chunks stays
    /// bounded all the same: each worker holds one at a time and the directory writer two
    /// (one in hand, one in its channel), so a new one is made only while all of those
    /// are in use, or at the end, when the stopped workers' chunks are gone.
    fn spare(&self, held: Option<Work>) -> Work {
        if let Some(work) = held {
            return work;
        }
        self.back
            .lock()
            .ok()
            .and_then(|back| back.try_recv().ok())
            .unwrap_or_default()
    }
}

impl Run<'_> {
    /// `-j N` with N >= 2 on a CSV file: N workers, each taking a chunk all the way, and the
    /// directory writer on a thread of its own.
    pub(super) fn import_chunked(
        &self,
        stages: Stages<'_, '_, ()>,
        chunks: Chunks,
    ) -> Result<(ResultWriter, Tally)> {
        let Stages {
            input: (),
            writer,
            rules,
            planner,
            lookup,
            store,
            columns,
        } = stages;
        let job = self.job;
        let tenant = &job.tenant;
        let parser = chunks.parser();
        let known = planner.snapshot.clone();
        debug!(workers = job.jobs, "chunks of records to the workers");
        let (store_tx, store_rx) = mpsc::sync_channel::<Work>(1);
        let (back_tx, back_rx) = mpsc::channel::<Work>();
        let shared = Shared {
            reading: Mutex::new(Reading {
                chunks,
                next: 0,
                done: false,
            }),
            read_busy: AtomicU64::new(0),
            read_waited: AtomicU64::new(0),
            planning: Turns::new(Planning { planner, lookup }),
            writing: Turns::new(Writing {
                writer,
                tally: Tally::new(tenant.licenses.len()),
                store: store.is_some().then_some(store_tx),
            }),
            back: Mutex::new(back_rx),
            failed: Mutex::new(None),
        };
        std::thread::scope(|scope| -> Result<()> {
            let store_thread = store
                .map(|d| {
                    named("onboard-store").spawn_scoped(scope, move || {
                        store_batches(d, tenant, columns, store_rx, back_tx)
                    })
                })
                .transpose()?;
            let shared = &shared;
            let parser = &parser;
            let known = known.as_deref();
            let mut workers = Vec::with_capacity(job.jobs);
            for i in 0..job.jobs {
                let span = tracing::Span::current(); // the run id, on this thread's logs too
                workers.push(named(&format!("onboard-work-{i}")).spawn_scoped(
                    scope,
                    move || {
                        let _entered = span.enter();
                        if let Err(e) = self.work(shared, parser, rules, columns, known) {
                            shared.fail(e);
                        }
                    },
                )?);
            }
            for worker in workers {
                if worker.join().is_err() {
                    shared.fail(anyhow!("a worker thread failed"));
                }
            }
            // The directory writer ends once its channel is closed.
            if let Ok(mut writing) = shared.writing.state.lock() {
                writing.value.store = None;
            }
            if let Some(handle) = store_thread {
                handle
                    .join()
                    .map_err(|_| anyhow!("the directory writer thread failed"))??;
            }
            Ok(())
        })?;
        let (planning, waiting_to_plan) = shared.planning.seconds();
        let (writing, waiting_to_write) = shared.writing.seconds();
        debug!(
            reading = seconds(&shared.read_busy),
            waiting_to_read = seconds(&shared.read_waited),
            planning,
            waiting_to_plan,
            writing,
            waiting_to_write,
            "seconds in turns"
        );
        if let Some(e) = shared.failed.into_inner().ok().flatten() {
            return Err(e);
        }
        let writing = shared.writing.into_value()?;
        Ok((writing.writer, writing.tally))
    }

    /// One worker: chunk after chunk, until the input ends or the workers stop.
    fn work(
        &self,
        shared: &Shared,
        parser: &crate::read::RecordParser,
        rules: &crate::check::Rules,
        columns: &crate::row::Columns,
        known: Option<&(Snapshot, StateSpec)>,
    ) -> Result<()> {
        let job = self.job;
        let tenant = &job.tenant;
        let mut formatter = RowFormatter::new(parser.delimiter());
        let mut held = None;
        loop {
            let mut work = shared.spare(held.take());
            let seq = {
                let arrived = Instant::now();
                let mut reading = shared
                    .reading
                    .lock()
                    .map_err(|_| anyhow!("a worker failed"))?;
                let started = add_since(&shared.read_waited, arrived);
                if reading.done {
                    return Ok(());
                }
                crate::interrupt::check()?;
                let more = reading.chunks.next(&mut work.chunk)?;
                add_since(&shared.read_busy, started);
                if !more {
                    reading.done = true;
                    return Ok(());
                }
                let seq = reading.next;
                reading.next += 1;
                if !reading.chunks.ended() {
                    crate::interrupt::pause_point("reading");
                }
                seq
            };
            let utf8 = parser.parse(&work.chunk, &mut work.rows, |r: &mut Row| {
                r.let_go_of_long_buffers();
                &mut r.raw
            })?;
            for r in &mut work.rows {
                rules.check_into(&mut r.raw, &mut r.plan.row);
            }
            if let Some((snapshot, spec)) = known {
                judge_against(snapshot, spec, &mut work.rows, columns, tenant);
            }
            let planned = shared.planning.run(seq, |p| {
                plan_batch(p.planner, &mut work.rows, p.lookup.as_deref())
            })?;
            if planned.is_none() {
                return Ok(());
            }
            if !utf8 {
                // The file is read again as Windows-1252: nothing of this reading counts.
                shared.stop();
                return Ok(());
            }
            formatter.clear();
            for r in &mut work.rows {
                finish_row(&mut r.plan, job, columns);
                formatter.format(tenant, columns, &r.plan)?;
            }
            let rows = formatter.rows()?;
            let written = shared.writing.run(seq, |w| {
                w.writer.write_formatted(rows)?;
                self.count_batch(&mut w.tally, &work.rows);
                match &w.store {
                    Some(store) => store
                        .send(work)
                        .map(|()| None)
                        .map_err(|_| anyhow!("the directory writer stopped")),
                    None => Ok(Some(work)),
                }
            })?;
            match written {
                None => return Ok(()),
                Some(kept) => held = kept,
            }
        }
    }
}

/// Judges each of `rows` against the directory's snapshot ([`Snapshot::holds`]), fetching
/// the snapshot's entries a few rows ahead: each look-up is otherwise two cache misses into
/// tens of megabytes.
fn judge_against(
    snapshot: &Snapshot,
    spec: &StateSpec,
    rows: &mut [Row],
    columns: &crate::row::Columns,
    tenant: &crate::tenant::Tenant,
) {
    const AHEAD: usize = 8;
    let digest = |rows: &[Row], i: usize| rows.get(i).and_then(|r| r.plan.row.employee_digest);
    for i in 0..rows.len() {
        if let Some(d) = digest(rows, i + 2 * AHEAD) {
            snapshot.prefetch_bucket(d);
        }
        if let Some(d) = digest(rows, i + AHEAD) {
            snapshot.prefetch_entries(d);
        }
        let row = &mut rows[i].plan.row;
        row.as_stored = Some(snapshot.holds(spec, row, columns, tenant));
    }
}

/// Adds the nanoseconds since `since` to `counter`; the time now.
fn add_since(counter: &AtomicU64, since: Instant) -> Instant {
    let now = Instant::now();
    counter.fetch_add(
        now.duration_since(since).as_nanos() as u64,
        Ordering::Relaxed,
    );
    now
}

/// The seconds `counter` holds in nanoseconds.
fn seconds(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64 / 1e9
}
