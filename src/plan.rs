//! The rules that need earlier rows and the directory, applied in file order: duplicates
//! in the file, existing users (SPEC §6) and the licence seat pool (SPEC §5).
//!
//! Everything here decides; nothing writes. The same plan is made for a dry run and a
//! real run, which is why a dry run reports exactly what the real run would do.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use anyhow::Result;

use crate::columns::{Columns, Field};
use crate::directory::{Directory, StoredUser};
use crate::rules::{CheckedRow, Code, PROFILE_FIELDS};
use crate::tenant::Tenant;

/// What happens to a row (the result file's `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Created,
        Status::Updated,
        Status::Unchanged,
        Status::Skipped,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// `--on-existing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExisting {
    Skip,
    Update,
    Fail,
}

/// `--on-shortage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnShortage {
    Unlicensed,
    Fail,
}

/// A row with its fate decided.
#[derive(Debug, Default)]
pub struct PlannedRow {
    pub row: CheckedRow,
    pub status: Option<Status>,
    /// Licences (tenant indices) the user holds from this row after the run.
    pub licenses: Vec<usize>,
    /// Licences to write: all of them for a new user, the missing ones on update.
    pub new_licenses: Vec<usize>,
    pub warnings: Vec<String>,
    /// The directory's user, for `updated` rows.
    pub existing: Option<StoredUser>,
    /// Filled only for created users in a real run.
    pub password: Option<String>,
}

impl PlannedRow {
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Failed)
    }
}

/// Seats left per licence, served in file order, all of a row's licences or none.
#[derive(Debug, Clone)]
pub struct SeatPool {
    available: Vec<i64>,
}

impl SeatPool {
    pub fn new(tenant: &Tenant, assigned: &HashMap<String, u64>) -> SeatPool {
        SeatPool {
            available: tenant
                .licenses
                .iter()
                .map(|l| l.seats as i64 - *assigned.get(&l.sku).unwrap_or(&0) as i64)
                .collect(),
        }
    }

    /// Takes one seat of each of `wanted`, or none and returns the ones that are short.
    pub fn reserve(&mut self, wanted: &[usize]) -> Result<(), Vec<usize>> {
        let short: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|&i| self.available[i] < 1)
            .collect();
        if !short.is_empty() {
            return Err(short);
        }
        for &i in wanted {
            self.available[i] -= 1;
        }
        Ok(())
    }

    pub fn available(&self, license: usize) -> i64 {
        self.available[license]
    }
}

type FixedState = BuildHasherDefault<DefaultHasher>;

/// Names seen so far, kept as 128-bit digests so memory stays small on a million rows.
#[derive(Default)]
struct SeenIndex {
    seen: HashMap<u128, u64, FixedState>,
}

impl SeenIndex {
    /// Remembers `key` at `line`; returns the earlier line if it was there.
    fn claim(&mut self, key: &str, line: u64) -> Option<u64> {
        let digest = digest(key);
        match self.seen.entry(digest) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(line);
                None
            }
        }
    }
}

/// Two independent 64-bit hashes of the lower-cased key.
fn digest(key: &str) -> u128 {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    0xA5u8.hash(&mut b);
    for c in key.chars().flat_map(char::to_lowercase) {
        a.write_u32(c as u32);
        b.write_u32(c as u32);
    }
    ((a.finish() as u128) << 64) | b.finish() as u128
}

/// The in-order stage: one per import.
pub struct Planner<'a> {
    pub tenant: &'a Tenant,
    pub columns: &'a Columns,
    pub on_existing: OnExisting,
    pub on_shortage: OnShortage,
    pub seats: SeatPool,
    users: SeenIndex,
    employee_ids: SeenIndex,
    /// Whether the directory has users at all: if not, no look-up is needed.
    look_up: bool,
}

