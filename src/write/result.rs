//! The result file (docs/results.md): staged in a private temporary file next to its
//! final path, synced to disk, and renamed into place only after the directory has
//! committed.
//!
//! Every cell that a spreadsheet would run as a formula is written with a leading `'`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use tempfile::NamedTempFile;

use sha2::{Digest as _, Sha256};
use tracing::warn;

use crate::password::Password;
use crate::plan::PlannedRow;
use crate::row::{escape_controls, printable, Columns, Field};
use crate::tenant::Tenant;
use crate::write::file::{self, Target};

/// The result file's columns, in order.
pub const RESULT_HEADER: [&str; 8] = [
    "Line",
    "User Name",
    "Display Name",
    "Status",
    "Password",
    "Licenses",
    "Warnings",
    "Errors",
];

/// `'` before a cell that starts with `= + - @`, tab or CR, so no formula runs; and
/// before such a character behind an embedded `,` `;` or tab (spaces between allowed),
/// since a spreadsheet that splits the file on another delimiter than its own starts a
/// cell there (`Jansen,=HYPERLINK(…)` → `Jansen,'=HYPERLINK(…)`).
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    defuse_where(cell, true)
}

/// [`defuse`], looking behind embedded delimiters only when `embedded` says the cell may
/// have them: a result row whose input record has no `,` `;` or tab has none in its cells
/// (onboard's own words never put a formula character behind one), and skipping the
/// search on each of its eight cells measured 9% of a dry run.
fn defuse_where(cell: &str, embedded: bool) -> std::borrow::Cow<'_, str> {
    let bytes = cell.as_bytes();
    let trigger = |b: u8| matches!(b, b'=' | b'+' | b'-' | b'@');
    let at_start = matches!(
        bytes.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let inside = embedded && memchr::memchr3(b',', b';', b'\t', bytes).is_some() && {
        let mut after_delimiter = false;
        bytes.iter().any(|&b| match b {
            b',' | b';' | b'\t' => {
                after_delimiter = true;
                false
            }
            b' ' => false,
            _ => std::mem::replace(&mut after_delimiter, false) && trigger(b),
        })
    };
    if !at_start && !inside {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len() + 4);
    if at_start {
        out.push('\'');
    }
    let mut after_delimiter = false;
    for c in cell.chars() {
        match c {
            ',' | ';' | '\t' => after_delimiter = true,
            ' ' => {}
            _ => {
                if after_delimiter && c.is_ascii() && trigger(c as u8) {
                    out.push('\'');
                }
                after_delimiter = false;
            }
        }
        out.push(c);
    }
    out.into()
}

/// What [`defuse`] wrote, as it was: the `'` it put before a formula character (at the
/// start, or behind an embedded `,` `;` or tab) is taken away again. Used where onboard
/// reads its own result file back (the passwords of `onboard mail`).
pub fn undefuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let trigger = |c: Option<char>| matches!(c, Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if !cell.contains('\'') {
        return cell.into();
    }
    let mut out = String::with_capacity(cell.len());
    let mut after_delimiter = true; // the start counts as one
    let mut chars = cell.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if after_delimiter && trigger(chars.peek().copied()) => {
                after_delimiter = false;
                continue;
            }
            ',' | ';' | '\t' => after_delimiter = true,
            ' ' if out.is_empty() => after_delimiter = false,
            ' ' => {}
            _ => after_delimiter = false,
        }
        out.push(c);
    }
    out.into()
}

/// A created or restored user's line of the result file: their names and password.
pub struct Credential {
    pub display_name: String,
    pub user_name: String,
    pub password: Password,
}

/// The created and restored users of a result file, by lower-cased User Name: their
/// display names and passwords (without the `'` that keeps a spreadsheet from reading a
/// formula).
pub fn read_credentials(path: &Path) -> Result<HashMap<String, Credential>> {
    credentials_in(path, &read_result_file(path)?)
}

/// A result file's bytes, zeroed when dropped (they hold passwords).
pub fn read_result_file(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the result file {}", path.display()))?;
    Ok(zeroize::Zeroizing::new(bytes))
}

