//! People who leave and come back (docs/people.md): `onboard offboard FILE`,
//! `onboard restore FILE` and `onboard purge`.
//!
//! Each is one run like an import: every output checked first, the rows decided in file
//! order inside one write transaction, a result file staged and renamed into place after
//! the commit, a record in `runs`, `--dry-run` and `--max-failed`. A row names a person
//! by Object ID, User Name or Employee ID (the first of those it has); a row that names
//! nobody in the directory is `not_found`, which fails the run's exit code like `failed`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tracing::info;

use crate::clock::{days_ago_rfc3339, now_rfc3339};
use crate::import::finish::{absolute, recover_staged_results};
use crate::import::{new_run_id, MaxFailed};
use crate::interrupt::pause_point;
use crate::password::{self, Password};
use crate::plan::{OnShortage, SeatPool};
use crate::read::{Input, ReadOptions};
use crate::row::{escape_controls, printable, profile_index, Field, RawRow, DISPLAY_NAME_AT};
use crate::write::summary::MailSummary;

const ALTERNATE_EMAIL_AT: usize = profile_index(Field::AlternateEmail).expect("a profile field");
use crate::store::people::Identity;
use crate::store::{Directory, RunRecord, StoredUser};
use crate::tenant::Tenant;
use crate::write::file::{self, Kept};
use crate::write::result::{Destination, ResultWriter};

/// What a run does to the people it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Offboard,
    Restore,
    /// The offboarded users deleted this many days ago or longer.
    Purge {
        older_than_days: u64,
    },
}

impl Action {
    pub fn kind(self) -> &'static str {
        match self {
            Action::Offboard => "offboard",
            Action::Restore => "restore",
            Action::Purge { .. } => "purge",
        }
    }
}

/// Everything `offboard`, `restore` or `purge` was asked to do.
pub struct PeopleJob {
    pub action: Action,
    /// The file naming the people (none for `purge`).
    pub input: Option<PathBuf>,
    pub read: ReadOptions,
    pub tenant: Tenant,
    pub directory: PathBuf,
    pub destination: Destination,
    pub kept: Vec<Kept>,
    pub dry_run: bool,
    pub max_failed: Option<MaxFailed>,
    /// For `restore`: what to do when the seats of a user's licences ran out meanwhile.
    pub on_shortage: OnShortage,
    pub lock_timeout: Duration,
    /// For `restore`: `--mail-credentials` and `--mail-results-to`.
    pub mail: crate::mail::MailRequest,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Offboarded,
    Restored,
    Purged,
    Skipped,
    NotFound,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Offboarded,
        Outcome::Restored,
        Outcome::Purged,
        Outcome::Skipped,
        Outcome::NotFound,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Offboarded => "offboarded",
            Outcome::Restored => "restored",
            Outcome::Purged => "purged",
            Outcome::Skipped => "skipped",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
        }
    }

    fn fails(self) -> bool {
        matches!(self, Outcome::NotFound | Outcome::Failed)
    }
}

/// One row of the result file.
#[derive(Debug)]
struct Done {
    line: Option<u64>,
    user_name: String,
    display_name: String,
    outcome: Outcome,
    password: Option<Password>,
    licenses: Vec<String>,
    warnings: Vec<String>,
    errors: Vec<String>,
    /// A credential mail goes to the restored user.
    mail: bool,
    /// The id of the user this row offboards (after the last row, with the others).
    offboard: Option<i64>,
}

impl Done {
    fn new(line: Option<u64>, user_name: &str) -> Done {
        Done {
            line,
            user_name: user_name.to_string(),
            display_name: String::new(),
            outcome: Outcome::Failed,
            password: None,
            licenses: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            mail: false,
            offboard: None,
        }
    }

    fn of(line: Option<u64>, user: &StoredUser) -> Done {
        let mut done = Done::new(line, &user.user_name);
        done.display_name = user.profile[DISPLAY_NAME_AT].clone();
        done
    }

