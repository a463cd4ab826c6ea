//! Microsoft Graph (docs/graph.md): the users of the directory pushed to Microsoft Entra
//! ID with their licences and roles ([`push`]), and the tenant file pulled from the
//! tenant's domains and subscriptions ([`pull`]). The directory stays the ledger: each
//! user's Graph state is kept in it, so a push does only what is left.

pub mod client;
pub mod config;
pub mod payload;
pub mod pull;
pub mod push;
