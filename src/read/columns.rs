//! The input's header line: which column holds which field.
//!
//! Knows the Microsoft 365 bulk-add template (in English and the languages of
//! [`LOCALISED`]), the Entra ID bulk-create template (matched by the property in
//! brackets), the Microsoft Graph property names and the PowerShell column names of
//! [`FIELDS`], and onboard's extension columns. Graph properties onboard does not keep
//! ([`UNKEPT_PROPERTIES`]) are left out with a warning. An unknown, duplicate or missing
//! required column is a run error, raised before any row is read.

use std::sync::LazyLock;

use anyhow::{bail, Result};
use tracing::warn;
use unicode_normalization::UnicodeNormalization;

use crate::row::{printable, Columns, Field, Template, FIELDS, FIELD_COUNT};

/// The Microsoft 365 admin center's bulk-add template as it hands it out in other
/// languages: the language, and its 16 headers in the order of the English template (so
/// each names the field of [`FIELDS`] at its place). Columns are matched by these names,
/// never by position.
pub const LOCALISED: &[(&str, [&str; 16])] = &[
    (
        "German",
        [
            "Benutzername",
            "Vorname",
            "Nachname",
            "Anzeigename",
            "Position",
            "Abteilung",
            "Telefon \u{2013} Geschäftlich",
            "Telefon (geschäftlich)",
            "Mobiltelefon",
            "Fax",
            "Alternative E-Mail-Adresse",
            "Adresse",
            "Ort",
            "Bundesstaat",
            "Postleitzahl",
            "Land oder Region",
        ],
    ),
    (
        "Spanish",
        [
            "Nombre de usuario",
            "Nombre",
            "Apellido",
            "Nombre para mostrar",
            "Puesto",
            "Departamento",
            "Número del trabajo",
            "Teléfono de la oficina",
            "Teléfono móvil",
            "Fax",
            "Dirección de correo electrónico alternativa",
            "Dirección",
            "Ciudad",
            "Estado o provincia",
            "Código postal",
            "País o región",
        ],
    ),
    (
        "Portuguese (Brazil)",
        [
            "Nome de usuário",
            "Nome",
            "Sobrenome",
            "Nome de exibição",
            "Cargo",
            "Departamento",
            "Número comercial",
            "Telefone comercial",
            "Celular",
            "Fax",
            "Endereço de email alternativo",
            "Endereço",
            "Cidade",
            "Estado ou província",
            "CEP",
            "País ou região",
        ],
    ),
];

/// Microsoft Graph user properties that onboard does not keep (it derives `mailNickname`
/// from the User Name, and the rest are not part of a new account here). A column of one
/// of these is left out with a warning, so a file exported from Graph imports as is.
pub const UNKEPT_PROPERTIES: &[&str] = &[
    "id",
    "mailNickname",
    "mail",
    "companyName",
    "employeeType",
    "employeeHireDate",
    "preferredLanguage",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "ageGroup",
    "consentProvidedForMinor",
    "passwordPolicies",
    "proxyAddresses",
    "imAddresses",
    "userType",
    "creationType",
    "externalUserState",
    "showInAddressList",
    "forceChangePasswordNextSignIn",
    "createdDateTime",
];

/// How a `--columns` file changes the header (see [`crate::read::mapping`]): input headers it
/// maps to a field or tells to ignore, and fields the reader builds when the input has no
/// column for them.
#[derive(Debug, Clone, Default)]
pub struct HeaderMap {
    /// An input header as [`header_key`] gives it, and its field (`None`: ignore the column).
    pub mapped: Vec<(String, Option<Field>)>,
    /// Fields that get a column of their own after the input's when the input lacks them;
    /// the reader fills it in (see [`crate::read::names`]).
    pub generated: Vec<Field>,
    /// The file names people to act on (`offboard`, `restore`) by User Name, Employee ID
    /// or Object ID: one of those is required, not the User Name and Display Name an
    /// import needs.
    pub identifies: bool,
}

