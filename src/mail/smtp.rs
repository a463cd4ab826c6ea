//! One SMTP connection for a whole run (lettre's client): opened on the first mail,
//! protected as `[mail] server` says, signed in, and used for every mail after; opened
//! again when the server closed it. Transient failures are retried with back-off.
//!
//! A mail goes as MAIL, RCPT, DATA and then its whole text with the closing dot in one
//! write. lettre's own `send` writes the closing dot apart, and with Nagle's algorithm on
//! (lettre 0.11.23 does not set TCP_NODELAY) that small write waits for the server's
//! delayed ACK: 40 ms a mail, 23 mails a second measured against aiosmtpd. A refusal is
//! answered with RSET, so the connection stays.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::mail::config::{MailSettings, Security};
use crate::password::Password;

/// Tries per mail (and per connection) before a transient failure counts.
const ATTEMPTS: u32 = 4;
/// Waits before the second, third and fourth try: doubling from here.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long one SMTP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it; its reply.
    Sent(String),
    /// The server refused it for good (5xx); its reply.
    Refused(String),
    /// Still failing after the retries (4xx, or the connection broke each time).
    Failed(String),
}

/// The server could not be reached, spoken to safely, or signed in to: no mail of the
/// run can go now.
#[derive(Debug, Clone)]
pub struct Unreachable(pub String);

/// A connection to the mail server, and what opening one needs.
pub struct Session {
    host: String,
    port: u16,
    security: Security,
    tls: TlsParameters,
    credentials: Option<Credentials>,
    hello: ClientId,
    conn: Option<SmtpConnection>,
    /// Connections opened so far.
    pub connections: u32,
    /// Tries that were made again.
    pub retries: u32,
}

impl Session {
    /// Prepares a session; connects on the first [`Session::send`]. `ca` is the PEM text
    /// of `ca_file`, trusted beside the usual roots.
    pub fn new(
        settings: &MailSettings,
        ca: Option<&[u8]>,
        password: Option<&Password>,
    ) -> anyhow::Result<Session> {
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = ca {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| anyhow::anyhow!("[mail] ca_file is not a PEM certificate: {e}"))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("[mail] TLS set-up: {e}"))?;
        let credentials = match (&settings.user, password) {
            (Some(user), Some(p)) => Some(Credentials::new(user.clone(), p.expose().to_string())),
            _ => None,
        };
        Ok(Session {
            host: settings.host.clone(),
            port: settings.port,
            security: settings.security,
            tls,
            credentials,
            hello: ClientId::default(),
            conn: None,
            connections: 0,
            retries: 0,
        })
    }

    /// Opens the connection: TLS as the server address says, then the sign-in. Nothing is
    /// sent over a connection that should be encrypted and is not.
    fn connect(&mut self) -> Result<SmtpConnection, (String, bool)> {
        let wrapper = (self.security == Security::Implicit).then_some(&self.tls);
        let transient = |e: lettre::transport::smtp::Error| {
            let again = !e.is_permanent();
            (describe(&e), again)
        };
        self.connections += 1;
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(COMMAND_TIMEOUT),
            &self.hello,
            wrapper,
            None,
        )
        .map_err(transient)?;
        match self.security {
            Security::Implicit => {}
            Security::StartTlsRequired if !conn.can_starttls() => {
                conn.abort();
                return Err((
                    format!(
                        "{} does not offer STARTTLS; onboard sends nothing, not even the sign-in, without TLS to any host but 127.0.0.1, ::1 and localhost (use smtps:// or a server that offers STARTTLS)",
                        self.host
                    ),
                    false,
                ));
            }
            Security::StartTlsRequired | Security::StartTlsIfOffered => {
                if conn.can_starttls() {
                    conn.starttls(&self.tls, &self.hello).map_err(|e| {
                        (
                            format!("STARTTLS with {} failed: {}", self.host, describe(&e)),
                            false,
                        )
                    })?;
                }
            }
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .map_err(|e| {
                    (
                        format!("the server refused the sign-in: {}", describe(&e)),
                        !e.is_permanent() && !e.is_client(),
                    )
                })?;
        }
        Ok(conn)
    }

    /// Sends one mail, retrying what may pass later. `Err` when the server cannot be
    /// reached at all: the caller stops, and the mails not sent stay to send later.
    pub fn send(&mut self, envelope: &Envelope, bytes: &[u8]) -> Result<Outcome, Unreachable> {
        let mut wait = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                self.retries += 1;
                std::thread::sleep(wait);
                wait *= 2;
            }
            if self.conn.as_ref().is_none_or(SmtpConnection::has_broken) {
                self.conn = None;
                match self.connect() {
                    Ok(conn) => self.conn = Some(conn),
                    Err((why, again)) => {
                        if again && attempt < ATTEMPTS {
                            last = why;
                            continue;
                        }
                        return Err(Unreachable(why));
                    }
                }
            }
            let conn = self.conn.as_mut().expect("connected");
            match transmit(conn, envelope, bytes) {
                Ok(response) => return Ok(Outcome::Sent(reply_text(&response))),
                Err(e) => {
                    let reply = e.status().is_some();
                    // A reply ends the transaction: RSET keeps the connection for the
                    // next mail. Anything else (a broken connection): a new one.
                    if !reply || conn.command(Rset).is_err() {
                        conn.abort();
                        self.conn = None;
                    }
                    if e.is_permanent() {
                        return Ok(Outcome::Refused(describe(&e)));
                    }
                    last = describe(&e);
                }
            }
        }
        Ok(Outcome::Failed(last))
    }

    /// Says goodbye to the server.
    pub fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

/// Sends one mail on `conn`: the envelope's commands, then the text, dot-stuffed and
/// closed, in one write.
fn transmit(
    conn: &mut SmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<Response, lettre::transport::smtp::Error> {
    conn.command(Mail::new(envelope.from().cloned(), Vec::new()))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))?;
    }
    conn.command(Data)?;
    conn.command(Text(bytes))
}

/// A mail's text as SMTP carries it after DATA: CRLF lines, a `.` doubled at the start
/// of a line, and the closing `.` line.
struct Text<'a>(&'a [u8]);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // lettre's messages are ASCII: every header encoded, every body part 7bit,
        // quoted-printable or base64.
        let text = String::from_utf8_lossy(self.0);
        for line in text.split_inclusive('\n') {
            if line.starts_with('.') {
                f.write_str(".")?;
            }
            match line.strip_suffix('\n') {
                Some(l) => {
                    f.write_str(l.strip_suffix('\r').unwrap_or(l))?;
                    f.write_str("\r\n")?;
                }
                None => {
                    f.write_str(line)?;
                    f.write_str("\r\n")?;
                }
            }
        }
        f.write_str(".\r\n")
    }
}

/// `250 2.0.0 OK queued as 12`: the code and the reply's lines.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
}

/// lettre's error text (`permanent error (550): 5.1.1 ...`), control characters shown.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    crate::row::escape_controls(&e.to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn the_text_is_dot_stuffed_and_closed() {
        assert_eq!(
            Text(b"Subject: x\r\n\r\n.hidden\r\nend").to_string(),
            "Subject: x\r\n\r\n..hidden\r\nend\r\n.\r\n"
        );
        assert_eq!(Text(b"a\r\n").to_string(), "a\r\n.\r\n");
    }
}
