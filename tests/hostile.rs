//! Hostile inputs (issue "Reliability and security"): files that are empty, binary, cut
//! off, huge, ragged, in the wrong encoding or dialect, full of formulas or look-alike
//! characters, and broken tenant files. Each runs through the real binary and must end
//! the way the README and docs/ say:
//!
//! - never a panic (stderr never says "panicked") and never a hang (each run has a
//!   time limit);
//! - a fatal problem exits 2 with one `onboard: error: …` line (asserted whole) that
//!   names the file (and the line and column where there is one) and writes nothing: no
//!   result file, no staged result file, no user and no run in the directory, and no
//!   directory file at all when the problem is found before the directory is opened;
//! - a bad row fails alone: exit 1, the other rows are created, the bad row is `failed`
//!   with its error code.
//!
//! The fixtures are generated here; the big ones (10 MB cell, 100,000 columns, 100,000
//! rows) only exist in the test's temporary folder. Where the spec is silent, the
//! expected outcome is what an admin would expect, and a comment says so.

use std::process::Output;
use std::time::Duration;

use crate::workdir::Workdir;

/// Much more than any case needs in a debug build; a run that takes longer has hung.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// `onboard import INPUT -o out.csv` in `wd`, with the checks every case shares: it
/// ended by itself, with an exit code, without a panic.
fn run(wd: &Workdir, input: &str, args: &[&str]) -> Output {
    let mut all = vec!["import", input, "-o", "out.csv"];
    all.extend_from_slice(args);
    let out = wd
        .onboard(&all)
        .timeout(TIME_LIMIT)
        .output()
        .expect("run onboard");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "onboard panicked:\n{stderr}");
    assert!(
        out.status.code().is_some(),
        "onboard did not finish within {TIME_LIMIT:?} (or was killed):\n{stderr}"
    );
    out
}

/// Runs a case that must be fatal before the directory is opened: exit 2, nothing
/// written, not even a directory file. Returns the error line.
fn fatal(wd: &Workdir, input: &str) -> String {
    let error = fatal_during_read(wd, input);
    assert!(!wd.exists("onboard.db"), "the directory file was created");
    error
}

