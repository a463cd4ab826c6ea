//! Reading the spreadsheet as Excel really saves it.
//!
//! Owns everything about the input's bytes: the encoding (UTF-8 with or without BOM,
//! UTF-16 with BOM, else Windows-1252), the delimiter (sniffed from the header line), the
//! optional Entra `version:` line, the header, and the records with their line numbers.
//! A workbook is read by [`crate::sheet`] into the same records; a `--columns` mapping
//! ([`crate::mapping`]) changes the header and fills in names ([`crate::names`]).

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use tracing::warn;

use crate::columns::{Columns, HeaderMap, Template};
use crate::mapping::Mapping;
use crate::names::NameFiller;
use crate::sheet::SheetRows;

/// How the input file's bytes were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
    /// A workbook (`.xlsx` …): its cells are text already; results go out as CSV in
    /// UTF-8 with a BOM, comma-separated.
    Workbook,
}

impl InputEncoding {
    /// Results go back with a BOM when the input had one or was not UTF-8, so that the
    /// same Excel opens them with the right characters.
    pub fn result_wants_bom(self) -> bool {
        self != InputEncoding::Utf8
    }

    pub fn name(self) -> &'static str {
        match self {
            InputEncoding::Utf8 => "UTF-8",
            InputEncoding::Utf8Bom => "UTF-8 with BOM",
            InputEncoding::Utf16Le => "UTF-16LE",
            InputEncoding::Utf16Be => "UTF-16BE",
            InputEncoding::Windows1252 => "Windows-1252",
            InputEncoding::Workbook => "workbook",
        }
    }
}

/// One data record: its line number in the input and its cells (valid UTF-8).
#[derive(Debug, Default, Clone)]
pub struct RawRow {
    pub line: u64,
    pub record: csv::ByteRecord,
    /// `code: message` warnings of the reading (a generated User Name, an error cell of a
    /// workbook); they go to the row's `Warnings` ahead of the planner's.
    pub warnings: Vec<String>,
}

/// What the command line adds to reading an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `--sheet`: the sheet of a workbook to read (default: the first visible one).
    pub sheet: Option<String>,
    /// `--columns`: the input's headers mapped to fields, and name patterns.
    pub mapping: Option<Mapping>,
    /// The tenant's default domain, which a User Name without `@` gets.
    pub default_domain: Option<String>,
}

/// An opened input whose header has been read and resolved.
pub struct Input {
    pub path: PathBuf,
    pub encoding: InputEncoding,
    pub delimiter: u8,
    pub columns: Columns,
    /// Line number of the header (1, or 2 after a `version:` line).
    pub header_line: u64,
    reader: csv::Reader<Box<dyn Read + Send>>,
    /// A workbook's sheet, whose rows are read instead of `reader`'s.
    sheet: Option<SheetRows>,
    /// Fills in names the rows leave out (with a `--columns` mapping).
    names: Option<NameFiller>,
}

/// How many bytes at most are looked at to find the header line and its delimiter.
const SNIFF_LIMIT: usize = 16 << 20;

impl Input {
    /// Opens `path`, decides its encoding and delimiter and reads its header.
    pub fn open(path: &Path) -> Result<Input> {
        Input::open_as(path, false)
    }

    /// Opens `path`; a file without BOM is read as UTF-8 unless its first megabyte is not
    /// UTF-8 or `windows_1252` says that a first read found invalid UTF-8 further on.
    /// The rest of a file assumed to be UTF-8 is checked record by record as it is read
    /// ([`crate::rules::Rules::saw_invalid_utf8`]), which saves a pass over the file.
    pub fn open_as(path: &Path, windows_1252: bool) -> Result<Input> {
        Input::open_mapped(path, windows_1252, &HeaderMap::default())
    }

    /// Opens `path` as [`Input::open_as`] does, or as a workbook when its extension says
    /// so, with the `--sheet` and `--columns` of `options`.
    pub fn open_with(path: &Path, options: &ReadOptions, windows_1252: bool) -> Result<Input> {
        let header_map = options
            .mapping
            .as_ref()
            .map(Mapping::header_map)
            .unwrap_or_default();
        let mut input = if crate::sheet::is_workbook(path) {
            Input::open_sheet(path, options.sheet.as_deref(), &header_map)?
        } else if let Some(sheet) = &options.sheet {
            bail!(
                "--sheet `{sheet}`: {} is read as CSV; --sheet is for workbooks ({})",
                path.display(),
                crate::sheet::EXTENSIONS.map(|e| format!(".{e}")).join(", ")
            );
        } else {
            Input::open_mapped(path, windows_1252, &header_map)?
        };
        if let Some(mapping) = &options.mapping {
            let filler =
                NameFiller::new(mapping, &input.columns, options.default_domain.as_deref())
                    .with_context(|| format!("{}: bad header", path.display()))?;
            input.names = Some(filler);
        }
        Ok(input)
    }

