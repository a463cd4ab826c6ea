//! The directory: users, their licences, disabled apps and roles, and the import history,
//! in one SQLite file (SPEC §9).
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

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use smallvec::SmallVec;

use crate::rules::PROFILE_FIELDS;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL,
    user_key TEXT NOT NULL,             -- lower-cased User Name: names are case-insensitive
    display_name TEXT NOT NULL,
    first_name TEXT, last_name TEXT, job_title TEXT, department TEXT,
    office_number TEXT, office_phone TEXT, mobile_phone TEXT, fax TEXT,
    alternate_email TEXT, address TEXT, city TEXT, state TEXT, postal_code TEXT,
    country TEXT, employee_id TEXT,
    usage_location TEXT,
    block_sign_in INTEGER NOT NULL DEFAULT 0,
    force_password_change INTEGER NOT NULL DEFAULT 1,
    created_run INTEGER NOT NULL,
    updated_run INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_key ON users(user_key);
CREATE TABLE IF NOT EXISTS user_licenses (
    user_id INTEGER NOT NULL REFERENCES users(id),
    sku TEXT NOT NULL,
    PRIMARY KEY (user_id, sku)
) WITHOUT ROWID;
-- Seats in use per SKU: kept by every import in the same transaction as the licences, so
-- it always equals the count of user_licenses rows and reading it costs nothing.
CREATE TABLE IF NOT EXISTS seat_counts (
    sku TEXT PRIMARY KEY,
    assigned INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_disabled_apps (
    user_id INTEGER NOT NULL REFERENCES users(id),
    sku TEXT NOT NULL,
    app TEXT NOT NULL,
    PRIMARY KEY (user_id, sku, app)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    input_name TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    result_file TEXT NOT NULL,
    staged_file TEXT NOT NULL           -- where the result file sat until renamed into place
);
"#;

/// The schema this program writes; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const INSERT_USER: &str = "INSERT INTO users (user_name, user_key, usage_location, \
    block_sign_in, force_password_change, created_run, display_name, first_name, last_name, \
    job_title, department, office_number, office_phone, mobile_phone, fax, alternate_email, \
    address, city, state, postal_code, country, employee_id) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
    ?19, ?20, ?21, ?22)";

const UPDATE_USER: &str = "UPDATE users SET usage_location = ?2, block_sign_in = ?3, \
    updated_run = ?4, display_name = ?5, first_name = ?6, last_name = ?7, job_title = ?8, \
    department = ?9, office_number = ?10, office_phone = ?11, mobile_phone = ?12, fax = ?13, \
    alternate_email = ?14, address = ?15, city = ?16, state = ?17, postal_code = ?18, \
    country = ?19, employee_id = ?20 WHERE id = ?1";

const FIND_USER: &str = "SELECT id, user_name, usage_location, block_sign_in, display_name, \
    first_name, last_name, job_title, department, office_number, office_phone, mobile_phone, \
    fax, alternate_email, address, city, state, postal_code, country, employee_id \
    FROM users WHERE user_key = ?1";

/// The database column of each of [`PROFILE_FIELDS`], in the same order.
const PROFILE_COLUMNS: [&str; 16] = [
    "display_name",
    "first_name",
    "last_name",
    "job_title",
    "department",
    "office_number",
    "office_phone",
    "mobile_phone",
    "fax",
    "alternate_email",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
    "employee_id",
];

/// A user as the directory holds it.
#[derive(Debug, Clone, Default)]
pub struct StoredUser {
    pub id: i64,
    pub user_name: String,
    /// Values of [`PROFILE_FIELDS`], "" for none.
    pub profile: Vec<String>,
    pub usage_location: Option<String>,
    pub block_sign_in: bool,
    pub licenses: Vec<String>,
    pub disabled_apps: Vec<(String, String)>,
    pub roles: Vec<String>,
}

/// What to write for one user: used for both creating and updating.
pub struct UserWrite<'a> {
    pub user_name: &'a str,
    /// The lower-cased User Name.
    pub key: &'a str,
    pub profile: [&'a str; 16],
    pub usage_location: Option<&'a str>,
    pub block_sign_in: bool,
    pub force_password_change: bool,
    pub licenses: SmallVec<[&'a str; 4]>,
    pub disabled_apps: SmallVec<[(&'a str, &'a str); 2]>,
    pub roles: &'a [&'static str],
}

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
}

/// Page size of a directory file this program creates; an existing file keeps its own.
/// Bigger pages than SQLite's 4 KiB: fewer pages to write, balance and index.
const NEW_PAGE_SIZE: u32 = 8192;

/// Licence rows written together in one `INSERT` (two parameters each).
const LICENSE_CHUNK: usize = 64;

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
}

