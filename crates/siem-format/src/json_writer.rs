//! The low-level JSON writing every JSON-family encoder shares: string escaping, numbers and
//! object punctuation, straight into the caller's `Vec<u8>`.
//!
//! Escaping follows RFC 8259 §7 and also writes as `\uXXXX` the characters that are valid in
//! JSON but unsafe in a log line ([`crate::text::is_unsafe_char`]): DEL and the C1 controls,
//! U+2028 and U+2029, which end a line in JavaScript and in some log viewers, and the
//! bidirectional controls, which make a console show text other than the value. A record stays
//! one line, and displays as what it holds, whatever a field holds.

use siem_event::Value;

use crate::text::{skip_plain, unsafe_char_at, UNSAFE_LEAD_BYTES};

/// What each byte needs inside a JSON string: 0 = copy as is, 1 = escape, 2 = look further
/// (the first byte of a character that may be unsafe).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = 1;
        i += 1;
    }
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 1;
    t[0x7f] = 1;
    let mut l = 0;
    while l < UNSAFE_LEAD_BYTES.len() {
        t[UNSAFE_LEAD_BYTES[l] as usize] = 2;
        l += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a quoted JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_body(out, s);
    out.push(b'"');
}

/// Appends the escaped content of `s` without quotes.
pub(crate) fn write_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        i = skip_plain(bytes, i, &[b'"', b'\\', 0, 0], 2);
        if i >= bytes.len() {
            break;
        }
        // Somewhere in the next 8 bytes: go byte by byte through them.
        let end = (i + 8).min(bytes.len());
        while i < end {
            let b = bytes[i];
            match CLASS[b as usize] {
                0 => {
                    i += 1;
                    continue;
                }
                2 => {
                    match unsafe_char_at(s, i) {
                        Some(c) => {
                            out.extend_from_slice(&bytes[start..i]);
                            // Every unsafe character is in the Basic Multilingual Plane.
                            write_u_escape(out, c as u16);
                            i += c.len_utf8();
                            start = i;
                        }
                        None => i += 1,
                    }
                    continue;
                }
                _ => {}
            }
            out.extend_from_slice(&bytes[start..i]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => write_u_escape(out, u16::from(b)),
            }
            i += 1;
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `\uXXXX` for a character of the Basic Multilingual Plane.
fn write_u_escape(out: &mut Vec<u8>, code: u16) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[usize::from(code >> 12)],
        HEX[usize::from((code >> 8) & 0xf)],
        HEX[usize::from((code >> 4) & 0xf)],
        HEX[usize::from(code & 0xf)],
    ]);
}

/// Appends an integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an unsigned integer.
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a float: finite values as JSON numbers, NaN and infinities as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"` (JSON has no literal for them).
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
    }
}

/// Appends a typed field value: numbers stay numbers, booleans stay booleans.
pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => write_str(out, s),
        Value::I64(n) => write_i64(out, *n),
        Value::U64(n) => write_u64(out, *n),
        Value::F64(f) => write_f64(out, *f),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
    }
}

/// An open JSON object: writes the comma before every member but the first.
pub(crate) struct Obj {
    first: bool,
}

impl Obj {
    /// Writes `{` and returns the object.
    pub(crate) fn open(out: &mut Vec<u8>) -> Obj {
        out.push(b'{');
        Obj { first: true }
    }

    /// Starts a member whose key is a literal of ours (already valid JSON string content).
    pub(crate) fn key(&mut self, out: &mut Vec<u8>, key: &'static str) {
        debug_assert!(key.bytes().all(|b| CLASS[b as usize] == 0));
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }

    /// Starts a member whose key comes from data (escaped).
    pub(crate) fn dyn_key(&mut self, out: &mut Vec<u8>, key: &str) {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        write_str(out, key);
        out.push(b':');
    }

    /// Starts a member whose key is `prefix` followed by data (escaped).
    pub(crate) fn prefixed_key(&mut self, out: &mut Vec<u8>, prefix: &'static str, key: &str) {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        out.push(b'"');
        out.extend_from_slice(prefix.as_bytes());
        write_str_body(out, key);
        out.extend_from_slice(b"\":");
    }

    /// A string member.
    pub(crate) fn str(&mut self, out: &mut Vec<u8>, key: &'static str, value: &str) {
        self.key(out, key);
        write_str(out, value);
    }

    /// A string member, left out when the value is absent.
    pub(crate) fn opt_str(&mut self, out: &mut Vec<u8>, key: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(out, key, v);
        }
    }

    /// A string member, left out when the value is absent or empty.
    pub(crate) fn non_empty(&mut self, out: &mut Vec<u8>, key: &'static str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.str(out, key, v);
        }
    }

    /// An integer member.
    pub(crate) fn int(&mut self, out: &mut Vec<u8>, key: &'static str, value: i64) {
        self.key(out, key);
        write_i64(out, value);
    }

    /// A boolean member.
    pub(crate) fn bool(&mut self, out: &mut Vec<u8>, key: &'static str, value: bool) {
        self.key(out, key);
        out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// An array of string literals of ours.
    pub(crate) fn str_array(&mut self, out: &mut Vec<u8>, key: &'static str, items: &[&str]) {
        self.key(out, key);
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, item);
        }
        out.push(b']');
    }

    /// Writes `}`.
    pub(crate) fn close(self, out: &mut Vec<u8>) {
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_what_json_requires_and_line_separators() {
        assert_eq!(s("plain"), "\"plain\"");
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(s("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(s("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(s("x\u{2028}y\u{2029}z"), r#""x\u2028y\u2029z""#);
        assert_eq!(s("\u{85}\u{80}\u{9f}"), r#""\u0085\u0080\u009f""#);
        assert_eq!(s("user\u{202E}nimda"), r#""user\u202enimda""#);
        assert_eq!(
            s("\u{061C}\u{200E}\u{200F}\u{202A}\u{2066}\u{2069}"),
            r#""\u061c\u200e\u200f\u202a\u2066\u2069""#
        );
        // Other characters starting with the same bytes are copied.
        assert_eq!(s("€ – ✓ © ؛ \u{a0}"), "\"€ – ✓ © ؛ \u{a0}\"");
        // Specials are found at every offset of the 8-byte scan.
        for len in 1..24 {
            for pos in 0..len {
                let mut text = "a".repeat(len);
                text.replace_range(pos..pos + 1, "\u{0}");
                let escaped = s(&text);
                assert_eq!(escaped.matches("\\u0000").count(), 1, "{len} {pos}");
                let back: String = serde_json::from_str(&escaped).unwrap();
                assert_eq!(back, text);
            }
        }
    }

    #[test]
    fn escaped_text_parses_back_to_the_input() {
        let hostile = "|=\\\"]\r\n\u{0}\t\u{2028}\u{85}\u{202E}é😀\u{fffd}";
        let text = s(hostile);
        assert!(!text.chars().any(crate::text::is_unsafe_char), "{text}");
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, hostile);
    }

    #[test]
    fn numbers_and_non_finite_floats() {
        let mut out = Vec::new();
        for v in [
            Value::I64(i64::MIN),
            Value::U64(u64::MAX),
            Value::F64(1.5),
            Value::F64(f64::NAN),
            Value::F64(f64::INFINITY),
            Value::F64(f64::NEG_INFINITY),
            Value::Bool(true),
        ] {
            write_value(&mut out, &v);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-9223372036854775808 18446744073709551615 1.5 \"NaN\" \"Infinity\" \"-Infinity\" true "
        );
    }
}
