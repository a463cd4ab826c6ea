//! A CSV file's records cut into chunks for workers that parse them.
//!
//! The reader of a threaded run only reads bytes, hashes them and follows their quoting
//! (the same [`QuoteCheck`] the csv reader's input goes through), which tells it where
//! the last complete record of what it read ends. It hands that much on as a [`Chunk`];
//! the bytes of the record that is not complete yet start the next one. A worker parses
//! a chunk with a csv reader of its own ([`RecordParser`]): every chunk starts at a
//! record's start, where the csv reader's state is the one it starts in, so the records,
//! their lines and the rows skipped are the ones a single reader of the whole file gives.
//! That moves the parsing, the biggest part of reading, off the one thread that has to
//! read in order.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Result;

use crate::read::input::{
    first_line, read_error, read_up_to, Input, Judged, NotUtf8, QuoteCheck, RecordKind,
};
use crate::row::RawRow;

/// About how many bytes of records a chunk holds: 1,024 rows of a typical export, which
/// measured best as a batch of rows (the rows in flight fit in the caches).
const CHUNK_BYTES: usize = 192 << 10;

/// Whole records of the input, cut at record ends.
#[derive(Default)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// Where the first record starts: its offset in the input and its line.
    pub offset: u64,
    pub line: u64,
}

/// The records of a CSV file after its header, read in chunks of whole records.
pub struct Chunks {
    source: Box<dyn Read + Send>,
    /// What the header's reading read past the header: read before `source`.
    ahead: Vec<u8>,
    ahead_at: usize,
    quoting: QuoteCheck<()>,
    /// The start of a record that the last chunk's bytes did not complete.
    carry: Vec<u8>,
    ended: bool,
    parser: RecordParser,
    /// About how many bytes a chunk holds ([`CHUNK_BYTES`]; less in tests).
    chunk_bytes: usize,
}

impl Input {
    /// The rest of a CSV file as [`Chunks`] of whole records, for workers that parse them
    /// ([`RecordParser`]); the input itself when its rows need the ordered path (a
    /// workbook's, or names a `--columns` mapping builds in file order).
    pub fn into_chunks(self) -> std::result::Result<Chunks, Box<Input>> {
        let rest = self.into_rest()?;
        let parser = RecordParser {
            path: rest.path,
            delimiter: rest.delimiter,
            width: rest.width,
            kind: rest.kind,
            not_utf8: rest.not_utf8,
        };
        Ok(Chunks {
            source: rest.source,
            ahead: rest.ahead,
            ahead_at: 0,
            quoting: rest.quoting,
            carry: Vec::new(),
            ended: false,
            parser,
            chunk_bytes: CHUNK_BYTES,
        })
    }
}

impl Chunks {
    /// Whether the input has been read to its end.
    pub fn ended(&self) -> bool {
        self.ended && self.carry.is_empty()
    }

    /// How the chunks' records are parsed.
    pub fn parser(&self) -> RecordParser {
        self.parser.clone()
    }

    /// Fills `chunk` with the next whole records; `false` once there are none. A quote that
    /// is never closed, or a record longer than the most a record may be, is the error
    /// the csv reader of the whole file gives.
    pub fn next(&mut self, chunk: &mut Chunk) -> Result<bool> {
        let (offset, line) = self.quoting.record_start();
        chunk.offset = offset;
        chunk.line = line;
        chunk.bytes.clear();
        chunk.bytes.extend_from_slice(&self.carry);
        self.carry.clear();
        loop {
            let complete = (self.quoting.record_start().0 - chunk.offset) as usize;
            if self.ended || (complete > 0 && chunk.bytes.len() >= self.chunk_bytes) {
                self.carry.extend_from_slice(&chunk.bytes[complete..]);
                chunk.bytes.truncate(complete);
                return Ok(complete > 0);
            }
            self.read_more(&mut chunk.bytes)
                .map_err(|e| read_error(&self.parser.path, e.into()))?;
        }
    }

