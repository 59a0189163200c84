//! IBM QRadar Log Event Extended Format, LEEF 1.0 and 2.0.
//!
//! ```text
//! LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…
//! LEEF:2.0|Vendor|Product|Version|EventID|^|key=value^key=value…
//! ```
//!
//! LEEF defines no escaping, so values are cleaned instead: control characters (TAB, CR, LF,
//! NUL, NEL, …), the Unicode line separators U+2028 and U+2029, the bidirectional controls
//! (U+202E, …) and the attribute delimiter become spaces, and in header fields `|` too. No value can
//! therefore end an attribute, the header, or the record. The LEEF 2.0 delimiter field is written
//! as the character itself when it is printable ASCII other than `|`, else in the `xHH` form.
//!
//! | attribute | from |
//! |-----------|------|
//! | EventID (header) | the canonical event type (`auth.failure`), or as the application named it with `signature: original` ([`SignatureName`]); ≤ 255 bytes. With `cat`, what QRadar maps to a QID |
//! | `devTime`, `devTimeFormat` | timestamp as `MMM dd yyyy HH:mm:ss.SSS z` in UTC, and that format |
//! | `cat`, `sev` | the event type as the application named it (`authentication`); [`siem_event::Severity::leef`] (1–10) |
//! | `msg` | message |
//! | `usrName` (≤ 255), `src`, `identSrc` | actor user; source IP (when it is an IP address; `identSrc` when a user is named too) |
//! | `dst`, `resource` | destination IP (when an IP); target resource |
//! | `eventType` | the canonical event type |
//! | `outcome`, `action`, `reason`, `userId`, `srcHost`, `dstHost`, `userAgent`, `method`, `resourceType`, `tenantId`, `agentId`, `correlationId`, `source`, `hostName`, `app`, `eventId` | the other event fields (`srcHost`/`dstHost` for addresses that are not IPs) |
//! | custom keys | labels, then metadata, camelCase, `meta` prefix when the key is one above or a LEEF predefined key |

use std::sync::OnceLock;

use siem_event::SecurityEvent;

use crate::keys::{KeyRules, WrittenKeys};
use crate::text::{
    escape_table, is_unsafe_char, truncate, with_value_text, write_escaped, EscapeTable,
};
use crate::{Encoder, FormatError, FormatOptions, SignatureName};

const LEEF_KEYS: &[&str] = &[
    // Predefined (IBM LEEF guide).
    "cat",
    "devTime",
    "devTimeFormat",
    "proto",
    "sev",
    "src",
    "dst",
    "srcPort",
    "dstPort",
    "srcPreNAT",
    "dstPreNAT",
    "srcPostNAT",
    "dstPostNAT",
    "usrName",
    "srcMAC",
    "dstMAC",
    "srcPreNATPort",
    "dstPreNATPort",
    "srcPostNATPort",
    "dstPostNATPort",
    "identSrc",
    "identNetBios",
    "identGrpName",
    "identHostName",
    "vSrc",
    "vSrcName",
    "accountName",
    "srcBytes",
    "dstBytes",
    "srcPackets",
    "dstPackets",
    "totalPackets",
    "role",
    "realm",
    "policy",
    "resource",
    "url",
    "groupID",
    "domain",
    "identMAC",
    "isLoginEvent",
    "isLogoutEvent",
    "identSecondlp",
    "calLanguage",
    "calCountryOrRegion",
    // Written by this encoder.
    "msg",
    "eventType",
    "outcome",
    "action",
    "reason",
    "userId",
    "srcHost",
    "dstHost",
    "userAgent",
    "method",
    "resourceType",
    "tenantId",
    "agentId",
    "correlationId",
    "source",
    "hostName",
    "app",
    "eventId",
];

static KEY_INDEX: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();

const KEY_RULES: KeyRules = KeyRules {
    max_len: 63,
    reserved: LEEF_KEYS,
    by_len: &KEY_INDEX,
};

/// The LEEF version an encoder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeefVersion {
    V1,
    V2,
}

