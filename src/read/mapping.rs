//! The `--columns` file: how an HR export's own headers map to onboard's fields, and the
//! patterns that build a missing User Name or Display Name ([`crate::read::names`]).
//!
//! ```toml
//! [columns]
//! "Voornaam" = "First Name"
//! "Geboortedatum" = "ignore"
//! [user_name]
//! pattern = "{first}.{last}@fabrikam.nl"
//! [display_name]
//! pattern = "{first} {last}"
//! [account_status]
//! active = ["Active"]
//! leaver = ["Inactive", "Terminated"]
//! ```
//!
//! Hand-edited TOML like the tenant file: every mistake is fatal and names the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use toml::Spanned;

use crate::read::columns::{self, HeaderMap};
use crate::read::pattern::{Pattern, PatternKind};
use crate::row::Field;
use crate::tenant::Tenant;

/// The target that drops a column instead of mapping it to a field.
pub const IGNORE: &str = "ignore";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    columns: BTreeMap<String, Spanned<String>>,
    user_name: Option<RawPattern>,
    display_name: Option<RawPattern>,
    account_status: Option<RawStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    #[serde(default)]
    active: Vec<Spanned<String>>,
    #[serde(default)]
    leaver: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    pattern: Spanned<String>,
}

/// A checked `--columns` file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The file, for messages.
    pub path: PathBuf,
    /// Input headers (as [`columns::header_key`] gives them) and their fields.
    pub headers: Vec<(String, Option<Field>)>,
    /// `[user_name] pattern`, with its line.
    pub user_name: Option<(usize, Pattern)>,
    /// `[display_name] pattern`, with its line.
    pub display_name: Option<(usize, Pattern)>,
    /// `[account_status]`: the HR system's values for an active person and a leaver,
    /// lower-cased.
    pub active_values: Vec<String>,
    pub leaver_values: Vec<String>,
}

impl Mapping {
    /// Reads and checks a mapping file; every error names the file and the line.
    pub fn load(path: &Path) -> Result<Mapping> {
        let bytes = crate::read::read_small_file(path, "columns file")?;
        let text = String::from_utf8(bytes).with_context(|| {
            format!(
                "columns file {}: the file is not UTF-8 text",
                path.display()
            )
        })?;
        let mut mapping =
            Mapping::parse(&text).with_context(|| format!("columns file {}", path.display()))?;
        mapping.path = path.to_path_buf();
        Ok(mapping)
    }