    fn fail(mut self, code: &str, message: String) -> Done {
        self.outcome = Outcome::Failed;
        self.errors.push(format!("{code}: {message}"));
        self
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct PeopleEnd {
    pub counts: Vec<(Outcome, u64)>,
    pub rows: u64,
    pub committed: bool,
    pub over_budget: bool,
    pub result_file: Option<PathBuf>,
    pub seats: Vec<(String, u64, u64, u64)>,
    pub seconds: f64,
    pub run_id: String,
    /// With `--mail-credentials` or `--mail-results-to` (restore).
    pub mail: Option<MailSummary>,
}

impl PeopleEnd {
    pub fn exit_code(&self) -> u8 {
        if self.over_budget {
            crate::exit::OVER_BUDGET
        } else if self.failures() > 0 {
            crate::exit::ROWS_FAILED
        } else if self
            .mail
            .as_ref()
            .and_then(|m| m.delivered.as_ref())
            .is_some_and(crate::mail::MailTally::incomplete)
        {
            crate::exit::INCOMPLETE
        } else {
            crate::exit::OK
        }
    }

    fn failures(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(o, _)| o.fails())
            .map(|(_, n)| n)
            .sum()
    }

    /// The human summary on stderr.
    pub fn print(
        &self,
        out: &mut impl std::io::Write,
        kind: &str,
        dry_run: bool,
    ) -> std::io::Result<()> {
        writeln!(
            out,
            "onboard: {kind}: {} {}{}",
            self.rows,
            if self.rows == 1 { "row" } else { "rows" },
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        )?;
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(o, n)| format!("{} {n}", o.as_str()))
            .collect();
        writeln!(out, "  status: {}", counts.join(", "))?;
        let w = self.seats.iter().map(|s| s.0.len()).max().unwrap_or(0) + 1;
        for (sku, purchased, before, after) in &self.seats {
            let sku = format!("{sku}:");
            writeln!(
                out,
                "  seats {sku:<w$} {before} → {after} of {purchased} assigned ({} available)",
                *purchased as i64 - *after as i64
            )?;
        }
        writeln!(out, "  time: {:.2}s", self.seconds)?;
        if let Some(mail) = &self.mail {
            writeln!(out, "  {}", mail.line(dry_run))?;
        }
        match (&self.result_file, self.committed || dry_run) {
            (Some(f), true) => writeln!(out, "  result file: {}", f.display()),
            _ => writeln!(
                out,
                "  nothing was committed and no result file was written"
            ),
        }
    }
}

/// Runs `job`.
pub fn run(job: PeopleJob) -> Result<PeopleEnd> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let run_id = new_run_id();
    let span = tracing::info_span!("people", run_id = %run_id, kind = job.action.kind());
    let _entered = span.enter();
    let mut kept: Vec<Kept> = job
        .input
        .iter()
        .map(|i| Kept::new(i, "the input file"))
        .collect();
    kept.extend(Kept::directory(&job.directory));
    kept.extend(job.kept.iter().cloned());
    file::check(&[&job.destination.target()], &kept)?;
    let mut input = match &job.input {
        Some(path) => Some(Input::open_with(path, &job.read, false)?),
        None => None,
    };
    let directory = Directory::open_run(&job.directory, job.dry_run, job.lock_timeout)?;
    let outcome = decide_and_commit(
        &job,
        input.as_mut(),
        directory.as_ref(),
        &run_id,
        &started_at,
        started,
    );
    if let (Err(_), Some(d)) = (&outcome, directory.as_ref()) {
        d.rollback();
    }
    outcome
}

