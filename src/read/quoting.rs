//! Following a CSV file's quotes as its bytes are read, with the csv reader's rules: where
//! each record ends, a quote that is never closed, a record too long to be a row.

use std::io::{self, Read};
use std::path::Path;

use anyhow::anyhow;

/// The error of a failed read; a quote that is never closed is named with its place.
pub(super) fn read_error(path: &Path, e: csv::Error) -> anyhow::Error {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if let Some(q) = io.get_ref().and_then(|i| i.downcast_ref::<UnclosedQuote>()) {
            return anyhow!(
                "{}, line {}, column {}: {q}",
                path.display(),
                q.line,
                q.column
            );
        }
        if let Some(long) = io.get_ref().and_then(|i| i.downcast_ref::<LongRecord>()) {
            return anyhow!("{}, line {}: {long}", path.display(), long.line);
        }
    }
    anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
}

/// A quoted cell still open at the end of the input.
#[derive(Debug)]
struct UnclosedQuote {
    line: u64,
    column: u64,
}

impl std::fmt::Display for UnclosedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the quote that opens this cell is never closed, so the rest of the file would be read as one cell",
        )
    }
}

impl std::error::Error for UnclosedQuote {}

/// How long one record (a line, or the lines of a record with line breaks in quoted
/// cells) may be. A user's row is a few hundred bytes; this is far above any real one and
/// keeps a file of one endless line from filling the memory.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// A record longer than [`MAX_RECORD_BYTES`].
#[derive(Debug)]
struct LongRecord {
    /// The line it starts on.
    line: u64,
}

impl std::fmt::Display for LongRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the record that starts here is longer than {} MiB; no user's row is that long (is this the right file?)",
            MAX_RECORD_BYTES >> 20
        )
    }
}

impl std::error::Error for LongRecord {}

/// Where the csv reader is in a record, as far as quotes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a cell, where a quote opens a quoted cell.
    CellStart,
    /// In an unquoted cell, or after a quoted cell's closing quote: quotes are data.
    Unquoted,
    /// In a quoted cell.
    Quoted,
    /// In a quoted cell right after a quote: a second quote is an escaped quote, anything
    /// else means the first one closed the cell.
    QuotedQuote,
}

/// Follows the quoting of the bytes on their way to the csv reader (its rules: a quote
/// opens a quoted cell only at the start of a cell, `""` inside is a quote). The reader
/// takes everything after a quote that is never closed as one cell and does not say so;
/// this fails the read at the end of the input with [`UnclosedQuote`] instead, so that a
/// file with a stray quote is not imported as if it ended there. It also fails the read
/// as soon as a record grows past [`MAX_RECORD_BYTES`] ([`LongRecord`]): the csv reader
/// would hold all of it.
pub(super) struct QuoteCheck<R> {
    pub(super) inner: R,
    delimiter: u8,
    state: Quoting,
    /// Line and column (cell) of the next byte, counted from 1.
    line: u64,
    column: u64,
    /// Where the open quoted cell started.
    opened: (u64, u64),
    /// Bytes seen, and the offset and line where the current record started.
    offset: u64,
    record_start: u64,
    record_line: u64,
}

impl<R> QuoteCheck<R> {
    pub(super) fn new(inner: R, delimiter: u8) -> QuoteCheck<R> {
        QuoteCheck {
            inner,
            delimiter,
            state: Quoting::CellStart,
            line: 1,
            column: 1,
            opened: (0, 0),
            offset: 0,
            record_start: 0,
            record_line: 1,
        }
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_end()?;
        }
        self.follow(&buf[..n]);
        self.check_length()?;
        Ok(n)
    }
}

impl QuoteCheck<()> {
    /// Following bytes that start a record at `offset` on `line`.
    pub(super) fn at_record(delimiter: u8, offset: u64, line: u64) -> QuoteCheck<()> {
        QuoteCheck {
            line,
            offset,
            record_start: offset,
            record_line: line,
            ..QuoteCheck::new((), delimiter)
        }
    }

    /// Where the record the bytes followed so far end in starts, and its line: every byte
    /// before it belongs to complete records.
    pub(super) fn record_start(&self) -> (u64, u64) {
        (self.record_start, self.record_line)
    }
}

