//! What a nightly sync (`--match employee-id`) knows of the directory before its first
//! row: every active person with an Employee ID, by a digest of that ID, with a digest of
//! their state as the input's columns see it.
//!
//! A night's export mostly repeats what the directory holds. A row whose state digest
//! matches its person's is `unchanged` without a look-up; only the rows that differ (a
//! changed title, a new licence, a rename, a leaver, a new person) are looked up and
//! planned in full. The snapshot is 40 bytes a person, so a million people take about
//! 40 MB. It also tells `--full-export` who is missing. The directory keeps each person's
//! digests between nights ([`crate::store::digests`]): a night reads those, and in full
//! only the people written since.

use std::ops::RangeInclusive;

use anyhow::Result;
use smallvec::SmallVec;
use tracing::debug;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::row::{CheckedRow, Columns, Digest, Field, EMPLOYEE_ID_AT, PROFILE_FIELDS};
use crate::store::digests::{Kept, KeptPerson};
use crate::store::people::{PersonView, Users};
use crate::store::Directory;
use crate::tenant::Tenant;

/// The version of the digests: to be changed with anything that changes them, so that
/// the digests a directory keeps from before are not taken for today's.
const DIGEST_VERSION: &str = "onboard person state 2";

/// The parts of a person the input's columns say something about.
#[derive(Debug, Clone)]
pub struct StateSpec {
    /// Profile fields (indices into [`PROFILE_FIELDS`]) the input has a column for.
    profile: Vec<usize>,
    location: bool,
    block: bool,
    licenses: bool,
    apps: bool,
    roles: bool,
}

impl StateSpec {
    pub fn new(columns: &Columns) -> StateSpec {
        let has = |f: Field| columns.get(f).is_some();
        StateSpec {
            profile: PROFILE_FIELDS
                .iter()
                .enumerate()
                .filter(|(_, &f)| has(f))
                .map(|(i, _)| i)
                .collect(),
            location: has(Field::UsageLocation),
            block: has(Field::BlockSignIn),
            licenses: has(Field::Licenses),
            apps: has(Field::DisabledApps),
            roles: has(Field::Roles),
        }
    }

    /// What names these columns and this way of digesting among the digests the directory
    /// keeps: any change to either makes them digests of something else.
    pub fn key(&self) -> u64 {
        let mut h = State::new();
        h.text(DIGEST_VERSION);
        h.len(self.profile.len());
        for &i in &self.profile {
            h.len(i);
        }
        for flag in [
            self.location,
            self.block,
            self.licenses,
            self.apps,
            self.roles,
        ] {
            h.len(flag as usize);
        }
        h.finish()
    }

    /// The state of a stored person.
    pub fn of_stored(&self, user: &PersonView) -> PersonState {
        let mut h = State::new();
        h.text(user.user_name);
        for &i in &self.profile {
            h.text(user.profile[i]);
        }
        if self.licenses {
            h.set(user.licenses.iter().map(String::as_str));
        }
        if self.apps {
            h.pairs(
                user.disabled_apps
                    .iter()
                    .map(|(s, a)| (s.as_str(), a.as_str())),
            );
        }
        if self.roles {
            h.set(user.roles.iter().map(String::as_str));
        }
        PersonState {
            rest: h.finish(),
            location: location_digest(user.usage_location),
            block: user.block_sign_in,
        }
    }

    /// Whether `row` asks for what the person in `state` already is: the same name,
    /// profile cells, licences, apps and roles, and a Usage Location and Block Sign In
    /// that are the stored ones or left empty (which keeps them).
    pub fn row_matches(
        &self,
        state: &PersonState,
        row: &CheckedRow,
        columns: &Columns,
        tenant: &Tenant,
    ) -> bool {
        if self.location && !row.cell(columns, Field::UsageLocation).is_empty() {
            let asked = location_digest(row.usage_location.unwrap_or("").as_bytes());
            if asked != state.location {
                return false;
            }
        }
        if self.block && row.block_sign_in.is_some_and(|b| b != state.block) {
            return false;
        }
        self.rest_of_row(row, columns, tenant) == state.rest
    }

