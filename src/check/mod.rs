//! Checking: the rules a row can be judged by on its own, in parallel.
//!
//! [`rules`] turns a record into a [`crate::row::CheckedRow`] with every error it breaks;
//! [`roles`], [`countries`] and [`policy`] are the tables and the password policy it
//! checks against.

pub mod countries;
pub mod policy;
pub mod roles;
pub mod rules;

pub use rules::{RowDefaults, Rules};
