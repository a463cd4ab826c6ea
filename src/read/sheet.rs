//! Reading a workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) instead of a CSV file.
//!
//! Owns the choice of sheet (the first visible worksheet, or `--sheet NAME`), the header
//! row (the first row with anything in it), and turning cells into the text a CSV cell
//! would have held: strings as they are, whole numbers without `.0`, dates as ISO 8601,
//! booleans as `TRUE`/`FALSE`, error cells (`#N/A`) as empty with a warning. Records come
//! out as the same [`RawRow`]s as from a CSV file, numbered by sheet row as Excel shows it.

use std::borrow::Cow;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{anyhow, bail, Context, Result};
use calamine::{
    open_workbook, Cell, Data, DataRef, ExcelDateTime, Ods, Range, Reader, SheetType, SheetVisible,
    Sheets, Xls, Xlsb, Xlsx,
};
use tracing::info;

use crate::read::package;
use crate::row::{printable, Columns, RawRow, Template};

/// File extensions read as workbooks (any case).
pub const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// The most rows and columns a sheet may have: Excel's own limits.
pub const MAX_ROWS: u32 = 1_048_576;
pub const MAX_COLUMNS: u32 = 16_384;

/// The most a cell may hold: Excel's limit is 32,767 characters, at most four bytes each.
pub const MAX_CELL_BYTES: usize = 4 * 32_767;

/// Whether `path` names a workbook, by its extension.
pub fn is_workbook(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The header row of a sheet.
#[derive(Debug)]
pub struct SheetHeader {
    pub cells: Vec<String>,
    /// Its row number.
    pub line: u64,
    /// Whether an Entra `version:` row came before it.
    pub version_line: bool,
}

/// A row of a sheet with something in it: its number as Excel shows it, and the cells
/// that are not empty, by column (0-based), each its text or the error it shows.
struct SheetRow {
    line: u64,
    cells: Vec<(usize, Result<String, String>)>,
}

impl SheetRow {
    /// The first and last column (0-based) of the cells with more than spaces in them.
    fn filled(&self) -> Option<(usize, usize)> {
        let filled = |(_, c): &&(usize, Result<String, String>)| {
            c.as_ref().map_or(true, |t| !t.trim().is_empty())
        };
        let first = self.cells.iter().find(filled)?.0;
        let last = self.cells.iter().rev().find(filled)?.0;
        Some((first, last))
    }

    /// The cell in `column`, if it is not empty.
    fn cell(&self, column: usize) -> Option<&Result<String, String>> {
        self.cells
            .binary_search_by_key(&column, |(c, _)| *c)
            .ok()
            .map(|i| &self.cells[i].1)
    }
}

/// Where the rows of a sheet come from.
enum Source {
    /// `.xlsx`, `.xlsm` and `.xlsb`: cell by cell from a thread reading the sheet, a
    /// few rows ahead; the sheet is never all in memory.
    Stream(Receiver<Result<SheetRow, String>>),
    /// `.xls` and `.ods`, which calamine reads whole: the rows of the range in turn.
    Whole { range: Range<Data>, next: usize },
}

impl Source {
    fn next(&mut self) -> Option<Result<SheetRow, String>> {
        match self {
            Source::Stream(rows) => rows.recv().ok(),
            Source::Whole { range, next } => {
                let (first_row, first_col) = range.start().unwrap_or((0, 0));
                while *next < range.height() {
                    let i = *next;
                    *next += 1;
                    let cells: Vec<_> = range[i]
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| !matches!(c, Data::Empty))
                        .map(|(j, c)| {
                            let text = cell_text(c).map(Cow::into_owned);
                            (first_col as usize + j, text)
                        })
                        .filter(|(_, t)| t.as_ref().map_or(true, |t| !t.is_empty()))
                        .collect();
                    if !cells.is_empty() {
                        let line = u64::from(first_row) + i as u64 + 1;
                        return Some(Ok(SheetRow { line, cells }));
                    }
                }
                None
            }
        }
    }
}

/// The rows of one sheet after its header.
pub struct SheetRows {
    /// The sheet's name.
    pub name: String,
    source: Source,
    /// The header's columns: from its first to its last non-empty cell (0-based, the end
    /// excluded).
    span: (usize, usize),
    header: Vec<String>,
    /// For the progress bar: records carry a byte position in proportion to their row
    /// number against the sheet's last row.
    file_len: u64,
    last_row: u64,
}

