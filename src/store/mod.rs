//! The directory: users, their licences, disabled apps and roles, and the import history,
//! in one SQLite file (docs/directory.md).
//!
//! This file opens the directory and holds its transaction; [`schema`] has its tables,
//! [`users`] the users and seat counters, [`runs`] the import history.
//!
//! An import holds a write transaction (`BEGIN IMMEDIATE`) from the moment it reads the
//! seat counts until it commits, so a second import waits for it and can never serve
//! seats the first one took. Passwords are never stored here.
//!
//! Journal: WAL, so that readers (`users`, `seats`, `runs`, dry runs) read a snapshot
//! while an import writes. The one exception is an import into a directory with no users
//! yet (the first, bulk load): it writes through a rollback journal, as every page it
//! writes is new and a rollback journal then writes each page once, straight into the
//! file, where WAL writes it twice (log, then checkpoint). Readers wait for such an
//! import to commit (they would only see an empty directory), and the file goes back to
//! WAL right after the commit.

pub mod digests;
pub mod graph;
pub mod mail;
pub mod people;
pub mod runs;
pub mod schema;
pub mod users;

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags};
use tracing::info;

use crate::store::schema::{INDEXES_AND_TRIGGERS, NEW_PAGE_SIZE, SCHEMA, SCHEMA_VERSION, UPGRADES};
use crate::store::users::PendingLicenses;

pub use runs::{RunRecord, StagedRun};
pub use users::{StoredUser, UserWrite};

/// An open directory.
pub struct Directory {
    conn: Connection,
    /// Row id of this import's run record, known before it is written so users can refer to it.
    run_row: i64,
    writable: bool,
    /// The import writes through a rollback journal: see the module's documentation.
    bulk: bool,
    /// Licence rows not yet written: `(user id, index in skus)`; see [`Directory::flush`].
    pending_licenses: RefCell<PendingLicenses>,
    /// The users this run created, updated or offboarded, when asked to note them
    /// ([`Directory::note_written`]).
    written: RefCell<Option<Vec<i64>>>,
    /// When the transaction began (RFC 3339): the time of what it records.
    now: String,
}

/// Opening mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only; a missing file is an empty directory (nothing is created).
    Read,
    /// Create the file if needed and take the write lock for an import.
    Write,
}

impl Directory {
    /// Opens the directory at `path`. `Read` on a missing file returns `None`.
    pub fn open(path: &Path, access: Access, busy_timeout: Duration) -> Result<Option<Directory>> {
        let shown = path.display();
        if path.is_dir() {
            bail!("directory file {shown} is a folder");
        }
        // A file that is missing or empty (SQLite's own rule: 0 bytes is an empty
        // database, whatever journal files lie next to it) gets the bigger page size.
        let new_file = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let conn = match access {
            Access::Read => {
                if !path.exists() {
                    return Ok(None);
                }
                // A rollback journal left by a killed first import must be rolled back
                // before the file can be read, which a read-only connection cannot do.
                let mode = if journal_path(path).exists() {
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                } else {
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                };
                Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            }
            Access::Write => {
                create_private(path).with_context(|| format!("cannot create directory {shown}"))?;
                Connection::open(path)
            }
        }
        .with_context(|| format!("cannot open directory {shown}"))?;
        conn.busy_timeout(busy_timeout)?;
        // `rarray(?)`: a list of user ids as one parameter.
        rusqlite::vtab::array::load_module(&conn)?;
        let dir = Directory {
            conn,
            run_row: 0,
            writable: access == Access::Write,
            bulk: false,
            pending_licenses: RefCell::default(),
            written: RefCell::default(),
            now: String::new(),
        };
        if !new_file {
            // A newer onboard's file is refused before anything touches it.
            let version = dir.version()?;
            if version > SCHEMA_VERSION {
                bail!(
                    "{shown} was written by a newer onboard (schema {version}, this one knows {SCHEMA_VERSION}); use that version or a newer one"
                );
            }
        }
        if access == Access::Write {
            // EXTRA: FULL, and in rollback-journal mode also the folder is synced after
            // the journal is deleted, which is what makes such a commit durable.
            let mut setup = String::new();
            if new_file {
                setup.push_str(&format!("PRAGMA page_size = {NEW_PAGE_SIZE}; "));
            }
            setup.push_str("PRAGMA synchronous = EXTRA; PRAGMA foreign_keys = ON; ");
            // Statement journals (a write that fires triggers keeps the pages it changes,
            // to undo that one statement) in memory: SQLite decides where they go when a
            // transaction begins, and in a temporary file they were written to disk, 350
            // MB for a nightly sync of a million people. A bulk load sets it back to files
            // ([`Directory::begin`]).
            setup.push_str("PRAGMA temp_store = MEMORY; ");
            // The journal mode is settled in `begin`, under the write lock.
            if !new_file {
                setup.push_str("PRAGMA journal_mode = WAL;");
            }
            retry_busy(busy_timeout, || dir.conn.execute_batch(&setup))
                .map_err(|e| busy_or(e, path, busy_timeout))?;
            if !new_file && dir.has_schema()? && dir.version()? < SCHEMA_VERSION {
                dir.upgrade_alone(path, busy_timeout)?;
            }
        } else if !dir.has_schema()? {
            // A file that an interrupted first import left without tables: empty.
            return Ok(None);
        } else if dir.version()? != SCHEMA_VERSION {
            // Written by an older onboard (a newer one's file was refused above): opening
            // it for writing upgrades it in place, then it is opened as asked.
            drop(dir);
            let writer =
                Directory::open(path, Access::Write, busy_timeout)?.expect("a writable directory");
            drop(writer);
            return Directory::open(path, access, busy_timeout);
        }
        dir.conn.execute_batch("PRAGMA cache_size = -8192;")?;
        // Room for every statement a run repeats (look-ups, writes, offboarding), so none
        // is parsed again for each person.
        dir.conn.set_prepared_statement_cache_capacity(64);
        Ok(Some(dir))
    }