/// [`read_credentials`] of the bytes of the result file at `path`.
pub fn credentials_in(path: &Path, bytes: &[u8]) -> Result<HashMap<String, Credential>> {
    let shown = path.display();
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let delimiter = match text.get(4) {
        Some(&d @ (b',' | b';' | b'\t')) if text.starts_with(b"Line") => d,
        _ => bail!("{shown} is not a result file of onboard: it does not start with the header `Line,User Name,...`"),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text);
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!("{shown} has no `{name}` column: is it a result file of onboard?")
        })
    };
    let (user, display, status, password) = (
        column("User Name")?,
        column("Display Name")?,
        column("Status")?,
        column("Password")?,
    );
    let mut found = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{shown}: line {}", i + 2))?;
        let cell = |n: usize| record.get(n).unwrap_or_default();
        if !matches!(cell(status), "created" | "restored") || cell(password).is_empty() {
            continue;
        }
        let user_name = undefuse(cell(user)).into_owned();
        found.insert(
            user_name.to_lowercase(),
            Credential {
                display_name: undefuse(cell(display)).into_owned(),
                user_name,
                password: Password::given(&undefuse(cell(password))),
            },
        );
    }
    Ok(found)
}

/// Where a result file goes: refuses to overwrite unless forced.
#[derive(Debug, Clone)]
pub struct Destination {
    pub path: PathBuf,
    pub force: bool,
}

impl Destination {
    /// The result file as one of the run's outputs, for [`file::check`].
    pub fn target(&self) -> Target {
        Target {
            path: self.path.clone(),
            what: "result file",
            option: "-o",
            force: self.force,
            private: true,
        }
    }

    /// The destination's folder, absolute, so recorded paths work from any folder.
    fn folder(&self) -> PathBuf {
        file::folder(&self.path)
    }

    /// Staged files of this destination left in its folder by earlier runs.
    pub fn staged_files(&self) -> Result<Vec<PathBuf>> {
        let prefix = self.staged_prefix();
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.folder()) else {
            return Ok(found);
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".partial") {
                found.push(entry.path());
            }
        }
        Ok(found)
    }

    /// Name prefix of this destination's staged files, so a later run can find them.
    pub fn staged_prefix(&self) -> String {
        format!(
            ".{}.",
            self.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    }
}

/// SHA-256 and size of the bytes written through it.
struct Hashing<W> {
    inner: W,
    /// `None`: only the size is kept (a dry run's file is never recovered).
    sha: Option<Sha256>,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(sha) = &mut self.sha {
            sha.update(&buf[..n]);
        }
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a staged file held when it was written: a later run renames only that file
/// into place (see `import::finish`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 in hex.
    pub sha256: String,
    pub size: u64,
}

impl Fingerprint {
    /// The fingerprint of the regular file at `path` (not through a link), or `None`.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_file() {
            return None;
        }
        let mut file = File::open(path).ok()?;
        let mut out = Hashing {
            inner: std::io::sink(),
            sha: Some(Sha256::new()),
            len: 0,
        };
        std::io::copy(&mut file, &mut out).ok()?;
        Some(Fingerprint {
            sha256: out
                .sha
                .map(|s| format!("{:x}", s.finalize()))
                .unwrap_or_default(),
            size: out.len,
        })
    }
}

/// A result file being written.
pub struct ResultWriter {
    out: BufWriter<Hashing<File>>,
    /// Rows not yet in `out`.
    rows: RowFormatter,
    staged: tempfile::TempPath,
    destination: Destination,
}

/// Buffers for the joined cells of result rows, reused from row to row.
#[derive(Default)]
struct Scratch {
    licenses: String,
    warnings: String,
    errors: String,
}

/// A complete result file on disk, not yet in place.
pub struct StagedResult {
    staged: tempfile::TempPath,
    destination: Destination,
    pub fingerprint: Fingerprint,
}

impl ResultWriter {
    /// Starts a staged file (mode 0600) in the destination's folder.
    /// With `fingerprint`, the file's SHA-256 is taken as it is written, for the run's
    /// record (a dry run records nothing, and hashing measured 9% of its time).
    pub fn create(
        destination: &Destination,
        delimiter: u8,
        bom: bool,
        fingerprint: bool,
    ) -> Result<ResultWriter> {
        let tmp = tempfile::Builder::new()
            .prefix(&destination.staged_prefix())
            .suffix(".partial")
            .tempfile_in(destination.folder())
            .with_context(|| {
                format!(
                    "cannot create a temporary file next to {}",
                    destination.path.display()
                )
            })?;
        let (file, staged) = NamedTempFile::into_parts(tmp);
        let file = Hashing {
            inner: file,
            sha: fingerprint.then(Sha256::new),
            len: 0,
        };
        let mut out = BufWriter::with_capacity(256 << 10, file);
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let mut rows = RowFormatter::new(delimiter);
        rows.writer.write_record(RESULT_HEADER)?;
        Ok(ResultWriter {
            out,
            rows,
            staged,
            destination: destination.clone(),
        })
    }