fn decide_and_commit(
    job: &PeopleJob,
    input: Option<&mut Input>,
    directory: Option<&Directory>,
    run_id: &str,
    started_at: &str,
    started: Instant,
) -> Result<PeopleEnd> {
    let tenant = &job.tenant;
    // The input's SHA-256, taken as it is read.
    let input_hash = input.as_ref().map(|i| i.hash());
    if let (Some(d), false) = (directory, job.dry_run) {
        recover_staged_results(d, &job.destination)?;
    }
    let assigned = match directory {
        Some(d) => d.assigned_seats()?,
        None => HashMap::new(),
    };
    let mut pool = SeatPool::new(tenant, &assigned);
    let mut granted = vec![0i64; tenant.licenses.len()];
    let mut rows: Vec<Done> = Vec::new();
    match (job.action, input) {
        (Action::Purge { older_than_days }, _) => {
            let cutoff = days_ago_rfc3339(older_than_days);
            let users = match directory {
                Some(d) => d.purgeable(&cutoff)?,
                None => Vec::new(),
            };
            for user in users {
                crate::interrupt::check()?;
                let mut done = Done::of(None, &user);
                done.warnings.push(format!(
                    "offboarded_at: {}",
                    user.deleted_at.as_deref().unwrap_or_default()
                ));
                if let (Some(d), false) = (directory, job.dry_run) {
                    d.purge(user.id)?;
                }
                done.outcome = Outcome::Purged;
                rows.push(done);
            }
        }
        (action, Some(input)) => {
            let mut seen: HashMap<i64, u64> = HashMap::new();
            let mut raw = RawRow::default();
            let columns = input.columns.clone();
            // The users to offboard, by id: offboarded together after the last row.
            let mut leaving = Vec::new();
            while input.next_row(&mut raw)? {
                crate::interrupt::check()?;
                let done = decide_row(
                    job,
                    action,
                    &raw,
                    &columns,
                    directory,
                    &mut seen,
                    &mut pool,
                    &mut granted,
                )?;
                if let Some(id) = done.offboard {
                    leaving.push((id, rows.len()));
                }
                rows.push(done);
            }
            if let (Some(d), false) = (directory, job.dry_run) {
                d.offboard_all(leaving.iter().map(|&(id, at)| (id, &rows[at].licenses[..])))?;
            }
        }
        (_, None) => unreachable!("offboard and restore read a file"),
    }

    let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count() as u64;
    let counts: Vec<(Outcome, u64)> = Outcome::ALL
        .iter()
        .filter(|&&o| match job.action {
            Action::Offboard => !matches!(o, Outcome::Restored | Outcome::Purged),
            Action::Restore => !matches!(o, Outcome::Offboarded | Outcome::Purged),
            Action::Purge { .. } => o == Outcome::Purged,
        })
        .map(|&o| (o, count(o)))
        .collect();
    let failures: u64 = rows.iter().filter(|r| r.outcome.fails()).count() as u64;
    let total = rows.len() as u64;
    // Seats served by restoring, less those freed by offboarding: every licence the
    // offboarded users held.
    let mut delta = granted;
    for r in rows.iter().filter(|r| r.outcome == Outcome::Offboarded) {
        for sku in &r.licenses {
            if let Some(i) = tenant.license_index(sku) {
                delta[i] -= 1;
            }
        }
    }
    let seats = tenant
        .licenses
        .iter()
        .zip(&delta)
        .map(|(l, d)| {
            let before = *assigned.get(&l.sku).unwrap_or(&0);
            let after = (before as i64 + d).max(0) as u64;
            (l.sku.clone(), l.seats, before, after)
        })
        .collect();
    let mut end = PeopleEnd {
        counts,
        rows: total,
        committed: false,
        over_budget: false,
        result_file: Some(job.destination.path.clone()),
        seats,
        seconds: 0.0,
        run_id: run_id.to_string(),
        mail: job.mail.any().then(|| MailSummary {
            credentials: rows.iter().filter(|r| r.mail).count() as u64,
            results_to: job.mail.results_to.clone(),
            delivered: None,
        }),
    };
    if job.max_failed.is_some_and(|m| m.exceeded(failures, total)) {
        end.over_budget = true;
        end.result_file = None;
        end.seconds = started.elapsed().as_secs_f64();
        if let Some(d) = directory {
            d.rollback();
        }
        tracing::warn!(
            failed = failures,
            rows = total,
            "more rows failed than --max-failed allows; nothing was committed"
        );
        return Ok(end);
    }

    let delimiter = b',';
    let mut writer = ResultWriter::create(&job.destination, delimiter, false, !job.dry_run)?;
    for r in &rows {
        let line = r.line.map(|l| l.to_string()).unwrap_or_default();
        writer.write_cells([
            &line,
            &escape_controls(&r.user_name),
            &escape_controls(&r.display_name),
            r.outcome.as_str(),
            r.password.as_ref().map_or("", Password::expose),
            &r.licenses.join("+"),
            &r.warnings.join(" | "),
            &r.errors.join(" | "),
        ])?;
    }
    let staged = writer.finish(!job.dry_run)?;
    let staged_path = staged.staged_path().to_path_buf();
    pause_point("staged");
    match (directory, job.dry_run) {
        (Some(d), false) => {
            crate::interrupt::check()?;
            let (input_name, input_sha256) = match (&job.input, &input_hash) {
                (Some(path), Some(hash)) => (
                    absolute(path),
                    hash.finish(path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                ),
                _ => (String::new(), String::new()),
            };
            d.record_run(&RunRecord {
                run_id: run_id.to_string(),
                started_at: started_at.to_string(),
                finished_at: now_rfc3339(),
                input_name,
                input_sha256,
                dry_run: false,
                rows: total,
                skipped: count(Outcome::Skipped),
                failed: failures,
                result_file: absolute(&job.destination.path),
                staged_file: staged_path.display().to_string(),
                staged_sha256: staged.fingerprint.sha256.clone(),
                staged_size: staged.fingerprint.size,
                kind: job.action.kind().to_string(),
                offboarded: count(Outcome::Offboarded),
                restored: count(Outcome::Restored),
                purged: count(Outcome::Purged),
                ..RunRecord::default()
            })?;
            if job.mail.credentials {
                d.plan_credential_mails(true)?;
            }
            d.plan_result_mails(&job.mail.results_to)?;
            d.commit()?;
            pause_point("committed");
            end.committed = true;
        }
        (Some(d), true) => d.rollback(),
        (None, _) => {}
    }
    let published = staged.publish()?;
    if end.committed && published != staged_path {
        if let Some(d) = directory {
            if let Err(e) = d.no_wait().and_then(|()| d.forget_staged(d.run_row())) {
                tracing::debug!(error = %e, "staged path not forgotten");
            }
        }
    }
    end.result_file = Some(published);
    end.seconds = started.elapsed().as_secs_f64();
    info!(
        rows = total,
        failed = failures,
        committed = end.committed,
        "run finished"
    );
    Ok(end)
}

/// Decides one row of an `offboard` or `restore` file.
#[allow(clippy::too_many_arguments)]
fn decide_row(
    job: &PeopleJob,
    action: Action,
    raw: &RawRow,
    columns: &crate::row::Columns,
    directory: Option<&Directory>,
    seen: &mut HashMap<i64, u64>,
    pool: &mut SeatPool,
    granted: &mut [i64],
) -> Result<Done> {
    let tenant = &job.tenant;
    let line = Some(raw.line);
    let cell = |col: Option<usize>| -> String {
        col.and_then(|c| raw.record.get(c))
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .unwrap_or_default()
    };
    let object_id = cell(columns.object_id);
    let mut user_name = cell(columns.get(Field::UserName));
    if !user_name.is_empty() && !user_name.contains('@') {
        if let Some(domain) = &tenant.default_domain {
            user_name = format!("{user_name}@{domain}");
        }
    }
    let employee_id = cell(columns.get(Field::EmployeeId));
    let done = Done::new(line, &user_name);
    let (who, named) = if !object_id.is_empty() {
        match uuid::Uuid::parse_str(&object_id) {
            Ok(id) => (
                Identity::ObjectId(id.to_string()),
                format!("Object ID {id}"),
            ),
            Err(_) => {
                return Ok(done.fail(
                    "invalid_value",
                    format!("Object ID `{}` is not a UUID", printable(&object_id)),
                ))
            }
        }
    } else if !user_name.is_empty() {
        (
            Identity::UserName(user_name.to_lowercase()),
            format!("User Name {}", printable(&user_name)),
        )
    } else if !employee_id.is_empty() {
        (
            Identity::EmployeeId(employee_id.to_lowercase()),
            format!("Employee ID {}", printable(&employee_id)),
        )
    } else {
        return Ok(done.fail(
            "required",
            "the row names nobody: its User Name, Employee ID and Object ID are empty".into(),
        ));
    };
    let found = match directory {
        Some(d) => d.find_people(&who)?,
        None => Vec::new(),
    };
    let user = match found.as_slice() {
        [] => {
            let mut done = done;
            done.outcome = Outcome::NotFound;
            let purged = if action == Action::Restore {
                " (a purged user cannot be restored)"
            } else {
                ""
            };
            done.errors.push(format!(
                "not_found: no user with {named} in the directory{purged}"
            ));
            return Ok(done);
        }
        [user] => user,
        many => {
            let names: Vec<String> = many.iter().map(|u| printable(&u.user_name)).collect();
            return Ok(done.fail(
                "ambiguous",
                format!(
                    "{named} names {} users ({}): name them by User Name",
                    many.len(),
                    names.join(", ")
                ),
            ));
        }
    };
    let mut done = Done::of(line, user);
    if let Some(&first) = seen.get(&user.id) {
        return Ok(done.fail(
            "duplicate_in_file",
            format!("{} is also on line {first}", printable(&user.user_name)),
        ));
    }
    seen.insert(user.id, raw.line);
    match action {
        Action::Offboard => {
            if let Some(at) = &user.deleted_at {
                done.outcome = Outcome::Skipped;
                done.warnings
                    .push(format!("already_offboarded: since {at}"));
                return Ok(done);
            }
            done.licenses = user.licenses.clone();
            done.offboard = Some(user.id);
            done.outcome = Outcome::Offboarded;
        }
        Action::Restore => {
            if user.deleted_at.is_none() {
                done.outcome = Outcome::Skipped;
                done.warnings
                    .push("not_offboarded: the user is active".into());
                return Ok(done);
            }
            let held = match directory {
                Some(d) => d.offboarded_licenses(user.id)?,
                None => Vec::new(),
            };
            let mut wanted = Vec::new();
            for sku in &held {
                match tenant.license_index(sku) {
                    Some(i) => wanted.push(i as u16),
                    None => done.warnings.push(format!(
                        "license_gone: {sku} is no longer in the tenant file"
                    )),
                }
            }
            let mut skus: Vec<&str> = Vec::new();
            match pool.reserve(&wanted) {
                Ok(()) => {
                    for &i in &wanted {
                        granted[i as usize] += 1;
                        skus.push(&tenant.licenses[i as usize].sku);
                    }
                }
                Err(short) => {
                    let short: Vec<&str> = short
                        .iter()
                        .map(|&i| tenant.licenses[i as usize].sku.as_str())
                        .collect();
                    match job.on_shortage {
                        OnShortage::Unlicensed => done
                            .warnings
                            .extend(short.iter().map(|s| format!("no_seats: {s}"))),
                        OnShortage::Fail => {
                            return Ok(done.fail(
                                "no_seats",
                                format!("no seats left for {}", short.join(", ")),
                            ))
                        }
                    }
                }
            }
            done.licenses = skus.iter().map(|s| s.to_string()).collect();
            if let (Some(d), false) = (directory, job.dry_run) {
                d.restore(user, &skus)?;
                done.password = Some(password::generate(tenant.password_length));
            }
            done.outcome = Outcome::Restored;
            if job.mail.credentials {
                if user.profile[ALTERNATE_EMAIL_AT].trim().is_empty() {
                    done.warnings.push(
                        "no_mail_address: no Alternate email address to mail the password to"
                            .to_string(),
                    );
                } else {
                    done.mail = true;
                }
            }
        }
        Action::Purge { .. } => unreachable!("purge reads no file"),
    }
    Ok(done)
}
