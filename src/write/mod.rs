//! Writing: the result file (staged, synced, renamed into place after the commit) and the
//! run summary.

pub mod result;
pub mod summary;
