//! Shortening a message to fit one UDP datagram without breaking its format.
//!
//! A blind cut can leave half a UTF-8 character, an unterminated RFC 5424 structured-data
//! element (which strict receivers reject whole) or a dangling `\` that escapes nothing
//! (CEF, LEEF, SD values). Here an RFC 5424 message keeps its header, then as many whole
//! structured-data parameters as fit (each element properly closed), then as much of MSG as
//! fits; any other message is cut at a character boundary. A cut never ends in an unpaired
//! backslash.

/// Writes into `out` the longest well-formed prefix of `record` that fits in `max` bytes.
/// `record` must be longer than `max`.
pub(super) fn truncate(record: &[u8], max: usize, out: &mut Vec<u8>) {
    out.clear();
    if let Some(layout) = Rfc5424Layout::parse(record) {
        if layout.header_end < max {
            layout.truncate(record, max, out);
            return;
        }
    }
    out.extend_from_slice(cut_text(record, max));
}

/// The longest prefix of `text` of at most `max` bytes that ends on a UTF-8 character
/// boundary and not in the middle of a backslash escape.
fn cut_text(text: &[u8], max: usize) -> &[u8] {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
    while end > 0 && (text[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let backslashes = text[..end]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    if backslashes % 2 == 1 {
        end -= 1;
    }
    &text[..end]
}

/// Where the parts of an RFC 5424 message are.
struct Rfc5424Layout {
    /// Index just past the SP that ends MSGID.
    header_end: usize,
    /// SD elements as (start, end-exclusive, param ends): each param end is the index just past
    /// the closing quote of that param's value.
    elements: Vec<(usize, usize, Vec<usize>)>,
    /// Index of the first byte of MSG (after its SP), if the message has one.
    msg_start: Option<usize>,
}

impl Rfc5424Layout {
    /// Recognises `<PRI>1 TS HOST APP PROCID MSGID SD [SP MSG]`; `None` for anything else,
    /// which is then cut as plain text.
    fn parse(m: &[u8]) -> Option<Rfc5424Layout> {
        let close = m.iter().take(5).position(|&b| b == b'>')?;
        if m.first() != Some(&b'<') || close < 2 || !m[1..close].iter().all(u8::is_ascii_digit) {
            return None;
        }
        if m.get(close + 1..close + 3) != Some(b"1 ") {
            return None;
        }
        // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each followed by SP.
        let mut i = close + 3;
        for _ in 0..5 {
            let field_len = m[i..].iter().position(|&b| b == b' ')?;
            if field_len == 0 {
                return None;
            }
            i += field_len + 1;
        }
        let header_end = i;
        let mut elements = Vec::new();
        if m.get(i) == Some(&b'-') {
            i += 1;
        } else {
            while m.get(i) == Some(&b'[') {
                let (end, params) = parse_element(m, i)?;
                elements.push((i, end, params));
                i = end;
            }
            if elements.is_empty() {
                return None;
            }
        }
        let msg_start = match m.get(i) {
            None => None,
            Some(b' ') => Some(i + 1),
            Some(_) => return None,
        };
        Some(Rfc5424Layout {
            header_end,
            elements,
            msg_start,
        })
    }

    fn truncate(&self, m: &[u8], max: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&m[..self.header_end]);
        let mut kept_all = true;
        for (start, end, params) in &self.elements {
            if out.len() + (end - start) <= max {
                out.extend_from_slice(&m[*start..*end]);
                continue;
            }
            kept_all = false;
            // Keep the SD-ID and the params that fit, then close the element.
            let id_end = params.first().map_or(end - 1, |&first| {
                let value_start = m[*start..first].iter().position(|&b| b == b' ');
                value_start.map_or(first, |p| start + p)
            });
            if out.len() + (id_end - start) < max {
                let fitting = params
                    .iter()
                    .take_while(|&&p| out.len() + (p - start) < max)
                    .last()
                    .copied()
                    .unwrap_or(id_end);
                out.extend_from_slice(&m[*start..fitting]);
                out.push(b']');
            }
            break;
        }
        if out.len() == self.header_end {
            out.push(b'-');
        }
        if let (true, Some(msg_start)) = (kept_all, self.msg_start) {
            if out.len() + 1 < max {
                let room = max - out.len() - 1;
                let mut msg = cut_text(&m[msg_start..], room);
                // A lone (or partial) byte-order mark is noise; MSG then starts without one.
                if msg.len() <= 3 && m[msg_start..].starts_with(b"\xEF\xBB\xBF") {
                    msg = &[];
                }
                if !msg.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(msg);
                }
            }
        }
    }
}

