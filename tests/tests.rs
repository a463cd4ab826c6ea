//! One test binary for the whole command line, a module per concern. Every test drives the
//! real `onboard` binary in a folder of its own (see `workdir`).

mod workdir;

mod admin_files;
mod commands;
mod crash;
mod errors;
mod graph;
mod graph_sim;
mod hostile;
mod import;
mod inputs;
mod limits;
mod mail;
mod package;
mod people;
mod people_runs;
mod properties;
mod scheduler;
mod security;
mod sheets;
mod signals;
mod smtp;
