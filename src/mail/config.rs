//! The tenant file's `[mail]` table (docs/mail.md): where and how credential mails are
//! sent. Checked when the tenant file is read, so every mistake names its line; the
//! SMTP password, the template and the CA file are read only when mail is sent.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use lettre::message::Mailbox;
use serde::Deserialize;
use toml::Spanned;

use crate::mail::template::Template;

/// Where a new user signs in when the tenant file does not say.
pub const DEFAULT_SIGN_IN_URL: &str = "https://www.office.com";
/// The subject of a credential mail when the tenant file does not say.
pub const DEFAULT_SUBJECT: &str = "Your account at {organisation}";

/// `[mail]` as written in the tenant file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMail {
    server: Spanned<String>,
    from: Spanned<String>,
    user: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    sign_in_url: Option<Spanned<String>>,
    subject: Option<Spanned<String>>,
    template: Option<Spanned<String>>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` to another host than this machine: the server must offer STARTTLS, or
    /// nothing is sent (not even the sign-in).
    StartTlsRequired,
    /// `smtp://` to 127.0.0.1, ::1 or localhost: STARTTLS when offered, plain otherwise.
    StartTlsIfOffered,
}

/// The checked `[mail]` table.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The server as written, for messages.
    pub server: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub from: Mailbox,
    /// Sign in (AUTH) as this user, with the password from `password_env`.
    pub user: Option<String>,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub sign_in_url: String,
    pub subject: Template,
    pub template: Option<PathBuf>,
}

impl RawMail {
    /// Checks the table; `at` turns a byte offset of the tenant file into its line.
    pub(crate) fn check(self, at: &dyn Fn(usize) -> usize) -> Result<MailSettings> {
        let line = |s: &Spanned<String>| at(s.span().start);
        let (host, port, security) = parse_server(self.server.get_ref())
            .with_context(|| format!("line {}: [mail] server", line(&self.server)))?;
        let from = parse_mailbox(self.from.get_ref())
            .with_context(|| format!("line {}: [mail] from", line(&self.from)))?;
        let user = self.user.as_ref().map(|u| u.get_ref().trim().to_string());
        let password_env = match &self.password_env {
            None => None,
            Some(p) => {
                let name = p.get_ref().trim();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    bail!(
                        "line {}: [mail] password_env must name an environment variable (letters, digits, _), not hold the password",
                        line(p)
                    );
                }
                Some(name.to_string())
            }
        };
        match (&user, &self.password_env) {
            (Some(_), None) => bail!(
                "line {}: [mail] user needs password_env: the name of the environment variable that holds the SMTP password",
                line(self.user.as_ref().expect("user"))
            ),
            (None, Some(p)) => bail!(
                "line {}: [mail] password_env without user: who signs in?",
                line(p)
            ),
            _ => {}
        }
        if user.as_deref().is_some_and(str::is_empty) {
            bail!(
                "line {}: [mail] user is empty",
                line(self.user.as_ref().expect("user"))
            );
        }
        let sign_in_url = self.sign_in_url.as_ref().map_or_else(
            || DEFAULT_SIGN_IN_URL.to_string(),
            |u| u.get_ref().trim().to_string(),
        );
        if let Some(u) = &self.sign_in_url {
            if sign_in_url.chars().any(char::is_control) || sign_in_url.is_empty() {
                bail!(
                    "line {}: [mail] sign_in_url is empty or holds a line break",
                    line(u)
                );
            }
        }
        let subject_text = self
            .subject
            .as_ref()
            .map_or(DEFAULT_SUBJECT, |s| s.get_ref().as_str());
        let subject = Template::parse(subject_text).with_context(|| {
            format!(
                "line {}: [mail] subject",
                self.subject.as_ref().map_or(1, line)
            )
        })?;
        if subject_text.contains(['\r', '\n']) {
            bail!(
                "line {}: [mail] subject holds a line break",
                self.subject.as_ref().map_or(1, line)
            );
        }
        if subject.uses_password() {
            bail!(
                "line {}: [mail] subject must not show {{password}}",
                self.subject.as_ref().map_or(1, line)
            );
        }
        Ok(MailSettings {
            server: self.server.get_ref().clone(),
            host,
            port,
            security,
            from,
            user,
            password_env,
            ca_file: self.ca_file.map(|c| PathBuf::from(c.get_ref())),
            sign_in_url,
            subject,
            template: self.template.map(|t| PathBuf::from(t.get_ref())),
        })
    }
}

