//! The bytes of a segment file, and reading them back without trusting them.
//!
//! A segment starts with a header (`SIEMSPL1`, the sequence number of its first record, a
//! CRC-32 of both), then holds records back to back:
//!
//! ```text
//! magic u32 | length u32 | seq u64 | header crc u32 (of length and seq) | payload crc u32 | payload
//! ```
//!
//! all little-endian. Sequence numbers run on across segments, so a gap between two valid
//! records says how many records the bytes between them held. A record that fails a check is
//! skipped by looking for the next record magic whose header checksum holds; the header
//! checksum is verified before a length is believed, and no length beyond the segment's end or
//! [`MAX_RECORD_BYTES`] is ever allocated.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

/// The first eight bytes of every segment.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"SIEMSPL1";
/// Bytes of the segment header.
pub(crate) const SEGMENT_HEADER_BYTES: u64 = 20;
/// The first bytes of every record.
const RECORD_MAGIC: [u8; 4] = *b"SREC";
/// Bytes of a record header.
pub(crate) const RECORD_HEADER_BYTES: u64 = 24;
/// The largest record accepted: larger lengths are corruption, whatever the checksum says.
pub(crate) const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// The header of a segment whose first record has sequence number `first_seq`.
pub(crate) fn segment_header(first_seq: u64) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..16].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32fast::hash(&h[..16]);
    h[16..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Appends one record to `out`.
pub(crate) fn push_record(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let len = payload.len() as u32;
    let mut header = [0u8; RECORD_HEADER_BYTES as usize];
    header[..4].copy_from_slice(&RECORD_MAGIC);
    header[4..8].copy_from_slice(&len.to_le_bytes());
    header[8..16].copy_from_slice(&seq.to_le_bytes());
    let header_crc = crc32fast::hash(&header[4..16]);
    header[16..20].copy_from_slice(&header_crc.to_le_bytes());
    header[20..24].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
}

/// The bytes one record of `payload_len` bytes takes in a segment.
pub(crate) fn record_bytes(payload_len: usize) -> u64 {
    RECORD_HEADER_BYTES + payload_len as u64
}

/// A record header whose own checksum holds.
struct Header {
    len: u64,
    seq: u64,
    payload_crc: u32,
}

fn parse_header(b: &[u8; RECORD_HEADER_BYTES as usize]) -> Option<Header> {
    if b[..4] != RECORD_MAGIC {
        return None;
    }
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    if crc32fast::hash(&b[4..16]) != word(16) {
        return None;
    }
    Some(Header {
        len: u64::from(word(4)),
        seq: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
        payload_crc: word(20),
    })
}

/// What reading a segment found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A valid record, now in the payload buffer.
    Record {
        /// Its sequence number.
        seq: u64,
    },
    /// Bytes that hold no valid record, up to the next valid record (which the next call
    /// returns) or the end.
    Corrupt {
        /// Records lost in them, when the sequence numbers around them say (`None` when the
        /// damage reaches the end of what can be read).
        lost: Option<u64>,
    },
    /// Nothing more up to the limit.
    End,
}

/// Reads one segment from a position, record by record, in constant memory (a buffered
/// reader and the one payload being read).
pub(crate) struct SegmentReader {
    file: BufReader<File>,
    pos: u64,
    /// The sequence number the next record should carry, when known.
    expected: Option<u64>,
}

