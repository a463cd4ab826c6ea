//! Log output through tracing on stderr, as text or one JSON object per line.
//!
//! With `--log-format json` every line on stderr is a JSON object, so a scheduler can ship
//! the stream as it is: what is not a tracing event (the summary, a fatal error) is
//! written by [`json_line`] in the same shape. Nothing logs a password: the pipeline never
//! passes one to a log macro.

use std::io::IsTerminal;

use serde::Serialize;

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the subscriber. `RUST_LOG` overrides the level chosen by -q/-v.
pub fn init(args: &GlobalArgs) {
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
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
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let result = match args.log_format {
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
