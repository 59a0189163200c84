//! Stream framing (RFC 6587 §3.4) and the coalescing of framed records into large writes.

use std::io::{self, IoSlice};

use super::config::Framing;

/// Appends one framed record to `out`.
///
/// Octet counting writes `LEN SP MSG`, so the message travels unchanged. LF framing writes
/// `MSG LF`; a line feed inside the message would end it early and let the rest pose as a
/// second message, and some receivers end frames at NUL, so both are sent as spaces.
pub(super) fn frame(framing: Framing, record: &[u8], out: &mut Vec<u8>) {
    match framing {
        Framing::OctetCounting => {
            let mut digits = itoa_buffer();
            out.extend_from_slice(format_len(record.len(), &mut digits));
            out.push(b' ');
            out.extend_from_slice(record);
        }
        Framing::Lf => {
            let start = out.len();
            out.extend_from_slice(record);
            for b in &mut out[start..] {
                if *b == b'\n' || *b == 0 {
                    *b = b' ';
                }
            }
            out.push(b'\n');
        }
    }
}

/// Bytes `frame` adds around a record of `len` bytes.
pub(super) fn overhead(framing: Framing, len: usize) -> usize {
    match framing {
        Framing::OctetCounting => decimal_digits(len) + 1,
        Framing::Lf => 1,
    }
}

