//! `onboard runs`: the import history from the directory's `runs` table, newest first,
//! as a table, CSV or JSON. Only committed imports are there: a dry run records nothing.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{GlobalArgs, RunsArgs, TableFormat};
use crate::store::{Access, Directory, RunRecord};

/// One import as shown; the JSON form of `onboard runs --format json`.
#[derive(Debug, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub input: String,
    pub input_sha256: String,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub failed: u64,
    pub result_file: String,
    /// `import`, `offboard`, `restore` or `purge`.
    pub kind: String,
    pub offboarded: u64,
    pub restored: u64,
    pub purged: u64,
}

impl From<RunRecord> for RunRow {
    fn from(r: RunRecord) -> RunRow {
        RunRow {
            run_id: r.run_id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            input: r.input_name,
            input_sha256: r.input_sha256,
            rows: r.rows,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            skipped: r.skipped,
            failed: r.failed,
            result_file: r.result_file,
            kind: r.kind,
            offboarded: r.offboarded,
            restored: r.restored,
            purged: r.purged,
        }
    }
}

pub fn run(global: &GlobalArgs, args: RunsArgs) -> Result<u8> {
    let dir = Directory::open(&global.directory, Access::Read, Duration::from_secs(10))?;
    let limit = match args.limit {
        0 => i64::MAX as usize,
        n => n,
    };
    let rows: Vec<RunRow> = match &dir {
        Some(d) => d.runs(limit)?.into_iter().map(RunRow::from).collect(),
        None => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    super::ignore_broken_pipe(write(&mut out, &rows, args.format))?;
    Ok(crate::exit::OK)
}

const HEADER: [&str; 16] = [
    "Run ID",
    "Started",
    "Finished",
    "Input",
    "Input SHA-256",
    "Rows",
    "Created",
    "Updated",
    "Unchanged",
    "Skipped",
    "Failed",
    "Result File",
    "Kind",
    "Offboarded",
    "Restored",
    "Purged",
];

fn write(out: &mut impl Write, rows: &[RunRow], format: TableFormat) -> Result<()> {
    match format {
        TableFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
        TableFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(HEADER)?;
            for r in rows {
                w.serialize((
                    &r.run_id,
                    &r.started_at,
                    &r.finished_at,
                    &r.input,
                    &r.input_sha256,
                    r.rows,
                    r.created,
                    r.updated,
                    r.unchanged,
                    r.skipped,
                    r.failed,
                    &r.result_file,
                    &r.kind,
                    r.offboarded,
                    r.restored,
                    r.purged,
                ))?;
            }
            w.flush()?;
        }
        TableFormat::Table => write_table(out, rows)?,
    }
    Ok(())
}

const STARTED: &str = "STARTED (UTC)";

/// Hex digits of the input's SHA-256 shown in the table: enough to tell files apart.
const SHORT_SHA: usize = 8;

/// An aligned table: text columns left, counts right, the result file last so a long
/// path does not push the counts apart; paths shown relative to the current folder when
/// they are in it (the record holds them absolute; CSV and JSON show that).
fn write_table(out: &mut impl Write, rows: &[RunRow]) -> std::io::Result<()> {
    let cwd = std::env::current_dir().ok();
    let relative = |path: &str| match &cwd {
        Some(cwd) => Path::new(path)
            .strip_prefix(cwd)
            .map_or(path.to_string(), |p| p.display().to_string()),
        None => path.to_string(),
    };
    let result_file = |r: &RunRow| relative(&r.result_file);
    let input = |r: &RunRow| relative(&r.input);
    // To the minute, as `ls -l` does, so a row fits 120 columns; CSV and JSON have the
    // seconds. "2026-11-25T03:31:53Z" becomes "2026-11-25 03:31".
    let when = |r: &RunRow| {
        let t = r.started_at.replacen('T', " ", 1);
        t.get(..16).map_or(t.clone(), str::to_string)
    };
    let short = |r: &RunRow| r.input_sha256.chars().take(SHORT_SHA).collect::<String>();
    let width = |title: &str, cell: &dyn Fn(&RunRow) -> usize| {
        rows.iter().map(cell).max().unwrap_or(0).max(title.len())
    };
    let w_when = width(STARTED, &|r| when(r).chars().count());
    // The kind and the leaver counts only once a run other than an import is listed, so
    // that an import-only history keeps to 120 columns.
    let people = rows.iter().any(|r| r.kind != "import");
    let w_kind = if people {
        width("KIND", &|r| r.kind.len())
    } else {
        0
    };
    let kind_cell = |kind: &str| {
        if people {
            format!("  {kind:<w_kind$}")
        } else {
            String::new()
        }
    };
    let w_input = width("INPUT", &|r| input(r).chars().count());
    let w_sha = width("SHA256", &|r| short(r).len());
    let counts = |r: &RunRow| {
        [
            r.rows,
            r.created,
            r.updated,
            r.unchanged,
            r.skipped,
            r.failed,
            r.offboarded,
            r.restored,
            r.purged,
        ]
    };
    const COUNT_TITLES: [&str; 9] = [
        "ROWS",
        "CREATED",
        "UPDATED",
        "UNCHANGED",
        "SKIPPED",
        "FAILED",
        "OFFBOARDED",
        "RESTORED",
        "PURGED",
    ];
    let w_counts: Vec<usize> = COUNT_TITLES
        .iter()
        .enumerate()
        .map(|(i, t)| width(t, &|r| counts(r)[i].to_string().len()))
        .collect();

    let shown = if people { COUNT_TITLES.len() } else { 6 };
    write!(
        out,
        "{:<w_when$}{}  {:<w_input$}  {:<w_sha$}",
        STARTED,
        kind_cell("KIND"),
        "INPUT",
        "SHA256"
    )?;
    for (t, w) in COUNT_TITLES.iter().zip(&w_counts).take(shown) {
        write!(out, "  {t:>w$}")?;
    }
    writeln!(out, "  RESULT FILE")?;
    for r in rows {
        write!(
            out,
            "{:<w_when$}{}  {:<w_input$}  {:<w_sha$}",
            when(r),
            kind_cell(&r.kind),
            input(r),
            if r.input_sha256.is_empty() {
                "-".to_string()
            } else {
                short(r)
            }
        )?;
        for (n, w) in counts(r).iter().zip(&w_counts).take(shown) {
            write!(out, "  {n:>w$}")?;
        }
        writeln!(out, "  {}", result_file(r))?;
    }
    Ok(())
}
