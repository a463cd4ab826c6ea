//! The run summary (docs/results.md#the-summary): counts per status and error code,
//! seats before and after, timings. Printed on stderr and, with `--summary`, written as
//! JSON. Holds no password.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::plan::PlannedRow;
use crate::row::{Code, Status};
use crate::write::file::{self, Target};

/// Seats of one licence before and after the run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeatChange {
    pub sku: String,
    pub purchased: u64,
    pub assigned_before: u64,
    pub assigned_after: u64,
    pub available_after: i64,
}

/// Everything a scheduler needs to know about a run; docs/results.md has the schema.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub input: String,
    pub input_sha256: String,
    pub input_encoding: String,
    pub result_file: Option<String>,
    pub dry_run: bool,
    pub committed: bool,
    pub rows: u64,
    /// created, updated, unchanged, skipped, failed, offboarded: all six always present.
    pub status: BTreeMap<String, u64>,
    /// Number of errors per error code (a row may have several).
    pub errors: BTreeMap<String, u64>,
    /// Number of warnings per warning code (e.g. `no_seats`).
    pub warnings: BTreeMap<String, u64>,
    pub seats: Vec<SeatChange>,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub exit_code: u8,
    /// With `--mail-credentials` or `--mail-results-to`: what was to be mailed, and what
    /// became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailSummary>,
}

/// The mails of a run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MailSummary {
    /// Credential mails: one a created user with an Alternate email address.
    pub credentials: u64,
    /// Who gets the result file.
    pub results_to: Vec<String>,
    /// What became of them (not in a dry run, nor when nothing was committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<crate::mail::MailTally>,
}

impl MailSummary {
    /// Mails planned: the credential mails and one a result recipient.
    pub fn planned(&self) -> u64 {
        self.credentials + self.results_to.len() as u64
    }

    /// `mail: 4 credential mails would be sent, and the results to 1 address` (a dry
    /// run), or what was sent.
    pub fn line(&self, dry_run: bool) -> String {
        if let Some(d) = &self.delivered {
            return d.line();
        }
        let mut line = format!(
            "mail: {} credential {} {}",
            self.credentials,
            if self.credentials == 1 {
                "mail"
            } else {
                "mails"
            },
            if dry_run { "would be sent" } else { "planned" }
        );
        if !self.results_to.is_empty() {
            let n = self.results_to.len();
            line.push_str(&format!(
                ", and the results to {n} {}",
                if n == 1 { "address" } else { "addresses" }
            ));
        }
        line
    }
}

impl Summary {
    pub fn count(&self, status: &str) -> u64 {
        self.status.get(status).copied().unwrap_or(0)
    }

    /// The human summary, as printed on stderr: lists of codes wrapped to `width`
    /// columns, the seat lines aligned so the pools read as a table.
    pub fn print(&self, out: &mut impl Write, width: usize) -> std::io::Result<()> {
        let mode = if self.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        };
        writeln!(
            out,
            "onboard: {} {} read from {}{mode}",
            self.rows,
            if self.rows == 1 { "row" } else { "rows" },
            self.input
        )?;
        let counts: Vec<String> = Status::ALL
            .iter()
            .map(|s| format!("{} {}", s.as_str(), self.count(s.as_str())))
            .collect();
        write_list(out, "  status: ", &counts, width)?;
        for (title, codes) in [
            ("  errors: ", &self.errors),
            ("  warnings: ", &self.warnings),
        ] {
            if !codes.is_empty() {
                let items: Vec<String> = codes.iter().map(|(k, v)| format!("{k} {v}")).collect();
                write_list(out, title, &items, width)?;
            }
        }
        let w_sku = self.seats.iter().map(|s| s.sku.chars().count()).max();
        let digits = |n: &dyn Fn(&SeatChange) -> String| {
            self.seats.iter().map(|s| n(s).len()).max().unwrap_or(0)
        };
        let w_before = digits(&|s| s.assigned_before.to_string());
        let w_after = digits(&|s| s.assigned_after.to_string());
        let w_bought = digits(&|s| s.purchased.to_string());
        for s in &self.seats {
            let sku = format!("{}:", s.sku);
            let w_sku = w_sku.unwrap_or(0) + 1;
            writeln!(
                out,
                "  seats {sku:<w_sku$} {:>w_before$} → {:>w_after$} of {:>w_bought$} assigned ({} available)",
                s.assigned_before, s.assigned_after, s.purchased, s.available_after
            )?;
        }
        writeln!(
            out,
            "  time: {:.2}s, {:.0} rows/s",
            self.seconds, self.rows_per_second
        )?;
        if let Some(mail) = &self.mail {
            writeln!(out, "  {}", mail.line(self.dry_run))?;
        }
        match (&self.result_file, self.committed || self.dry_run) {
            (Some(f), true) => writeln!(out, "  result file: {f}")?,
            _ => writeln!(
                out,
                "  nothing was committed and no result file was written"
            )?,
        }
        Ok(())
    }

    /// Two lines on the run for the result mail: the input, the rows by status.
    pub fn short_text(&self) -> String {
        let counts: Vec<String> = Status::ALL
            .iter()
            .filter(|s| self.count(s.as_str()) > 0)
            .map(|s| format!("{} {}", s.as_str(), self.count(s.as_str())))
            .collect();
        format!(
            "onboard read {} {} from {}\n{}.",
            self.rows,
            if self.rows == 1 { "row" } else { "rows" },
            self.input,
            if counts.is_empty() {
                "nothing".to_string()
            } else {
                counts.join(", ")
            }
        )
    }

    /// The summary as one JSON log line (`--log-format json`): message `import summary`,
    /// the whole summary under `summary`, the run id in `span` as on every log line.
    pub fn json_line(&self) -> String {
        #[derive(Serialize)]
        struct Fields<'a> {
            summary: &'a Summary,
        }
        crate::logging::json_line(
            "INFO",
            "import summary",
            &Fields { summary: self },
            Some(&self.run_id),
        )
    }

    /// Writes the JSON summary via a temporary file, so a reader never sees half of it.
    pub fn write_json(&self, target: &Target) -> Result<()> {
        file::write(target, |out| {
            serde_json::to_writer_pretty(&mut *out, self)?;
            out.write_all(b"\n")?;
            Ok(())
        })
    }
}

