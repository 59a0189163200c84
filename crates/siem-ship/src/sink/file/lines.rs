//! One record per line: the framing shared by the file and stdout sinks.
//!
//! Encoders never emit a raw line break (JSON, CEF, LEEF and syslog encoders escape them), but a
//! line-oriented destination must not trust that: a record carrying `\n` would become two lines,
//! and the second one could pass for a separate, forged event in `tail`, `grep`, Filebeat or a
//! SIEM's file input. The sink cannot escape the record itself because the escaping rules belong
//! to the record's format (a `\n` inside a JSON string is written `\n`, in CEF `\n`, in RFC 5424 it
//! is legal). So a record with a line break is refused, alone, as a permanent failure: the rest of
//! the batch is written and the route sends the refused record to its dead-letter path with the
//! reason.

use crate::{Batch, SinkError};

/// True when `record` holds a byte that line-oriented readers treat as the end of a line.
///
/// Carriage return counts too: many readers (Python's universal newlines, some SIEM file inputs)
/// split on a lone CR, and a terminal rendering CR lets a record overwrite what came before it.
///
/// ```
/// use siem_ship::sink::file::has_line_break;
/// assert!(!has_line_break(br#"{"msg":"a\nb"}"#)); // an escaped newline is two ordinary bytes
/// assert!(has_line_break(b"{\"msg\":\"a\nb\"}"));
/// assert!(has_line_break(b"one\rtwo"));
/// ```
pub fn has_line_break(record: &[u8]) -> bool {
    // Every byte of every record passes through here; memchr's SIMD search keeps the check at
    // a small fraction of the cost of the write itself.
    memchr::memchr2(b'\n', b'\r', record).is_some()
}

/// Appends `record` and its terminating `\n` to `out`.
pub(crate) fn push_line(out: &mut Vec<u8>, record: &[u8]) {
    out.reserve(record.len() + 1);
    out.extend_from_slice(record);
    out.push(b'\n');
}

/// Frames every acceptable record of `batch` into `out` (cleared first) and returns the indices
/// of the records refused because they contain a line break.
pub(crate) fn frame_batch(batch: &Batch, out: &mut Vec<u8>) -> Vec<usize> {
    out.clear();
    out.reserve(batch.byte_len() + batch.len());
    let mut refused = Vec::new();
    for (i, record) in batch.records().enumerate() {
        if has_line_break(record) {
            refused.push(i);
        } else {
            push_line(out, record);
        }
    }
    refused
}

/// The permanent error reporting the records refused for carrying a line break, or `None`.
pub(crate) fn refused_error(sink: &str, refused: Vec<usize>) -> Option<SinkError> {
    if refused.is_empty() {
        return None;
    }
    let message = format!(
        "{sink} sink refused {} record(s) containing a raw line break (CR or LF), which would \
         split one event into several lines; the encoder must escape line breaks",
        refused.len()
    );
    Some(SinkError::permanent(message).with_failed_records(refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_good_records_and_refuses_line_breaks() {
        let mut batch = Batch::default();
        batch.push(b"first");
        batch.push(b"forged\n{\"event\":\"admin login ok\"}");
        batch.push(b"");
        batch.push(b"carriage\rreturn");
        batch.push(b"tab\tNUL\0pipe|quote\"");
        let mut out = Vec::new();
        let refused = frame_batch(&batch, &mut out);
        assert_eq!(refused, vec![1, 3]);
        assert_eq!(out, b"first\n\ntab\tNUL\0pipe|quote\"\n");
        let err = refused_error("file", refused).unwrap();
        assert!(!err.is_retryable());
        assert_eq!(err.failed_records(), Some(&[1usize, 3][..]));
        assert!(err.message().contains("line break"), "{err}");
        assert!(refused_error("file", Vec::new()).is_none());
    }

    #[test]
    fn reuses_the_buffer() {
        let mut batch = Batch::default();
        batch.push(b"x");
        let mut out = b"stale".to_vec();
        assert!(frame_batch(&batch, &mut out).is_empty());
        assert_eq!(out, b"x\n");
    }
}
