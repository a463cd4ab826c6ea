//! The row rules of SPEC §4 that a row can be judged by on its own.
//!
//! Pure functions: a raw record goes in, a [`CheckedRow`] with its resolved values and
//! every error it breaks comes out. No shared state, so batches are checked in parallel.
//! Rules that need earlier rows or the directory live in [`crate::plan`].

use std::fmt;

use validator::ValidateEmail;

use crate::columns::{Columns, Field};
use crate::input::RawRow;
use crate::roles;
use crate::tenant::Tenant;
use crate::{countries, password};

/// The stable error codes of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    Required,
    InvalidUsername,
    UnverifiedDomain,
    TooLong,
    InvalidEmail,
    InvalidUsageLocation,
    UsageLocationRequired,
    UnknownLicense,
    UnknownApp,
    UnknownRole,
    RoleNotAllowed,
    WeakPassword,
    InvalidValue,
    DuplicateInFile,
    AlreadyExists,
    NoSeats,
    MalformedRow,
}

impl Code {
    pub const ALL: [Code; 17] = [
        Code::Required,
        Code::InvalidUsername,
        Code::UnverifiedDomain,
        Code::TooLong,
        Code::InvalidEmail,
        Code::InvalidUsageLocation,
        Code::UsageLocationRequired,
        Code::UnknownLicense,
        Code::UnknownApp,
        Code::UnknownRole,
        Code::RoleNotAllowed,
        Code::WeakPassword,
        Code::InvalidValue,
        Code::DuplicateInFile,
        Code::AlreadyExists,
        Code::NoSeats,
        Code::MalformedRow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Required => "required",
            Code::InvalidUsername => "invalid_username",
            Code::UnverifiedDomain => "unverified_domain",
            Code::TooLong => "too_long",
            Code::InvalidEmail => "invalid_email",
            Code::InvalidUsageLocation => "invalid_usage_location",
            Code::UsageLocationRequired => "usage_location_required",
            Code::UnknownLicense => "unknown_license",
            Code::UnknownApp => "unknown_app",
            Code::UnknownRole => "unknown_role",
            Code::RoleNotAllowed => "role_not_allowed",
            Code::WeakPassword => "weak_password",
            Code::InvalidValue => "invalid_value",
            Code::DuplicateInFile => "duplicate_in_file",
            Code::AlreadyExists => "already_exists",
            Code::NoSeats => "no_seats",
            Code::MalformedRow => "malformed_row",
        }
    }
}

/// One broken rule of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub code: Code,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// The profile fields that are stored as they are and compared on update.
pub const PROFILE_FIELDS: [Field; 16] = [
    Field::DisplayName,
    Field::FirstName,
    Field::LastName,
    Field::JobTitle,
    Field::Department,
    Field::OfficeNumber,
    Field::OfficePhone,
    Field::MobilePhone,
    Field::Fax,
    Field::AlternateEmail,
    Field::Address,
    Field::City,
    Field::State,
    Field::PostalCode,
    Field::Country,
    Field::EmployeeId,
];

/// A row after the rules that need nothing but the row itself and the tenant.
#[derive(Debug, Default)]
pub struct CheckedRow {
    pub raw: RawRow,
    /// The User Name as it will be created (default domain appended), trimmed.
    pub user_name: String,
    /// Usage location, uppercased; the tenant's default when the row has none.
    pub usage_location: Option<String>,
    /// Indices into the tenant's licences, without repeats, in the order asked.
    pub licenses: Vec<usize>,
    /// (licence index, app name as the tenant spells it).
    pub disabled_apps: Vec<(usize, String)>,
    /// Canonical admin role names.
    pub roles: Vec<&'static str>,
    pub block_sign_in: Option<bool>,
    pub errors: Vec<RowError>,
}

/// Trims a cell the way a spreadsheet user expects (spaces and no-break spaces).
fn clean(cell: &[u8]) -> &str {
    // Input bytes are valid UTF-8: the reader checked or transcoded them.
    std::str::from_utf8(cell).unwrap_or("").trim()
}

