//! Writing: the result file (staged, synced, renamed into place after the commit), the
//! run summary, and the one way every other file is written ([`file`]).

pub mod file;
pub mod result;
pub mod summary;