impl SheetRows {
    /// Opens `path`, picks the sheet named `wanted` (or the first visible worksheet) and
    /// reads its header.
    pub fn open(path: &Path, wanted: Option<&str>) -> Result<(SheetRows, SheetHeader)> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read input file {shown}"))?;
        if meta.is_dir() {
            bail!("input {shown} is a folder, not a workbook");
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if ext != "xls" {
            package::check(path)?;
        }
        let opened: Result<Sheets<_>, calamine::Error> = match ext.as_str() {
            "xls" => open_workbook::<Xls<_>, _>(path)
                .map(Sheets::Xls)
                .map_err(calamine::Error::Xls),
            "xlsb" => open_workbook::<Xlsb<_>, _>(path)
                .map(Sheets::Xlsb)
                .map_err(calamine::Error::Xlsb),
            "ods" => open_workbook::<Ods<_>, _>(path)
                .map(Sheets::Ods)
                .map_err(calamine::Error::Ods),
            _ => open_workbook::<Xlsx<_>, _>(path)
                .map(Sheets::Xlsx)
                .map_err(calamine::Error::Xlsx),
        };
        // calamine's messages hold their causes already: no chain of sources.
        let workbook =
            opened.map_err(|e| anyhow!("cannot read {shown} as a workbook (.{ext}): {e}"))?;
        let name = choose_sheet(&workbook, wanted).with_context(|| format!("{shown}"))?;
        let cannot = |e: &dyn std::fmt::Display| {
            anyhow!("cannot read sheet `{}` of {shown}: {e}", printable(&name))
        };
        let (source, last_row) = match workbook {
            Sheets::Xlsx(book) => stream(book, &name).map_err(|e| cannot(&e))?,
            Sheets::Xlsb(book) => stream(book, &name).map_err(|e| cannot(&e))?,
            mut whole => {
                let range = whole.worksheet_range(&name).map_err(|e| cannot(&e))?;
                let last_row = range.end().map_or(0, |(r, _)| u64::from(r) + 1);
                (Source::Whole { range, next: 0 }, last_row)
            }
        };
        let mut rows = SheetRows {
            name,
            source,
            span: (0, 0),
            header: Vec::new(),
            file_len: meta.len(),
            last_row,
        };
        let header = rows.read_header().with_context(|| format!("{shown}"))?;
        info!(
            file = %shown,
            sheet = %printable(&rows.name),
            rows = rows.last_row,
            "reading a workbook"
        );
        Ok((rows, header))
    }

    /// Finds the header row: the first non-empty one, or the one after an Entra
    /// `version:` row.
    fn read_header(&mut self) -> Result<SheetHeader> {
        let mut version_line = false;
        while let Some(row) = self.source.next() {
            let row = row.map_err(|e| anyhow!(e))?;
            let Some((start, last)) = row.filled() else {
                continue;
            };
            let text = |j: usize| match row.cell(j) {
                Some(Ok(t)) => t.trim().to_string(),
                _ => String::new(),
            };
            if !version_line
                && start == last
                && text(start)
                    .get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("version:"))
            {
                version_line = true;
                continue;
            }
            self.span = (start, last + 1);
            self.header = (start..=last).map(text).collect();
            return Ok(SheetHeader {
                cells: self.header.clone(),
                line: row.line,
                version_line,
            });
        }
        if version_line {
            bail!(
                "sheet `{}` has no header row after its `version:` row",
                printable(&self.name)
            );
        }
        bail!("sheet `{}` is empty (no header row)", printable(&self.name))
    }

    /// Reads the next data row into `row`, skipping empty rows and Entra `Example:` rows.
    /// Cells left and right of the header's columns are kept only when a row has
    /// something in them, so the rules report that row as malformed.
    pub fn next_row(&mut self, row: &mut RawRow, columns: &Columns) -> Result<bool> {
        while let Some(next) = self.source.next() {
            let sheet_row = next.map_err(|e| anyhow!(e))?;
            let Some((first, last)) = sheet_row.filled() else {
                continue;
            };
            let from = first.min(self.span.0);
            let to = (last + 1).max(self.span.1);
            row.record.clear();
            row.line = sheet_row.line;
            for j in from..to {
                match sheet_row.cell(j) {
                    None => row.record.push_field(b""),
                    Some(Ok(text)) => row.record.push_field(text.as_bytes()),
                    Some(Err(error)) => {
                        row.record.push_field(b"");
                        let column = self
                            .header
                            .get(j.wrapping_sub(self.span.0))
                            .map_or_else(String::new, |h| format!("{h} "));
                        row.warnings.push(format!(
                            "cell_error: {column}({}{}) is {error}; read as empty",
                            column_letters(j),
                            row.line
                        ));
                    }
                }
            }
            if columns.template == Template::Entra
                && row
                    .record
                    .get(0)
                    .is_some_and(|c| c.trim_ascii_start().starts_with(b"Example:"))
            {
                row.warnings.clear();
                continue;
            }
            let mut position = csv::Position::new();
            let total = self.last_row.max(row.line).max(1);
            position
                .set_byte(self.file_len.saturating_mul(row.line) / total)
                .set_line(row.line)
                .set_record(row.line);
            row.record.set_position(Some(position));
            return Ok(true);
        }
        Ok(false)
    }
}