/// Runs a case that must be fatal, maybe only after the directory was opened: exit 2,
/// no result file (nor a staged one), no user and no run in the directory. Returns
/// stderr's last line, which is the error (a warning may come before it).
fn fatal_during_read(wd: &Workdir, input: &str) -> String {
    let out = run(wd, input, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{input}:\n{stderr}");
    assert_eq!(
        stderr.matches("onboard: error:").count(),
        1,
        "one error line:\n{stderr}"
    );
    assert!(!wd.exists("out.csv"), "a result file was written");
    let staged: Vec<_> = std::fs::read_dir(wd.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(staged.is_empty(), "staged result files left: {staged:?}");
    assert_eq!(wd.user_count(), 0, "users were written");
    if wd.exists("onboard.db") {
        let runs = wd.query("SELECT count(*) FROM sqlite_master WHERE name = 'runs'");
        if runs[0][0] == "1" {
            assert_eq!(
                wd.query("SELECT count(*) FROM runs")[0][0],
                "0",
                "a run was recorded"
            );
        }
    }
    stderr.lines().last().unwrap_or("").to_string()
}

/// Writes `bytes` as `in.csv`, imports it and checks the exit code, and that the
/// directory holds exactly the users the result file says were created; returns the
/// result file with passwords masked (see [`Workdir::results`]).
fn import(wd: &Workdir, bytes: impl AsRef<[u8]>, exit: i32) -> String {
    wd.write_bytes("in.csv", bytes.as_ref());
    let out = run(wd, "in.csv", &[]);
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses = wd.column("out.csv", 3);
    let created = statuses.iter().filter(|s| *s == "created").count();
    assert_eq!(wd.user_count(), created, "users in the directory");
    if exit == 1 {
        assert!(statuses.iter().any(|s| s == "failed"), "{statuses:?}");
    }
    wd.results("out.csv")
}

/// The error of a fatal input given as bytes.
fn fatal_input(bytes: impl AsRef<[u8]>) -> String {
    let wd = Workdir::new();
    wd.write_bytes("in.csv", bytes.as_ref());
    fatal(&wd, "in.csv")
}

/// Lines joined with CRLF, as Excel writes them, with a final CRLF.
fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// Deterministic bytes that look like nothing (xorshift), `n` of them.
fn junk(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

const RESULT_HEADER: &str =
    "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n";

// --- nothing to read ------------------------------------------------------------------

#[test]
fn empty_file() {
    assert_eq!(
        fatal_input(""),
        "onboard: error: in.csv: the file is empty (no header line)"
    );
}

#[test]
fn bom_only() {
    assert_eq!(
        fatal_input(b"\xEF\xBB\xBF"),
        "onboard: error: in.csv: the file is empty (no header line)"
    );
}

#[test]
fn only_blank_lines() {
    assert_eq!(
        fatal_input("\r\n\r\n   \r\n\t\n"),
        "onboard: error: in.csv: the file is empty (no header line)"
    );
}

#[test]
fn header_only() {
    // The spec is silent. A header without rows is an export with nobody in it: nothing
    // to do is not an error (exit 0), and the result file says so with its header alone.
    let wd = Workdir::new();
    assert_eq!(
        import(&wd, crlf(&["User Name,Display Name,Licenses"]), 0),
        RESULT_HEADER
    );
    assert_eq!(wd.user_count(), 0);
}

// --- not a CSV file -------------------------------------------------------------------

#[test]
fn binary_junk() {
    let mut bytes = b"\x00\xFF\x13\x37".to_vec();
    bytes.extend(junk(64 << 10));
    assert_eq!(
        fatal_input(bytes),
        "onboard: error: in.csv, line 1: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)"
    );
}

#[test]
fn an_excel_workbook_instead_of_csv() {
    // An .xlsx is a ZIP archive: `PK\x03\x04` and NUL bytes before any line break.
    let mut bytes = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00".to_vec();
    bytes.extend(junk(4096));
    assert_eq!(
        fatal_input(bytes),
        "onboard: error: in.csv, line 1: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)"
    );
}

#[test]
fn utf16_without_bom() {
    for big_endian in [false, true] {
        let text = "User Name\tDisplay Name\r\nanna@contoso.com\tAnna\r\n";
        assert_eq!(
            fatal_input(utf16(text, big_endian)),
            "onboard: error: in.csv, line 1: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)"
        );
    }
}

#[test]
fn the_directory_file_as_input() {
    // `onboard import onboard.db`: a SQLite file is binary; refused before the directory
    // is opened, so the directory is not touched either.
    let wd = Workdir::new();
    wd.write(
        "users.csv",
        &crlf(&["User Name,Display Name", "anna@contoso.com,Anna"]),
    );
    assert_eq!(run(&wd, "users.csv", &[]).status.code(), Some(0));
    std::fs::remove_file(wd.path("out.csv")).unwrap();
    let before = wd.read_bytes("onboard.db");
    let out = run(&wd, "onboard.db", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().last().unwrap(),
        "onboard: error: onboard.db, line 1: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)"
    );
    assert!(!wd.exists("out.csv"));
    assert_eq!(wd.read_bytes("onboard.db"), before);
}

#[test]
fn a_folder_as_input() {
    let wd = Workdir::new();
    std::fs::create_dir(wd.path("in.csv")).unwrap();
    assert_eq!(
        fatal(&wd, "in.csv"),
        "onboard: error: input in.csv is a folder, not a CSV file"
    );
}

#[test]
fn a_missing_file() {
    let wd = Workdir::new();
    assert_eq!(
        fatal(&wd, "nope.csv"),
        "onboard: error: cannot read input file nope.csv: No such file or directory (os error 2)"
    );
}

#[test]
fn a_symlink_loop() {
    let wd = Workdir::new();
    std::os::unix::fs::symlink("b.csv", wd.path("a.csv")).unwrap();
    std::os::unix::fs::symlink("a.csv", wd.path("b.csv")).unwrap();
    let error = fatal(&wd, "a.csv");
    assert!(
        error.starts_with(
            "onboard: error: cannot read input file a.csv: Too many levels of symbolic links"
        ),
        "{error}"
    );
}

#[test]
fn a_named_pipe() {
    // `onboard import <(curl …)` or a FIFO: the input is read more than once, so a pipe
    // would hang the second read. Refused up front (the spec is silent).
    let wd = Workdir::new();
    let made = std::process::Command::new("mkfifo")
        .arg(wd.path("in.csv"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot make a named pipe with mkfifo");
        return;
    }
    assert_eq!(
        fatal(&wd, "in.csv"),
        "onboard: error: input in.csv is not a regular file (a pipe, socket or device); save it to a file first"
    );
}

#[test]
fn a_device() {
    assert_eq!(
        fatal(&Workdir::new(), "/dev/null"),
        "onboard: error: input /dev/null is not a regular file (a pipe, socket or device); save it to a file first"
    );
}

#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        &crlf(&["User Name,Display Name", "anna@contoso.com,Anna"]),
    );
    std::fs::set_permissions(wd.path("in.csv"), std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(wd.path("in.csv")).is_ok() {
        eprintln!("skipped: running as root, who can read a file with mode 000");
        return;
    }
    assert_eq!(
        fatal(&wd, "in.csv"),
        "onboard: error: cannot read input file in.csv: Permission denied (os error 13)"
    );
}

// --- broken structure -----------------------------------------------------------------

#[test]
fn ragged_rows() {
    // docs/rules.md: a record with fewer fields is read with its last cells empty and the
    // warning short_row; extra fields that are all empty are Excel's padding; an extra
    // field with something in it, or a record of one field under a wider header (another
    // delimiter), fails alone with malformed_row.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,City",
            "anna@contoso.com,Anna,Delft",
            "bob@contoso.com,Bob",
            "carl@contoso.com,Carl,Ede,extra",
            "dirk@contoso.com,Dirk,Ede,,, ,",
            "eve@contoso.com;Eve;Ede",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,created,<password>,,,
3,bob@contoso.com,Bob,created,<password>,,\"short_row: the record has 2 fields, the header has 3; the missing cells are read as empty\",
4,carl@contoso.com,Carl,failed,,,,\"malformed_row: the record has 4 fields, the header has 3\"
5,dirk@contoso.com,Dirk,created,<password>,,,
6,eve@contoso.com;Eve;Ede,,failed,,,,\"malformed_row: the record has 1 field, the header has 3\"
"
        )
    );
    assert_eq!(wd.user_count(), 3);
}

#[test]
fn a_10_mb_field() {
    // docs/input.md: a record may be at most 1 MiB; a longer one is no user's row, and
    // holding it (and the next ones like it) would fill the memory. Fatal, naming the
    // line, and quickly: the header sniffing once scanned the first lines again for every
    // 64 KiB read, which took 10 s for this file in a debug build.
    let wd = Workdir::new();
    let mut text = String::from("User Name,Display Name,City\r\nanna@contoso.com,Anna,");
    text.push_str(&"x".repeat(10_000_000));
    text.push_str("\r\nbob@contoso.com,Bob,Ede\r\n");
    wd.write("in.csv", &text);
    let started = std::time::Instant::now();
    assert_eq!(
        fatal_during_read(&wd, "in.csv"),
        "onboard: error: in.csv, line 2: the record that starts here is longer than 1 MiB; no user's row is that long (is this the right file?)"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_unbalanced_quote_at_the_end() {
    // The spec is silent. The csv reader takes everything after a quote that is never
    // closed as one cell: here only the last row, but the same stray quote higher up
    // would swallow every row after it without a word. The file is broken (cut off, or
    // a quote typed by hand), so it is fatal, naming where the quote opens.
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "User Name,Display Name\r\nanna@contoso.com,Anna\r\nbob@contoso.com,\"Bob\r\n",
    );
    assert_eq!(
        fatal_during_read(&wd, "in.csv"),
        "onboard: error: in.csv, line 3, column 2: the quote that opens this cell is never closed, so the rest of the file would be read as one cell"
    );
}

#[test]
fn a_stray_quote_in_the_middle() {
    let wd = Workdir::new();
    let mut text = crlf(&[
        "User Name,Display Name,Address",
        "anna@contoso.com,Anna,\"Dorpsstraat 1\r\nDelft\"",
        "bob@contoso.com,Bob,\"Kerkstraat 2",
    ]);
    for i in 0..5000 {
        text.push_str(&format!("user{i}@contoso.com,User {i},Laan {i}\r\n"));
    }
    wd.write("in.csv", &text);
    assert_eq!(
        fatal_during_read(&wd, "in.csv"),
        "onboard: error: in.csv, line 4, column 3: the quote that opens this cell is never closed, so the rest of the file would be read as one cell"
    );
}

#[test]
fn a_stray_quote_closed_by_a_later_one() {
    // A stray quote that a later quote closes joins the lines between into one record:
    // it fails as malformed_row (the rows it swallowed get no result row of their own),
    // and the message says where it runs and why.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Address",
            "anna@contoso.com,Anna,\"Kerkstraat 2",
            "bob@contoso.com,Bob,\"Laan 1, Ede\"",
            "carl@contoso.com,Carl,Dorpsstraat 3",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,\"malformed_row: the record has 4 fields, the header has 3; it runs from line 2 to line 3 in a quoted cell: is a quote missing?\"
4,carl@contoso.com,Carl,created,<password>,,,
"
        )
    );
}

