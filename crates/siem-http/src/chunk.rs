//! Splitting a batch into requests that respect an API's limits, before anything is sent.

use std::ops::Range;

use siem_ship::Batch;

/// An API's per-request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest body, uncompressed, framing included.
    pub max_bytes: usize,
    /// Most records per request.
    pub max_entries: usize,
    /// Largest single record, as encoded.
    pub max_entry_bytes: usize,
}

/// How records travel in a body: bytes around the whole and between two records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub open: &'a [u8],
    pub separator: &'a [u8],
    pub close: &'a [u8],
}

/// Requests to send (consecutive records each) and the records too large to send at all.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Split {
    pub requests: Vec<Range<usize>>,
    pub oversized: Vec<usize>,
}

/// Splits `batch` so that no request passes `limits`, given each record's size once framed
/// (`framed_len`). A record larger than `max_entry_bytes`, or whose request alone would pass
/// `max_bytes`, is set aside as oversized, and the requests on either side stay separate.
pub(crate) fn split(
    batch: &Batch,
    limits: Limits,
    envelope: Envelope<'_>,
    framed_len: impl Fn(&[u8]) -> usize,
) -> Split {
    let fixed = envelope.open.len() + envelope.close.len();
    let mut out = Split::default();
    let mut start = 0;
    let mut bytes = fixed;
    let close = |out: &mut Split, start: usize, end: usize| {
        if end > start {
            out.requests.push(start..end);
        }
    };
    for (i, record) in batch.records().enumerate() {
        let framed = framed_len(record);
        if record.len() > limits.max_entry_bytes || fixed + framed > limits.max_bytes {
            close(&mut out, start, i);
            out.oversized.push(i);
            start = i + 1;
            bytes = fixed;
            continue;
        }
        let separator = if i > start {
            envelope.separator.len()
        } else {
            0
        };
        if i > start
            && (bytes + separator + framed > limits.max_bytes || i - start >= limits.max_entries)
        {
            close(&mut out, start, i);
            start = i;
            bytes = fixed + framed;
        } else {
            bytes += separator + framed;
        }
    }
    close(&mut out, start, batch.len());
    out
}

/// Splits each of `requests` further wherever `same_request(first, record)` says that a
/// record may not travel with the first record of its request.
pub(crate) fn split_where(
    batch: &Batch,
    requests: Vec<Range<usize>>,
    same_request: impl Fn(&[u8], &[u8]) -> bool,
) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        let mut start = request.start;
        for i in request.clone() {
            let (Some(first), Some(record)) = (batch.record(start), batch.record(i)) else {
                continue;
            };
            if i > start && !same_request(first, record) {
                out.push(start..i);
                start = i;
            }
        }
        out.push(start..request.end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARRAY: Envelope<'static> = Envelope {
        open: b"[",
        separator: b",",
        close: b"]",
    };

    fn batch(sizes: &[usize]) -> Batch {
        let mut b = Batch::default();
        for &n in sizes {
            b.push(&vec![b'x'; n]);
        }
        b
    }

    fn limits(max_bytes: usize, max_entries: usize, max_entry_bytes: usize) -> Limits {
        Limits {
            max_bytes,
            max_entries,
            max_entry_bytes,
        }
    }

    #[test]
    fn bodies_stay_within_the_byte_limit_framing_included() {
        // [xxxx,xxxx] is 11 bytes: two records of 4 fit in 11, not in 10.
        let s = split(&batch(&[4, 4, 4]), limits(11, 100, 100), ARRAY, <[u8]>::len);
        assert_eq!(s.requests, vec![0..2, 2..3]);
        let s = split(&batch(&[4, 4, 4]), limits(10, 100, 100), ARRAY, <[u8]>::len);
        assert_eq!(s.requests, vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn entry_count_is_a_limit_too() {
        let s = split(&batch(&[1; 5]), limits(1000, 2, 100), ARRAY, <[u8]>::len);
        assert_eq!(s.requests, vec![0..2, 2..4, 4..5]);
    }

    #[test]
    fn oversized_records_are_set_aside_and_split_the_run() {
        let s = split(
            &batch(&[1, 50, 1, 1]),
            limits(1000, 100, 10),
            ARRAY,
            <[u8]>::len,
        );
        assert_eq!(s.requests, vec![0..1, 2..4]);
        assert_eq!(s.oversized, vec![1]);
        // A record within max_entry_bytes whose framing alone passes max_bytes.
        let s = split(&batch(&[8]), limits(9, 100, 100), ARRAY, <[u8]>::len);
        assert_eq!((s.requests.len(), s.oversized), (0, vec![0]));
    }

    #[test]
    fn framing_per_record_counts() {
        // [xxxxx,xxxxx] is 13 bytes.
        let s = split(&batch(&[2, 2]), limits(13, 100, 100), ARRAY, |r| {
            r.len() + 3
        });
        assert_eq!(s.requests, vec![0..2]);
        let s = split(&batch(&[2, 2]), limits(12, 100, 100), ARRAY, |r| {
            r.len() + 3
        });
        assert_eq!(s.requests, vec![0..1, 1..2]);
    }

    #[test]
    fn requests_split_where_a_record_may_not_join_the_first() {
        // Records of 1, 2, 3, 10 and 11 bytes; a request spans at most 5 in length.
        let b = batch(&[1, 2, 3, 10, 11]);
        let split = split_where(&b, vec![0..4, 4..5], |first, r| r.len() - first.len() <= 5);
        assert_eq!(split, vec![0..3, 3..4, 4..5]);
    }
}
