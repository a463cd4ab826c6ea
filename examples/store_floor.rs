//! What putting the users of IN.csv into SQLite costs, and nothing else: the store floor
//! that `scripts/bench` holds `onboard import` against. It creates a new directory file
//! with onboard's own schema and page size, and, in one durable transaction (rollback
//! journal, `synchronous = EXTRA`, as onboard's first import), inserts every record with
//! a prepared statement: the user (User Name, its key, an Object ID, the profile), a
//! licence row per `+`-separated name of the Licenses cell, and the seat counters. The
//! indexes are built after, as onboard does for a first import. No
//! check of any kind: a bad row is inserted as it is, and a repeated User Name is skipped.
//!
//! ```text
//! cargo run --release --example store_floor -- IN.csv OUT.db
//! ```

use std::collections::HashMap;
use std::process::ExitCode;

use onboard::row::{Columns, Field, PROFILE};
use onboard::store::schema::{INDEXES_AND_TRIGGERS, NEW_PAGE_SIZE, SCHEMA, SCHEMA_VERSION};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: store_floor IN.csv OUT.db");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(users) => {
            eprintln!("store_floor: {users} users");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("store_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str) -> Result<u64, Box<dyn std::error::Error>> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{output}{suffix}"));
    }
    let mut conn = rusqlite::Connection::open(output)?;
    conn.execute_batch(&format!(
        "PRAGMA page_size = {NEW_PAGE_SIZE}; PRAGMA journal_mode = DELETE; \
         PRAGMA synchronous = EXTRA; PRAGMA cache_size = -8192;"
    ))?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.execute(
        "INSERT INTO runs (id, run_id, started_at, finished_at, input_name, input_sha256, \
         dry_run, rows, created, updated, unchanged, skipped, failed, result_file, staged_file) \
         VALUES (1, 'floor', '', '', ?1, '', 0, 0, 0, 0, 0, 0, 0, '', '')",
        [input],
    )?;

    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(input)?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let columns = Columns::from_header(header.iter().map(String::as_str), 1, false)?;
    let profile_columns: Vec<&str> = PROFILE.iter().map(|(_, c)| *c).collect();
    let mut insert_user = tx.prepare(&format!(
        "INSERT INTO users (user_name, user_key, object_id, usage_location, created_run, {}) \
         VALUES (?1, ?2, ?3, ?4, 1, {})",
        profile_columns.join(", "),
        (0..PROFILE.len())
            .map(|i| format!("?{}", 5 + i))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let mut insert_license =
        tx.prepare("INSERT OR IGNORE INTO user_licenses (user_id, sku) VALUES (?1, ?2)")?;
    let mut seen = std::collections::HashSet::new();
    let mut seats: HashMap<String, i64> = HashMap::new();
    let mut users = 0u64;
    let mut record = csv::StringRecord::new();
    let cell = |record: &csv::StringRecord, field: Field| -> Option<String> {
        columns
            .get(field)
            .and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    while rdr.read_record(&mut record)? {
        let Some(user_name) = cell(&record, Field::UserName) else {
            continue;
        };
        let key = user_name.to_lowercase();
        if !seen.insert(key.clone()) {
            continue;
        }
        insert_user.raw_bind_parameter(1, &user_name)?;
        insert_user.raw_bind_parameter(2, &key)?;
        insert_user.raw_bind_parameter(3, uuid::Uuid::now_v7().to_string())?;
        insert_user.raw_bind_parameter(4, cell(&record, Field::UsageLocation))?;
        for (i, (field, _)) in PROFILE.iter().enumerate() {
            let value = cell(&record, *field);
            match field {
                // The one profile column that may not be NULL.
                Field::DisplayName => {
                    insert_user.raw_bind_parameter(5 + i, value.unwrap_or_default())?
                }
                _ => insert_user.raw_bind_parameter(5 + i, value)?,
            }
        }
        insert_user.raw_execute()?;
        let id = tx.last_insert_rowid();
        users += 1;
        if let Some(licenses) = cell(&record, Field::Licenses) {
            for sku in licenses.split('+').map(str::trim).filter(|s| !s.is_empty()) {
                if insert_license.execute(rusqlite::params![id, sku])? == 1 {
                    *seats.entry(sku.to_string()).or_default() += 1;
                }
            }
        }
    }
    drop(insert_user);
    drop(insert_license);
    let mut count = tx.prepare("INSERT INTO seat_counts (sku, assigned) VALUES (?1, ?2)")?;
    for (sku, n) in &seats {
        count.execute(rusqlite::params![sku, n])?;
    }
    drop(count);
    tx.execute_batch(INDEXES_AND_TRIGGERS)?;
    tx.commit()?;
    Ok(users)
}