#[test]
fn an_unbalanced_quote_in_the_header() {
    assert_eq!(
        fatal_input("\"User Name,Display Name\rbob@contoso.com,Bob\r"),
        "onboard: error: in.csv, line 1, column 1: the quote that opens this cell is never closed, so the rest of the file would be read as one cell"
    );
}

#[test]
fn a_row_with_10000_fields() {
    let wd = Workdir::new();
    // Extra fields that are all empty are Excel's padding (see ragged_rows); one with
    // something in it makes the row malformed.
    let wide = format!("anna@contoso.com,Anna{}x", ",".repeat(9998));
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,City",
            &wide,
            "bob@contoso.com,Bob,Ede",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,\"malformed_row: the record has 10000 fields, the header has 3\"
3,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
    assert_eq!(wd.user_count(), 1);
}

#[test]
fn a_header_of_100000_columns() {
    // 100,000 columns that all name the same field: the second one is the error.
    let header = format!("User Name,Display Name{}", ",City".repeat(100_000));
    assert_eq!(
        fatal_input(crlf(&[&header, "anna@contoso.com,Anna"])),
        "onboard: error: in.csv: bad header: line 1, column 4: column `City` is the same field (City) as column 3"
    );
}

#[test]
fn duplicate_headers() {
    // The same field under its Microsoft 365 name and its Entra name.
    assert_eq!(
        fatal_input(crlf(&[
            "User Name,Display Name,User name [userPrincipalName] Required",
            "anna@contoso.com,Anna,anna@contoso.com",
        ])),
        "onboard: error: in.csv: bad header: line 1, column 3: column `User name [userPrincipalName] Required` is the same field (User Name) as column 1"
    );
}

#[test]
fn unknown_headers() {
    // Named with the header an admin means: the field of an Entra property (`Surname`),
    // a header holding the name (`Mobile`), else the closest spelling.
    for (unknown, meant) in [
        ("Employee Number", "Employee ID"),
        ("Given Name", "First Name"),
        ("Email", "Alternate email address"),
        ("Phone", "Office Phone"),
    ] {
        assert_eq!(
            fatal_input(crlf(&[
                &format!("User Name,Display Name,{unknown},Manager"),
                "anna@contoso.com,Anna,x,bob",
            ])),
            format!("onboard: error: in.csv: bad header: line 1, column 3: unknown column `{unknown}`; did you mean `{meant}`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows")
        );
    }
}

#[test]
fn a_header_of_only_delimiters() {
    assert_eq!(
        fatal_input(crlf(&[",,,", "anna@contoso.com,Anna,,"])),
        "onboard: error: in.csv: bad header: line 1: the header line has no column names"
    );
}

#[test]
fn a_header_cell_of_a_megabyte() {
    // Named in 80 characters, and quickly: the closest-header search compared the whole
    // cell with every known header (3 s for 100 KB in a debug build, minutes for 1 MB).
    let wd = Workdir::new();
    let header = format!("User Name,Display Name,{}", "x".repeat(1 << 20));
    wd.write("in.csv", &crlf(&[&header, "anna@contoso.com,Anna,x"]));
    let started = std::time::Instant::now();
    let error = fatal(&wd, "in.csv");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        error,
        format!(
            "onboard: error: in.csv: bad header: line 1, column 3: unknown column `{}…`; known columns are: User Name, First Name, Last Name, Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax, Alternate email address, Address, City, State or Province, ZIP or Postal Code, Country or Region, Usage Location, Licenses, Disabled Apps, Roles, Password, Block Sign In, Employee ID, Account Status. A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows",
            "x".repeat(80)
        )
    );
}

#[test]
fn invisible_characters_in_a_header() {
    // A zero-width space makes `User Name` another column; the message shows it.
    assert_eq!(
        fatal_input(crlf(&["User\u{200B} Name,Display Name", "anna@contoso.com,Anna"])),
        "onboard: error: in.csv: bad header: line 1, column 1: unknown column `User<U+200B> Name`; did you mean `User Name`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
}

#[test]
fn quotes_inside_unquoted_fields_are_kept() {
    // As Excel reads them: a quote that does not start a cell is an ordinary character.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Job Title",
            r#"anna@contoso.com,Anna "the boss" Smit,5" floppy tester"#,
        ]),
        0,
    );
    assert_eq!(
        results,
        format!("{RESULT_HEADER}2,anna@contoso.com,\"Anna \"\"the boss\"\" Smit\",created,<password>,,,\n")
    );
    assert_eq!(
        wd.query("SELECT display_name, job_title FROM users"),
        [[r#"Anna "the boss" Smit"#, r#"5" floppy tester"#]]
    );
}

#[test]
fn a_megabyte_line_of_delimiters() {
    // A row of nothing but empty cells is ignored (README), however wide it is.
    let wd = Workdir::new();
    let delimiters = ",".repeat(1 << 20);
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name",
            "anna@contoso.com,Anna",
            &delimiters,
            "bob@contoso.com,Bob",
        ]),
        0,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,created,<password>,,,