    /// Path of the staged file, recorded in the directory so it can be found after a crash.
    pub fn staged_path(&self) -> &Path {
        &self.staged
    }

    /// Writes the result row of `p` ([`RowFormatter::format`]).
    pub fn write_row(&mut self, tenant: &Tenant, columns: &Columns, p: &PlannedRow) -> Result<()> {
        self.rows.format(tenant, columns, p)?;
        self.spill(SPILL)
    }

    /// Writes result rows that a [`RowFormatter`] made.
    pub fn write_formatted(&mut self, rows: &[u8]) -> Result<()> {
        self.spill(0)?;
        self.out
            .write_all(rows)
            .context("cannot write the result file")
    }

    /// Writes a result row of `offboard`, `restore` or `purge`: the same eight columns.
    pub fn write_cells(&mut self, cells: [&str; 8]) -> Result<()> {
        let embedded = cells
            .iter()
            .any(|c| memchr::memchr3(b',', b';', b'\t', c.as_bytes()).is_some());
        write_cells(&mut self.rows.writer, cells, embedded)?;
        self.spill(SPILL)
    }

    /// Moves the rows made so far to the file once they are `at_least` bytes.
    fn spill(&mut self, at_least: usize) -> Result<()> {
        let rows = self.rows.rows()?;
        if rows.len() >= at_least.max(1) {
            self.out
                .write_all(rows)
                .context("cannot write the result file")?;
            self.rows.clear();
        }
        Ok(())
    }

    /// Flushes the staged file and, with `sync`, syncs it: then its content survives a
    /// crash (a dry run creates nobody, so its file needs no sync).
    pub fn finish(mut self, sync: bool) -> Result<StagedResult> {
        self.spill(0)?;
        let hashing = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the result file")?;
        let fingerprint = Fingerprint {
            sha256: hashing
                .sha
                .map(|s| format!("{:x}", s.finalize()))
                .unwrap_or_default(),
            size: hashing.len,
        };
        let file = hashing.inner;
        if sync {
            file.sync_all().context("cannot sync the result file")?;
        }
        Ok(StagedResult {
            staged: self.staged,
            destination: self.destination,
            fingerprint,
        })
    }
}

/// Result rows made in memory, by the thread that checked them, for a [`ResultWriter`]
/// to write in file order: the same bytes as [`ResultWriter::write_row`] writes.
pub struct RowFormatter {
    writer: csv::Writer<Vec<u8>>,
    scratch: Scratch,
    delimiter: u8,
}

/// How many bytes of rows a [`ResultWriter`] makes before it writes them to its file.
const SPILL: usize = 64 << 10;

impl RowFormatter {
    pub fn new(delimiter: u8) -> RowFormatter {
        RowFormatter {
            writer: csv_writer(delimiter, Vec::with_capacity(2 * SPILL)),
            scratch: Scratch::default(),
            delimiter,
        }
    }

    /// Adds the result row of `p`: its line, names, status, password, licences, warnings
    /// and errors.
    pub fn format(&mut self, tenant: &Tenant, columns: &Columns, p: &PlannedRow) -> Result<()> {
        use std::fmt::Write as _;
        let Scratch {
            licenses,
            warnings,
            errors,
        } = &mut self.scratch;
        licenses.clear();
        for (i, &l) in p.licenses.iter().enumerate() {
            if i > 0 {
                licenses.push('+');
            }
            licenses.push_str(&tenant.licenses[l as usize].sku);
        }
        warnings.clear();
        for (i, w) in p.warnings.iter().enumerate() {
            if i > 0 {
                warnings.push_str(" | ");
            }
            warnings.push_str(w);
        }
        errors.clear();
        for (i, e) in p.row.errors.iter().enumerate() {
            if i > 0 {
                errors.push_str(" | ");
            }
            let _ = write!(errors, "{e}");
        }
        write_cells(
            &mut self.writer,
            [
                itoa::Buffer::new().format(p.row.line),
                &escape_controls(&p.row.user_name),
                &escape_controls(p.row.cell(columns, Field::DisplayName)),
                p.status().as_str(),
                p.password.as_ref().map_or("", Password::expose),
                licenses,
                warnings,
                errors,
            ],
            memchr::memchr3(b',', b';', b'\t', p.row.record.text().as_bytes()).is_some(),
        )
    }

