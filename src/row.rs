//! The row's types that every stage shares: the fields a row can carry (one list, from
//! which headers, the directory's profile columns and the `users` listing derive), the
//! resolved header, error codes, a record's cells, digests, and the row as it goes from
//! reader to checker to planner.
//!
//! Nothing here reads, checks, decides or stores; the stages in `read`, `check`, `plan`,
//! `store` and `write` all speak these types, so none imports another's internals.

use std::cmp::Ordering;
use std::fmt;

use smallvec::SmallVec;

/// A field of a user that the input can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    UserName,
    FirstName,
    LastName,
    DisplayName,
    JobTitle,
    Department,
    OfficeNumber,
    OfficePhone,
    MobilePhone,
    Fax,
    AlternateEmail,
    Address,
    City,
    State,
    PostalCode,
    Country,
    UsageLocation,
    Licenses,
    DisabledApps,
    Roles,
    Password,
    BlockSignIn,
    EmployeeId,
    AccountStatus,
}

/// Number of fields; `Field as usize` indexes arrays of this length.
pub const FIELD_COUNT: usize = 24;

/// One field's names: the Microsoft 365 template header (or extension header), the
/// Entra ID template header, the Microsoft Graph properties that select it (in an Entra
/// header's brackets, or as a header of their own), and the other names admins' files
/// use for it (PowerShell parameters and columns, common spellings). This table is the
/// only list of names: header matching, "did you mean" and the table in docs/input.md
/// come from it.
pub struct FieldInfo {
    pub field: Field,
    pub header: &'static str,
    pub entra_header: Option<&'static str>,
    pub entra_properties: &'static [&'static str],
    pub aliases: &'static [&'static str],
    /// Whether the field is part of the Microsoft 365 bulk-add template (else an extension).
    pub m365: bool,
}

macro_rules! info {
    ($f:ident, $h:expr, $eh:expr, [$($p:expr),*], [$($a:expr),*], $m:expr) => {
        FieldInfo {
            field: Field::$f,
            header: $h,
            entra_header: $eh,
            entra_properties: &[$($p),*],
            aliases: &[$($a),*],
            m365: $m,
        }
    };
}

/// Every field, in the order of the Microsoft 365 template followed by the extensions.
pub const FIELDS: [FieldInfo; FIELD_COUNT] = [
    info!(
        UserName,
        "User Name",
        Some("User name [userPrincipalName] Required"),
        ["userPrincipalName"],
        ["UPN", "Username"],
        true
    ),
    info!(
        FirstName,
        "First Name",
        Some("First name [givenName]"),
        ["givenName"],
        ["FirstName"],
        true
    ),
    info!(
        LastName,
        "Last Name",
        Some("Last name [surname]"),
        ["surname"],
        ["LastName"],
        true
    ),
    info!(
        DisplayName,
        "Display Name",
        Some("Name [displayName] Required"),
        ["displayName"],
        [],
        true
    ),
    info!(
        JobTitle,
        "Job Title",
        Some("Job title [jobTitle]"),
        ["jobTitle"],
        ["Title"],
        true
    ),
    info!(
        Department,
        "Department",
        Some("Department [department]"),
        ["department"],
        [],
        true
    ),
    info!(
        OfficeNumber,
        "Office Number",
        Some("Office [physicalDeliveryOfficeName]"),
        ["physicalDeliveryOfficeName", "officeLocation"],
        ["Office"],
        true
    ),
    info!(
        OfficePhone,
        "Office Phone",
        Some("Office phone [telephoneNumber]"),
        ["telephoneNumber", "businessPhones"],
        ["PhoneNumber"],
        true
    ),
    info!(
        MobilePhone,
        "Mobile Phone",
        Some("Mobile phone [mobile]"),
        ["mobile", "mobilePhone"],
        [],
        true
    ),
    info!(
        Fax,
        "Fax",
        Some("Fax [faxNumber]"),
        ["faxNumber", "facsimileTelephoneNumber"],
        [],
        true
    ),
    info!(
        AlternateEmail,
        "Alternate email address",
        Some("Alternate email [otherMails]"),
        ["otherMails"],
        ["AlternateEmailAddresses"],
        true
    ),
    info!(
        Address,
        "Address",
        Some("Street address [streetAddress]"),
        ["streetAddress"],
        [],
        true
    ),
    info!(City, "City", Some("City [city]"), ["city"], [], true),
    info!(
        State,
        "State or Province",
        Some("State or province [state]"),
        ["state"],
        [],
        true
    ),
    info!(
        PostalCode,
        "ZIP or Postal Code",
        Some("ZIP or postal code [postalCode]"),
        ["postalCode"],
        [],
        true
    ),
    info!(
        Country,
        "Country or Region",
        Some("Country or region [country]"),
        ["country"],
        [],
        true
    ),
    info!(
        UsageLocation,
        "Usage Location",
        Some("Usage location [usageLocation]"),
        ["usageLocation"],
        [],
        false
    ),
    info!(
        Licenses,
        "Licenses",
        None,
        [],
        [
            "Licences",
            "License",
            "Licence",
            "AccountSkuId",
            "LicenseAssignment",
            "SkuPartNumber"
        ],
        false
    ),
    info!(
        DisabledApps,
        "Disabled Apps",
        None,
        [],
        ["Disabled Plans"],
        false
    ),
    info!(Roles, "Roles", None, [], ["Role"], false),
    info!(
        Password,
        "Password",
        Some("Initial password [passwordProfile] Required"),
        ["passwordProfile"],
        ["InitialPassword"],
        false
    ),
    info!(
        BlockSignIn,
        "Block Sign In",
        Some("Block sign in (Yes/No) [accountEnabled] Required"),
        ["accountEnabled"],
        ["BlockCredential"],
        false
    ),
    info!(
        EmployeeId,
        "Employee ID",
        Some("Employee ID [employeeId]"),
        ["employeeId"],
        [],
        false
    ),
    info!(
        AccountStatus,
        "Account Status",
        None,
        [],
        ["AccountStatus"],
        false
    ),
];