4,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
}

#[test]
fn trailing_empty_lines() {
    // Excel leaves empty rows (`,,`) after deleted ones; editors leave blank lines.
    let wd = Workdir::new();
    let results = import(
        &wd,
        "User Name,Display Name,City\r\nanna@contoso.com,Anna,Delft\r\n\r\n,,\r\n  ,\t, \r\n\n\n\r\n",
        0,
    );
    assert_eq!(
        results,
        format!("{RESULT_HEADER}2,anna@contoso.com,Anna,created,<password>,,,\n")
    );
}

#[test]
fn a_hundred_thousand_rows_of_empty_cells() {
    let wd = Workdir::new();
    let mut text = String::from("User Name,Display Name,City,Department,Fax\r\n");
    text.push_str(&",,,,\r\n".repeat(100_000));
    text.push_str("anna@contoso.com,Anna,,,\r\n");
    assert_eq!(
        import(&wd, text, 0),
        format!("{RESULT_HEADER}100002,anna@contoso.com,Anna,created,<password>,,,\n")
    );
}

#[test]
fn cr_only_line_endings() {
    // Old Mac Excel: CR alone ends a line, also a blank one; a CR inside quotes stays in
    // the cell (as a line break) and line numbers count it.
    let wd = Workdir::new();
    let results = import(
        &wd,
        "User Name,Display Name,Address\ranna@contoso.com,Anna,\"Dorpsstraat 1\rDelft\"\r\rbob@contoso.com,Bob,\r",
        0,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,created,<password>,,,
5,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
    assert_eq!(
        wd.query("SELECT address FROM users ORDER BY id"),
        [["Dorpsstraat 1\nDelft"], ["NULL"]]
    );
}

// --- encodings and dialects -----------------------------------------------------------

#[test]
fn nul_bytes_in_a_cell() {
    let wd = Workdir::new();
    let results = import(
        &wd,
        "User Name,Display Name\r\nanna@contoso.com,An\0na\r\nbob@contoso.com,Bob\r\n",
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,An<U+0000>na,failed,,,,invalid_value: Display Name contains the control character U+0000
3,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
    assert_eq!(wd.user_count(), 1);
}

#[test]
fn invalid_utf8_in_the_middle_of_a_utf8_file() {
    // docs/input.md: not valid UTF-8 and no BOM → the whole file is read as Windows-1252, with
    // a warning naming the file. So the UTF-8 `ü` of line 2 becomes `Ã¼`, and line 3's
    // Windows-1252 `ö` is right; the result file gets a BOM.
    let wd = Workdir::new();
    wd.write_bytes(
        "in.csv",
        b"User Name,Display Name,City\r\nanna@contoso.com,Anna,M\xC3\xBCnchen\r\nbob@contoso.com,Bob,K\xF6ln\r\n",
    );
    let out = run(&wd, "in.csv", &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "input is not valid UTF-8 and has no BOM; reading it as Windows-1252 file=in.csv"
        ),
        "{stderr}"
    );
    assert!(wd.read_bytes("out.csv").starts_with(b"\xEF\xBB\xBFLine,"));
    assert_eq!(
        wd.query("SELECT city FROM users ORDER BY id"),
        [["MÃ¼nchen"], ["Köln"]]
    );
}

#[test]
fn invalid_utf8_in_a_file_with_a_utf8_bom() {
    // The spec is silent: the BOM says UTF-8, so the file is not read as Windows-1252;
    // a row with bytes that are not UTF-8 fails alone instead of keeping U+FFFD.
    let wd = Workdir::new();
    let results = import(
        &wd,
        b"\xEF\xBB\xBFUser Name,Display Name,City\r\nanna@contoso.com,Anna,K\xF6ln\r\nbob@contoso.com,Bob,M\xC3\xBCnchen\r\n",
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,invalid_value: City has bytes that are not text in the file's encoding (read as `K\u{FFFD}ln`)
3,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
    assert_eq!(wd.query("SELECT city FROM users"), [["München"]]);
    // In the header, the column is named as read.
    assert_eq!(
        fatal_input(b"\xEF\xBB\xBFUser Name,Display Name,Cit\xFF\r\n"),
        "onboard: error: in.csv: bad header: line 1, column 3: unknown column `Cit\u{FFFD}`; did you mean `City`? A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
}

#[test]
fn a_broken_utf16_pair() {
    // A lone surrogate in a UTF-16 file decodes to U+FFFD: that row fails alone.
    let wd = Workdir::new();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16(
        "User Name\tDisplay Name\r\nanna@contoso.com\tAn",
        false,
    ));
    bytes.extend([0x00, 0xD8]);
    bytes.extend(utf16("na\r\nbob@contoso.com\tBob\r\n", false));
    assert_eq!(
        import(&wd, bytes, 1),
        "Line\tUser Name\tDisplay Name\tStatus\tPassword\tLicenses\tWarnings\tErrors\n\
         2\tanna@contoso.com\tAn\u{FFFD}na\tfailed\t\t\t\tinvalid_value: Display Name has bytes that are not text in the file's encoding (read as `An\u{FFFD}na`)\n\
         3\tbob@contoso.com\tBob\tcreated\t<password>\t\t\t\n"
    );
}

#[test]
fn a_semicolon_header_with_comma_rows() {
    // The delimiter is the header's (docs/input.md); a row in another dialect is one field
    // wide, so it fails as malformed_row, and the rows in the header's dialect go on.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name;Display Name;City",
            "anna@contoso.com,Anna,Delft",
            "bob@contoso.com;Bob;Ede",
        ]),
        1,
    );
    assert_eq!(
        results,
        "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
         2;anna@contoso.com,Anna,Delft;;failed;;;;malformed_row: the record has 1 field, the header has 3\n\
         3;bob@contoso.com;Bob;created;<password>;;;\n"
    );
}

