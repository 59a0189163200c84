//! Text cleaning shared by the line formats: truncation on character boundaries and the
//! replacement of unsafe characters ([`is_unsafe_char`]: controls, Unicode line breaks, bidi
//! controls), so that no field can end a record, start another one, or display as other text.

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

/// Whether `c` must never reach a record as itself: a control character (C0, DEL and C1, NEL
/// U+0085 among them), the line and paragraph separators U+2028 and U+2029 (a consumer that
/// splits on Unicode line breaks would read one record as several), or a bidirectional control
/// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), with which a SIEM console shows
/// `user\u{202E}nimda` as `useradmin`.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// The first bytes of the non-ASCII characters [`is_unsafe_char`] refuses (C1 controls: C2;
/// U+061C: D8; the others: E2). Byte tables mark them for a closer look.
pub(crate) const UNSAFE_LEAD_BYTES: [u8; 3] = [0xC2, 0xD8, 0xE2];

/// The unsafe non-ASCII character that starts at byte `i` of `s`, if any (`i` is a character
/// boundary: tables mark only lead bytes).
#[inline]
pub(crate) fn unsafe_char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..)
        .and_then(|rest| rest.chars().next())
        .filter(|&c| !c.is_ascii() && is_unsafe_char(c))
}

/// How an escaper treats each byte: `table[b] == 0` copies the byte, [`LOOK`] marks the first
/// byte of a character that may be unsafe, any other value `k` is replaced by the escaper's
/// `k`-th replacement. `specials` lists the non-control bytes with an entry, so that runs of
/// ordinary text are skipped eight bytes at a time; this makes escaping cost little more than
/// a copy for ordinary values.
#[derive(Clone)]
pub(crate) struct EscapeTable {
    table: [u8; 256],
    /// The replacement of control characters, also used for unsafe non-ASCII characters.
    control: u8,
    specials: [u8; 4],
    count: usize,
}

/// The table entry of a byte that starts a possibly unsafe non-ASCII character.
const LOOK: u8 = u8::MAX;

impl std::fmt::Debug for EscapeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscapeTable")
            .field("specials", &self.specials)
            .finish_non_exhaustive()
    }
}

/// Builds a table where every unsafe character ([`is_unsafe_char`]) is replaced by replacement
/// `control`, and each of at most four ASCII `(byte, index)` pairs by its index (after the
/// controls, so CR and LF can have escapes of their own).
pub(crate) const fn escape_table(control: u8, special: &[(u8, u8)]) -> EscapeTable {
    assert!(special.len() <= 4);
    assert!(control != 0 && control != LOOK);
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = control;
        i += 1;
    }
    table[0x7f] = control;
    let mut l = 0;
    while l < UNSAFE_LEAD_BYTES.len() {
        table[UNSAFE_LEAD_BYTES[l] as usize] = LOOK;
        l += 1;
    }
    let mut specials = [0u8; 4];
    let mut j = 0;
    while j < special.len() {
        assert!(special[j].0.is_ascii() && special[j].1 != LOOK);
        table[special[j].0 as usize] = special[j].1;
        specials[j] = special[j].0;
        j += 1;
    }
    EscapeTable {
        table,
        control,
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
            let (k, len) = match escapes.table[bytes[i] as usize] {
                LOOK => match unsafe_char_at(s, i) {
                    Some(c) => (escapes.control, c.len_utf8()),
                    None => (0, 1),
                },
                k => (k, 1),
            };
            if k != 0 {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(replacements[usize::from(k) - 1]);
                start = i + len;
            }
            i += len;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

static CONTROLS: EscapeTable = escape_table(1, &[]);

/// Appends `s` with every unsafe character ([`is_unsafe_char`]) replaced by a space.
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

/// Whether `s` has an unsafe character ([`is_unsafe_char`]; option validation).
pub(crate) fn has_unsafe_char(s: &str) -> bool {
    s.chars().any(is_unsafe_char)
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

    /// Every unsafe character beyond ASCII, and safe neighbours sharing their first byte.
    const UNSAFE: &[char] = &[
        '\u{80}', '\u{85}', '\u{9f}', '\u{061C}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}',
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}',
    ];
    const SAFE: &[char] = &[
        '\u{a0}', '©', '\u{061B}', '\u{061D}', 'ؠ', '\u{200D}', '\u{2010}', '–', '\u{2027}',
        '\u{202F}', '\u{2065}', '\u{206A}', '€', '✓',
    ];

    #[test]
    fn line_breaks_and_bidi_controls_are_unsafe_and_their_neighbours_are_not() {
        for &c in UNSAFE {
            assert!(is_unsafe_char(c), "{c:?}");
            let lead = c.to_string().as_bytes()[0];
            assert!(UNSAFE_LEAD_BYTES.contains(&lead), "{c:?}");
        }
        for &c in SAFE {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
        // "user\u{202E}nimda" would display as "useradmin".
        let mut out = Vec::new();
        write_without_controls(&mut out, "user\u{202E}nimda\u{2028}x\u{85}y");
        assert_eq!(out, b"user nimda x y");
        for &c in UNSAFE.iter().chain(SAFE) {
            for len in 0..20 {
                for pos in 0..=len {
                    let mut text = "a".repeat(len);
                    text.insert(pos, c);
                    let mut out = Vec::new();
                    write_without_controls(&mut out, &text);
                    let want = if is_unsafe_char(c) {
                        text.replace(c, " ")
                    } else {
                        text.clone()
                    };
                    assert_eq!(String::from_utf8(out).unwrap(), want, "{c:?} {len} {pos}");
                }
            }
        }
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
        static T: EscapeTable = escape_table(1, &[(b'|', 2), (b'=', 3)]);
        for len in 0..40 {
            for pos in 0..len {
                for special in [b'|', b'=', b'\n', 0x7f, 0x00, 0x1f] {
                    let mut text = vec![b'a'; len];
                    text[pos] = special;
                    let s = String::from_utf8(text).unwrap();
                    let mut out = Vec::new();
                    write_escaped(&mut out, &s, &T, &[b"_", b"P", b"E"]);
                    let mut want = vec![b'a'; len];
                    want[pos] = match special {
                        b'|' => b'P',
                        b'=' => b'E',
                        _ => b'_',
                    };
                    assert_eq!(out, want, "{len} {pos} {special}");
                }
            }
        }
        let mut out = Vec::new();
        write_escaped(
            &mut out,
            "aaaaaaaa\u{2028}aaaaaaaaé\u{202E}|–",
            &T,
            &[b"_", b"P", b"E"],
        );
        assert_eq!(String::from_utf8(out).unwrap(), "aaaaaaaa_aaaaaaaaé_P–");
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
