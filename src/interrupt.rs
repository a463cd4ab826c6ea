//! Ctrl-C and SIGTERM (and SIGHUP) during a command that writes.
//!
//! The first signal only raises a flag. An import looks at it before each batch of rows
//! and before its commit, and stops with [`Interrupted`]: the transaction rolls back and
//! the staged result file is removed, so nothing is left behind (exit 130). Once the
//! commit is done, the run finishes: the result file is renamed into place as usual.
//! A file written through a temporary file (`users -o`, `man -o`, `tenant init`, the
//! summary) is not renamed into place after a signal: the temporary file is removed.
//! A second signal ends the process at once, as `kill -9` would: the directory stays
//! whole (SQLite rolls an unfinished transaction back on the next open), but temporary
//! files may stay behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The exit code after a signal: 128 + SIGINT.
pub const EXIT_CODE: u8 = 130;

/// Installs the handler. Fails only when another one is installed, which is harmless.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CODE));
        }
    });
}

/// Whether a signal came.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once a signal came.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// The error of a command stopped by a signal before it changed anything.
#[derive(Debug, Clone, Copy)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted: nothing was committed")
    }
}

impl std::error::Error for Interrupted {}

/// A crash-test hook: with `ONBOARD_PAUSE_AT=<point>` in the environment, the run stops
/// at that point (`reading`: after each full batch of rows while more follow; `staged`: result file
/// complete, not committed; `committed`: committed, result file not renamed;
/// `mail-sending`: a mail recorded as being sent, not yet handed over) so a test
/// can kill it there, or act and then let it go on by creating the file named by
/// `ONBOARD_RESUME_ON` (or by a signal, see [`crate::interrupt`]). Does nothing otherwise.
pub fn pause_point(point: &str) {
    if std::env::var_os("ONBOARD_PAUSE_AT").is_some_and(|p| p == point) {
        eprintln!("onboard: paused at {point}");
        let resume = std::env::var_os("ONBOARD_RESUME_ON").map(std::path::PathBuf::from);
        for _ in 0..6000 {
            if resume.as_ref().is_some_and(|r| r.exists()) || requested() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
