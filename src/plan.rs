//! The rules that need earlier rows and the directory, applied in file order: duplicates
//! in the file, existing users and the licence seat pool (docs/rules.md).
//!
//! Everything here decides; nothing writes. The same plan is made for a dry run and a
//! real run, which is why a dry run reports exactly what the real run would do.

use std::collections::HashMap;

use anyhow::Result;
use smallvec::SmallVec;

use crate::password::Password;
use crate::row::{
    printable, CheckedRow, Code, Columns, Digest, Field, Status, EMPLOYEE_ID_AT, PROFILE_FIELDS,
    PROFILE_LEN,
};
use crate::snapshot::{Snapshot, StateSpec};
use crate::store::people::Identity;
use crate::store::{Directory, StoredUser, UserWrite};
use crate::tenant::Tenant;

/// `--on-existing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    Skip,
    Update,
    Fail,
}

/// `--match`: how a row finds its user in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchBy {
    UserName,
    EmployeeId,
}

/// `--on-shortage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub licenses: SmallVec<[u16; 4]>,
    /// Licences to write: all of them for a new user, the missing ones on update.
    pub new_licenses: SmallVec<[u16; 4]>,
    pub warnings: Vec<String>,
    /// The directory's user, for `updated` rows.
    pub existing: Option<Box<StoredUser>>,
    /// Filled only for created users in a real run.
    pub password: Option<Password>,
    /// The row renames the existing user (`--match employee-id`).
    pub renamed: bool,
    /// A credential mail goes to the created user (`--mail-credentials`).
    pub mail: bool,
}

impl PlannedRow {
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Failed)
    }
}

impl PlannedRow {
    /// What the directory is to get for this row: the user it creates or updates, with
    /// the licences it adds; `None` for a row that leaves the directory alone.
    pub fn user_write<'r>(
        &'r self,
        tenant: &'r Tenant,
        columns: &Columns,
    ) -> Option<UserWrite<'r>> {
        let status = self.status();
        if status != Status::Created && status != Status::Updated {
            return None;
        }
        let row = &self.row;
        let mut profile = [""; PROFILE_LEN];
        for (i, &f) in PROFILE_FIELDS.iter().enumerate() {
            profile[i] = row.cell(columns, f);
            if let (true, Some(user)) = (profile[i].is_empty(), &self.existing) {
                profile[i] = &user.profile[i]; // on update, an empty cell keeps the stored value
            }
        }
        let usage_location =
            if status == Status::Updated && row.cell(columns, Field::UsageLocation).is_empty() {
                self.existing
                    .as_ref()
                    .and_then(|u| u.usage_location.as_deref())
                    .or(row.usage_location)
            } else {
                row.usage_location
            };
        Some(UserWrite {
            // An update keeps the stored spelling, unless the row renames the user.
            user_name: match &self.existing {
                Some(user) if !self.renamed => &user.user_name,
                _ => &row.user_name,
            },
            key: &row.key,
            profile,
            usage_location,
            block_sign_in: row
                .block_sign_in
                .or(self.existing.as_ref().map(|u| u.block_sign_in))
                .unwrap_or(false),
            force_password_change: tenant.force_change,
            licenses: self
                .new_licenses
                .iter()
                .map(|&i| tenant.licenses[i as usize].sku.as_str())
                .collect(),
            disabled_apps: row
                .disabled_apps
                .iter()
                .map(|&(l, a)| {
                    let license = &tenant.licenses[l as usize];
                    (license.sku.as_str(), license.apps[a as usize].as_str())
                })
                .collect(),
            roles: &row.roles,
        })
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

    /// Gives back the seats of licences a leaver held, for the rows after.
    pub fn release(&mut self, held: &[u16]) {
        for &i in held {
            self.available[i as usize] += 1;
        }
    }

    /// Takes one seat of each of `wanted`, or none and returns the ones that are short.
    pub fn reserve(&mut self, wanted: &[u16]) -> Result<(), Vec<u16>> {
        if wanted.iter().all(|&i| self.available[i as usize] >= 1) {
            for &i in wanted {
                self.available[i as usize] -= 1;
            }
            return Ok(());
        }
        Err(wanted
            .iter()
            .copied()
            .filter(|&i| self.available[i as usize] < 1)
            .collect())
    }

    pub fn available(&self, license: usize) -> i64 {
        self.available[license]
    }
}

