//! The limits on a workbook's zip package (`.xlsx`, `.xlsm`, `.xlsb`, `.ods`), checked
//! before the workbook reader opens it.
//!
//! A few kilobytes of zip can inflate to gigabytes, and the workbook reader holds some
//! parts whole (the shared strings, the styles, an `.ods` sheet) and every cell or tag it
//! meets whole. So each part that is read is inflated here once, without keeping it:
//! - no part inflates to more than [`MAX_STREAMED_PART`] (the sheets of `.xlsx`,
//!   `.xlsm` and `.xlsb`, read cell by cell) or [`MAX_WHOLE_PART`] (every other part),
//!   whatever its header says;
//! - in XML parts no text or tag runs longer than [`MAX_RUN`] bytes between two `<`;
//! - in the binary parts of `.xlsb` no record is longer than [`MAX_RUN`].
//!
//! A package that is not a zip file is left to the workbook reader to name.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{bail, Result};

/// The most a sheet read cell by cell may inflate to.
pub const MAX_STREAMED_PART: u64 = 1 << 30;
/// The most any other part may inflate to.
pub const MAX_WHOLE_PART: u64 = 128 << 20;
/// The longest text, tag or binary record in a part (a cell holds at most 32,767
/// characters).
pub const MAX_RUN: u64 = 1 << 20;
/// The most parts a package may have.
pub const MAX_PARTS: usize = 10_000;

/// Checks the package at `path` against the limits.
pub fn check(path: &Path) -> Result<()> {
    let shown = path.display();
    let Ok(file) = File::open(path) else {
        return Ok(()); // the workbook reader says why
    };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(file)) else {
        return Ok(());
    };
    if zip.len() > MAX_PARTS {
        bail!(
            "{shown} has {} parts; a workbook has a few dozen (at most {MAX_PARTS} are read)",
            zip.len()
        );
    }
    for i in 0..zip.len() {
        let Ok(part) = zip.by_index(i) else {
            continue; // an encrypted or unsupported part: the reader says so if it needs it
        };
        let name = part.name().to_string();
        let Some(kind) = Kind::of(&name) else {
            continue;
        };
        let limit = match kind {
            Kind::Sheet | Kind::BinarySheet => MAX_STREAMED_PART,
            Kind::Xml | Kind::Binary => MAX_WHOLE_PART,
        };
        let too_big = || {
            anyhow::anyhow!(
                "{shown}: part `{}` inflates to more than {} MiB, the most onboard reads of one part",
                crate::row::printable(&name),
                limit >> 20
            )
        };
        if part.size() > limit {
            return Err(too_big());
        }
        let scanned = match kind {
            Kind::Sheet | Kind::Xml => scan_xml(part, limit),
            Kind::BinarySheet | Kind::Binary => scan_records(part, limit),
        };
        match scanned {
            Ok(()) => {}
            Err(Scan::TooBig) => return Err(too_big()),
            Err(Scan::LongRun(at)) => bail!(
                "{shown}: part `{}` holds a text, tag or record of more than {} MiB (at byte {at} of the part); a cell holds at most 32,767 characters",
                crate::row::printable(&name),
                MAX_RUN >> 20
            ),
            Err(Scan::Broken(e)) => bail!(
                "cannot read {shown} as a workbook: part `{}`: {e}",
                crate::row::printable(&name)
            ),
        }
    }
    Ok(())
}

/// The parts the workbook reader may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An `.xlsx` sheet, read cell by cell.
    Sheet,
    /// An `.xlsb` sheet, read record by record.
    BinarySheet,
    /// Any other XML part (shared strings, styles, an `.ods` file's content).
    Xml,
    /// Any other `.xlsb` part of records.
    Binary,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        let lower = name.to_ascii_lowercase();
        let sheet = lower.starts_with("xl/worksheets/") && !lower.contains("/_rels/");
        if lower.ends_with(".xml") || lower.ends_with(".rels") {
            Some(if sheet { Kind::Sheet } else { Kind::Xml })
        } else if lower.ends_with(".bin") && lower.starts_with("xl/") {
            if sheet {
                Some(Kind::BinarySheet)
            } else if lower.contains("vbaproject") || lower.contains("printersettings") {
                None // not records, and not read
            } else {
                Some(Kind::Binary)
            }
        } else {
            None
        }
    }
}

