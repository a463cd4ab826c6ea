//! The tenant file: what the organisation owns (domains, licence pools, password policy).
//!
//! Hand-edited TOML, so every mistake is reported with the file and line it is on, and
//! unknown keys are rejected rather than silently ignored.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use toml::Spanned;

use crate::check::countries;

/// Most licences a tenant may have, and most apps a licence may have: rows refer to them
/// by 16-bit index.
const MAX_LICENSES: usize = u16::MAX as usize;
const MAX_APPS: usize = u16::MAX as usize;

/// Generated and given passwords must be this long at least and at most.
pub const PASSWORD_LEN_RANGE: std::ops::RangeInclusive<usize> = 8..=256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    domains: Spanned<Vec<Spanned<String>>>,
    default_domain: Option<Spanned<String>>,
    default_usage_location: Option<Spanned<String>>,
    retention_days: Option<Spanned<i64>>,
    #[serde(default)]
    password: Option<RawPassword>,
    #[serde(default)]
    license: Vec<RawLicense>,
    mail: Option<crate::mail::config::RawMail>,
    graph: Option<crate::graph::config::RawGraph>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassword {
    length: Option<Spanned<i64>>,
    force_change: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicense {
    sku: Spanned<String>,
    name: Spanned<String>,
    seats: Spanned<i64>,
    #[serde(default)]
    apps: Vec<String>,
    sku_id: Option<Spanned<String>>,
    #[serde(default)]
    app_ids: std::collections::BTreeMap<String, String>,
}

/// One licence (SKU) the organisation has bought.
#[derive(Debug, Clone)]
pub struct License {
    /// Part number, e.g. `SPE_E3`.
    pub sku: String,
    /// Friendly name, e.g. `Microsoft 365 E3`; accepted in input too.
    pub name: String,
    /// Seats purchased.
    pub seats: u64,
    /// Service plans (apps) in this licence, which `Disabled Apps` may name.
    pub apps: Vec<String>,
    /// The SKU's GUID in Microsoft Graph (`skuId`), which a push sends; written by
    /// `onboard tenant pull`.
    pub sku_id: Option<String>,
    /// The apps' GUIDs in Graph (`servicePlanId`), by app name, for disabled plans.
    pub app_ids: std::collections::BTreeMap<String, String>,
}

/// The checked tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    /// Verified domains, lowercased.
    pub domains: Vec<String>,
    /// Appended to a User Name without `@`, lowercased.
    pub default_domain: Option<String>,
    /// Used when a row has no Usage Location, uppercased.
    pub default_usage_location: Option<String>,
    pub password_length: usize,
    pub force_change: bool,
    pub licenses: Vec<License>,
    /// Days an offboarded user can be restored before `purge` removes them (default 30,
    /// as Microsoft 365 keeps a deleted user).
    pub retention_days: u64,
    /// `[mail]`: how credential mails are sent.
    pub mail: Option<crate::mail::config::MailSettings>,
    /// `[graph]`: the Microsoft Entra tenant and app a push signs in as.
    pub graph: Option<crate::graph::config::GraphSettings>,
}

