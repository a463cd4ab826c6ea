//! Compares two `onboard import` result files cell by cell, ignoring the `Password`
//! column (generated passwords differ from run to run and a dry run has none). Used by
//! `scripts/bench` to check that `-j 1` and `-j 2` give the same result.
//!
//! ```text
//! cargo run --release --example cmp_results -- A.results.csv B.results.csv
//! ```
//!
//! Exit code 0 when they match, 1 (naming the first difference) when they do not, 2 on
//! bad arguments or unreadable files.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b] = args.as_slice() else {
        eprintln!("usage: cmp_results A.results.csv B.results.csv");
        return ExitCode::from(2);
    };
    match compare(a, b) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(difference)) => {
            eprintln!("cmp_results: {a} and {b} differ: {difference}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cmp_results: {e}");
            ExitCode::from(2)
        }
    }
}

fn open(path: &str) -> Result<csv::Reader<std::fs::File>, String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// `None` when the files match apart from the Password column, else the first difference.
fn compare(a: &str, b: &str) -> Result<Option<String>, String> {
    let (mut ra, mut rb) = (open(a)?, open(b)?);
    let (mut x, mut y) = (csv::ByteRecord::new(), csv::ByteRecord::new());
    let mut password = None;
    let mut record = 0u64;
    loop {
        let more_a = ra
            .read_byte_record(&mut x)
            .map_err(|e| format!("{a}: {e}"))?;
        let more_b = rb
            .read_byte_record(&mut y)
            .map_err(|e| format!("{b}: {e}"))?;
        record += 1;
        match (more_a, more_b) {
            (false, false) => return Ok(None),
            (true, false) => return Ok(Some(format!("{b} ends before record {record}"))),
            (false, true) => return Ok(Some(format!("{a} ends before record {record}"))),
            (true, true) => {}
        }
        if record == 1 {
            // The header (after a possible BOM) names the column to ignore.
            password = x
                .iter()
                .position(|c| c.strip_prefix("\u{feff}".as_bytes()).unwrap_or(c) == b"Password");
        }
        if x.len() != y.len() {
            return Ok(Some(format!(
                "record {record} has {} fields in one file and {} in the other",
                x.len(),
                y.len()
            )));
        }
        for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
            if Some(i) != password && p != q {
                return Ok(Some(format!(
                    "record {record}, column {}: `{}` versus `{}`",
                    i + 1,
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(q)
                )));
            }
        }
    }
}
