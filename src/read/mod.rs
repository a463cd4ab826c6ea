//! Reading: the spreadsheet's bytes or workbook cells become records with line numbers
//! under a resolved header.
//!
//! [`input`] owns the CSV dialects (encoding, delimiter, `sep=` and `version:` lines) and
//! hands out the records, following their quotes with [`quoting`]; [`chunks`] cuts them
//! into chunks of whole records for workers to parse; [`sheet`] reads workbooks into the
//! same records; [`columns`] resolves the header; [`mapping`] (`--columns`) maps an HR
//! export's own headers and [`names`] builds the User Names and Display Names it leaves
//! out, from [`pattern`]s.

pub mod chunks;
pub mod columns;
pub mod input;
pub mod mapping;
pub mod names;
pub mod package;
pub mod pattern;
pub mod quoting;
pub mod sheet;

pub use chunks::{Chunk, Chunks, RecordParser};
pub use input::{Input, InputEncoding, InputHash, NotUtf8, ReadOptions};

/// The most a tenant or columns file may hold: hand-edited TOML is a few kilobytes.
pub const SMALL_FILE_LIMIT: u64 = 1 << 20;

/// The bytes of a small hand-edited file (`what`: `tenant file`, `columns file`): a
/// regular file of at most [`SMALL_FILE_LIMIT`] bytes, so that `--tenant /dev/zero` or a
/// huge file is a clear error, not a process that grows until it is killed.
pub fn read_small_file(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    use anyhow::{bail, Context};
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {what} {shown}"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {what} {shown}"))?;
    if !meta.is_file() {
        bail!("{what} {shown} is not a regular file");
    }
    let mut bytes = Vec::new();
    file.take(SMALL_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {shown}"))?;
    if bytes.len() as u64 > SMALL_FILE_LIMIT {
        bail!("{what} {shown} is larger than 1 MiB; it should be a few kilobytes of TOML");
    }
    Ok(bytes)
}