impl Field {
    pub fn info(self) -> &'static FieldInfo {
        &FIELDS[self as usize]
    }
    pub fn header(self) -> &'static str {
        self.info().header
    }
}

/// Which template the header follows; decides how `Example:` rows are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    M365,
    Entra,
}

/// The header, resolved: for each field, the column that holds it.
#[derive(Debug, Clone)]
pub struct Columns {
    pub(crate) index: [Option<usize>; FIELD_COUNT],
    /// The field of each column, in column order (`None`: a column the mapping ignores).
    pub(crate) fields: Vec<Option<Field>>,
    /// Number of columns in the header; every record must have as many.
    pub width: usize,
    pub template: Template,
    /// How many of the `width` columns are not in the input but added after its own ones
    /// for fields the reader builds ([`HeaderMap::generated`]).
    pub generated: usize,
    /// Whether the Block Sign In column is Graph's `accountEnabled`, its inverse.
    pub account_enabled: bool,
    /// The Object ID column (`Object ID`, `objectId`): read by `offboard` and `restore`,
    /// left out by an import.
    pub object_id: Option<usize>,
}

impl Columns {
    /// The field held by column `col`.
    pub fn field_at(&self, col: usize) -> Option<Field> {
        self.fields.get(col).copied().flatten()
    }

    /// The column of `field`, if the input has it.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.index[field as usize]
    }
}

/// The stable error codes of a row (docs/rules.md).
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

/// The profile fields, each with its column in the directory: stored as they are and
/// compared on update. Their order is the stored profile's and the `users` listing's
/// (after User Name). A new profile field is a line here and its column in the store's
/// schema; the directory's SQL, the update comparison and `users` derive from this list.
pub const PROFILE: [(Field, &str); 16] = [
    (Field::DisplayName, "display_name"),
    (Field::FirstName, "first_name"),
    (Field::LastName, "last_name"),
    (Field::JobTitle, "job_title"),
    (Field::Department, "department"),
    (Field::OfficeNumber, "office_number"),
    (Field::OfficePhone, "office_phone"),
    (Field::MobilePhone, "mobile_phone"),
    (Field::Fax, "fax"),
    (Field::AlternateEmail, "alternate_email"),
    (Field::Address, "address"),
    (Field::City, "city"),
    (Field::State, "state"),
    (Field::PostalCode, "postal_code"),
    (Field::Country, "country"),
    (Field::EmployeeId, "employee_id"),
];

/// How many profile fields there are.
pub const PROFILE_LEN: usize = PROFILE.len();

