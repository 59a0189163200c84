//! The tamper-evident chain of a file destination (`chain: { key: … }`): every JSON line ends
//! with `"chain":{"seq":N,"prev":"…","mac":"…"}`, where `mac` is HMAC-SHA256 under the key of
//! the previous line's `mac` (`prev`), the sequence number and the line as the encoder made it.
//!
//! Whoever lacks the key cannot change a line, insert one, remove one or reorder them without
//! [`Verifier`] noticing at that line: a changed or inserted line fails its MAC, a removed one
//! leaves a gap in `seq` and a `prev` that is not the last `mac`, a moved one goes back in `seq`.
//! Lines removed from the very end leave no trace in the file itself (the chain has nothing
//! after them); compare the last `seq` with the destination's shipped count, or ship the same
//! events to a second destination, to cover that.
//!
//! The chain continues across rotation (each file's first line names the previous file's last
//! `mac` in `prev`) and across restarts (the sink resumes from the last line of the live file,
//! or of `<path>.1` / `<path>.1.gz` when the live file is new).
//!
//! ```
//! use siem_ship::sink::file::{FileConfig, FileSink, Verifier};
//! use siem_ship::{Batch, Secret, Sink};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("audit.jsonl");
//! let mut sink = FileSink::open(FileConfig::new(&path).chain(Secret::new("k3y-0123456789abcdef"))).unwrap();
//! let mut batch = Batch::default();
//! batch.push(br#"{"event_type":"auth.failure","user":"alice"}"#);
//! batch.push(br#"{"event_type":"auth.success","user":"alice"}"#);
//! sink.send(&batch).unwrap();
//! sink.close().unwrap();
//!
//! let text = std::fs::read_to_string(&path).unwrap();
//! let mut verifier = Verifier::new(b"k3y-0123456789abcdef");
//! for line in text.lines() {
//!     verifier.check(line.as_bytes()).unwrap();
//! }
//! assert_eq!(verifier.verified(), 2);
//! let forged = text.replace("alice", "mallory");
//! let mut verifier = Verifier::new(b"k3y-0123456789abcdef");
//! assert!(verifier.check(forged.lines().next().unwrap().as_bytes()).is_err());
//! ```

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::rotate::{rotated_path, RotatedKind};

type HmacSha256 = Hmac<Sha256>;

/// A MAC: 32 bytes of HMAC-SHA256.
type Tag = [u8; 32];

/// The key on the line, before `{"seq":`.
const MARKER: &[u8] = b"\"chain\":{\"seq\":";

/// The most bytes the chain fields add to a line (`,"chain":{"seq":N,"prev":"…","mac":"…"}`
/// with a 20-digit `seq`), counted when deciding whether a line still fits before rotation.
pub(crate) const LINE_OVERHEAD: u64 = (1 + MARKER.len() + 20 + 9 + 64 + 9 + 64 + 2) as u64;

/// The longest last line read back to resume a chain.
const MAX_RESUME_LINE: u64 = 1 << 20;

/// The chain's position: the next sequence number and the last MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    next_seq: u64,
    prev: Tag,
}

impl Position {
    /// The start of a new chain: `seq` 1 after an all-zero MAC.
    const START: Position = Position {
        next_seq: 1,
        prev: [0; 32],
    };
}

/// The writing side: appends chained lines.
#[derive(Clone)]
pub(crate) struct Chain {
    key: HmacSha256,
    position: Position,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A chain under `key` that continues the one in the files at `path`, or starts anew.
    pub(crate) fn resume(key: &[u8], path: &Path) -> Chain {
        Chain {
            key: keyed(key),
            position: resume_position(path).unwrap_or(Position::START),
        }
    }

    /// Where the chain is, to go back to if the lines pushed after this are not written.
    pub(crate) fn position(&self) -> Position {
        self.position
    }

    /// Goes back to `position` (its lines were not written and will be pushed again).
    pub(crate) fn rewind(&mut self, position: Position) {
        self.position = position;
    }