    fn rest_of_row(&self, row: &CheckedRow, columns: &Columns, tenant: &Tenant) -> u64 {
        let mut h = State::new();
        h.text(&row.user_name);
        for &i in &self.profile {
            h.text(row.cell(columns, PROFILE_FIELDS[i]));
        }
        if self.licenses {
            h.set(
                row.licenses
                    .iter()
                    .map(|&l| tenant.licenses[l as usize].sku.as_str()),
            );
        }
        if self.apps {
            h.pairs(row.disabled_apps.iter().map(|&(l, a)| {
                let license = &tenant.licenses[l as usize];
                (license.sku.as_str(), license.apps[a as usize].as_str())
            }));
        }
        if self.roles {
            h.set(row.roles.iter().copied());
        }
        h.finish()
    }
}

/// A digest of texts and sets, in order: each text is hashed on its own, seeded with the
/// digest so far, so that no two different sequences chain the same way. Hashing field
/// by field costs less than gathering the fields in a buffer to hash once (which
/// measured half of a nightly sync's judging of its rows: a copy and a length for each
/// of twenty fields of a million rows).
struct State(u64);

impl State {
    fn new() -> State {
        State(0)
    }

    fn len(&mut self, n: usize) {
        self.0 = xxh3_64_with_seed(&(n as u64).to_le_bytes(), self.0);
    }

    fn text(&mut self, s: impl AsRef<[u8]>) {
        self.0 = xxh3_64_with_seed(s.as_ref(), self.0);
    }

    fn set<'a>(&mut self, items: impl Iterator<Item = &'a str>) {
        let mut items: SmallVec<[&str; 8]> = items.collect();
        items.sort_unstable();
        items.dedup();
        self.len(items.len());
        for i in items {
            self.text(i);
        }
    }

    fn pairs<'a>(&mut self, items: impl Iterator<Item = (&'a str, &'a str)>) {
        let mut items: SmallVec<[(&str, &str); 8]> = items.collect();
        items.sort_unstable();
        items.dedup();
        self.len(items.len());
        for (a, b) in items {
            self.text(a);
            self.text(b);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the snapshot keeps of a person: a digest of everything but the Usage Location and
/// Block Sign In, which a row may leave empty to keep, and those two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonState {
    rest: u64,
    location: u64,
    block: bool,
}

fn location_digest(location: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(location)
}

/// One person in the snapshot.
#[derive(Debug, Clone, Copy)]
struct Entry {
    employee: Digest,
    state: PersonState,
    id: i64,
    /// Another active person has the same Employee ID: never a fast match.
    shared: bool,
}

impl Entry {
    const EMPTY: Entry = Entry {
        employee: Digest { hi: 0, lo: 0 },
        state: PersonState {
            rest: 0,
            location: 0,
            block: false,
        },
        id: 0,
        shared: false,
    };

    /// The entry of a kept user who is an active person with an Employee ID.
    fn of_kept(k: &Kept) -> Option<Entry> {
        k.person.map(|p| Entry {
            employee: Digest {
                hi: p.employee_hi,
                lo: p.employee_lo,
            },
            state: PersonState {
                rest: p.rest,
                location: p.location,
                block: p.block,
            },
            id: k.user_id,
            shared: false,
        })
    }
}

/// The active people with an Employee ID, sorted by the digest of that ID, with an index
/// of where each run of digests with the same top bits starts: a look-up is a jump and a
/// short scan (about two cache misses) instead of a binary search's twenty.
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: Vec<Entry>,
    /// `starts[b]`: the first entry whose digest's top `bits` bits are `b` or more.
    starts: Vec<u32>,
    bits: u32,
}

