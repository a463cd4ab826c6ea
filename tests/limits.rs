//! Bounded input (docs/security.md#limits): files built to fill the memory, each run
//! through the binary under a 1 GiB address-space limit. Before the limits each of these
//! aborted ("memory allocation of … bytes failed", exit 134) or was killed; now each ends
//! cleanly: a bad row fails alone (exit 1), a file past a limit is fatal with one error
//! line that names it (exit 2) and writes nothing.
//!
//! The workbooks are zip packages written here part by part; the big ones inflate to
//! hundreds of megabytes but take a few hundred kilobytes on disk.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Output};
use std::time::Duration;

use crate::package::{cell, package, workbook_parts, SHEET_END, SHEET_START};
use crate::workdir::Workdir;

/// The address space onboard gets: 1 GiB.
const LIMIT_KIB: u64 = 1 << 20;

const TIME_LIMIT: Duration = Duration::from_secs(120);

/// `onboard ARGS` in `wd` (with its tenant and directory) under [`LIMIT_KIB`] of address
/// space; it must end by itself, with an exit code, without a panic or an abort.
fn run_limited(wd: &Workdir, args: &[&str]) -> Output {
    let onboard = assert_cmd::cargo::cargo_bin("onboard");
    let out = assert_cmd::Command::from_std({
        let mut cmd = Command::new("sh");
        cmd.current_dir(wd.dir())
            .env_remove("RUST_LOG")
            .arg("-c")
            .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
            .arg(onboard)
            .args(args)
            .args(["--tenant", "tenant.toml", "--directory", "onboard.db"]);
        cmd
    })
    .timeout(TIME_LIMIT)
    .output()
    .expect("run onboard");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "onboard panicked:\n{stderr}");
    assert!(
        !stderr.contains("memory allocation"),
        "onboard ran out of memory:\n{stderr}"
    );
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "onboard did not end cleanly ({:?}):\n{stderr}",
        out.status
    );
    out
}

