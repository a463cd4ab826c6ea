//! Reading the spreadsheet as Excel really saves it.
//!
//! Owns everything about the input's bytes: the encoding (UTF-8 with or without BOM,
//! UTF-16 with BOM, else Windows-1252), the delimiter (sniffed from the header line), the
//! optional Entra `version:` line, the header, and the records with their line numbers.
//! A workbook is read by [`crate::read::sheet`] into the same records; a `--columns`
//! mapping ([`crate::read::mapping`]) changes the header and fills in names
//! ([`crate::read::names`]).

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use sha2::{Digest as _, Sha256};
use tracing::warn;

use crate::read::columns::HeaderMap;
use crate::read::mapping::Mapping;
use crate::read::names::NameFiller;
pub(super) use crate::read::quoting::{read_error, QuoteCheck};
use crate::read::sheet::{self, SheetRows};
use crate::row::{Columns, RawRow, Template};

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

/// What the command line adds to reading an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `--sheet`: the sheet of a workbook to read (default: the first visible one).
    pub sheet: Option<String>,
    /// `--columns`: the input's headers mapped to fields, and name patterns.
    pub mapping: Option<Mapping>,
    /// The tenant's default domain, which a User Name without `@` gets.
    pub default_domain: Option<String>,
    /// The file names people to act on (`offboard`, `restore`), not accounts to create:
    /// see [`HeaderMap::identifies`].
    pub identifies: bool,
}

/// An opened input whose header has been read and resolved.
pub struct Input {
    pub path: PathBuf,
    pub encoding: InputEncoding,
    pub delimiter: u8,
    pub columns: Columns,
    /// Line number of the header (1, or 2 after a `version:` line).
    pub header_line: u64,
    reader: csv::Reader<QuoteCheck<Recorder>>,
    /// A workbook's sheet, whose rows are read instead of `reader`'s.
    sheet: Option<SheetRows>,
    /// Fills in names the rows leave out (with a `--columns` mapping).
    names: Option<NameFiller>,
    /// The file's SHA-256, taken from the bytes as they are read.
    hash: InputHash,
    /// Set when a file read as UTF-8 without a BOM turns out not to be.
    not_utf8: NotUtf8,
}

/// Whether a file read as UTF-8 (no BOM) turned out not to be: then its reading stopped
/// at the first such record, and the file is to be read again as Windows-1252 (see
/// [`Input::open_as`]). A handle, as [`InputHash`] is, because the input itself moves
/// to the reader's thread.
#[derive(Clone, Default)]
pub struct NotUtf8(Arc<AtomicBool>);

impl NotUtf8 {
    pub fn found(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A CSV file after its header, as [`Input::into_rest`] leaves it.
pub(super) struct Rest {
    pub(super) path: PathBuf,
    /// The bytes after what the header's reading read.
    pub(super) source: Box<dyn Read + Send>,
    /// What the header's reading read past the header.
    pub(super) ahead: Vec<u8>,
    /// The quoting of the bytes, at the start of the first record.
    pub(super) quoting: QuoteCheck<()>,
    pub(super) delimiter: u8,
    /// The header's width without the columns a mapping generates.
    pub(super) width: usize,
    pub(super) kind: RecordKind,
    pub(super) not_utf8: NotUtf8,
}

/// Which records are rows, as the reader of the whole file judges them.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordKind {
    /// Entra's template: its `Example:` rows are skipped.
    entra: bool,
    /// The file is read as UTF-8 without a BOM: a record that is not UTF-8 stops reading.
    utf8: bool,
}

/// What a record is.
pub(super) enum Judged {
    Row,
    /// A blank row or an Entra `Example:` row.
    Skipped,
    /// Not UTF-8 in a file read as UTF-8: it is read again as Windows-1252.
    NotUtf8,
}

impl RecordKind {
    pub(super) fn of(template: Template, encoding: InputEncoding) -> RecordKind {
        RecordKind {
            entra: template == Template::Entra,
            utf8: encoding == InputEncoding::Utf8,
        }
    }

    /// Whether a record judged a row is known to be UTF-8.
    pub(super) fn checks_utf8(self) -> bool {
        self.utf8
    }

    pub(super) fn judge(self, record: &csv::ByteRecord) -> Judged {
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            return Judged::Skipped;
        }
        if self.entra
            && record
                .get(0)
                .is_some_and(|c| c.trim_ascii().starts_with(b"Example:"))
        {
            return Judged::Skipped;
        }
        if self.utf8 && !crate::row::is_utf8(record) {
            return Judged::NotUtf8;
        }
        Judged::Row
    }
}

/// SHA-256 of an input file, computed from the bytes the reader reads, so the file is not
/// read a second time for it. Complete once the reader has reached the end of the file.
#[derive(Clone, Default)]
pub struct InputHash(Arc<Mutex<HashState>>);