#[test]
fn nbsp_padded_cells() {
    // Excel and web forms pad with no-break spaces; cells are trimmed of every space.
    let wd = Workdir::new();
    let nb = '\u{A0}';
    let row =
        format!("{nb}anna@contoso.com{nb},{nb}Anna{nb},{nb}SPE_E3{nb},{nb}de{nb},{nb}yes{nb}");
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Licenses,Usage Location,Block Sign In",
            &row,
        ]),
        0,
    );
    assert_eq!(
        results,
        format!("{RESULT_HEADER}2,anna@contoso.com,Anna,created,<password>,SPE_E3,,\n")
    );
    assert_eq!(
        wd.query("SELECT user_name, display_name, usage_location, block_sign_in FROM users"),
        [["anna@contoso.com", "Anna", "DE", "1"]]
    );
}

#[test]
fn excel_sep_line() {
    // Excel writes and reads a first line `sep=;` that names the delimiter; the header
    // follows it on line 2 (the spec is silent; Excel users expect it to work).
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "sep=;",
            "User Name;Display Name;City",
            "anna@contoso.com;Anna;Den Haag, centrum",
        ]),
        0,
    );
    assert_eq!(
        results,
        "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
         3;anna@contoso.com;Anna;created;<password>;;;\n"
    );
    assert_eq!(wd.query("SELECT city FROM users"), [["Den Haag, centrum"]]);
}

#[test]
fn excel_sep_line_with_another_delimiter() {
    // Only , ; and tab are delimiters (docs/input.md): `sep=|` is not understood, so it is
    // read as the header.
    assert_eq!(
        fatal_input(crlf(&["sep=|", "User Name|Display Name", "anna@contoso.com|Anna"])),
        "onboard: error: in.csv: bad header: line 1, column 1: unknown column `sep=|`; known columns are: User Name, First Name, Last Name, Display Name, Job Title, Department, Office Number, Office Phone, Mobile Phone, Fax, Alternate email address, Address, City, State or Province, ZIP or Postal Code, Country or Region, Usage Location, Licenses, Disabled Apps, Roles, Password, Block Sign In, Employee ID, Account Status. A file with headers of its own (another language, an HR export) imports with --columns FILE; `onboard template` prints the headers onboard knows"
    );
}

#[test]
fn excel_sep_line_and_nothing_else() {
    assert_eq!(
        fatal_input("sep=;\r\n\r\n"),
        "onboard: error: in.csv, line 1: the `sep=` line is not followed by a header line"
    );
}

#[test]
fn blank_lines_before_the_header() {
    // Blank lines are ignored everywhere (README), also before the header, whatever the
    // line ends; the delimiter is still found from the header, and lines are counted.
    for (text, results) in [
        (
            "\r\n  \r\nUser Name;Display Name\r\n\r\nanna@contoso.com;Anna\r\n",
            "Line;User Name;Display Name;Status;Password;Licenses;Warnings;Errors\n\
             5;anna@contoso.com;Anna;created;<password>;;;\n",
        ),
        (
            "\n\nUser Name,Display Name\nanna@contoso.com,Anna\n",
            "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n\
             4,anna@contoso.com,Anna,created,<password>,,,\n",
        ),
        (
            "\r\rUser Name\tDisplay Name\ranna@contoso.com\tAnna\r",
            "Line\tUser Name\tDisplay Name\tStatus\tPassword\tLicenses\tWarnings\tErrors\n\
             4\tanna@contoso.com\tAnna\tcreated\t<password>\t\t\t\n",
        ),
    ] {
        assert_eq!(import(&Workdir::new(), text, 0), results, "{text:?}");
    }
}

// --- Entra template -------------------------------------------------------------------

#[test]
fn example_rows_in_the_middle_of_an_entra_file() {
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "version:v1.0,,",
            "Name [displayName] Required,User name [userPrincipalName] Required,Block sign in (Yes/No) [accountEnabled] Required",
            "Example: Chris Green,chris@contoso.com,No",
            "Anna,anna@contoso.com,No",
            "  Example: in the middle,x@contoso.com,No",
            "Bob,bob@contoso.com,Yes",
            "Example:,,",
        ]),
        0,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
4,anna@contoso.com,Anna,created,<password>,,,
6,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
}

#[test]
fn an_entra_version_line_and_nothing_else() {
    for text in ["version:v1.0\r\n", "version:v1.0,,,\r\n\r\n", "version:"] {
        assert_eq!(
            fatal_input(text),
            "onboard: error: in.csv, line 1: the `version:` line is not followed by a header line",
            "{text:?}"
        );
    }
    // A row of empty cells after it is a header without names.
    assert_eq!(
        fatal_input("version:v1.0,,,\r\n\r\n,,,\r\n"),
        "onboard: error: in.csv: bad header: line 3: the header line has no column names"
    );
}

#[test]
fn an_entra_version_line_then_a_blank_line() {
    // Excel saves CRLF: the blank line is a cell with a CR. Before, it was taken as an
    // empty header with CRLF and skipped with LF.
    for eol in ["\r\n", "\n"] {
        let text = [
            "version:v1.0",
            "",
            "Name [displayName] Required,User name [userPrincipalName] Required",
            "Anna,anna@contoso.com",
            "",
        ]
        .join(eol);
        assert_eq!(
            import(&Workdir::new(), text, 0),
            format!("{RESULT_HEADER}4,anna@contoso.com,Anna,created,<password>,,,\n"),
            "{eol:?}"
        );
    }
}

#[test]
fn an_example_row_in_a_microsoft_365_file_is_a_user() {
    // Only the Entra template has example rows (docs/input.md); elsewhere `Example:` is data.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "Display Name,User Name",
            "Example: Chris Green,chris@contoso.com",
        ]),
        0,
    );
    assert_eq!(
        results,
        format!("{RESULT_HEADER}2,chris@contoso.com,Example: Chris Green,created,<password>,,,\n")
    );
}

// --- what the cells say ---------------------------------------------------------------

