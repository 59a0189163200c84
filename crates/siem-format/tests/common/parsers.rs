//! Strict parsers written from the specifications, independent of the encoders' code; shared by
//! the integration tests and the fuzz targets.

#![allow(dead_code)]

use std::collections::HashSet;

/// The longest prefix of at most `max` bytes ending on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Characters beyond ASCII that no text format may pass raw: NEL, the Unicode line and
/// paragraph separators, and the bidirectional controls (Unicode's Bidi_Control property).
pub const UNSAFE_UNICODE: &[char] = &[
    '\u{85}', '\u{2028}', '\u{2029}', '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}',
    '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Whether a text format must replace or escape `c`: a C0 or C1 control, DEL, or one of
/// [`UNSAFE_UNICODE`].
pub fn is_unsafe(c: char) -> bool {
    let code = c as u32;
    code < 0x20 || (0x7f..=0x9f).contains(&code) || UNSAFE_UNICODE.contains(&c)
}

/// `s` with the given characters and every unsafe character ([`is_unsafe`]) replaced by a
/// space.
pub fn spaced(s: &str, keep: &[char], also: &[char]) -> String {
    s.chars()
        .map(|c| {
            if keep.contains(&c) {
                c
            } else if is_unsafe(c) || also.contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A CEF record as the CEF Implementation Standard defines it.
#[derive(Debug)]
pub struct Cef {
    /// Version, vendor, product, device version, signature id, name, severity (unescaped).
    pub header: Vec<String>,
    /// Extension pairs in order (unescaped).
    pub extension: Vec<(String, String)>,
}

impl Cef {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses one CEF line strictly: 7 header fields with only `\|` and `\\` escapes, severity
/// 0-10, extension keys as single words, only `\\`, `\=`, `\n`, `\r` escapes in values, no
/// unescaped `=` in a value, no repeated key, no raw CR or LF anywhere.
pub fn parse_cef(line: &str) -> Result<Cef, String> {
    if line.contains(['\n', '\r']) {
        return Err("raw CR or LF".into());
    }
    let rest = line.strip_prefix("CEF:").ok_or("no CEF: prefix")?;
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = rest.char_indices();
    let mut ext_start = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '|')) => field.push('|'),
                Some((_, '\\')) => field.push('\\'),
                other => return Err(format!("bad header escape {other:?}")),
            },
            '|' => {
                header.push(std::mem::take(&mut field));
                if header.len() == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            c => field.push(c),
        }
    }
    let ext_start = ext_start.ok_or("fewer than 7 header fields")?;
    if header[0] != "0" {
        return Err(format!("version {:?}", header[0]));
    }
    let sev: u8 = header[6].parse().map_err(|_| "severity not a number")?;
    if sev > 10 {
        return Err("severity above 10".into());
    }
    let ext = &rest[ext_start..];
    let mut extension: Vec<(String, String)> = Vec::new();
    let mut keys = HashSet::new();
    let b: Vec<char> = ext.chars().collect();
    let key_at = |i: usize| -> Option<usize> {
        // A key starts at i when a word of key characters is followed by an unescaped '='.
        let mut j = i;
        while j < b.len() && is_key_char(b[j]) {
            j += 1;
        }
        (j > i && j < b.len() && b[j] == '=').then_some(j)
    };
    let mut i = 0;
    while i < b.len() {
        let eq = key_at(i).ok_or_else(|| format!("no key at {i} in {ext:?}"))?;
        let key: String = b[i..eq].iter().collect();
        let mut value = String::new();
        let mut j = eq + 1;
        loop {
            if j >= b.len() {
                break;
            }
            match b[j] {
                '\\' => {
                    value.push(match b.get(j + 1) {
                        Some('\\') => '\\',
                        Some('=') => '=',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        other => return Err(format!("bad extension escape {other:?}")),
                    });
                    j += 2;
                }
                '=' => return Err(format!("unescaped '=' in the value of {key}")),
                ' ' if key_at(j + 1).is_some() => {
                    j += 1;
                    break;
                }
                c => {
                    value.push(c);
                    j += 1;
                }
            }
        }
        if !keys.insert(key.clone()) {
            return Err(format!("key {key} repeated"));
        }
        extension.push((key, value));
        i = j;
    }
    Ok(Cef { header, extension })
}

/// A LEEF record.
#[derive(Debug)]
pub struct Leef {
    /// Version, vendor, product, product version, event id.
    pub header: Vec<String>,
    pub delimiter: char,
    pub attributes: Vec<(String, String)>,
}

impl Leef {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one LEEF line as the IBM LEEF guide describes it: `|`-separated header (plus the
/// delimiter field in 2.0), then attributes separated by the delimiter, each `key=value` with
/// an alphanumeric key; no raw CR or LF; no repeated key.
pub fn parse_leef(line: &str) -> Result<Leef, String> {
    if line.contains(['\n', '\r']) {
        return Err("raw CR or LF".into());
    }
    let rest = line.strip_prefix("LEEF:").ok_or("no LEEF: prefix")?;
    let v2 = rest.starts_with("2.0|");
    if !v2 && !rest.starts_with("1.0|") {
        return Err("version".into());
    }
    let fields = if v2 { 6 } else { 5 };
    let parts: Vec<&str> = rest.splitn(fields + 1, '|').collect();
    if parts.len() != fields + 1 {
        return Err("short header".into());
    }
    let header: Vec<String> = parts[..5].iter().map(|s| s.to_string()).collect();
    let delimiter = if v2 {
        let d = parts[5];
        let mut cs = d.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => c,
            _ => {
                let hex = d
                    .strip_prefix("0x")
                    .or_else(|| d.strip_prefix('x'))
                    .ok_or("bad delimiter field")?;
                char::from_u32(u32::from_str_radix(hex, 16).map_err(|_| "bad hex")?)
                    .ok_or("bad code")?
            }
        }
    } else {
        '\t'
    };
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut keys = HashSet::new();
    for attr in parts[fields].split(delimiter) {
        let (k, v) = attr
            .split_once('=')
            .ok_or_else(|| format!("no '=' in {attr:?}"))?;
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad key {k:?}"));
        }
        if !keys.insert(k) {
            return Err(format!("key {k} repeated"));
        }
        attributes.push((k.to_owned(), v.to_owned()));
    }
    Ok(Leef {
        header,
        delimiter,
        attributes,
    })
}
