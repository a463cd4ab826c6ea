//! Credential and result mails (docs/mail.md).
//!
//! A run that makes passwords (import, restore) plans its mails in its own transaction:
//! one row of the directory's mail log per mail. After the commit and the result file's
//! rename, [`deliver`] sends what the log says is not sent yet, taking the passwords from
//! the result file (their only home) and recording each outcome as it learns it. `onboard
//! mail RESULTS.csv` does the same later, so a mail that did not go is sent again, and a
//! mail recorded as sent never is.

pub mod config;
pub mod smtp;
pub mod template;

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::Serialize;
use tracing::{info, warn};

use crate::mail::config::MailSettings;
use crate::mail::smtp::{Outcome, Session};
use crate::mail::template::{Slot, Template};
use crate::password::Password;
use crate::store::mail::{MailEntry, MailKind, MailState};
use crate::store::Directory;
use crate::tenant::Tenant;
use crate::write::result::{credentials_in, read_result_file, Credential};

/// At most this many addresses for `--mail-results-to`, as the admin center allows.
pub const MAX_RESULT_RECIPIENTS: usize = 5;

/// What a run is asked to mail (`--mail-credentials`, `--mail-results-to`).
#[derive(Debug, Clone, Default)]
pub struct MailRequest {
    pub credentials: bool,
    pub results_to: Vec<String>,
}

impl MailRequest {
    /// Checks `--mail-results-to`'s addresses: at most five, each an address alone.
    pub fn new(credentials: bool, results_to: &[String]) -> Result<MailRequest> {
        let mut addresses = Vec::new();
        // clap has split the option at its commas.
        for a in results_to {
            let a = a.trim();
            if a.is_empty() {
                continue;
            }
            if a.chars().any(char::is_control) || a.parse::<lettre::Address>().is_err() {
                bail!(
                    "--mail-results-to: `{}` is not an e-mail address",
                    crate::row::printable(a)
                );
            }
            if !addresses.iter().any(|x: &String| x.eq_ignore_ascii_case(a)) {
                addresses.push(a.to_string());
            }
        }
        if addresses.len() > MAX_RESULT_RECIPIENTS {
            bail!(
                "--mail-results-to names {} addresses; at most {MAX_RESULT_RECIPIENTS}",
                addresses.len()
            );
        }
        Ok(MailRequest {
            credentials,
            results_to: addresses,
        })
    }

    pub fn any(&self) -> bool {
        self.credentials || !self.results_to.is_empty()
    }
}

/// Everything sending needs, read and checked before a run writes anything: `[mail]`,
/// its template, its CA file and the SMTP password.
pub struct Outbox {
    settings: MailSettings,
    template: Template,
    ca: Option<Vec<u8>>,
    password: Option<Password>,
    organisation: String,
}

impl Outbox {
    pub fn prepare(tenant: &Tenant) -> Result<Outbox> {
        let Some(settings) = tenant.mail.clone() else {
            bail!("the tenant file has no [mail] table: it says which server sends the mails (see docs/mail.md)");
        };
        let template = match &settings.template {
            Some(path) => Template::load(path)?,
            None => Template::default(),
        };
        let ca = settings
            .ca_file
            .as_ref()
            .map(|path| {
                crate::read::read_small_file(path, "[mail] ca_file")
                    .with_context(|| format!("cannot read [mail] ca_file {}", path.display()))
            })
            .transpose()?;
        let password = settings.password()?;
        // The CA file must parse now, not at the first mail.
        Session::new(&settings, ca.as_deref(), password.as_ref())?;
        Ok(Outbox {
            settings,
            template,
            ca,
            password,
            organisation: tenant.name.clone(),
        })
    }
}

/// What became of a run's mails.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MailTally {
    /// Sent now.
    pub sent: u64,
    /// Sent by an earlier attempt: not sent again.
    pub already_sent: u64,
    pub refused: u64,
    pub failed: u64,
    /// Not tried: the server could not be reached.
    pub not_sent: u64,
    /// Handed to the server by an attempt that was stopped: it may have gone, so it is
    /// not sent again unless asked (`onboard mail --resend-unconfirmed`).
    pub unconfirmed: u64,
    /// Why the server could not be reached, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    pub connections: u32,
    pub retries: u32,
}