    /// The rows made since the last [`RowFormatter::clear`].
    pub fn rows(&mut self) -> Result<&[u8]> {
        self.writer
            .flush()
            .context("cannot write the result file")?;
        Ok(self.writer.get_ref())
    }

    /// Forgets the rows made, keeping the buffer.
    pub fn clear(&mut self) {
        let empty = csv_writer(self.delimiter, Vec::new());
        let mut buffer = std::mem::replace(&mut self.writer, empty)
            .into_inner()
            .unwrap_or_default();
        buffer.clear();
        self.writer = csv_writer(self.delimiter, buffer);
    }
}

/// The csv writer of result rows: the input's delimiter, CRLF line ends.
fn csv_writer(delimiter: u8, out: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// Writes one result row; cells are defused here (see [`defuse_where`] for `embedded`).
fn write_cells(writer: &mut csv::Writer<Vec<u8>>, cells: [&str; 8], embedded: bool) -> Result<()> {
    for c in cells {
        writer
            .write_field(defuse_where(c, embedded).as_bytes())
            .context("cannot write the result file")?;
    }
    writer
        .write_record(None::<&[u8]>)
        .context("cannot write the result file")
}

impl StagedResult {
    pub fn staged_path(&self) -> &Path {
        &self.staged
    }

    /// Renames the staged file into place (never over an existing file unless forced).
    /// A file that took the name after the checks at the start (without `--force`) is
    /// left alone: the result then stays at the staged path, which is returned, and a
    /// warning says where.
    pub fn publish(self) -> Result<PathBuf> {
        let dest = self.destination.path.clone();
        let kept = self
            .staged
            .keep()
            .context("cannot keep the staged result file")?;
        let moved = if self.destination.force {
            std::fs::rename(&kept, &dest)
        } else {
            // A hard link fails if the name was taken meanwhile; then drop the staged name.
            std::fs::hard_link(&kept, &dest).and_then(|()| std::fs::remove_file(&kept))
        };
        match moved {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                warn!(
                    file = %printable(&dest.display().to_string()),
                    kept = %printable(&kept.display().to_string()),
                    "the result file's name was taken while the run worked; the result file (with the passwords) stays at the kept path"
                );
                return Ok(kept);
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot move the result file into place; it is at {}",
                        kept.display()
                    )
                })
            }
        }
        file::sync_folder(&dest);
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefuse_gives_back_what_defuse_was_given() {
        for cell in [
            "=1+1",
            "-x",
            "@SUM(A1)",
            "a,=b",
            "a; +b",
            "plain",
            "'t Hooft",
            "x,'y",
            "+31 6 1234",
            "Jansen,=HYPERLINK(x)",
        ] {
            assert_eq!(undefuse(&defuse(cell)), cell, "{cell}");
        }
    }

    #[test]
    fn defuses_formula_starts_only() {
        assert_eq!(defuse("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(defuse("+31 20 555"), "'+31 20 555");
        assert_eq!(defuse("-x"), "'-x");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("\tx"), "'\tx");
        assert_eq!(defuse("a=b"), "a=b");
        assert_eq!(
            defuse("Jansen,=HYPERLINK(\"x\")"),
            "Jansen,'=HYPERLINK(\"x\")"
        );
        assert_eq!(defuse("Jansen; @SUM(A1)"), "Jansen; '@SUM(A1)");
        assert_eq!(defuse("a\t+1"), "a\t'+1");
        assert_eq!(defuse("=a,-b"), "'=a,'-b");
        assert_eq!(defuse("Smit, Anna"), "Smit, Anna");
        assert_eq!(defuse("Smit,, Anna"), "Smit,, Anna");
        assert_eq!(defuse("x,é=y"), "x,é=y");
        assert_eq!(defuse(""), "");
    }
}
