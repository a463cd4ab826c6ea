//! The directory's schema: its tables, the version this program writes, and the page
//! size of a new file. The profile columns of `users` are [`crate::row::PROFILE`]'s.

/// What a nightly sync keeps of each user so that it need not read them all again: for
/// an active user with an Employee ID, the digests its snapshot holds
/// ([`crate::snapshot`]), as the input's columns (`spec`) see them; for any other user,
/// only that it is not such a person. Kept only while true: the triggers of
/// [`INDEXES_AND_TRIGGERS`] delete a user's
/// row on every write to the user or their licences, disabled apps and roles.
macro_rules! person_digests {
    () => {
        "CREATE TABLE IF NOT EXISTS person_digests (
    user_id INTEGER PRIMARY KEY,        -- users.id
    spec INTEGER NOT NULL,              -- the input's columns and the digest's version
    digests BLOB                        -- NULL: not an active person with an Employee ID
);
"
    };
}

/// The tables, created in the transaction that first writes a directory.
pub const SCHEMA: &str = concat!(
    r#"
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
    updated_run INTEGER,
    object_id TEXT,                     -- a UUID (v7), given at creation, never changed
    deleted_at TEXT,                    -- offboarded (soft-deleted) at; NULL: active
    deleted_run INTEGER,
    unlicensed_since TEXT               -- when the user was last left without a licence
);
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
-- The licences an offboarded user held: served again, seats permitting, on restore.
CREATE TABLE IF NOT EXISTS user_offboarded_licenses (
    user_id INTEGER NOT NULL REFERENCES users(id),
    sku TEXT NOT NULL,
    PRIMARY KEY (user_id, sku)
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
    staged_file TEXT NOT NULL,          -- where the result file sat until renamed into place
    staged_sha256 TEXT NOT NULL DEFAULT '', -- and what it held: only that file is renamed later
    staged_size INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL DEFAULT 'import', -- import, offboard, restore, purge
    offboarded INTEGER NOT NULL DEFAULT 0,
    restored INTEGER NOT NULL DEFAULT 0,
    purged INTEGER NOT NULL DEFAULT 0
);
-- Credential and result mails: planned in the transaction of the run that made the
-- passwords, sent after its commit, each outcome kept (never a password).
CREATE TABLE IF NOT EXISTS mails (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,                 -- credentials, results
    user_name TEXT NOT NULL,            -- whose credentials; '' for a results mail
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,                -- planned, sending, sent, refused, failed
    attempts INTEGER NOT NULL DEFAULT 0,
    reply TEXT NOT NULL DEFAULT '',     -- the server's last reply, or why it was not reached
    updated_at TEXT,
    UNIQUE (run, kind, user_name, recipient)
);
-- Microsoft Graph: each user's push state and Graph object id, by onboard's Object ID
-- (kept after a purge, until Graph has purged the user too).
CREATE TABLE IF NOT EXISTS graph_users (
    object_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    state TEXT NOT NULL,                -- creating, created, licensed, failed, deleted, purged
    graph_id TEXT,                      -- the user's id in Graph, once known
    version INTEGER NOT NULL DEFAULT 0, -- the user's last run (created or updated) in Graph
    licenses TEXT NOT NULL DEFAULT '',  -- the SKUs assigned in Graph, '+'-joined
    roles TEXT NOT NULL DEFAULT '',     -- the roles assigned in Graph, '|'-joined
    last_error TEXT NOT NULL DEFAULT '',
    updated_at TEXT
) WITHOUT ROWID;
"#,
    person_digests!()
);

/// The triggers that delete a user's kept digests whenever the user, or a row of their
/// licences, disabled apps or roles, is written: by onboard or by anyone else.
macro_rules! triggers {
    (CREATE) => {
        concat!(
            " CREATE TRIGGER IF NOT EXISTS person_digests_user_updated AFTER UPDATE ON users \
              BEGIN DELETE FROM person_digests WHERE user_id IN (OLD.id, NEW.id); END;",
            " CREATE TRIGGER IF NOT EXISTS person_digests_user_deleted AFTER DELETE ON users \
              BEGIN DELETE FROM person_digests WHERE user_id = OLD.id; END;",
            triggers!(CREATE user_licenses),
            triggers!(CREATE user_disabled_apps),
            triggers!(CREATE user_roles),
        )
    };
    (CREATE $table:ident) => {
        concat!(
            " CREATE TRIGGER IF NOT EXISTS person_digests_", stringify!($table), "_inserted \
              AFTER INSERT ON ", stringify!($table), " \
              BEGIN DELETE FROM person_digests WHERE user_id = NEW.user_id; END;",
            " CREATE TRIGGER IF NOT EXISTS person_digests_", stringify!($table), "_updated \
              AFTER UPDATE ON ", stringify!($table), " \
              BEGIN DELETE FROM person_digests WHERE user_id IN (OLD.user_id, NEW.user_id); END;",
            " CREATE TRIGGER IF NOT EXISTS person_digests_", stringify!($table), "_deleted \
              AFTER DELETE ON ", stringify!($table), " \
              BEGIN DELETE FROM person_digests WHERE user_id = OLD.user_id; END;",
        )
    };
    (DROP) => {
        concat!(
            " DROP TRIGGER IF EXISTS person_digests_user_updated;",
            " DROP TRIGGER IF EXISTS person_digests_user_deleted;",
            triggers!(DROP user_licenses),
            triggers!(DROP user_disabled_apps),
            triggers!(DROP user_roles),
        )
    };
    (DROP $table:ident) => {
        concat!(
            " DROP TRIGGER IF EXISTS person_digests_", stringify!($table), "_inserted;",
            " DROP TRIGGER IF EXISTS person_digests_", stringify!($table), "_updated;",
            " DROP TRIGGER IF EXISTS person_digests_", stringify!($table), "_deleted;",
        )
    };
}
/// The indexes of `users` and the triggers that keep `person_digests` true, created after
/// [`SCHEMA`] and after an upgrade, and built again after a first import that dropped
/// them ([`DROP_INDEXES_AND_TRIGGERS`]). The indexes are by User Name, by Object ID, and
/// by Employee ID (a partial index: a look-up names `employee_id IS NOT NULL` to use it).
pub const INDEXES_AND_TRIGGERS: &str = concat!(
    "\
    CREATE UNIQUE INDEX IF NOT EXISTS users_by_key ON users(user_key); \
    CREATE UNIQUE INDEX IF NOT EXISTS users_by_object_id ON users(object_id); \
    CREATE INDEX IF NOT EXISTS users_by_employee_id ON users(lower(employee_id)) \
        WHERE employee_id IS NOT NULL;",
    triggers!(CREATE)
);

