//! `onboard seats`: the licence pool as a table, CSV or JSON.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{GlobalArgs, SeatsArgs, TableFormat};
use crate::store::{Access, Directory};
use crate::tenant::Tenant;

/// One licence's seats.
#[derive(Debug, Serialize)]
pub struct SeatRow {
    pub sku: String,
    pub name: String,
    pub purchased: u64,
    pub assigned: u64,
    pub available: i64,
}

pub fn run(global: &GlobalArgs, args: SeatsArgs) -> Result<u8> {
    let tenant = Tenant::load(&global.tenant)?;
    let dir = Directory::open(&global.directory, Access::Read, Duration::from_secs(10))?;
    let assigned = match &dir {
        Some(d) => d.assigned_seats()?,
        None => Default::default(),
    };
    let mut rows: Vec<SeatRow> = tenant
        .licenses
        .iter()
        .map(|l| {
            let used = assigned.get(&l.sku).copied().unwrap_or(0);
            SeatRow {
                sku: l.sku.clone(),
                name: l.name.clone(),
                purchased: l.seats,
                assigned: used,
                available: l.seats as i64 - used as i64,
            }
        })
        .collect();
    // Licences still assigned in the directory but no longer in the tenant file.
    let mut orphans: Vec<_> = assigned
        .iter()
        .filter(|(sku, _)| !tenant.licenses.iter().any(|l| &l.sku == *sku))
        .collect();
    orphans.sort();
    for (sku, &used) in orphans {
        rows.push(SeatRow {
            sku: sku.clone(),
            name: "(not in the tenant file)".to_string(),
            purchased: 0,
            assigned: used,
            available: -(used as i64),
        });
    }
    // Active users without a licence: the admin center disables their mailbox after 30
    // days. Told below the table; CSV and JSON keep their shape.
    let (unlicensed, past) = match &dir {
        Some(d) => d.unlicensed_counts(&crate::clock::days_ago_rfc3339(UNLICENSED_GRACE_DAYS))?,
        None => (0, 0),
    };
    let mut out = std::io::stdout().lock();
    super::ignore_broken_pipe(write(&mut out, &rows, args.format).and_then(|()| {
        if args.format == TableFormat::Table && unlicensed > 0 {
            writeln!(
                out,
                "\nunlicensed users: {unlicensed}, {past} of them for more than {UNLICENSED_GRACE_DAYS} days (their mailbox is disabled): onboard users --unlicensed"
            )?;
        }
        Ok(())
    }))?;
    Ok(crate::exit::OK)
}

/// The admin center's grace period for a user without a licence.
const UNLICENSED_GRACE_DAYS: u64 = 30;

fn write(out: &mut impl Write, rows: &[SeatRow], format: TableFormat) -> Result<()> {
    match format {
        TableFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
        TableFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(["SKU", "Name", "Purchased", "Assigned", "Available"])?;
            for r in rows {
                w.serialize((&r.sku, &r.name, r.purchased, r.assigned, r.available))?;
            }
            w.flush()?;
        }
        TableFormat::Table => write_table(out, rows)?,
    }
    Ok(())
}

/// An aligned table with a bar and the percentage of assigned/purchased per SKU. Both
/// round down, so a full bar and 100% mean no seat is left.
fn write_table(out: &mut impl Write, rows: &[SeatRow]) -> std::io::Result<()> {
    const BAR: u64 = 20;
    let w_sku = rows
        .iter()
        .map(|r| r.sku.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    let w_name = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(
        out,
        "{:<w_sku$}  {:<w_name$}  {:>9}  {:>8}  {:>9}  USAGE",
        "SKU", "NAME", "PURCHASED", "ASSIGNED", "AVAILABLE"
    )?;
    for r in rows {
        let (filled, percent) = match (r.purchased, r.assigned) {
            // Assigned but none purchased (a licence gone from the tenant file): over.
            (0, 0) => (0, "-".to_string()),
            (0, _) => (BAR, "over".to_string()),
            (p, a) => (
                a.min(p) * BAR / p,
                format!("{}%", u128::from(a) * 100 / u128::from(p)),
            ),
        };
        let filled = filled as usize;
        writeln!(
            out,
            "{:<w_sku$}  {:<w_name$}  {:>9}  {:>8}  {:>9}  [{}{}] {percent:>4}",
            r.sku,
            r.name,
            r.purchased,
            r.assigned,
            r.available,
            "#".repeat(filled),
            ".".repeat(BAR as usize - filled)
        )?;
    }
    Ok(())
}