impl CheckedRow {
    /// The trimmed cell of `field`, or "" when the input has no such column.
    pub fn cell<'a>(&'a self, columns: &Columns, field: Field) -> &'a str {
        columns
            .get(field)
            .and_then(|i| self.raw.record.get(i))
            .map_or("", clean)
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn error(&mut self, code: Code, message: impl Into<String>) {
        self.errors.push(RowError {
            code,
            message: message.into(),
        });
    }
}

/// Everything the per-row rules need, shared read-only by all workers.
pub struct Rules<'a> {
    pub tenant: &'a Tenant,
    pub columns: &'a Columns,
    pub allow_global_admin: bool,
}

/// Characters allowed in a username's local part besides ASCII letters and digits.
const LOCAL_PART_SYMBOLS: &[u8] = b"'.-_!#^~";

impl Rules<'_> {
    /// Applies every rule of SPEC §4 that needs only this row.
    pub fn check(&self, raw: RawRow) -> CheckedRow {
        let mut row = CheckedRow {
            raw,
            ..CheckedRow::default()
        };
        let width = row.raw.record.len();
        if width != self.columns.width {
            let (user, _) = self.user_name(row.cell(self.columns, Field::UserName));
            row.user_name = user;
            row.error(
                Code::MalformedRow,
                format!(
                    "the record has {width} fields, the header has {}",
                    self.columns.width
                ),
            );
            return row;
        }
        self.check_user_name(&mut row);
        self.check_lengths_and_characters(&mut row);
        if row.cell(self.columns, Field::DisplayName).is_empty() {
            row.error(Code::Required, "Display Name is empty");
        }
        let email = row.cell(self.columns, Field::AlternateEmail);
        if !email.is_empty() && !email.validate_email() {
            let msg = format!("Alternate email address `{email}` is not an email address");
            row.error(Code::InvalidEmail, msg);
        }
        self.check_usage_location(&mut row);
        self.check_licenses(&mut row);
        self.check_roles(&mut row);
        self.check_password(&mut row);
        let block = row.cell(self.columns, Field::BlockSignIn);
        match parse_yes_no(block) {
            Ok(v) => row.block_sign_in = v,
            Err(()) => {
                let msg = format!("Block Sign In `{block}` is not one of yes/no/true/false/1/0");
                row.error(Code::InvalidValue, msg);
            }
        }
        let location_given = !row.cell(self.columns, Field::UsageLocation).is_empty();
        if !row.licenses.is_empty() && row.usage_location.is_none() && !location_given {
            row.error(
                Code::UsageLocationRequired,
                "licences are asked for but neither the row nor the tenant has a usage location",
            );
        }
        row
    }

    /// The User Name with the tenant's default domain appended when it has no `@`.
    fn user_name(&self, cell: &str) -> (String, bool) {
        match &self.tenant.default_domain {
            Some(domain) if !cell.is_empty() && !cell.contains('@') => {
                (format!("{cell}@{domain}"), true)
            }
            _ => (cell.to_string(), false),
        }
    }

    fn check_user_name(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::UserName);
        if cell.is_empty() {
            row.error(Code::Required, "User Name is empty");
            return;
        }
        let (name, _) = self.user_name(cell);
        let chars = name.chars().count();
        if chars > 113 {
            row.error(
                Code::TooLong,
                format!("User Name is {chars} characters; at most 113 are allowed"),
            );
        }
        let mut problems = Vec::new();
        let ats = name.matches('@').count();
        if ats != 1 {
            problems.push(format!("it has {ats} `@` signs; it needs exactly one"));
        }
        let (local, domain) = name.rsplit_once('@').unwrap_or((name.as_str(), ""));
        if ats == 1 {
            let local_len = local.chars().count();
            if local.is_empty() {
                problems.push("the part before `@` is empty".to_string());
            } else if local_len > 64 {
                problems.push(format!(
                    "the part before `@` is {local_len} characters; at most 64 are allowed"
                ));
            }
            if let Some(bad) = local.chars().find(|&c| {
                !(c.is_ascii_alphanumeric()
                    || LOCAL_PART_SYMBOLS.contains(&(c as u8)) && c.is_ascii())
            }) {
                problems.push(format!("character {} is not allowed", describe_char(bad)));
            }
            if local.starts_with('.') || local.ends_with('.') {
                problems.push("it starts or ends with `.`".to_string());
            }
            if local.contains("..") {
                problems.push("it contains `..`".to_string());
            }
        }
        if !problems.is_empty() {
            row.error(
                Code::InvalidUsername,
                format!("User Name `{}`: {}", printable(&name), problems.join("; ")),
            );
        }
        if ats == 1 && !domain.is_empty() && !self.tenant.has_domain(domain) {
            let hint = match domain.chars().find(|c| !c.is_ascii()) {
                Some(c) => format!(
                    " (it contains the non-ASCII character {})",
                    describe_char(c)
                ),
                None => String::new(),
            };
            row.error(
                Code::UnverifiedDomain,
                format!(
                    "domain `{}`{hint} is not a verified domain of {} ({})",
                    printable(domain),
                    self.tenant.name,
                    self.tenant.domains.join(", ")
                ),
            );
        } else if ats == 1 && domain.is_empty() {
            row.error(Code::InvalidUsername, "the part after `@` is empty");
        }
        row.user_name = name;
    }

    fn check_lengths_and_characters(&self, row: &mut CheckedRow) {
        for (i, cell) in row.raw.record.iter().enumerate() {
            let Some(field) = self.columns.field_at(i) else {
                continue;
            };
            let value = clean(cell);
            if field == Field::Password || field == Field::UserName {
                continue; // their own rules say how long they may be
            }
            let limit = match field {
                Field::DisplayName => 256,
                Field::FirstName | Field::LastName => 64,
                Field::JobTitle => 128,
                _ => 256,
            };
            let chars = value.chars().count();
            if chars > limit {
                let msg = format!(
                    "{} is {chars} characters; at most {limit} are allowed",
                    field.header()
                );
                row.errors.push(RowError {
                    code: Code::TooLong,
                    message: msg,
                });
            }
            if let Some(c) = value.chars().find(|&c| is_hidden_control(c)) {
                let msg = format!(
                    "{} contains the control character {}",
                    field.header(),
                    describe_char(c)
                );
                row.errors.push(RowError {
                    code: Code::InvalidValue,
                    message: msg,
                });
            }
        }
    }

    fn check_usage_location(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::UsageLocation);
        if cell.is_empty() {
            row.usage_location = self.tenant.default_usage_location.clone();
        } else if countries::is_country_code(cell) {
            row.usage_location = Some(cell.to_ascii_uppercase());
        } else {
            let msg = format!(
                "Usage Location `{}` is not an ISO 3166-1 alpha-2 country code",
                printable(cell)
            );
            row.error(Code::InvalidUsageLocation, msg);
        }
    }

    fn check_licenses(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::Licenses).to_string();
        let tenant = self.tenant;
        for item in split_names(&cell, |name| tenant.license_index(name).is_some()) {
            match tenant.license_index(item) {
                Some(i) if !row.licenses.contains(&i) => row.licenses.push(i),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = tenant.licenses.iter().map(|l| l.sku.as_str()).collect();
                    let msg = format!(
                        "`{}` is not a licence of {} (known: {})",
                        printable(item),
                        tenant.name,
                        known.join(", ")
                    );
                    row.error(Code::UnknownLicense, msg);
                }
            }
        }
        let apps = row.cell(self.columns, Field::DisabledApps).to_string();
        for app in split_names(&apps, |_| false) {
            let mut found = false;
            for &l in &row.licenses {
                if let Some(a) = tenant.licenses[l]
                    .apps
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(app))
                {
                    row.disabled_apps.push((l, a.clone()));
                    found = true;
                }
            }
            if !found {
                let msg = format!(
                    "Disabled App `{}` is not an app of the row's licences",
                    printable(app)
                );
                row.error(Code::UnknownApp, msg);
            }
        }
    }

    fn check_roles(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::Roles).to_string();
        for item in split_names(&cell, |name| roles::canonical_role(name).is_some()) {
            match roles::canonical_role(item) {
                Some(role) if role == roles::GLOBAL_ADMIN && !self.allow_global_admin => {
                    row.error(
                        Code::RoleNotAllowed,
                        "Global Administrator is only given with --allow-global-admin",
                    );
                }
                Some(role) => {
                    if !row.roles.contains(&role) {
                        row.roles.push(role);
                    }
                }
                None => {
                    let msg = format!("`{}` is not a Microsoft 365 admin role", printable(item));
                    row.error(Code::UnknownRole, msg);
                }
            }
        }
    }

    fn check_password(&self, row: &mut CheckedRow) {
        let given = row.cell(self.columns, Field::Password);
        if given.is_empty() {
            return;
        }
        let local = row.user_name.split('@').next().unwrap_or("");
        if let Err(why) = password::check_policy(given, local) {
            row.error(Code::WeakPassword, format!("the given Password {why}"));
        }
    }
}

