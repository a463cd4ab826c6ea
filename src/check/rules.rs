//! The row rules (docs/rules.md) that a row can be judged by on its own.
//!
//! Pure functions: a raw record goes in, a [`CheckedRow`] with its resolved values and
//! every error it breaks comes out. No shared state, so batches are checked in parallel.
//! Rules that need earlier rows or the directory live in [`crate::plan`].

use smallvec::SmallVec;
use validator::ValidateEmail;

use crate::check::{countries, policy, roles};
use crate::row::{
    cell_of, is_hidden_control, may_hide_characters, printable, trim_cell, CheckedRow, Code,
    Columns, Digest, Field, RawRow, RowError,
};
use crate::tenant::Tenant;

/// Everything the per-row rules need, shared read-only by all workers.
pub struct Rules<'a> {
    tenant: &'a Tenant,
    columns: &'a Columns,
    allow_global_admin: bool,
    default_usage_location: Option<&'static str>,
    /// `--license`, `--match employee-id` and the Account Status values.
    defaults: &'a RowDefaults,
    /// The most `+` signs in one of the tenant's licence names or SKUs.
    license_plus: usize,
}

/// The admin center wizard's choices for a whole upload (`import --license`,
/// `--usage-location`): the licences and the usage location of every row whose cell is
/// empty, or whose file has no such column.
#[derive(Debug, Clone, Default)]
pub struct RowDefaults {
    pub licenses: Option<String>,
    pub usage_location: Option<&'static str>,
    /// `--match employee-id`: every row needs an Employee ID.
    pub employee_id_required: bool,
    /// The HR system's own Account Status values (lower-cased) for an active person and
    /// for a leaver, from the `--columns` file; `active` and `leaver` always work.
    pub active_values: Vec<String>,
    pub leaver_values: Vec<String>,
}

impl RowDefaults {
    pub const NONE: RowDefaults = RowDefaults {
        licenses: None,
        usage_location: None,
        employee_id_required: false,
        active_values: Vec::new(),
        leaver_values: Vec::new(),
    };

    /// Checks the options against the tenant: an unknown licence or country is an error
    /// naming the option.
    pub fn parse(
        tenant: &Tenant,
        licenses: Option<&str>,
        usage_location: Option<&str>,
    ) -> anyhow::Result<RowDefaults> {
        let usage_location = match usage_location {
            None => None,
            Some(code) => Some(countries::canonical(code.trim()).ok_or_else(|| {
                anyhow::anyhow!(
                    "--usage-location `{}` is not an ISO 3166-1 alpha-2 country code (such as US, NL, DE)",
                    printable(code)
                )
            })?),
        };
        if let Some(cell) = licenses {
            let plus = license_plus(tenant);
            let known = |name: &str| tenant.license_index(name).is_some();
            let items = split_names(cell.trim(), plus, known);
            if items.is_empty() {
                anyhow::bail!("--license is empty; give a SKU such as ENTERPRISEPACK");
            }
            for item in items {
                if tenant.license_index(msonline_sku(item)).is_none() {
                    let known: Vec<&str> = tenant.licenses.iter().map(|l| l.sku.as_str()).collect();
                    anyhow::bail!(
                        "--license: `{}` is not a licence of {} (known: {})",
                        printable(item),
                        tenant.name,
                        known.join(", ")
                    );
                }
            }
        }
        Ok(RowDefaults {
            licenses: licenses.map(|l| l.trim().to_string()),
            usage_location,
            ..RowDefaults::default()
        })
    }
}

/// MSOnline writes a licence `contoso:ENTERPRISEPACK`: the SKU is after the colon.
fn msonline_sku(item: &str) -> &str {
    item.rsplit_once(':').map_or(item, |(_, sku)| sku.trim())
}

/// The most `+` signs in one of the tenant's licence names or SKUs.
fn license_plus(tenant: &Tenant) -> usize {
    tenant
        .licenses
        .iter()
        .flat_map(|l| [&l.sku, &l.name])
        .map(|name| name.matches('+').count())
        .max()
        .unwrap_or(0)
}

