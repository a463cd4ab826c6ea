//! Writes `samples/users.xlsx`, the sample workbook (onboard only reads workbooks; this
//! writes one with the `rust_xlsxwriter` dev-dependency).
//!
//! ```text
//! cargo run --example make_xlsx [-- OUT.xlsx]
//! ```
//!
//! - Sheet `New hires` (the first, so the default): the Microsoft 365 headers and
//!   extensions, with what HR workbooks really hold: employee IDs, phone numbers and a
//!   postal code typed as numbers, `Block Sign In` as TRUE/FALSE cells, an empty row, and
//!   a licence looked up with VLOOKUP that fails (`#N/A`) for a department that is not in
//!   the list.
//! - Sheet `Interns`: three more people, for `--sheet Interns`.
//! - Sheet `Lists` (hidden): the department → licence list the lookups use.
//!
//! The file is the same byte for byte on every run (fixed creation time).

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, XlsxError};

const HEADER: [&str; 14] = [
    "User Name",
    "First Name",
    "Last Name",
    "Display Name",
    "Job Title",
    "Department",
    "Office Phone",
    "City",
    "ZIP or Postal Code",
    "Country or Region",
    "Usage Location",
    "Licenses",
    "Block Sign In",
    "Employee ID",
];

/// A cell of the sample: text, a number, a boolean, or a licence looked up by department.
enum Cell {
    Text(&'static str),
    Number(f64),
    Bool(bool),
    /// `=VLOOKUP(department, Lists!A:B, 2, FALSE)` with the result Excel saved.
    Lookup(&'static str),
    Empty,
}

use Cell::{Bool, Empty, Lookup, Number, Text};

fn new_hires() -> Vec<Option<[Cell; 14]>> {
    vec![
        Some([
            Text("lotte.bakker@fabrikam.nl"),
            Text("Lotte"),
            Text("Bakker"),
            Text("Lotte Bakker"),
            Text("Accountant"),
            Text("Finance"),
            Number(31_205_550_111.0),
            Text("Amsterdam"),
            Text("1016 BR"),
            Text("Netherlands"),
            Text("NL"),
            Lookup("SPE_E3"),
            Bool(false),
            Number(20417.0),
        ]),
        Some([
            Text("jonas.schmidt@contoso.de"),
            Text("Jonas"),
            Text("Schmidt"),
            Text("Jonas Schmidt"),
            Text("Vertriebsleiter"),
            Text("Sales"),
            Number(49_305_550_122.0),
            Text("Berlin"),
            Number(10115.0),
            Text("Germany"),
            Text("DE"),
            Lookup("SPE_E3+EMS"),
            Bool(false),
            Number(20418.0),
        ]),
        None,
        Some([
            Text("sanne.visser@fabrikam.nl"),
            Text("Sanne"),
            Text("Visser"),
            Text("Sanne Visser"),
            Text("Office Manager"),
            Text("Facilities"),
            Number(31_205_550_133.0),
            Text("Amsterdam"),
            Text("1016 BR"),
            Text("Netherlands"),
            Text("NL"),
            Lookup("#N/A"),
            Bool(false),
            Number(20419.0),
        ]),
        Some([
            Text("emma.dubois@contoso.com"),
            Text("Emma"),
            Text("Dubois"),
            Text("Emma Dubois"),
            Text("Controller"),
            Text("Finance"),
            Empty,
            Text("Brussels"),
            Number(1000.0),
            Text("Belgium"),
            Text("BE"),
            Lookup("SPE_E3"),
            Bool(true),
            Number(20420.0),
        ]),
        Some([
            Text("ahmed.elidrissi@fabrikam.nl"),
            Text("Ahmed"),
            Text("El Idrissi"),
            Text("Ahmed El Idrissi"),
            Text("Security Engineer"),
            Text("IT"),
            Number(31_205_550_155.0),
            Text("Utrecht"),
            Text("3526 KL"),
            Text("Netherlands"),
            Text("NL"),
            Lookup("SPE_E3+EMS"),
            Bool(false),
            Number(20421.0),
        ]),
    ]
}

fn interns() -> Vec<Option<[Cell; 14]>> {
    let intern = |user, first, last, display, id: f64| {
        Some([
            Text(user),
            Text(first),
            Text(last),
            Text(display),
            Text("Intern"),
            Text("Marketing"),
            Empty,
            Text("Amsterdam"),
            Text("1016 BR"),
            Text("Netherlands"),
            Text("NL"),
            Lookup("ENTERPRISEPACK"),
            Bool(false),
            Number(id),
        ])
    };
    vec![
        intern(
            "milan.smit@fabrikam.nl",
            "Milan",
            "Smit",
            "Milan Smit",
            30001.0,
        ),
        intern(
            "julia.mulder@fabrikam.nl",
            "Julia",
            "Mulder",
            "Julia Mulder",
            30002.0,
        ),
        intern(
            "noah.degraaf@fabrikam.nl",
            "Noah",
            "de Graaf",
            "Noah de Graaf",
            30003.0,
        ),
    ]
}

fn write_sheet(
    workbook: &mut Workbook,
    name: &str,
    rows: Vec<Option<[Cell; 14]>>,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet().set_name(name)?;
    for (col, h) in HEADER.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, row) in rows.into_iter().enumerate() {
        let r = i as u32 + 1;
        let Some(cells) = row else { continue };
        for (c, cell) in cells.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Text(t) => {
                    sheet.write_string(r, c, t)?;
                }
                Number(n) => {
                    sheet.write_number(r, c, n)?;
                }
                Bool(b) => {
                    sheet.write_boolean(r, c, b)?;
                }
                Lookup(result) => {
                    let formula = format!("=VLOOKUP(F{},Lists!A:B,2,FALSE)", r + 1);
                    sheet.write_formula(r, c, Formula::new(formula).set_result(result))?;
                }
                Empty => {}
            }
        }
    }
    sheet.autofit();
    Ok(())
}

fn main() -> Result<(), XlsxError> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples/users.xlsx".to_string());
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 3, 2)?.and_hms(9, 0, 0)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title("New hires March 2026")
            .set_author("HR")
            .set_creation_datetime(&created),
    );
    write_sheet(&mut workbook, "New hires", new_hires())?;
    write_sheet(&mut workbook, "Interns", interns())?;
    let lists = workbook.add_worksheet().set_name("Lists")?;
    for (r, (department, licence)) in [
        ("Finance", "SPE_E3"),
        ("Sales", "SPE_E3+EMS"),
        ("IT", "SPE_E3+EMS"),
        ("Marketing", "ENTERPRISEPACK"),
    ]
    .into_iter()
    .enumerate()
    {
        lists.write_string(r as u32, 0, department)?;
        lists.write_string(r as u32, 1, licence)?;
    }
    lists.set_hidden(true);
    workbook.save(&out)?;
    println!("wrote {out}");
    Ok(())
}