/// Why a part fails the limits.
enum Scan {
    TooBig,
    /// A run too long, at this offset.
    LongRun(u64),
    Broken(std::io::Error),
}

/// Inflates an XML part, checking its size and the distance between its `<`.
fn scan_xml(mut part: impl Read, limit: u64) -> Result<(), Scan> {
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    let mut last_open = 0u64;
    loop {
        let n = part.read(&mut buf).map_err(Scan::Broken)?;
        if n == 0 {
            break;
        }
        for at in memchr::memchr_iter(b'<', &buf[..n]) {
            let at = total + at as u64;
            if at - last_open > MAX_RUN {
                return Err(Scan::LongRun(last_open));
            }
            last_open = at;
        }
        total += n as u64;
        if total - last_open > MAX_RUN {
            return Err(Scan::LongRun(last_open));
        }
        if total > limit {
            return Err(Scan::TooBig);
        }
    }
    Ok(())
}

/// Inflates a binary part of `.xlsb` records, checking its size and each record's length:
/// a record is a type of one or two bytes and a length of one to four, seven bits a byte.
fn scan_records(part: impl Read, limit: u64) -> Result<(), Scan> {
    let mut part = BufReader::with_capacity(64 << 10, part);
    let mut at = 0u64;
    loop {
        let Some(first) = read_byte(&mut part)? else {
            return Ok(());
        };
        let mut header = 1;
        if first & 0x80 != 0 {
            read_byte(&mut part)?;
            header += 1;
        }
        let mut length = 0u64;
        for shift in 0..4 {
            let Some(b) = read_byte(&mut part)? else {
                return Ok(()); // cut short: the reader says so
            };
            header += 1;
            length |= u64::from(b & 0x7F) << (7 * shift);
            if b & 0x80 == 0 {
                break;
            }
        }
        if length > MAX_RUN {
            return Err(Scan::LongRun(at));
        }
        let skipped = std::io::copy(&mut (&mut part).take(length), &mut std::io::sink())
            .map_err(Scan::Broken)?;
        at += header + skipped;
        if at > limit {
            return Err(Scan::TooBig);
        }
        if skipped < length {
            return Ok(());
        }
    }
}

fn read_byte(part: &mut impl Read) -> Result<Option<u8>, Scan> {
    let mut b = [0u8];
    match part.read(&mut b).map_err(Scan::Broken)? {
        0 => Ok(None),
        _ => Ok(Some(b[0])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_parts_it_reads() {
        assert_eq!(Kind::of("xl/worksheets/sheet1.xml"), Some(Kind::Sheet));
        assert_eq!(
            Kind::of("xl/worksheets/sheet1.bin"),
            Some(Kind::BinarySheet)
        );
        assert_eq!(
            Kind::of("xl/worksheets/_rels/sheet1.xml.rels"),
            Some(Kind::Xml)
        );
        assert_eq!(Kind::of("xl/sharedStrings.xml"), Some(Kind::Xml));
        assert_eq!(Kind::of("content.xml"), Some(Kind::Xml));
        assert_eq!(Kind::of("xl/sharedStrings.bin"), Some(Kind::Binary));
        assert_eq!(Kind::of("xl/vbaProject.bin"), None);
        assert_eq!(Kind::of("docProps/thumbnail.jpeg"), None);
    }

    #[test]
    fn long_runs_and_big_parts_fail() {
        let ok = b"<a><b>text</b></a>".repeat(1000);
        assert!(scan_xml(&ok[..], 1 << 20).is_ok());
        let mut long = b"<t>".to_vec();
        long.resize(MAX_RUN as usize + 10, b'x');
        long.extend_from_slice(b"</t>");
        assert!(matches!(
            scan_xml(&long[..], 1 << 30),
            Err(Scan::LongRun(0))
        ));
        assert!(matches!(scan_xml(&ok[..], 100), Err(Scan::TooBig)));
        // Records: type 0x00, length 3, then a record of two-byte type and length 2^21.
        let mut records = vec![0x00, 0x03, 1, 2, 3];
        assert!(scan_records(&records[..], 1 << 20).is_ok());
        records.extend_from_slice(&[0x80, 0x01, 0x80, 0x80, 0x80, 0x01]);
        assert!(matches!(
            scan_records(&records[..], 1 << 30),
            Err(Scan::LongRun(5))
        ));
    }
}
