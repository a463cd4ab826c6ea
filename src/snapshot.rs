//! What a nightly sync (`--match employee-id`) knows of the directory before its first
//! row: every active person with an Employee ID, by a digest of that ID, with a digest of
//! their state as the input's columns see it.
//!
//! A night's export mostly repeats what the directory holds. A row whose state digest
//! matches its person's is `unchanged` without a look-up; only the rows that differ (a
//! changed title, a new licence, a rename, a leaver, a new person) are looked up and
//! planned in full. The snapshot is one scan of the directory and 40 bytes a person, so
//! a million people take about 40 MB. It also tells `--full-export` who is missing.

use anyhow::Result;
use smallvec::SmallVec;

use crate::row::{CheckedRow, Columns, Digest, Field, EMPLOYEE_ID_AT, PROFILE_FIELDS};
use crate::store::people::PersonView;
use crate::store::Directory;
use crate::tenant::Tenant;

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

    /// The state of a stored person.
    pub fn of_stored(&self, user: &PersonView) -> PersonState {
        let rest = State::with(|h| {
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
            h.finish()
        });
        PersonState {
            rest,
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
        State::with(|h| {
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
        })
    }
}

/// A digest of texts and sets, each framed so that no two different sequences write the
/// same bytes. The bytes are gathered in a buffer of the thread's own and hashed once: a
/// streaming hasher's update for every short field measured 6% of a nightly sync's
/// snapshot, and a stack buffer (a `SmallVec`) grown field by field as much again.
struct State<'b>(&'b mut Vec<u8>);

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

impl State<'_> {
    /// Gives `f` an empty state over this thread's buffer.
    fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
        BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            f(&mut State(buffer))
        })
    }

    fn len(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u64).to_le_bytes());
    }

    fn text(&mut self, s: impl AsRef<[u8]>) {
        let s = s.as_ref();
        self.len(s.len());
        self.0.extend_from_slice(s);
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
        xxhash_rust::xxh3::xxh3_64(self.0)
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
    /// One scan of the directory through `d`; with a `helper` connection that sees the
    /// same directory (both in a read transaction while this process holds the write
    /// lock), the upper half of the user ids is scanned on a second thread through it.
    pub fn build(d: &Directory, spec: &StateSpec, helper: Option<Directory>) -> Result<Snapshot> {
        let mut entries = match (helper, d.user_ids()?) {
            (Some(helper), Some((low, high))) if high > low => {
                let middle = low + (high - low) / 2;
                std::thread::scope(|scope| -> Result<Vec<Entry>> {
                    let upper = std::thread::Builder::new()
                        .name("onboard-snapshot".to_string())
                        .spawn_scoped(scope, move || {
                            entries_of(&helper, spec, middle + 1..=i64::MAX)
                        })?;
                    let mut entries = entries_of(d, spec, i64::MIN..=middle)?;
                    let upper = upper
                        .join()
                        .map_err(|_| anyhow::anyhow!("the snapshot thread failed"))??;
                    entries.extend(upper);
                    Ok(entries)
                })?
            }
            _ => entries_of(d, spec, i64::MIN..=i64::MAX)?,
        };
        entries.sort_unstable_by_key(|e| e.employee);
        for i in 1..entries.len() {
            if entries[i].employee == entries[i - 1].employee {
                entries[i].shared = true;
                entries[i - 1].shared = true;
            }
        }
        entries.shrink_to_fit();
        // About two entries a bucket.
        let bits = (entries.len() / 2)
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
            .min(30);
        let mut starts = vec![0u32; (1usize << bits) + 1];
        let mut at = 0usize;
        for (b, start) in starts.iter_mut().enumerate() {
            while at < entries.len() && bucket(entries[at].employee.hi, bits) < b as u64 {
                at += 1;
            }
            *start = at as u32;
        }
        Ok(Snapshot {
            entries,
            starts,
            bits,
        })
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

/// The snapshot's entries of the active people with ids in `ids`.
fn entries_of(
    d: &Directory,
    spec: &StateSpec,
    ids: std::ops::RangeInclusive<i64>,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    d.for_each_active_person_view(ids, |user| {
        entries.push(Entry {
            employee: employee_digest(user.profile[EMPLOYEE_ID_AT]),
            state: spec.of_stored(user),
            id: user.id,
            shared: false,
        });
        Ok(())
    })?;
    Ok(entries)
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