impl Columns {
    /// Resolves a header. `line` is the header's line number, for messages.
    pub fn from_header<'a, I>(cells: I, line: u64, version_line: bool) -> Result<Columns>
    where
        I: IntoIterator<Item = &'a str>,
    {
        Columns::from_header_mapped(cells, line, version_line, &HeaderMap::default())
    }

    /// Resolves a header with a `--columns` mapping: a mapped header takes the field it is
    /// mapped to (or none), the others are matched as usual.
    pub fn from_header_mapped<'a, I>(
        cells: I,
        line: u64,
        version_line: bool,
        map: &HeaderMap,
    ) -> Result<Columns>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let cells: Vec<&str> = cells
            .into_iter()
            .map(|c| c.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'))
            .collect();
        if cells.iter().all(|c| c.is_empty()) {
            bail!("line {line}: the header line has no column names");
        }
        let mut index = [None; FIELD_COUNT];
        let mut fields = Vec::new();
        let mut width = 0;
        let mut bracketed = false;
        let mut account_enabled = false;
        let mut object_id = None;
        for (col, cell) in cells.into_iter().enumerate() {
            width += 1;
            let column_no = col + 1;
            if cell.is_empty() {
                bail!("line {line}, column {column_no}: the header cell is empty");
            }
            let mapped = if map.mapped.is_empty() {
                None
            } else {
                let key = header_key(cell);
                map.mapped.iter().find(|(h, _)| *h == key).map(|(_, f)| *f)
            };
            let (name, found) = match (mapped, property_of(cell)) {
                (Some(None), _) => {
                    fields.push(None);
                    continue;
                }
                (Some(Some(f)), _) => (cell, Some(f)),
                (None, Some(prop)) => {
                    bracketed = true;
                    (prop, field_of_property(prop))
                }
                (None, None) => {
                    let found = field_of_header(cell);
                    if found == Some(Field::BlockSignIn) && header_key(cell) == "accountenabled" {
                        // Graph's own property: TRUE means the account may sign in.
                        account_enabled = true;
                    }
                    (cell, found)
                }
            };
            let field = match found {
                Some(f) => f,
                None if is_object_id(name) => {
                    object_id = Some(col);
                    fields.push(None);
                    continue;
                }
                None if is_unkept_property(name) => {
                    warn!(
                        "line {line}, column {column_no}: column `{}` is a Microsoft Graph property onboard does not keep; it is left out",
                        printable(cell)
                    );
                    fields.push(None);
                    continue;
                }
                None => bail!("line {line}, column {column_no}: {}", unknown_column(cell)),
            };
            if let Some(prev) = index[field as usize] {
                bail!(
                    "line {line}, column {column_no}: column `{}` is the same field ({}) as column {}",
                    printable(cell),
                    field.header(),
                    prev + 1
                );
            }
            index[field as usize] = Some(col);
            fields.push(Some(field));
        }
        let mut generated = 0;
        for &field in &map.generated {
            if index[field as usize].is_none() {
                index[field as usize] = Some(width);
                fields.push(Some(field));
                width += 1;
                generated += 1;
            }
        }
        if map.identifies {
            if index[Field::UserName as usize].is_none()
                && index[Field::EmployeeId as usize].is_none()
                && object_id.is_none()
            {
                bail!("line {line}: the file needs a `User Name`, `Employee ID` or `Object ID` column to name the people");
            }
        } else {
            for required in [Field::UserName, Field::DisplayName] {
                if index[required as usize].is_none() {
                    bail!(
                        "line {line}: required column `{}` is missing",
                        required.header()
                    );
                }
            }
        }
        let template = if version_line || bracketed {
            Template::Entra
        } else {
            Template::M365
        };
        Ok(Columns {
            index,
            fields,
            width,
            template,
            generated,
            account_enabled,
            object_id,
        })
    }
}

/// The property in `Name [property] Required`, if the header has brackets.
fn property_of(cell: &str) -> Option<&str> {
    let open = cell.find('[')?;
    let close = open + cell[open..].find(']')?;
    Some(cell[open + 1..close].trim())
}

fn field_of_property(prop: &str) -> Option<Field> {
    FIELDS
        .iter()
        .find(|f| {
            f.entra_properties
                .iter()
                .any(|p| p.eq_ignore_ascii_case(prop))
        })
        .map(|f| f.field)
}