/// The fields of [`PROFILE`], in its order.
pub const PROFILE_FIELDS: [Field; PROFILE_LEN] = {
    let mut out = [Field::UserName; PROFILE_LEN];
    let mut i = 0;
    while i < PROFILE_LEN {
        out[i] = PROFILE[i].0;
        i += 1;
    }
    out
};

/// Where `field` is in [`PROFILE`], and so in a stored user's profile.
pub const fn profile_index(field: Field) -> Option<usize> {
    let mut i = 0;
    while i < PROFILE_LEN {
        if PROFILE[i].0 as usize == field as usize {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Where the Display Name and the Employee ID are in a stored user's profile.
pub const DISPLAY_NAME_AT: usize = profile_index(Field::DisplayName).expect("a profile field");
pub const EMPLOYEE_ID_AT: usize = profile_index(Field::EmployeeId).expect("a profile field");

/// 96 bits of a hash of a lower-cased key: equal keys, equal digests; different keys
/// collide with a chance of about 1 in 10^17 for a million rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Digest {
    pub hi: u64,
    pub lo: u32,
}

impl Digest {
    pub fn of(lowercase_key: &str) -> Digest {
        let h = xxhash_rust::xxh3::xxh3_128(lowercase_key.as_bytes());
        Digest {
            hi: h as u64,
            lo: (h >> 64) as u32,
        }
    }
}

/// A record's cells as text: the whole record is checked as UTF-8 once, not cell by cell,
/// and the buffers are reused from row to row.
#[derive(Debug, Default, Clone)]
pub struct Cells {
    text: String,
    /// End of each cell in `text`.
    ends: Vec<usize>,
}

impl Cells {
    /// Lets go of the buffers if they hold more than `bytes`.
    pub fn let_go_past(&mut self, bytes: usize) {
        if self.text.capacity() > bytes {
            *self = Cells::default();
        }
    }

    /// Takes the cells of `record`; `false` when they are not UTF-8 (then bytes that are
    /// not are read as U+FFFD, cell by cell). `utf8`: the reader has checked already that
    /// they are ([`is_utf8`]), so they are not checked again.
    pub fn fill(&mut self, record: &csv::ByteRecord, utf8: bool) -> bool {
        if utf8 || is_utf8(record) {
            let mut buf = std::mem::take(&mut self.text).into_bytes();
            buf.clear();
            buf.extend_from_slice(record.as_slice());
            // SAFETY: `is_utf8` has just checked that these bytes are UTF-8.
            self.text = unsafe { String::from_utf8_unchecked(buf) };
            self.ends.clear();
            let mut end = 0;
            for cell in record {
                end += cell.len();
                self.ends.push(end);
            }
            return true;
        }
        let mut text = String::new();
        self.ends.clear();
        for cell in record {
            text.push_str(&String::from_utf8_lossy(cell));
            self.ends.push(text.len());
        }
        self.text = text;
        false
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// All cells, one after the other.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = &self.text[start..end];
            start = end;
            cell
        })
    }
}

/// A row after the rules that need nothing but the row itself and the tenant.
#[derive(Debug, Default)]
pub struct CheckedRow {
    /// The record's first line in the input.
    pub line: u64,
    /// Byte offset of the record in the input (for the progress bar).
    pub position: u64,
    /// The cells, as read.
    pub record: Cells,
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
    /// The User Name was built from a `--columns` pattern ([`RawRow::built_name`]).
    pub built_name: bool,
    /// The row's Account Status says the person left.
    pub leaver: bool,
    /// Under `--match employee-id`: whether the directory's snapshot holds this person in
    /// the very state the row asks for, once a worker has judged it.
    pub as_stored: Option<bool>,
    pub errors: Vec<RowError>,
    /// The reader's warnings ([`RawRow::warnings`]), handed on to the planner's.
    pub warnings: Vec<String>,
}

/// A cell without surrounding white space; most cells have none, which is checked first.
#[inline]
pub fn trim_cell(cell: &str) -> &str {
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(&a), Some(&b)) if a > b' ' && a < 0x80 && b > b' ' && b < 0x80 => cell,
        _ => cell.trim(),
    }
}

/// The trimmed cell of `field` in `record`, or "" when the input has no such column.
#[inline]
pub fn cell_of<'a>(record: &'a Cells, columns: &Columns, field: Field) -> &'a str {
    columns
        .get(field)
        .and_then(|i| record.get(i))
        .map_or("", trim_cell)
}