    /// Appends `record` with its chain fields, and `\n`, to `out`. `record` must be a JSON
    /// object on one line (the destination accepts only JSON formats with a chain).
    pub(crate) fn push_line(&mut self, out: &mut Vec<u8>, record: &[u8]) {
        let seq = self.position.next_seq;
        let mac = compute(&self.key, &self.position.prev, seq, record);
        let body = record.strip_suffix(b"}").unwrap_or(record);
        out.extend_from_slice(body);
        if !body.trim_ascii_end().ends_with(b"{") {
            out.push(b',');
        }
        out.extend_from_slice(MARKER);
        let mut tail = String::with_capacity(160);
        let _ = write!(tail, "{seq},\"prev\":\"");
        push_hex(&mut tail, &self.position.prev);
        tail.push_str("\",\"mac\":\"");
        push_hex(&mut tail, &mac);
        tail.push_str("\"}}\n");
        out.extend_from_slice(tail.as_bytes());
        self.position = Position {
            next_seq: seq + 1,
            prev: mac,
        };
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(key).expect("HMAC accepts every key length")
}

fn compute(key: &HmacSha256, prev: &Tag, seq: u64, record: &[u8]) -> Tag {
    let mut mac = key.clone();
    mac.update(prev);
    mac.update(&seq.to_be_bytes());
    mac.update(record);
    mac.finalize().into_bytes().into()
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

fn parse_hex(text: &[u8]) -> Option<Tag> {
    if text.len() != 64 {
        return None;
    }
    let mut tag = [0; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        tag[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(tag)
}

/// A line taken apart: the record as it was chained, and its chain fields.
struct ChainedLine<'a> {
    /// The line up to the chain fields (without the `,` before them).
    head: &'a [u8],
    seq: u64,
    prev: Tag,
    mac: Tag,
}

impl ChainedLine<'_> {
    /// The record's bytes as the MAC covers them: the head closed with `}`.
    fn mac_input(&self, key: &HmacSha256) -> Tag {
        let mut mac = key.clone();
        mac.update(&self.prev);
        mac.update(&self.seq.to_be_bytes());
        mac.update(self.head);
        mac.update(b"}");
        mac.finalize().into_bytes().into()
    }
}

/// Splits a line written by [`Chain::push_line`]; `None` when it does not end with chain
/// fields of exactly that shape.
fn split(line: &[u8]) -> Option<ChainedLine<'_>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let at = memchr::memmem::rfind(line, MARKER)?;
    let fields = &line[at + MARKER.len()..];
    let digits = fields.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let seq: u64 = std::str::from_utf8(&fields[..digits]).ok()?.parse().ok()?;
    let rest = fields[digits..].strip_prefix(b",\"prev\":\"")?;
    let prev = parse_hex(rest.get(..64)?)?;
    let rest = rest[64..].strip_prefix(b"\",\"mac\":\"")?;
    let mac = parse_hex(rest.get(..64)?)?;
    if &rest[64..] != b"\"}}" {
        return None;
    }
    let head = &line[..at];
    let head = match head.strip_suffix(b",") {
        Some(without_comma) => without_comma,
        None if head.trim_ascii_end().ends_with(b"{") => head,
        None => return None,
    };
    Some(ChainedLine {
        head,
        seq,
        prev,
        mac,
    })
}

/// Where the chain of the files at `path` stopped: after the last line of the live file, or of
/// the newest rotated file when the live file has none.
fn resume_position(path: &Path) -> Option<Position> {
    let candidates = [
        last_line_of_plain(path),
        last_line_of_plain(&rotated_path(path, 1, RotatedKind::Plain)),
        last_line_of_gzip(&rotated_path(path, 1, RotatedKind::Gzip)),
    ];
    candidates.into_iter().flatten().find_map(|line| {
        let chained = split(&line)?;
        Some(Position {
            next_seq: chained.seq.checked_add(1)?,
            prev: chained.mac,
        })
    })
}

/// The last complete line of a file (up to [`MAX_RESUME_LINE`] bytes), if any.
fn last_line_of_plain(path: &Path) -> Option<Vec<u8>> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let start = size.saturating_sub(MAX_RESUME_LINE);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    last_line(&tail)
}

fn last_line_of_gzip(path: &Path) -> Option<Vec<u8>> {
    last_line(&read_maybe_gzip(path).ok()?)
}