/// Encodes events as LEEF 1.0 or 2.0 records (see the module documentation for the mapping).
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_format::{Encoder, FormatOptions, LeefEncoder};
///
/// let event = SecurityEvent::new(EventType::parse("auth.failure"), "bad\tpassword^x");
/// let mut out = Vec::new();
/// LeefEncoder::v2(&FormatOptions::default()).unwrap().encode(&event, &mut out);
/// let line = String::from_utf8(out).unwrap();
/// assert!(line.starts_with("LEEF:2.0|tracing-siem|tracing-siem|"));
/// assert!(line.contains("|auth.failure|^|devTime="));
/// assert!(line.contains("^msg=bad password x^"));
/// ```
#[derive(Debug, Clone)]
pub struct LeefEncoder {
    version: LeefVersion,
    delimiter: char,
    /// `LEEF:2.0|vendor|product|version|`, cleaned once at construction.
    header: Vec<u8>,
    /// The delimiter as UTF-8 bytes.
    delimiter_bytes: Vec<u8>,
    /// Bytes that become spaces in values: controls, and an ASCII delimiter.
    value_table: EscapeTable,
    /// The same plus `|`, for header fields.
    header_table: EscapeTable,
    signature: SignatureName,
}

impl LeefEncoder {
    /// A LEEF 1.0 encoder (TAB-delimited).
    /// ```
    /// assert!(siem_format::LeefEncoder::v1(&siem_format::FormatOptions::default()).is_ok());
    /// ```
    pub fn v1(options: &FormatOptions) -> Result<LeefEncoder, FormatError> {
        LeefEncoder::build(options, LeefVersion::V1, '\t')
    }

    /// A LEEF 2.0 encoder with the options' delimiter (`leef_delimiter`).
    /// ```
    /// use siem_format::{FormatOptions, LeefEncoder};
    /// let options = FormatOptions::default().leef_delimiter("0x09");
    /// assert!(LeefEncoder::v2(&options).is_ok());
    /// let bad = FormatOptions::default().leef_delimiter("ab");
    /// assert!(LeefEncoder::v2(&bad).is_err());
    /// ```
    pub fn v2(options: &FormatOptions) -> Result<LeefEncoder, FormatError> {
        let delimiter = options.checked_leef_delimiter()?;
        LeefEncoder::build(options, LeefVersion::V2, delimiter)
    }

    fn build(
        options: &FormatOptions,
        version: LeefVersion,
        delimiter: char,
    ) -> Result<LeefEncoder, FormatError> {
        let product = options.product_info()?;
        let ascii_delimiter = if delimiter.is_ascii() {
            delimiter as u8
        } else {
            0
        };
        let mut encoder = LeefEncoder {
            version,
            delimiter,
            header: Vec::new(),
            delimiter_bytes: delimiter.to_string().into_bytes(),
            value_table: escape_table(1, &[(ascii_delimiter, 1)]),
            header_table: escape_table(1, &[(ascii_delimiter, 1), (b'|', 1)]),
            signature: options.signature,
        };
        let mut header = match version {
            LeefVersion::V1 => b"LEEF:1.0|".to_vec(),
            LeefVersion::V2 => b"LEEF:2.0|".to_vec(),
        };
        for field in [&product.vendor, &product.product, &product.version] {
            encoder.write_clean(&mut header, field, true);
            header.push(b'|');
        }
        encoder.header = header;
        Ok(encoder)
    }

