//! The digests a nightly sync keeps of each user (`person_digests`), so that the next
//! night's snapshot reads 29 bytes a person instead of every column of everyone.
//! The schema's triggers delete a user's row on every write to them or their grants; a
//! row is therefore either true or gone, and the snapshot reads again only the users
//! whose rows are gone.

use anyhow::Result;

use crate::store::Directory;

/// What is kept of one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub user_id: i64,
    /// Their digests when they are active and have an Employee ID; `None` when not.
    pub person: Option<KeptPerson>,
}

/// The digests of an active person with an Employee ID ([`crate::snapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptPerson {
    pub employee_hi: u64,
    pub employee_lo: u32,
    pub rest: u64,
    pub location: u64,
    pub block: bool,
}

/// The bytes of a [`KeptPerson`] in the `digests` column: its fields in order, integers
/// little-endian. One blob reads faster than five columns: a million of them are read
/// every night.
const PACKED: usize = 8 + 4 + 8 + 8 + 1;

impl KeptPerson {
    fn to_bytes(self) -> [u8; PACKED] {
        let mut b = [0u8; PACKED];
        b[0..8].copy_from_slice(&self.employee_hi.to_le_bytes());
        b[8..12].copy_from_slice(&self.employee_lo.to_le_bytes());
        b[12..20].copy_from_slice(&self.rest.to_le_bytes());
        b[20..28].copy_from_slice(&self.location.to_le_bytes());
        b[28] = self.block as u8;
        b
    }

    fn from_bytes(b: &[u8]) -> Option<KeptPerson> {
        let b: &[u8; PACKED] = b.try_into().ok()?;
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        Some(KeptPerson {
            employee_hi: u64_at(0),
            employee_lo: u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            rest: u64_at(12),
            location: u64_at(20),
            block: b[28] != 0,
        })
    }
}

impl Directory {
    /// The kept digests of `spec` of the users with ids in `ids`, in id order.
    pub fn kept_digests(&self, spec: u64, ids: std::ops::RangeInclusive<i64>) -> Result<Vec<Kept>> {
        let mut stmt = self.conn.prepare(
            "SELECT user_id, digests FROM person_digests \
             WHERE user_id >= ?1 AND user_id <= ?2 AND spec = ?3 ORDER BY user_id",
        )?;
        let mut rows = stmt.query(rusqlite::params![ids.start(), ids.end(), spec as i64])?;
        let mut kept = Vec::new();
        while let Some(r) = rows.next()? {
            let person = match r.get_ref(1)?.as_blob_or_null()? {
                Some(bytes) => Some(KeptPerson::from_bytes(bytes).ok_or_else(|| {
                    anyhow::anyhow!("a kept digest of {} bytes, not {PACKED}", bytes.len())
                })?),
                None => None,
            };
            kept.push(Kept {
                user_id: r.get(0)?,
                person,
            });
        }
        Ok(kept)
    }

    /// How many users there are, active or offboarded: SQLite counts the entries of an
    /// index's pages without reading them.
    pub fn user_count(&self) -> Result<u64> {
        if !self.has_schema()? {
            return Ok(0);
        }
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Every user id, ascending.
    pub fn all_user_ids(&self) -> Result<Vec<i64>> {
        if !self.has_schema()? {
            return Ok(Vec::new());
        }
        // Without ORDER BY, SQLite may read the ids from an index, which is far smaller
        // than the table.
        let mut ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM users")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Keeps `digests`, of `spec`, inside the run's transaction (replacing what was kept of
    /// those users): the ones a nightly's snapshot read in full, before the run's writes,
    /// and those of the people it wrote, after them.
    pub fn keep_digests(&self, spec: u64, digests: &[Kept]) -> Result<()> {
        self.flush()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO person_digests (user_id, spec, digests) VALUES (?1, ?2, ?3)",
        )?;
        for kept in digests {
            let packed = kept.person.map(|p| p.to_bytes());
            stmt.execute(rusqlite::params![
                kept.user_id,
                spec as i64,
                packed.as_ref().map(|b| &b[..])
            ])?;
        }
        Ok(())
    }

    /// From now on, notes the id of every user this connection creates, updates or
    /// offboards: a nightly sync keeps their new digests before it commits.
    pub fn note_written(&self) {
        *self.written.borrow_mut() = Some(Vec::new());
    }

    pub(super) fn wrote(&self, id: i64) {
        if let Some(ids) = self.written.borrow_mut().as_mut() {
            ids.push(id);
        }
    }

    /// The users noted since [`Directory::note_written`], ascending, each once.
    pub fn written(&self) -> Vec<i64> {
        let mut ids = self.written.borrow().clone().unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_kept_in_29_bytes_and_read_back_the_same() {
        let p = KeptPerson {
            employee_hi: u64::MAX - 7,
            employee_lo: 0xdead_beef,
            rest: 1,
            location: 1 << 63,
            block: true,
        };
        assert_eq!(KeptPerson::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(KeptPerson::from_bytes(&p.to_bytes()[..28]), None);
    }
}