/// Parses `[SD-ID *(SP PARAM-NAME="VALUE")]` starting at `start`; returns the index past `]`
/// and the index past each param's closing quote. Inside a value, `\` escapes the next byte.
fn parse_element(m: &[u8], start: usize) -> Option<(usize, Vec<usize>)> {
    let mut params = Vec::new();
    let mut i = start + 1;
    let mut in_value = false;
    while i < m.len() {
        let b = m[i];
        if in_value {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_value = false;
                    params.push(i + 1);
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_value = true,
                b']' => return Some((i + 1, params)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(record: &str, max: usize) -> String {
        let mut out = Vec::new();
        truncate(record.as_bytes(), max, &mut out);
        assert!(out.len() <= max, "{} > {max}", out.len());
        String::from_utf8(out).expect("still UTF-8")
    }

    const HEADER: &str = "<34>1 2026-01-02T03:04:05.000006Z host app 42 auth.failure ";

    #[test]
    fn plain_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abcdéf", 5), "abcd");
        assert_eq!(cut("abcdéf", 6), "abcdé");
        assert_eq!(cut("日本語", 4), "日");
    }

    #[test]
    fn a_cut_never_leaves_a_dangling_escape() {
        assert_eq!(cut(r"CEF:0|a\|b|c", 8), r"CEF:0|a");
        assert_eq!(cut(r"CEF:0|a\\|b|c", 9), r"CEF:0|a\\");
        assert_eq!(cut(r"x=a\\\=b", 6), r"x=a\\");
    }

    #[test]
    fn rfc5424_keeps_whole_params_and_closes_the_element() {
        let record =
            format!(r#"{HEADER}[siem@1 user="alice" ip="10.0.0.1" note="a\]b\"c"] Failed login"#);
        let full = record.len();
        assert_eq!(
            cut(&record, full - 1),
            format!(r#"{HEADER}[siem@1 user="alice" ip="10.0.0.1" note="a\]b\"c"] Failed logi"#)
        );
        let no_msg = format!(r#"{HEADER}[siem@1 user="alice" ip="10.0.0.1" note="a\]b\"c"]"#);
        assert_eq!(cut(&record, no_msg.len() + 1), no_msg);
        // The `note` param no longer fits: it is dropped whole and the element closed.
        let two = format!(r#"{HEADER}[siem@1 user="alice" ip="10.0.0.1"]"#);
        assert_eq!(cut(&record, two.len() + 5), two);
        assert_eq!(cut(&record, HEADER.len() + 9), format!("{HEADER}[siem@1]"));
        assert_eq!(cut(&record, HEADER.len() + 3), format!("{HEADER}-"));
    }

    #[test]
    fn rfc5424_later_elements_are_dropped_whole() {
        let record = format!(r#"{HEADER}[a@1 x="1"][b@1 y="2222222222"] msg"#);
        let first = format!(r#"{HEADER}[a@1 x="1"]"#);
        assert_eq!(
            cut(&record, first.len() + 8),
            format!(r#"{HEADER}[a@1 x="1"][b@1]"#)
        );
    }

    #[test]
    fn rfc5424_message_with_bom_and_no_sd() {
        let record = format!("{HEADER}- \u{feff}日本語");
        assert_eq!(
            cut(&record, HEADER.len() + 2 + 3 + 4),
            format!("{HEADER}- \u{feff}日")
        );
        assert_eq!(cut(&record, HEADER.len() + 2 + 3), format!("{HEADER}-"));
    }

    #[test]
    fn malformed_or_other_formats_fall_back_to_text() {
        assert_eq!(cut("<34>1 a b c [x", 8), "<34>1 a ");
        assert_eq!(cut("<34>2 a b c d e - msg", 10), "<34>2 a b ");
        let unterminated = format!(r#"{HEADER}[siem@1 user="al"#);
        assert_eq!(
            cut(&unterminated, HEADER.len() + 4),
            format!("{HEADER}[sie")
        );
        assert_eq!(
            cut("LEEF:2.0|V|P|1|ID|\tuser=a\\x", 26),
            "LEEF:2.0|V|P|1|ID|\tuser=a"
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// An RFC 5424 message with hostile SD values (escaped as the encoder does) and MSG.
        fn message() -> impl Strategy<Value = String> {
            let value = "[a-z\"\\\\\\]é✓ =]{0,40}";
            (
                proptest::collection::vec(("[a-z]{1,8}", value), 0..6),
                "[a-z\\\\é✓ |=]{0,300}",
            )
                .prop_map(|(params, msg)| {
                    let mut m = "<34>1 2026-01-02T03:04:05.000006Z host app - ID ".to_string();
                    if params.is_empty() {
                        m.push('-');
                    } else {
                        m.push_str("[siem@32473");
                        for (name, value) in params {
                            let escaped = value
                                .replace('\\', "\\\\")
                                .replace('"', "\\\"")
                                .replace(']', "\\]");
                            m.push_str(&format!(" {name}=\"{escaped}\""));
                        }
                        m.push(']');
                    }
                    if !msg.is_empty() {
                        m.push(' ');
                        m.push_str(&msg);
                    }
                    m
                })
        }

        proptest! {
            #[test]
            fn a_cut_message_fits_stays_utf8_and_stays_rfc5424(m in message(), max in 60usize..400) {
                prop_assume!(m.len() > max);
                let mut out = Vec::new();
                truncate(m.as_bytes(), max, &mut out);
                prop_assert!(out.len() <= max);
                prop_assert!(std::str::from_utf8(&out).is_ok(), "whole characters only");
                let layout = Rfc5424Layout::parse(&out).expect("still RFC 5424");
                prop_assert_eq!(&out[..layout.header_end], &m.as_bytes()[..layout.header_end]);
                // Every kept element is closed, and no value ends in an unpaired backslash.
                for (start, end, _) in &layout.elements {
                    prop_assert_eq!(out[*start], b'[');
                    prop_assert_eq!(out[end - 1], b']');
                }
                let trailing = out.iter().rev().take_while(|&&b| b == b'\\').count();
                prop_assert_eq!(trailing % 2, 0);
            }
        }
    }
}
