//! `onboard push` (and `import --push`): brings Microsoft Graph in line with the
//! directory, in JSON batches.
//!
//! The directory's users are sorted into what Graph still needs, then the work goes in
//! phases, each a set of fully parallel batches of at most 20 requests with a bounded
//! number in flight: (1) users whose create a killed push left unconfirmed are looked up
//! by User Name; (2) creates, each recorded as `creating` before it is sent; (3) updates
//! (PATCH), deletes of offboarded users, restores; (4) licences (`assignLicense`) and
//! role assignments of the users that now exist; (5) purges. A licence is thus assigned
//! only after its user exists (Graph refuses a batch that mixes dependent and
//! independent requests, so dependencies go between batches). Each outcome is recorded
//! as it arrives.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tracing::{info, warn};

use crate::graph::client::{backoff, Client, Reply, Request, BATCH_LIMIT, TRIES};
use crate::graph::payload::{self, del, is_conflict, lookup};
use crate::row::Field;
use crate::store::graph::{GraphChange, GraphState, PushCandidate};
use crate::store::{Access, Directory, StoredUser};
use crate::tenant::Tenant;
use crate::write::file::Target;
use crate::write::result::Credential;

/// What `onboard push` was asked.
pub struct PushJob<'a> {
    pub tenant: &'a Tenant,
    pub directory: PathBuf,
    /// The result file of an import or restore: the passwords of the users to create.
    pub results: Option<PathBuf>,
    pub output: Target,
    /// Files the push file must not replace: the directory, the tenant and result files.
    pub kept: Vec<crate::write::file::Kept>,
    /// Batches in flight at once.
    pub concurrency: usize,
    pub lock_timeout: Duration,
}

/// What a user's push came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PushStatus {
    Created,
    Adopted,
    Updated,
    Deleted,
    Restored,
    Purged,
    Failed,
}

impl PushStatus {
    pub const ALL: [PushStatus; 7] = [
        PushStatus::Created,
        PushStatus::Adopted,
        PushStatus::Updated,
        PushStatus::Deleted,
        PushStatus::Restored,
        PushStatus::Purged,
        PushStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Created => "created",
            PushStatus::Adopted => "adopted",
            PushStatus::Updated => "updated",
            PushStatus::Deleted => "deleted",
            PushStatus::Restored => "restored",
            PushStatus::Purged => "purged",
            PushStatus::Failed => "failed",
        }
    }
}

/// How a push ended.
#[derive(Debug)]
pub struct PushEnd {
    pub counts: BTreeMap<PushStatus, u64>,
    pub users: u64,
    pub requests: u64,
    pub batches: u64,
    pub retries: u64,
    pub seconds: f64,
    pub result_file: PathBuf,
}

impl PushEnd {
    pub fn failed(&self) -> u64 {
        self.counts.get(&PushStatus::Failed).copied().unwrap_or(0)
    }

    /// The summary as one JSON log line (`--log-format json`): message `push summary`,
    /// the figures under `push`.
    pub fn json_line(&self) -> String {
        let counts: BTreeMap<&str, u64> = PushStatus::ALL
            .iter()
            .map(|s| (s.as_str(), self.counts.get(s).copied().unwrap_or(0)))
            .collect();
        let fields = json!({"push": {
            "users": self.users,
            "status": counts,
            "requests": self.requests,
            "batches": self.batches,
            "retries": self.retries,
            "seconds": self.seconds,
            "push_file": self.result_file.display().to_string(),
        }});
        crate::logging::json_line("INFO", "push summary", &fields, None)
    }

    /// The summary lines on stderr.
    pub fn print(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let counts: Vec<String> = PushStatus::ALL
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.as_str(),
                    self.counts.get(s).copied().unwrap_or(0)
                )
            })
            .collect();
        writeln!(out, "onboard: push: {} users", self.users)?;
        writeln!(out, "  status: {}", counts.join(", "))?;
        writeln!(
            out,
            "  requests: {} in {} batches, {} retried after throttling",
            self.requests, self.batches, self.retries
        )?;
        writeln!(
            out,
            "  time: {:.2}s, {:.0} users/s",
            self.seconds,
            if self.seconds > 0.0 {
                self.users as f64 / self.seconds
            } else {
                0.0
            }
        )?;
        writeln!(out, "  push file: {}", self.result_file.display())
    }
}