/// `title` then the items joined by ", ", wrapped before an item that would pass `width`;
/// continuation lines are indented under the first item.
fn write_list(
    out: &mut impl Write,
    title: &str,
    items: &[String],
    width: usize,
) -> std::io::Result<()> {
    let indent = title.chars().count();
    let mut line = title.to_string();
    let mut used = indent;
    for (i, item) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        let piece = if last {
            item.clone()
        } else {
            format!("{item},")
        };
        let len = piece.chars().count();
        if used > indent {
            if used + 1 + len > width {
                writeln!(out, "{line}")?;
                line = " ".repeat(indent);
                used = indent;
            } else {
                line.push(' ');
                used += 1;
            }
        }
        line.push_str(&piece);
        used += len;
    }
    writeln!(out, "{line}")
}

/// Now as RFC 3339 in UTC, to the second.
/// Running totals for the summary.
pub struct Tally {
    pub rows: u64,
    /// Rows by [`Status`], in the order of [`Status::ALL`].
    pub status: [u64; Status::ALL.len()],
    /// Errors by [`Code`], in the order of [`Code::ALL`].
    pub errors: [u64; Code::ALL.len()],
    pub warnings: BTreeMap<String, u64>,
    pub granted: Vec<u64>,
    /// Seats given back by leavers, per licence.
    pub freed: Vec<u64>,
    /// Credential mails planned (`--mail-credentials`).
    pub mails: u64,
}

impl Tally {
    pub fn new(licenses: usize) -> Tally {
        Tally {
            rows: 0,
            status: [0; Status::ALL.len()],
            errors: [0; Code::ALL.len()],
            warnings: BTreeMap::new(),
            granted: vec![0; licenses],
            freed: vec![0; licenses],
            mails: 0,
        }
    }

    pub fn add(&mut self, p: &PlannedRow) {
        self.rows += 1;
        self.status[p.status() as usize] += 1;
        self.mails += u64::from(p.mail);
        for e in &p.row.errors {
            self.errors[e.code as usize] += 1;
        }
        for w in &p.warnings {
            let code = w.split(':').next().unwrap_or(w);
            match self.warnings.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    self.warnings.insert(code.to_string(), 1);
                }
            }
        }
        for &l in &p.new_licenses {
            self.granted[l as usize] += 1;
        }
        if p.status == Some(Status::Offboarded) {
            for &l in &p.licenses {
                self.freed[l as usize] += 1;
            }
        }
    }

    /// Counts a leaver that is not a row of the input (`--full-export`): offboarded,
    /// with the seats of `held` freed.
    pub fn add_leaver(&mut self, held: &[u16]) {
        self.status[Status::Offboarded as usize] += 1;
        for &l in held {
            self.freed[l as usize] += 1;
        }
    }

    pub fn count(&self, status: Status) -> u64 {
        self.status[status as usize]
    }

    pub fn failed(&self) -> u64 {
        self.count(Status::Failed)
    }

    /// Rows by status name, every status listed.
    pub fn status_map(&self) -> BTreeMap<String, u64> {
        Status::ALL
            .iter()
            .map(|&s| (s.as_str().to_string(), self.count(s)))
            .collect()
    }

    /// Errors by code, only the codes that occurred.
    pub fn error_map(&self) -> BTreeMap<String, u64> {
        Code::ALL
            .iter()
            .filter(|&&c| self.errors[c as usize] > 0)
            .map(|&c| (c.as_str().to_string(), self.errors[c as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::write_list;

    fn list(items: &[&str], width: usize) -> String {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        write_list(&mut out, "  errors: ", &items, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lists_wrap_before_the_item_that_would_pass_the_width() {
        let items = ["required 491", "invalid_email 590", "too_long 510"];
        assert_eq!(
            list(&items, 100),
            "  errors: required 491, invalid_email 590, too_long 510\n"
        );
        assert_eq!(
            list(&items, 42),
            "  errors: required 491, invalid_email 590,\n          too_long 510\n"
        );
        // An item longer than the width still gets a line of its own, whole.
        assert_eq!(
            list(&items, 10),
            "  errors: required 491,\n          invalid_email 590,\n          too_long 510\n"
        );
    }
}
