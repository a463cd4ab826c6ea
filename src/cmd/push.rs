//! `onboard push [RESULTS.csv]`, and the push after `import --push`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{GlobalArgs, PushArgs};
use crate::graph::client::Client;
use crate::graph::push::{self, PushJob};
use crate::tenant::Tenant;
use crate::write::file::{Kept, Target};

pub fn run(global: &GlobalArgs, args: PushArgs) -> Result<u8> {
    crate::interrupt::install();
    let tenant = Tenant::load(&global.tenant)?;
    let output = args.output.clone().unwrap_or_else(|| match &args.results {
        Some(r) => push_file_of(r),
        None => PathBuf::from("push.csv"),
    });
    let client = connect(&tenant)?;
    let job = PushJob {
        tenant: &tenant,
        directory: global.directory.clone(),
        kept: kept(global, args.results.as_deref()),
        results: args.results.clone(),
        output: target(output, args.force),
        concurrency: usize::from(args.push_concurrency),
        lock_timeout: Duration::from_secs(args.lock_timeout),
    };
    report(global, &job, &client)
}

/// Signs in as the tenant file's `[graph]` says: a missing table, secret or a refused
/// sign-in is fatal (exit 2), before anything is written.
pub fn connect(tenant: &Tenant) -> Result<Client> {
    let settings = tenant.graph.as_ref().context(
        "the tenant file has no [graph] table: it names the Microsoft Entra tenant and app to push with (see docs/graph.md)",
    )?;
    Client::connect(settings)
}

/// `<results stem>.push.csv` beside the result file.
pub fn push_file_of(results: &Path) -> PathBuf {
    let stem = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem
        .strip_suffix(".csv")
        .unwrap_or(&stem)
        .strip_suffix(".results")
        .map(str::to_string)
        .unwrap_or_else(|| stem.strip_suffix(".csv").unwrap_or(&stem).to_string());
    results.with_file_name(format!("{stem}.push.csv"))
}

/// What no push file may replace: the directory and its side files, the tenant file, the
/// result file.
pub fn kept(global: &GlobalArgs, results: Option<&Path>) -> Vec<Kept> {
    let mut kept = Kept::directory(&global.directory);
    kept.push(Kept::new(&global.tenant, "the tenant file"));
    if let Some(r) = results {
        kept.push(Kept::new(r, "the result file"));
    }
    kept
}

pub fn target(path: PathBuf, force: bool) -> Target {
    Target {
        path,
        what: "push file",
        option: "-o",
        force,
        private: false,
    }
}

/// Runs the push, prints its summary; 0 when every user is in line, 4 when some failed.
pub fn report(global: &GlobalArgs, job: &PushJob, client: &Client) -> Result<u8> {
    let end = push::run(job, client)?;
    if !global.quiet {
        let mut err = std::io::stderr().lock();
        match global.log_format {
            crate::logging::LogFormat::Text => end.print(&mut err)?,
            crate::logging::LogFormat::Json => {
                use std::io::Write;
                writeln!(err, "{}", end.json_line())?
            }
        }
    }
    Ok(if end.failed() > 0 {
        crate::exit::INCOMPLETE
    } else {
        crate::exit::OK
    })
}