    /// A workbook's sheet as an input: comma-separated UTF-8 results with a BOM.
    fn open_sheet(path: &Path, sheet: Option<&str>, header_map: &HeaderMap) -> Result<Input> {
        let (rows, header) = SheetRows::open(path, sheet)?;
        let columns = Columns::from_header_mapped(
            header.cells.iter().map(String::as_str),
            header.line,
            header.version_line,
            header_map,
        )
        .with_context(|| format!("{}, sheet `{}`: bad header", path.display(), rows.name))?;
        let empty: Box<dyn Read + Send> = Box::new(io::empty());
        Ok(Input {
            path: path.to_path_buf(),
            encoding: InputEncoding::Workbook,
            delimiter: b',',
            columns,
            header_line: header.line,
            reader: csv::Reader::from_reader(empty),
            sheet: Some(rows),
            names: None,
        })
    }

    /// [`Input::open_as`] with the header resolved under a `--columns` mapping.
    fn open_mapped(path: &Path, windows_1252: bool, header_map: &HeaderMap) -> Result<Input> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read input file {shown}"))?;
        if meta.is_dir() {
            bail!("input {shown} is a folder, not a CSV file");
        }
        let mut file =
            File::open(path).with_context(|| format!("cannot read input file {shown}"))?;
        let mut head = vec![0u8; 1 << 20];
        let n = read_up_to(&mut file, &mut head)
            .with_context(|| format!("cannot read input file {shown}"))?;
        head.truncate(n);
        Input::from_parts(path, head, file, windows_1252, header_map)
    }

    /// Reads a whole input held in memory (for fuzzing and tests); `name` is only used
    /// in messages.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Input> {
        Input::from_parts(name, bytes, io::empty(), false, &HeaderMap::default())
    }

    /// The input whose first bytes are `head` (up to a megabyte, or all of it) and whose
    /// other bytes come from `rest`.
    fn from_parts(
        path: &Path,
        head: Vec<u8>,
        rest: impl Read + Send + 'static,
        windows_1252: bool,
        header_map: &HeaderMap,
    ) -> Result<Input> {
        let shown = path.display();
        let encoding = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            InputEncoding::Utf8Bom
        } else if head.starts_with(&[0xFF, 0xFE]) {
            InputEncoding::Utf16Le
        } else if head.starts_with(&[0xFE, 0xFF]) {
            InputEncoding::Utf16Be
        } else if !windows_1252 && starts_as_utf8(&head) {
            InputEncoding::Utf8
        } else {
            warn!(
                file = %shown,
                "input is not valid UTF-8 and has no BOM; reading it as Windows-1252"
            );
            InputEncoding::Windows1252
        };
        let skip = if encoding == InputEncoding::Utf8Bom {
            3
        } else {
            0
        };
        let mut head = Cursor::new(head);
        head.set_position(skip);
        let raw = head.chain(rest);
        let transcoding = match encoding {
            InputEncoding::Utf8 | InputEncoding::Utf8Bom | InputEncoding::Workbook => None,
            InputEncoding::Utf16Le => Some(UTF_16LE),
            InputEncoding::Utf16Be => Some(UTF_16BE),
            InputEncoding::Windows1252 => Some(WINDOWS_1252),
        };
        let mut inner: Box<dyn Read + Send> = match transcoding {
            None => Box::new(raw),
            Some(enc) => Box::new(
                DecodeReaderBytesBuilder::new()
                    .encoding(Some(enc as &'static Encoding))
                    .bom_override(true)
                    .build(BufReader::with_capacity(256 << 10, raw)),
            ),
        };

        // Read enough to see the first two lines, so the delimiter can be sniffed from
        // the header, then hand the csv reader those bytes followed by the rest.
        let prefix = read_prefix(&mut inner).with_context(|| format!("cannot read {shown}"))?;
        if prefix.iter().all(|b| b.is_ascii_whitespace()) {
            bail!("{shown}: the file is empty (no header line)");
        }
        let (first, second) = first_two_lines(&prefix);
        let version_line = is_version_line(first);
        let header_bytes = if version_line { second } else { first };
        if header_bytes.contains(&0) {
            bail!(
                "{shown}, line {}: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)",
                if version_line { 2 } else { 1 }
            );
        }
        let delimiter = sniff_delimiter(header_bytes);
        // Old Mac Excel ends lines with CR alone: make them LF so lines count the same.
        let cr_only = !prefix.contains(&b'\n') && prefix.contains(&b'\r');
        // A final LF makes every record end with one, which `first_line` relies on; the
        // blank line it may add is skipped like any other.
        let whole = Cursor::new(prefix).chain(inner).chain(&b"\n"[..]);
        let source: Box<dyn Read + Send> = if cr_only {
            Box::new(CrToLf(whole))
        } else {
            Box::new(whole)
        };
        // Records end at LF only (a CR before it is trimmed with the cell), so the csv
        // reader counts every line itself and each record's first line can be derived.
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(256 << 10)
            .from_reader(source);

        let mut header = csv::ByteRecord::new();
        let mut header_line = 0;
        while reader
            .read_byte_record(&mut header)
            .with_context(|| format!("cannot read {shown}"))?
        {
            header_line = first_line(&reader, &header);
            if header_line == 1 && version_line {
                continue;
            }
            break;
        }
        if header_line == 0 || (version_line && header_line == 1) {
            bail!("{shown}: there is no header line after the `version:` line");
        }
        let cells: Vec<&str> = header
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        let columns = Columns::from_header_mapped(cells, header_line, version_line, header_map)
            .with_context(|| format!("{shown}: bad header"))?;
        Ok(Input {
            path: path.to_path_buf(),
            encoding,
            delimiter,
            columns,
            header_line,
            reader,
            sheet: None,
            names: None,
        })
    }

    /// Reads the next data record into `row`, skipping blank rows and Entra `Example:`
    /// rows, and fills in the names a `--columns` mapping builds. Returns false at the
    /// end of the file.
    pub fn next_row(&mut self, row: &mut RawRow) -> Result<bool> {
        row.warnings.clear();
        let more = match &mut self.sheet {
            Some(sheet) => sheet.next_row(row, &self.columns),
            None => self.next_csv_row(row)?,
        };
        if let (true, Some(names)) = (more, &mut self.names) {
            names.fill(row);
        }
        Ok(more)
    }

    /// [`Input::next_row`] of a CSV file.
    fn next_csv_row(&mut self, row: &mut RawRow) -> Result<bool> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut row.record)
                .with_context(|| format!("cannot read {}", self.path.display()))?;
            if !more {
                return Ok(false);
            }
            row.line = first_line(&self.reader, &row.record);
            if row
                .record
                .iter()
                .all(|c| c.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            if self.columns.template == Template::Entra
                && row
                    .record
                    .get(0)
                    .is_some_and(|c| trim_ascii(c).starts_with(b"Example:"))
            {
                continue;
            }
            return Ok(true);
        }
    }

    /// The header's width, which every record must match.
    pub fn width(&self) -> usize {
        self.columns.width
    }
}