impl Tenant {
    /// Reads and checks a tenant file; every error names the file and line.
    pub fn load(path: &Path) -> Result<Tenant> {
        if std::fs::metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
            bail!(
                "tenant file {} does not exist; `onboard tenant init` writes one to edit (or name another with --tenant)",
                path.display()
            );
        }
        let bytes = crate::read::read_small_file(path, "tenant file")?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                bail!(
                    "tenant file {}: line {}: the file is not UTF-8 text (save it as UTF-8)",
                    path.display(),
                    1 + valid.iter().filter(|&&b| b == b'\n').count()
                );
            }
        };
        let mut tenant =
            Tenant::parse(&text).with_context(|| format!("tenant file {}", path.display()))?;
        if let Some(mail) = &mut tenant.mail {
            mail.resolve_paths(&crate::write::file::folder(path));
        }
        Ok(tenant)
    }

    /// Parses tenant TOML text. Errors say `line N: ...`.
    pub fn parse(text: &str) -> Result<Tenant> {
        let raw: RawTenant = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
                bail!("line {line}: {}", e.message());
            }
        };
        let at = |span: Range<usize>| line_of(text, span.start);

        if raw.name.trim().is_empty() {
            bail!("line 1: `name` is empty");
        }
        let mut domains = Vec::new();
        for d in raw.domains.get_ref() {
            let lower = d.get_ref().trim().to_ascii_lowercase();
            if !is_domain_name(&lower) {
                bail!(
                    "line {}: `{}` in `domains` is not a domain name",
                    at(d.span()),
                    d.get_ref()
                );
            }
            if domains.contains(&lower) {
                bail!(
                    "line {}: domain `{}` is listed twice",
                    at(d.span()),
                    d.get_ref()
                );
            }
            domains.push(lower);
        }
        if domains.is_empty() {
            bail!(
                "line {}: `domains` must list at least one verified domain",
                at(raw.domains.span())
            );
        }
        let default_domain = match raw.default_domain {
            None => None,
            Some(d) => {
                let lower = d.get_ref().trim().to_ascii_lowercase();
                if !domains.contains(&lower) {
                    bail!(
                        "line {}: default_domain `{}` is not one of `domains`",
                        at(d.span()),
                        d.get_ref()
                    );
                }
                Some(lower)
            }
        };
        let default_usage_location = match raw.default_usage_location {
            None => None,
            Some(u) => {
                if !countries::is_country_code(u.get_ref().trim()) {
                    bail!(
                        "line {}: default_usage_location `{}` is not an ISO 3166-1 alpha-2 country code",
                        at(u.span()),
                        u.get_ref()
                    );
                }
                Some(u.get_ref().trim().to_ascii_uppercase())
            }
        };
        let (password_length, force_change) = match raw.password {
            None => (16, true),
            Some(p) => {
                let len = match p.length {
                    None => 16,
                    Some(l) => {
                        let v = *l.get_ref();
                        if v < *PASSWORD_LEN_RANGE.start() as i64
                            || v > *PASSWORD_LEN_RANGE.end() as i64
                        {
                            bail!(
                                "line {}: password length {v} is out of range 8..=256",
                                at(l.span())
                            );
                        }
                        v as usize
                    }
                };
                (len, p.force_change.unwrap_or(true))
            }
        };
        let mut licenses: Vec<License> = Vec::new();
        // SKUs and friendly names in lower case, each to the index of its licence.
        let mut skus = HashMap::new();
        let mut names = HashMap::new();
        for l in raw.license {
            if licenses.len() == MAX_LICENSES {
                bail!(
                    "line {}: more than {MAX_LICENSES} licences",
                    at(l.sku.span())
                );
            }
            let sku = l.sku.get_ref().trim().to_string();
            if sku.is_empty() {
                bail!("line {}: licence `sku` is empty", at(l.sku.span()));
            }
            let sku_key = sku.to_lowercase();
            if skus.contains_key(&sku_key) {
                bail!("line {}: duplicate SKU `{sku}`", at(l.sku.span()));
            }
            // Input names a licence by SKU or friendly name: one must not be the other's.
            if let Some(&o) = names.get(&sku_key) {
                let other: &License = &licenses[o];
                bail!(
                    "line {}: SKU `{sku}` is the name of licence `{}`",
                    at(l.sku.span()),
                    other.sku
                );
            }
            let name = l.name.get_ref().trim().to_string();
            let name_key = name.to_lowercase();
            if skus.contains_key(&name_key) {
                bail!(
                    "line {}: licence name `{name}` is the SKU of another licence",
                    at(l.name.span())
                );
            }
            if !name.is_empty() && names.insert(name_key, licenses.len()).is_some() {
                bail!(
                    "line {}: licence name `{name}` is used by two SKUs",
                    at(l.name.span())
                );
            }
            skus.insert(sku_key, licenses.len());
            if l.apps.len() > MAX_APPS {
                bail!(
                    "line {}: licence `{sku}` has more than {MAX_APPS} apps",
                    at(l.sku.span())
                );
            }
            let seats = *l.seats.get_ref();
            if seats < 0 {
                bail!(
                    "line {}: seats for `{sku}` is {seats}; it must be 0 or more",
                    at(l.seats.span())
                );
            }
            let sku_id = match l.sku_id {
                None => None,
                Some(id) if is_guid(id.get_ref()) => Some(id.get_ref().to_ascii_lowercase()),
                Some(id) => bail!("line {}: sku_id of `{sku}` is not a GUID", at(id.span())),
            };
            if let Some((app, _)) = l.app_ids.iter().find(|(_, id)| !is_guid(id)) {
                bail!(
                    "line {}: app_ids of `{sku}`: the id of `{app}` is not a GUID",
                    at(l.sku.span())
                );
            }
            licenses.push(License {
                sku,
                name,
                seats: seats as u64,
                apps: l.apps.iter().map(|a| a.trim().to_string()).collect(),
                sku_id,
                app_ids: l
                    .app_ids
                    .into_iter()
                    .map(|(k, v)| (k.trim().to_string(), v.to_ascii_lowercase()))
                    .collect(),
            });
        }
        let retention_days = match raw.retention_days {
            None => 30,
            Some(days) if (0..=36_500).contains(days.get_ref()) => *days.get_ref() as u64,
            Some(days) => bail!(
                "line {}: retention_days must be 0 to 36500, not {}",
                at(days.span()),
                days.get_ref()
            ),
        };
        let mail = raw
            .mail
            .map(|m| m.check(&|byte| line_of(text, byte)))
            .transpose()?;
        let graph = raw
            .graph
            .map(|g| g.check(&|byte| line_of(text, byte)))
            .transpose()?;
        Ok(Tenant {
            mail,
            graph,
            name: raw.name,
            domains,
            default_domain,
            default_usage_location,
            password_length,
            force_change,
            licenses,
            retention_days,
        })
    }

    /// Index of the licence whose SKU or friendly name is `name` (case-insensitive).
    pub fn license_index(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.licenses
            .iter()
            .position(|l| l.sku.eq_ignore_ascii_case(name))
            .or_else(|| {
                self.licenses
                    .iter()
                    .position(|l| !l.name.is_empty() && l.name.eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                // Friendly names may hold non-ASCII letters; compare them fully lowercased
                // (two ASCII names were compared above already).
                let ascii = name.is_ascii();
                let mut lower = None;
                self.licenses.iter().position(|l| {
                    let compared_above = ascii && l.name.is_ascii();
                    !l.name.is_empty()
                        && !compared_above
                        && l.name.to_lowercase()
                            == *lower.get_or_insert_with(|| name.to_lowercase())
                })
            })
    }

    /// Whether `domain` (any case) is verified.
    pub fn has_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits in any case.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A DNS name of at least two labels made of ASCII letters, digits and inner hyphens.
fn is_domain_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "Contoso"
domains = ["Contoso.com", "fabrikam.nl"]
default_domain = "contoso.com"
default_usage_location = "nl"
[password]
length = 12
force_change = false
[[license]]
sku = "SPE_E3"
name = "Microsoft 365 E3"
seats = 5
apps = ["TEAMS1"]
"#;

    #[test]
    fn parses_a_good_tenant() {
        let t = Tenant::parse(GOOD).unwrap();
        assert_eq!(t.domains, ["contoso.com", "fabrikam.nl"]);
        assert_eq!(t.default_usage_location.as_deref(), Some("NL"));
        assert_eq!(t.password_length, 12);
        assert!(!t.force_change);
        assert_eq!(t.license_index("microsoft 365 e3"), Some(0));
        assert_eq!(t.license_index("spe_e3"), Some(0));
        assert_eq!(t.license_index("EMS"), None);
    }

    fn err(text: &str) -> String {
        format!("{:#}", Tenant::parse(text).unwrap_err())
    }

    #[test]
    fn names_the_line_of_each_rule_broken() {
        assert!(err("name = \"x\"\ndomains = [\"a.com\"]\ncolour = 1\n").starts_with("line 3:"));
        assert!(err("name = \"x\"\ndomains = []\n").contains("line 2: `domains` must list"));
        let neg = "name = \"x\"\ndomains = [\"a.com\"]\n[[license]]\nsku = \"A\"\nname = \"A\"\nseats = -1\n";
        assert!(err(neg).starts_with("line 6: seats"), "{}", err(neg));
        let dup = "name = \"x\"\ndomains = [\"a.com\"]\n[[license]]\nsku = \"A\"\nname = \"A\"\nseats = 1\n[[license]]\nsku = \"a\"\nname = \"B\"\nseats = 1\n";
        assert!(
            err(dup).starts_with("line 8: duplicate SKU"),
            "{}",
            err(dup)
        );
        let clash = "name = \"x\"\ndomains = [\"a.com\"]\n[[license]]\nsku = \"A\"\nname = \"B\"\nseats = 1\n[[license]]\nsku = \"B\"\nname = \"C\"\nseats = 1\n";
        assert_eq!(err(clash), "line 8: SKU `B` is the name of licence `A`");
        let clash = "name = \"x\"\ndomains = [\"a.com\"]\n[[license]]\nsku = \"A\"\nname = \"A\"\nseats = 1\n[[license]]\nsku = \"B\"\nname = \"a\"\nseats = 1\n";
        assert_eq!(
            err(clash),
            "line 9: licence name `a` is the SKU of another licence"
        );
        let len = "name = \"x\"\ndomains = [\"a.com\"]\n[password]\nlength = 7\n";
        assert!(err(len).starts_with("line 4: password length 7"));
        assert!(err("name = \"x\"\n").contains("domains"));
    }
}