    /// Parses mapping TOML text. Errors say `line N: ...`.
    pub fn parse(text: &str) -> Result<Mapping> {
        let raw: RawMapping = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
                bail!("line {line}: {}", e.message().trim_end());
            }
        };
        let mut entries: Vec<(String, Spanned<String>)> = raw.columns.into_iter().collect();
        entries.sort_by_key(|(_, v)| v.span().start);
        let mut headers: Vec<(String, Option<Field>)> = Vec::new();
        for (header, target) in entries {
            let line = line_of(text, target.span().start);
            let key = columns::header_key(&header);
            if key.is_empty() {
                bail!("line {line}: an empty header cannot be mapped");
            }
            if headers.iter().any(|(h, _)| *h == key) {
                bail!("line {line}: header `{}` is mapped twice", header.trim());
            }
            let name = target.get_ref().trim();
            let field = if name.eq_ignore_ascii_case(IGNORE) {
                None
            } else {
                match columns::field_named(name) {
                    Some(f) => Some(f),
                    None => bail!(
                        "line {line}: `{name}` (for `{}`) is not an onboard column{}; or use \"{IGNORE}\" to leave the column out",
                        header.trim(),
                        columns::did_you_mean(name)
                    ),
                }
            };
            headers.push((key, field));
        }
        let pattern = |raw: Option<RawPattern>, kind, table| -> Result<_> {
            let Some(raw) = raw else {
                return Ok(None);
            };
            let line = line_of(text, raw.pattern.span().start);
            match Pattern::parse(raw.pattern.get_ref(), kind) {
                Ok(p) => Ok(Some((line, p))),
                Err(why) => bail!("line {line}: [{table}] {why}"),
            }
        };
        let (mut active_values, mut leaver_values) = (Vec::new(), Vec::new());
        if let Some(status) = raw.account_status {
            for (values, out, other) in [
                (&status.active, &mut active_values, &status.leaver),
                (&status.leaver, &mut leaver_values, &status.active),
            ] {
                for v in values {
                    let value = v.get_ref().trim().to_lowercase();
                    let line = line_of(text, v.span().start);
                    if value.is_empty() {
                        bail!("line {line}: [account_status] an empty value cannot be mapped");
                    }
                    if other
                        .iter()
                        .any(|o| o.get_ref().trim().to_lowercase() == value)
                    {
                        bail!(
                            "line {line}: [account_status] `{}` is both active and leaver",
                            v.get_ref().trim()
                        );
                    }
                    out.push(value);
                }
            }
        }
        Ok(Mapping {
            path: PathBuf::new(),
            active_values,
            leaver_values,
            headers,
            user_name: pattern(raw.user_name, PatternKind::UserName, "user_name")?,
            display_name: pattern(raw.display_name, PatternKind::DisplayName, "display_name")?,
        })
    }

    /// Checks the mapping against the tenant: a User Name pattern's domain must be one of
    /// its domains, and a pattern without one needs its default domain.
    pub fn check_tenant(&self, tenant: &Tenant) -> Result<()> {
        let Some((line, pattern)) = &self.user_name else {
            return Ok(());
        };
        let shown = self.path.display();
        match &pattern.domain {
            Some(d) if !tenant.has_domain(d) => bail!(
                "columns file {shown}: line {line}: domain `{d}` of the [user_name] pattern is not a verified domain of {} ({})",
                tenant.name,
                tenant.domains.join(", ")
            ),
            None if tenant.default_domain.is_none() => bail!(
                "columns file {shown}: line {line}: the [user_name] pattern has no `@domain` and the tenant has no default_domain"
            ),
            _ => Ok(()),
        }
    }

    /// What the header resolution needs: the mapped headers, and the fields the reader
    /// builds when the input has no column for them.
    pub fn header_map(&self) -> HeaderMap {
        let mut generated = vec![Field::DisplayName];
        if self.user_name.is_some() {
            generated.push(Field::UserName);
        }
        HeaderMap {
            mapped: self.headers.clone(),
            generated,
            identifies: false,
        }
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_headers_to_fields_case_insensitively() {
        let m = Mapping::parse(
            "[columns]\n\"Voornaam\" = \"first name\"\n\" Achter  naam \" = \"Last Name\"\nContract = \"Ignore\"\n[user_name]\npattern = \"{first}.{last}@fabrikam.nl\"\n",
        )
        .unwrap();
        assert_eq!(
            m.headers,
            [
                ("voornaam".to_string(), Some(Field::FirstName)),
                ("achter naam".to_string(), Some(Field::LastName)),
                ("contract".to_string(), None),
            ]
        );
        assert_eq!(m.user_name.as_ref().unwrap().0, 6);
        assert!(m.display_name.is_none());
    }

    #[test]
    fn every_mistake_names_its_line() {
        let e = |t: &str| format!("{:#}", Mapping::parse(t).unwrap_err());
        assert_eq!(
            e("[columns]\n\"Voornaam\" = \"Frist Name\"\n"),
            "line 2: `Frist Name` (for `Voornaam`) is not an onboard column; did you mean `First Name`?; or use \"ignore\" to leave the column out"
        );
        assert!(e("[columns]\n\"Voornaam\" = First Name\n").starts_with("line 2: "));
        assert!(e("[colums]\n").starts_with("line 1: unknown field `colums`"));
        assert_eq!(
            e("[columns]\na = \"City\"\n\n[user_name]\npattern = \"{first}.{achternaam}\"\n"),
            "line 5: [user_name] unknown placeholder `{achternaam}` in pattern `{first}.{achternaam}`; known: {first}, {last}, {initial}, {display}, {employee_id}"
        );
        assert_eq!(
            e("[columns]\n\"Naam\" = \"City\"\n\"naam \" = \"Department\"\n"),
            "line 3: header `naam` is mapped twice"
        );
    }
}