    /// Opens the directory for a run and starts its transaction: the write lock for a
    /// real run, a snapshot to read for a dry run (which neither creates the file nor
    /// writes it). A missing file in a dry run is `None`.
    pub fn open_run(
        path: &Path,
        dry_run: bool,
        busy_timeout: Duration,
    ) -> Result<Option<Directory>> {
        let access = if dry_run { Access::Read } else { Access::Write };
        let mut directory = Directory::open(path, access, busy_timeout)?;
        if let Some(d) = directory.as_mut() {
            d.begin(path, busy_timeout)?;
        }
        Ok(directory)
    }

    /// Starts the import's transaction: the write lock for a real run (waiting for
    /// another import up to the busy timeout), a consistent snapshot for a dry run.
    ///
    /// Also settles the journal: a rollback journal when the directory has no users, WAL
    /// otherwise. The mode can only change outside a transaction, so when the file is in
    /// the other mode the transaction is given up, the mode switched and the lock taken
    /// again; an import in the wrong mode never goes on. Switching to the rollback journal
    /// needs the file to itself: when a reader has it open, the import stays in WAL.
    pub fn begin(&mut self, path: &Path, busy_timeout: Duration) -> Result<()> {
        if !self.writable {
            self.conn.execute_batch("BEGIN")?;
            return Ok(());
        }
        let mut may_bulk = true;
        loop {
            self.begin_write(path, busy_timeout)?;
            let bulk = may_bulk && !self.has_users()?;
            let wal = self.journal_mode()? == "wal";
            if wal != bulk {
                self.bulk = bulk;
                if bulk {
                    // The sorts that build a bulk load's indexes spill to temporary files,
                    // not memory: hundreds of MB at a million users.
                    self.conn.execute_batch("PRAGMA temp_store = FILE")?;
                }
                if !bulk {
                    // Writes into a big directory touch random pages of its indexes
                    // (User Names, Object IDs): with the default cache SQLite spills
                    // dirty pages to the WAL before the commit and writes them again.
                    // A bulk load writes new pages in order and needs no more.
                    self.conn
                        .execute_batch(&format!("PRAGMA cache_size = -{WRITE_CACHE_KIB}"))?;
                }
                return Ok(());
            }
            self.conn.execute_batch("ROLLBACK")?;
            if bulk {
                // One try: busy means someone reads the file (or waits to write it).
                match self.conn.execute_batch("PRAGMA journal_mode = DELETE") {
                    Ok(()) if self.journal_mode()? == "delete" => {}
                    Ok(()) => may_bulk = false,
                    Err(e) if is_busy(&e) => may_bulk = false,
                    Err(e) => return Err(e.into()),
                }
            } else {
                retry_busy(busy_timeout, || {
                    self.conn.execute_batch("PRAGMA journal_mode = WAL")
                })
                .map_err(|e| busy_or(e, path, busy_timeout))?;
            }
        }
    }

    /// From now on, gives up at once where another import holds the lock, instead of
    /// waiting for it: for work after the commit that a later run can do as well.
    pub fn no_wait(&self) -> Result<()> {
        self.conn.busy_timeout(Duration::ZERO)?;
        Ok(())
    }

