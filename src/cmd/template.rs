//! `onboard template`: an empty input file with the right headers.

use std::io::Write;

use anyhow::Result;

use crate::cli::{TemplateArgs, TemplateKind};
use crate::row::{Field, FIELDS};

pub fn run(args: TemplateArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    super::ignore_broken_pipe(write_template(&mut out, args.kind).map_err(Into::into))?;
    Ok(crate::exit::OK)
}

/// The Microsoft 365 template is its 16 columns plus onboard's extensions; the Entra
/// template is `version:v1.0`, its bracketed headers and its `Example:` row.
pub fn write_template(out: &mut impl Write, kind: TemplateKind) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out);
    match kind {
        TemplateKind::M365 => {
            w.write_record(FIELDS.iter().map(|f| f.header))?;
        }
        TemplateKind::Entra => {
            w.write_record(["version:v1.0"])?;
            w.write_record(
                ENTRA_ORDER
                    .iter()
                    .map(|f| f.info().entra_header.unwrap_or(f.header())),
            )?;
            w.write_record(ENTRA_ORDER.iter().map(|&f| example_value(f)))?;
        }
    }
    w.flush()
}

/// The Entra ID template's own column order, then onboard's extensions.
const ENTRA_ORDER: [Field; 23] = [
    Field::DisplayName,
    Field::UserName,
    Field::Password,
    Field::BlockSignIn,
    Field::FirstName,
    Field::LastName,
    Field::JobTitle,
    Field::Department,
    Field::UsageLocation,
    Field::Address,
    Field::State,
    Field::Country,
    Field::OfficeNumber,
    Field::City,
    Field::PostalCode,
    Field::OfficePhone,
    Field::MobilePhone,
    Field::Fax,
    Field::AlternateEmail,
    Field::EmployeeId,
    Field::Licenses,
    Field::DisabledApps,
    Field::Roles,
];

fn example_value(field: Field) -> &'static str {
    use Field::*;
    match field {
        DisplayName => "Example: Chris Green",
        UserName => "chris@contoso.com",
        Password => "",
        BlockSignIn => "No",
        FirstName => "Chris",
        LastName => "Green",
        JobTitle => "IT Technician",
        Department => "Information Technology",
        UsageLocation => "US",
        Licenses => "SPE_E3",
        City => "Redmond",
        Country => "United States",
        _ => "",
    }
}