    /// Appends `s` with unsafe characters (controls, Unicode line breaks, bidi controls), the
    /// delimiter and (in the header) `|` as spaces.
    fn write_clean(&self, out: &mut Vec<u8>, s: &str, header: bool) {
        let delimiter = self.delimiter;
        if delimiter.is_ascii() {
            let table = if header {
                &self.header_table
            } else {
                &self.value_table
            };
            write_escaped(out, s, table, &[b" "]);
        } else {
            for c in s.chars() {
                let bad = c == delimiter || (header && c == '|') || is_unsafe_char(c);
                if bad {
                    out.push(b' ');
                } else {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    fn write_delimiter_field(&self, out: &mut Vec<u8>) {
        let d = self.delimiter;
        if d.is_ascii_graphic() && d != '|' {
            out.push(d as u8);
        } else {
            out.push(b'x');
            let code = d as u32;
            let digits = if code > 0xff { 4 } else { 2 };
            for shift in (0..digits).rev() {
                out.push(b"0123456789ABCDEF"[((code >> (shift * 4)) & 0xf) as usize]);
            }
        }
        out.push(b'|');
    }
}

/// Writes `key=value` attributes separated by the delimiter.
struct Attributes<'e> {
    encoder: &'e LeefEncoder,
    first: bool,
}

impl Attributes<'_> {
    fn key(&mut self, out: &mut Vec<u8>, key: &[u8]) {
        if !self.first {
            out.extend_from_slice(&self.encoder.delimiter_bytes);
        }
        self.first = false;
        out.extend_from_slice(key);
        out.push(b'=');
    }

    /// A pair after the first; `key` is the literal `name=`.
    fn pair(&mut self, out: &mut Vec<u8>, key: &str, value: &str) {
        if !value.is_empty() {
            out.extend_from_slice(&self.encoder.delimiter_bytes);
            out.extend_from_slice(key.as_bytes());
            self.encoder.write_clean(out, value, false);
        }
    }

    fn opt(&mut self, out: &mut Vec<u8>, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.pair(out, key, v);
        }
    }

    fn custom(&mut self, out: &mut Vec<u8>, written: &mut WrittenKeys, key: &[u8], value: &str) {
        if value.is_empty() || written.contains(out, key) {
            return;
        }
        if !self.first {
            out.extend_from_slice(&self.encoder.delimiter_bytes);
        }
        self.first = false;
        written.write_checked(out, key);
        out.push(b'=');
        self.encoder.write_clean(out, value, false);
    }
}

impl Encoder for LeefEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(256 + event.message.len());
        out.extend_from_slice(&self.header);
        let signature = self.signature.of(&event.event_type);
        self.write_clean(out, truncate(signature, 255), true);
        out.push(b'|');
        if self.version == LeefVersion::V2 {
            self.write_delimiter_field(out);
        }

        let mut a = Attributes {
            encoder: self,
            first: true,
        };
        a.key(out, b"devTime");
        crate::time_cache::write_java_date_millis(event.timestamp, out);
        out.extend_from_slice(b" UTC");
        // Constant text of ours: nothing to clean.
        out.extend_from_slice(&self.delimiter_bytes);
        out.extend_from_slice(b"devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z");
        a.pair(out, "cat=", event.event_type.original());
        a.key(out, b"sev");
        out.extend_from_slice(itoa::Buffer::new().format(event.severity.leef()).as_bytes());
        a.pair(out, "msg=", &event.message);
        a.opt(
            out,
            "usrName=",
            event.actor.user.as_deref().map(|u| truncate(u, 255)),
        );
        match event.actor.source_ip.as_deref() {
            Some(ip) if crate::text::is_ip(ip) => {
                a.pair(out, "src=", ip);
                if event.actor.user.is_some() {
                    a.pair(out, "identSrc=", ip);
                }
            }
            other => a.opt(out, "srcHost=", other),
        }
        match event.target.destination_ip.as_deref() {
            Some(ip) if crate::text::is_ip(ip) => a.pair(out, "dst=", ip),
            other => a.opt(out, "dstHost=", other),
        }
        a.opt(out, "resource=", event.target.resource.as_deref());
        a.pair(out, "eventType=", event.event_type.as_str());
        out.extend_from_slice(&self.delimiter_bytes);
        out.extend_from_slice(b"outcome=");
        out.extend_from_slice(event.outcome.as_str().as_bytes());
        a.opt(out, "action=", event.action.as_deref());
        a.opt(out, "reason=", event.reason.as_deref());
        a.opt(out, "userId=", event.actor.user_id.as_deref());
        a.opt(out, "userAgent=", event.actor.user_agent.as_deref());
        a.opt(out, "method=", event.target.method.as_deref());
        a.opt(out, "resourceType=", event.target.resource_type.as_deref());
        a.opt(out, "tenantId=", event.tenant_id.as_deref());
        a.opt(out, "agentId=", event.agent_id.as_deref());
        a.opt(out, "correlationId=", event.correlation_id.as_deref());
        a.opt(out, "source=", event.source.as_deref());
        a.pair(out, "hostName=", &event.host);
        a.pair(out, "app=", &event.app);
        a.key(out, b"eventId");
        event.id.write_to(out);

