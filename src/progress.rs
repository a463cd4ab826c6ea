//! What an import shows on stderr while it runs: a bar over the input file, then a
//! spinner while the run is saved (the directory commit and the result file), so the
//! terminal is never silent. Hidden when stderr is not a terminal (unless `always`),
//! with `-q`, and with `--progress never`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ProgressMode;

/// Redraws a second; also how often the spinner turns.
const HZ: u8 = 10;

/// The bar for the pipeline (hidden when nothing is to be shown) and what follows it.
pub struct Progress {
    bar: ProgressBar,
    saving: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    /// `saving` is what the spinner says once the whole input is read, e.g.
    /// "committing to onboard.db".
    pub fn new(quiet: bool, mode: ProgressMode, input: &Path, saving: String) -> Progress {
        let show = match mode {
            ProgressMode::Never => false,
            ProgressMode::Always => true,
            ProgressMode::Auto => std::io::stderr().is_terminal(),
        };
        if quiet || !show {
            return Progress {
                bar: ProgressBar::hidden(),
                saving: None,
            };
        }
        // No length until the pipeline knows the file's: a length of 0 would draw as 100%.
        let bar = ProgressBar::with_draw_target(None, target());
        // The pipeline knows no row count before the end, so the bar follows the input's
        // byte position: how much of the file is done and the time left; the message
        // holds the rows done and rows a second (set by the pipeline).
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{elapsed_precise}] [{wide_bar}] {percent:>3}%  \
                 {msg}  {binary_bytes_per_sec:>11}  ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let name = input.file_name().unwrap_or(input.as_os_str());
        bar.set_prefix(name.to_string_lossy().into_owned());
        // Log lines (-v) are written above the bar instead of through it.
        crate::logging::draw_logs_around(&bar);
        let (stop, stopped) = mpsc::channel();
        let watched = bar.clone();
        let spinner = std::thread::spawn(move || spin_after(&watched, &stopped, saving));
        Progress {
            bar,
            saving: Some((stop, spinner)),
        }
    }

    /// The bar to hand to the pipeline, which sets its length and position and finishes
    /// it when the input is read.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// The run is over: clears whatever is drawn, before the summary is printed.
    pub fn done(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some((stop, spinner)) = self.saving.take() {
            drop(stop);
            let _ = spinner.join();
        }
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    /// Also on an error: no spinner turns on after the run.
    fn drop(&mut self) {
        self.stop();
    }
}

/// A terminal-like target, so `--progress always` draws even when stderr is not a
/// terminal (indicatif's own stderr target hides itself then).
fn target() -> ProgressDrawTarget {
    ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::buffered_stderr()), HZ)
}

/// Waits until the pipeline finishes the bar (the input is read), then turns a spinner
/// with `message` until `stopped` says the run is over.
fn spin_after(bar: &ProgressBar, stopped: &mpsc::Receiver<()>, message: String) {
    let tick = Duration::from_millis(1000 / u64::from(HZ));
    let poll = Duration::from_millis(20);
    while !bar.is_finished() {
        if stopped.recv_timeout(poll) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
    }
    let spinner = ProgressBar::with_draw_target(None, target());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
            .expect("valid template"),
    );
    spinner.set_message(message);
    crate::logging::draw_logs_around(&spinner);
    loop {
        spinner.tick();
        if stopped.recv_timeout(tick) != Err(mpsc::RecvTimeoutError::Timeout) {
            break;
        }
    }
    spinner.finish_and_clear();
}