/// One user's work and outcome.
struct Task {
    cand: PushCandidate,
    user: Option<StoredUser>,
    graph_id: Option<String>,
    status: Option<PushStatus>,
    errors: Vec<String>,
    /// Licences and roles are to be brought in line (the user exists in Graph).
    grants: bool,
    /// The profile is to be written (an update, an adopted user).
    patch: bool,
    /// Replies still awaited in the grants phase, and what they did.
    open: usize,
    roles_done: Vec<String>,
    licenses_done: Option<Vec<String>>,
}

impl Task {
    fn fail(&mut self, code: &str, message: impl std::fmt::Display) {
        self.status = Some(PushStatus::Failed);
        self.errors.push(format!("{code}: {message}"));
    }

    fn set(&mut self, status: PushStatus) {
        if self.status != Some(PushStatus::Failed) {
            // The first thing that happened to a user is what it is: created stays created
            // when its licences follow.
            self.status.get_or_insert(status);
        }
    }

    fn profile(&self, field: Field) -> &str {
        payload::profile(self.user.as_ref().expect("an active user"), field)
    }
}

/// Runs a push with a signed-in `client`.
pub fn run(job: &PushJob, client: &Client) -> Result<PushEnd> {
    let started = Instant::now();
    crate::write::file::check(&[&job.output], &job.kept)?;
    let d = Directory::open(&job.directory, Access::Write, job.lock_timeout)?
        .with_context(|| format!("directory {} does not exist", job.directory.display()))?;
    d.log_pushes_lightly()?;
    let passwords: HashMap<String, Credential> = match &job.results {
        Some(path) => crate::write::result::read_credentials(path)?,
        None => HashMap::new(),
    };
    let mut tasks = Vec::new();
    for cand in d.push_candidates()? {
        let g = cand.graph.as_ref();
        let state = g.map(|g| g.state);
        let has_id = g.is_some_and(|g| g.graph_id.is_some());
        let needs = match (cand.id.is_some(), cand.offboarded) {
            // Purged from the directory: purge in Graph.
            (false, _) => true,
            (true, true) => has_id && state != Some(GraphState::Deleted),
            (true, false) => match state {
                None | Some(GraphState::Creating | GraphState::Created | GraphState::Deleted) => {
                    true
                }
                Some(GraphState::Failed) => true,
                Some(GraphState::Licensed) => g.is_some_and(|g| g.version < cand.version),
                Some(GraphState::Purged) => false,
            },
        };
        if !needs {
            continue;
        }
        let user = match cand.id {
            Some(id) if !cand.offboarded => d.user_by_id(id)?,
            _ => None,
        };
        tasks.push(Task {
            graph_id: g.and_then(|g| g.graph_id.clone()),
            cand,
            user,
            status: None,
            errors: Vec::new(),
            grants: false,
            patch: false,
            open: 0,
            roles_done: Vec::new(),
            licenses_done: None,
        });
    }
    info!(users = tasks.len(), "push: users to bring in line");
    let mut push = Push {
        job,
        client,
        d: &d,
        tasks,
        passwords,
        roles: HashMap::new(),
    };
    push.look_up_unconfirmed()?;
    push.create()?;
    push.update_delete_restore()?;
    push.grants()?;
    push.purge()?;
    let end = push.finish(started)?;
    Ok(end)
}

struct Push<'a> {
    job: &'a PushJob<'a>,
    client: &'a Client,
    d: &'a Directory,
    tasks: Vec<Task>,
    passwords: HashMap<String, Credential>,
    /// Role display name (lower case) to its definition id in Graph.
    roles: HashMap<String, String>,
}