/// Splits a cell of names joined by `+` or `;`. A name that itself contains `+` (such as
/// "Enterprise Mobility + Security E3") is kept whole when `known` recognises it.
fn split_names(cell: &str, known: impl Fn(&str) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    for part in cell.split(';') {
        let pieces: Vec<(usize, usize)> = {
            let base = part.as_ptr() as usize - cell.as_ptr() as usize;
            let mut v = Vec::new();
            let mut start = 0;
            for (i, c) in part.char_indices() {
                if c == '+' {
                    v.push((base + start, base + i));
                    start = i + 1;
                }
            }
            v.push((base + start, base + part.len()));
            v
        };
        let mut i = 0;
        while i < pieces.len() {
            // Longest run of pieces, joined back with `+`, that names something known.
            let mut taken = 1;
            for j in (i + 1..pieces.len()).rev() {
                if known(cell[pieces[i].0..pieces[j].1].trim()) {
                    taken = j - i + 1;
                    break;
                }
            }
            let name = cell[pieces[i].0..pieces[i + taken - 1].1].trim();
            if !name.is_empty() {
                out.push(name);
            }
            i += taken;
        }
    }
    out
}

fn parse_yes_no(v: &str) -> Result<Option<bool>, ()> {
    match v.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "true" | "1" | "y" => Ok(Some(true)),
        "no" | "false" | "0" | "n" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// Control characters, and the invisible formatting characters that let a name look like
/// another (zero-width and bidirectional overrides).
fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\r' && c != '\t'
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `'x'`, or `U+200B` for characters one cannot see.
fn describe_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else if c.is_alphanumeric() {
        format!("`{c}` (U+{:04X})", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// A value for a message with invisible characters made visible and its length capped.
fn printable(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 80 {
            out.push('…');
            break;
        }
        if is_hidden_control(c) || c.is_control() {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_plus_and_semicolon_but_keeps_known_names_whole() {
        let known = |s: &str| s == "Enterprise Mobility + Security E3";
        assert_eq!(
            split_names("SPE_E3+Enterprise Mobility + Security E3; TEAMS ", known),
            ["SPE_E3", "Enterprise Mobility + Security E3", "TEAMS"]
        );
        assert_eq!(split_names("a + b", |_| false), ["a", "b"]);
        assert!(split_names(" ", |_| false).is_empty());
    }

    #[test]
    fn yes_no_values() {
        assert_eq!(parse_yes_no("Yes"), Ok(Some(true)));
        assert_eq!(parse_yes_no("0"), Ok(Some(false)));
        assert_eq!(parse_yes_no(""), Ok(None));
        assert_eq!(parse_yes_no("maybe"), Err(()));
    }
}