#[test]
fn a_formula_in_every_field() {
    // docs/results.md: every result cell that starts with = + - @ gets a leading '. Also the cells
    // of `onboard users`, which is made to be opened in Excel and edited.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Job Title,Licenses,Roles,Password,Usage Location",
            "=cmd|' /C calc'!A0,=cmd|' /C calc'!A0,=1+1,=1+1,@SUM(A1),=Aa1!aaaa,-2+3",
            "+anna@contoso.com,+Anna,+31,+SPE_E3,-x,+Aa1!aaaaa,@NL",
            "-bob@contoso.com,-Bob,-1,,,-Aa1!aaaaa,",
            "@carl@contoso.com,@Carl,@x,@SPE_E3,=z,@Aa1!aaaaa,=NL",
            "dirk@contoso.com,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"Dirk\"\")\",=2*3,,,=Aa1!aaaaa,",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,'=cmd|' /C calc'!A0@contoso.com,'=cmd|' /C calc'!A0,failed,,,,\"invalid_username: User Name `=cmd|' /C calc'!A0@contoso.com`: character `=` is not allowed | invalid_usage_location: Usage Location `-2+3` is not an ISO 3166-1 alpha-2 country code | unknown_license: `=1` is not a licence of Contoso (known: SPE_E3, EMS) | unknown_license: `1` is not a licence of Contoso (known: SPE_E3, EMS) | unknown_role: `@SUM(A1)` is not a Microsoft 365 admin role\"
3,'+anna@contoso.com,'+Anna,failed,,,,invalid_username: User Name `+anna@contoso.com`: character `+` is not allowed | invalid_usage_location: Usage Location `@NL` is not an ISO 3166-1 alpha-2 country code | unknown_role: `-x` is not a Microsoft 365 admin role
4,'-bob@contoso.com,'-Bob,created,<password>,,,
5,'@carl@contoso.com,'@Carl,failed,,,,\"invalid_username: User Name `@carl@contoso.com`: it has 2 `@` signs; it needs exactly one | invalid_usage_location: Usage Location `=NL` is not an ISO 3166-1 alpha-2 country code | unknown_license: `@SPE_E3` is not a licence of Contoso (known: SPE_E3, EMS) | unknown_role: `=z` is not a Microsoft 365 admin role\"
6,dirk@contoso.com,\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Dirk\"\")\",created,<password>,,,
"
        )
    );
    // The given passwords are shown as given, defused too.
    assert_eq!(
        wd.passwords("out.csv"),
        ["", "", "'-Aa1!aaaaa", "", "'=Aa1!aaaaa"]
    );
    let users = wd
        .onboard(&["users", "-o", "users.csv"])
        .timeout(TIME_LIMIT)
        .output()
        .unwrap();
    assert_eq!(users.status.code(), Some(0));
    for file in ["out.csv", "users.csv"] {
        let text = wd.read(file);
        let mut cells = 0;
        for record in csv::Reader::from_reader(text.as_bytes()).records() {
            for cell in record.unwrap().iter() {
                cells += 1;
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{file}: cell `{cell}` would run as a formula"
                );
            }
        }
        assert!(cells > 10, "{file}");
    }
    assert!(wd
        .read("users.csv")
        .contains("'-bob@contoso.com,'-Bob,,,'-1,"));
}

#[test]
fn zero_width_and_right_to_left_characters() {
    // docs/rules.md invalid_value: invisible formatting characters let a name look like
    // another; in a User Name they are characters outside the allowed set. The result
    // file echoes them as <U+XXXX> (docs/security.md), as the messages do.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name",
            "an\u{200B}na@contoso.com,Anna",
            "bob\u{202E}@contoso.com,Bob",
            "carl@contoso.com,Car\u{200D}l",
            "dirk@contoso.com,\u{202E}gnp.exe",
            "eva@contoso.com,Eva \u{2067}Smit\u{2069}",
            "fred@contoso.com,Fred",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,an<U+200B>na@contoso.com,Anna,failed,,,,invalid_username: User Name `an<U+200B>na@contoso.com`: character U+200B is not allowed
3,bob<U+202E>@contoso.com,Bob,failed,,,,invalid_username: User Name `bob<U+202E>@contoso.com`: character U+202E is not allowed
4,carl@contoso.com,Car<U+200D>l,failed,,,,invalid_value: Display Name contains the control character U+200D
5,dirk@contoso.com,<U+202E>gnp.exe,failed,,,,invalid_value: Display Name contains the control character U+202E
6,eva@contoso.com,Eva <U+2067>Smit<U+2069>,failed,,,,invalid_value: Display Name contains the control character U+2067
7,fred@contoso.com,Fred,created,<password>,,,
"
        )
    );
    assert_eq!(wd.user_count(), 1);
}

#[test]
fn look_alike_domains_and_usernames() {
    // Cyrillic о (U+043E) and а (U+0430) in contoso.com; the Kelvin sign K (U+212A) and a
    // dotless ı, which lower-case or fold to ASCII in some systems.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name",
            "anna@c\u{43E}nt\u{43E}s\u{43E}.com,Anna",
            "bob@fabrik\u{430}m.nl,Bob",
            "\u{212A}im@contoso.com,Kim",
            "\u{131}van@contoso.com,Ivan",
            "carl@contoso.com,Carl",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@c\u{43E}nt\u{43E}s\u{43E}.com,Anna,failed,,,,\"unverified_domain: domain `c\u{43E}nt\u{43E}s\u{43E}.com` (it contains the non-ASCII character `\u{43E}` (U+043E)) is not a verified domain of Contoso (contoso.com, fabrikam.nl)\"
3,bob@fabrik\u{430}m.nl,Bob,failed,,,,\"unverified_domain: domain `fabrik\u{430}m.nl` (it contains the non-ASCII character `\u{430}` (U+0430)) is not a verified domain of Contoso (contoso.com, fabrikam.nl)\"
4,\u{212A}im@contoso.com,Kim,failed,,,,invalid_username: User Name `\u{212A}im@contoso.com`: character `\u{212A}` (U+212A) is not allowed
5,\u{131}van@contoso.com,Ivan,failed,,,,invalid_username: User Name `\u{131}van@contoso.com`: character `\u{131}` (U+0131) is not allowed
6,carl@contoso.com,Carl,created,<password>,,,
"
        )
    );
}