impl Push<'_> {
    fn record(&self, t: &Task, change: GraphChange) -> Result<()> {
        self.d
            .set_graph_state(&t.cand.object_id, &t.cand.user_name, &change)
    }

    /// Task `i` exists in Graph (`body` has its id): its licences and roles come next,
    /// and its profile when `patch`.
    fn found(&mut self, i: usize, body: &Value, status: PushStatus, patch: bool) -> Result<()> {
        let t = &mut self.tasks[i];
        t.graph_id = body["id"].as_str().map(str::to_string);
        t.set(status);
        t.grants = true;
        t.patch |= patch;
        let t = &self.tasks[i];
        self.record(
            t,
            GraphChange {
                graph_id: t.graph_id.as_deref(),
                ..GraphChange::to(GraphState::Created)
            },
        )
    }

    /// Graph refused task `i`'s request, or it did not get through: the task fails with
    /// `graph_error` and is recorded as `state`.
    fn refused(&mut self, i: usize, reply: Result<Reply, String>, state: GraphState) -> Result<()> {
        let why = match reply {
            Ok(r) => r.error(),
            Err(e) => e,
        };
        self.tasks[i].fail("graph_error", why);
        self.record_failure(&self.tasks[i], state)
    }

    fn record_failure(&self, t: &Task, state: GraphState) -> Result<()> {
        let error = t.errors.join(" | ");
        self.record(
            t,
            GraphChange {
                graph_id: t.graph_id.as_deref(),
                error: &error,
                ..GraphChange::to(state)
            },
        )
    }

    /// Sends `requests` (task index, request) in parallel batches, `concurrency` in
    /// flight, and hands each reply to `on_reply` on this thread as its batch returns.
    /// What Graph throttled goes again in rounds, in full batches with the other
    /// throttled requests, after the longest `Retry-After` of the round.
    fn run_phase(
        &mut self,
        requests: Vec<(usize, Request)>,
        mut on_reply: impl FnMut(&mut Self, usize, Result<Reply, String>) -> Result<()>,
    ) -> Result<()> {
        let mut pending = requests;
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            let last = round >= TRIES;
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            let mut throttled_without_wait = false;
            let chunks: Vec<&[(usize, Request)]> = pending.chunks(BATCH_LIMIT).collect();
            let next = AtomicUsize::new(0);
            let (tx, rx) = std::sync::mpsc::channel();
            let client = self.client;
            std::thread::scope(|scope| -> Result<()> {
                for _ in 0..self.job.concurrency.clamp(1, chunks.len()) {
                    let tx = tx.clone();
                    let (next, chunks) = (&next, &chunks);
                    scope.spawn(move || loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else { break };
                        let reqs: Vec<Request> = chunk.iter().map(|(_, r)| r.clone()).collect();
                        let replies = client.batch(&reqs).map_err(|e| format!("{e:#}"));
                        if tx.send((i, replies)).is_err() {
                            break;
                        }
                    });
                }
                drop(tx);
                for (i, replies) in rx {
                    let chunk = chunks[i];
                    match replies {
                        Ok(replies) => {
                            for ((task, request), reply) in chunk.iter().zip(replies) {
                                if reply.retryable() && !last {
                                    match reply.retry_after {
                                        Some(w) => wait = wait.max(Some(w)),
                                        None => throttled_without_wait = true,
                                    }
                                    again.push((*task, request.clone()));
                                } else {
                                    on_reply(self, *task, Ok(reply))?;
                                }
                            }
                        }
                        Err(e) => {
                            for (task, _) in chunk.iter() {
                                on_reply(self, *task, Err(e.clone()))?;
                            }
                        }
                    }
                }
                Ok(())
            })?;
            if !again.is_empty() {
                self.client.count_retries(again.len());
                let mut pause = wait.unwrap_or_default();
                if throttled_without_wait {
                    pause = pause.max(backoff(round));
                }
                tracing::debug!(
                    requests = again.len(),
                    ?pause,
                    "throttled; sending them again"
                );
                std::thread::sleep(pause);
            }
            pending = again;
        }
        Ok(())
    }

    /// (1) Users whose create a stopped push may have sent: found by User Name, they
    /// are adopted, never created again.
    fn look_up_unconfirmed(&mut self) -> Result<()> {
        let requests: Vec<(usize, Request)> = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.user.is_some()
                    && t.graph_id.is_none()
                    && t.cand.graph.as_ref().is_some_and(|g| {
                        matches!(g.state, GraphState::Creating | GraphState::Failed)
                    })
            })
            .map(|(i, t)| (i, lookup(&t.cand.user_name)))
            .collect();
        self.run_phase(requests, |push, i, reply| match reply {
            Ok(r) if r.ok() => push.found(i, &r.body, PushStatus::Created, true),
            Ok(r) if r.status == 404 => Ok(()), // never created: (2) creates it
            other => push.refused(i, other, GraphState::Creating),
        })
    }

    /// (2) Creates the active users Graph does not have; a name taken in Graph is
    /// adopted when its Employee ID matches.
    fn create(&mut self) -> Result<()> {
        let mut requests = Vec::new();
        let mut marked: Vec<(String, String)> = Vec::new();
        let mut without_password = Vec::new();
        for (i, t) in self.tasks.iter_mut().enumerate() {
            let waiting = t.graph_id.is_none()
                && t.status.is_none()
                && t.user.is_some()
                && t.cand
                    .graph
                    .as_ref()
                    .is_none_or(|g| matches!(g.state, GraphState::Creating | GraphState::Failed));
            if !waiting {
                continue;
            }
            let Some(credential) = self.passwords.get(&t.cand.user_name.to_lowercase()) else {
                t.fail(
                    "no_password",
                    "the user's password is not in the result file given (name the result file of the run that created or restored them)",
                );
                without_password.push(i);
                continue;
            };
            let body = payload::create_body(
                t.user.as_ref().expect("an active user"),
                self.job.tenant,
                t.cand.force_password_change,
                &credential.password,
            );
            marked.push((t.cand.object_id.clone(), t.cand.user_name.clone()));
            requests.push((
                i,
                Request {
                    method: "POST",
                    url: "/users".to_string(),
                    body: Some(body),
                },
            ));
        }
        for i in without_password {
            self.record_failure(&self.tasks[i], GraphState::Failed)?;
        }
        let pairs: Vec<(&str, &str)> = marked
            .iter()
            .map(|(o, u)| (o.as_str(), u.as_str()))
            .collect();
        self.d.mark_creating(&pairs)?;
        let mut conflicts = Vec::new();
        self.run_phase(requests, |push, i, reply| {
            crate::interrupt::pause_point("push-created");
            match reply {
                Ok(r) if r.ok() => push.found(i, &r.body, PushStatus::Created, false),
                Ok(r) if r.status == 400 && is_conflict(&r.body) => {
                    conflicts.push(i);
                    Ok(())
                }
                Ok(r) => push.refused(i, Ok(r), GraphState::Failed),
                // The batch may or may not have reached Graph: look up next time.
                Err(e) => push.refused(i, Err(e), GraphState::Creating),
            }
        })?;
        // A name Graph already has: the same person (by Employee ID) is adopted.
        let requests = conflicts
            .iter()
            .map(|&i| (i, lookup(&self.tasks[i].cand.user_name)))
            .collect();
        self.run_phase(requests, |push, i, reply| {
            let t = &mut push.tasks[i];
            let ours = t.profile(Field::EmployeeId).to_string();
            match reply {
                Ok(r) if r.ok() => {
                    let theirs = r.body["employeeId"].as_str().unwrap_or_default();
                    if !ours.is_empty() && theirs.eq_ignore_ascii_case(&ours) {
                        return push.found(i, &r.body, PushStatus::Adopted, true);
                    }
                    t.fail(
                        "already_exists",
                        format!(
                            "{} is another user in Microsoft 365 (Employee ID {}, not {})",
                            t.cand.user_name,
                            if theirs.is_empty() { "none" } else { theirs },
                            if ours.is_empty() {
                                "none"
                            } else {
                                ours.as_str()
                            }
                        ),
                    );
                }
                Ok(r) => t.fail("graph_error", r.error()),
                Err(e) => t.fail("graph_error", e),
            }
            push.record_failure(&push.tasks[i], GraphState::Failed)
        })
    }

    /// (3) Profile updates, deletes of offboarded users, restores.
    fn update_delete_restore(&mut self) -> Result<()> {
        let mut requests = Vec::new();
        for i in 0..self.tasks.len() {
            let t = &mut self.tasks[i];
            if t.status == Some(PushStatus::Failed) {
                continue;
            }
            let state = t.cand.graph.as_ref().map(|g| g.state);
            let Some(gid) = t.graph_id.clone() else {
                continue;
            };
            if t.cand.id.is_none() {
                // Purged from the directory but not deleted in Graph: delete first.
                if state != Some(GraphState::Deleted) {
                    requests.push((i, del(format!("/users/{gid}"))));
                }
            } else if t.cand.offboarded {
                requests.push((i, del(format!("/users/{gid}"))));
            } else if state == Some(GraphState::Deleted) {
                requests.push((
                    i,
                    Request {
                        method: "POST",
                        url: format!("/directory/deletedItems/{gid}/restore"),
                        body: None,
                    },
                ));
            } else if t.patch || state == Some(GraphState::Licensed) {
                t.patch = true;
                requests.push((i, self.patch_request(i, &gid)));
            }
        }
        self.run_phase(requests, |push, i, reply| {
            let offboarded = push.tasks[i].cand.offboarded;
            match reply {
                Ok(r) if r.ok() || (r.status == 404 && offboarded) => {}
                other => return push.refused(i, other, GraphState::Failed),
            }
            let t = &mut push.tasks[i];
            if t.cand.offboarded {
                if t.cand.id.is_some() {
                    t.set(PushStatus::Deleted);
                }
                let t = &push.tasks[i];
                push.record(t, GraphChange::to(GraphState::Deleted))?;
            } else if t.cand.graph.as_ref().map(|g| g.state) == Some(GraphState::Deleted)
                && !t.patch
            {
                t.set(PushStatus::Restored);
                t.grants = true;
                let t = &push.tasks[i];
                push.record(t, GraphChange::to(GraphState::Created))?;
            } else {
                t.set(PushStatus::Updated);
                t.grants = true;
            }
            Ok(())
        })?;
        // A restored user signs in with the password the restore gave them.
        let mut requests = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            if t.status != Some(PushStatus::Restored) {
                continue;
            }
            let gid = t.graph_id.clone().expect("restored users have an id");
            let mut req = self.patch_request(i, &gid);
            if let Some(c) = self.passwords.get(&t.cand.user_name.to_lowercase()) {
                req.body.as_mut().expect("a body")["passwordProfile"] = json!({
                    "forceChangePasswordNextSignIn": t.cand.force_password_change,
                    "password": c.password.expose(),
                });
            }
            requests.push((i, req));
        }
        self.run_phase(requests, |push, i, reply| match reply {
            Ok(r) if r.ok() => Ok(()),
            other => push.refused(i, other, GraphState::Failed),
        })
    }

    fn patch_request(&self, i: usize, gid: &str) -> Request {
        let user = self.tasks[i].user.as_ref().expect("an active user");
        Request {
            method: "PATCH",
            url: format!("/users/{gid}"),
            body: Some(payload::patch_body(user, self.job.tenant)),
        }
    }

    /// (4) Licences and roles of the users that exist in Graph now.
    fn grants(&mut self) -> Result<()> {
        let wants_roles = self.tasks.iter().any(|t| {
            t.grants
                && t.status != Some(PushStatus::Failed)
                && t.user.as_ref().is_some_and(|u| !u.roles.is_empty())
        });
        if wants_roles {
            self.load_roles()?;
        }
        let mut requests = Vec::new();
        for i in 0..self.tasks.len() {
            let t = &self.tasks[i];
            let state = t.cand.graph.as_ref().map(|g| g.state);
            let grants = t.status != Some(PushStatus::Failed)
                && !t.cand.offboarded
                && (t.grants
                    || (t.graph_id.is_some() && state == Some(GraphState::Created))
                    || (t.graph_id.is_some() && state == Some(GraphState::Failed)));
            if !grants {
                continue;
            }
            let gid = t.graph_id.clone().expect("an id");
            let mut reqs = Vec::new();
            match self.license_request(t, &gid) {
                Ok(Some(r)) => reqs.push(r),
                Ok(None) => {}
                Err(e) => {
                    let t = &mut self.tasks[i];
                    t.fail("graph_error", format!("{e:#}"));
                    self.record_failure(&self.tasks[i], GraphState::Failed)?;
                    continue;
                }
            }
            let pushed: Vec<String> = t
                .cand
                .graph
                .as_ref()
                .map_or_else(Vec::new, |g| g.roles.clone());
            let user = t.user.as_ref().expect("an active user");
            let mut role_error = None;
            for role in &user.roles {
                if pushed.iter().any(|p| p.eq_ignore_ascii_case(role)) {
                    continue;
                }
                match self.roles.get(&role.to_lowercase()) {
                    Some(def) => reqs.push(Request {
                        method: "POST",
                        url: "/roleManagement/directory/roleAssignments".to_string(),
                        body: Some(json!({
                            "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                            "roleDefinitionId": def,
                            "principalId": gid,
                            "directoryScopeId": "/",
                        })),
                    }),
                    None => role_error = Some(role.clone()),
                }
            }
            let t = &mut self.tasks[i];
            t.roles_done = pushed;
            if let Some(role) = role_error {
                t.fail(
                    "unknown_role",
                    format!("Microsoft 365 has no role `{role}`"),
                );
            }
            t.open = reqs.len();
            if reqs.is_empty() {
                self.grants_done(i)?;
            }
            requests.extend(reqs.into_iter().map(|r| (i, r)));
        }
        self.run_phase(requests, |push, i, reply| {
            let t = &mut push.tasks[i];
            let role = reply
                .as_ref()
                .ok()
                .and_then(|r| r.body["roleDefinitionId"].as_str().map(str::to_string));
            match reply {
                Ok(r) if r.ok() => {
                    if let Some(def) = role {
                        if let Some((name, _)) = push.roles.iter().find(|(_, d)| **d == def) {
                            let name = name.clone();
                            let t = &mut push.tasks[i];
                            let display = t
                                .user
                                .as_ref()
                                .and_then(|u| u.roles.iter().find(|r| r.to_lowercase() == name))
                                .cloned()
                                .unwrap_or(name);
                            t.roles_done.push(display);
                        }
                    } else {
                        let current = t
                            .user
                            .as_ref()
                            .map_or_else(Vec::new, |u| u.licenses.clone());
                        t.licenses_done = Some(current);
                    }
                }
                Ok(r) => {
                    let message = r.error();
                    if message.contains("does not have any available licenses") {
                        t.fail(
                            "no_seats",
                            format!("Microsoft 365 has no seats left: {message}"),
                        );
                    } else {
                        t.fail("graph_error", message);
                    }
                }
                Err(e) => t.fail("graph_error", e),
            }
            let t = &mut push.tasks[i];
            t.open -= 1;
            if t.open == 0 {
                push.grants_done(i)?;
            }
            Ok(())
        })
    }

    /// Records a user whose licences and roles have all been answered.
    fn grants_done(&mut self, i: usize) -> Result<()> {
        let t = &mut self.tasks[i];
        t.set(PushStatus::Updated);
        let licenses = t.licenses_done.clone().unwrap_or_else(|| {
            t.cand
                .graph
                .as_ref()
                .map_or_else(Vec::new, |g| g.licenses.clone())
        });
        let licenses = licenses.join("+");
        let roles = t.roles_done.join("|");
        let t = &self.tasks[i];
        let failed = t.status == Some(PushStatus::Failed);
        let error = t.errors.join(" | ");
        self.record(
            t,
            GraphChange {
                state: if failed {
                    GraphState::Failed
                } else {
                    GraphState::Licensed
                },
                graph_id: t.graph_id.as_deref(),
                version: (!failed).then_some(t.cand.version),
                licenses: Some(&licenses),
                roles: Some(&roles),
                error: &error,
            },
        )
    }

    /// `assignLicense` bringing Graph's licences of `t` to the directory's: `None` when
    /// nothing changes.
    fn license_request(&self, t: &Task, gid: &str) -> Result<Option<Request>> {
        let user = t.user.as_ref().expect("an active user");
        let tenant = self.job.tenant;
        let pushed = t
            .cand
            .graph
            .as_ref()
            .map_or_else(Vec::new, |g| g.licenses.clone());
        let sku_id = |sku: &str| -> Result<String> {
            tenant
                .license_index(sku)
                .and_then(|i| tenant.licenses[i].sku_id.clone())
                .with_context(|| {
                    format!(
                        "the tenant file has no sku_id for {sku} (`onboard tenant pull` writes it)"
                    )
                })
        };
        let mut add = Vec::new();
        for sku in &user.licenses {
            let license = tenant.license_index(sku).map(|i| &tenant.licenses[i]);
            let mut disabled = Vec::new();
            for (s, app) in &user.disabled_apps {
                if s == sku {
                    let id = license.and_then(|l| l.app_ids.get(app)).with_context(|| {
                        format!("the tenant file has no id for app {app} of {sku} (`onboard tenant pull` writes app_ids)")
                    })?;
                    disabled.push(id.clone());
                }
            }
            add.push(json!({"skuId": sku_id(sku)?, "disabledPlans": disabled}));
        }
        let mut remove = Vec::new();
        for sku in &pushed {
            if !user.licenses.iter().any(|l| l.eq_ignore_ascii_case(sku)) {
                remove.push(json!(sku_id(sku)?));
            }
        }
        if add.is_empty() && remove.is_empty() {
            return Ok(None);
        }
        Ok(Some(Request {
            method: "POST",
            url: format!("/users/{gid}/assignLicense"),
            body: Some(json!({"addLicenses": add, "removeLicenses": remove})),
        }))
    }

    fn load_roles(&mut self) -> Result<()> {
        let r = self.client.call(&Request {
            method: "GET",
            url: "/roleManagement/directory/roleDefinitions?$select=id,displayName".to_string(),
            body: None,
        })?;
        if !r.ok() {
            anyhow::bail!("cannot read the role definitions: {}", r.error());
        }
        for def in r.body["value"].as_array().into_iter().flatten() {
            if let (Some(id), Some(name)) = (def["id"].as_str(), def["displayName"].as_str()) {
                self.roles.insert(name.to_lowercase(), id.to_string());
            }
        }
        Ok(())
    }

    /// (5) Users purged from the directory are removed from Graph's deleted items.
    fn purge(&mut self) -> Result<()> {
        let mut requests = Vec::new();
        for i in 0..self.tasks.len() {
            let t = &mut self.tasks[i];
            if t.cand.id.is_some() || t.status == Some(PushStatus::Failed) {
                continue;
            }
            match &t.graph_id {
                Some(gid) => requests.push((i, del(format!("/directory/deletedItems/{gid}")))),
                None => {
                    // Never in Graph: nothing to remove.
                    t.set(PushStatus::Purged);
                    let t = &self.tasks[i];
                    self.d.set_graph_state(
                        &t.cand.object_id,
                        &t.cand.user_name,
                        &GraphChange::to(GraphState::Purged),
                    )?;
                }
            }
        }
        self.run_phase(requests, |push, i, reply| match reply {
            Ok(r) if r.ok() || r.status == 404 => {
                push.tasks[i].set(PushStatus::Purged);
                push.record(&push.tasks[i], GraphChange::to(GraphState::Purged))
            }
            other => push.refused(i, other, GraphState::Deleted),
        })
    }

    /// Writes the push file and sums up.
    fn finish(self, started: Instant) -> Result<PushEnd> {
        let mut counts = BTreeMap::new();
        crate::write::file::write(&self.job.output, |out| {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out);
            w.write_record(["User Name", "Object ID", "Status", "Errors"])?;
            for t in &self.tasks {
                let status = t.status.unwrap_or(PushStatus::Updated);
                *counts.entry(status).or_insert(0u64) += 1;
                w.write_record([
                    crate::write::result::defuse(&t.cand.user_name).as_ref(),
                    t.graph_id.as_deref().unwrap_or(""),
                    status.as_str(),
                    crate::write::result::defuse(&crate::row::escape_controls(
                        &t.errors.join(" | "),
                    ))
                    .as_ref(),
                ])?;
            }
            w.flush()?;
            Ok(())
        })?;
        for t in self
            .tasks
            .iter()
            .filter(|t| t.status == Some(PushStatus::Failed))
        {
            warn!(user = %t.cand.user_name, errors = %t.errors.join(" | "), "push failed");
        }
        let stats = &self.client.stats;
        Ok(PushEnd {
            users: self.tasks.len() as u64,
            counts,
            requests: stats.requests.load(Ordering::Relaxed),
            batches: stats.batches.load(Ordering::Relaxed),
            retries: stats.retries.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
            result_file: self.job.output.path.clone(),
        })
    }
}