/// The most `+` signs in an admin role name: none has one; room for new ones.
const ROLE_PLUS: usize = 2;

/// Over this many characters a Licenses, Disabled Apps or Roles cell fails as too_long
/// (any other field over 256: docs/rules.md) and its names are not looked up: a cell of
/// `x+x+x…` would otherwise give an error for every name.
const NAMES_CELL_LIMIT: usize = 256;

fn too_long_for_names(cell: &str) -> bool {
    cell.len() > NAMES_CELL_LIMIT && cell.chars().count() > NAMES_CELL_LIMIT
}

/// Characters allowed in a username's local part besides ASCII letters and digits.
const LOCAL_PART_SYMBOLS: &[u8] = b"'.-_!#^~";

impl<'a> Rules<'a> {
    pub fn new(tenant: &'a Tenant, columns: &'a Columns, allow_global_admin: bool) -> Rules<'a> {
        static NONE: RowDefaults = RowDefaults::NONE;
        Rules::with_defaults(tenant, columns, allow_global_admin, &NONE)
    }

    /// [`Rules::new`] with the wizard's choices for every row.
    pub fn with_defaults(
        tenant: &'a Tenant,
        columns: &'a Columns,
        allow_global_admin: bool,
        defaults: &'a RowDefaults,
    ) -> Rules<'a> {
        Rules {
            tenant,
            columns,
            allow_global_admin,
            default_usage_location: defaults.usage_location.or_else(|| {
                tenant
                    .default_usage_location
                    .as_deref()
                    .and_then(countries::canonical)
            }),
            defaults,
            license_plus: license_plus(tenant),
        }
    }

    /// Applies every rule that needs only this row.
    pub fn check(&self, mut raw: RawRow) -> CheckedRow {
        let mut row = CheckedRow::default();
        self.check_into(&mut raw, &mut row);
        row
    }

    /// [`Rules::check`] into a row whose buffers are reused; takes `raw`'s warnings.
    pub fn check_into(&self, raw: &mut RawRow, row: &mut CheckedRow) {
        row.reset();
        row.line = raw.line;
        row.built_name = raw.built_name;
        row.position = raw.record.position().map_or(0, |p| p.byte());
        std::mem::swap(&mut row.warnings, &mut raw.warnings);
        // Only a file with a UTF-8 BOM has records that are not UTF-8 by now (the reader
        // reads a file without one again as Windows-1252): the row fails on the U+FFFD.
        row.record.fill(&raw.record, raw.utf8);
        self.check_cells(row, raw.dropped);
    }

    /// Checks the cells of `row`, whose record had `dropped` more fields than it kept.
    fn check_cells(&self, row: &mut CheckedRow, dropped: usize) {
        let width = row.record.len() + dropped;
        if width != self.columns.width {
            // Columns generated for a `--columns` mapping are not the input's: leave them out.
            let generated = self.columns.generated;
            self.user_name(
                cell_of(&row.record, self.columns, Field::UserName),
                &mut row.user_name,
            );
            lowercase_into(&row.user_name, &mut row.key);
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
            return;
        }
        self.check_user_name(row);
        lowercase_into(&row.user_name, &mut row.key);
        row.key_digest = Digest::of(&row.key);
        let employee_id = row.cell(self.columns, Field::EmployeeId);
        if !employee_id.is_empty() {
            row.employee_digest = Some(Digest::of(&lowercase(employee_id)));
        }
        self.check_lengths_and_characters(row);
        if row.cell(self.columns, Field::DisplayName).is_empty() {
            row.error(Code::Required, "Display Name is empty");
        }
        let email = row.cell(self.columns, Field::AlternateEmail);
        if !email.is_empty() && !is_email(email) {
            let msg = format!(
                "Alternate email address `{}` is not an email address",
                printable(email)
            );
            row.error(Code::InvalidEmail, msg);
        }
        self.check_usage_location(row);
        self.check_licenses(row);
        self.check_roles(row);
        self.check_password(row);
        let block = row.cell(self.columns, Field::BlockSignIn);
        match parse_yes_no(block) {
            // Graph's accountEnabled says the opposite: TRUE means not blocked.
            Ok(v) => row.block_sign_in = v.map(|v| v != self.columns.account_enabled),
            Err(()) => {
                let msg = format!(
                    "Block Sign In `{}` is not one of yes/no/true/false/1/0",
                    printable(block)
                );
                row.error(Code::InvalidValue, msg);
            }
        }
        self.check_account_status(row);
        if self.defaults.employee_id_required
            && row.cell(self.columns, Field::EmployeeId).is_empty()
        {
            row.error(
                Code::Required,
                "Employee ID is empty; --match employee-id goes by it",
            );
        }
        let location_given = !row.cell(self.columns, Field::UsageLocation).is_empty();
        if !row.licenses.is_empty() && row.usage_location.is_none() && !location_given {
            row.error(
                Code::UsageLocationRequired,
                "licences are asked for but neither the row nor the tenant has a usage location",
            );
        }
    }

    /// The User Name with the tenant's default domain appended when it has no `@`.
    fn user_name(&self, cell: &str, out: &mut String) {
        out.clear();
        out.push_str(cell);
        match &self.tenant.default_domain {
            Some(domain) if !cell.is_empty() && !cell.contains('@') => {
                out.push('@');
                out.push_str(domain);
            }
            _ => {}
        }
    }

    fn check_user_name(&self, row: &mut CheckedRow) {
        let cell = cell_of(&row.record, self.columns, Field::UserName);
        if cell.is_empty() {
            row.error(Code::Required, "User Name is empty");
            return;
        }
        self.user_name(cell, &mut row.user_name);
        let name = std::mem::take(&mut row.user_name);
        let chars = if name.is_ascii() {
            name.len()
        } else {
            name.chars().count()
        };
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
            let local_len = if local.is_ascii() {
                local.len()
            } else {
                local.chars().count()
            };
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
        // Most records hold no byte that can start a control or invisible character: then
        // only the cells longer in bytes than their limit need their characters counted.
        let suspicious = may_hide_characters(row.record.text().as_bytes());
        for (i, cell) in row.record.iter().enumerate() {
            let Some(field) = self.columns.field_at(i) else {
                continue;
            };
            if field == Field::Password || field == Field::UserName {
                continue; // their own rules say how long they may be
            }
            let limit = match field {
                Field::DisplayName => 256,
                Field::FirstName | Field::LastName => 64,
                Field::JobTitle => 128,
                _ => 256,
            };
            if cell.len() <= limit && !suspicious {
                continue; // no more characters than bytes
            }
            let value = trim_cell(cell);
            let chars = if value.len() <= limit {
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
            if !may_hide_characters(value.as_bytes()) {
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

    /// Account Status: empty or `active` (any case) is an active person, `leaver` one who
    /// left; the `--columns` file may add the HR system's own values for each.
    fn check_account_status(&self, row: &mut CheckedRow) {
        let cell = row.cell(self.columns, Field::AccountStatus);
        if cell.is_empty() {
            return;
        }
        let value = cell.to_lowercase();
        if value == "active" || self.defaults.active_values.contains(&value) {
            return;
        }
        if value == "leaver" || self.defaults.leaver_values.contains(&value) {
            row.leaver = true;
            return;
        }
        let msg = format!(
            "Account Status `{}` is neither active nor leaver; list the HR system's values in the --columns file's [account_status]",
            printable(cell)
        );
        row.error(Code::InvalidValue, msg);
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
        let cell = match cell_of(record, self.columns, Field::Licenses) {
            "" => self.defaults.licenses.as_deref().unwrap_or(""),
            cell => cell,
        };
        let apps = cell_of(record, self.columns, Field::DisabledApps);
        if too_long_for_names(cell) || too_long_for_names(apps) {
            return;
        }
        let tenant = self.tenant;
        let known = |name: &str| tenant.license_index(name).is_some();
        for item in split_names(cell, self.license_plus, known) {
            let item = msonline_sku(item);
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
        if let Err(why) = policy::check_policy(given, local) {
            row.error(Code::WeakPassword, format!("the given Password {why}"));
        }
    }
}

/// Lower-cases a name: ASCII fast, anything else fully.
fn lowercase(s: &str) -> String {
    let mut out = String::new();
    lowercase_into(s, &mut out);
    out
}

/// [`lowercase`] into a reused buffer.
fn lowercase_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.push_str(&s.to_lowercase()); // Greek final sigma needs the whole word
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

/// Whether `s` is an e-mail address by validator's rules. Most addresses are plain ASCII
/// ones that [`plain_email`] accepts without validator's regular expressions; everything
/// else (international domains, IP literals, anything invalid) goes to validator.
fn is_email(s: &str) -> bool {
    plain_email(s) || s.validate_email()
}

/// A subset of what validator's `validate_email` accepts: a user part of 1 to 64 of the
/// characters its user pattern allows, `@`, and a domain of at most 255 bytes made of
/// labels of 1 to 63 ASCII letters, digits and inner hyphens joined by dots.
fn plain_email(s: &str) -> bool {
    const USER_SYMBOLS: &[u8] = b".!#$%&'*+/=?^_`{|}~-";
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let user_ok = (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || USER_SYMBOLS.contains(&b));
    user_ok
        && domain.len() <= 255
        && domain.split('.').all(|label| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
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
    fn every_hidden_character_is_found_by_its_bytes() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if is_hidden_control(c) || c == char::REPLACEMENT_CHARACTER {
                let s = format!("ab{c}cd");
                assert!(may_hide_characters(s.as_bytes()), "U+{:04X}", c as u32);
            }
        }
        assert!(!may_hide_characters(
            "Åsa Johansson, Friedrichstraße 94, København K".as_bytes()
        ));
        assert!(may_hide_characters(
            format!("{}\u{200B}", "x".repeat(100)).as_bytes()
        ));
        // Every byte value at every place of a word and of the tail.
        for b in 0..=255u8 {
            let expected = b < 0x20 || b == 0x7F || b == 0xC2 || b == 0xE2 || b == 0xEF;
            for at in 0..11 {
                let mut bytes = vec![b'a'; 11];
                bytes[at] = b;
                assert_eq!(may_hide_characters(&bytes), expected, "byte {b:#x} at {at}");
            }
        }
    }

    #[test]
    fn plain_emails_are_valid_emails() {
        for s in [
            "jan@contoso.com",
            "a.b+c@x-y.example.org",
            "x@y",
            "o'brien@mail.ie",
            "{weird}@a1.b2",
        ] {
            assert!(plain_email(s), "{s}");
            assert!(s.validate_email(), "{s}");
        }
        for s in [
            "",
            "@x.com",
            "a@",
            "a@-x.com",
            "a@x-.com",
            "a@x..com",
            "a b@x.com",
            "a@b@c",
            "jan@bücher.de",
            "a@[127.0.0.1]",
        ] {
            assert!(!plain_email(s), "{s}");
        }
        assert!(is_email("jan@bücher.de") && is_email("a@[127.0.0.1]") && !is_email("a@x..com"));
    }

    proptest::proptest! {
        /// The fast path never accepts what validator refuses.
        #[test]
        fn plain_email_agrees_with_validator(s in "[a-z0-9.@+_'\\-]{0,12}(@[a-zA-Z0-9.-]{0,70})?") {
            if plain_email(&s) {
                proptest::prop_assert!(s.validate_email(), "{}", s);
            }
            proptest::prop_assert_eq!(is_email(&s), s.validate_email(), "{}", s);
        }
    }

    #[test]
    fn yes_no_values() {
        assert_eq!(parse_yes_no("Yes"), Ok(Some(true)));
        assert_eq!(parse_yes_no("0"), Ok(Some(false)));
        assert_eq!(parse_yes_no(""), Ok(None));
        assert_eq!(parse_yes_no("maybe"), Err(()));
    }
}