#[derive(Default)]
struct PendingLicenses {
    skus: Vec<String>,
    rows: Vec<(i64, u16)>,
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
            Access::Write => Connection::open(path),
        }
        .with_context(|| format!("cannot open directory {shown}"))?;
        conn.busy_timeout(busy_timeout)?;
        let dir = Directory {
            conn,
            run_row: 0,
            writable: access == Access::Write,
            bulk: false,
            pending_licenses: RefCell::default(),
        };
        if access == Access::Write {
            // EXTRA: FULL, and in rollback-journal mode also the folder is synced after
            // the journal is deleted, which is what makes such a commit durable.
            let mut setup = String::new();
            if new_file {
                setup.push_str(&format!("PRAGMA page_size = {NEW_PAGE_SIZE}; "));
            }
            setup.push_str("PRAGMA synchronous = EXTRA; PRAGMA foreign_keys = ON; ");
            // The journal mode is settled in `begin`, under the write lock.
            if !new_file {
                setup.push_str("PRAGMA journal_mode = WAL;");
            }
            retry_busy(busy_timeout, || dir.conn.execute_batch(&setup))
                .map_err(|e| busy_or(e, path, busy_timeout))?;
        } else if !dir.has_schema()? {
            // A file that an interrupted first import left without tables: empty.
            return Ok(None);
        }
        dir.conn.execute_batch("PRAGMA cache_size = -8192;")?;
        Ok(Some(dir))
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
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            bail!(
                "{} was written by a newer onboard (schema {version}); update onboard",
                path.display()
            );
        }
        if version < SCHEMA_VERSION {
            self.conn.execute_batch(SCHEMA)?;
            self.conn
                .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        self.run_row =
            self.conn
                .query_row("SELECT coalesce(max(id), 0) + 1 FROM runs", [], |r| {
                    r.get(0)
                })?;
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

    /// Seats in use per SKU.
    pub fn assigned_seats(&self) -> Result<HashMap<String, u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT sku, assigned FROM seat_counts WHERE assigned > 0")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the directory holds any user; an empty one needs no look-ups.
    pub fn has_users(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?)
    }

    /// The user whose lower-cased name is `key`, with licences and roles.
    pub fn find(&self, key: &str, full: bool) -> Result<Option<StoredUser>> {
        let mut stmt = self.conn.prepare_cached(FIND_USER)?;
        let user = stmt.query_row([key], stored_user).optional()?;
        let Some(mut user) = user else {
            return Ok(None);
        };
        if full {
            self.load_grants(&mut user)?;
        }
        Ok(Some(user))
    }

    fn load_grants(&self, user: &mut StoredUser) -> Result<()> {
        self.flush()?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT sku FROM user_licenses WHERE user_id = ?1 ORDER BY sku")?;
        user.licenses = stmt
            .query_map([user.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT sku, app FROM user_disabled_apps WHERE user_id = ?1 ORDER BY sku, app",
        )?;
        user.disabled_apps = stmt
            .query_map([user.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT role FROM user_roles WHERE user_id = ?1 ORDER BY role")?;
        user.roles = stmt
            .query_map([user.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(())
    }

    /// For an import into an empty directory: drops the user-name index, so a million
    /// inserts do not each update it at a random place; [`Directory::build_indexes`]
    /// builds it again in one sorted pass before the commit. Duplicates cannot slip in:
    /// the planner has rejected every name seen twice, and the unique index would refuse
    /// the commit if one did.
    pub fn defer_indexes(&self) -> Result<()> {
        self.conn
            .execute_batch("DROP INDEX IF EXISTS users_by_key")?;
        Ok(())
    }

    /// Rebuilds what [`Directory::defer_indexes`] dropped (a no-op when nothing was).
    pub fn build_indexes(&self) -> Result<()> {
        self.flush()?;
        self.conn
            .execute_batch("CREATE UNIQUE INDEX IF NOT EXISTS users_by_key ON users(user_key)")
            .context("cannot index the directory's users")
    }

    /// Creates a user inside the import's transaction.
    pub fn insert(&self, u: &UserWrite) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(INSERT_USER)?;
        stmt.raw_bind_parameter(1, u.user_name)?;
        stmt.raw_bind_parameter(2, u.key)?;
        stmt.raw_bind_parameter(3, u.usage_location)?;
        stmt.raw_bind_parameter(4, u.block_sign_in)?;
        stmt.raw_bind_parameter(5, u.force_password_change)?;
        stmt.raw_bind_parameter(6, self.run_row)?;
        for (i, v) in u.profile.iter().enumerate() {
            stmt.raw_bind_parameter(7 + i, (!v.is_empty()).then_some(*v))?;
        }
        stmt.raw_execute()?;
        let id = self.conn.last_insert_rowid();
        self.add_grants(id, u)
    }

    /// Overwrites the profile of user `id` and adds grants it does not have yet.
    pub fn update(&self, id: i64, u: &UserWrite) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(UPDATE_USER)?;
        stmt.raw_bind_parameter(1, id)?;
        stmt.raw_bind_parameter(2, u.usage_location)?;
        stmt.raw_bind_parameter(3, u.block_sign_in)?;
        stmt.raw_bind_parameter(4, self.run_row)?;
        for (i, v) in u.profile.iter().enumerate() {
            stmt.raw_bind_parameter(5 + i, (!v.is_empty()).then_some(*v))?;
        }
        stmt.raw_execute()?;
        self.add_grants(id, u)
    }

    /// Adds `granted[i]` seats in use to licence `skus[i]`.
    pub fn add_seats(&self, skus: &[&str], granted: &[u64]) -> Result<()> {
        self.flush()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO seat_counts (sku, assigned) VALUES (?1, ?2) \
             ON CONFLICT (sku) DO UPDATE SET assigned = assigned + excluded.assigned",
        )?;
        for (sku, &n) in skus.iter().zip(granted) {
            if n > 0 {
                stmt.execute(params![sku, n as i64])?;
            }
        }
        Ok(())
    }

    fn add_grants(&self, id: i64, u: &UserWrite) -> Result<()> {
        if !u.licenses.is_empty() {
            let mut pending = self.pending_licenses.borrow_mut();
            for sku in &u.licenses {
                let i = match pending.skus.iter().position(|s| s == sku) {
                    Some(i) => i,
                    None => {
                        pending.skus.push(sku.to_string());
                        pending.skus.len() - 1
                    }
                };
                pending.rows.push((id, i as u16));
            }
            if pending.rows.len() >= LICENSE_CHUNK {
                drop(pending);
                self.flush()?;
            }
        }
        if !u.disabled_apps.is_empty() {
            let mut stmt = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO user_disabled_apps (user_id, sku, app) VALUES (?1, ?2, ?3)",
            )?;
            for (sku, app) in &u.disabled_apps {
                stmt.execute(params![id, sku, app])?;
            }
        }
        if !u.roles.is_empty() {
            let mut stmt = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO user_roles (user_id, role) VALUES (?1, ?2)",
            )?;
            for role in u.roles {
                stmt.execute(params![id, role])?;
            }
        }
        Ok(())
    }

    /// Writes the licence rows that [`Directory::insert`] and [`Directory::update`] keep
    /// back to write many in one statement. Everything that reads or ends the transaction
    /// calls it first; a writer can call it to see a write's error at once.
    pub fn flush(&self) -> Result<()> {
        let mut pending = self.pending_licenses.borrow_mut();
        let PendingLicenses { skus, rows } = &mut *pending;
        let mut chunks = rows.chunks_exact(LICENSE_CHUNK);
        if chunks.len() > 0 {
            static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!(
                    "INSERT INTO user_licenses (user_id, sku) VALUES {}",
                    vec!["(?, ?)"; LICENSE_CHUNK].join(", ")
                )
            });
            let mut stmt = self.conn.prepare_cached(&SQL)?;
            for chunk in &mut chunks {
                for (i, &(id, sku)) in chunk.iter().enumerate() {
                    stmt.raw_bind_parameter(2 * i + 1, id)?;
                    stmt.raw_bind_parameter(2 * i + 2, skus[sku as usize].as_str())?;
                }
                stmt.raw_execute()?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut stmt = self
                .conn
                .prepare_cached("INSERT INTO user_licenses (user_id, sku) VALUES (?1, ?2)")?;
            for &(id, sku) in rest {
                stmt.execute(params![id, skus[sku as usize]])?;
            }
        }
        rows.clear();
        Ok(())
    }

    /// Writes the run record; part of the import's transaction.
    pub fn record_run(&self, run: &RunRecord) -> Result<()> {
        self.flush()?;
        self.conn.execute(
            "INSERT INTO runs (id, run_id, started_at, finished_at, input_name, input_sha256, \
             dry_run, rows, created, updated, unchanged, skipped, failed, result_file, staged_file) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
            ],
        )?;
        Ok(())
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        if !self.has_schema()? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT run_id, started_at, finished_at, input_name, input_sha256, dry_run, rows, \
             created, updated, unchanged, skipped, failed, result_file, staged_file \
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
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Every user, ordered by name, with grants; for `onboard users`.
    pub fn for_each_user(&self, mut f: impl FnMut(&StoredUser) -> Result<()>) -> Result<()> {
        if !self.has_schema()? {
            return Ok(());
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, user_name, usage_location, block_sign_in, {} FROM users ORDER BY user_key",
            PROFILE_COLUMNS.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let mut user = stored_user(r)?;
            self.load_grants(&mut user)?;
            f(&user)?;
        }
        Ok(())
    }
}

/// A user from a row of `id, user_name, usage_location, block_sign_in, <profile columns>`.
fn stored_user(r: &rusqlite::Row) -> rusqlite::Result<StoredUser> {
    let mut profile = Vec::with_capacity(PROFILE_COLUMNS.len());
    for i in 0..PROFILE_COLUMNS.len() {
        profile.push(r.get::<_, Option<String>>(4 + i)?.unwrap_or_default());
    }
    Ok(StoredUser {
        id: r.get(0)?,
        user_name: r.get(1)?,
        usage_location: r.get(2)?,
        block_sign_in: r.get(3)?,
        profile,
        ..StoredUser::default()
    })
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

const _: () = assert!(PROFILE_COLUMNS.len() == PROFILE_FIELDS.len());
