//! The directory's users: looking them up, creating and updating them with their
//! licences, disabled apps and roles, the seat counters, and listing them.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
use smallvec::SmallVec;

use crate::row::{EMPLOYEE_ID_AT, PROFILE, PROFILE_LEN};
use crate::store::schema::{DROP_INDEXES_AND_TRIGGERS, INDEXES_AND_TRIGGERS};
use crate::store::Directory;

/// The profile columns, comma-separated, in [`PROFILE`]'s order.
pub(super) fn profile_columns() -> String {
    PROFILE.map(|(_, column)| column).join(", ")
}

/// Creates a user: `?1`–`?8` as named, then the profile from `?9` on.
static INSERT_USER: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (1..=8 + PROFILE_LEN).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO users (user_name, user_key, usage_location, block_sign_in, \
         force_password_change, created_run, object_id, unlicensed_since, {}) VALUES ({})",
        profile_columns(),
        values.join(", ")
    )
});

/// Updates user `?1`: `?2`–`?6` as named, then the profile from `?7` on.
static UPDATE_USER: LazyLock<String> = LazyLock::new(|| update_user(true));

/// [`UPDATE_USER`] for a user whose User Name and Employee ID stay as they are: without
/// them, SQLite leaves the entries of the indexes on those columns alone. Setting them
/// anyway rewrote an index page of each for every changed person: a quarter of a nightly
/// sync's writes to the WAL.
static UPDATE_USER_SAME_KEYS: LazyLock<String> = LazyLock::new(|| update_user(false));

fn update_user(keys: bool) -> String {
    let sets: Vec<String> = PROFILE
        .iter()
        .enumerate()
        .filter(|&(i, _)| keys || i != EMPLOYEE_ID_AT)
        .map(|(i, (_, column))| format!("{column} = ?{}", 7 + i))
        .collect();
    format!(
        "UPDATE users SET usage_location = ?2, block_sign_in = ?3, updated_run = ?4, {}{} \
         WHERE id = ?1",
        if keys {
            "user_name = ?5, user_key = ?6, "
        } else {
            ""
        },
        sets.join(", ")
    )
}

/// The columns [`stored_user`] reads before the profile's.
const USER_COLUMNS: &str =
    "id, user_name, usage_location, block_sign_in, object_id, deleted_at, unlicensed_since";
const PROFILE_AT: usize = 7;

/// Every column [`stored_user`] reads.
pub(super) static USER_COLUMNS_PROFILE: LazyLock<String> =
    LazyLock::new(|| format!("{USER_COLUMNS}, {}", profile_columns()));

/// The user whose lower-cased name is `?1`, as [`stored_user`] reads it.
static FIND_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM users WHERE user_key = ?1",
        *USER_COLUMNS_PROFILE
    )
});

/// A user as the directory holds it.
#[derive(Debug, Clone, Default)]
pub struct StoredUser {
    pub id: i64,
    pub user_name: String,
    /// Values of [`crate::row::PROFILE`], in its order; "" for none.
    pub profile: Vec<String>,
    pub usage_location: Option<String>,
    pub block_sign_in: bool,
    pub object_id: String,
    /// When the user was offboarded; `None` for an active user.
    pub deleted_at: Option<String>,
    /// Since when the user has had no licence.
    pub unlicensed_since: Option<String>,
    pub licenses: Vec<String>,
    pub disabled_apps: Vec<(String, String)>,
    pub roles: Vec<String>,
}

/// What to write for one user: used for both creating and updating.
pub struct UserWrite<'a> {
    pub user_name: &'a str,
    /// The lower-cased User Name.
    pub key: &'a str,
    pub profile: [&'a str; PROFILE_LEN],
    pub usage_location: Option<&'a str>,
    pub block_sign_in: bool,
    pub force_password_change: bool,
    pub licenses: SmallVec<[&'a str; 4]>,
    pub disabled_apps: SmallVec<[(&'a str, &'a str); 2]>,
    pub roles: &'a [&'static str],
}

/// Licence rows written together in one `INSERT` (two parameters each).
const LICENSE_CHUNK: usize = 64;

/// Licence rows kept back to be written many in one statement.
#[derive(Default)]
pub(crate) struct PendingLicenses {
    skus: Vec<String>,
    pub(super) rows: Vec<(i64, u16)>,
}

impl Directory {
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

    /// The user whose lower-cased name is `key`, with licences and roles.
    pub fn find(&self, key: &str, full: bool) -> Result<Option<StoredUser>> {
        let mut stmt = self.conn.prepare_cached(&FIND_USER)?;
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
        self.load_grants_of(user)
    }

