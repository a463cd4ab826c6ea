//! onboard: bulk-create user accounts from a spreadsheet and assign licences.
//!
//! The binary (`main.rs`) only parses arguments and maps outcomes to exit codes; every
//! stage lives here, one module each, joined by [`pipeline`].

pub mod cli;
pub mod cmd;
pub mod columns;
pub mod countries;
pub mod directory;
pub mod exit;
pub mod input;
pub mod logging;
pub mod mapping;
pub mod names;
pub mod output;
pub mod password;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod roles;
pub mod rules;
pub mod sheet;
pub mod summary;
pub mod tenant;