#[test]
fn a_1000_character_username() {
    // The messages show the first 80 characters of the name, the result row all of it.
    let wd = Workdir::new();
    let local = "x".repeat(1000);
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name",
            &format!("{local}@contoso.com,Long"),
            &format!("{local},No at sign"),
            "anna@contoso.com,Anna",
        ]),
        1,
    );
    let shown = format!("{}…", "x".repeat(80));
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,{local}@contoso.com,Long,failed,,,,too_long: User Name is 1012 characters; at most 113 are allowed | invalid_username: User Name `{shown}`: the part before `@` is 1000 characters; at most 64 are allowed
3,{local}@contoso.com,No at sign,failed,,,,too_long: User Name is 1012 characters; at most 113 are allowed | invalid_username: User Name `{shown}`: the part before `@` is 1000 characters; at most 64 are allowed | duplicate_in_file: User Name {shown} is also on line 2
4,anna@contoso.com,Anna,created,<password>,,,
"
        )
    );
}

#[test]
fn whitespace_only_username() {
    // No-break and ideographic spaces are spaces: the cell is empty.
    let wd = Workdir::new();
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name",
            "\u{A0} \u{3000},Nobody",
            "anna@contoso.com,Anna",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,,Nobody,failed,,,,required: User Name is empty
3,anna@contoso.com,Anna,created,<password>,,,
"
        )
    );
}

#[test]
fn a_megabyte_password() {
    let wd = Workdir::new();
    let password = "Aa1!".repeat(1 << 18);
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Password",
            &format!("anna@contoso.com,Anna,{password}"),
            "bob@contoso.com,Bob,",
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,weak_password: the given Password is 1048576 characters; it must be 8 to 256
3,bob@contoso.com,Bob,created,<password>,,,
"
        )
    );
}

#[test]
fn a_licenses_cell_of_a_million_plus_signs() {
    // The licence, app and role names are split at `+`, and a name may hold `+` itself
    // ("Enterprise Mobility + Security E3"): every run of pieces was tried, so these
    // cells hung the import for hours. Now they fail as too_long, alone and at once; an
    // over-long cell's names are not looked up (no error per name).
    let wd = Workdir::new();
    let plus = "+".repeat(1_000_000);
    let names = "x+".repeat(100_000);
    let padded = format!("{0}SPE_E3{0}", "+".repeat(100));
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Licenses,Disabled Apps,Roles",
            &format!("anna@contoso.com,Anna,{plus},,"),
            &format!("bob@contoso.com,Bob,SPE_E3,{plus},"),
            &format!("carl@contoso.com,Carl,,,{plus}"),
            &format!("dirk@contoso.com,Dirk,{names},,"),
            &format!("eva@contoso.com,Eva,{padded},,"),
        ]),
        1,
    );
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,too_long: Licenses is 1000000 characters; at most 256 are allowed
3,bob@contoso.com,Bob,failed,,,,too_long: Disabled Apps is 1000000 characters; at most 256 are allowed
4,carl@contoso.com,Carl,failed,,,,too_long: Roles is 1000000 characters; at most 256 are allowed
5,dirk@contoso.com,Dirk,failed,,,,too_long: Licenses is 200000 characters; at most 256 are allowed
6,eva@contoso.com,Eva,created,<password>,SPE_E3,,
"
        )
    );
}

#[test]
fn huge_and_invisible_values_in_messages() {
    // Messages quote a value in at most 80 characters, with invisible ones made visible:
    // a megabyte email address made a megabyte Errors cell.
    let wd = Workdir::new();
    let a = "a".repeat(1_000_000);
    let results = import(
        &wd,
        crlf(&[
            "User Name,Display Name,Alternate email address,Block Sign In",
            &format!("anna@contoso.com,Anna,{a},"),
            "bob@contoso.com,Bob,bob\u{202E}moc.elpmaxe@x,Yes\u{200B}",
            "carl@contoso.com,Carl,,",
        ]),
        1,
    );
    let shown = format!("{}…", "a".repeat(80));
    assert_eq!(
        results,
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,failed,,,,too_long: Alternate email address is 1000000 characters; at most 256 are allowed | invalid_email: Alternate email address `{shown}` is not an email address
3,bob@contoso.com,Bob,failed,,,,invalid_value: Alternate email address contains the control character U+202E | invalid_value: Block Sign In contains the control character U+200B | invalid_email: Alternate email address `bob<U+202E>moc.elpmaxe@x` is not an email address | invalid_value: Block Sign In `Yes<U+200B>` is not one of yes/no/true/false/1/0
4,carl@contoso.com,Carl,created,<password>,,,
"
        )
    );
}

// --- the tenant file ------------------------------------------------------------------

/// The error for a tenant file `text`, with a good input.
fn tenant_error(text: impl AsRef<[u8]>) -> String {
    let wd = Workdir::new();
    wd.write_bytes("tenant.toml", text.as_ref());
    wd.write(
        "in.csv",
        &crlf(&["User Name,Display Name", "anna@contoso.com,Anna"]),
    );
    fatal(&wd, "in.csv")
}

const TENANT_START: &str = "name = \"Contoso\"\ndomains = [\"contoso.com\"]\n";

#[test]
fn tenant_does_not_parse() {
    assert_eq!(
        tenant_error("name = \"Contoso\"\ndomains = [\"contoso.com\"\n[password]\n"),
        "onboard: error: tenant file tenant.toml: line 3: missing comma between array elements, expected `,`"
    );
    assert_eq!(
        tenant_error(format!("{TENANT_START}[[license]\nsku = \"SPE_E3\"\n")),
        "onboard: error: tenant file tenant.toml: line 3: unclosed array table, expected `]`"
    );
    // YAML, or a note, instead of TOML.
    assert_eq!(
        tenant_error("Name: Contoso\nDomains: contoso.com\n"),
        "onboard: error: tenant file tenant.toml: line 1: key with no value, expected `=`"
    );
}