fn last_line(bytes: &[u8]) -> Option<Vec<u8>> {
    let complete = bytes.strip_suffix(b"\n")?;
    let start = memchr::memrchr(b'\n', complete).map_or(0, |i| i + 1);
    Some(complete[start..].to_vec())
}

/// What [`Verifier::check`] found wrong with a line.
///
/// ```
/// use siem_ship::sink::file::{Tamper, Verifier};
/// let mut verifier = Verifier::new(b"k");
/// assert_eq!(verifier.check(b"{\"a\":1}"), Err(Tamper::NotChained));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Tamper {
    /// The line carries no chain fields: inserted, or written without a chain.
    #[error("the line carries no chain fields (inserted, or written without `chain`)")]
    NotChained,
    /// The line's MAC does not match its content under the key: modified, forged, or
    /// checked with the wrong key.
    #[error("event {seq} was modified or forged (its MAC does not match; or the key is wrong)")]
    Modified {
        /// The line's sequence number.
        seq: u64,
    },
    /// Sequence numbers jump: the events in between were removed.
    #[error("events {first} to {last} are missing (removed)")]
    Missing {
        /// The first missing sequence number.
        first: u64,
        /// The last missing one.
        last: u64,
    },
    /// The sequence goes back: the line was moved, duplicated or inserted here.
    #[error("event {seq} is out of order (expected {expected}): moved, duplicated or inserted")]
    OutOfOrder {
        /// The line's sequence number.
        seq: u64,
        /// The number that should have come.
        expected: u64,
    },
    /// The line's `prev` is not the previous line's MAC though the sequence continues.
    #[error("event {seq} does not link to the event before it (lines replaced or spliced)")]
    BrokenLink {
        /// The line's sequence number.
        seq: u64,
    },
}

/// Checks chained lines in order, across files (oldest first) — what `siem verify` runs.
///
/// The first line checked is taken as the start (its `prev` is believed); every later one must
/// continue it. See the module example.
pub struct Verifier {
    key: HmacSha256,
    last: Option<(u64, Tag)>,
    verified: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for lines chained under `key`.
    ///
    /// ```
    /// let verifier = siem_ship::sink::file::Verifier::new(b"k3y");
    /// assert_eq!(verifier.verified(), 0);
    /// ```
    pub fn new(key: &[u8]) -> Verifier {
        Verifier {
            key: keyed(key),
            last: None,
            verified: 0,
        }
    }

    /// Checks the next line (with or without its `\n`).
    ///
    /// ```
    /// let mut verifier = siem_ship::sink::file::Verifier::new(b"k3y");
    /// assert!(verifier.check(b"not a chained line").is_err());
    /// ```
    pub fn check(&mut self, line: &[u8]) -> Result<(), Tamper> {
        let chained = split(line).ok_or(Tamper::NotChained)?;
        if chained.mac_input(&self.key) != chained.mac {
            return Err(Tamper::Modified { seq: chained.seq });
        }
        if let Some((last_seq, last_mac)) = self.last {
            let expected = last_seq.saturating_add(1);
            if chained.seq > expected {
                return Err(Tamper::Missing {
                    first: expected,
                    last: chained.seq - 1,
                });
            }
            if chained.seq < expected {
                return Err(Tamper::OutOfOrder {
                    seq: chained.seq,
                    expected,
                });
            }
            if chained.prev != last_mac {
                return Err(Tamper::BrokenLink { seq: chained.seq });
            }
        }
        self.last = Some((chained.seq, chained.mac));
        self.verified += 1;
        Ok(())
    }

    /// How many lines passed.
    ///
    /// ```
    /// assert_eq!(siem_ship::sink::file::Verifier::new(b"k").verified(), 0);
    /// ```
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// The sequence number of the last line that passed.
    ///
    /// ```
    /// assert_eq!(siem_ship::sink::file::Verifier::new(b"k").last_seq(), None);
    /// ```
    pub fn last_seq(&self) -> Option<u64> {
        self.last.map(|(seq, _)| seq)
    }
}

