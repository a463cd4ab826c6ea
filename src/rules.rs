//! The row rules of SPEC §4 that a row can be judged by on its own.
//!
//! Pure functions: a raw record goes in, a [`CheckedRow`] with its resolved values and
//! every error it breaks comes out. No shared state, so batches are checked in parallel.
//! Rules that need earlier rows or the directory live in [`crate::plan`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use smallvec::SmallVec;
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

/// 96 bits of a hash of a lower-cased key: equal keys, equal digests; different keys
/// collide with a chance of about 1 in 10^17 for a million rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Digest {
    pub hi: u64,
    pub lo: u32,
}

impl Digest {
    pub fn of(lowercase_key: &str) -> Digest {
        use std::hash::Hasher;
        let mut a = std::hash::DefaultHasher::new();
        a.write(lowercase_key.as_bytes());
        let mut b = std::hash::DefaultHasher::new();
        b.write_u8(0xA5);
        b.write(lowercase_key.as_bytes());
        Digest {
            hi: a.finish(),
            lo: b.finish() as u32,
        }
    }
}

/// A row after the rules that need nothing but the row itself and the tenant.
#[derive(Debug, Default)]
pub struct CheckedRow {
    /// The record's first line in the input.
    pub line: u64,
    /// The cells, as read.
    pub record: csv::StringRecord,
    /// The User Name as it will be created (default domain appended), trimmed.
    pub user_name: String,
    /// The User Name lower-cased: the directory's key.
    pub key: String,
    pub key_digest: Digest,
    /// Digest of the lower-cased Employee ID, when the row has one.
    pub employee_digest: Option<Digest>,
    /// Usage location, uppercased; the tenant's default when the row has none.
    pub usage_location: Option<&'static str>,
    /// Indices into the tenant's licences, without repeats, in the order asked.
    pub licenses: SmallVec<[u16; 4]>,
    /// (licence index, index into that licence's apps).
    pub disabled_apps: SmallVec<[(u16, u16); 2]>,
    /// Canonical admin role names.
    pub roles: SmallVec<[&'static str; 2]>,
    pub block_sign_in: Option<bool>,
    pub errors: Vec<RowError>,
    /// The reader's warnings ([`RawRow::warnings`]), handed on to the planner's.
    pub warnings: Vec<String>,
}

/// A cell without surrounding white space; most cells have none, which is checked first.
fn trim_cell(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(&a), Some(&b)) if a > b' ' && a < 0x80 && b > b' ' && b < 0x80 => cell,
        _ => cell.trim(),
    }
}

/// The trimmed cell of `field` in `record`, or "" when the input has no such column.
fn cell_of<'a>(record: &'a csv::StringRecord, columns: &Columns, field: Field) -> &'a str {
    columns
        .get(field)
        .and_then(|i| record.get(i))
        .map_or("", trim_cell)
}

impl CheckedRow {
    /// The trimmed cell of `field`, or "" when the input has no such column.
    pub fn cell<'a>(&'a self, columns: &Columns, field: Field) -> &'a str {
        cell_of(&self.record, columns, field)
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

    /// Gives the record's buffers back for the reader to refill.
    pub fn into_raw(self) -> RawRow {
        RawRow {
            line: 0,
            record: self.record.into_byte_record(),
            warnings: Vec::new(),
        }
    }
}

/// Everything the per-row rules need, shared read-only by all workers.
pub struct Rules<'a> {
    /// Set when a record was not UTF-8: the input is then read again as Windows-1252.
    invalid_utf8: AtomicBool,
    tenant: &'a Tenant,
    columns: &'a Columns,
    allow_global_admin: bool,
    default_usage_location: Option<&'static str>,
    /// The most `+` signs in one of the tenant's licence names or SKUs.
    license_plus: usize,
}

/// The most `+` signs in an admin role name: none has one; room for new ones.
const ROLE_PLUS: usize = 2;

/// Over this many characters a Licenses, Disabled Apps or Roles cell fails as too_long
/// (SPEC §4: any other field over 256) and its names are not looked up: a cell of
/// `x+x+x…` would otherwise give an error for every name.
const NAMES_CELL_LIMIT: usize = 256;

fn too_long_for_names(cell: &str) -> bool {
    cell.len() > NAMES_CELL_LIMIT && cell.chars().count() > NAMES_CELL_LIMIT
}

