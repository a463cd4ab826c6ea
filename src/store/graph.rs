//! Each user's state in Microsoft Graph (`graph_users`), by onboard's Object ID: what a
//! push did, so that the next one (or a resumed one) does only what is left and never
//! creates a user twice.

use anyhow::Result;
use rusqlite::params;

use crate::store::Directory;

/// Where a user stands in Graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphState {
    /// A create was about to be sent (or was sent) and not confirmed: the next push
    /// looks the user up by User Name before it creates anything.
    Creating,
    /// The user exists in Graph; licences and roles are still to do.
    Created,
    /// The user, licences and roles are in Graph as the directory had them.
    Licensed,
    /// The last push failed for this user (see `last_error`); the next one tries again.
    Failed,
    /// Deleted in Graph (offboarded): restorable there.
    Deleted,
    /// Removed from Graph for good.
    Purged,
}

impl GraphState {
    pub fn as_str(self) -> &'static str {
        match self {
            GraphState::Creating => "creating",
            GraphState::Created => "created",
            GraphState::Licensed => "licensed",
            GraphState::Failed => "failed",
            GraphState::Deleted => "deleted",
            GraphState::Purged => "purged",
        }
    }

    fn parse(s: &str) -> GraphState {
        match s {
            "creating" => GraphState::Creating,
            "created" => GraphState::Created,
            "licensed" => GraphState::Licensed,
            "deleted" => GraphState::Deleted,
            "purged" => GraphState::Purged,
            _ => GraphState::Failed,
        }
    }
}

/// A user's row of `graph_users`.
#[derive(Debug, Clone)]
pub struct GraphRecord {
    pub state: GraphState,
    pub graph_id: Option<String>,
    /// The user's last run that is in Graph.
    pub version: i64,
    pub licenses: Vec<String>,
    pub roles: Vec<String>,
}

/// A user as the push sees them: where they are in the directory and in Graph.
#[derive(Debug, Clone)]
pub struct PushCandidate {
    /// `users.id`; `None` for a user purged from the directory.
    pub id: Option<i64>,
    pub object_id: String,
    pub user_name: String,
    /// The user's last run (created or updated).
    pub version: i64,
    pub offboarded: bool,
    pub force_password_change: bool,
    pub graph: Option<GraphRecord>,
}

impl Directory {
    /// Every user of the directory with their Graph state, then the users purged from
    /// the directory whose Graph state is not purged yet.
    pub fn push_candidates(&self) -> Result<Vec<PushCandidate>> {
        if !self.has_schema()? {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT u.id, u.object_id, u.user_name, max(u.created_run, coalesce(u.updated_run, 0)), \
             u.deleted_at IS NOT NULL, u.force_password_change, \
             g.state, g.graph_id, g.version, g.licenses, g.roles \
             FROM users u LEFT JOIN graph_users g ON g.object_id = u.object_id \
             ORDER BY u.user_key",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.push(PushCandidate {
                id: Some(r.get(0)?),
                object_id: r.get(1)?,
                user_name: r.get(2)?,
                version: r.get(3)?,
                offboarded: r.get(4)?,
                force_password_change: r.get(5)?,
                graph: record(r, 6)?,
            });
        }
        let mut stmt = self.conn.prepare(
            "SELECT g.object_id, g.user_name, g.state, g.graph_id, g.version, g.licenses, g.roles \
             FROM graph_users g WHERE g.state != 'purged' \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.object_id = g.object_id) \
             ORDER BY g.user_name",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.push(PushCandidate {
                id: None,
                object_id: r.get(0)?,
                user_name: r.get(1)?,
                version: 0,
                offboarded: true,
                force_password_change: true,
                graph: record(r, 2)?,
            });
        }
        Ok(out)
    }

    /// Records that the creates of `users` (Object ID, User Name) are about to be sent,
    /// in one transaction: a push killed after sending them looks them up first.
    pub fn mark_creating(&self, users: &[(&str, &str)]) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let done = (|| -> Result<()> {
            let mut stmt = self.conn.prepare_cached(
                "INSERT INTO graph_users (object_id, user_name, state, updated_at) \
                 VALUES (?1, ?2, 'creating', ?3) \
                 ON CONFLICT (object_id) DO UPDATE SET state = 'creating', \
                 user_name = excluded.user_name, updated_at = excluded.updated_at",
            )?;
            let now = crate::clock::now_rfc3339();
            for (object_id, user_name) in users {
                stmt.execute(params![object_id, user_name, now])?;
            }
            Ok(())
        })();
        match done {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(())
    }

    /// Records a user's Graph state; `None` fields keep their value.
    pub fn set_graph_state(
        &self,
        object_id: &str,
        user_name: &str,
        change: &GraphChange,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO graph_users (object_id, user_name, state, graph_id, version, licenses, \
                 roles, last_error, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, coalesce(?5, 0), coalesce(?6, ''), coalesce(?7, ''), ?8, ?9) \
                 ON CONFLICT (object_id) DO UPDATE SET user_name = excluded.user_name, \
                 state = excluded.state, graph_id = coalesce(?4, graph_id), \
                 version = coalesce(?5, version), licenses = coalesce(?6, licenses), \
                 roles = coalesce(?7, roles), last_error = excluded.last_error, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![
                object_id,
                user_name,
                change.state.as_str(),
                change.graph_id,
                change.version,
                change.licenses,
                change.roles,
                change.error,
                crate::clock::now_rfc3339()
            ])?;
        Ok(())
    }

    /// A push commits each outcome as it learns it, without waiting for the disk: a
    /// killed push loses none, a power cut the last few (which the next push looks up).
    pub fn log_pushes_lightly(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        Ok(())
    }
}

/// A change of a user's Graph state.
#[derive(Debug, Clone)]
pub struct GraphChange<'a> {
    pub state: GraphState,
    pub graph_id: Option<&'a str>,
    pub version: Option<i64>,
    pub licenses: Option<&'a str>,
    pub roles: Option<&'a str>,
    pub error: &'a str,
}

impl GraphChange<'_> {
    pub fn to(state: GraphState) -> GraphChange<'static> {
        GraphChange {
            state,
            graph_id: None,
            version: None,
            licenses: None,
            roles: None,
            error: "",
        }
    }
}

fn record(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Option<GraphRecord>> {
    let Some(state) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    let split = |s: String, by: char| -> Vec<String> {
        s.split(by)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok(Some(GraphRecord {
        state: GraphState::parse(&state),
        graph_id: r.get(at + 1)?,
        version: r.get(at + 2)?,
        licenses: split(r.get(at + 3)?, '+'),
        roles: split(r.get(at + 4)?, '|'),
    }))
}