/// Drops [`INDEXES_AND_TRIGGERS`], so that a bulk load into a directory without users
/// (and so without digests) does not update them row by row.
pub const DROP_INDEXES_AND_TRIGGERS: &str = concat!(
    "\
    DROP INDEX IF EXISTS users_by_key; DROP INDEX IF EXISTS users_by_object_id; \
    DROP INDEX IF EXISTS users_by_employee_id;",
    triggers!(DROP)
);

/// The schema this program writes; stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 5;

/// What brings a directory of schema `N - 1` to schema `N`, for each `N` after 1; run in
/// the transaction that first writes an older directory. A new file gets [`SCHEMA`].
/// Schema 3's Object IDs are given to the existing users in Rust, after its SQL
/// ([`crate::store::Directory`]), with the generator that gives new users theirs; then
/// [`INDEXES_AND_TRIGGERS`] adds the indexes and triggers that are new.
pub const UPGRADES: [(i64, &str); 4] = [
    (
        2,
        "ALTER TABLE runs ADD COLUMN staged_sha256 TEXT NOT NULL DEFAULT ''; \
         ALTER TABLE runs ADD COLUMN staged_size INTEGER NOT NULL DEFAULT 0;",
    ),
    (
        3,
        "ALTER TABLE users ADD COLUMN object_id TEXT; \
         ALTER TABLE users ADD COLUMN deleted_at TEXT; \
         ALTER TABLE users ADD COLUMN deleted_run INTEGER; \
         ALTER TABLE users ADD COLUMN unlicensed_since TEXT; \
         UPDATE users SET unlicensed_since = \
             (SELECT started_at FROM runs WHERE runs.id = users.created_run) \
             WHERE NOT EXISTS (SELECT 1 FROM user_licenses WHERE user_id = users.id); \
         ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'import'; \
         ALTER TABLE runs ADD COLUMN offboarded INTEGER NOT NULL DEFAULT 0; \
         ALTER TABLE runs ADD COLUMN restored INTEGER NOT NULL DEFAULT 0; \
         ALTER TABLE runs ADD COLUMN purged INTEGER NOT NULL DEFAULT 0; \
         CREATE TABLE IF NOT EXISTS user_offboarded_licenses ( \
             user_id INTEGER NOT NULL REFERENCES users(id), sku TEXT NOT NULL, \
             PRIMARY KEY (user_id, sku)) WITHOUT ROWID;",
    ),
    (
        4,
        "CREATE TABLE IF NOT EXISTS mails ( \
             id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id), \
             kind TEXT NOT NULL, user_name TEXT NOT NULL, recipient TEXT NOT NULL, \
             state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, \
             reply TEXT NOT NULL DEFAULT '', updated_at TEXT, \
             UNIQUE (run, kind, user_name, recipient)); \
         CREATE TABLE IF NOT EXISTS graph_users ( \
             object_id TEXT PRIMARY KEY, user_name TEXT NOT NULL, state TEXT NOT NULL, \
             graph_id TEXT, version INTEGER NOT NULL DEFAULT 0, \
             licenses TEXT NOT NULL DEFAULT '', roles TEXT NOT NULL DEFAULT '', \
             last_error TEXT NOT NULL DEFAULT '', updated_at TEXT) WITHOUT ROWID;",
    ),
    (5, person_digests!()),
];

/// Page size of a directory file this program creates; an existing file keeps its own.
/// Bigger pages than SQLite's 4 KiB: fewer pages to write, balance and index.
pub const NEW_PAGE_SIZE: u32 = 8192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_field_has_its_column() {
        for (field, column) in crate::row::PROFILE {
            assert!(
                SCHEMA.contains(&format!(" {column} TEXT")),
                "{field:?}: no column {column} in the schema"
            );
        }
    }
}
