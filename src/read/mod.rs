//! Reading: the spreadsheet's bytes or workbook cells become records with line numbers
//! under a resolved header.
//!
//! [`input`] owns the CSV dialects (encoding, delimiter, `sep=` and `version:` lines) and
//! hands out the records; [`sheet`] reads workbooks into the same records; [`columns`]
//! resolves the header; [`mapping`] (`--columns`) maps an HR export's own headers and
//! [`names`] builds the User Names and Display Names it leaves out, from [`pattern`]s.

pub mod columns;
pub mod input;
pub mod mapping;
pub mod names;
pub mod pattern;
pub mod sheet;

pub use input::{Input, InputEncoding, InputHash, NotUtf8, ReadOptions};
