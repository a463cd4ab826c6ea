//! Reading a workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) instead of a CSV file.
//!
//! Owns the choice of sheet (the first visible worksheet, or `--sheet NAME`), the header
//! row (the first row with anything in it), and turning cells into the text a CSV cell
//! would have held: strings as they are, whole numbers without `.0`, dates as ISO 8601,
//! booleans as `TRUE`/`FALSE`, error cells (`#N/A`) as empty with a warning. Records come
//! out as the same [`RawRow`]s as from a CSV file, numbered by sheet row as Excel shows it.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use calamine::{
    open_workbook, Data, ExcelDateTime, Ods, Range, Reader, SheetType, SheetVisible, Sheets, Xls,
    Xlsb, Xlsx,
};
use tracing::info;

use crate::row::{printable, Columns, RawRow, Template};

/// File extensions read as workbooks (any case).
pub const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

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

/// The rows of one sheet after its header, read into memory.
pub struct SheetRows {
    /// The sheet's name.
    pub name: String,
    range: Range<Data>,
    /// Row and column numbers (0-based) of the range's first cell in the sheet.
    first_row: u64,
    first_col: usize,
    /// Index into the range of the next row to read.
    next: usize,
    /// The header's columns in the range: from its first to its last non-empty cell.
    span: (usize, usize),
    header: Vec<String>,
    /// For the progress bar: records carry a byte position in proportion to their row.
    file_len: u64,
}

impl SheetRows {
    /// Opens `path`, picks the sheet named `wanted` (or the first visible worksheet) and
    /// reads its header.
    pub fn open(path: &Path, wanted: Option<&str>) -> Result<(SheetRows, SheetHeader)> {
        let shown = path.display();
        if std::fs::metadata(path)
            .with_context(|| format!("cannot read input file {shown}"))?
            .is_dir()
        {
            bail!("input {shown} is a folder, not a workbook");
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
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
        let mut workbook =
            opened.map_err(|e| anyhow!("cannot read {shown} as a workbook (.{ext}): {e}"))?;
        let name = choose_sheet(&workbook, wanted).with_context(|| format!("{shown}"))?;
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| anyhow!("cannot read sheet `{}` of {shown}: {e}", printable(&name)))?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut rows = SheetRows {
            name,
            range,
            first_row: u64::from(first_row),
            first_col: first_col as usize,
            next: 0,
            span: (0, 0),
            header: Vec::new(),
            file_len,
        };
        let header = rows.read_header().with_context(|| format!("{shown}"))?;
        info!(
            file = %shown,
            sheet = %printable(&rows.name),
            rows = rows.range.height(),
            "reading a workbook"
        );
        Ok((rows, header))
    }

    /// Finds the header row: the first non-empty one, or the one after an Entra
    /// `version:` row.
    fn read_header(&mut self) -> Result<SheetHeader> {
        let mut version_line = false;
        while self.next < self.range.height() {
            let i = self.next;
            self.next += 1;
            let texts: Vec<String> = self.range[i]
                .iter()
                .map(|c| cell_text(c).map_or(String::new(), |t| t.trim().to_string()))
                .collect();
            let Some(start) = texts.iter().position(|t| !t.is_empty()) else {
                continue;
            };
            let end = texts
                .iter()
                .rposition(|t| !t.is_empty())
                .map_or(0, |e| e + 1);
            if !version_line
                && end == start + 1
                && texts[start]
                    .get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("version:"))
            {
                version_line = true;
                continue;
            }
            self.span = (start, end);
            self.header = texts[start..end].to_vec();
            return Ok(SheetHeader {
                cells: self.header.clone(),
                line: self.line(i),
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

    /// The sheet row number (1-based) of the range's row `i`.
    fn line(&self, i: usize) -> u64 {
        self.first_row + i as u64 + 1
    }

    /// Reads the next data row into `row`, skipping empty rows and Entra `Example:` rows.
    /// Cells left and right of the header's columns are kept only when a row has
    /// something in them, so the rules report that row as malformed.
    pub fn next_row(&mut self, row: &mut RawRow, columns: &Columns) -> bool {
        while self.next < self.range.height() {
            let i = self.next;
            self.next += 1;
            let cells = &self.range[i];
            let filled = |c: &Data| cell_text(c).is_ok_and(|t| !t.trim().is_empty());
            let Some(first) = cells.iter().position(filled) else {
                continue;
            };
            let last = cells.iter().rposition(filled).unwrap_or(first);
            let from = first.min(self.span.0);
            let to = (last + 1).max(self.span.1);
            row.record.clear();
            row.line = self.line(i);
            for (j, cell) in cells.iter().enumerate().take(to).skip(from) {
                match cell_text(cell) {
                    Ok(text) => row.record.push_field(text.as_bytes()),
                    Err(error) => {
                        row.record.push_field(b"");
                        let column = self
                            .header
                            .get(j.wrapping_sub(self.span.0))
                            .map_or_else(String::new, |h| format!("{h} "));
                        row.warnings.push(format!(
                            "cell_error: {column}({}{}) is {error}; read as empty",
                            column_letters(self.first_col + j),
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
            let done = (i + 1) as u64;
            let total = self.range.height().max(1) as u64;
            position
                .set_byte(self.file_len.saturating_mul(done) / total)
                .set_line(row.line)
                .set_record(done);
            row.record.set_position(Some(position));
            return true;
        }
        false
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
