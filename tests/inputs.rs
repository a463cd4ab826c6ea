//! The input formats of docs/input.md: Excel dialects, encodings, the Entra template, headers.

use crate::workdir::{csv, Workdir};

fn samples(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn entra_template_with_version_line_and_example_row() {
    let wd = Workdir::new();
    wd.write(
        "entra.csv",
        "version:v1.0,,,,\n\
         Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,Block sign in (Yes/No) [accountEnabled] Required,Usage location [usageLocation]\n\
         Example: Chris Green,chris@contoso.com,Password1234,No,US\n\
         Noël Dekker,noel@fabrikam.nl,,No,NL\n\
         Example: in the middle,x@contoso.com,,No,\n\
         Fleur Bos,fleur@fabrikam.nl,Gr@chten-17x,Yes,\n",
    );
    assert_eq!(wd.import("entra.csv", "out.csv", &[]), 0);
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
4,noel@fabrikam.nl,Noël Dekker,created,<password>,,,
6,fleur@fabrikam.nl,Fleur Bos,created,<password>,,,
"
    );
    assert_eq!(wd.passwords("out.csv")[1], "Gr@chten-17x");
    assert_eq!(
        wd.query("SELECT user_name, block_sign_in FROM users ORDER BY id"),
        [["noel@fabrikam.nl", "0"], ["fleur@fabrikam.nl", "1"]]
    );
}

#[test]
fn the_entra_sample_imports() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    assert_eq!(wd.import(&samples("entra.csv"), "out.csv", &[]), 0);
    let lines = wd.column("out.csv", 0);
    assert_eq!(lines, ["4", "5", "6", "7", "8", "9", "10", "11"]);
}

#[test]
fn dutch_excel_semicolons_and_windows_1252() {
    let wd = Workdir::new();
    std::fs::copy(samples("tenant.toml"), wd.path("tenant.toml")).unwrap();
    let out = wd
        .onboard(&["import", &samples("afdeling-nl.csv"), "-o", "out.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("input is not valid UTF-8 and has no BOM; reading it as Windows-1252"));
    let bytes = wd.read_bytes("out.csv");
    assert!(bytes.starts_with("\u{feff}Line;User Name;Display Name;Status;".as_bytes()));
    let results = wd.results("out.csv");
    assert!(
        results.contains("2;zoe.vandijk@fabrikam.nl;Zoë van Dijk;created;<password>;SPE_E3;;"),
        "{results}"
    );
    assert!(results.contains(";Sofie D’Hondt;created;"), "{results}");
    assert_eq!(results.lines().count(), 11);
}

#[test]
fn semicolons_with_bom_come_back_with_bom_and_semicolons() {
    let wd = Workdir::new();
    let text = "\u{feff}User Name;Display Name;City\r\nanna@contoso.com;Anna Smit;\"Den Haag; centrum\"\r\n";
    wd.write("in.csv", text);
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
    assert_eq!(
        wd.results("out.csv"),
        "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
         2;anna@contoso.com;Anna Smit;created;<password>;;;\n"
    );
    assert!(wd.read_bytes("out.csv").starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(wd.query("SELECT city FROM users"), [["Den Haag; centrum"]]);
}

#[test]
fn plain_utf8_results_have_no_bom_and_tabs_work() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "User Name\tDisplay Name\nanna@contoso.com\tAnna\n",
    );
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
    let bytes = wd.read_bytes("out.csv");
    assert!(bytes.starts_with(b"Line\tUser Name\t"));
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let b = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend_from_slice(&b);
    }
    out
}

#[test]
fn utf16_with_bom_both_byte_orders() {
    for big_endian in [false, true] {
        let wd = Workdir::new();
        let text = "User Name\tDisplay Name\r\njurgen@contoso.com\tJürgen Müller\r\n";
        wd.write_bytes("in.csv", &utf16(text, big_endian));
        assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
        assert_eq!(
            wd.results("out.csv"),
            "Line\tUser Name\tDisplay Name\tStatus\tPassword\tLicenses\tWarnings\tErrors\n\
             2\tjurgen@contoso.com\tJürgen Müller\tcreated\t<password>\t\t\t\n"
        );
        assert!(wd.read_bytes("out.csv").starts_with(b"\xEF\xBB\xBF"));
    }
}

#[test]
fn quoted_fields_with_delimiters_and_newlines_keep_line_numbers() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "User Name,Display Name,Address\n\
         anna@contoso.com,\"Smit, Anna\",\"Keizersgracht 1\nAmsterdam\"\n\
         \n\
         bob@contoso.com,Bob,\"a \"\"quoted\"\" street\"\n",
    );
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
    assert_eq!(
        wd.results("out.csv"),
        "\
Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors
2,anna@contoso.com,\"Smit, Anna\",created,<password>,,,
5,bob@contoso.com,Bob,created,<password>,,,
"
    );
    assert_eq!(
        wd.query("SELECT address FROM users ORDER BY id"),
        [["Keizersgracht 1\nAmsterdam"], ["a \"quoted\" street"]]
    );
}