fn decimal_digits(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

fn format_len(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Frames every record of `records` and hands the bytes to `write` in chunks of at most `limit`
/// bytes (a single record longer than `limit` goes in a chunk of its own), so a batch costs a
/// few large writes instead of one per event, and memory stays bounded by the chunk size.
///
/// Empty records carry no event and cannot be octet-counted (the length must not be zero), so
/// they are skipped.
pub(super) fn write_framed<'a>(
    framing: Framing,
    records: impl Iterator<Item = &'a [u8]>,
    limit: usize,
    buffer: &mut Vec<u8>,
    mut write: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    buffer.clear();
    for record in records.filter(|r| !r.is_empty()) {
        let framed_len = record.len() + overhead(framing, record.len());
        if !buffer.is_empty() && buffer.len() + framed_len > limit {
            write(buffer)?;
            buffer.clear();
        }
        frame(framing, record, buffer);
    }
    if !buffer.is_empty() {
        write(buffer)?;
    }
    buffer.clear();
    // One huge record may have grown the buffer; do not keep that memory for good.
    if buffer.capacity() > 4 * limit {
        buffer.shrink_to(limit);
    }
    Ok(())
}

/// Most slices handed to one vectored write (Linux accepts 1024; two per record).
const MAX_SLICES: usize = 1024;

/// Octet-counted framing without copying the records: each group of records (up to `limit`
/// bytes, or 512 records) goes out as one vectored write of `LEN SP` headers interleaved with
/// the records themselves. `write` is called with the slices still to be written and returns
/// how many bytes it took, like [`io::Write::write_vectored`].
///
/// Empty records are skipped, as in [`write_framed`].
pub(super) fn write_octet_counted<'a>(
    records: impl Iterator<Item = &'a [u8]>,
    limit: usize,
    headers: &mut Vec<u8>,
    mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<()> {
    let mut records = records.filter(|r| !r.is_empty()).peekable();
    let mut group: Vec<&'a [u8]> = Vec::with_capacity(MAX_SLICES / 2);
    while records.peek().is_some() {
        // Collect one group and its headers, back to back in `headers`.
        group.clear();
        headers.clear();
        let mut bytes = 0;
        while let Some(&record) = records.peek() {
            let framed = record.len() + overhead(Framing::OctetCounting, record.len());
            if !group.is_empty() && (bytes + framed > limit || group.len() * 2 >= MAX_SLICES) {
                break;
            }
            let mut digits = itoa_buffer();
            headers.extend_from_slice(format_len(record.len(), &mut digits));
            headers.push(b' ');
            group.push(record);
            bytes += framed;
            records.next();
        }
        let mut parts: Vec<&[u8]> = Vec::with_capacity(group.len() * 2);
        let mut at = 0;
        for record in &group {
            let header_len = overhead(Framing::OctetCounting, record.len());
            parts.push(&headers[at..at + header_len]);
            parts.push(record);
            at += header_len;
        }
        write_all_parts(&mut parts, &mut write)?;
    }
    Ok(())
}

/// Writes every part, resuming after partial writes.
fn write_all_parts(
    parts: &mut [&[u8]],
    write: &mut impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<()> {
    let mut first = 0;
    while first < parts.len() {
        let slices: Vec<IoSlice<'_>> = parts[first..].iter().map(|p| IoSlice::new(p)).collect();
        let mut written = match write(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        while first < parts.len() && written >= parts[first].len() {
            written -= parts[first].len();
            first += 1;
        }
        if written > 0 {
            parts[first] = &parts[first][written..];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(framing: Framing, record: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame(framing, record, &mut out);
        assert_eq!(out.len(), record.len() + overhead(framing, record.len()));
        out
    }

    #[test]
    fn octet_counting_counts_bytes_not_characters() {
        assert_eq!(framed(Framing::OctetCounting, b"<34>1 x"), b"7 <34>1 x");
        assert_eq!(
            framed(Framing::OctetCounting, "é\n".as_bytes()),
            "3 é\n".as_bytes()
        );
        let long = vec![b'a'; 12_345];
        assert!(framed(Framing::OctetCounting, &long).starts_with(b"12345 aaa"));
    }

    #[test]
    fn lf_framing_cannot_be_split_by_the_message() {
        assert_eq!(framed(Framing::Lf, b"a\nb\0c\r"), b"a b c\r\n");
    }

    #[test]
    fn writes_are_coalesced_up_to_the_limit() {
        let records: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("record {i:03}").into_bytes())
            .collect();
        let mut writes = Vec::new();
        let mut buffer = Vec::new();
        write_framed(
            Framing::OctetCounting,
            records.iter().map(|r| &r[..]),
            100,
            &mut buffer,
            |w| {
                writes.push(w.to_vec());
                Ok(())
            },
        )
        .unwrap();
        // Each framed record is 13 bytes: 7 fit in 100.
        assert!(writes.iter().all(|w| w.len() <= 100));
        assert_eq!(writes.len(), 100usize.div_ceil(7));
        let all: Vec<u8> = writes.concat();
        let expected: Vec<u8> = records
            .iter()
            .flat_map(|r| framed(Framing::OctetCounting, r))
            .collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn a_record_larger_than_the_limit_is_written_alone_and_empty_ones_are_skipped() {
        let big = vec![b'x'; 1000];
        let records: Vec<&[u8]> = vec![b"a", b"", &big, b"b"];
        let mut writes = Vec::new();
        let mut buffer = Vec::new();
        write_framed(Framing::Lf, records.into_iter(), 100, &mut buffer, |w| {
            writes.push(w.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(writes, vec![2, 1001, 2]);
        assert!(buffer.capacity() <= 1001);
    }

    #[test]
    fn a_write_error_stops_the_batch() {
        let mut buffer = Vec::new();
        let err = write_framed(
            Framing::Lf,
            [&b"a"[..]].into_iter(),
            100,
            &mut buffer,
            |_| Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone")),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn vectored_octet_counting_matches_the_copying_path_across_partial_writes() {
        let records: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("<34>1 - h a - - - record {i}").into_bytes())
            .chain([Vec::new(), vec![b'x'; 70_000]])
            .collect();
        let mut expected = Vec::new();
        let mut buffer = Vec::new();
        write_framed(
            Framing::OctetCounting,
            records.iter().map(|r| &r[..]),
            4096,
            &mut buffer,
            |w| {
                expected.extend_from_slice(w);
                Ok(())
            },
        )
        .unwrap();
        let mut received = Vec::new();
        let mut calls = 0;
        let mut headers = Vec::new();
        write_octet_counted(
            records.iter().map(|r| &r[..]),
            4096,
            &mut headers,
            |slices| {
                assert!(slices.len() <= MAX_SLICES);
                calls += 1;
                // Take at most 1000 bytes per call, and sometimes stop inside a slice.
                let mut room = 1000 - (calls % 7) * 13;
                let mut took = 0;
                for s in slices {
                    let n = s.len().min(room);
                    received.extend_from_slice(&s[..n]);
                    took += n;
                    room -= n;
                    if room == 0 {
                        break;
                    }
                }
                Ok(took)
            },
        )
        .unwrap();
        assert_eq!(received, expected);
    }
}
