//! The speed of light for a csv-based job (GitHub issue "Performance"): reads every record
//! of IN.csv with the `csv` crate into one reused `ByteRecord` and writes it back to
//! OUT.csv with three extra constant columns, and does nothing else. `scripts/bench`
//! compares `onboard import` against this.
//!
//! ```text
//! cargo run --release --example csv_floor -- IN.csv OUT.csv
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: csv_floor IN.csv OUT.csv");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(records) => {
            eprintln!("csv_floor: {records} records");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("csv_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 << 10)
        .from_path(input)
        .map_err(|e| format!("cannot read {input}: {e}"))?;
    let file = File::create(output).map_err(|e| format!("cannot create {output}: {e}"))?;
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(BufWriter::with_capacity(256 << 10, file));
    let mut record = csv::ByteRecord::new();
    let mut records = 0u64;
    while reader.read_byte_record(&mut record)? {
        if records == 0 {
            record.push_field(b"Status");
            record.push_field(b"Password");
            record.push_field(b"Errors");
        } else {
            record.push_field(b"created");
            record.push_field(b"");
            record.push_field(b"");
        }
        writer.write_byte_record(&record)?;
        records += 1;
    }
    let mut out = writer.into_inner().map_err(|e| e.into_error())?;
    out.flush()?;
    Ok(records.saturating_sub(1))
}
