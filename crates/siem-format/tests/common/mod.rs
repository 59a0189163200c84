//! Shared by the integration tests: hostile event strategies and strict parsers written from the
//! specifications (independent of the encoders' code).

#![allow(dead_code)]

use std::sync::Arc;

use proptest::prelude::*;
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp, Value};

/// Text mixing every character an encoder must handle with arbitrary Unicode.
pub fn hostile_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "|", "=", "\\", "\"", "]", "[", "\r", "\n", "\u{0}", "\t", "\u{2028}", "\u{7f}",
        "\u{fffd}", "é", "😀", " ", "  ", "^", "¦", "{", "}", "=\"", " cs1=", " msg=", "\\=",
        "a=b", "-",
    ]);
    prop::collection::vec(
        prop_oneof![3 => special.prop_map(str::to_owned), 1 => any::<String>()],
        0..10,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes that are not valid UTF-8 arrive as lossy text (U+FFFD), as the layer stores them.
pub fn lossy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub fn any_text() -> BoxedStrategy<String> {
    prop_oneof![4 => hostile_text(), 1 => lossy_text(), 1 => "[a-z_]{1,12}"].boxed()
}

pub fn any_ip_or_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<std::net::IpAddr>().prop_map(|ip| ip.to_string()),
        any_text(),
    ]
    .boxed()
}

pub fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        any_text().prop_map(Value::Str),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(Value::U64),
        any::<f64>().prop_map(Value::F64),
        any::<bool>().prop_map(Value::Bool),
    ]
    .boxed()
}

fn any_severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn any_outcome() -> impl Strategy<Value = Outcome> {
    prop::sample::select(vec![
        Outcome::Success,
        Outcome::Failure,
        Outcome::Denied,
        Outcome::Unknown,
    ])
}

fn opt(s: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    proptest::option::of(s).boxed()
}

prop_compose! {
    fn people()(
        user in opt(any_text()), user_id in opt(any_text()), ip in opt(any_ip_or_text()),
        ua in opt(any_text()), resource in opt(any_text()), method in opt(any_text()),
        dst in opt(any_ip_or_text()),
    ) -> (siem_event::Actor, siem_event::Target) {
        (
            siem_event::Actor { user, user_id, source_ip: ip, user_agent: ua },
            siem_event::Target { resource, resource_type: None, method, destination_ip: dst },
        )
    }
}

prop_compose! {
    /// An event whose every text field may be hostile.
    pub fn any_event()(
        kind in prop_oneof![any_text(), "(auth|authz|access|alert|config)\\.[a-z_]{1,12}"],
        message in any_text(), severity in any_severity(), outcome in any_outcome(),
        (actor, target) in people(),
        tenant in opt(any_text()), agent in opt(any_text()), correlation in opt(any_text()),
        action in opt(any_text()), reason in opt(any_text()), source in opt(any_text()),
        host in any_text(), app in any_text(), nanos in -1_000_000_000_000_000_000i64..4_000_000_000_000_000_000,
        labels in prop::collection::vec((any_text(), any_text()), 0..4),
        meta in prop::collection::vec((any_text(), any_value()), 0..5),
    ) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse(&kind), message);
        e.timestamp = Timestamp::from_unix_nanos(nanos);
        e.severity = severity;
        e.outcome = outcome;
        e.actor = actor;
        e.target = target;
        e.tenant_id = tenant;
        e.agent_id = agent;
        e.correlation_id = correlation;
        e.action = action;
        e.reason = reason;
        e.source = source;
        e.host = Arc::from(host.as_str());
        e.app = Arc::from(app.as_str());
        e.labels = Arc::from(labels);
        for (k, v) in meta {
            e.push_metadata(k, v);
        }
        e
    }
}

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

/// `s` with the given characters and every C0 control or DEL replaced by a space.
pub fn spaced(s: &str, keep: &[char], also: &[char]) -> String {
    s.chars()
        .map(|c| {
            if keep.contains(&c) {
                c
            } else if (c as u32) < 0x20 || c == '\u{7f}' || also.contains(&c) {
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
        if extension.iter().any(|(k, _)| *k == key) {
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
    for attr in parts[fields].split(delimiter) {
        let (k, v) = attr
            .split_once('=')
            .ok_or_else(|| format!("no '=' in {attr:?}"))?;
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad key {k:?}"));
        }
        if attributes.iter().any(|(key, _)| key == k) {
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
