//! The mail log (`mails`): the mails a run owes, planned in its transaction, and what
//! became of each. Never a password.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use crate::store::Directory;

/// A credential mail (to the user) or a result mail (to an admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Credentials,
    Results,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Credentials => "credentials",
            MailKind::Results => "results",
        }
    }
}

/// Where a mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Not tried yet (or the server could not be reached).
    Planned,
    /// Handed to the server when the run stopped: it may have gone.
    Sending,
    Sent,
    /// The server refused it (5xx).
    Refused,
    /// Transient failures until the tries ran out.
    Failed,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Planned => "planned",
            MailState::Sending => "sending",
            MailState::Sent => "sent",
            MailState::Refused => "refused",
            MailState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> MailState {
        match s {
            "sending" => MailState::Sending,
            "sent" => MailState::Sent,
            "refused" => MailState::Refused,
            "failed" => MailState::Failed,
            _ => MailState::Planned,
        }
    }
}

/// One row of the mail log.
#[derive(Debug, Clone)]
pub struct MailEntry {
    pub id: i64,
    pub kind: MailKind,
    /// Whose credentials; empty for a result mail.
    pub user_name: String,
    pub recipient: String,
    pub state: MailState,
}

/// A committed run, as `onboard mail` finds it by its result file.
#[derive(Debug, Clone)]
pub struct MailRun {
    /// Its row in `runs`.
    pub id: i64,
    pub run_id: String,
    pub kind: String,
    pub input_name: String,
    pub finished_at: String,
}

impl Directory {
    /// Plans a credential mail for each user this run created (`import`) or restored
    /// (`restore`) who has an alternate e-mail address; in the run's transaction.
    pub fn plan_credential_mails(&self, restored: bool) -> Result<u64> {
        self.flush()?;
        let which = if restored {
            "updated_run = ?1 AND deleted_at IS NULL"
        } else {
            "created_run = ?1"
        };
        let n = self.conn.execute(
            &format!(
                "INSERT OR IGNORE INTO mails (run, kind, user_name, recipient, state, updated_at) \
                 SELECT ?1, 'credentials', user_name, trim(alternate_email), 'planned', ?2 \
                 FROM users WHERE {which} AND trim(coalesce(alternate_email, '')) != ''"
            ),
            params![self.run_row, self.now],
        )?;
        Ok(n as u64)
    }

    /// Plans the result mail of this run to each of `recipients`; in its transaction.
    pub fn plan_result_mails(&self, recipients: &[String]) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "INSERT OR IGNORE INTO mails (run, kind, user_name, recipient, state, updated_at) \
             VALUES (?1, 'results', '', ?2, 'planned', ?3)",
        )?;
        for r in recipients {
            stmt.execute(params![self.run_row, r, self.now])?;
        }
        Ok(())
    }

    /// The committed run whose result file is `result_file` (an absolute path), the
    /// newest if several wrote there.
    pub fn run_by_result_file(&self, result_file: &str) -> Result<Option<MailRun>> {
        self.find_run("result_file", result_file)
    }

    /// The committed run `run_id`.
    pub fn run_by_run_id(&self, run_id: &str) -> Result<Option<MailRun>> {
        self.find_run("run_id", run_id)
    }

    fn find_run(&self, column: &str, value: &str) -> Result<Option<MailRun>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT id, run_id, kind, input_name, finished_at FROM runs \
                     WHERE {column} = ?1 AND dry_run = 0 ORDER BY id DESC LIMIT 1"
                ),
                [value],
                |r| {
                    Ok(MailRun {
                        id: r.get(0)?,
                        run_id: r.get(1)?,
                        kind: r.get(2)?,
                        input_name: r.get(3)?,
                        finished_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// The mail log of run `run`, in the order planned.
    pub fn mails_of_run(&self, run: i64) -> Result<Vec<MailEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, user_name, recipient, state FROM mails \
             WHERE run = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([run], |r| {
            let kind: String = r.get(1)?;
            let state: String = r.get(4)?;
            Ok(MailEntry {
                id: r.get(0)?,
                kind: if kind == "results" {
                    MailKind::Results
                } else {
                    MailKind::Credentials
                },
                user_name: r.get(2)?,
                recipient: r.get(3)?,
                state: MailState::parse(&state),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Makes each outcome's commit cheap: written to the WAL without waiting for the
    /// disk (`synchronous = NORMAL`). A stopped or killed process loses none of them; a
    /// power cut may lose the last few, whose mails are then sent again.
    pub fn log_mails_lightly(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        Ok(())
    }

    /// Records where mail `id` stands now; a move to `sending` counts an attempt. Each
    /// call commits on its own, so a stopped run leaves every outcome it learned.
    pub fn set_mail_state(&self, id: i64, state: MailState, reply: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE mails SET state = ?2, reply = CASE WHEN ?3 = '' THEN reply ELSE ?3 END, \
             attempts = attempts + (?2 = 'sending'), updated_at = ?4 WHERE id = ?1",
            params![id, state.as_str(), reply, crate::clock::now_rfc3339()],
        )?;
        Ok(())
    }
}