impl MailTally {
    /// Whether some mail still has to go (exit 4).
    pub fn incomplete(&self) -> bool {
        self.refused + self.failed + self.not_sent + self.unconfirmed > 0
    }

    /// `mail: 4 sent, 1 refused` and, if it could not be reached, why.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} sent", self.sent)];
        for (n, what) in [
            (self.already_sent, "sent before"),
            (self.refused, "refused"),
            (self.failed, "failed"),
            (self.not_sent, "not sent"),
            (self.unconfirmed, "unconfirmed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut line = format!("mail: {}", parts.join(", "));
        if let Some(why) = &self.unreachable {
            line.push_str(&format!(" (server not reached: {why})"));
        }
        line
    }
}

/// The run whose mails are sent: its row, its result file, and the words for the result
/// mail.
pub struct RunMail<'a> {
    pub run: i64,
    pub run_id: &'a str,
    pub result_file: &'a Path,
    /// One or two lines on the run, for the result mail's text.
    pub summary: String,
    /// Send mails left `sending` by a stopped attempt again.
    pub resend_unconfirmed: bool,
}

/// Sends the mails of `run` that are not sent, records each outcome.
pub fn deliver(directory: &Directory, outbox: &Outbox, run: &RunMail) -> Result<MailTally> {
    directory.log_mails_lightly()?;
    let entries = directory.mails_of_run(run.run)?;
    let mut tally = MailTally::default();
    let due: Vec<&MailEntry> = entries
        .iter()
        .filter(|e| match e.state {
            MailState::Sent => {
                tally.already_sent += 1;
                false
            }
            MailState::Sending if !run.resend_unconfirmed => {
                tally.unconfirmed += 1;
                warn!(
                    recipient = %e.recipient,
                    user = %e.user_name,
                    "a mail was being sent when an earlier attempt stopped; it may have arrived, so it is not sent again (onboard mail --resend-unconfirmed sends it)"
                );
                false
            }
            _ => true,
        })
        .collect();
    if due.is_empty() {
        return Ok(tally);
    }
    // Read once: the passwords for the credential mails, the attachment of the others.
    let file = read_result_file(run.result_file)?;
    let credentials = if due.iter().any(|e| e.kind == MailKind::Credentials) {
        credentials_in(run.result_file, &file)?
    } else {
        HashMap::new()
    };
    let mut session = Session::new(
        &outbox.settings,
        outbox.ca.as_deref(),
        outbox.password.as_ref(),
    )?;
    for (i, entry) in due.iter().enumerate() {
        if crate::interrupt::requested() {
            tally.not_sent += (due.len() - i) as u64;
            break;
        }
        let message = match entry.kind {
            MailKind::Credentials => match credentials.get(&entry.user_name.to_lowercase()) {
                Some(c) => outbox.credential_mail(entry, c),
                None => Err(anyhow::anyhow!(
                    "the result file {} has no password for {}",
                    run.result_file.display(),
                    entry.user_name
                )),
            },
            MailKind::Results => outbox.result_mail(entry, run, &file),
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                directory.set_mail_state(entry.id, MailState::Failed, &format!("{e:#}"))?;
                warn!(recipient = %entry.recipient, user = %entry.user_name, "mail not sent: {e:#}");
                tally.failed += 1;
                continue;
            }
        };
        directory.set_mail_state(entry.id, MailState::Sending, "")?;
        crate::interrupt::pause_point("mail-sending");
        match session.send(message.envelope(), &message.formatted()) {
            Ok(Outcome::Sent(reply)) => {
                directory.set_mail_state(entry.id, MailState::Sent, &reply)?;
                tally.sent += 1;
            }
            Ok(Outcome::Refused(reply)) => {
                directory.set_mail_state(entry.id, MailState::Refused, &reply)?;
                warn!(recipient = %entry.recipient, user = %entry.user_name, reply = %reply, "the mail server refused a mail");
                tally.refused += 1;
            }
            Ok(Outcome::Failed(reply)) => {
                directory.set_mail_state(entry.id, MailState::Failed, &reply)?;
                warn!(recipient = %entry.recipient, user = %entry.user_name, reply = %reply, "a mail did not go through");
                tally.failed += 1;
            }
            Err(smtp::Unreachable(why)) => {
                // Nothing was handed over: the mail stays planned, like the rest.
                directory.set_mail_state(entry.id, MailState::Planned, &why)?;
                warn!(server = %outbox.settings.server, "mail server not reached: {why}; the mails are kept to send with `onboard mail`");
                tally.not_sent += (due.len() - i) as u64;
                tally.unreachable = Some(why);
                break;
            }
        }
    }
    session.close();
    tally.connections = session.connections;
    tally.retries = session.retries;
    info!(
        sent = tally.sent,
        refused = tally.refused,
        failed = tally.failed,
        not_sent = tally.not_sent,
        connections = tally.connections,
        "mail done"
    );
    Ok(tally)
}

