//! People who leave and come back: finding a user by Object ID, Employee ID or User
//! Name, offboarding (soft delete), restoring and purging, all inside the run's
//! transaction, with the seat counters kept equal to the assignments.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use crate::row::PROFILE_LEN;
use crate::store::users::{profile_columns, stored_user, USER_COLUMNS_PROFILE};
use crate::store::{Directory, StoredUser};

/// How many people [`Directory::offboard_all`] offboards with one statement of each kind.
const OFFBOARD_GROUP: usize = 2048;

/// How a row names a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The lower-cased User Name.
    UserName(String),
    /// The Employee ID, lower-cased.
    EmployeeId(String),
    /// The Object ID, lower-cased.
    ObjectId(String),
}

impl Directory {
    /// The users `who` names, active or offboarded (a purged user is gone), with their
    /// grants. An Employee ID may name more than one.
    pub fn find_people(&self, who: &Identity) -> Result<Vec<StoredUser>> {
        self.flush()?;
        // Each condition is one an index answers: `users_by_key`, the partial index
        // `users_by_employee_id` (hence the IS NOT NULL), `users_by_object_id` (Object IDs
        // are stored lower-case, as a UUID is written).
        let (condition, value) = match who {
            Identity::UserName(key) => ("user_key = ?1", key),
            Identity::EmployeeId(id) => ("lower(employee_id) = ?1 AND employee_id IS NOT NULL", id),
            Identity::ObjectId(id) => ("object_id = ?1", id),
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM users WHERE {condition} ORDER BY id",
            *USER_COLUMNS_PROFILE
        ))?;
        let mut users: Vec<StoredUser> = stmt
            .query_map([value], stored_user)?
            .collect::<rusqlite::Result<_>>()?;
        for user in &mut users {
            self.load_grants_of(user)?;
        }
        Ok(users)
    }

    /// The licences user `id` held when offboarded.
    pub fn offboarded_licenses(&self, id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sku FROM user_offboarded_licenses WHERE user_id = ?1 ORDER BY sku",
        )?;
        let skus = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(skus)
    }

    /// Runs `sql` through the connection's cache of prepared statements.
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        Ok(self.conn.prepare_cached(sql)?.execute(params)?)
    }

    /// Offboards `user`: sign-in blocked, licences kept aside for a restore and their
    /// seats freed, roles removed, marked deleted now by this run. The statements are
    /// prepared once for the run: parsing them again for every person measured most of
    /// an offboarding's time.
    pub fn offboard(&self, user: &StoredUser) -> Result<()> {
        self.flush()?;
        let id = user.id;
        self.wrote(id);
        self.execute_cached(
            "INSERT OR IGNORE INTO user_offboarded_licenses (user_id, sku) \
             SELECT user_id, sku FROM user_licenses WHERE user_id = ?1",
            [id],
        )?;
        self.execute_cached(
            "UPDATE seat_counts SET assigned = assigned - 1 \
             WHERE sku IN (SELECT sku FROM user_licenses WHERE user_id = ?1)",
            [id],
        )?;
        for table in ["user_licenses", "user_roles"] {
            self.execute_cached(&format!("DELETE FROM {table} WHERE user_id = ?1"), [id])?;
        }
        self.execute_cached(
            "UPDATE users SET deleted_at = ?2, deleted_run = ?3, block_sign_in = 1, \
             updated_run = ?3 WHERE id = ?1",
            params![id, self.now, self.run_row],
        )?;
        Ok(())
    }

    /// Offboards `users` (each an id with the licences it holds, as stored in this
    /// transaction) as [`Directory::offboard`] does each, in five statements over all
    /// their ids: for a full export's leavers and `onboard offboard`, thousands at a time.
    pub fn offboard_all<'a>(
        &self,
        users: impl IntoIterator<Item = (i64, &'a [String])>,
    ) -> Result<()> {
        let mut ids = Vec::new();
        let mut freed: std::collections::BTreeMap<&str, i64> = Default::default();
        for (id, licenses) in users {
            ids.push(id);
            for sku in licenses {
                *freed.entry(sku).or_default() += 1;
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        self.flush()?;
        ids.sort_unstable();
        for &id in &ids {
            self.wrote(id);
        }
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE seat_counts SET assigned = assigned - ?2 WHERE sku = ?1")?;
        for (sku, n) in freed {
            stmt.execute(params![sku, n])?;
        }
        // In groups: SQLite keeps, for each statement, the pages it changes until it ends
        // (to undo that statement alone, in memory); one statement over 100,000 people
        // took 370 MB for that.
        for group in ids.chunks(OFFBOARD_GROUP) {
            let ids = Users::Ids(group);
            let run = |sql: &str| -> Result<()> {
                let mut stmt = self.conn.prepare_cached(sql)?;
                let mut rows = ids.query(&mut stmt)?;
                while rows.next()?.is_some() {}
                Ok(())
            };
            run(&format!(
                "INSERT OR IGNORE INTO user_offboarded_licenses (user_id, sku) \
                 SELECT user_id, sku FROM user_licenses WHERE {}",
                ids.condition("user_id")
            ))?;
            for table in ["user_licenses", "user_roles"] {
                run(&format!(
                    "DELETE FROM {table} WHERE {}",
                    ids.condition("user_id")
                ))?;
            }
            let mut stmt = self.conn.prepare_cached(&format!(
                "UPDATE users SET deleted_at = ?2, deleted_run = ?3, block_sign_in = 1, \
                 updated_run = ?3 WHERE {}",
                ids.condition("id")
            ))?;
            stmt.raw_bind_parameter(2, &self.now)?;
            stmt.raw_bind_parameter(3, self.run_row)?;
            let mut rows = ids.query(&mut stmt)?;
            while rows.next()?.is_some() {}
        }
        Ok(())
    }

    /// The users with these ids (ascending), with their grants, in id order; an id of no
    /// user is left out. Four statements, whatever the number of users, merged as
    /// [`Directory::for_each_person_view`] merges them.
    pub fn users_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredUser>> {
        self.flush()?;
        let which = Users::Ids(ids);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM users WHERE {} ORDER BY id",
            *USER_COLUMNS_PROFILE,
            which.condition("id")
        ))?;
        let mut users = Vec::with_capacity(ids.len());
        let mut rows = which.query(&mut stmt)?;
        while let Some(r) = rows.next()? {
            users.push(stored_user(r)?);
        }
        drop(rows);
        let mut statements = self.grant_statements(&which)?;
        let mut grants = Grants::new(&mut statements, &which)?;
        for u in &mut users {
            grants.take(u.id, &mut u.licenses, &mut u.disabled_apps, &mut u.roles)?;
        }
        Ok(users)
    }

    /// Restores offboarded `user` with the licences `skus` (the seats already served),
    /// sign-in allowed again and a password to change at first sign-in.
    pub fn restore(&self, user: &StoredUser, skus: &[&str]) -> Result<()> {
        self.flush()?;
        let id = user.id;
        self.execute_cached(
            "UPDATE users SET deleted_at = NULL, deleted_run = NULL, block_sign_in = 0, \
             force_password_change = 1, updated_run = ?2, \
             unlicensed_since = CASE WHEN ?3 THEN ?4 ELSE NULL END WHERE id = ?1",
            params![id, self.run_row, skus.is_empty(), self.now],
        )?;
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO user_licenses (user_id, sku) VALUES (?1, ?2)")?;
        let mut count = self.conn.prepare_cached(
            "INSERT INTO seat_counts (sku, assigned) VALUES (?1, 1) \
             ON CONFLICT (sku) DO UPDATE SET assigned = assigned + 1",
        )?;
        for sku in skus {
            insert.execute(params![id, sku])?;
            count.execute([sku])?;
        }
        self.execute_cached(
            "DELETE FROM user_offboarded_licenses WHERE user_id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// The offboarded users deleted at or before `cutoff` (RFC 3339), oldest first.
    pub fn purgeable(&self, cutoff: &str) -> Result<Vec<StoredUser>> {
        if !self.has_schema()? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= ?1 \
             ORDER BY deleted_at, user_key",
            *USER_COLUMNS_PROFILE
        ))?;
        let users = stmt
            .query_map([cutoff], stored_user)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(users)
    }

    /// Removes offboarded user `id` for good: its name is free again.
    pub fn purge(&self, id: i64) -> Result<()> {
        self.flush()?;
        for table in [
            "user_licenses",
            "user_disabled_apps",
            "user_roles",
            "user_offboarded_licenses",
        ] {
            self.execute_cached(&format!("DELETE FROM {table} WHERE user_id = ?1"), [id])?;
        }
        let gone = self.execute_cached(
            "DELETE FROM users WHERE id = ?1 AND deleted_at IS NOT NULL",
            [id],
        )?;
        debug_assert_eq!(gone, 1);
        Ok(())
    }

    /// Active users, and active users without a licence since before `cutoff`.
    pub fn unlicensed_counts(&self, cutoff: &str) -> Result<(u64, u64)> {
        if !self.has_schema()? {
            return Ok((0, 0));
        }
        let counts = self
            .conn
            .query_row(
                "SELECT count(*), coalesce(sum(unlicensed_since <= ?1), 0) FROM users \
                 WHERE deleted_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM user_licenses WHERE user_id = users.id)",
                [cutoff],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .optional()?
            .unwrap_or((0, 0));
        Ok(counts)
    }
    /// Active users with an Employee ID: how many there are (for `--max-leavers`).
    pub fn count_active_people(&self) -> Result<u64> {
        if !self.has_schema()? {
            return Ok(0);
        }
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM users WHERE deleted_at IS NULL AND coalesce(employee_id, '') != ''",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// User `id` with grants.
    pub fn user_by_id(&self, id: i64) -> Result<Option<StoredUser>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM users WHERE id = ?1",
            *USER_COLUMNS_PROFILE
        ))?;
        let Some(mut user) = stmt.query_row([id], stored_user).optional()? else {
            return Ok(None);
        };
        self.load_grants_of(&mut user)?;
        Ok(Some(user))
    }
}