impl<R> QuoteCheck<R> {
    /// The error once the input has ended inside a quoted cell.
    pub(super) fn at_end(&self) -> io::Result<()> {
        if self.state != Quoting::Quoted {
            return Ok(());
        }
        let (line, column) = self.opened;
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            UnclosedQuote { line, column },
        ))
    }

    /// The error once the record being read is longer than [`MAX_RECORD_BYTES`].
    pub(super) fn check_length(&self) -> io::Result<()> {
        if self.offset - self.record_start > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                LongRecord {
                    line: self.record_line,
                },
            ));
        }
        Ok(())
    }
}

impl<R> QuoteCheck<R> {
    /// Moves over `bytes` from quote to quote: between two quotes only the line breaks
    /// and delimiters are counted, which is fast.
    pub(super) fn follow(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let quote = memchr::memchr(b'"', bytes);
            let (span, rest) = match quote {
                Some(q) => (&bytes[..q], &bytes[q + 1..]),
                None => (bytes, &[][..]),
            };
            let at = self.offset;
            self.offset += (bytes.len() - rest.len()) as u64;
            match self.state {
                Quoting::Quoted => {
                    self.line += count(span, b'\n');
                    if quote.is_some() {
                        self.state = Quoting::QuotedQuote;
                    }
                }
                Quoting::QuotedQuote if span.is_empty() => self.state = Quoting::Quoted,
                _ => {
                    self.outside_quotes(span, at);
                    if quote.is_some() {
                        if self.state == Quoting::CellStart {
                            self.opened = (self.line, self.column);
                            self.state = Quoting::Quoted;
                        } else {
                            self.state = Quoting::Unquoted;
                        }
                    }
                }
            }
            bytes = rest;
        }
    }

    /// Counts the lines and cells of bytes outside quotes, which start at offset `at`; the
    /// state after them depends on the last one.
    fn outside_quotes(&mut self, span: &[u8], at: u64) {
        let Some(&last) = span.last() else {
            return;
        };
        match memchr::memrchr(b'\n', span) {
            Some(lf) => {
                self.line += count(span, b'\n');
                self.column = 1 + count(&span[lf + 1..], self.delimiter);
                self.record_start = at + lf as u64 + 1;
                self.record_line = self.line;
            }
            None => self.column += count(span, self.delimiter),
        }
        self.state = if last == b'\n' || last == self.delimiter {
            Quoting::CellStart
        } else {
            Quoting::Unquoted
        };
    }
}

fn count(bytes: &[u8], byte: u8) -> u64 {
    // A counter that does not stop at each match: at a line every 200 bytes it measured
    // several times faster than `memchr_iter(..).count()`, on the one thread that reads.
    bytecount::count(bytes, byte) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The csv reader's quoting byte by byte: where the open quoted cell started, if one
    /// is open at the end.
    fn open_quote(bytes: &[u8], delimiter: u8) -> Option<(u64, u64)> {
        let (mut state, mut line, mut column, mut opened) = (Quoting::CellStart, 1, 1, (0, 0));
        for &b in bytes {
            state = match (state, b) {
                (Quoting::Quoted, b'"') => Quoting::QuotedQuote,
                (Quoting::Quoted, _) => Quoting::Quoted,
                (Quoting::CellStart, b'"') => {
                    opened = (line, column);
                    Quoting::Quoted
                }
                (Quoting::QuotedQuote, b'"') => Quoting::Quoted,
                (_, b'\n') => {
                    column = 1;
                    Quoting::CellStart
                }
                (_, d) if d == delimiter => {
                    column += 1;
                    Quoting::CellStart
                }
                _ => Quoting::Unquoted,
            };
            line += u64::from(b == b'\n');
        }
        (state == Quoting::Quoted).then_some(opened)
    }

    /// Gives its bytes in pieces of the given sizes, in turn.
    struct Pieces<'a>(&'a [u8], Vec<usize>, usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let want = self.1[self.2 % self.1.len()];
            self.2 += 1;
            let n = want.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn quote_check_agrees_with_byte_by_byte_quoting(
            bytes in proptest::collection::vec(proptest::sample::select(b"a;,\"\n".to_vec()), 0..200),
            pieces in proptest::collection::vec(1usize..9, 1..5),
            delimiter in proptest::sample::select(vec![b',', b';']),
        ) {
            let mut check = QuoteCheck::new(Pieces(&bytes, pieces, 0), delimiter);
            let mut out = Vec::new();
            let found = match check.read_to_end(&mut out) {
                Ok(_) => None,
                Err(e) => {
                    let q = e.get_ref().and_then(|i| i.downcast_ref::<UnclosedQuote>()).unwrap();
                    Some((q.line, q.column))
                }
            };
            prop_assert_eq!(found, open_quote(&bytes, delimiter));
        }
    }
}