impl CheckedRow {
    /// The trimmed cell of `field`, or "" when the input has no such column.
    #[inline]
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

    /// Empties the row for the next record, keeping its buffers.
    pub fn reset(&mut self) {
        self.line = 0;
        self.position = 0;
        self.user_name.clear();
        self.key.clear();
        self.key_digest = Digest::default();
        self.employee_digest = None;
        self.usage_location = None;
        self.licenses.clear();
        self.disabled_apps.clear();
        self.roles.clear();
        self.block_sign_in = None;
        self.built_name = false;
        self.leaver = false;
        self.as_stored = None;
        self.errors.clear();
        self.warnings.clear();
    }
}

/// One data record: its line number in the input and its cells (valid UTF-8).
#[derive(Debug, Default, Clone)]
pub struct RawRow {
    pub line: u64,
    pub record: csv::ByteRecord,
    /// `code: message` warnings of the reading (a generated User Name, an error cell of a
    /// workbook); they go to the row's `Warnings` ahead of the planner's.
    pub warnings: Vec<String>,
    /// Whether the User Name was built from a `--columns` pattern, not typed.
    pub built_name: bool,
    /// Fields past the header's width that were counted but not kept (see
    /// [`RawRow::fit_to`]).
    pub dropped: usize,
    /// The reader has checked that the record is UTF-8 ([`is_utf8`]).
    pub utf8: bool,
}

impl RawRow {
    /// Forgets what reading the last record added beside its cells.
    pub fn forget_reading(&mut self) {
        self.warnings.clear();
        self.built_name = false;
        self.dropped = 0;
        self.utf8 = false;
    }

    /// Fits a record to the header's `width`: a record with fewer fields gets empty ones
    /// at the end and the warning `short_row` (Microsoft's own Entra example has 16 fields
    /// under 17 headers); extra fields that are all empty (Excel pads) are dropped; a
    /// record with something in an extra field keeps the header's fields and that one, so
    /// the row still fails as `malformed_row`, and counts the rest in `dropped`: a row of
    /// a million fields costs no more than a row of the header's. A record of one field
    /// under a wider header is left for `malformed_row` too: it is a row in another
    /// delimiter, not one whose last cells were left off.
    pub fn fit_to(&mut self, width: usize) {
        let len = self.record.len();
        match len.cmp(&width) {
            Ordering::Less if len >= 2 => {
                for _ in len..width {
                    self.record.push_field(b"");
                }
                self.warnings.push(format!(
                    "short_row: the record has {len} fields, the header has {width}; the missing cells are read as empty"
                ));
            }
            Ordering::Less | Ordering::Equal => {}
            Ordering::Greater => {
                let extra = self
                    .record
                    .iter()
                    .skip(width)
                    .find(|f| !f.iter().all(u8::is_ascii_whitespace))
                    .map(<[u8]>::to_vec);
                match extra {
                    // A new record, not a truncated one: a million empty fields leave no
                    // buffer behind.
                    None => self.keep_first(width, None),
                    Some(_) if len == width + 1 => {}
                    Some(extra) => {
                        self.keep_first(width, Some(&extra));
                        self.dropped += len - width - 1;
                    }
                }
            }
        }
    }

    /// Replaces the record with its first `width` fields and `extra` after them.
    fn keep_first(&mut self, width: usize, extra: Option<&[u8]>) {
        let mut kept = csv::ByteRecord::new();
        for field in self.record.iter().take(width) {
            kept.push_field(field);
        }
        if let Some(extra) = extra {
            kept.push_field(extra);
        }
        kept.set_position(self.record.position().cloned());
        self.record = kept;
    }
}

/// What happens to a row (the result file's `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
    /// A leaver: sign-in blocked, licences and roles removed, restorable for the tenant's
    /// retention days.
    Offboarded,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Created,
        Status::Updated,
        Status::Unchanged,
        Status::Skipped,
        Status::Failed,
        Status::Offboarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Offboarded => "offboarded",
        }
    }
}