/// Characters allowed in a username's local part besides ASCII letters and digits.
const LOCAL_PART_SYMBOLS: &[u8] = b"'.-_!#^~";

impl<'a> Rules<'a> {
    pub fn new(tenant: &'a Tenant, columns: &'a Columns, allow_global_admin: bool) -> Rules<'a> {
        Rules {
            invalid_utf8: AtomicBool::new(false),
            tenant,
            columns,
            allow_global_admin,
            default_usage_location: tenant
                .default_usage_location
                .as_deref()
                .and_then(countries::canonical),
            license_plus: tenant
                .licenses
                .iter()
                .flat_map(|l| [&l.sku, &l.name])
                .map(|name| name.matches('+').count())
                .max()
                .unwrap_or(0),
        }
    }

    /// Whether a record was not valid UTF-8.
    pub fn saw_invalid_utf8(&self) -> bool {
        self.invalid_utf8.load(Ordering::Relaxed)
    }

    /// Applies every rule of SPEC §4 that needs only this row.
    pub fn check(&self, raw: RawRow) -> CheckedRow {
        let record = csv::StringRecord::from_byte_record(raw.record).unwrap_or_else(|e| {
            // Only a file assumed to be UTF-8 gets here. Without a BOM it is read again as
            // Windows-1252; with a UTF-8 BOM the row fails on the U+FFFD it now holds.
            self.invalid_utf8.store(true, Ordering::Relaxed);
            csv::StringRecord::from_byte_record_lossy(e.into_byte_record())
        });
        let mut row = CheckedRow {
            line: raw.line,
            record,
            warnings: raw.warnings,
            ..CheckedRow::default()
        };
        let width = row.record.len();
        if width != self.columns.width {
            // Columns generated for a `--columns` mapping are not the input's: leave them out.
            let generated = self.columns.generated;
            let (user, _) = self.user_name(row.cell(self.columns, Field::UserName));
            row.user_name = user;
            row.key = lowercase(&row.user_name);
            let width = width.saturating_sub(generated);
            let mut msg = format!(
                "the record has {width} field{}, the header has {}",
                if width == 1 { "" } else { "s" },
                self.columns.width - generated
            );
            // Line breaks in its cells: a stray quote may have joined it with the lines
            // after it.
            let breaks = row
                .record
                .iter()
                .map(|c| c.matches('\n').count())
                .sum::<usize>();
            if breaks > 0 {
                let last = row.line + breaks as u64;
                msg.push_str(&format!(
                    "; it runs from line {} to line {last} in a quoted cell: is a quote missing?",
                    row.line
                ));
            }
            row.error(Code::MalformedRow, msg);
            return row;
        }
        self.check_user_name(&mut row);
        row.key = lowercase(&row.user_name);
        row.key_digest = Digest::of(&row.key);
        let employee_id = row.cell(self.columns, Field::EmployeeId);
        if !employee_id.is_empty() {
            row.employee_digest = Some(Digest::of(&lowercase(employee_id)));
        }
        self.check_lengths_and_characters(&mut row);
        if row.cell(self.columns, Field::DisplayName).is_empty() {
            row.error(Code::Required, "Display Name is empty");
        }
        let email = row.cell(self.columns, Field::AlternateEmail);
        if !email.is_empty() && !email.validate_email() {
            let msg = format!(
                "Alternate email address `{}` is not an email address",
                printable(email)
            );
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
                let msg = format!(
                    "Block Sign In `{}` is not one of yes/no/true/false/1/0",
                    printable(block)
                );
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
        for (i, cell) in row.record.iter().enumerate() {
            let Some(field) = self.columns.field_at(i) else {
                continue;
            };
            if field == Field::Password || field == Field::UserName {
                continue; // their own rules say how long they may be
            }
            let value = trim_cell(cell);
            let limit = match field {
                Field::DisplayName => 256,
                Field::FirstName | Field::LastName => 64,
                Field::JobTitle => 128,
                _ => 256,
            };
            // Most cells are printable ASCII: one byte a character, no control character.
            let printable_ascii = value.bytes().all(|b| (0x20..0x7F).contains(&b));
            let chars = if printable_ascii {
                value.len()
            } else {
                value.chars().count()
            };
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
            if printable_ascii {
                continue;
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
            } else if value.contains(char::REPLACEMENT_CHARACTER) {
                // What the decoder made of bytes that are not text in the file's encoding
                // (UTF-8 after a UTF-8 BOM, a broken UTF-16 pair): never a real name.
                let msg = format!(
                    "{} has bytes that are not text in the file's encoding (read as `{}`)",
                    field.header(),
                    printable(value)
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
            row.usage_location = self.default_usage_location;
        } else if let Some(code) = countries::canonical(cell) {
            row.usage_location = Some(code);
        } else {
            let msg = format!(
                "Usage Location `{}` is not an ISO 3166-1 alpha-2 country code",
                printable(cell)
            );
            row.error(Code::InvalidUsageLocation, msg);
        }
    }

    fn check_licenses(&self, row: &mut CheckedRow) {
        // Disjoint borrows: the cells stay borrowed while the results are filled in.
        let CheckedRow {
            record,
            licenses,
            disabled_apps,
            errors,
            ..
        } = row;
        let cell = cell_of(record, self.columns, Field::Licenses);
        let apps = cell_of(record, self.columns, Field::DisabledApps);
        if too_long_for_names(cell) || too_long_for_names(apps) {
            return;
        }
        let tenant = self.tenant;
        let known = |name: &str| tenant.license_index(name).is_some();
        for item in split_names(cell, self.license_plus, known) {
            match tenant.license_index(item) {
                Some(i) if !licenses.contains(&(i as u16)) => licenses.push(i as u16),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = tenant.licenses.iter().map(|l| l.sku.as_str()).collect();
                    errors.push(RowError {
                        code: Code::UnknownLicense,
                        message: format!(
                            "`{}` is not a licence of {} (known: {})",
                            printable(item),
                            tenant.name,
                            known.join(", ")
                        ),
                    });
                }
            }
        }
        for app in split_names(apps, 0, |_| false) {
            let mut found = false;
            for &l in licenses.iter() {
                if let Some(a) = tenant.licenses[l as usize]
                    .apps
                    .iter()
                    .position(|a| a.eq_ignore_ascii_case(app))
                {
                    disabled_apps.push((l, a as u16));
                    found = true;
                }
            }
            if !found {
                errors.push(RowError {
                    code: Code::UnknownApp,
                    message: format!(
                        "Disabled App `{}` is not an app of the row's licences",
                        printable(app)
                    ),
                });
            }
        }
    }

    fn check_roles(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::Roles);
        if cell.is_empty() || too_long_for_names(cell) {
            return;
        }
        let cell = cell.to_string();
        for item in split_names(&cell, ROLE_PLUS, |name| {
            roles::canonical_role(name).is_some()
        }) {
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

/// Lower-cases a name: ASCII fast, anything else fully.
fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Splits a cell of names joined by `+` or `;`. A name that itself contains `+` (such as
/// "Enterprise Mobility + Security E3", at most `max_plus` of them) is kept whole when
/// `known` recognises it.
fn split_names(cell: &str, max_plus: usize, known: impl Fn(&str) -> bool) -> SmallVec<[&str; 4]> {
    let mut out = SmallVec::new();
    if cell.is_empty() {
        return out;
    }
    for part in cell.split(';') {
        let pieces: SmallVec<[(usize, usize); 4]> = {
            let base = part.as_ptr() as usize - cell.as_ptr() as usize;
            let mut v = SmallVec::new();
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
            // Only as many pieces as a known name can span: a cell of a million `+` would
            // otherwise try every run of them (hours).
            for j in (i + 1..pieces.len().min(i + 1 + max_plus)).rev() {
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
pub(crate) fn printable(s: &str) -> String {
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
            split_names("SPE_E3+Enterprise Mobility + Security E3; TEAMS ", 1, known).as_slice(),
            ["SPE_E3", "Enterprise Mobility + Security E3", "TEAMS"]
        );
        assert_eq!(split_names("a + b", 0, |_| false).as_slice(), ["a", "b"]);
        assert!(split_names(" ", 0, |_| false).is_empty());
        let known = |s: &str| s == "a+b+c";
        assert_eq!(split_names("a+b+c", 2, known).as_slice(), ["a+b+c"]);
        assert_eq!(split_names("a+b+c", 1, known).as_slice(), ["a", "b", "c"]);
    }

    #[test]
    fn yes_no_values() {
        assert_eq!(parse_yes_no("Yes"), Ok(Some(true)));
        assert_eq!(parse_yes_no("0"), Ok(Some(false)));
        assert_eq!(parse_yes_no(""), Ok(None));
        assert_eq!(parse_yes_no("maybe"), Err(()));
    }
}
