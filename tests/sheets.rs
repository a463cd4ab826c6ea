//! Real spreadsheets: workbooks read directly (`--sheet`), and HR exports with their own
//! headers mapped by `--columns`, with User Names built from a pattern.

use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, XlsxError};

use crate::package;
use crate::workdir::Workdir;

fn samples(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Writes a workbook into the work folder.
fn xlsx(wd: &Workdir, name: &str, build: impl FnOnce(&mut Workbook) -> Result<(), XlsxError>) {
    let mut workbook = Workbook::new();
    build(&mut workbook).expect("build workbook");
    workbook.save(wd.path(name)).expect("save workbook");
}

/// Runs `onboard import ARGS -o out.csv` and returns the exit code and stderr.
fn import(wd: &Workdir, args: &[&str]) -> (i32, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "out.csv"]);
    let out = wd.onboard(&all).output().expect("run onboard");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// A fatal error: exit 2, nothing written; returns stderr.
fn fatal(wd: &Workdir, args: &[&str]) -> String {
    let (code, stderr) = import(wd, args);
    assert_eq!(code, 2, "{stderr}");
    assert!(!wd.exists("out.csv"));
    assert!(!wd.exists("onboard.db"));
    stderr
}

#[test]
fn the_sample_workbook_imports_with_comma_and_bom_results() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    assert_eq!(wd.import(&samples("users.xlsx"), "out.csv", &[]), 0);
    assert!(wd
        .read_bytes("out.csv")
        .starts_with("\u{feff}Line,User Name,Display Name,".as_bytes()));
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,lotte.bakker@fabrikam.nl,Lotte Bakker,created,<password>,SPE_E3,,
3,jonas.schmidt@contoso.de,Jonas Schmidt,created,<password>,SPE_E3+EMS,,
5,sanne.visser@fabrikam.nl,Sanne Visser,created,<password>,,cell_error: Licenses (L5) is #N/A; read as empty,
6,emma.dubois@contoso.com,Emma Dubois,created,<password>,SPE_E3,,
7,ahmed.elidrissi@fabrikam.nl,Ahmed El Idrissi,created,<password>,SPE_E3+EMS,,
"
    );
    assert_eq!(
        wd.query(
            "SELECT office_phone, postal_code, employee_id, block_sign_in, usage_location FROM users ORDER BY id"
        ),
        [
            ["31205550111", "1016 BR", "20417", "0", "NL"],
            ["49305550122", "10115", "20418", "0", "DE"],
            ["31205550133", "1016 BR", "20419", "0", "NL"],
            ["NULL", "1000", "20420", "1", "BE"],
            ["31205550155", "3526 KL", "20421", "0", "NL"],
        ]
    );
}

#[test]
fn sheet_picks_the_sheet_by_name_in_any_case() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    let (code, stderr) = import(&wd, &[&samples("users.xlsx"), "--sheet", "interns", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,milan.smit@fabrikam.nl,Milan Smit,created,<password>,ENTERPRISEPACK,,
3,julia.mulder@fabrikam.nl,Julia Mulder,created,<password>,ENTERPRISEPACK,,
4,noah.degraaf@fabrikam.nl,Noah de Graaf,created,<password>,ENTERPRISEPACK,,
"
    );
}

#[test]
fn an_unknown_sheet_is_fatal_and_lists_the_sheets() {
    let wd = Workdir::new();
    let stderr = fatal(&wd, &[&samples("users.xlsx"), "--sheet", "Stagiairs"]);
    assert_eq!(
        stderr,
        format!(
            "onboard: error: {}: there is no sheet `Stagiairs`; the sheets are `New hires`, `Interns`, `Lists` (hidden)",
            samples("users.xlsx")
        )
    );
}

#[test]
fn sheet_with_a_csv_input_is_fatal() {
    let wd = Workdir::new();
    wd.write("in.csv", "User Name,Display Name\na@contoso.com,A\n");
    assert_eq!(
        fatal(&wd, &["in.csv", "--sheet", "Sheet1"]),
        "onboard: error: --sheet `Sheet1`: in.csv is read as CSV; --sheet is for workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods)"
    );
}

#[test]
fn a_file_that_is_not_a_workbook_is_fatal() {
    let wd = Workdir::new();
    wd.write("in.xlsx", "User Name,Display Name\na@contoso.com,A\n");
    let stderr = fatal(&wd, &["in.xlsx"]);
    assert!(
        stderr.starts_with("onboard: error: cannot read in.xlsx as a workbook (.xlsx): "),
        "{stderr}"
    );
}