    /// Reads more bytes onto the end of `bytes` and follows their quotes.
    fn read_more(&mut self, bytes: &mut Vec<u8>) -> std::io::Result<()> {
        let start = bytes.len();
        let want = self
            .chunk_bytes
            .saturating_sub(start)
            .max(self.chunk_bytes / 3)
            .max(1);
        bytes.resize(start + want, 0);
        let n = self.read(&mut bytes[start..])?;
        bytes.truncate(start + n);
        if n == 0 {
            self.ended = true;
            self.quoting.at_end()?;
        }
        self.quoting.follow(&bytes[start..]);
        self.quoting.check_length()
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let ahead = &self.ahead[self.ahead_at..];
        if !ahead.is_empty() {
            let n = ahead.len().min(buf.len());
            buf[..n].copy_from_slice(&ahead[..n]);
            self.ahead_at += n;
            if self.ahead_at == self.ahead.len() {
                self.ahead = Vec::new();
                self.ahead_at = 0;
            }
            return Ok(n);
        }
        read_up_to(&mut self.source, buf)
    }
}

/// Parses the records of a [`Chunk`] into rows, as [`crate::read::Input::next_row`] reads
/// them one by one.
#[derive(Clone)]
pub struct RecordParser {
    pub(super) path: PathBuf,
    pub(super) delimiter: u8,
    /// The header's width without the columns a mapping generates.
    pub(super) width: usize,
    pub(super) kind: RecordKind,
    pub(super) not_utf8: NotUtf8,
}

impl RecordParser {
    /// Parses `chunk` into the first rows of `rows` (growing it as needed, reusing the
    /// rows' buffers) and drops the rows past them. `false` when a record was not UTF-8:
    /// reading stops there, and the input says so.
    pub fn parse<T: Default>(
        &self,
        chunk: &Chunk,
        rows: &mut Vec<T>,
        raw: impl Fn(&mut T) -> &mut RawRow,
    ) -> Result<bool> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(&chunk.bytes[..]);
        let mut n = 0;
        let mut utf8 = true;
        loop {
            if n == rows.len() {
                rows.push(T::default());
            }
            let row = raw(&mut rows[n]);
            if !reader
                .read_byte_record(&mut row.record)
                .map_err(|e| read_error(&self.path, e))?
            {
                break;
            }
            let line = chunk.line + first_line(&reader, &row.record) - 1;
            let byte = chunk.offset + row.record.position().map_or(0, |p| p.byte());
            let mut position = csv::Position::new();
            position.set_byte(byte).set_line(line);
            row.record.set_position(Some(position));
            row.line = line;
            match self.kind.judge(&row.record) {
                Judged::Row => {}
                Judged::Skipped => continue,
                Judged::NotUtf8 => {
                    self.not_utf8.set();
                    utf8 = false;
                    break;
                }
            }
            row.forget_reading();
            row.utf8 = self.kind.checks_utf8();
            row.fit_to(self.width);
            n += 1;
        }
        rows.truncate(n);
        Ok(utf8)
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Input;
    use proptest::prelude::*;

    /// What a reading gives: each row's line, fields, warnings and dropped fields, and
    /// whether it stopped at a record that is not UTF-8; or its error. (The byte offsets,
    /// which only move the progress bar, may differ by the blank lines before a record.)
    type Read = std::result::Result<(Vec<(u64, Vec<Vec<u8>>, Vec<String>, usize)>, bool), String>;

    fn seen(row: &RawRow) -> (u64, Vec<Vec<u8>>, Vec<String>, usize) {
        (
            row.line,
            row.record.iter().map(<[u8]>::to_vec).collect(),
            row.warnings.clone(),
            row.dropped,
        )
    }