impl SegmentReader {
    /// Opens a segment and checks its header; reading starts at `from` (a record boundary
    /// acknowledged earlier), or after the header when `from` is 0. Returns the reader and
    /// the segment's first sequence number.
    pub fn open(file: File, from: u64) -> io::Result<(SegmentReader, u64)> {
        let mut file = BufReader::with_capacity(64 * 1024, file);
        let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
        file.read_exact(&mut header).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => invalid("the segment is shorter than its header"),
            _ => e,
        })?;
        if &header[..8] != SEGMENT_MAGIC
            || crc32fast::hash(&header[..16])
                != u32::from_le_bytes(header[16..].try_into().expect("4 bytes"))
        {
            return Err(invalid("the segment header is not a spool segment's"));
        }
        let first_seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let mut reader = SegmentReader {
            file,
            pos: SEGMENT_HEADER_BYTES,
            expected: Some(first_seq),
        };
        if from > SEGMENT_HEADER_BYTES {
            reader.seek(from)?;
            reader.expected = None;
        }
        Ok((reader, first_seq))
    }

    /// The position of the next record.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The sequence number the next record should carry, when known.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    fn seek(&mut self, pos: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(pos))?;
        self.pos = pos;
        Ok(())
    }

    /// Reads the next record up to byte `limit` into `payload`.
    pub fn next(&mut self, limit: u64, payload: &mut Vec<u8>) -> io::Result<Step> {
        if self.pos >= limit {
            return Ok(Step::End);
        }
        if let Some(seq) = self.try_record(limit, payload)? {
            return Ok(Step::Record { seq });
        }
        // Damaged: look for the next valid record.
        let expected = self.expected;
        let damaged_at = self.pos;
        let mut candidate = damaged_at + 1;
        while let Some(at) = self.find_magic(candidate, limit)? {
            self.seek(at)?;
            if let Some(seq) = self.try_record(limit, payload)? {
                // Found: go back so that the next call returns it.
                self.seek(at)?;
                let lost = expected.map_or(1, |e| seq.saturating_sub(e));
                self.expected = Some(seq);
                return Ok(Step::Corrupt { lost: Some(lost) });
            }
            candidate = at + 1;
        }
        self.seek(limit)?;
        Ok(Step::Corrupt { lost: None })
    }

    /// Reads a record at the current position if a valid one is there (the position then
    /// moves past it); otherwise leaves the position unspecified and returns `None`.
    fn try_record(&mut self, limit: u64, payload: &mut Vec<u8>) -> io::Result<Option<u64>> {
        if limit - self.pos < RECORD_HEADER_BYTES {
            return Ok(None);
        }
        let mut raw = [0u8; RECORD_HEADER_BYTES as usize];
        self.file.read_exact(&mut raw)?;
        let Some(h) = parse_header(&raw) else {
            return Ok(None);
        };
        if h.len > MAX_RECORD_BYTES || h.len > limit - self.pos - RECORD_HEADER_BYTES {
            return Ok(None);
        }
        payload.clear();
        (&mut self.file).take(h.len).read_to_end(payload)?;
        if payload.len() as u64 != h.len || crc32fast::hash(payload) != h.payload_crc {
            return Ok(None);
        }
        self.pos += RECORD_HEADER_BYTES + h.len;
        self.expected = Some(h.seq + 1);
        Ok(Some(h.seq))
    }

    /// The position of the next record magic at or after `from` and before `limit`, read
    /// through a fixed window.
    fn find_magic(&mut self, from: u64, limit: u64) -> io::Result<Option<u64>> {
        let mut window = vec![0u8; 64 * 1024];
        let mut at = from;
        while at + RECORD_MAGIC.len() as u64 <= limit {
            self.seek(at)?;
            let want = (limit - at).min(window.len() as u64) as usize;
            let got = read_up_to(&mut self.file, &mut window[..want])?;
            if got < RECORD_MAGIC.len() {
                return Ok(None);
            }
            if let Some(i) = memchr::memmem::find(&window[..got], &RECORD_MAGIC) {
                return Ok(Some(at + i as u64));
            }
            // The magic may straddle two windows.
            at += (got - (RECORD_MAGIC.len() - 1)) as u64;
        }
        Ok(None)
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn segment(records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = segment_header(records.first().map_or(0, |r| r.0)).to_vec();
        for (seq, p) in records {
            push_record(&mut out, *seq, p);
        }
        out
    }

    fn read_all(bytes: &[u8]) -> Vec<Result<Vec<u8>, Option<u64>>> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let (mut r, _) = SegmentReader::open(f, 0).unwrap();
        let mut out = Vec::new();
        let mut payload = Vec::new();
        loop {
            match r.next(bytes.len() as u64, &mut payload).unwrap() {
                Step::Record { .. } => out.push(Ok(payload.clone())),
                Step::Corrupt { lost } => out.push(Err(lost)),
                Step::End => return out,
            }
        }
    }

    #[test]
    fn records_read_back_in_order() {
        let s = segment(&[(7, b"one"), (8, b""), (9, b"three")]);
        assert_eq!(
            read_all(&s),
            vec![Ok(b"one".to_vec()), Ok(vec![]), Ok(b"three".to_vec())]
        );
    }

    #[test]
    fn a_flipped_byte_loses_one_record_and_says_so() {
        let mut s = segment(&[(1, b"aaaa"), (2, b"bbbb"), (3, b"cccc")]);
        let second_payload = (SEGMENT_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 4) as usize;
        s[second_payload] ^= 0x40;
        assert_eq!(
            read_all(&s),
            vec![Ok(b"aaaa".to_vec()), Err(Some(1)), Ok(b"cccc".to_vec())]
        );
    }

    #[test]
    fn a_torn_tail_is_reported_without_a_count() {
        let s = segment(&[(1, b"aaaa"), (2, b"bbbb")]);
        assert_eq!(
            read_all(&s[..s.len() - 2]),
            vec![Ok(b"aaaa".to_vec()), Err(None)]
        );
    }

    #[test]
    fn a_huge_length_with_a_forged_header_checksum_is_not_allocated() {
        let mut s = segment_header(1).to_vec();
        let mut header = [0u8; 24];
        header[..4].copy_from_slice(&RECORD_MAGIC);
        header[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let crc = crc32fast::hash(&header[4..16]);
        header[16..20].copy_from_slice(&crc.to_le_bytes());
        s.extend_from_slice(&header);
        push_record(&mut s, 2, b"after");
        assert_eq!(read_all(&s), vec![Err(Some(1)), Ok(b"after".to_vec())]);
    }
}