#[derive(Default)]
struct HashState {
    sha: Sha256,
    complete: bool,
}

impl InputHash {
    fn update(&self, bytes: &[u8]) {
        if let Ok(mut state) = self.0.lock() {
            state.sha.update(bytes);
        }
    }

    fn complete(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.complete = true;
        }
    }

    /// The digest of the file at `path` in hex: from the bytes the reader read, or, when
    /// not every byte of the file went through it (a workbook's do not), by reading it.
    pub fn finish(&self, path: &Path) -> io::Result<String> {
        if let Ok(state) = self.0.lock() {
            if state.complete {
                return Ok(format!("{:x}", state.sha.clone().finalize()));
            }
        }
        let mut sha = Sha256::new();
        io::copy(&mut File::open(path)?, &mut sha)?;
        Ok(format!("{:x}", sha.finalize()))
    }
}

/// Passes bytes on and hashes them.
struct Hashing<R> {
    inner: R,
    hash: InputHash,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hash.complete();
        } else {
            self.hash.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// How many bytes at most are looked at to find the header line and its delimiter.
const SNIFF_LIMIT: usize = 2 << 20;

impl Input {
    /// Opens `path`, decides its encoding and delimiter and reads its header.
    pub fn open(path: &Path) -> Result<Input> {
        Input::open_as(path, false)
    }

    /// Opens `path`; a file without BOM is read as UTF-8 unless its first megabyte is not
    /// UTF-8 or `windows_1252` says that a first read found invalid UTF-8 further on.
    /// The rest of a file assumed to be UTF-8 is checked record by record as it is read:
    /// at the first record that is not, reading stops and [`Input::not_utf8`] says so,
    /// which saves a pass over the file for the common case.
    pub fn open_as(path: &Path, windows_1252: bool) -> Result<Input> {
        Input::open_mapped(path, windows_1252, &HeaderMap::default())
    }

    /// Opens `path` as [`Input::open_as`] does, or as a workbook when its extension says
    /// so, with the `--sheet` and `--columns` of `options`.
    pub fn open_with(path: &Path, options: &ReadOptions, windows_1252: bool) -> Result<Input> {
        let mut header_map = options
            .mapping
            .as_ref()
            .map(Mapping::header_map)
            .unwrap_or_default();
        header_map.identifies = options.identifies;
        let mut input = if sheet::is_workbook(path) {
            Input::open_sheet(path, options.sheet.as_deref(), &header_map)?
        } else if let Some(sheet) = &options.sheet {
            bail!(
                "--sheet `{sheet}`: {} is read as CSV; --sheet is for workbooks ({})",
                path.display(),
                sheet::EXTENSIONS.map(|e| format!(".{e}")).join(", ")
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
        .with_context(|| {
            format!(
                "{}, sheet `{}`: bad header",
                path.display(),
                crate::row::printable(&rows.name)
            )
        })?;
        let empty: Box<dyn Read + Send> = Box::new(io::empty());
        Ok(Input {
            path: path.to_path_buf(),
            encoding: InputEncoding::Workbook,
            delimiter: b',',
            columns,
            header_line: header.line,
            reader: csv::Reader::from_reader(QuoteCheck::new(Recorder::new(empty), b',')),
            sheet: Some(rows),
            names: None,
            hash: InputHash::default(),
            not_utf8: NotUtf8::default(),
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
        // The input is read more than once (hashed, maybe read again as Windows-1252): a
        // pipe would give its bytes to the first read only and block the next.
        if !meta.is_file() {
            bail!("input {shown} is not a regular file (a pipe, socket or device); save it to a file first");
        }
        let mut file =
            File::open(path).with_context(|| format!("cannot read input file {shown}"))?;
        let mut head = vec![0u8; 1 << 20];
        let n = read_up_to(&mut file, &mut head)
            .with_context(|| format!("cannot read input file {shown}"))?;
        head.truncate(n);
        let hash = InputHash::default();
        hash.update(&head);
        let rest = Hashing {
            inner: file,
            hash: hash.clone(),
        };
        Input::from_parts(path, head, rest, windows_1252, header_map, hash)
    }

    /// Reads a whole input held in memory (for fuzzing and tests); `name` is only used
    /// in messages.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Input> {
        let hash = InputHash::default();
        hash.update(&bytes);
        let rest = Hashing {
            inner: io::empty(),
            hash: hash.clone(),
        };
        Input::from_parts(name, bytes, rest, false, &HeaderMap::default(), hash)
    }

    /// The input whose first bytes are `head` (up to a megabyte, or all of it) and whose
    /// other bytes come from `rest`.
    fn from_parts(
        path: &Path,
        head: Vec<u8>,
        rest: impl Read + Send + 'static,
        windows_1252: bool,
        header_map: &HeaderMap,
        hash: InputHash,
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
        // Old Mac Excel ends lines with CR alone: make them LF so lines count the same.
        let cr_only = !prefix.contains(&b'\n') && prefix.contains(&b'\r');
        let (first, second) = first_two_lines(&prefix);
        // A first line that says what follows: Excel's `sep=;` or Entra's `version:v1.0`.
        let sep = sep_line(first);
        let version_line = sep.is_none() && is_version_line(first);
        let header_bytes = if sep.is_some() || version_line {
            second
        } else {
            first
        };
        if header_bytes.contains(&0) {
            let before = &prefix[..header_bytes.as_ptr() as usize - prefix.as_ptr() as usize];
            let line_break = if cr_only { b'\r' } else { b'\n' };
            bail!(
                "{shown}, line {}: the header contains NUL bytes; the file is binary or UTF-16 without a BOM (save it as CSV UTF-8)",
                1 + before.iter().filter(|&&b| b == line_break).count()
            );
        }
        let delimiter = sep.unwrap_or_else(|| sniff_delimiter(header_bytes));
        // A final LF makes every record end with one, which `first_line` relies on; the
        // blank line it may add is skipped like any other.
        let whole = Cursor::new(prefix).chain(inner).chain(&b"\n"[..]);
        let whole: Box<dyn Read + Send> = if cr_only {
            Box::new(CrToLf(whole))
        } else {
            Box::new(whole)
        };
        let source = QuoteCheck::new(Recorder::new(whole), delimiter);
        // Records end at LF only (a CR before it is trimmed with the cell), so the csv
        // reader counts every line itself and each record's first line can be derived.
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(256 << 10)
            .from_reader(source);

        // The header is the first line that is not blank, after the `sep=` or `version:`
        // line if there is one.
        let mut header = csv::ByteRecord::new();
        let mut header_line = 0;
        let mut first_line_seen = None;
        while reader
            .read_byte_record(&mut header)
            .map_err(|e| read_error(path, e))?
        {
            if header.len() == 1 && header[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = first_line(&reader, &header);
            if (sep.is_some() || version_line) && first_line_seen.is_none() {
                first_line_seen = Some(line);
                continue;
            }
            header_line = line;
            break;
        }
        if header_line == 0 {
            match first_line_seen {
                Some(line) => bail!(
                    "{shown}, line {line}: the `{}` line is not followed by a header line",
                    if version_line { "version:" } else { "sep=" }
                ),
                None => bail!("{shown}: the file is empty (no header line)"),
            }
        }
        // What the header's reading read ahead is kept for [`Input::into_chunks`].
        reader.get_mut().inner.recording = false;
        // Not UTF-8 only in a file with a UTF-8 BOM and bad bytes: named as read.
        let cells: Vec<_> = header.iter().map(String::from_utf8_lossy).collect();
        let columns = Columns::from_header_mapped(
            cells.iter().map(|c| &**c),
            header_line,
            version_line,
            header_map,
        )
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
            hash,
            not_utf8: NotUtf8::default(),
        })
    }

    /// Reads the next data record into `row`, skipping blank rows and Entra `Example:`
    /// rows, and fills in the names a `--columns` mapping builds. Returns false at the
    /// end of the file.
    pub fn next_row(&mut self, row: &mut RawRow) -> Result<bool> {
        row.forget_reading();
        let more = match &mut self.sheet {
            Some(sheet) => sheet
                .next_row(row, &self.columns)
                .with_context(|| format!("{}", self.path.display()))?,
            None => self.next_csv_row(row)?,
        };
        if more {
            row.fit_to(self.columns.width - self.columns.generated);
        }
        if let (true, Some(names)) = (more, &mut self.names) {
            names.fill(row);
        }
        Ok(more)
    }

    /// [`Input::next_row`] of a CSV file.
    fn next_csv_row(&mut self, row: &mut RawRow) -> Result<bool> {
        self.reader.get_mut().inner.forget();
        let kind = RecordKind::of(self.columns.template, self.encoding);
        loop {
            let more = self
                .reader
                .read_byte_record(&mut row.record)
                .map_err(|e| read_error(&self.path, e))?;
            if !more {
                return Ok(false);
            }
            row.line = first_line(&self.reader, &row.record);
            match kind.judge(&row.record) {
                Judged::Row => {
                    row.utf8 = kind.checks_utf8();
                    return Ok(true);
                }
                Judged::Skipped => continue,
                Judged::NotUtf8 => {
                    self.not_utf8.set();
                    return Ok(false);
                }
            }
        }
    }

    /// What is left of a CSV file after its header, for [`Input::into_chunks`]; the input
    /// itself when its rows need the ordered path (a workbook's, or names a `--columns`
    /// mapping builds in file order).
    pub(super) fn into_rest(self) -> std::result::Result<Rest, Box<Input>> {
        if self.sheet.is_some() || self.names.is_some() {
            return Err(Box::new(self));
        }
        let at = self.reader.position().clone();
        let Recorder { inner, log, .. } = self.reader.into_inner().inner;
        let ahead = log
            .get(at.byte() as usize..)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        Ok(Rest {
            path: self.path,
            source: inner,
            ahead,
            quoting: QuoteCheck::at_record(self.delimiter, at.byte(), at.line()),
            delimiter: self.delimiter,
            width: self.columns.width - self.columns.generated,
            kind: RecordKind::of(self.columns.template, self.encoding),
            not_utf8: self.not_utf8,
        })
    }

    /// Whether reading stopped because the file is not UTF-8 after all.
    pub fn not_utf8(&self) -> NotUtf8 {
        self.not_utf8.clone()
    }

    /// The file's hash, complete once every record has been read.
    pub fn hash(&self) -> InputHash {
        self.hash.clone()
    }

    /// The header's width, which every record must match.
    pub fn width(&self) -> usize {
        self.columns.width
    }
}

/// The line a record started on. The reader has counted every LF up to the end of the
/// record: the record's own terminator (every record has one, see `open`), the LFs inside
/// its quoted cells and any blank lines it skipped before it.
pub(super) fn first_line<R: Read>(reader: &csv::Reader<R>, record: &csv::ByteRecord) -> u64 {
    let embedded = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
    reader.position().line().saturating_sub(embedded + 1).max(1)
}

/// Passes the bytes of the whole input on and keeps a copy of those read while
/// `recording`: the header's reading reads ahead, and [`Input::into_chunks`] hands what it
/// read past the header on to the workers.
pub(super) struct Recorder {
    inner: Box<dyn Read + Send>,
    log: Vec<u8>,
    recording: bool,
}

impl Recorder {
    fn new(inner: Box<dyn Read + Send>) -> Recorder {
        Recorder {
            inner,
            log: Vec::new(),
            recording: true,
        }
    }

    /// Lets go of the copy once the records are read here.
    fn forget(&mut self) {
        if self.log.capacity() > 0 {
            self.log = Vec::new();
        }
    }
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.recording {
            self.log.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
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

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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
    let mut scanned = 0;
    loop {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&chunk[..n]);
        // Look for the lines again only when the prefix has doubled, so that a first
        // line of many megabytes is scanned a few times, not once for every chunk.
        if prefix.len() < 2 * scanned && prefix.len() < SNIFF_LIMIT {
            continue;
        }
        scanned = prefix.len();
        let (_, second) = first_two_lines(&prefix);
        let second_complete = second.as_ptr_range().end < prefix.as_ptr_range().end;
        if (second_complete && !second.is_empty()) || prefix.len() >= SNIFF_LIMIT {
            break;
        }
    }
    Ok(prefix)
}

/// The first two lines that are not blank (ends outside quotes), without their line
/// endings.
fn first_two_lines(buf: &[u8]) -> (&[u8], &[u8]) {
    let buf = skip_blank_lines(buf);
    let first = &buf[..line_end(buf)];
    let rest = skip_blank_lines(&buf[first.len()..]);
    (first, &rest[..line_end(rest)])
}

/// `buf` from the start of its first line that holds more than spaces.
fn skip_blank_lines(buf: &[u8]) -> &[u8] {
    let mut start = 0;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'\r' | b'\n' => start = i + 1,
            b' ' => {}
            _ => break,
        }
    }
    &buf[start..]
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

/// The delimiter named by Excel's `sep=;` first line (`,` `;` or tab), if it is one.
fn sep_line(line: &[u8]) -> Option<u8> {
    match line {
        [s, e, p, b'=', d] if [*s, *e, *p].eq_ignore_ascii_case(b"sep") => {
            matches!(d, b',' | b';' | b'\t').then_some(*d)
        }
        _ => None,
    }
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
    fn knows_the_excel_sep_line() {
        assert_eq!(sep_line(b"sep=;"), Some(b';'));
        assert_eq!(sep_line(b"SEP=\t"), Some(b'\t'));
        assert_eq!(sep_line(b"sep=,"), Some(b','));
        assert_eq!(sep_line(b"sep=|"), None);
        assert_eq!(sep_line(b"sep=;;"), None);
        assert_eq!(sep_line(b"User Name;sep=;"), None);
    }

    #[test]
    fn splits_the_first_two_lines_outside_quotes() {
        assert_eq!(
            first_two_lines(b"a,\"b\nc\"\r\nd,e\r\nf"),
            (&b"a,\"b\nc\""[..], &b"d,e"[..])
        );
        assert_eq!(
            first_two_lines(b"\r\n  \r\na;b\r\n\r\n\r\nc;d"),
            (&b"a;b"[..], &b"c;d"[..])
        );
    }
}