/// One slot of a [`SeenIndex`]: a key's digest and the line it was first seen on
/// (`line == 0`: empty; data rows start at line 2).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    hi: u64,
    lo: u32,
    line: u32,
}

/// Keys seen so far, as digests with the line they were first seen on: 16 bytes a slot in
/// an open-addressing table (linear probing, at most 70% full), so a million-row file
/// needs 32 MiB. The digests are already uniform, so their bits index the table directly,
/// and the planner prefetches the slots of the rows ahead: a probe into a table this size
/// is otherwise a cache miss a row.
struct SeenIndex {
    slots: Vec<Slot>,
    len: usize,
}

impl Default for SeenIndex {
    fn default() -> SeenIndex {
        SeenIndex::with_capacity(0)
    }
}

impl SeenIndex {
    fn with_capacity(n: usize) -> SeenIndex {
        let slots = (n.saturating_mul(10) / 7).max(16).next_power_of_two();
        SeenIndex {
            slots: vec![Slot::default(); slots],
            len: 0,
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Asks the CPU to fetch the slot `key` starts probing at.
    fn prefetch(&self, key: Digest) {
        crate::row::prefetch(&self.slots[key.hi as usize & self.mask()]);
    }

    /// The slot `key` is in, or the empty slot where it would go.
    fn probe(&self, key: Digest) -> usize {
        let mask = self.mask();
        let mut i = key.hi as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.line == 0 || (slot.hi == key.hi && slot.lo == key.lo) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The line `key` was claimed on, if it was.
    fn find(&self, key: Digest) -> Option<u64> {
        match self.slots[self.probe(key)].line {
            0 => None,
            line => Some(line as u64),
        }
    }

    /// Remembers `key` at `line`; returns the earlier line if it was there.
    fn claim(&mut self, key: Digest, line: u64) -> Option<u64> {
        let i = self.probe(key);
        if self.slots[i].line != 0 {
            return Some(self.slots[i].line as u64);
        }
        self.slots[i] = Slot {
            hi: key.hi,
            lo: key.lo,
            line: line.clamp(1, u32::MAX as u64) as u32,
        };
        self.len += 1;
        if self.len * 10 > self.slots.len() * 7 {
            self.grow();
        }
        None
    }

    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.mask();
        for slot in old.into_iter().filter(|s| s.line != 0) {
            let mut i = slot.hi as usize & mask;
            while self.slots[i].line != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// The in-order stage: one per import.
pub struct Planner<'a> {
    pub tenant: &'a Tenant,
    pub columns: &'a Columns,
    pub on_existing: OnExisting,
    pub on_shortage: OnShortage,
    pub seats: SeatPool,
    pub match_by: MatchBy,
    /// Under `--match employee-id`: the directory's people and their states, so that a
    /// row that changes nothing needs no look-up.
    /// Shared with the workers, which judge their rows against it ([`Snapshot::holds`]).
    pub snapshot: Option<std::sync::Arc<(Snapshot, StateSpec)>>,
    /// Rows the snapshot decided without a look-up.
    pub unchanged_by_snapshot: u64,
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
        expected_rows: usize,
    ) -> Planner<'a> {
        Planner {
            tenant,
            columns,
            on_existing,
            on_shortage,
            seats,
            match_by: MatchBy::UserName,
            snapshot: None,
            unchanged_by_snapshot: 0,
            users: SeenIndex::with_capacity(expected_rows),
            employee_ids: SeenIndex::with_capacity(
                columns.get(Field::EmployeeId).map_or(0, |_| expected_rows),
            ),
            look_up: directory_has_users,
        }
    }

    /// Whether a row of the file had the Employee ID of this digest.
    pub fn saw_employee(&self, digest: Digest) -> bool {
        self.employee_ids.find(digest).is_some()
    }

    /// Fetches what planning `row` will look at into the cache ahead of time.
    pub fn prefetch(&self, row: &CheckedRow) {
        self.users.prefetch(row.key_digest);
        if let Some(d) = row.employee_digest {
            self.employee_ids.prefetch(d);
        }
    }

    /// Decides one row; rows must come in file order.
    pub fn plan(&mut self, row: CheckedRow, directory: Option<&Directory>) -> Result<PlannedRow> {
        let mut p = PlannedRow {
            row,
            ..PlannedRow::default()
        };
        self.plan_in_place(&mut p, directory)?;
        Ok(p)
    }

    /// [`Planner::plan`] of the row in `p`, whose other fields are reset and whose
    /// buffers are reused.
    pub fn plan_in_place(
        &mut self,
        p: &mut PlannedRow,
        directory: Option<&Directory>,
    ) -> Result<()> {
        p.status = None;
        p.licenses.clear();
        p.new_licenses.clear();
        p.existing = None;
        p.password = None;
        p.renamed = false;
        p.mail = false;
        p.warnings.clear();
        std::mem::swap(&mut p.warnings, &mut p.row.warnings); // the reader's come first
        let malformed = p.row.errors.iter().any(|e| e.code == Code::MalformedRow);
        if !malformed {
            self.check_duplicates(&mut p.row);
        }
        if p.row.failed() {
            p.status = Some(Status::Failed);
            return Ok(());
        }
        if self.unchanged_by_snapshot(p) {
            return Ok(());
        }
        let existing = match directory {
            Some(d) if self.look_up => match self.match_by {
                MatchBy::UserName => d.find(
                    &p.row.key,
                    self.on_existing == OnExisting::Update || p.row.leaver,
                )?,
                MatchBy::EmployeeId => {
                    let id = p.row.cell(self.columns, Field::EmployeeId).to_lowercase();
                    let mut found = d.find_people(&Identity::EmployeeId(id))?;
                    if found.len() > 1 {
                        let names: Vec<String> =
                            found.iter().map(|u| printable(&u.user_name)).collect();
                        let msg = format!(
                            "Employee ID {} is held by {} users ({}); give each their own",
                            printable(p.row.cell(self.columns, Field::EmployeeId)),
                            found.len(),
                            names.join(", ")
                        );
                        p.row.error(Code::AlreadyExists, msg);
                        p.status = Some(Status::Failed);
                        return Ok(());
                    }
                    found.pop()
                }
            },
            _ => None,
        };
        if p.row.leaver {
            self.plan_leaver(p, existing);
            return Ok(());
        }
        let existing = match (self.match_by, existing) {
            (MatchBy::EmployeeId, Some(user)) if user.deleted_at.is_none() => {
                if !self.take_name_of(p, &user, directory)? {
                    return Ok(());
                }
                Some(user)
            }
            (MatchBy::EmployeeId, None) => {
                if !self.settle_built_name(p, directory)? {
                    return Ok(());
                }
                None
            }
            (_, existing) => existing,
        };
        match existing {
            None => self.plan_create(p),
            Some(user) if user.deleted_at.is_some() => {
                // An offboarded user's name stays theirs until purged.
                let msg = format!(
                    "{} is an offboarded user (since {}); `onboard restore` brings them back, and the name is free once purged",
                    printable(&user.user_name),
                    user.deleted_at.as_deref().unwrap_or_default()
                );
                p.row.error(Code::AlreadyExists, msg);
                p.status = Some(Status::Failed);
            }
            Some(user) if self.someone_else(&p.row, &user) => {
                let stored = printable(&user.profile[EMPLOYEE_ID_AT]);
                let msg = format!(
                    "the built User Name {} is the directory's user with Employee ID {stored}, \
                     not {}: a different person. Give this row a typed User Name",
                    printable(&user.user_name),
                    printable(p.row.cell(self.columns, Field::EmployeeId))
                );
                p.row.error(Code::AlreadyExists, msg);
                p.status = Some(Status::Failed);
            }
            Some(user) => match self.on_existing {
                OnExisting::Skip => p.status = Some(Status::Skipped),
                OnExisting::Fail => {
                    p.row.error(
                        Code::AlreadyExists,
                        format!("{} is already in the directory", printable(&user.user_name)),
                    );
                    p.status = Some(Status::Failed);
                }
                OnExisting::Update => self.plan_update(p, user),
            },
        }
        Ok(())
    }

    /// The fast path of a nightly sync: a row whose person is in the snapshot in the very
    /// state the row asks for is `unchanged` (with `--on-existing update`) or `skipped`,
    /// without a look-up. Anything else is planned in full.
    fn unchanged_by_snapshot(&mut self, p: &mut PlannedRow) -> bool {
        let Some(known) = self.snapshot.as_deref() else {
            return false;
        };
        if self.on_existing == OnExisting::Fail {
            return false;
        }
        let holds = match p.row.as_stored {
            Some(holds) => holds,
            None => known.0.holds(&known.1, &p.row, self.columns, self.tenant),
        };
        if !holds {
            return false;
        }
        // The name is the stored one (it is part of the state): claim it as the full
        // plan would, a built one here, a typed one in check_duplicates.
        if p.row.built_name && self.users.claim(p.row.key_digest, p.row.line).is_some() {
            return false;
        }
        forget_built_name(p);
        p.status = Some(match self.on_existing {
            OnExisting::Update => Status::Unchanged,
            _ => Status::Skipped,
        });
        if p.status == Some(Status::Unchanged) {
            p.licenses = p.row.licenses.clone();
        }
        self.unchanged_by_snapshot += 1;
        true
    }

    /// A leaver's row: a matched active user is offboarded (whatever `--on-existing`
    /// says) and their seats go back to the pool for the rows after; anyone else is
    /// skipped with a warning.
    fn plan_leaver(&mut self, p: &mut PlannedRow, existing: Option<StoredUser>) {
        match existing {
            None => {
                p.status = Some(Status::Skipped);
                p.warnings
                    .push("not_found: a leaver who is not in the directory".to_string());
            }
            Some(user) if user.deleted_at.is_some() => {
                p.status = Some(Status::Skipped);
                p.warnings.push(format!(
                    "already_offboarded: since {}",
                    user.deleted_at.as_deref().unwrap_or_default()
                ));
            }
            Some(user) => {
                let held: SmallVec<[u16; 4]> = user
                    .licenses
                    .iter()
                    .filter_map(|sku| self.tenant.license_index(sku).map(|i| i as u16))
                    .collect();
                self.seats.release(&held);
                p.licenses = held;
                forget_built_name(p);
                p.row.user_name.clone_from(&user.user_name);
                p.status = Some(Status::Offboarded);
                p.existing = Some(Box::new(user));
            }
        }
    }

    /// Under `--match employee-id`, the row of a person the directory has: a built User
    /// Name gives way to the stored one; a typed one that differs renames the user, when
    /// it is free. Returns false when the row failed.
    fn take_name_of(
        &mut self,
        p: &mut PlannedRow,
        user: &StoredUser,
        directory: Option<&Directory>,
    ) -> Result<bool> {
        let stored_key = user.user_name.to_lowercase();
        if p.row.built_name || p.row.key == stored_key {
            p.row.user_name.clone_from(&user.user_name);
            p.row.key = stored_key;
            p.row.key_digest = Digest::of(&p.row.key);
            forget_built_name(p);
            if let Some(first) = self.users.claim(p.row.key_digest, p.row.line) {
                if p.row.built_name {
                    let msg = format!(
                        "User Name {} is also on line {first}",
                        printable(&p.row.user_name)
                    );
                    p.row.error(Code::DuplicateInFile, msg);
                    p.status = Some(Status::Failed);
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        // A rename: the new name must be free in the directory.
        let taken = match directory {
            Some(d) => d.find(&p.row.key, false)?,
            None => None,
        };
        if let Some(other) = taken {
            let msg = format!(
                "{} cannot be renamed to {}: the name is {}'s",
                printable(&user.user_name),
                printable(&p.row.user_name),
                printable(&other.user_name)
            );
            p.row.error(Code::AlreadyExists, msg);
            p.status = Some(Status::Failed);
            return Ok(false);
        }
        p.renamed = true;
        p.warnings.push(format!(
            "renamed: {} → {}",
            printable(&user.user_name),
            printable(&p.row.user_name)
        ));
        Ok(true)
    }

    /// Under `--match employee-id`, a new person's built User Name: the first of the name,
    /// then the name numbered 2, 3, … that is free in the file and in the directory, so
    /// a new namesake never lands on someone else's account. Returns false when the row
    /// failed.
    fn settle_built_name(
        &mut self,
        p: &mut PlannedRow,
        directory: Option<&Directory>,
    ) -> Result<bool> {
        if !p.row.built_name {
            // Typed: the name is the person's, and must not be another's.
            if let Some(user) = match directory {
                Some(d) => d.find(&p.row.key, false)?,
                None => None,
            } {
                let msg = format!(
                    "{} is already the directory's user with Employee ID {}; this row's Employee ID is {}",
                    printable(&user.user_name),
                    printable(&user.profile[EMPLOYEE_ID_AT]),
                    printable(p.row.cell(self.columns, Field::EmployeeId))
                );
                p.row.error(Code::AlreadyExists, msg);
                p.status = Some(Status::Failed);
                return Ok(false);
            }
            return Ok(true);
        }
        let built = p.row.user_name.clone();
        let (local, domain) = built.rsplit_once('@').unwrap_or((&built, ""));
        let base = local.trim_end_matches(|c: char| c.is_ascii_digit());
        let base = if base.is_empty() { local } else { base };
        for n in 1u32.. {
            let candidate = match n {
                1 => built.clone(),
                _ => format!("{base}{n}@{domain}"),
            };
            let key = candidate.to_lowercase();
            let digest = Digest::of(&key);
            if self.users.find(digest).is_some() {
                continue;
            }
            if let Some(d) = directory {
                if d.find(&key, false)?.is_some() {
                    continue;
                }
            }
            if candidate != built {
                p.warnings.retain(|w| !w.starts_with("user_name_numbered"));
                p.warnings.push(format!(
                    "user_name_numbered: {} ({} is taken in the file or the directory)",
                    printable(&candidate),
                    printable(&built)
                ));
                p.row.user_name = candidate;
                p.row.key = key;
                p.row.key_digest = digest;
            }
            self.users.claim(digest, p.row.line);
            return Ok(true);
        }
        unreachable!("some number is free")
    }

    /// Whether a built User Name found in the directory belongs to another person: both
    /// the row and the stored user have an Employee ID, and they differ. A typed User Name
    /// names its account on purpose; a built one may be a namesake's.
    fn someone_else(&self, row: &CheckedRow, user: &StoredUser) -> bool {
        let ours = row.cell(self.columns, Field::EmployeeId);
        let theirs = user.profile[EMPLOYEE_ID_AT].trim();
        row.built_name
            && !ours.is_empty()
            && !theirs.is_empty()
            && ours.to_lowercase() != theirs.to_lowercase()
    }

    fn check_duplicates(&mut self, row: &mut CheckedRow) {
        let line = row.line;
        // Under --match employee-id a built name is settled against the directory too,
        // after the look-up ([`Planner::settle_built_name`]).
        let settle_later = self.match_by == MatchBy::EmployeeId && row.built_name;
        if !row.user_name.is_empty() && !settle_later {
            if let Some(first) = self.users.claim(row.key_digest, line) {
                let msg = format!(
                    "User Name {} is also on line {first}",
                    printable(&row.user_name)
                );
                row.error(Code::DuplicateInFile, msg);
            }
        }
        if let Some(digest) = row.employee_digest {
            if let Some(first) = self.employee_ids.claim(digest, line) {
                let employee_id = row.cell(self.columns, Field::EmployeeId);
                let msg = format!(
                    "Employee ID {} is also on line {first}",
                    printable(employee_id)
                );
                row.error(Code::DuplicateInFile, msg);
            }
        }
    }

    /// Serves `wanted` from the pool, all or nothing; on a shortage applies
    /// `--on-shortage`. Returns whether the seats were granted.
    fn serve(&mut self, p: &mut PlannedRow, wanted: &[u16]) -> bool {
        if wanted.is_empty() {
            return true;
        }
        let Err(short) = self.seats.reserve(wanted) else {
            return true;
        };
        let skus: Vec<&str> = short
            .iter()
            .map(|&i| self.tenant.licenses[i as usize].sku.as_str())
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
        false
    }

    fn plan_create(&mut self, p: &mut PlannedRow) {
        let wanted = std::mem::take(&mut p.row.licenses);
        let granted = self.serve(p, &wanted);
        p.row.licenses = wanted;
        if p.status == Some(Status::Failed) {
            return;
        }
        if granted {
            p.licenses.extend_from_slice(&p.row.licenses);
            p.new_licenses.extend_from_slice(&p.row.licenses);
        } else {
            // Disabled apps only make sense on licences the user really gets.
            p.row.disabled_apps.clear();
        }
        p.status = Some(Status::Created);
    }

    fn plan_update(&mut self, p: &mut PlannedRow, user: StoredUser) {
        let held: Vec<u16> = p
            .row
            .licenses
            .iter()
            .copied()
            .filter(|&i| {
                user.licenses
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&self.tenant.licenses[i as usize].sku))
            })
            .collect();
        let missing: Vec<u16> = p
            .row
            .licenses
            .iter()
            .copied()
            .filter(|i| !held.contains(i))
            .collect();
        let granted: SmallVec<[u16; 4]> = if self.serve(p, &missing) {
            SmallVec::from_slice(&missing)
        } else {
            SmallVec::new()
        };
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
        let tenant = self.tenant;
        p.row.disabled_apps.retain(|&mut (l, app)| {
            let license = &tenant.licenses[l as usize];
            p.licenses.contains(&l)
                && !user.disabled_apps.iter().any(|(s, a)| {
                    s.eq_ignore_ascii_case(&license.sku)
                        && a.eq_ignore_ascii_case(&license.apps[app as usize])
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
            && p.row.usage_location != user.usage_location.as_deref();
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
        p.existing = Some(Box::new(user));
    }
}

/// A row that goes by a stored User Name: the warnings about the name built for it go.
fn forget_built_name(p: &mut PlannedRow) {
    if p.row.built_name {
        p.warnings.retain(|w| !w.starts_with("user_name_"));
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
    fn seen_keys_remember_their_first_line() {
        let mut seen = SeenIndex::default();
        assert_eq!(seen.claim(Digest::of("jan@contoso.com"), 2), None);
        assert_eq!(seen.claim(Digest::of("jan@contoso.com"), 5), Some(2));
        assert_eq!(seen.claim(Digest::of("jan2@contoso.com"), 6), None);
    }

    #[test]
    fn seen_index_grows_and_keeps_every_key() {
        let mut seen = SeenIndex::with_capacity(4);
        for i in 0..10_000u64 {
            assert_eq!(seen.claim(Digest::of(&format!("u{i}@x")), i + 2), None);
        }
        assert!(seen.slots.len() >= 10_000 * 10 / 7);
        for i in 0..10_000u64 {
            assert_eq!(
                seen.claim(Digest::of(&format!("u{i}@x")), 99_999),
                Some(i + 2)
            );
        }
        // Keys that share the first 64 bits are still told apart by the other 32.
        let a = Digest { hi: 7, lo: 1 };
        let b = Digest { hi: 7, lo: 2 };
        assert_eq!(seen.claim(a, 3), None);
        assert_eq!(seen.claim(b, 4), None);
        assert_eq!(seen.claim(b, 5), Some(4));
    }
}