/// A workbook whose sheets can be read cell by cell.
trait CellStream {
    /// Reads the sheet `name`, handing each cell that is not empty to `cell`; stops when
    /// `cell` says so.
    fn each_cell(
        &mut self,
        name: &str,
        cell: &mut dyn FnMut(Cell<DataRef<'_>>) -> bool,
    ) -> Result<(), String>;
    /// The sheet's last row as its dimensions say, for the progress bar.
    fn last_row(&mut self, name: &str) -> Result<u64, String>;
}

/// The same for `.xlsx` and `.xlsb`: calamine's cell readers have the same methods.
macro_rules! cell_stream {
    ($book:ty) => {
        impl CellStream for $book {
            fn each_cell(
                &mut self,
                name: &str,
                cell: &mut dyn FnMut(Cell<DataRef<'_>>) -> bool,
            ) -> Result<(), String> {
                let mut cells = self
                    .worksheet_cells_reader(name)
                    .map_err(|e| e.to_string())?;
                while let Some(c) = cells.next_cell().map_err(|e| e.to_string())? {
                    if !cell(c) {
                        break;
                    }
                }
                Ok(())
            }

            fn last_row(&mut self, name: &str) -> Result<u64, String> {
                let cells = self
                    .worksheet_cells_reader(name)
                    .map_err(|e| e.to_string())?;
                Ok(u64::from(cells.dimensions().end.0) + 1)
            }
        }
    };
}

cell_stream!(Xlsx<BufReader<File>>);
cell_stream!(Xlsb<BufReader<File>>);

/// Starts a thread that reads the sheet `name` of `book` cell by cell and sends its rows,
/// a few ahead of the reader; it stops at the first cell past a limit, with an error.
fn stream<B: CellStream + Send + 'static>(
    mut book: B,
    name: &str,
) -> Result<(Source, u64), String> {
    let last_row = book.last_row(name)?;
    let (tx, rx) = sync_channel(64);
    let name = name.to_string();
    std::thread::Builder::new()
        .name("sheet".into())
        .spawn(move || pump(&mut book, &name, &tx))
        .map_err(|e| format!("cannot start reading: {e}"))?;
    Ok((Source::Stream(rx), last_row))
}

/// The body of [`stream`]'s thread.
fn pump<B: CellStream>(book: &mut B, name: &str, tx: &SyncSender<Result<SheetRow, String>>) {
    let mut row: Option<SheetRow> = None;
    let mut failed = None;
    let mut open = true;
    let read = book.each_cell(name, &mut |cell| {
        let (r, c) = cell.get_position();
        let place = || format!("sheet `{}`, cell {}{}", printable(name), column_letters(c as usize), u64::from(r) + 1);
        if r >= MAX_ROWS || c >= MAX_COLUMNS {
            failed = Some(format!(
                "{}: past the last row or column a sheet can have ({MAX_ROWS} rows, {MAX_COLUMNS} columns)",
                place()
            ));
            return false;
        }
        let data = Data::from(cell.get_value().clone());
        let text = match cell_text(&data) {
            Ok(t) if t.is_empty() => return true,
            Ok(t) if t.len() > MAX_CELL_BYTES => {
                failed = Some(format!(
                    "{}: holds {} bytes; a cell holds at most 32,767 characters",
                    place(),
                    t.len()
                ));
                return false;
            }
            Ok(t) => Ok(t.into_owned()),
            Err(e) => Err(e),
        };
        let line = u64::from(r) + 1;
        if row.as_ref().is_some_and(|row| row.line != line) {
            let mut done = row.take().expect("a row");
            done.cells.sort_by_key(|(c, _)| *c);
            if tx.send(Ok(done)).is_err() {
                open = false;
                return false; // the reader has stopped
            }
        }
        let current = row.get_or_insert_with(|| SheetRow { line, cells: Vec::new() });
        if current.cells.len() >= MAX_COLUMNS as usize {
            failed = Some(format!("{}: the row has more cells than a sheet has columns", place()));
            return false;
        }
        current.cells.push((c as usize, text));
        true
    });
    if !open {
        return;
    }
    // After an error the row it was in is not sent: the reading fails there.
    if let Some(error) = failed.or(read.err()) {
        let _ = tx.send(Err(error));
    } else if let Some(mut last) = row {
        last.cells.sort_by_key(|(c, _)| *c);
        let _ = tx.send(Ok(last));
    }
}

/// The sheet to read: `wanted` (exactly, else ignoring case), or the first visible
/// worksheet. A name that is not there is an error listing the sheets.
fn choose_sheet<RS: std::io::Read + std::io::Seek>(
    workbook: &Sheets<RS>,
    wanted: Option<&str>,
) -> Result<String> {
    let sheets: Vec<&calamine::Sheet> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .collect();
    if sheets.is_empty() {
        bail!("the workbook has no worksheet");
    }
    let Some(wanted) = wanted else {
        let first = sheets
            .iter()
            .find(|s| s.visible == SheetVisible::Visible)
            .unwrap_or(&sheets[0]);
        return Ok(first.name.clone());
    };
    let found = sheets.iter().find(|s| s.name == wanted).or_else(|| {
        sheets
            .iter()
            .find(|s| s.name.trim().to_lowercase() == wanted.trim().to_lowercase())
    });
    match found {
        Some(s) => Ok(s.name.clone()),
        None => {
            let names: Vec<String> = sheets
                .iter()
                .map(|s| match s.visible {
                    SheetVisible::Visible => format!("`{}`", printable(&s.name)),
                    _ => format!("`{}` (hidden)", printable(&s.name)),
                })
                .collect();
            bail!(
                "there is no sheet `{}`; the sheets are {}",
                printable(wanted),
                names.join(", ")
            )
        }
    }
}

/// The text of a cell, or the error it shows (`#N/A`).
pub fn cell_text(cell: &Data) -> Result<Cow<'_, str>, String> {
    Ok(match cell {
        Data::Empty => Cow::Borrowed(""),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cow::Borrowed(s.as_str()),
        Data::Int(i) => Cow::Owned(i.to_string()),
        Data::Float(f) => Cow::Owned(number(*f)),
        Data::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(dt) => Cow::Owned(date_time(dt)),
        Data::Error(e) => return Err(e.to_string()),
    })
}

