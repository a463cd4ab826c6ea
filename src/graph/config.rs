//! The tenant file's `[graph]` table (docs/graph.md): which Microsoft Entra tenant and
//! app registration onboard signs in as. The client secret is never in the file, only the
//! name of the environment variable that holds it.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use toml::Spanned;

/// Microsoft's public cloud.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// `[graph]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGraph {
    tenant_id: Spanned<String>,
    client_id: Spanned<String>,
    secret_env: Spanned<String>,
    login_url: Option<Spanned<String>>,
    graph_url: Option<Spanned<String>>,
}

/// The checked `[graph]` table.
#[derive(Debug, Clone)]
pub struct GraphSettings {
    pub tenant_id: String,
    pub client_id: String,
    pub secret_env: String,
    /// Without a trailing `/`.
    pub login_url: String,
    /// Without a trailing `/`; requests go to `{graph_url}/v1.0/...`.
    pub graph_url: String,
}

impl RawGraph {
    pub(crate) fn check(self, at: &dyn Fn(usize) -> usize) -> Result<GraphSettings> {
        let line = |s: &Spanned<String>| at(s.span().start);
        let plain = |s: &Spanned<String>, what: &str| -> Result<String> {
            let v = s.get_ref().trim();
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            {
                bail!(
                    "line {}: [graph] {what} `{}` is not a GUID or domain name",
                    line(s),
                    crate::row::printable(v)
                );
            }
            Ok(v.to_string())
        };
        let tenant_id = plain(&self.tenant_id, "tenant_id")?;
        let client_id = plain(&self.client_id, "client_id")?;
        let secret_env = self.secret_env.get_ref().trim().to_string();
        if secret_env.is_empty()
            || !secret_env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            bail!(
                "line {}: [graph] secret_env must name an environment variable (letters, digits, _), not hold the secret",
                line(&self.secret_env)
            );
        }
        let url = |s: &Option<Spanned<String>>, default: &str, what: &str| -> Result<String> {
            match s {
                None => Ok(default.to_string()),
                Some(s) => check_url(s.get_ref())
                    .with_context(|| format!("line {}: [graph] {what}", line(s))),
            }
        };
        Ok(GraphSettings {
            tenant_id,
            client_id,
            secret_env,
            login_url: url(&self.login_url, DEFAULT_LOGIN_URL, "login_url")?,
            graph_url: url(&self.graph_url, DEFAULT_GRAPH_URL, "graph_url")?,
        })
    }
}

impl GraphSettings {
    /// The client secret from the environment variable `secret_env` names.
    pub fn secret(&self) -> Result<crate::password::Password> {
        match std::env::var(&self.secret_env) {
            Ok(v) if !v.is_empty() => Ok(crate::password::Password::given(&v)),
            _ => bail!(
                "[graph] secret_env names {0}, but {0} is not set (or empty) in the environment",
                self.secret_env
            ),
        }
    }
}

/// `https://host[:port][/path]`; `http://` only to this machine (a test's simulator).
fn check_url(text: &str) -> Result<String> {
    let text = text.trim().trim_end_matches('/');
    let (scheme, rest) = text
        .split_once("://")
        .with_context(|| format!("`{text}` is not an https:// address"))?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    if host.is_empty() || rest.contains(['?', '#', '@']) || text.chars().any(char::is_control) {
        bail!("`{text}` is not an https:// address");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if crate::mail::config::is_this_machine(host) => {}
        "http" => bail!("`{text}`: http:// only to 127.0.0.1, ::1 or localhost; use https://"),
        _ => bail!("`{text}` is not an https:// address"),
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls() {
        assert_eq!(
            check_url("https://graph.microsoft.us/").unwrap(),
            "https://graph.microsoft.us"
        );
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://graph.microsoft.com").is_err());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://user:pw@graph.microsoft.com").is_err());
    }
}