#[test]
fn cells_read_as_text_and_lines_are_sheet_rows() {
    let wd = Workdir::new();
    xlsx(&wd, "in.xlsx", |wb| {
        let date = Format::new().set_num_format("dd-mm-yyyy");
        let date_time = Format::new().set_num_format("dd-mm-yyyy hh:mm");
        let time = Format::new().set_num_format("hh:mm");
        let s = wb.add_worksheet();
        // A title-less sheet whose table starts at B3, as some HR workbooks have it.
        let header = [
            "User Name",
            "Display Name",
            "Employee ID",
            "ZIP or Postal Code",
            "Office Number",
            "Department",
            "Job Title",
            "City",
            "Block Sign In",
            "Alternate email address",
        ];
        for (c, h) in header.iter().enumerate() {
            s.write(2, c as u16 + 1, *h)?;
        }
        s.write(3, 1, "anna@contoso.com")?;
        s.write(3, 2, "  Anna de Wit  ")?;
        s.write(3, 3, 1001.0)?;
        s.write(3, 4, 1012.0)?;
        s.write(3, 5, 2.5)?;
        let day = ExcelDateTime::from_ymd(2026, 3, 1)?;
        s.write_datetime_with_format(3, 6, &day, &date)?;
        let moment = ExcelDateTime::from_ymd(2026, 3, 1)?.and_hms(9, 30, 0)?;
        s.write_datetime_with_format(3, 7, &moment, &date_time)?;
        let clock = ExcelDateTime::from_hms(17, 45, 0)?;
        s.write_datetime_with_format(3, 8, &clock, &time)?;
        s.write_boolean(3, 9, true)?;
        s.write_formula(3, 10, Formula::new("=NA()").set_result("#N/A"))?;
        // Row 5 is empty; row 6 has an error cell where the Display Name should be.
        s.write(5, 1, "bob@contoso.com")?;
        s.write_formula(5, 2, Formula::new("=1/0").set_result("#DIV/0!"))?;
        s.write_boolean(5, 9, false)?;
        // Row 7 has something right of the header's last column.
        s.write(6, 1, "carla@contoso.com")?;
        s.write(6, 2, "Carla")?;
        s.write(6, 12, "a note")?;
        Ok(())
    });
    let (code, stderr) = import(&wd, &["in.xlsx", "-q"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
4,anna@contoso.com,Anna de Wit,created,<password>,,cell_error: Alternate email address (K4) is #N/A; read as empty,
6,bob@contoso.com,,failed,,,cell_error: Display Name (C6) is #DIV/0!; read as empty,required: Display Name is empty
7,carla@contoso.com,Carla,failed,,,,\"malformed_row: the record has 12 fields, the header has 10\"
"
    );
    assert_eq!(
        wd.query(
            "SELECT display_name, employee_id, postal_code, office_number, department, job_title, city, block_sign_in, alternate_email FROM users"
        ),
        [[
            "Anna de Wit",
            "1001",
            "1012",
            "2.5",
            "2026-03-01",
            "2026-03-01 09:30",
            "17:45",
            "1",
            "NULL"
        ]]
    );
}

#[test]
fn entra_template_in_a_workbook() {
    let wd = Workdir::new();
    xlsx(&wd, "entra.xlsx", |wb| {
        let s = wb.add_worksheet().set_name("Users")?;
        s.write(0, 0, "version:v1.0")?;
        s.write(1, 0, "Name [displayName] Required")?;
        s.write(1, 1, "User name [userPrincipalName] Required")?;
        s.write(2, 0, "Example: Chris Green")?;
        s.write(2, 1, "chris@contoso.com")?;
        s.write(3, 0, "Noël Dekker")?;
        s.write(3, 1, "noel@fabrikam.nl")?;
        Ok(())
    });
    let (code, stderr) = import(&wd, &["entra.xlsx", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
4,noel@fabrikam.nl,Noël Dekker,created,<password>,,,
"
    );
}

#[test]
fn a_bad_header_in_a_workbook_names_the_sheet_and_row() {
    let wd = Workdir::new();
    xlsx(&wd, "in.xlsx", |wb| {
        let s = wb.add_worksheet().set_name("Blad1")?;
        s.write(1, 0, "User Name")?;
        s.write(1, 1, "Display Name")?;
        s.write(1, 2, "Job Titel")?;
        Ok(())
    });
    assert_eq!(
        fatal(&wd, &["in.xlsx"]),
        "onboard: error: in.xlsx, sheet `Blad1`: bad header: line 2, column 3: unknown column `Job Titel`; did you mean `Job Title`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
    xlsx(&wd, "empty.xlsx", |wb| {
        wb.add_worksheet();
        Ok(())
    });
    assert_eq!(
        fatal(&wd, &["empty.xlsx"]),
        "onboard: error: empty.xlsx: sheet `Sheet1` is empty (no header row)"
    );
}

#[test]
fn the_dutch_hr_sample_with_its_mapping() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    let (code, stderr) = import(
        &wd,
        &[
            &samples("hr-export-nl.csv"),
            "--columns",
            &samples("hr-columns.toml"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warnings: user_name_generated 11, user_name_numbered 1"),
        "{stderr}"
    );
    assert!(wd.read_bytes("out.csv").starts_with(b"\xEF\xBB\xBFLine;"));
    assert_eq!(
        wd.results("out.csv"),
        "\
Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors
2;jan.jansen@fabrikam.nl;Jan Jansen;created;<password>;SPE_E3;user_name_generated: jan.jansen@fabrikam.nl;
3;zoe.aeroskobing@fabrikam.nl;Zoë Ærøskøbing;created;<password>;SPE_E3;user_name_generated: zoe.aeroskobing@fabrikam.nl;
4;pieter.vandermeulen@fabrikam.nl;Pieter van der Meulen;created;<password>;SPE_E3+EMS;user_name_generated: pieter.vandermeulen@fabrikam.nl;
5;jan.jansen2@fabrikam.nl;Jan Jansen;created;<password>;ENTERPRISEPACK;user_name_numbered: jan.jansen2@fabrikam.nl (jan.jansen@fabrikam.nl is taken on line 2);
6;anne-marie.oneill@fabrikam.nl;Anne-Marie O'Neill;created;<password>;SPE_E3;user_name_generated: anne-marie.oneill@fabrikam.nl;
7;jurgen.weiss@fabrikam.nl;Jürgen Weiß;created;<password>;SPE_E3+EMS;user_name_generated: jurgen.weiss@fabrikam.nl;
8;lukasz.wrobel@fabrikam.nl;Łukasz Wróbel;created;<password>;ENTERPRISEPACK;user_name_generated: lukasz.wrobel@fabrikam.nl;
9;fatma.yilmaz@fabrikam.nl;Fatma Yılmaz;created;<password>;ENTERPRISEPACK;user_name_generated: fatma.yilmaz@fabrikam.nl;
10;sven.akesson@fabrikam.nl;Sven Åkesson;created;<password>;SPE_E3;user_name_generated: sven.akesson@fabrikam.nl;
11;daan.deboer@fabrikam.nl;Daan de Boer;created;<password>;SPE_E3;user_name_generated: daan.deboer@fabrikam.nl;
12;noor.elamrani@fabrikam.nl;Noor El Amrani;created;<password>;SPE_E3;user_name_generated: noor.elamrani@fabrikam.nl;
13;emilie.dubois@fabrikam.nl;Émilie Dubois;created;<password>;SPE_E3;user_name_generated: emilie.dubois@fabrikam.nl;
"
    );
    assert_eq!(
        wd.query(
            "SELECT first_name, last_name, employee_id, department, job_title, city, mobile_phone FROM users WHERE user_name = 'jan.jansen2@fabrikam.nl'"
        ),
        [["Jan", "Jansen", "1004", "Logistiek", "Magazijnmedewerker", "Tilburg", "NULL"]]
    );
    // The next night the same export creates nobody twice: the same names come out.
    let out = wd
        .onboard(&[
            "import",
            &samples("hr-export-nl.csv"),
            "--columns",
            &samples("hr-columns.toml"),
            "-o",
            "night2.csv",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let statuses = wd.column("night2.csv", 3);
    assert!(statuses.iter().all(|s| s == "skipped"), "{statuses:?}");
    assert_eq!(wd.user_count(), 12);
}

#[test]
fn a_built_name_of_a_namesake_in_the_directory_is_not_taken_for_this_person() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    let columns = samples("hr-columns.toml");
    let (code, stderr) = import(&wd, &[&samples("hr-export-nl.csv"), "--columns", &columns]);
    assert_eq!(code, 0, "{stderr}");
    // Jan Jansen 1001 has left; the export now has Jan Jansen 1004 first, whose built
    // name is jan.jansen@, the account of 1001. Zoë is in both exports with her own ID.
    let export = std::fs::read_to_string(samples("hr-export-nl.csv")).unwrap();
    let night2: String = export
        .lines()
        .filter(|l| !l.starts_with("1001;"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    wd.write("night2.csv", &night2);
    let out = wd
        .onboard(&[
            "import",
            "night2.csv",
            "--columns",
            &columns,
            "--on-existing",
            "update",
            "-o",
            "night2-result.csv",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = wd.results("night2-result.csv");
    let mut lines = rows.lines();
    assert_eq!(
        lines.next(),
        Some("Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors")
    );
    assert_eq!(
        lines.next(),
        Some("2;zoe.aeroskobing@fabrikam.nl;Zoë Ærøskøbing;unchanged;;SPE_E3;user_name_generated: zoe.aeroskobing@fabrikam.nl;")
    );
    let jan = rows.lines().find(|l| l.starts_with("4;")).unwrap();
    assert_eq!(
        jan,
        "4;jan.jansen@fabrikam.nl;Jan Jansen;failed;;;user_name_generated: jan.jansen@fabrikam.nl;\
         already_exists: the built User Name jan.jansen@fabrikam.nl is the directory's user with \
         Employee ID 1001, not 1004: a different person. Give this row a typed User Name"
    );
    // 1001's account was not overwritten with 1004's row.
    assert_eq!(
        wd.query(
            "SELECT employee_id, department FROM users WHERE user_name = 'jan.jansen@fabrikam.nl'"
        ),
        [["1001", "Verkoop"]]
    );
    assert_eq!(wd.user_count(), 12);
}

const MAP: &str = r#"
[columns]
"Voornaam" = "First Name"
"Achternaam" = "Last Name"
"Personeelsnummer" = "Employee ID"
"Account" = "User Name"
"Opmerking" = "ignore"
[user_name]
pattern = "{first}.{last}"
"#;

#[test]
fn generated_names_are_folded_numbered_and_checked_like_typed_ones() {
    let wd = Workdir::new();
    wd.write("map.toml", MAP);
    wd.write(
        "in.csv",
        "\
Personeelsnummer,Voornaam,Achternaam,Account,Opmerking
1,Jan,Jansen,,x
2,Jan,Jansen,jan.jansen2@contoso.com,typed: takes the name that would be next
3,Jan,Jansen,,third Jan: 2 is typed above so this one is 3
4,Zoë,Ærøskøbing,,
5,Ĳsbrand,van der Meulen-de Groot,,
6,,,,nothing to build a name from
7,Алексей,Петров,,only the Latin letters are kept
8,Ann,Smith,x y@contoso.com,a typed name is checked as it is
9,Ann,Smith,,
10,Extra,Cell,,,one field too many
1,Jan,Jansen,,the same Employee ID as line 2
",
    );
    let (code, stderr) = import(&wd, &["in.csv", "--columns", "map.toml", "-q"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,jan.jansen@contoso.com,Jan Jansen,created,<password>,,user_name_generated: jan.jansen@contoso.com,
3,jan.jansen2@contoso.com,Jan Jansen,created,<password>,,,
4,jan.jansen3@contoso.com,Jan Jansen,created,<password>,,user_name_numbered: jan.jansen3@contoso.com (jan.jansen@contoso.com is taken on line 2),
5,zoe.aeroskobing@contoso.com,Zoë Ærøskøbing,created,<password>,,user_name_generated: zoe.aeroskobing@contoso.com,
6,ijsbrand.vandermeulen-degroot@contoso.com,Ĳsbrand van der Meulen-de Groot,created,<password>,,user_name_generated: ijsbrand.vandermeulen-degroot@contoso.com,
7,,,failed,,,user_name_not_generated: the pattern `{first}.{last}` gives no name (First Name and Last Name are empty),required: User Name is empty | required: Display Name is empty
8,,Алексей Петров,failed,,,user_name_not_generated: the pattern `{first}.{last}` gives no name (First Name and Last Name have no letter or digit of A–Z 0–9),required: User Name is empty
9,x y@contoso.com,Ann Smith,failed,,,,invalid_username: User Name `x y@contoso.com`: character U+0020 is not allowed
10,ann.smith@contoso.com,Ann Smith,created,<password>,,user_name_generated: ann.smith@contoso.com,
11,,,failed,,,,\"malformed_row: the record has 6 fields, the header has 5\"
12,jan.jansen4@contoso.com,Jan Jansen,failed,,,user_name_numbered: jan.jansen4@contoso.com (jan.jansen@contoso.com is taken on line 2),duplicate_in_file: Employee ID 1 is also on line 2
"
    );
}

#[test]
fn a_mapping_works_on_a_workbook_too() {
    let wd = Workdir::new();
    wd.write(
        "map.toml",
        "[columns]\nVorname = \"First Name\"\nNachname = \"Last Name\"\n[user_name]\npattern = \"{initial}{last}@fabrikam.nl\"\n[display_name]\npattern = \"{last}, {first}\"\n",
    );
    xlsx(&wd, "in.xlsx", |wb| {
        let s = wb.add_worksheet();
        s.write(0, 0, "Vorname")?;
        s.write(0, 1, "Nachname")?;
        s.write(1, 0, "Jürgen")?;
        s.write(1, 1, "Weiß")?;
        s.write(2, 0, "Julia")?;
        s.write(2, 1, "Weiss")?;
        Ok(())
    });
    let (code, stderr) = import(&wd, &["in.xlsx", "--columns", "map.toml", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,jweiss@fabrikam.nl,\"Weiß, Jürgen\",created,<password>,,user_name_generated: jweiss@fabrikam.nl,
3,jweiss2@fabrikam.nl,\"Weiss, Julia\",created,<password>,,user_name_numbered: jweiss2@fabrikam.nl (jweiss@fabrikam.nl is taken on line 2),
"
    );
}

#[test]
fn unmapped_headers_are_still_matched_and_unknown_ones_fatal() {
    let wd = Workdir::new();
    wd.write("map.toml", MAP);
    wd.write(
        "in.csv",
        "Voornaam,Achternaam,Afdeling\nJan,Jansen,Verkoop\n",
    );
    assert_eq!(
        fatal(&wd, &["in.csv", "--columns", "map.toml"]),
        "onboard: error: in.csv: bad header: line 1, column 3: unknown column `Afdeling`; known columns are: User Name, First Name, Last Name, Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax, Alternate email address, Address, City, State or Province, ZIP or Postal Code, Country or Region, Usage Location, Licenses, Disabled Apps, Roles, Password, Block Sign In, Employee ID, Account Status. A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
    wd.write(
        "in.csv",
        "Voornaam,Achternaam,Departmnt\nJan,Jansen,Verkoop\n",
    );
    assert_eq!(
        fatal(&wd, &["in.csv", "--columns", "map.toml"]),
        "onboard: error: in.csv: bad header: line 1, column 3: unknown column `Departmnt`; did you mean `Department`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
    wd.write("in.csv", "Afdeling\nVerkoop\n");
    wd.write("map2.toml", "[columns]\nAfdeling = \"Department\"\n");
    assert_eq!(
        fatal(&wd, &["in.csv", "--columns", "map2.toml"]),
        "onboard: error: in.csv: bad header: line 1: required column `User Name` is missing"
    );
}

#[test]
fn bad_mapping_files_are_fatal_and_name_file_and_line() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Voornaam,Achternaam,Personeelsnummer\nJan,Jansen,1\n",
    );
    let cases = [
        (
            "[columns]\n\"Voornaam\" = First Name\n",
            "columns file map.toml: line 2: string values must be quoted, expected literal string",
        ),
        (
            "[columns]\n\"Voornaam\" = \"Voornaam\"\n",
            "columns file map.toml: line 2: `Voornaam` (for `Voornaam`) is not an onboard column; known columns are: User Name, First Name, Last Name, Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax, Alternate email address, Address, City, State or Province, ZIP or Postal Code, Country or Region, Usage Location, Licenses, Disabled Apps, Roles, Password, Block Sign In, Employee ID, Account Status; or use \"ignore\" to leave the column out",
        ),
        (
            "[columns]\nVoornaam = \"First Name\"\n\n[user_name]\npattern = \"{voornaam}.{last}@fabrikam.nl\"\n",
            "columns file map.toml: line 5: [user_name] unknown placeholder `{voornaam}` in pattern `{voornaam}.{last}@fabrikam.nl`; known: {first}, {last}, {initial}, {display}, {employee_id}",
        ),
        (
            "[columns]\nVoornaam = \"First Name\"\n[username]\npattern = \"{first}\"\n",
            "columns file map.toml: line 3: unknown field `username`, expected one of `columns`, `user_name`, `display_name`, `account_status`",
        ),
        (
            "[user_name]\npattern = \"{first}.{last}@example.org\"\n",
            "columns file map.toml: line 2: domain `example.org` of the [user_name] pattern is not a verified domain of Contoso (contoso.com, fabrikam.nl)",
        ),
        (
            "[columns]\nVoornaam = \"First Name\"\nAchternaam = \"Last Name\"\nPersoneelsnummer = \"ignore\"\n[user_name]\npattern = \"{first}.{last}.{employee_id}@fabrikam.nl\"\n",
            "in.csv: bad header: columns file map.toml: line 6: the [user_name] pattern uses {employee_id}, but the input has no Employee ID column",
        ),
    ];
    for (map, message) in cases {
        wd.write("map.toml", map);
        assert_eq!(
            fatal(&wd, &["in.csv", "--columns", "map.toml"]),
            format!("onboard: error: {message}"),
            "{map}"
        );
    }
    assert_eq!(
        fatal(&wd, &["in.csv", "--columns", "missing.toml"]),
        "onboard: error: cannot read columns file missing.toml: No such file or directory (os error 2)"
    );
}

/// A minimal OpenDocument spreadsheet (what LibreOffice saves) with one sheet of `rows`;
/// a cell is `("string", text)`, `("float", value)`, `("date", ISO date)` or
/// `("boolean", "true"|"false")`.
fn ods(wd: &Workdir, name: &str, rows: &[&[(&str, &str)]]) {
    use std::io::Write;
    let mut table = String::new();
    for row in rows {
        table.push_str("<table:table-row>");
        for (kind, value) in *row {
            let attribute = match *kind {
                "string" => String::new(),
                "date" => format!(r#" office:date-value="{value}""#),
                "boolean" => format!(r#" office:boolean-value="{value}""#),
                _ => format!(r#" office:value="{value}""#),
            };
            table.push_str(&format!(
                r#"<table:table-cell office:value-type="{kind}"{attribute}><text:p>{value}</text:p></table:table-cell>"#
            ));
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Blad1">{table}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let file = std::fs::File::create(wd.path(name)).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    for (path, text) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", content.as_str()),
        ("META-INF/manifest.xml", manifest),
    ] {
        zip.start_file(path, stored).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn an_ods_workbook_reads_too() {
    let wd = Workdir::new();
    ods(
        &wd,
        "in.ods",
        &[
            &[
                ("string", "User Name"),
                ("string", "Display Name"),
                ("string", "Employee ID"),
                ("string", "Department"),
                ("string", "Block Sign In"),
            ],
            &[
                ("string", "anna@contoso.com"),
                ("string", "Anna"),
                ("float", "1001"),
                ("date", "2026-03-01"),
                ("boolean", "true"),
            ],
        ],
    );
    let (code, stderr) = import(&wd, &["in.ods", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,anna@contoso.com,Anna,created,<password>,,,
"
    );
    assert_eq!(
        wd.query("SELECT employee_id, department, block_sign_in FROM users"),
        [["1001", "2026-03-01", "1"]]
    );
}

#[test]
fn hidden_characters_in_a_sheet_name_are_escaped_in_errors() {
    // A sheet name that would clear the terminal is shown as <U+001B>[2J.
    let wd = Workdir::new();
    let mut parts = package::workbook_parts("Users\u{1b}[2J");
    parts.push((
        "xl/worksheets/sheet1.xml",
        Box::new(|w: &mut dyn std::io::Write| {
            let row = package::cell("A1", "User Name");
            write!(
                w,
                "{}<row r=\"1\">{row}</row>{}",
                package::SHEET_START,
                package::SHEET_END
            )
            .unwrap()
        }),
    ));
    package::package(&wd, "in.xlsx", parts);
    assert_eq!(
        fatal(&wd, &["in.xlsx", "--sheet", "Staff"]),
        "onboard: error: in.xlsx: there is no sheet `Staff`; the sheets are `Users<U+001B>[2J`"
    );
}