#[test]
fn cr_only_line_endings() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "User Name,Display Name\ranna@contoso.com,Anna\rbob@contoso.com,Bob\r",
    );
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
    assert_eq!(wd.column("out.csv", 0), ["2", "3"]);
}

#[test]
fn blank_rows_are_ignored() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        &csv(&[
            ",,,,,,,,,,,",
            "anna@contoso.com,,,Anna,,,,,,,,",
            ",,,,,,,,,,,",
        ]),
    );
    assert_eq!(wd.import("in.csv", "out.csv", &[]), 0);
    assert_eq!(wd.column("out.csv", 0), ["3"]);
}

fn header_error(text: &str) -> String {
    let wd = Workdir::new();
    wd.write("in.csv", text);
    let out = wd
        .onboard(&["import", "in.csv", "-o", "out.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(!wd.exists("out.csv"));
    assert!(!wd.exists("onboard.db"));
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

#[test]
fn bad_headers_are_fatal_and_name_file_line_and_column() {
    assert_eq!(
        header_error("User Name,Display Name,Job Titel\na@contoso.com,A,x\n"),
        "onboard: error: in.csv: bad header: line 1, column 3: unknown column `Job Titel`; did you mean `Job Title`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
    assert_eq!(
        header_error("User Name,First Name\na@contoso.com,A\n"),
        "onboard: error: in.csv: bad header: line 1: required column `Display Name` is missing"
    );
    assert_eq!(
        header_error("User Name,Display Name,user name\n"),
        "onboard: error: in.csv: bad header: line 1, column 3: column `user name` is the same field (User Name) as column 1"
    );
    assert_eq!(
        header_error("version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required,Colour [favouriteColour]\n"),
        "onboard: error: in.csv: bad header: line 2, column 3: unknown column `Colour [favouriteColour]`; known columns are: User Name, First Name, Last Name, Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax, Alternate email address, Address, City, State or Province, ZIP or Postal Code, Country or Region, Usage Location, Licenses, Disabled Apps, Roles, Password, Block Sign In, Employee ID, Account Status. A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
    assert_eq!(
        header_error(""),
        "onboard: error: in.csv: the file is empty (no header line)"
    );
}

#[test]
fn invalid_utf8_after_the_first_megabyte_reads_the_whole_file_as_windows_1252() {
    let wd = Workdir::new();
    let mut bytes = b"User Name,Display Name,City\r\n".to_vec();
    let mut n = 0;
    while bytes.len() < (1 << 20) + 1000 {
        n += 1;
        bytes.extend_from_slice(format!("u{n}@contoso.com,User {n},Den Haag\r\n").as_bytes());
    }
    // "Zoë" as Windows-1252: one byte 0xEB, not UTF-8.
    bytes.extend_from_slice(b"zoe@contoso.com,Zo\xEB,Delft\r\n");
    wd.write_bytes("in.csv", &bytes);
    let out = wd
        .onboard(&["import", "in.csv", "-o", "out.csv", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("input is not valid UTF-8 and has no BOM; reading it as Windows-1252"));
    let names = wd.column("out.csv", 2);
    assert_eq!(
        names.len(),
        n + 1,
        "every row once, none from the first read"
    );
    assert_eq!(names.last().unwrap(), "Zoë");
    assert!(
        wd.read_bytes("out.csv").starts_with(b"\xEF\xBB\xBF"),
        "BOM: input was not UTF-8"
    );
}

/// The summary's `input_sha256` is the SHA-256 of the file's bytes, however it was read:
/// UTF-8, UTF-16, read again as Windows-1252 after invalid UTF-8 past the first megabyte,
/// or a workbook.
#[test]
fn the_input_hash_is_the_files_sha256_in_every_encoding() {
    use sha2::{Digest, Sha256};
    let wd = Workdir::new();
    let mut late_1252 = b"User Name,Display Name\r\n".to_vec();
    let mut n = 0;
    while late_1252.len() < (1 << 20) + 5000 {
        n += 1;
        late_1252.extend_from_slice(format!("u{n}@contoso.com,User {n}\r\n").as_bytes());
    }
    late_1252.extend_from_slice(b"zoe@contoso.com,Zo\xEB\r\n");
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        (
            "plain.csv",
            b"User Name,Display Name\njan@contoso.com,Jan\n".to_vec(),
        ),
        (
            "utf16.csv",
            utf16("User Name;Display Name\r\nzoe@contoso.com;Zoë\r\n", false),
        ),
        ("late-1252.csv", late_1252),
        ("users.xlsx", std::fs::read(samples("users.xlsx")).unwrap()),
    ];
    for (name, bytes) in inputs {
        wd.write_bytes(name, &bytes);
        let out = wd
            .onboard(&[
                "import",
                name,
                "-o",
                "out.csv",
                "--force",
                "--dry-run",
                "-q",
            ])
            .args(["--summary", "summary.json"])
            .output()
            .unwrap();
        assert!(out.status.code().unwrap() <= 1, "{name}: {out:?}");
        let summary: serde_json::Value = serde_json::from_str(&wd.read("summary.json")).unwrap();
        let expected: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(summary["input_sha256"], expected.as_str(), "{name}");
    }
}