impl<'a> Planner<'a> {
    pub fn new(
        tenant: &'a Tenant,
        columns: &'a Columns,
        on_existing: OnExisting,
        on_shortage: OnShortage,
        seats: SeatPool,
        directory_has_users: bool,
    ) -> Planner<'a> {
        Planner {
            tenant,
            columns,
            on_existing,
            on_shortage,
            seats,
            users: SeenIndex::default(),
            employee_ids: SeenIndex::default(),
            look_up: directory_has_users,
        }
    }

    /// Decides one row; rows must come in file order.
    pub fn plan(&mut self, row: CheckedRow, directory: Option<&Directory>) -> Result<PlannedRow> {
        let mut p = PlannedRow {
            row,
            ..PlannedRow::default()
        };
        let malformed = p.row.errors.iter().any(|e| e.code == Code::MalformedRow);
        if !malformed {
            self.check_duplicates(&mut p.row);
        }
        if p.row.failed() {
            p.status = Some(Status::Failed);
            return Ok(p);
        }
        let key = p.row.user_name.to_lowercase();
        let existing = match directory {
            Some(d) if self.look_up => d.find(&key, self.on_existing == OnExisting::Update)?,
            _ => None,
        };
        match existing {
            None => self.plan_create(&mut p),
            Some(user) => match self.on_existing {
                OnExisting::Skip => p.status = Some(Status::Skipped),
                OnExisting::Fail => {
                    p.row.error(
                        Code::AlreadyExists,
                        format!("{} is already in the directory", user.user_name),
                    );
                    p.status = Some(Status::Failed);
                }
                OnExisting::Update => self.plan_update(&mut p, user),
            },
        }
        Ok(p)
    }

    fn check_duplicates(&mut self, row: &mut CheckedRow) {
        let line = row.raw.line;
        if !row.user_name.is_empty() {
            if let Some(first) = self.users.claim(&row.user_name, line) {
                let msg = format!("User Name {} is also on line {first}", row.user_name);
                row.error(Code::DuplicateInFile, msg);
            }
        }
        let employee_id = row.cell(self.columns, Field::EmployeeId).to_string();
        if !employee_id.is_empty() {
            if let Some(first) = self.employee_ids.claim(&employee_id, line) {
                let msg = format!("Employee ID {employee_id} is also on line {first}");
                row.error(Code::DuplicateInFile, msg);
            }
        }
    }

    /// Serves `wanted` from the pool; on a shortage applies `--on-shortage`. Returns the
    /// licences granted.
    fn serve(&mut self, p: &mut PlannedRow, wanted: &[usize]) -> Vec<usize> {
        match self.seats.reserve(wanted) {
            Ok(()) => wanted.to_vec(),
            Err(short) => {
                let skus: Vec<&str> = short
                    .iter()
                    .map(|&i| self.tenant.licenses[i].sku.as_str())
                    .collect();
                match self.on_shortage {
                    OnShortage::Unlicensed => {
                        p.warnings
                            .extend(skus.iter().map(|s| format!("no_seats: {s}")));
                    }
                    OnShortage::Fail => {
                        let msg = format!("no seats left for {}", skus.join(", "));
                        p.row.error(Code::NoSeats, msg);
                        p.status = Some(Status::Failed);
                    }
                }
                Vec::new()
            }
        }
    }

    fn plan_create(&mut self, p: &mut PlannedRow) {
        let wanted = p.row.licenses.clone();
        let granted = self.serve(p, &wanted);
        if p.status == Some(Status::Failed) {
            return;
        }
        if granted.is_empty() {
            // Disabled apps only make sense on licences the user really gets.
            p.row.disabled_apps.clear();
        }
        p.licenses = granted.clone();
        p.new_licenses = granted;
        p.status = Some(Status::Created);
    }

    fn plan_update(&mut self, p: &mut PlannedRow, user: StoredUser) {
        let held: Vec<usize> = p
            .row
            .licenses
            .iter()
            .copied()
            .filter(|&i| {
                user.licenses
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&self.tenant.licenses[i].sku))
            })
            .collect();
        let missing: Vec<usize> = p
            .row
            .licenses
            .iter()
            .copied()
            .filter(|i| !held.contains(i))
            .collect();
        let granted = self.serve(p, &missing);
        if p.status == Some(Status::Failed) {
            return;
        }
        p.licenses = p
            .row
            .licenses
            .iter()
            .copied()
            .filter(|i| held.contains(i) || granted.contains(i))
            .collect();
        p.row.disabled_apps.retain(|(l, app)| {
            p.licenses.contains(l)
                && !user.disabled_apps.iter().any(|(s, a)| {
                    s.eq_ignore_ascii_case(&self.tenant.licenses[*l].sku)
                        && a.eq_ignore_ascii_case(app)
                })
        });
        p.row
            .roles
            .retain(|r| !user.roles.iter().any(|u| u.eq_ignore_ascii_case(r)));
        let profile_changes = PROFILE_FIELDS.iter().enumerate().any(|(i, &f)| {
            let v = p.row.cell(self.columns, f);
            !v.is_empty() && v != user.profile[i]
        });
        let location_change = !p.row.cell(self.columns, Field::UsageLocation).is_empty()
            && p.row.usage_location != user.usage_location;
        let block_change = p.row.block_sign_in.is_some_and(|b| b != user.block_sign_in);
        let changed = profile_changes
            || location_change
            || block_change
            || !granted.is_empty()
            || !p.row.disabled_apps.is_empty()
            || !p.row.roles.is_empty();
        if !p.row.cell(self.columns, Field::Password).is_empty() {
            p.warnings
                .push("password_ignored: an existing user keeps their password".to_string());
        }
        p.new_licenses = granted;
        p.status = Some(if changed {
            Status::Updated
        } else {
            Status::Unchanged
        });
        p.existing = Some(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_reserved_all_or_nothing() {
        let mut pool = SeatPool {
            available: vec![1, 2],
        };
        assert_eq!(pool.reserve(&[0, 1]), Ok(()));
        assert_eq!(pool.reserve(&[0, 1]), Err(vec![0]));
        assert_eq!(pool.available(1), 1, "a refused row took nothing");
        assert_eq!(pool.reserve(&[1]), Ok(()));
        assert_eq!(pool.available(1), 0);
    }

    #[test]
    fn duplicates_are_case_insensitive() {
        let mut seen = SeenIndex::default();
        assert_eq!(seen.claim("Jan@Contoso.com", 2), None);
        assert_eq!(seen.claim("jan@contoso.COM", 5), Some(2));
        assert_eq!(seen.claim("jan2@contoso.com", 6), None);
    }
}