/// A person as [`Directory::for_each_person_view`] passes them: borrowed, not copied.
pub struct PersonView<'a> {
    /// The texts as stored (UTF-8), not checked again: a digest needs only their bytes,
    /// and checking every column of every person measured a fifth of the scan.
    pub user_name: &'a [u8],
    pub usage_location: &'a [u8],
    pub block_sign_in: bool,
    /// Values of [`crate::row::PROFILE`], in its order; empty for none.
    pub profile: [&'a [u8]; PROFILE_LEN],
    pub licenses: &'a [String],
    pub disabled_apps: &'a [(String, String)],
    pub roles: &'a [String],
}

/// A sequential scan of one of the grant tables (their keys start with `user_id`, so
/// they are in user order), read along with the users.
struct GrantScan<'s, T> {
    rows: rusqlite::Rows<'s>,
    /// The next row not handed out yet: its user and value.
    next: Option<(i64, T)>,
    read: fn(&rusqlite::Row) -> rusqlite::Result<T>,
}

impl<'s, T> GrantScan<'s, T> {
    fn new(
        rows: rusqlite::Rows<'s>,
        read: fn(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<GrantScan<'s, T>> {
        let mut scan = GrantScan {
            rows,
            next: None,
            read,
        };
        scan.advance()?;
        Ok(scan)
    }

    fn advance(&mut self) -> Result<()> {
        self.next = match self.rows.next()? {
            Some(r) => Some((r.get(0)?, (self.read)(r)?)),
            None => None,
        };
        Ok(())
    }

    /// Moves the values of user `id` into `out` (emptied first), skipping users before.
    fn take(&mut self, id: i64, out: &mut Vec<T>) -> Result<()> {
        out.clear();
        while let Some((user, _)) = &self.next {
            if *user > id {
                break;
            }
            let (user, value) = self.next.take().expect("a row");
            if user == id {
                out.push(value);
            }
            self.advance()?;
        }
        Ok(())
    }
}

/// The three grant tables read for a set of users ([`Directory::grant_statements`]),
/// each in user order: merged with the users read in id order, nothing is looked up.
struct Grants<'s> {
    licenses: GrantScan<'s, String>,
    apps: GrantScan<'s, (String, String)>,
    roles: GrantScan<'s, String>,
}