        let mut written = WrittenKeys::new();
        for (name, value) in event.labels.iter() {
            a.custom(
                out,
                &mut written,
                KEY_RULES.key(name, false).as_bytes(),
                value,
            );
        }
        for field in &event.metadata {
            let key = KEY_RULES.key(&field.name, false);
            with_value_text(&field.value, |value| {
                a.custom(out, &mut written, key.as_bytes(), value)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{EventType, Severity, Timestamp};

    use super::*;

    fn encode(encoder: &LeefEncoder, e: &SecurityEvent) -> String {
        let mut out = Vec::new();
        encoder.encode(e, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn v1_uses_tabs_and_v2_names_its_delimiter() {
        let mut e = SecurityEvent::new(EventType::parse("authentication_failure"), "Failed");
        e.timestamp = Timestamp::from_unix_millis(1_735_732_800_000);
        e.severity = Severity::High;
        let v1 = encode(&LeefEncoder::v1(&FormatOptions::default()).unwrap(), &e);
        assert!(v1.contains("|auth.failure|devTime=Jan 01 2025 12:00:00.000 UTC\tdevTimeFormat=MMM dd yyyy HH:mm:ss.SSS z\tcat=authentication_failure\tsev=7\tmsg=Failed\t"), "{v1}");
        for (setting, field) in [
            ("^", "^|"),
            ("x09", "x09|"),
            ("0x7C", "x7C|"),
            ("xA6", "xA6|"),
        ] {
            let options = FormatOptions {
                leef_delimiter: setting.into(),
                ..FormatOptions::default()
            };
            let v2 = encode(&LeefEncoder::v2(&options).unwrap(), &e);
            assert!(
                v2.contains(&format!("|auth.failure|{field}devTime=")),
                "{v2}"
            );
        }
    }

    #[test]
    fn values_cannot_hold_the_delimiter_or_a_newline() {
        let mut e = SecurityEvent::new(EventType::parse("x|y\tz"), "a¦b|c^d\te\nf");
        e.labels = Arc::from(vec![("k".to_owned(), "v¦w".to_owned())]);
        let options = FormatOptions {
            leef_delimiter: "¦".into(),
            ..FormatOptions::default()
        };
        let line = encode(&LeefEncoder::v2(&options).unwrap(), &e);
        assert!(line.contains("|x y z|xA6|"), "{line}");
        assert!(line.contains("¦msg=a b|c^d e f¦"), "{line}");
        assert!(line.contains("¦k=v w"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn line_separators_and_bidi_controls_become_spaces() {
        let mut e = SecurityEvent::new(EventType::parse("a\u{2028}b"), "x\u{2029}y\u{85}z");
        e.actor.user = Some("user\u{202E}nimda".into());
        for delimiter in ["^", "¦"] {
            let options = FormatOptions {
                leef_delimiter: delimiter.into(),
                ..FormatOptions::default()
            };
            let line = encode(&LeefEncoder::v2(&options).unwrap(), &e);
            assert!(line.contains("|a b|"), "{line}");
            assert!(
                line.contains(&format!("{delimiter}msg=x y z{delimiter}")),
                "{line}"
            );
            assert!(line.contains("usrName=user nimda"), "{line}");
        }
        let bad = FormatOptions {
            leef_delimiter: "0x2028".into(),
            ..FormatOptions::default()
        };
        assert!(LeefEncoder::v2(&bad).is_err());
    }
}
