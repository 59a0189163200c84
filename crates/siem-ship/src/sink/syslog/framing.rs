//! Stream framing (RFC 6587 §3.4) and the coalescing of framed records into large writes.

use std::io;

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

/// Frames every record of `records` onto the end of `out` and hands the new bytes to `write`
/// in chunks of at most `limit` bytes (a single record longer than `limit` goes in a chunk of
/// its own), so a batch costs a few large writes instead of one per event. `out` keeps every
/// framed byte: the resend window holds on to them.
///
/// Empty records carry no event and cannot be octet-counted (the length must not be zero), so
/// they are skipped.
pub(super) fn write_framed<'a>(
    framing: Framing,
    records: impl Iterator<Item = &'a [u8]>,
    limit: usize,
    out: &mut Vec<u8>,
    mut write: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut written = out.len();
    for record in records.filter(|r| !r.is_empty()) {
        let framed_len = record.len() + overhead(framing, record.len());
        if out.len() > written && out.len() - written + framed_len > limit {
            write(&out[written..])?;
            written = out.len();
        }
        frame(framing, record, out);
    }
    if out.len() > written {
        write(&out[written..])?;
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
        let mut out = b"kept".to_vec();
        write_framed(Framing::Lf, records.into_iter(), 100, &mut out, |w| {
            writes.push(w.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(writes, vec![2, 1001, 2]);
        assert_eq!(
            out.len(),
            4 + 2 + 1001 + 2,
            "everything framed stays in `out`"
        );
        assert!(out.starts_with(b"kepta\nxxx"));
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
}