/// A name as matching sees it: runs of spaces made one, lower case, composed (NFC: a
/// file saved on a Mac may hold `ä` as `a` and a combining mark), and an en or em dash
/// taken as a hyphen (typed again by hand, `Telefon – Geschäftlich` loses its en dash).
fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' => '-',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// A header as the matching sees it: surrounding spaces (and a BOM) gone, inner runs of
/// spaces made one, lower-cased.
pub fn header_key(cell: &str) -> String {
    normalise(cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'))
}

/// The field whose Microsoft 365 template or extension header (or an alias) is `name`,
/// any case.
pub fn field_named(name: &str) -> Option<Field> {
    field_of_header(name.trim())
}

/// The error for a header onboard does not know: the name, what it may have meant, and
/// the way to import a file with headers of its own.
fn unknown_column(cell: &str) -> String {
    let meant = did_you_mean(cell);
    format!(
        "unknown column `{}`{meant}{} A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows",
        printable(cell),
        if meant.ends_with('?') { "" } else { "." }
    )
}

/// The field a plain header (no brackets) names: a template header in English or a
/// language of [`LOCALISED`], a Graph property, or an alias, any case.
fn field_of_header(cell: &str) -> Option<Field> {
    let n = normalise(cell);
    HEADER_NAMES
        .iter()
        .find(|(name, _)| *name == n)
        .map(|(_, f)| *f)
}

/// Every plain header name, as [`normalise`] gives it, and its field: each field's
/// template header, Graph properties and aliases, then the localised templates.
static HEADER_NAMES: LazyLock<Vec<(String, Field)>> = LazyLock::new(|| {
    let mut names = Vec::new();
    for f in &FIELDS {
        for name in std::iter::once(&f.header)
            .chain(f.entra_properties)
            .chain(f.aliases)
        {
            names.push((normalise(name), f.field));
        }
    }
    for (_, headers) in LOCALISED {
        for (i, name) in headers.iter().enumerate() {
            names.push((normalise(name), FIELDS[i].field));
        }
    }
    names
});

/// The Object ID column of `onboard users` (and Entra's `objectId`): read back as
/// nothing, without a warning, so a listing imports again as it is. Object IDs are the
/// directory's to give.
fn is_object_id(name: &str) -> bool {
    matches!(normalise(name).as_str(), "object id" | "objectid")
}

fn is_unkept_property(name: &str) -> bool {
    let n = normalise(name);
    UNKEPT_PROPERTIES.iter().any(|p| p.eq_ignore_ascii_case(&n))
}

/// `; did you mean "X"?` naming the closest known header, or the list of known headers
/// when none is close. Closest: the field whose Entra property the name is (`Surname` is
/// the Last Name), else a header that holds the name as words (`Mobile` → Mobile Phone),
/// else the header fewest edits away.
pub(crate) fn did_you_mean(cell: &str) -> String {
    let n = normalise(cell);
    let squashed: String = n.split(' ').collect();
    let by_property = FIELDS.iter().find(|f| {
        f.entra_properties
            .iter()
            .chain(f.aliases)
            .any(|p| p.eq_ignore_ascii_case(&squashed))
    });
    let by_words = || {
        FIELDS
            .iter()
            .find(|f| has_words(&f.header.to_lowercase(), &n))
    };
    if let Some(f) = by_property.or_else(by_words) {
        return format!("; did you mean `{}`?", f.header);
    }
    let len = n.chars().count();
    let mut best: Option<(f64, &str)> = None;
    for f in &FIELDS {
        let mut candidates = vec![f.header];
        candidates.extend(f.entra_header);
        for c in candidates {
            // Lengths more than twice apart score under 0.5 anyway; skipping them keeps a
            // header cell of megabytes from costing minutes.
            let c_len = c.chars().count();
            if len > 2 * c_len || c_len > 2 * len {
                continue;
            }
            let score = strsim::normalized_levenshtein(&n, &c.to_lowercase());
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, c));
            }
        }
    }
    match best {
        Some((score, name)) if score >= 0.5 => format!("; did you mean `{name}`?"),
        _ => format!(
            "; known columns are: {}",
            FIELDS
                .iter()
                .map(|f| f.header)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether `words` (lower case, single spaces) are whole words in a row of `header`.
fn has_words(header: &str, words: &str) -> bool {
    !words.is_empty()
        && (header == words
            || header.starts_with(&format!("{words} "))
            || header.ends_with(&format!(" {words}"))
            || header.contains(&format!(" {words} ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_m365_headers_case_insensitively() {
        let c =
            Columns::from_header([" user name ", "DISPLAY NAME", "Licences"], 1, false).unwrap();
        assert_eq!(c.get(Field::UserName), Some(0));
        assert_eq!(c.get(Field::DisplayName), Some(1));
        assert_eq!(c.get(Field::Licenses), Some(2));
        assert_eq!(c.template, Template::M365);
    }

    #[test]
    fn matches_entra_headers_by_property() {
        let c = Columns::from_header(
            [
                "Name [displayName] Required",
                "User name [userPrincipalName] Required",
                "x [UsageLocation]",
            ],
            2,
            true,
        )
        .unwrap();
        assert_eq!(c.get(Field::UserName), Some(1));
        assert_eq!(c.get(Field::UsageLocation), Some(2));
        assert_eq!(c.template, Template::Entra);
    }

    #[test]
    fn unknown_duplicate_and_missing_columns_are_errors() {
        let e =
            Columns::from_header(["User Name", "Display Name", "Job Titel"], 1, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column 3: unknown column `Job Titel`; did you mean `Job Title`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
        );
        let e =
            Columns::from_header(["User Name", "Display Name", "user name"], 1, false).unwrap_err();
        assert!(e.to_string().contains("same field (User Name) as column 1"));
        let e = Columns::from_header(["User Name"], 1, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: required column `Display Name` is missing"
        );
        let e = Columns::from_header(["", " ", ""], 1, false).unwrap_err();
        assert_eq!(e.to_string(), "line 1: the header line has no column names");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { failure_persistence: None, ..Default::default() })]
        /// Any name, in any case and with spaces around it and doubled inside, names the
        /// field it was listed for, in a header of its own and beside the required ones.
        #[test]
        fn every_name_in_any_case_names_its_field(
            pick in 0usize..1000,
            flips in proptest::collection::vec(proptest::bool::ANY, 64),
            pad in 0usize..3,
        ) {
            let (listed, field) = {
                let all: Vec<(&str, Field)> = FIELDS
                    .iter()
                    .flat_map(|f| {
                        std::iter::once(f.header)
                            .chain(f.entra_properties.iter().copied())
                            .chain(f.aliases.iter().copied())
                            .map(move |n| (n, f.field))
                    })
                    .chain(LOCALISED.iter().flat_map(|(_, headers)| {
                        headers.iter().enumerate().map(|(i, h)| (*h, FIELDS[i].field))
                    }))
                    .collect();
                all[pick % all.len()]
            };
            let cased: String = listed
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, &up)| if up { c.to_uppercase().collect::<String>() } else { c.to_lowercase().collect() })
                .collect();
            let spaced = format!("{}{}{}", " ".repeat(pad), cased.replace(' ', &" ".repeat(pad + 1)), " ".repeat(pad));
            proptest::prop_assert_eq!(field_of_header(&spaced), Some(field), "{:?}", spaced);
            let mut header = vec![spaced.as_str()];
            for required in ["User Name", "Display Name"] {
                if field_of_header(required) != Some(field) {
                    header.push(required);
                }
            }
            let columns = Columns::from_header(header, 1, false).unwrap();
            proptest::prop_assert_eq!(columns.get(field), Some(0));
        }
    }

    #[test]
    fn every_name_names_one_field() {
        // No name (after normalising) is given to two fields, and each resolves to the
        // field it was listed for.
        for (i, (name, field)) in HEADER_NAMES.iter().enumerate() {
            for (other, other_field) in &HEADER_NAMES[i + 1..] {
                assert!(
                    name != other || field == other_field,
                    "`{name}` names both {field:?} and {other_field:?}"
                );
            }
            assert_eq!(field_of_header(name), Some(*field), "{name}");
        }
        for p in UNKEPT_PROPERTIES {
            assert_eq!(field_of_header(p), None, "{p} is kept after all");
        }
    }

    /// The names tables of docs/input.md, built from [`FIELDS`], [`LOCALISED`] and
    /// [`UNKEPT_PROPERTIES`].
    fn names_tables() -> String {
        let code = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from(
            "| Column | Entra ID template | Graph properties | Other names |\n| --- | --- | --- | --- |\n",
        );
        for f in &FIELDS {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                f.header,
                f.entra_header.map_or(String::new(), |h| format!("`{h}`")),
                code(f.entra_properties),
                code(f.aliases)
            ));
        }
        out.push_str("\n| Column |");
        for (language, _) in LOCALISED {
            out.push_str(&format!(" {language} |"));
        }
        out.push_str("\n| --- |");
        for _ in LOCALISED {
            out.push_str(" --- |");
        }
        out.push('\n');
        for (i, f) in FIELDS.iter().take(16).enumerate() {
            out.push_str(&format!("| `{}` |", f.header));
            for (_, headers) in LOCALISED {
                out.push_str(&format!(" `{}` |", headers[i]));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "\nLeft out with a warning: {}.\n",
            code(UNKEPT_PROPERTIES)
        ));
        out
    }

    #[test]
    fn the_docs_list_every_name() {
        let docs = include_str!("../../docs/input.md");
        let tables = names_tables();
        assert!(
            docs.contains(&tables),
            "docs/input.md should hold these tables, as generated from the code:\n{tables}"
        );
    }

    #[test]
    fn graph_powershell_and_german_headers() {
        let c = Columns::from_header(
            [
                "UserPrincipalName",
                "FirstName",
                "LastName",
                "DisplayName",
                "UsageLocation",
                "AccountSkuId",
            ],
            1,
            false,
        )
        .unwrap();
        assert_eq!(c.get(Field::Licenses), Some(5));
        assert_eq!(c.get(Field::FirstName), Some(1));
        let c = Columns::from_header(
            ["upn", "displayName", "accountEnabled", "mailNickname"],
            1,
            false,
        )
        .unwrap();
        assert!(c.account_enabled);
        assert_eq!(c.get(Field::BlockSignIn), Some(2));
        assert_eq!(c.field_at(3), None);
        assert_eq!(c.width, 4);
        let german = LOCALISED[0].1;
        let c = Columns::from_header(german, 1, false).unwrap();
        for (i, f) in FIELDS.iter().take(16).enumerate() {
            assert_eq!(c.get(f.field), Some(i), "{}", german[i]);
        }
        // Typed again with a hyphen, or saved decomposed.
        let c = Columns::from_header(
            [
                "Benutzername",
                "Anzeigename",
                "Telefon - Geschäftlich",
                "Telefon (gescha\u{308}ftlich)",
            ],
            1,
            false,
        )
        .unwrap();
        assert_eq!(c.get(Field::OfficeNumber), Some(2));
        assert_eq!(c.get(Field::OfficePhone), Some(3));
    }

    #[test]
    fn suggests_the_header_an_admin_means() {
        let suggestion = |cell| did_you_mean(cell).replace("; did you mean ", "");
        assert_eq!(suggestion("Surname"), "`Last Name`?");
        assert_eq!(suggestion("given name"), "`First Name`?");
        assert_eq!(suggestion("Mobile"), "`Mobile Phone`?");
        assert_eq!(suggestion("Country"), "`Country or Region`?");
        assert_eq!(suggestion("E-mail address"), "`Alternate email address`?");
        assert_eq!(suggestion("Email"), "`Alternate email address`?");
        assert_eq!(suggestion("Phone"), "`Office Phone`?");
        assert_eq!(suggestion("Job Titel"), "`Job Title`?");
        assert_eq!(suggestion("Employee Number"), "`Employee ID`?");
        assert!(did_you_mean("Manager").starts_with("; known columns are: User Name,"));
        assert!(did_you_mean(&"x".repeat(1 << 20)).starts_with("; known columns are:"));
    }
}