/// The line a record started on. The reader has counted every LF up to the end of the
/// record: the record's own terminator (every record has one, see `open`), the LFs inside
/// its quoted cells and any blank lines it skipped before it.
fn first_line<R: Read>(reader: &csv::Reader<R>, record: &csv::ByteRecord) -> u64 {
    let embedded = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    reader.position().line().saturating_sub(embedded + 1).max(1)
}

/// Turns every CR into LF.
struct CrToLf<R>(R);

impl<R: Read> Read for CrToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Whether `head` (the start of a file) is UTF-8, allowing a character cut at its end.
fn starts_as_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

fn read_prefix(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&chunk[..n]);
        let (_, second) = first_two_lines(&prefix);
        let second_complete = second.as_ptr_range().end < prefix.as_ptr_range().end;
        if (second_complete && !second.is_empty()) || prefix.len() >= SNIFF_LIMIT {
            break;
        }
    }
    Ok(prefix)
}

/// The first two lines (ends outside quotes), without their line endings.
fn first_two_lines(buf: &[u8]) -> (&[u8], &[u8]) {
    let first_end = line_end(buf);
    let first = &buf[..first_end];
    let mut rest = &buf[first_end..];
    while let [b'\r' | b'\n', tail @ ..] = rest {
        rest = tail;
    }
    let second = &rest[..line_end(rest)];
    (first, second)
}

fn line_end(buf: &[u8]) -> usize {
    let mut quoted = false;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\r' | b'\n' if !quoted => return i,
            _ => {}
        }
    }
    buf.len()
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// An Entra template's first line: `version:v1.0`, maybe padded with delimiters by Excel.
fn is_version_line(line: &[u8]) -> bool {
    let first_cell_end = line
        .iter()
        .position(|&b| matches!(b, b',' | b';' | b'\t'))
        .unwrap_or(line.len());
    let cell = trim_ascii(&line[..first_cell_end]);
    let cell = cell.strip_prefix(b"\"").unwrap_or(cell);
    cell.len() >= 8
        && cell[..8].eq_ignore_ascii_case(b"version:")
        && line[first_cell_end..]
            .iter()
            .all(|&b| matches!(b, b',' | b';' | b'\t' | b' ' | b'"'))
}

/// The delimiter that occurs most often outside quotes in the header line; `,` on a tie.
fn sniff_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delims = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    delims[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_delimiter_from_the_header() {
        assert_eq!(sniff_delimiter(b"User Name;Display Name;City"), b';');
        assert_eq!(sniff_delimiter(b"User Name,Display Name"), b',');
        assert_eq!(sniff_delimiter(b"User Name\tDisplay Name"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c"), b',');
        assert_eq!(sniff_delimiter(b"User Name"), b',');
    }

    #[test]
    fn knows_the_entra_version_line() {
        assert!(is_version_line(b"version:v1.0"));
        assert!(is_version_line(b"Version:v1.0,,,,"));
        assert!(!is_version_line(b"version:v1.0,User Name"));
        assert!(!is_version_line(b"User Name,Display Name"));
    }

    #[test]
    fn splits_the_first_two_lines_outside_quotes() {
        assert_eq!(
            first_two_lines(b"a,\"b\nc\"\r\nd,e\r\nf"),
            (&b"a,\"b\nc\""[..], &b"d,e"[..])
        );
    }
}