impl<'s> Grants<'s> {
    fn new(statements: &'s mut [rusqlite::Statement; 3], which: &Users) -> Result<Grants<'s>> {
        let [licenses, apps, roles] = statements;
        Ok(Grants {
            licenses: GrantScan::new(which.query(licenses)?, |r| r.get(1))?,
            apps: GrantScan::new(which.query(apps)?, |r| Ok((r.get(1)?, r.get(2)?)))?,
            roles: GrantScan::new(which.query(roles)?, |r| r.get(1))?,
        })
    }

    /// Moves the grants of user `id` into `licenses`, `apps` and `roles` (emptied first),
    /// skipping users before.
    fn take(
        &mut self,
        id: i64,
        licenses: &mut Vec<String>,
        apps: &mut Vec<(String, String)>,
        roles: &mut Vec<String>,
    ) -> Result<()> {
        self.licenses.take(id, licenses)?;
        self.apps.take(id, apps)?;
        self.roles.take(id, roles)
    }
}

impl Directory {
    /// The statements of [`Grants`] for `which` users: each grant table in user order
    /// and, within a user, in value order (the tables' keys), as a user's grants are
    /// listed everywhere.
    fn grant_statements(&self, which: &Users) -> Result<[rusqlite::Statement<'_>; 3]> {
        let prepare = |columns: &str, table: &str| {
            self.conn.prepare(&format!(
                "SELECT user_id, {columns} FROM {table} WHERE {} ORDER BY user_id, {columns}",
                which.condition("user_id"),
            ))
        };
        Ok([
            prepare("sku", "user_licenses")?,
            prepare("sku, app", "user_disabled_apps")?,
            prepare("role", "user_roles")?,
        ])
    }

