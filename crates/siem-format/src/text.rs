//! Text cleaning shared by the line formats: truncation on character boundaries and the
//! replacement of control characters, so that no field can end a record or start another one.

use siem_event::Value;

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

/// How an escaper treats each byte: `table[b] == 0` copies the byte, any other value `k` is
/// replaced by the escaper's `k`-th replacement. `specials` lists the non-control bytes with an
/// entry, so that runs of ordinary text are skipped eight bytes at a time; this makes escaping
/// cost little more than a copy for ordinary values.
#[derive(Clone)]
pub(crate) struct EscapeTable {
    table: [u8; 256],
    specials: [u8; 4],
    count: usize,
}

impl std::fmt::Debug for EscapeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscapeTable")
            .field("specials", &self.specials)
            .finish_non_exhaustive()
    }
}

/// Builds a table where every control character (C0 and DEL) maps to `control` and each of at
/// most four `(byte, index)` pairs to its index (after the controls, so CR and LF can have
/// escapes of their own).
pub(crate) const fn escape_table(control: u8, special: &[(u8, u8)]) -> EscapeTable {
    assert!(special.len() <= 4);
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = control;
        i += 1;
    }
    table[0x7f] = control;
    let mut specials = [0u8; 4];
    let mut j = 0;
    while j < special.len() {
        table[special[j].0 as usize] = special[j].1;
        specials[j] = special[j].0;
        j += 1;
    }
    EscapeTable {
        table,
        specials,
        count: special.len(),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `x` is zero (the classic SWAR test).
#[inline(always)]
fn has_zero(x: u64) -> bool {
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

/// Whether any of the 8 bytes may need work: a control character, DEL or a non-ASCII byte
/// (conservatively), or one of the first `count` `specials`.
#[inline(always)]
pub(crate) fn chunk_needs_work(x: u64, specials: &[u8; 4], count: usize) -> bool {
    // Bytes below 0x20 (exact for thresholds up to 0x80).
    let low = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    // Bytes of 0x7F and above: adding one sets the high bit of 0x7F; a carry out of 0xFF only
    // flags its neighbour too, never hides a byte.
    let high = (x | x.wrapping_add(ONES)) & HIGHS;
    if low | high != 0 {
        return true;
    }
    let hit = |i: usize| has_zero(x ^ (ONES * u64::from(specials[i])));
    match count {
        0 => false,
        1 => hit(0),
        2 => hit(0) || hit(1),
        3 => hit(0) || hit(1) || hit(2),
        _ => hit(0) || hit(1) || hit(2) || hit(3),
    }
}

/// The offset of the first 8-byte window from `i` that may need work (`len` if none): whole
/// windows first, then the tail padded with spaces (never special).
#[inline(always)]
pub(crate) fn skip_plain(bytes: &[u8], mut i: usize, specials: &[u8; 4], count: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if chunk_needs_work(x, specials, count) {
            return i;
        }
        i += 8;
    }
    if i < bytes.len() {
        let mut tail = [b' '; 8];
        tail[..bytes.len() - i].copy_from_slice(&bytes[i..]);
        if chunk_needs_work(u64::from_le_bytes(tail), specials, count) {
            return i;
        }
    }
    bytes.len()
}

/// Appends `s`, replacing every byte whose table entry is `k > 0` with `replacements[k - 1]`.
#[inline]
pub(crate) fn write_escaped(
    out: &mut Vec<u8>,
    s: &str,
    escapes: &EscapeTable,
    replacements: &[&[u8]],
) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        i = skip_plain(bytes, i, &escapes.specials, escapes.count);
        if i >= bytes.len() {
            break;
        }
        // Somewhere in the next 8 bytes: go byte by byte through them.
        let end = (i + 8).min(bytes.len());
        while i < end {
            let k = escapes.table[bytes[i] as usize];
            if k != 0 {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(replacements[usize::from(k) - 1]);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// True for the C0 control characters and DEL.
#[inline]
pub(crate) fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

static CONTROLS: EscapeTable = escape_table(1, &[]);

/// Appends `s` with every control character replaced by a space.
pub(crate) fn write_without_controls(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, &CONTROLS, &[b" "]);
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
    let bytes = s.as_bytes();
    if bytes.len() <= max && bytes.iter().all(|b| (33..=126).contains(b)) {
        out.extend_from_slice(bytes);
    } else {
        out.extend(
            bytes
                .iter()
                .copied()
                .filter(|b| (33..=126).contains(b))
                .take(max),
        );
    }
    if out.len() > start && out[out.len() - 1] == b':' {
        let is_ip =
            std::str::from_utf8(&out[start..]).is_ok_and(|f| f.parse::<std::net::IpAddr>().is_ok());
        if !is_ip {
            while out.len() > start && out[out.len() - 1] == b':' {
                out.pop();
            }
        }
    }
    if out.len() == start {
        out.push(b'-');
    }
}

/// Calls `f` with a field value as text, without allocating: numbers through stack buffers.
pub(crate) fn with_value_text<R>(v: &Value, f: impl FnOnce(&str) -> R) -> R {
    match v {
        Value::Str(s) => f(s),
        Value::I64(n) => f(itoa::Buffer::new().format(*n)),
        Value::U64(n) => f(itoa::Buffer::new().format(*n)),
        Value::F64(x) if x.is_finite() => f(ryu::Buffer::new().format_finite(*x)),
        Value::F64(x) if x.is_nan() => f("NaN"),
        Value::F64(x) => f(if *x > 0.0 { "inf" } else { "-inf" }),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
    }
}

/// Whether `s` (ignoring surrounding blanks) is an IPv4 or IPv6 address. Text with any
/// character that cannot occur in one (a host name's `-`, a letter past `f`) is refused before
/// the full parse.
pub(crate) fn is_ip(s: &str) -> bool {
    let t = s.trim();
    (2..=45).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':'))
        && t.parse::<std::net::IpAddr>().is_ok()
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
    fn escaping_finds_specials_in_every_position() {
        static T: EscapeTable = escape_table(1, &[(b'|', 2), (0xE2, 3)]);
        for len in 0..40 {
            for pos in 0..len {
                for special in [b'|', b'\n', 0x7f, 0x00, 0x1f] {
                    let mut text = vec![b'a'; len];
                    text[pos] = special;
                    let s = String::from_utf8(text).unwrap();
                    let mut out = Vec::new();
                    write_escaped(&mut out, &s, &T, &[b"_", b"P", b"E"]);
                    let mut want = vec![b'a'; len];
                    want[pos] = if special == b'|' { b'P' } else { b'_' };
                    assert_eq!(out, want, "{len} {pos} {special}");
                }
            }
        }
        let mut out = Vec::new();
        write_escaped(
            &mut out,
            "aaaaaaaa\u{2028}aaaaaaaaé",
            &T,
            &[b"_", b"P", b"E"],
        );
        let mut want = b"aaaaaaaaE\x80\xa8aaaaaaaa".to_vec();
        want.extend_from_slice("é".as_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn ip_addresses() {
        for ip in [
            "10.0.0.1",
            " 203.0.113.7 ",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            assert!(is_ip(ip), "{ip}");
        }
        for not in [
            "server-01",
            "",
            "1",
            "10.0.0",
            "fe80::1%eth0",
            "deadbeef",
            "1.2.3.4.5",
        ] {
            assert!(!is_ip(not), "{not}");
        }
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