    /// [`Directory::load_grants`] without the flush.
    pub(super) fn load_grants_of(&self, user: &mut StoredUser) -> Result<()> {
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
        self.conn.execute_batch(DROP_INDEXES_AND_TRIGGERS)?;
        Ok(())
    }

    /// Rebuilds what [`Directory::defer_indexes`] dropped (a no-op when nothing was).
    pub fn build_indexes(&self) -> Result<()> {
        self.flush()?;
        self.conn
            .execute_batch(INDEXES_AND_TRIGGERS)
            .context("cannot index the directory's users")
    }

    /// Creates a user inside the import's transaction.
    pub fn insert(&self, u: &UserWrite) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&INSERT_USER)?;
        stmt.raw_bind_parameter(1, u.user_name)?;
        stmt.raw_bind_parameter(2, u.key)?;
        stmt.raw_bind_parameter(3, u.usage_location)?;
        stmt.raw_bind_parameter(4, u.block_sign_in)?;
        stmt.raw_bind_parameter(5, u.force_password_change)?;
        stmt.raw_bind_parameter(6, self.run_row)?;
        stmt.raw_bind_parameter(7, super::new_object_id())?;
        stmt.raw_bind_parameter(8, u.licenses.is_empty().then_some(self.now.as_str()))?;
        for (i, v) in u.profile.iter().enumerate() {
            stmt.raw_bind_parameter(9 + i, (!v.is_empty()).then_some(*v))?;
        }
        stmt.raw_execute()?;
        let id = self.conn.last_insert_rowid();
        self.wrote(id);
        self.add_grants(id, u)
    }

    /// Overwrites the profile of `user` and adds grants it does not have yet.
    pub fn update(&self, user: &StoredUser, u: &UserWrite) -> Result<()> {
        let id = user.id;
        self.wrote(id);
        let keys = u.user_name != user.user_name
            || u.profile[EMPLOYEE_ID_AT] != user.profile[EMPLOYEE_ID_AT];
        let mut stmt = self.conn.prepare_cached(match keys {
            true => &UPDATE_USER,
            false => &UPDATE_USER_SAME_KEYS,
        })?;
        stmt.raw_bind_parameter(1, id)?;
        stmt.raw_bind_parameter(2, u.usage_location)?;
        stmt.raw_bind_parameter(3, u.block_sign_in)?;
        stmt.raw_bind_parameter(4, self.run_row)?;
        if keys {
            stmt.raw_bind_parameter(5, u.user_name)?;
            stmt.raw_bind_parameter(6, u.key)?;
        }
        for (i, v) in u.profile.iter().enumerate() {
            if keys || i != EMPLOYEE_ID_AT {
                stmt.raw_bind_parameter(7 + i, (!v.is_empty()).then_some(*v))?;
            }
        }
        stmt.raw_execute()?;
        if !u.licenses.is_empty() {
            let mut stmt = self.conn.prepare_cached(
                "UPDATE users SET unlicensed_since = NULL WHERE id = ?1 AND unlicensed_since IS NOT NULL",
            )?;
            stmt.execute([id])?;
        }
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

    /// The users `which` selects, ordered by name, with grants; for `onboard users`.
    pub fn for_each_user(
        &self,
        which: Listing,
        mut f: impl FnMut(&StoredUser) -> Result<()>,
    ) -> Result<()> {
        if !self.has_schema()? {
            return Ok(());
        }
        let filter = match which {
            Listing::Active => "deleted_at IS NULL",
            Listing::Deleted => "deleted_at IS NOT NULL",
            Listing::Unlicensed => {
                "deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM user_licenses WHERE user_id = users.id)"
            }
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM users WHERE {filter} ORDER BY user_key",
            *USER_COLUMNS_PROFILE
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

/// Which users `onboard users` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Active,
    /// Offboarded, not yet purged.
    Deleted,
    /// Active users without a licence.
    Unlicensed,
}

/// A user from a row of [`USER_COLUMNS`] and the profile columns.
pub(super) fn stored_user(r: &rusqlite::Row) -> rusqlite::Result<StoredUser> {
    let mut profile = Vec::with_capacity(PROFILE_LEN);
    for i in 0..PROFILE_LEN {
        profile.push(
            r.get::<_, Option<String>>(PROFILE_AT + i)?
                .unwrap_or_default(),
        );
    }
    Ok(StoredUser {
        id: r.get(0)?,
        user_name: r.get(1)?,
        usage_location: r.get(2)?,
        block_sign_in: r.get(3)?,
        object_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        deleted_at: r.get(5)?,
        unlicensed_since: r.get(6)?,
        profile,
        ..StoredUser::default()
    })
}