impl Outbox {
    fn values<'a>(&'a self, c: &'a Credential) -> impl Fn(Slot) -> String + 'a {
        move |slot| match slot {
            Slot::DisplayName => c.display_name.clone(),
            Slot::UserName => c.user_name.clone(),
            Slot::Password => c.password.expose().to_string(),
            Slot::Organisation => self.organisation.clone(),
            Slot::SignInUrl => self.settings.sign_in_url.clone(),
        }
    }

    fn credential_mail(&self, entry: &MailEntry, c: &Credential) -> Result<Message> {
        let values = self.values(c);
        let to = mailbox(Some(&c.display_name), &entry.recipient)?;
        let body = zeroize::Zeroizing::new(self.template.render(&values));
        Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(one_line(&self.settings.subject.render(&values)))
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .context("cannot build the mail")
    }

    fn result_mail(&self, entry: &MailEntry, run: &RunMail, file: &[u8]) -> Result<Message> {
        let name = run.result_file.file_name().map_or_else(
            || "results.csv".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let text = format!(
            "{}\n\nThe result file {name} is attached. It holds the new users' passwords: keep it safe, and delete this mail once they have signed in.\n\nRun {} of onboard for {}.\n",
            run.summary, run.run_id, self.organisation
        );
        Message::builder()
            .from(self.settings.from.clone())
            .to(mailbox(None, &entry.recipient)?)
            .subject(one_line(&format!("onboard results: {name}")))
            .message_id(None)
            .multipart(
                MultiPart::mixed()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        Attachment::new(name).body(file.to_vec(), ContentType::parse("text/csv")?),
                    ),
            )
            .context("cannot build the mail")
    }
}

/// `Name <address>`; control characters in the name become spaces (a line break would
/// otherwise start a header of its own).
fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox> {
    let address = address.trim().parse::<lettre::Address>().map_err(|e| {
        anyhow::anyhow!(
            "`{}` is not an e-mail address ({e})",
            crate::row::printable(address)
        )
    })?;
    let name = name.map(one_line).filter(|n| !n.trim().is_empty());
    Ok(Mailbox::new(name, address))
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// After a committed run: sends its `planned` mails, from the result file where it was
/// put. The run stands whatever happens here: an error leaves the mails to `onboard
/// mail` and is reported as mails not sent.
pub fn after_commit(
    directory: &Path,
    outbox: &Outbox,
    run_id: &str,
    result_file: &Path,
    summary: String,
    lock_timeout: std::time::Duration,
    planned: u64,
) -> MailTally {
    let send = || -> Result<MailTally> {
        let d = Directory::open(directory, crate::store::Access::Write, lock_timeout)?
            .context("the directory is gone")?;
        let run = d
            .run_by_run_id(run_id)?
            .with_context(|| format!("run {run_id} is not in the directory"))?;
        deliver(
            &d,
            outbox,
            &RunMail {
                run: run.id,
                run_id,
                result_file,
                summary,
                resend_unconfirmed: false,
            },
        )
    };
    send().unwrap_or_else(|e| {
        tracing::error!("the mails were not sent: {e:#}; `onboard mail` sends them");
        MailTally {
            not_sent: planned,
            unreachable: Some(format!("{e:#}")),
            ..MailTally::default()
        }
    })
}