/// Imports `input` under the limit, expecting it to be fatal: exit 2, one error line
/// (returned), no result file and no user.
fn fatal(wd: &Workdir, input: &str) -> String {
    let out = run_limited(wd, &["import", input, "-o", "out.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!wd.exists("out.csv"), "a result file was written");
    assert_eq!(wd.user_count(), 0, "users were written");
    stderr
}

/// Imports `input` under the limit, expecting some rows to fail: exit 1. Returns the
/// result file with passwords masked.
fn partly(wd: &Workdir, input: &str) -> String {
    let out = run_limited(wd, &["import", input, "-o", "out.csv"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wd.results("out.csv")
}

/// The header row and one user, Anna, in rows 1 and 2.
fn header_and_anna() -> String {
    format!(
        r#"<row r="1">{}{}</row><row r="2">{}{}</row>"#,
        cell("A1", "User Name"),
        cell("B1", "Display Name"),
        cell("A2", "anna@contoso.com"),
        cell("B2", "Anna")
    )
}

/// Writes `chunk` `times` times.
fn repeat(w: &mut dyn Write, chunk: &[u8], times: usize) {
    for _ in 0..times {
        w.write_all(chunk).unwrap();
    }
}

/// `n` bytes of `b`, a mebibyte at a time.
fn bytes_of(w: &mut dyn Write, b: u8, n: usize) {
    let chunk = vec![b; 1 << 20];
    repeat(w, &chunk, n >> 20);
    w.write_all(&chunk[..n % (1 << 20)]).unwrap();
}

/// Writes `name`, a workbook of one sheet whose XML `sheet` writes.
fn workbook(wd: &Workdir, name: &str, sheet: impl FnOnce(&mut dyn Write) + 'static) {
    let mut parts = workbook_parts("Users");
    parts.push(("xl/worksheets/sheet1.xml", Box::new(sheet)));
    package(wd, name, parts);
}

const RESULT_HEADER: &str =
    "Line,User Name,Display Name,Status,Password,Licenses,Warnings,Errors\n";

#[test]
fn a_workbook_with_cells_at_a1_and_xfd1048576() {
    // 2 KB of zip whose sheet spans all of Excel's columns and rows: read cell by cell,
    // the far cell is a row of its own that fails alone (it is outside the header's
    // columns), and Anna is created.
    let wd = Workdir::new();
    workbook(&wd, "far.xlsx", |w: &mut dyn Write| {
        write!(
            w,
            r#"{SHEET_START}{}<row r="1048576">{}</row>{SHEET_END}"#,
            header_and_anna(),
            cell("XFD1048576", "x")
        )
        .unwrap()
    });
    assert_eq!(
        partly(&wd, "far.xlsx"),
        format!(
            "{RESULT_HEADER}\
2,anna@contoso.com,Anna,created,<password>,,,
1048576,,,failed,,,,\"malformed_row: the record has 16384 fields, the header has 2\"
"
        )
    );
    assert_eq!(wd.user_count(), 1);
}

#[test]
fn a_workbook_with_a_600_mb_cell() {
    let wd = Workdir::new();
    workbook(&wd, "cell.xlsx", |w: &mut dyn Write| {
        write!(
            w,
            r#"{SHEET_START}{}<row r="3"><c r="A3" t="inlineStr"><is><t>"#,
            header_and_anna()
        )
        .unwrap();
        bytes_of(w, b'x', 600_000_000);
        write!(w, "</t></is></c></row>{SHEET_END}").unwrap();
    });
    assert_eq!(
        fatal(&wd, "cell.xlsx"),
        "onboard: error: cell.xlsx: part `xl/worksheets/sheet1.xml` holds a text, tag or record of more than 1 MiB (at byte 434 of the part); a cell holds at most 32,767 characters"
    );
}

/// A workbook `strings.xlsx` whose one shared string is `size` bytes long, used by a cell
/// of row 3; returns the error of importing it.
fn shared_string_of(size: usize) -> String {
    let wd = Workdir::new();
    let mut parts = workbook_parts("Users");
    parts.push((
        "xl/sharedStrings.xml",
        Box::new(move |w: &mut dyn Write| {
            w.write_all(br#"<sst count="1" uniqueCount="1"><si><t>"#)
                .unwrap();
            bytes_of(w, b'x', size);
            w.write_all(b"</t></si></sst>").unwrap();
        }),
    ));
    parts.push((
        "xl/worksheets/sheet1.xml",
        Box::new(|w: &mut dyn Write| {
            write!(
                w,
                r#"{SHEET_START}{}<row r="3"><c r="A3" t="s"><v>0</v></c></row>{SHEET_END}"#,
                header_and_anna()
            )
            .unwrap()
        }),
    ));
    package(&wd, "strings.xlsx", parts);
    fatal(&wd, "strings.xlsx")
}

#[test]
fn a_workbook_with_a_600_mb_shared_string() {
    // The shared strings are read whole when the workbook opens, before any sheet.
    assert_eq!(
        shared_string_of(600_000_000),
        "onboard: error: strings.xlsx: part `xl/sharedStrings.xml` inflates to more than 128 MiB, the most onboard reads of one part"
    );
}

#[test]
fn a_workbook_with_a_100_mb_shared_string() {
    // Under the size of a part, over the longest text.
    assert_eq!(
        shared_string_of(100_000_000),
        "onboard: error: strings.xlsx: part `xl/sharedStrings.xml` holds a text, tag or record of more than 1 MiB (at byte 35 of the part); a cell holds at most 32,767 characters"
    );
}

#[test]
fn a_workbook_with_1_1_gb_of_rows() {
    // A sheet that inflates past 1 GiB: refused by its size before it is read.
    let wd = Workdir::new();
    workbook(&wd, "rows.xlsx", |w: &mut dyn Write| {
        write!(w, "{SHEET_START}{}", header_and_anna()).unwrap();
        let row = format!(
            "<row>{}</row>",
            cell("", &"y".repeat(1000)).replace(r#" r="""#, "")
        );
        let rows = row.repeat((1 << 20) / row.len());
        repeat(w, rows.as_bytes(), 1100);
        write!(w, "{SHEET_END}").unwrap();
    });
    assert_eq!(
        fatal(&wd, "rows.xlsx"),
        "onboard: error: rows.xlsx: part `xl/worksheets/sheet1.xml` inflates to more than 1024 MiB, the most onboard reads of one part"
    );
}

#[test]
fn a_hundred_rows_of_a_million_fields() {
    // 100 MB of delimiters: each row is read, cut back to the header's width and fails
    // alone; memory stays that of a few rows.
    let wd = Workdir::new();
    let mut text = String::from("User Name,Display Name\r\nanna@contoso.com,Anna\r\n");
    let commas = ",".repeat(1_000_000);
    for i in 0..100 {
        text.push_str(&format!("user{i}@contoso.com,User {i}{commas}x\r\n"));
    }
    wd.write("wide.csv", &text);
    drop(text);
    let results = partly(&wd, "wide.csv");
    let mut expected = format!("{RESULT_HEADER}2,anna@contoso.com,Anna,created,<password>,,,\n");
    for i in 0..100 {
        expected.push_str(&format!(
            "{},user{i}@contoso.com,User {i},failed,,,,\"malformed_row: the record has 1000002 fields, the header has 2\"\n",
            i + 3
        ));
    }
    assert_eq!(results, expected);
}

#[test]
fn a_header_line_of_200_mb() {
    let wd = Workdir::new();
    {
        let mut f = File::create(wd.path("long.csv")).unwrap();
        f.write_all(b"User Name,Display Name,").unwrap();
        bytes_of(&mut f, b'x', 200_000_000);
        f.write_all(b"\r\nanna@contoso.com,Anna,\r\n").unwrap();
    }
    assert_eq!(
        fatal(&wd, "long.csv"),
        "onboard: error: long.csv, line 1: the record that starts here is longer than 1 MiB; no user's row is that long (is this the right file?)"
    );
}