impl MailSettings {
    /// Makes `ca_file` and `template` relative to the tenant file's folder, so a
    /// scheduler that starts elsewhere finds them.
    pub(crate) fn resolve_paths(&mut self, folder: &Path) {
        for path in [&mut self.ca_file, &mut self.template]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = folder.join(&*path);
            }
        }
    }

    /// The SMTP password from the environment variable `password_env` names; `None`
    /// without a `user`. An unset or empty variable is an error naming the variable.
    pub fn password(&self) -> Result<Option<crate::password::Password>> {
        let Some(name) = &self.password_env else {
            return Ok(None);
        };
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Some(crate::password::Password::given(&value))),
            _ => bail!(
                "[mail] password_env names {name}, but {name} is not set (or empty) in the environment"
            ),
        }
    }
}

/// `smtp://host[:port]` or `smtps://host[:port]`; the default ports are 587 and 465.
fn parse_server(text: &str) -> Result<(String, u16, Security)> {
    let text = text.trim();
    let (scheme, rest) = text
        .split_once("://")
        .with_context(|| format!("`{text}` is not smtp://host:port or smtps://host:port"))?;
    let implicit = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        other => bail!("`{other}://` is not smtp:// or smtps://"),
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('@') {
        bail!("the server address holds a user or password; set `user` and `password_env` instead");
    }
    if rest.contains(['/', '?', '#']) || rest.is_empty() {
        bail!("`{text}` must be only scheme, host and port");
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .with_context(|| format!("`{text}`: an IPv6 address needs its closing ]"))?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.to_string(), None),
        }
    };
    let port = match port {
        None => {
            if implicit {
                465
            } else {
                587
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .with_context(|| format!("`{p}` is not a port number"))?,
    };
    if host.is_empty() || host.chars().any(|c| c.is_control() || c == ' ') {
        bail!("`{text}` has no host");
    }
    let security = if implicit {
        Security::Implicit
    } else if is_this_machine(&host) {
        Security::StartTlsIfOffered
    } else {
        Security::StartTlsRequired
    };
    Ok((host, port, security))
}

/// 127.0.0.1, ::1 and localhost: the only hosts mail may reach without TLS.
pub fn is_this_machine(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| {
            ip == IpAddr::from([127, 0, 0, 1]) || ip == IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
        })
}

/// An address, or `Name <address>`; a line break anywhere is refused (it would start a
/// header of its own).
pub fn parse_mailbox(text: &str) -> Result<Mailbox> {
    if text.chars().any(char::is_control) {
        bail!(
            "`{}` holds a line break or another control character",
            crate::row::printable(text)
        );
    }
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| anyhow::anyhow!("`{}` is not an e-mail address ({e})", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        let s = |t: &str| parse_server(t).map_err(|e| format!("{e:#}"));
        assert_eq!(
            s("smtp://127.0.0.1:2525").unwrap(),
            ("127.0.0.1".into(), 2525, Security::StartTlsIfOffered)
        );
        assert_eq!(
            s("smtp://[::1]:25").unwrap(),
            ("::1".into(), 25, Security::StartTlsIfOffered)
        );
        assert_eq!(
            s("smtp://mail.contoso.com").unwrap(),
            ("mail.contoso.com".into(), 587, Security::StartTlsRequired)
        );
        assert_eq!(
            s("SMTPS://mail.contoso.com").unwrap(),
            ("mail.contoso.com".into(), 465, Security::Implicit)
        );
        // 127.0.0.2 is this machine too, but only the three names go without TLS.
        assert_eq!(
            s("smtp://127.0.0.2:25").unwrap().2,
            Security::StartTlsRequired
        );
        assert!(s("http://mail.contoso.com")
            .unwrap_err()
            .contains("not smtp://"));
        assert!(s("smtp://u:p@mail.contoso.com")
            .unwrap_err()
            .contains("password_env"));
        assert!(s("smtp://mail.contoso.com:0").is_err());
        assert!(s("mail.contoso.com").is_err());
    }

    #[test]
    fn a_line_break_in_from_is_refused() {
        assert!(parse_mailbox("IT <it@contoso.com>").is_ok());
        assert!(parse_mailbox("IT\r\nBcc: x@evil.com <it@contoso.com>").is_err());
        assert!(parse_mailbox("it@contoso.com\nBcc: x@evil.com").is_err());
    }
}