    fn journal_mode(&self) -> Result<String> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok(mode.to_ascii_lowercase())
    }

    /// Takes the write lock and brings the schema up to date.
    fn begin_write(&mut self, path: &Path, busy_timeout: Duration) -> Result<()> {
        retry_busy(busy_timeout, || self.conn.execute_batch("BEGIN IMMEDIATE"))
            .map_err(|e| busy_or(e, path, busy_timeout))?;
        self.upgrade(path)?;
        self.now = crate::clock::now_rfc3339();
        self.run_row =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) + 1 FROM runs", [], |r| {
                    r.get(0)
                })?;
        Ok(())
    }

    /// Upgrades a directory written by an older onboard in place, in a transaction of its
    /// own, committed before anything else reads or writes it: a run's read connections
    /// (look-ups, the snapshot) must see the tables its write connection sees.
    fn upgrade_alone(&self, path: &Path, busy_timeout: Duration) -> Result<()> {
        retry_busy(busy_timeout, || self.conn.execute_batch("BEGIN IMMEDIATE"))
            .map_err(|e| busy_or(e, path, busy_timeout))?;
        let upgraded = self.upgrade(path);
        if upgraded.is_err() {
            self.rollback();
        }
        upgraded?;
        self.conn
            .execute_batch("COMMIT")
            .with_context(|| format!("cannot upgrade {}", path.display()))
    }

    /// Brings the schema up to date inside the transaction that holds the write lock: a
    /// new file gets the tables, an older one its upgrades (in this one transaction, so a
    /// failed or killed upgrade leaves the file as it was), a newer one is refused.
    fn upgrade(&self, path: &Path) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "{} was written by a newer onboard (schema {version}, this one knows {SCHEMA_VERSION}); use that version or a newer one",
                path.display()
            );
        }
        if version < SCHEMA_VERSION {
            if version == 0 {
                self.conn.execute_batch(SCHEMA)?;
                self.conn.execute_batch(INDEXES_AND_TRIGGERS)?;
            } else {
                for (to, sql) in UPGRADES {
                    if to > version {
                        self.conn.execute_batch(sql).with_context(|| {
                            format!("cannot upgrade {} to schema {to}", path.display())
                        })?;
                    }
                }
                if version < 3 {
                    self.give_object_ids().with_context(|| {
                        format!("cannot upgrade {} to schema 3", path.display())
                    })?;
                }
                self.conn
                    .execute_batch(INDEXES_AND_TRIGGERS)
                    .with_context(|| format!("cannot upgrade {}", path.display()))?;
                info!(
                    directory = %path.display(),
                    from = version,
                    to = SCHEMA_VERSION,
                    "directory upgraded"
                );
            }
            self.conn
                .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        Ok(())
    }

    fn version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Gives every user without an Object ID one.
    fn give_object_ids(&self) -> Result<()> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM users WHERE object_id IS NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self
            .conn
            .prepare("UPDATE users SET object_id = ?2 WHERE id = ?1")?;
        for id in ids {
            stmt.execute(rusqlite::params![id, new_object_id()])?;
        }
        Ok(())
    }

    fn has_schema(&self) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            [],
            |r| r.get(0),
        )?;
        Ok(n == 1)
    }

    /// Whether the directory holds any user; an empty one needs no look-ups.
    pub fn has_users(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?)
    }

    pub fn commit(&self) -> Result<()> {
        self.flush()?;
        self.conn
            .execute_batch("COMMIT")
            .context("cannot commit to the directory")?;
        if self.bulk {
            // Back to WAL for the next import and its readers. Not needed for this
            // import's outcome: when a reader holds the file now, the next import
            // switches instead.
            let _ = self.conn.execute_batch("PRAGMA journal_mode = WAL");
        }
        Ok(())
    }

    pub fn rollback(&self) {
        self.pending_licenses.borrow_mut().rows.clear();
        *self.written.borrow_mut() = None;
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

/// Creates the directory file, when there is none, readable by its owner only: it holds
/// personal data. SQLite gives its journal and WAL files the same mode. An existing file
/// that others may read is left as it is, with a warning.
fn create_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        directory = %crate::row::printable(&path.display().to_string()),
                        mode = %format!("{mode:04o}"),
                        "the directory holds personal data but others may read it; `chmod 600` it (and its -wal and -shm files)"
                    );
                }
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// SQLite's page cache for a run that writes into a directory with users, in KiB. SQLite
/// takes it only as pages are used: a run that writes ten users uses a few MB. A nightly
/// sync of a million people changes 1%, scattered over 20,000 pages of the table, its
/// indexes and the kept digests; with 64 MiB the writer spilled pages to the WAL and
/// read them back all night (rows 1.56 s, leavers 0.24 s; with 256 MiB 1.3 s and 0.1 s,
/// the whole run 2.96 -> 2.57 s, at 375 MB of memory instead of 270).
const WRITE_CACHE_KIB: u32 = 256 << 10;

/// A new Object ID: a UUID of version 7, its first 48 bits the time in milliseconds and
/// 74 bits random. A version 4 UUID (all random) put every new user at a random place of
/// the Object ID index, so an import of 10,000 users into a directory of a million wrote
/// thousands of index pages (0.34 s instead of 0.09 s); time-ordered IDs go to the end.
pub fn new_object_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// SQLite's rollback journal of the directory at `path`.
fn journal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-journal");
    name.into()
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.code,
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
    ))
}

/// Runs `op` again while SQLite says busy, until `timeout`. SQLite's own busy handler
/// covers most waits, but not all: two imports that create a new directory at the same
/// moment, or switch it to WAL, get "busy" at once.
fn retry_busy<T>(
    timeout: Duration,
    mut op: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match op() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Turns SQLite's "database is locked" into the message an admin needs.
fn busy_or(e: rusqlite::Error, path: &Path, timeout: Duration) -> anyhow::Error {
    if is_busy(&e) {
        return anyhow::anyhow!(
            "directory busy: another import holds {} and did not finish within {}s (--lock-timeout)",
            path.display(),
            timeout.as_secs()
        );
    }
    anyhow::Error::new(e).context(format!("cannot use directory {}", path.display()))
}
