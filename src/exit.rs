//! The exit codes (docs/results.md#exit-codes), in one place.

/// Every row created, updated, unchanged or skipped (warnings allowed).
pub const OK: u8 = 0;
/// The run finished and committed; some rows failed.
pub const ROWS_FAILED: u8 = 1;
/// Fatal: bad arguments, unreadable input or tenant, bad header, result file exists,
/// directory busy. Nothing was written.
pub const FATAL: u8 = 2;
/// More rows failed than `--max-failed` allows; nothing was committed.
pub const OVER_BUDGET: u8 = 3;
/// The run committed, but some mail (or push) did not go through; it is recorded and
/// `onboard mail` sends it later.
pub const INCOMPLETE: u8 = 4;