impl Snapshot {
    /// The snapshot of the directory seen through `d`, and the digests it had to work out
    /// because the directory did not keep them (see [`crate::store::digests`]): a real run
    /// keeps those for the next night.
    ///
    /// The kept digests are read first. When they cover every user, that is all; when
    /// they cover most, only the users they miss are read in full; otherwise everyone is.
    /// With a `helper` connection that sees the same directory (both in a read transaction
    /// while this process holds the write lock), the upper half of the user ids is read on
    /// a second thread through it.
    pub fn build(
        d: &Directory,
        spec: &StateSpec,
        mut helper: Option<Directory>,
    ) -> Result<(Snapshot, Vec<Kept>)> {
        let Some((low, high)) = d.user_ids()? else {
            return Ok((Snapshot::default(), Vec::new()));
        };
        let key = spec.key();
        let kept = in_halves(d, helper.as_mut(), low, high, |c, ids| {
            c.kept_digests(key, ids)
        })?;
        let users = d.user_count()?;
        let (kept, fresh) = if kept.len() as u64 == users {
            (kept, Vec::new())
        } else if (kept.len() as u64) < users / 4 * 3 {
            let all = in_halves(d, helper.as_mut(), low, high, |c, ids| {
                digests_of(c, spec, &Users::Range(ids))
            })?;
            (Vec::new(), all)
        } else {
            let missing = missing_from(&d.all_user_ids()?, &kept);
            (kept, digests_of(d, spec, &Users::Ids(&missing))?)
        };
        debug!(
            kept = kept.len(),
            read = fresh.len(),
            "people's digests: kept by the directory, read now"
        );
        let snapshot = Snapshot::of(|| kept.iter().chain(&fresh).filter_map(Entry::of_kept));
        Ok((snapshot, fresh))
    }