/// Reads a possibly gzip-compressed file of chained lines (`.gz` by name) for verification.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("e.jsonl");
/// std::fs::write(&path, b"{}\n").unwrap();
/// let text = siem_ship::sink::file::read_maybe_gzip(&path).unwrap();
/// assert_eq!(text, b"{}\n");
/// ```
pub fn read_maybe_gzip(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file).read_to_end(&mut bytes)?;
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chained(records: &[&str]) -> Vec<Vec<u8>> {
        let mut chain = Chain {
            key: keyed(b"k"),
            position: Position::START,
        };
        records
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                chain.push_line(&mut out, r.as_bytes());
                out
            })
            .collect()
    }

    fn verify(lines: &[Vec<u8>]) -> Result<u64, Tamper> {
        let mut verifier = Verifier::new(b"k");
        for line in lines {
            verifier.check(line)?;
        }
        Ok(verifier.verified())
    }

    #[test]
    fn lines_stay_json_and_verify() {
        let lines = chained(&[r#"{"a":1}"#, "{}", r#"{"b":"}"}"#]);
        for line in &lines {
            let value: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert!(value["chain"]["seq"].is_u64(), "{value}");
        }
        assert_eq!(verify(&lines), Ok(3));
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let lines = chained(&[r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#, r#"{"n":4}"#]);
        let mut modified = lines.clone();
        modified[1] = String::from_utf8(lines[1].clone())
            .unwrap()
            .replace("\"n\":2", "\"n\":9")
            .into_bytes();
        assert_eq!(verify(&modified), Err(Tamper::Modified { seq: 2 }));
        let removed = [lines[0].clone(), lines[2].clone(), lines[3].clone()];
        assert_eq!(verify(&removed), Err(Tamper::Missing { first: 2, last: 2 }));
        let reordered = [lines[0].clone(), lines[2].clone(), lines[1].clone()];
        assert_eq!(
            verify(&reordered),
            Err(Tamper::Missing { first: 2, last: 2 })
        );
        let swapped_tail = [lines[0].clone(), lines[1].clone(), lines[1].clone()];
        assert_eq!(
            verify(&swapped_tail),
            Err(Tamper::OutOfOrder {
                seq: 2,
                expected: 3
            })
        );
        let inserted = [lines[0].clone(), br#"{"n":"forged"}"#.to_vec()];
        assert_eq!(verify(&inserted), Err(Tamper::NotChained));
        // A line from another chain under the same key, with the right seq.
        let other = chained(&[r#"{"x":1}"#, r#"{"x":2}"#]);
        let spliced = [lines[0].clone(), other[1].clone()];
        assert_eq!(verify(&spliced), Err(Tamper::BrokenLink { seq: 2 }));
    }

    #[test]
    fn hostile_chain_fields_are_refused_not_panicked_on() {
        for line in [
            &b"\"chain\":{\"seq\":"[..],
            b"{\"chain\":{\"seq\":99999999999999999999999,\"prev\":\"\",\"mac\":\"\"}}",
            b"{\"chain\":{\"seq\":1,\"prev\":\"zz\",\"mac\":\"00\"}}",
            b"{,\"chain\":{\"seq\":1,\"prev\":\"",
            "{\"chain\":{\"seq\":1,\"prev\":\"é\"}}".as_bytes(),
        ] {
            assert!(Verifier::new(b"k").check(line).is_err());
        }
    }

    #[test]
    fn resumes_after_the_last_line_of_the_live_or_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        assert_eq!(resume_position(&path), None);
        let lines = chained(&[r#"{"n":1}"#, r#"{"n":2}"#]);
        std::fs::write(rotated_path(&path, 1, RotatedKind::Plain), lines.concat()).unwrap();
        std::fs::write(&path, b"").unwrap();
        let position = resume_position(&path).unwrap();
        assert_eq!(position.next_seq, 3);
        let mut verifier = Verifier::new(b"k");
        for line in &lines {
            verifier.check(line).unwrap();
        }
        let mut chain = Chain {
            key: keyed(b"k"),
            position,
        };
        let mut next = Vec::new();
        chain.push_line(&mut next, br#"{"n":3}"#);
        assert_eq!(verifier.check(&next), Ok(()));
    }
}