#[test]
fn tenant_unknown_key() {
    assert_eq!(
        tenant_error(format!("{TENANT_START}\n[password]\nlength = 12\nexpiry_days = 90\n")),
        "onboard: error: tenant file tenant.toml: line 6: unknown field `expiry_days`, expected `length` or `force_change`"
    );
}

#[test]
fn tenant_without_domains() {
    assert_eq!(
        tenant_error("name = \"Contoso\"\ndomains = []\n"),
        "onboard: error: tenant file tenant.toml: line 2: `domains` must list at least one verified domain"
    );
    assert_eq!(
        tenant_error("name = \"Contoso\"\n"),
        "onboard: error: tenant file tenant.toml: line 1: missing field `domains`"
    );
}

#[test]
fn tenant_negative_seats() {
    assert_eq!(
        tenant_error(format!(
            "{TENANT_START}[[license]]\nsku = \"SPE_E3\"\nname = \"Microsoft 365 E3\"\nseats = -5\n"
        )),
        "onboard: error: tenant file tenant.toml: line 6: seats for `SPE_E3` is -5; it must be 0 or more"
    );
}

#[test]
fn tenant_duplicate_sku() {
    assert_eq!(
        tenant_error(format!(
            "{TENANT_START}[[license]]\nsku = \"SPE_E3\"\nname = \"E3\"\nseats = 1\n\
             [[license]]\nsku = \"spe_e3\"\nname = \"E3 again\"\nseats = 1\n"
        )),
        "onboard: error: tenant file tenant.toml: line 8: duplicate SKU `spe_e3`"
    );
}

#[test]
fn tenant_password_length_out_of_range() {
    for (length, line) in [("7", 4), ("257", 4), ("-1", 4)] {
        assert_eq!(
            tenant_error(format!("{TENANT_START}[password]\nlength = {length}\n")),
            format!("onboard: error: tenant file tenant.toml: line {line}: password length {length} is out of range 8..=256")
        );
    }
    assert_eq!(
        tenant_error(format!("{TENANT_START}[password]\nlength = 99999999999999999999\n")),
        "onboard: error: tenant file tenant.toml: line 4: invalid type: integer `99999999999999999999` as i128, expected i64"
    );
}

#[test]
fn tenant_default_domain_not_verified() {
    assert_eq!(
        tenant_error(format!("{TENANT_START}default_domain = \"contoso.org\"\n")),
        "onboard: error: tenant file tenant.toml: line 3: default_domain `contoso.org` is not one of `domains`"
    );
}

#[test]
fn tenant_homoglyph_domain() {
    assert_eq!(
        tenant_error("name = \"Contoso\"\ndomains = [\"c\u{43E}ntoso.com\"]\n"),
        "onboard: error: tenant file tenant.toml: line 2: `c\u{43E}ntoso.com` in `domains` is not a domain name"
    );
}

#[test]
fn tenant_not_utf8() {
    // Saved by Notepad as ANSI (Windows-1252), or as "Unicode" (UTF-16).
    assert_eq!(
        tenant_error(b"name = \"Contoso\"\ndomains = [\"contoso.com\"]\n# Caf\xE9\n"),
        "onboard: error: tenant file tenant.toml: line 3: the file is not UTF-8 text (save it as UTF-8)"
    );
    let mut unicode = vec![0xFF, 0xFE];
    unicode.extend(utf16(TENANT_START, false));
    assert_eq!(
        tenant_error(unicode),
        "onboard: error: tenant file tenant.toml: line 1: the file is not UTF-8 text (save it as UTF-8)"
    );
}

#[test]
fn tenant_licence_name_that_is_another_sku() {
    // README: a SKU or friendly name used twice. An input cell `E5` would otherwise
    // mean the SKU E5, and never the licence whose friendly name is E5.
    assert_eq!(
        tenant_error(format!(
            "{TENANT_START}[[license]]\nsku = \"SPE_E3\"\nname = \"E5\"\nseats = 1\n\
             [[license]]\nsku = \"E5\"\nname = \"Microsoft 365 E5\"\nseats = 1\n"
        )),
        "onboard: error: tenant file tenant.toml: line 8: SKU `E5` is the name of licence `SPE_E3`"
    );
}

#[test]
fn tenant_with_a_utf8_bom_and_crlf() {
    // Notepad's UTF-8 with BOM and Windows line ends are fine.
    let wd = Workdir::new();
    let tenant = format!("\u{FEFF}{}", TENANT_START.replace('\n', "\r\n"));
    wd.write("tenant.toml", &tenant);
    assert_eq!(
        import(
            &wd,
            crlf(&["User Name,Display Name", "anna@contoso.com,Anna"]),
            0
        ),
        format!("{RESULT_HEADER}2,anna@contoso.com,Anna,created,<password>,,,\n")
    );
}

#[test]
fn tenant_with_65536_licences() {
    // Rows refer to licences by 16-bit index: the 65,536th licence silently became the
    // first (a row asking for S65536 got S0). Such a file is over the 1 MiB a tenant file
    // may have now (docs/security.md), so it is refused before it is parsed; the parser
    // still refuses more than 65,535 licences.
    let mut tenant = String::from(TENANT_START);
    for i in 0..=65_535 {
        tenant.push_str(&format!(
            "[[license]]\nsku = \"S{i}\"\nname = \"N{i}\"\nseats = 1\n"
        ));
    }
    assert_eq!(
        tenant_error(tenant),
        "onboard: error: tenant file tenant.toml is larger than 1 MiB; it should be a few kilobytes of TOML"
    );
}

#[test]
fn tenant_missing() {
    let wd = Workdir::new();
    std::fs::remove_file(wd.path("tenant.toml")).unwrap();
    wd.write(
        "in.csv",
        &crlf(&["User Name,Display Name", "anna@contoso.com,Anna"]),
    );
    assert_eq!(
        fatal(&wd, "in.csv"),
        "onboard: error: tenant file tenant.toml does not exist; `onboard tenant init` writes one to edit (or name another with --tenant)"
    );
}