    /// The snapshot of the entries `entries()` gives, in any order (it is called three
    /// times). They are put in order of their buckets by counting, then each bucket
    /// (about two entries) is sorted: a sort of all of them took 0.08 s at a million.
    fn of<I: Iterator<Item = Entry>>(entries: impl Fn() -> I) -> Snapshot {
        let n = entries().count();
        // About two entries a bucket.
        let bits = (n / 2).max(1).next_power_of_two().trailing_zeros().min(30);
        let mut starts = vec![0u32; (1usize << bits) + 1];
        for e in entries() {
            starts[bucket(e.employee.hi, bits) as usize + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut sorted = vec![Entry::EMPTY; n];
        for e in entries() {
            let at = &mut next[bucket(e.employee.hi, bits) as usize];
            sorted[*at as usize] = e;
            *at += 1;
        }
        for b in 0..starts.len() - 1 {
            sorted[starts[b] as usize..starts[b + 1] as usize].sort_unstable_by_key(|e| e.employee);
        }
        for i in 1..sorted.len() {
            if sorted[i].employee == sorted[i - 1].employee {
                sorted[i].shared = true;
                sorted[i - 1].shared = true;
            }
        }
        Snapshot {
            entries: sorted,
            starts,
            bits,
        }
    }

    /// How many active people with an Employee ID there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of the one active person with this Employee ID digest.
    pub fn state(&self, employee: Digest) -> Option<PersonState> {
        if self.entries.is_empty() {
            return None;
        }
        let b = bucket(employee.hi, self.bits) as usize;
        let (from, to) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let e = self.entries[from..to]
            .iter()
            .find(|e| e.employee == employee)?;
        (!e.shared).then_some(e.state)
    }

    /// Asks the CPU to fetch where the entries of `employee`'s bucket are; a while later,
    /// [`Snapshot::prefetch_entries`] can fetch them without waiting for it.
    pub fn prefetch_bucket(&self, employee: Digest) {
        if let Some(start) = self.starts.get(bucket(employee.hi, self.bits) as usize) {
            crate::row::prefetch(start);
        }
    }

    /// Asks the CPU to fetch the first entry of `employee`'s bucket.
    pub fn prefetch_entries(&self, employee: Digest) {
        let b = bucket(employee.hi, self.bits) as usize;
        if let Some(entry) = self
            .starts
            .get(b)
            .and_then(|&from| self.entries.get(from as usize))
        {
            crate::row::prefetch(entry);
        }
    }

    /// Whether `row` names a person (by Employee ID) who is in the snapshot in the very
    /// state the row asks for ([`StateSpec::row_matches`]). A leaver's row, or one that
    /// gives a password, is never such a row.
    pub fn holds(
        &self,
        spec: &StateSpec,
        row: &CheckedRow,
        columns: &Columns,
        tenant: &Tenant,
    ) -> bool {
        let (Some(employee), false) = (row.employee_digest, row.leaver) else {
            return false;
        };
        row.cell(columns, Field::Password).is_empty()
            && self
                .state(employee)
                .is_some_and(|s| spec.row_matches(&s, row, columns, tenant))
    }

    /// The ids of the people whose Employee ID digest `seen` does not know.
    pub fn missing(&self, seen: impl Fn(Digest) -> bool) -> Vec<i64> {
        self.entries
            .iter()
            .filter(|e| !seen(e.employee))
            .map(|e| e.id)
            .collect()
    }
}

/// The digest of a stored Employee ID, as a row's is taken: of its lowercase.
fn employee_digest(id: &[u8]) -> Digest {
    if id.is_ascii() {
        let mut lower = SmallVec::<[u8; 32]>::from_slice(id);
        lower.make_ascii_lowercase();
        // ASCII lowercased is still ASCII.
        Digest::of(std::str::from_utf8(&lower).unwrap_or_default())
    } else {
        Digest::of(&String::from_utf8_lossy(id).to_lowercase())
    }
}

/// Keeps the digests of the users a run wrote (`ids`, ascending), read back through the
/// run's own connection `d` before it commits: the next night then needs to read none
/// of them in full. The triggers of the run's writes emptied those rows of
/// `person_digests` moments ago, so their pages are being written anyway.
pub fn keep_written(d: &Directory, spec: &StateSpec, ids: &[i64]) -> Result<usize> {
    let digests = digests_of(d, spec, &Users::Ids(ids))?;
    d.keep_digests(spec.key(), &digests)?;
    Ok(digests.len())
}

/// `read` of the users with ids from `low` to `high`: the lower half through `d`, the upper
/// half at the same time through `helper` on a second thread, when there is one.
fn in_halves<T: Send>(
    d: &Directory,
    helper: Option<&mut Directory>,
    low: i64,
    high: i64,
    read: impl Fn(&Directory, RangeInclusive<i64>) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let Some(helper) = helper.filter(|_| high > low) else {
        return read(d, low..=high);
    };
    let middle = low + (high - low) / 2;
    std::thread::scope(|scope| {
        let read = &read;
        let upper = std::thread::Builder::new()
            .name("onboard-snapshot".to_string())
            .spawn_scoped(scope, move || read(helper, middle + 1..=high))?;
        let mut all = read(d, low..=middle)?;
        let upper = upper
            .join()
            .map_err(|_| anyhow::anyhow!("the snapshot thread failed"))??;
        all.extend(upper);
        Ok(all)
    })
}

/// The ids of `all` (ascending) that `kept` (ascending) has no digests of.
fn missing_from(all: &[i64], kept: &[Kept]) -> Vec<i64> {
    let mut kept = kept.iter().map(|k| k.user_id).peekable();
    all.iter()
        .copied()
        .filter(|&id| {
            while kept.next_if(|&k| k < id).is_some() {}
            kept.peek() != Some(&id)
        })
        .collect()
}

/// The digests of `which` users, read in full now.
fn digests_of(d: &Directory, spec: &StateSpec, which: &Users) -> Result<Vec<Kept>> {
    let mut digests = Vec::new();
    d.for_each_person_view(which, |user_id, view| {
        let person = view.map(|user| {
            let employee = employee_digest(user.profile[EMPLOYEE_ID_AT]);
            let state = spec.of_stored(user);
            KeptPerson {
                employee_hi: employee.hi,
                employee_lo: employee.lo,
                rest: state.rest,
                location: state.location,
                block: state.block,
            }
        });
        digests.push(Kept { user_id, person });
        Ok(())
    })?;
    Ok(digests)
}

/// The top `bits` bits of a digest.
fn bucket(hi: u64, bits: u32) -> u64 {
    if bits == 0 {
        0
    } else {
        hi >> (64 - bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_are_the_users_without_kept_digests() {
        let kept = |ids: &[i64]| -> Vec<Kept> {
            ids.iter()
                .map(|&user_id| Kept {
                    user_id,
                    person: None,
                })
                .collect()
        };
        assert_eq!(missing_from(&[1, 2, 3, 7, 9], &kept(&[2, 3, 9])), [1, 7]);
        assert_eq!(missing_from(&[1, 2], &kept(&[])), [1, 2]);
        assert_eq!(missing_from(&[4, 5], &kept(&[4, 5])), Vec::<i64>::new());
        // Digests of users who are gone (never kept: a trigger deletes them) change
        // nothing.
        assert_eq!(missing_from(&[5, 8], &kept(&[1, 5, 6, 9])), [8]);
    }

    #[test]
    fn a_digest_key_names_the_columns() {
        let columns = |header: &str| Columns::from_header(header.split(','), 1, false).unwrap();
        let a = StateSpec::new(&columns("Employee ID,User Name,Display Name,Job Title"));
        let b = StateSpec::new(&columns("Employee ID,User Name,Display Name,Department"));
        let a2 = StateSpec::new(&columns("User Name,Job Title,Display Name,Employee ID"));
        assert_ne!(a.key(), b.key());
        assert_eq!(
            a.key(),
            a2.key(),
            "the order of the columns does not matter"
        );
    }

    #[test]
    fn every_person_is_found_by_their_employee_id_and_a_shared_one_never() {
        let kept: Vec<Kept> = (0..5000)
            .map(|i: i64| Kept {
                user_id: i,
                person: (i % 7 != 3).then(|| {
                    // Users 12 and 13 share an Employee ID.
                    let d = Digest::of(&format!("e{}", if i == 13 { 12 } else { i }));
                    KeptPerson {
                        employee_hi: d.hi,
                        employee_lo: d.lo,
                        rest: i as u64,
                        location: 0,
                        block: false,
                    }
                }),
            })
            .collect();
        let snapshot = Snapshot::of(|| kept.iter().rev().filter_map(Entry::of_kept));
        assert_eq!(
            snapshot.len(),
            kept.iter().filter(|k| k.person.is_some()).count()
        );
        for k in &kept {
            let found = snapshot.state(Digest::of(&format!("e{}", k.user_id)));
            match (k.user_id, k.person) {
                (12 | 13, _) => assert_eq!(found, None, "shared"),
                (_, Some(p)) => assert_eq!(found.map(|s| s.rest), Some(p.rest)),
                (_, None) => assert_eq!(found, None),
            }
        }
        assert_eq!(snapshot.state(Digest::of("nobody")), None);
        let mut missing = snapshot.missing(|d| d != Digest::of("e1"));
        missing.sort_unstable();
        assert_eq!(missing, [1]);
    }

    #[test]
    fn a_stored_employee_id_digests_as_a_rows_lowercased_one() {
        for (stored, row) in [("E12", "e12"), ("ÉMP-7", "émp-7"), ("x", "x"), ("", "")] {
            assert_eq!(
                employee_digest(stored.as_bytes()),
                Digest::of(row),
                "{stored}"
            );
        }
    }
}
