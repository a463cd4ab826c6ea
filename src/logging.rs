//! Log output through tracing on stderr, as text or one JSON object per line.
//!
//! With `--log-format json` every line on stderr is a JSON object, so a scheduler can ship
//! the stream as it is: what is not a tracing event (the summary, a fatal error) is
//! written by [`json_line`] in the same shape. Nothing logs a password: the pipeline never
//! passes one to a log macro.

use std::io::{IsTerminal, Write};
use std::sync::RwLock;

use indicatif::ProgressBar;

use serde::Serialize;

use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the subscriber for `-q` (`quiet`), `-v` (`verbose`, counted) and
/// `--log-format`. `RUST_LOG` overrides the level they choose.
pub fn init(quiet: bool, verbose: u8, format: LogFormat) {
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("onboard={level},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    // Only fails if a subscriber is already set (as in tests): keep that one.
    let _ = result;
}

/// The progress bar being drawn, if any; log lines are written around it.
static PROGRESS: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// From now on, log lines clear `bar`, are written, and let it redraw below them, so the
/// terminal shows each log line once and the bar at the bottom.
pub fn draw_logs_around(bar: &ProgressBar) {
    if let Ok(mut slot) = PROGRESS.write() {
        *slot = Some(bar.clone());
    }
}

/// stderr for tracing. The fmt layer formats an event and writes it with one
/// `write_all`, so each event is written whole while the bar is suspended.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = PROGRESS.read().ok().and_then(|slot| slot.clone());
        match bar {
            Some(bar) if !bar.is_finished() => {
                bar.suspend(|| std::io::stderr().write_all(buf))?;
            }
            _ => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// One line shaped like tracing's JSON lines: `timestamp`, `level`, `message`, then the
/// fields of `fields` (a struct or map) in their order, then the import's `span` (with
/// its `run_id`) when there is one.
pub fn json_line(
    level: &str,
    message: &str,
    fields: &impl Serialize,
    run_id: Option<&str>,
) -> String {
    #[derive(Serialize)]
    struct Line<'a, F> {
        timestamp: String,
        level: &'a str,
        message: &'a str,
        #[serde(flatten)]
        fields: F,
        #[serde(skip_serializing_if = "Option::is_none")]
        span: Option<Span<'a>>,
    }
    #[derive(Serialize)]
    struct Span<'a> {
        run_id: &'a str,
        name: &'a str,
    }
    let line = Line {
        timestamp: humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
        level,
        message,
        fields,
        span: run_id.map(|run_id| Span {
            run_id,
            name: "import",
        }),
    };
    serde_json::to_string(&line).expect("a log line is plain data")
}