/// Whether every cell of `record` is UTF-8: the record valid as a whole and cut between
/// characters. (simdutf8 checks a record several times faster than the standard library.)
pub fn is_utf8(record: &csv::ByteRecord) -> bool {
    let bytes = record.as_slice();
    if simdutf8::basic::from_utf8(bytes).is_err() {
        return false;
    }
    let mut end = 0;
    record.iter().all(|cell| {
        end += cell.len();
        end == bytes.len() || (bytes[end] as i8) >= -0x40
    })
}

/// Whether `s` has a byte that starts a character [`is_hidden_control`] finds or U+FFFD:
/// a control character (below 0x20, 0x7F, and `C2` for U+0080–U+009F), `E2` (U+2000–
/// U+2FFF: the zero-width and bidirectional characters) or `EF` (U+FEFF, U+FFFD).
/// Without one, `s` has neither, and the characters need not be decoded.
pub fn may_hide_characters(s: &[u8]) -> bool {
    // Eight bytes at a time: the classic bit tricks for "some byte is below n" and "some
    // byte is b" on a u64 (exact for n <= 0x80).
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGH;
    let equal = |x: u64, b: u8| {
        let y = x ^ (ONES * b as u64);
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let suspicious = |b: u8| b < 0x20 || b == 0x7F || b == 0xC2 || b == 0xE2 || b == 0xEF;
    let mut words = s.chunks_exact(8);
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        if below(x, 0x20) | equal(x, 0x7F) | equal(x, 0xC2) | equal(x, 0xE2) | equal(x, 0xEF) != 0 {
            return true;
        }
    }
    words.remainder().iter().any(|&b| suspicious(b))
}

/// Control characters, and the invisible formatting characters that let a name look like
/// another (zero-width and bidirectional overrides).
pub fn is_hidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\r' && c != '\t'
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` with every hidden character ([`is_hidden_control`]: control characters but tab
/// and line breaks, and invisible formatting characters) written as `<U+XXXX>`, so that
/// a value echoed in the result file can neither drive a terminal nor hide what it is.
/// Borrowed when there is none, which a byte scan tells without decoding.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !may_hide_characters(s.as_bytes()) || !s.chars().any(is_hidden_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden_control(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A value for a message on the terminal or in a log: every control character (line
/// breaks too: a value must not forge a line) and invisible character written as
/// `<U+XXXX>`, its length capped at 80 characters.
pub fn printable(s: &str) -> String {
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

/// Asks the CPU to fetch the cache line of `item`, which is about to be read: a probe into
/// a large table is otherwise a cache miss.
pub fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Cells read a record exactly as csv's own conversion does: the same text when it
        /// is UTF-8 (also when a character is split between two cells, which makes it not
        /// UTF-8 cell by cell), and U+FFFD for what is not.
        #[test]
        fn cells_read_a_record_as_csv_does(
            fields in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::num::u8::ANY.prop_map(|b| vec![b]),
                        // Whole characters and their pieces, so that characters are often
                        // split between two cells.
                        proptest::sample::select(vec![
                            b"a".to_vec(), "é".into(), "\u{200B}".into(), "😀".into(),
                            vec![0xC3], vec![0xA9], vec![0xE2, 0x80], vec![0x8B],
                            vec![0xF0, 0x9F], vec![0x98, 0x80],
                        ]),
                    ],
                    0..4,
                ),
                0..6,
            )
        ) {
            let fields: Vec<Vec<u8>> = fields.into_iter().map(|f| f.concat()).collect();
            let mut record = csv::ByteRecord::new();
            for f in &fields {
                record.push_field(f);
            }
            let mut cells = Cells::default();
            let valid = cells.fill(&record, false);
            let expected = match csv::StringRecord::from_byte_record(record.clone()) {
                Ok(r) => {
                    proptest::prop_assert!(valid);
                    r
                }
                Err(e) => {
                    proptest::prop_assert!(!valid);
                    csv::StringRecord::from_byte_record_lossy(e.into_byte_record())
                }
            };
            let got: Vec<&str> = cells.iter().collect();
            let want: Vec<&str> = expected.iter().collect();
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert_eq!(cells.len(), fields.len());
            for (i, w) in want.iter().enumerate() {
                proptest::prop_assert_eq!(cells.get(i), Some(*w));
            }
            // Refilled, the same buffers give the same answer.
            proptest::prop_assert_eq!(cells.fill(&record, false), valid);
            proptest::prop_assert_eq!(cells.iter().collect::<Vec<_>>(), want);
        }
    }
}
