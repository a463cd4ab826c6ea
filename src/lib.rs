//! onboard: bulk-create user accounts from a spreadsheet and assign licences.
//!
//! The binary (`main.rs`) only parses arguments and maps outcomes to exit codes. The
//! library's folders follow the data: [`read`] the spreadsheet → [`check`] each row on its
//! own → [`plan`] in file order → [`store`] in the directory → [`write`] the result file
//! and summary; [`mail`] sends the credential mails after the commit, [`graph`] pushes the users to Microsoft 365; [`import`] joins them into the import job, and [`row`] holds the types
//! they all share.

pub mod check;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod exit;
pub mod graph;
pub mod import;
pub mod interrupt;
pub mod logging;
pub mod mail;
pub mod password;
pub mod people;
pub mod plan;
pub mod progress;
pub mod read;
pub mod row;
pub mod snapshot;
pub mod store;
pub mod tenant;
pub mod write;
