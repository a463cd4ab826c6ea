//! The import history: one record per committed run, written in the run's transaction.

use anyhow::Result;
use rusqlite::params;

use crate::store::Directory;

/// One finished import, as recorded in the `runs` table.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub input_name: String,
    pub input_sha256: String,
    pub dry_run: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub failed: u64,
    pub result_file: String,
    pub staged_file: String,
    /// SHA-256 (hex) and size of the staged file when the run committed.
    pub staged_sha256: String,
    pub staged_size: u64,
    /// `import`, `offboard`, `restore` or `purge`.
    pub kind: String,
    pub offboarded: u64,
    pub restored: u64,
    pub purged: u64,
}

/// A run whose staged result file may still wait to be put in place.
#[derive(Debug, Clone)]
pub struct StagedRun {
    /// The run's row in `runs`.
    pub id: i64,
    pub run_id: String,
    pub result_file: String,
    pub staged_file: String,
    /// Empty for runs recorded before the fingerprint was: such a file is never renamed.
    pub staged_sha256: String,
    pub staged_size: u64,
}

impl Directory {
    /// Writes the run record; part of the import's transaction.
    pub fn record_run(&self, run: &RunRecord) -> Result<()> {
        self.flush()?;
        self.conn.execute(
            "INSERT INTO runs (id, run_id, started_at, finished_at, input_name, input_sha256, \
             dry_run, rows, created, updated, unchanged, skipped, failed, result_file, staged_file, \
             staged_sha256, staged_size, kind, offboarded, restored, purged) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19, ?20, ?21)",
            params![
                self.run_row,
                run.run_id,
                run.started_at,
                run.finished_at,
                run.input_name,
                run.input_sha256,
                run.dry_run,
                run.rows as i64,
                run.created as i64,
                run.updated as i64,
                run.unchanged as i64,
                run.skipped as i64,
                run.failed as i64,
                run.result_file,
                run.staged_file,
                run.staged_sha256,
                run.staged_size as i64,
                if run.kind.is_empty() { "import" } else { run.kind.as_str() },
                run.offboarded as i64,
                run.restored as i64,
                run.purged as i64,
            ],
        )?;
        Ok(())
    }

    /// This import's row in `runs`, known before its record is written.
    pub fn run_row(&self) -> i64 {
        self.run_row
    }

    /// The runs whose staged result file has not been put in place or given up yet.
    pub fn staged_runs(&self) -> Result<Vec<StagedRun>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, run_id, result_file, staged_file, staged_sha256, staged_size \
             FROM runs WHERE staged_file != '' ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StagedRun {
                id: r.get(0)?,
                run_id: r.get(1)?,
                result_file: r.get(2)?,
                staged_file: r.get(3)?,
                staged_sha256: r.get(4)?,
                staged_size: r.get::<_, i64>(5)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets where run `id` staged its result file: it is in place, or gone.
    pub fn forget_staged(&self, id: i64) -> Result<()> {
        self.conn
            .execute("UPDATE runs SET staged_file = '' WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        if !self.has_schema()? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT run_id, started_at, finished_at, input_name, input_sha256, dry_run, rows, \
             created, updated, unchanged, skipped, failed, result_file, staged_file, kind, \
             offboarded, restored, purged \
             FROM runs ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(RunRecord {
                run_id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                input_name: r.get(3)?,
                input_sha256: r.get(4)?,
                dry_run: r.get(5)?,
                rows: r.get::<_, i64>(6)? as u64,
                created: r.get::<_, i64>(7)? as u64,
                updated: r.get::<_, i64>(8)? as u64,
                unchanged: r.get::<_, i64>(9)? as u64,
                skipped: r.get::<_, i64>(10)? as u64,
                failed: r.get::<_, i64>(11)? as u64,
                result_file: r.get(12)?,
                staged_file: r.get(13)?,
                kind: r.get(14)?,
                offboarded: r.get::<_, i64>(15)? as u64,
                restored: r.get::<_, i64>(16)? as u64,
                purged: r.get::<_, i64>(17)? as u64,
                ..RunRecord::default()
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