    /// The input of `bytes`, from a file: only its first megabyte decides the encoding.
    fn open(bytes: &[u8]) -> std::result::Result<Input, String> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        Input::open(file.path()).map_err(message)
    }

    /// An error without the file's name, which is a new temporary one each time.
    fn message(e: anyhow::Error) -> String {
        let m = format!("{e:#}");
        m.split_once(", ")
            .map_or(m.clone(), |(_, rest)| rest.to_string())
    }

    fn by_rows(bytes: &[u8]) -> Read {
        let mut input = open(bytes)?;
        let mut rows = Vec::new();
        let mut row = RawRow::default();
        while input.next_row(&mut row).map_err(message)? {
            rows.push(seen(&row));
        }
        Ok((rows, input.not_utf8().found()))
    }

    fn by_chunks(bytes: &[u8], chunk_bytes: usize) -> Read {
        let input = open(bytes)?;
        let not_utf8 = input.not_utf8();
        let Ok(mut chunks) = input.into_chunks() else {
            return Err("not chunked".to_string());
        };
        chunks.chunk_bytes = chunk_bytes;
        let parser = chunks.parser();
        let mut chunk = Chunk::default();
        let mut rows = Vec::new();
        let mut parsed: Vec<RawRow> = Vec::new();
        while chunks.next(&mut chunk).map_err(message)? {
            let utf8 = parser.parse(&chunk, &mut parsed, |r| r).map_err(message)?;
            rows.extend(parsed.iter().map(seen));
            if !utf8 {
                break;
            }
        }
        Ok((rows, not_utf8.found()))
    }

    #[test]
    fn chunks_read_what_the_rows_read() {
        let files: [&[u8]; 6] = [
            b"User Name,Display Name\na@x.nl,A\n\n\"b@x.nl\",\"B\nb\"\r\n  ,  \nc@x.nl\n",
            b"version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required\nExample:,x\nA,a@x.nl\n",
            b"User Name;Display Name\na@x.nl;\"A;\"\"a\"\"\"x;y\nb@x.nl\n",
            b"User Name,Display Name\na@x.nl,\"A\n",
            b"User Name,Display Name\ra@x.nl,A\rb@x.nl,B\r",
            b"\xEF\xBB\xBFUser Name,Display Name\na@x.nl,\xFF\n",
        ];
        for file in files {
            let rows = by_rows(file);
            for n in [1, 2, 3, 7, 64, CHUNK_BYTES] {
                assert_eq!(
                    by_chunks(file, n),
                    rows,
                    "{:?} in chunks of {n}",
                    String::from_utf8_lossy(file)
                );
            }
        }
    }

    #[test]
    fn a_record_that_is_not_utf8_stops_the_chunks_where_it_stops_the_rows() {
        let mut file = b"User Name,Display Name\n".to_vec();
        for i in 0..80_000 {
            file.extend_from_slice(format!("u{i}@x.nl,User {i}\n").as_bytes());
        }
        file.extend_from_slice(b"bad@x.nl,\xE9\nlast@x.nl,Last\n");
        let rows = by_rows(&file);
        assert!(rows
            .as_ref()
            .is_ok_and(|(r, not_utf8)| r.len() == 80_000 && *not_utf8));
        assert_eq!(by_chunks(&file, CHUNK_BYTES), rows);
    }

    #[test]
    fn a_long_record_fails_the_chunks_as_it_fails_the_rows() {
        let mut file = b"User Name,Display Name\na@x.nl,A\nb@x.nl,\"".to_vec();
        file.resize(file.len() + (3 << 20), b'b');
        file.extend_from_slice(b"\"\n");
        let rows = by_rows(&file);
        assert!(
            rows.as_ref().is_err_and(|e| e.starts_with("line 3:")),
            "{rows:?}"
        );
        for n in [7, 64 << 10, CHUNK_BYTES] {
            assert_eq!(by_chunks(&file, n), rows);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn chunks_of_any_size_read_what_the_rows_read(
            body in proptest::collection::vec(proptest::sample::select(b"ab ;,\"\n\r".to_vec()), 0..300),
            chunk_bytes in 1usize..40,
        ) {
            let mut file = b"User Name,Display Name,City\n".to_vec();
            file.extend_from_slice(&body);
            prop_assert_eq!(by_chunks(&file, chunk_bytes), by_rows(&file));
        }
    }
}