    /// The lowest and highest user id, if there are users.
    pub fn user_ids(&self) -> Result<Option<(i64, i64)>> {
        if !self.has_schema()? {
            return Ok(None);
        }
        let (low, high): (Option<i64>, Option<i64>) =
            self.conn
                .query_row("SELECT min(id), max(id) FROM users", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        Ok(low.zip(high))
    }

    /// Calls `f` with every user of `which`, in id order: with a view of them when they are
    /// active and have an Employee ID (licences, disabled apps and roles included), with
    /// `None` otherwise. Four scans (the users by id, the grant tables by user) merged,
    /// nothing copied but the grants.
    pub fn for_each_person_view(
        &self,
        which: &Users,
        mut f: impl FnMut(i64, Option<&PersonView>) -> Result<()>,
    ) -> Result<()> {
        if !self.has_schema()? {
            return Ok(());
        }
        self.flush()?;
        let mut users = self.conn.prepare(&format!(
            "SELECT id, user_name, usage_location, block_sign_in, employee_id IS NOT NULL \
             AND employee_id != '' AND deleted_at IS NULL, {} FROM users \
             WHERE {} ORDER BY id",
            profile_columns(),
            which.condition("id"),
        ))?;
        let mut statements = self.grant_statements(which)?;
        let mut grants = Grants::new(&mut statements, which)?;
        let (mut held, mut disabled, mut granted) = (Vec::new(), Vec::new(), Vec::new());
        let mut rows = which.query(&mut users)?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if !r.get::<_, bool>(4)? {
                f(id, None)?;
                continue;
            }
            grants.take(id, &mut held, &mut disabled, &mut granted)?;
            let text = |i: usize| -> rusqlite::Result<&[u8]> {
                Ok(r.get_ref(i)?.as_bytes_or_null()?.unwrap_or(b""))
            };
            let mut profile: [&[u8]; PROFILE_LEN] = [b""; PROFILE_LEN];
            for (i, v) in profile.iter_mut().enumerate() {
                *v = text(5 + i)?;
            }
            let view = PersonView {
                user_name: text(1)?,
                usage_location: text(2)?,
                block_sign_in: r.get(3)?,
                profile,
                licenses: &held,
                disabled_apps: &disabled,
                roles: &granted,
            };
            f(id, Some(&view))?;
        }
        Ok(())
    }
}

/// Which users a scan reads.
pub enum Users<'a> {
    /// Those whose ids are in this range.
    Range(std::ops::RangeInclusive<i64>),
    /// Those with these ids (ascending).
    Ids(&'a [i64]),
}

impl Users<'_> {
    /// The condition on `column`, a user id, with its parameters numbered from 1.
    fn condition(&self, column: &str) -> String {
        match self {
            Users::Range(_) => format!("{column} >= ?1 AND {column} <= ?2"),
            Users::Ids(_) => format!("{column} IN rarray(?1)"),
        }
    }

    /// Runs `stmt`, made with [`Users::condition`], for these users.
    fn query<'s>(&self, stmt: &'s mut rusqlite::Statement) -> Result<rusqlite::Rows<'s>> {
        match self {
            Users::Range(range) => {
                stmt.raw_bind_parameter(1, range.start())?;
                stmt.raw_bind_parameter(2, range.end())?;
            }
            Users::Ids(ids) => {
                let ids: Vec<rusqlite::types::Value> = ids.iter().map(|&id| id.into()).collect();
                stmt.raw_bind_parameter(1, std::rc::Rc::new(ids))?;
            }
        }
        Ok(stmt.raw_query())
    }
}
