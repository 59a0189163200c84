//! Text cleaning shared by the line formats: truncation on character boundaries and the
//! replacement of control characters, so that no field can end a record or start another one.

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
///
/// Truncation happens before escaping, so it can never cut an escape sequence in two.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// True for the C0 control characters and DEL.
#[inline]
pub(crate) fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Appends `s` with every control character replaced by a space.
pub(crate) fn write_without_controls(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if is_control(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.push(b' ');
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends the printable US-ASCII characters (33–126) of `s`, at most `max` of them, or `-`
/// (the syslog NILVALUE) when none is left: the rule for syslog header fields.
pub(crate) fn write_printable_ascii(out: &mut Vec<u8>, s: &str, max: usize) {
    let start = out.len();
    out.extend(s.bytes().filter(|b| (33..=126).contains(b)).take(max));
    if out.len() == start {
        out.push(b'-');
    }
}

/// Appends an RFC 5424 header field (HOSTNAME, APP-NAME, MSGID): printable US-ASCII only, at
/// most `max` characters, without trailing `:` (lenient parsers such as Vector's `syslog_loose`
/// take a field ending in `:` for the end of the header) unless the field is an IP address;
/// `-` when nothing is left.
pub(crate) fn write_syslog_header_field(out: &mut Vec<u8>, s: &str, max: usize) {
    let start = out.len();
    out.extend(s.bytes().filter(|b| (33..=126).contains(b)).take(max));
    let is_ip =
        std::str::from_utf8(&out[start..]).is_ok_and(|f| f.parse::<std::net::IpAddr>().is_ok());
    if !is_ip {
        while out.len() > start && out[out.len() - 1] == b':' {
            out.pop();
        }
    }
    if out.len() == start {
        out.push(b'-');
    }
}

/// Whether `s` has no control characters (option validation).
pub(crate) fn has_control(s: &str) -> bool {
    s.bytes().any(is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("😀x", 3), "");
        assert_eq!(truncate("😀x", 4), "😀");
    }

    #[test]
    fn controls_become_spaces() {
        let mut out = Vec::new();
        write_without_controls(&mut out, "a\r\nb\u{0}\tc\u{7f}é");
        assert_eq!(out, "a  b  c é".as_bytes());
    }

    #[test]
    fn syslog_header_fields_never_end_in_a_colon() {
        let mut out = Vec::new();
        write_syslog_header_field(&mut out, "host:: ", 255);
        assert_eq!(out, b"host");
        out.clear();
        write_syslog_header_field(&mut out, ":", 255);
        assert_eq!(out, b"-");
        out.clear();
        write_syslog_header_field(&mut out, "2001:db8::", 255);
        assert_eq!(out, b"2001:db8::");
    }

    #[test]
    fn header_fields() {
        let mut out = Vec::new();
        write_printable_ascii(&mut out, "web 01.example.com\u{0}é", 255);
        assert_eq!(out, b"web01.example.com");
        out.clear();
        write_printable_ascii(&mut out, " é\n", 255);
        assert_eq!(out, b"-");
        out.clear();
        write_printable_ascii(&mut out, "abcdef", 3);
        assert_eq!(out, b"abc");
    }
}