/// A number as a person would type it: whole numbers without `.0` (employee IDs, postal
/// codes, phone numbers), others in the shortest form that reads back the same.
fn number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

/// A date as `2026-03-01`, a date and time as `2026-03-01 09:30` (with `:SS` when there
/// are seconds), a time of day as `09:30`, a duration as `37:30:00`.
fn date_time(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        let seconds = (dt.as_f64() * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let s = seconds.abs();
        return format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    let time = match s {
        0 => format!("{h:02}:{mi:02}"),
        _ => format!("{h:02}:{mi:02}:{s:02}"),
    };
    if dt.as_f64() < 1.0 {
        return time; // a time of day without a date
    }
    let date = format!("{y:04}-{mo:02}-{d:02}");
    if (h, mi, s) == (0, 0, 0) {
        date
    } else {
        format!("{date} {time}")
    }
}

/// `A`, `Z`, `AA`… for a 0-based column number.
fn column_letters(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTimeType};

    #[test]
    fn cells_read_as_a_person_would_type_them() {
        let text = |d: Data| cell_text(&d).map(|t| t.into_owned());
        assert_eq!(text(Data::Float(1001.0)), Ok("1001".into()));
        assert_eq!(text(Data::Float(31612345678.0)), Ok("31612345678".into()));
        assert_eq!(text(Data::Float(-0.0)), Ok("0".into()));
        assert_eq!(text(Data::Float(2.5)), Ok("2.5".into()));
        assert_eq!(text(Data::Int(42)), Ok("42".into()));
        assert_eq!(text(Data::Bool(true)), Ok("TRUE".into()));
        assert_eq!(text(Data::String(" x ".into())), Ok(" x ".into()));
        assert_eq!(text(Data::Error(CellErrorType::NA)), Err("#N/A".into()));
        let dt = |v| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(text(dt(46082.0)), Ok("2026-03-01".into()));
        assert_eq!(text(dt(46082.5)), Ok("2026-03-01 12:00".into()));
        assert_eq!(text(dt(0.396_527_777_777_777_8)), Ok("09:31".into()));
        let duration = Data::DateTime(ExcelDateTime::new(
            1.5625,
            ExcelDateTimeType::TimeDelta,
            false,
        ));
        assert_eq!(text(duration), Ok("37:30:00".into()));
    }

    #[test]
    fn column_letters_as_excel_shows_them() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27 * 26), "AAA");
    }

    #[test]
    fn workbooks_by_extension() {
        assert!(is_workbook(Path::new("hr/Users.XLSX")));
        assert!(is_workbook(Path::new("a.ods")));
        assert!(!is_workbook(Path::new("a.csv")));
        assert!(!is_workbook(Path::new("xlsx")));
    }
}
