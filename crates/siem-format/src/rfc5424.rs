//! RFC 5424 syslog messages with our fields as structured data.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [sd-id param="value" …] MSG
//! ```
//!
//! - PRI = facility × 8 + [`siem_event::Severity::syslog`]; VERSION `1`.
//! - TIMESTAMP: RFC 3339 UTC with 6 fractional digits (the most RFC 5424 allows).
//! - HOSTNAME (≤ 255), APP-NAME (≤ 48), MSGID (≤ 32): only printable US-ASCII is kept (spaces
//!   and other characters are dropped), trailing `:` too unless the field is an IP address
//!   (lenient parsers read a field ending in `:` as the end of the header), `-` when nothing is
//!   left. HOSTNAME is the event's host,
//!   else the `hostname` option; APP-NAME the `app_name` option, else the event's app, else the
//!   product; PROCID is `-` (the encoder may run in another process than the one that logged);
//!   MSGID is the canonical event type (`auth.failure`), or the type as the application named
//!   it with `signature: original` ([`SignatureName`]; seed 000's form).
//! - One SD-ELEMENT with the configured SD-ID (`name@PEN`). PARAM-VALUEs escape `"`, `\` and `]`
//!   with a backslash (§6.3.3); control characters (NEL among them), the Unicode line and
//!   paragraph separators and the bidirectional controls become spaces so that a record stays
//!   one line whatever the framing and displays as what it holds. Params: `severity`, `eventType` (canonical), `eventTypeOriginal` (as the application
//!   named it), `eventId`, `outcome`, then the
//!   fields the event has (`action`, `reason`, `user`, `userId`, `srcIp`, `userAgent`,
//!   `resource`, `resourceType`, `method`, `dstIp`, `tenantId`, `agentId`, `correlationId`,
//!   `source`), then labels and metadata under camelCase PARAM-NAMEs of at most 32 allowed
//!   characters (`meta` prefix when one would repeat a name above; a repeated name is skipped).
//! - MSG: as the `body` option says (plain message, CEF, LEEF or JSON), after the UTF-8 BOM when
//!   `bom` is set; left out with its space when the plain message is empty.

use std::sync::OnceLock;

use siem_event::SecurityEvent;

use crate::body::Body;
use crate::keys::{KeyRules, WrittenKeys};
use crate::text::{
    escape_table, with_value_text, write_escaped, write_syslog_header_field, EscapeTable,
};
use crate::{Encoder, FormatError, FormatOptions, SignatureName};

/// PARAM-NAMEs this encoder writes itself.
const PARAMS: &[&str] = &[
    "severity",
    "eventType",
    "eventTypeOriginal",
    "eventId",
    "outcome",
    "action",
    "reason",
    "user",
    "userId",
    "srcIp",
    "userAgent",
    "resource",
    "resourceType",
    "method",
    "dstIp",
    "tenantId",
    "agentId",
    "correlationId",
    "source",
];

static KEY_INDEX: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();

const KEY_RULES: KeyRules = KeyRules {
    max_len: 32,
    reserved: PARAMS,
    by_len: &KEY_INDEX,
};

/// Encodes events as RFC 5424 syslog messages (see the module documentation).
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Severity};
/// use siem_format::{Encoder, FacilitySetting, FormatOptions, Rfc5424Encoder};
///
/// let options = FormatOptions::default().facility(FacilitySetting::Name("daemon".into()));
/// let mut event = SecurityEvent::new(EventType::parse("authentication_failure"), "Failed login");
/// event.severity = Severity::High;
/// let mut out = Vec::new();
/// Rfc5424Encoder::new(&options).unwrap().encode(&event, &mut out);
/// let line = String::from_utf8(out).unwrap();
/// assert!(line.starts_with("<27>1 "));
/// assert!(line.contains(" auth.failure [tracingSiem@32473 severity=\"high\" eventType=\"auth.failure\" eventTypeOriginal=\"authentication_failure\" "));
/// assert!(line.ends_with("] Failed login"));
/// ```
#[derive(Debug, Clone)]
pub struct Rfc5424Encoder {
    facility: u8,
    sd_open: Vec<u8>,
    app_name: Option<String>,
    product: String,
    hostname: Option<String>,
    bom: bool,
    body: Body,
    signature: SignatureName,
}

impl Rfc5424Encoder {
    /// An encoder with the options' facility, SD-ID, APP-NAME, BOM and body.
    /// ```
    /// use siem_format::{FormatOptions, Rfc5424Encoder};
    /// let options = FormatOptions::default().sd_id("acme@32473").bom(true);
    /// assert!(Rfc5424Encoder::new(&options).is_ok());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<Rfc5424Encoder, FormatError> {
        let mut sd_open = b"[".to_vec();
        sd_open.extend_from_slice(options.checked_sd_id()?.as_bytes());
        Ok(Rfc5424Encoder {
            facility: options.facility_code()?,
            sd_open,
            app_name: options.checked_app_name()?,
            product: options.product_info()?.product,
            hostname: options.checked_hostname()?,
            bom: options.bom,
            body: Body::new(options)?,
            signature: options.signature,
        })
    }
}

static PARAM_VALUE: EscapeTable = escape_table(1, &[(b'"', 2), (b'\\', 3), (b']', 4)]);
const PARAM_VALUE_REPLACEMENTS: &[&[u8]] = &[b" ", b"\\\"", b"\\\\", b"\\]"];

/// Appends a PARAM-VALUE: `"`, `\`, `]` escaped, unsafe characters (controls, Unicode line
/// breaks, bidi controls) as spaces.
pub(crate) fn write_param_value(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, &PARAM_VALUE, PARAM_VALUE_REPLACEMENTS);
}

/// Writes a param; `key` is the literal ` name="` (one copy instead of three small writes).
fn param(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    write_param_value(out, value);
    out.push(b'"');
}

fn opt_param(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        param(out, name, v);
    }
}

/// Appends `<PRI>`.
pub(crate) fn write_pri(out: &mut Vec<u8>, facility: u8, event: &SecurityEvent) {
    out.push(b'<');
    let pri = u16::from(facility) * 8 + u16::from(event.severity.syslog());
    out.extend_from_slice(itoa::Buffer::new().format(pri).as_bytes());
    out.push(b'>');
}

impl Encoder for Rfc5424Encoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(320 + event.message.len());
        write_pri(out, self.facility, event);
        out.extend_from_slice(b"1 ");
        crate::time_cache::write_rfc3339_micros(event.timestamp, out);
        out.push(b' ');
        let host = if event.host.is_empty() {
            self.hostname.as_deref().unwrap_or("")
        } else {
            &event.host
        };
        write_syslog_header_field(out, host, 255);
        out.push(b' ');
        let app = self
            .app_name
            .as_deref()
            .or((!event.app.is_empty()).then_some(&*event.app))
            .unwrap_or(&self.product);
        write_syslog_header_field(out, app, 48);
        out.extend_from_slice(b" - ");
        write_syslog_header_field(out, self.signature.of(&event.event_type), 32);
        out.push(b' ');

        out.extend_from_slice(&self.sd_open);
        // Constant words of ours need no escaping.
        out.extend_from_slice(b" severity=\"");
        out.extend_from_slice(event.severity.as_str().as_bytes());
        out.push(b'"');
        param(out, " eventType=\"", event.event_type.as_str());
        param(out, " eventTypeOriginal=\"", event.event_type.original());
        out.extend_from_slice(b" eventId=\"");
        event.id.write_to(out);
        out.push(b'"');
        out.extend_from_slice(b" outcome=\"");
        out.extend_from_slice(event.outcome.as_str().as_bytes());
        out.push(b'"');
        opt_param(out, " action=\"", event.action.as_deref());
        opt_param(out, " reason=\"", event.reason.as_deref());
        opt_param(out, " user=\"", event.actor.user.as_deref());
        opt_param(out, " userId=\"", event.actor.user_id.as_deref());
        opt_param(out, " srcIp=\"", event.actor.source_ip.as_deref());
        opt_param(out, " userAgent=\"", event.actor.user_agent.as_deref());
        opt_param(out, " resource=\"", event.target.resource.as_deref());
        opt_param(
            out,
            " resourceType=\"",
            event.target.resource_type.as_deref(),
        );
        opt_param(out, " method=\"", event.target.method.as_deref());
        opt_param(out, " dstIp=\"", event.target.destination_ip.as_deref());
        opt_param(out, " tenantId=\"", event.tenant_id.as_deref());
        opt_param(out, " agentId=\"", event.agent_id.as_deref());
        opt_param(out, " correlationId=\"", event.correlation_id.as_deref());
        opt_param(out, " source=\"", event.source.as_deref());
        let mut written = WrittenKeys::new();
        let mut extra = |out: &mut Vec<u8>, name: &str, value: &str| {
            let key = KEY_RULES.key(name, false);
            if written.contains(out, key.as_bytes()) {
                return;
            }
            out.push(b' ');
            written.write_checked(out, key.as_bytes());
            out.extend_from_slice(b"=\"");
            write_param_value(out, value);
            out.push(b'"');
        };
        for (name, value) in event.labels.iter() {
            extra(out, name, value);
        }
        for field in &event.metadata {
            with_value_text(&field.value, |value| extra(out, &field.name, value));
        }
        out.push(b']');

        if !self.body.is_empty(event) {
            out.push(b' ');
            if self.bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            self.body.write(event, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{EventType, Timestamp};

    use super::*;
    use crate::BodyFormat;

    fn encode(options: &FormatOptions, e: &SecurityEvent) -> String {
        let mut out = Vec::new();
        Rfc5424Encoder::new(options).unwrap().encode(e, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_fields_are_printable_ascii_within_limits() {
        let mut e = SecurityEvent::new(EventType::parse("weird type é"), "");
        e.timestamp = Timestamp::from_unix_nanos(1_718_880_000_123_456_789);
        e.host = Arc::from("web 01");
        e.app = Arc::from("x".repeat(60).as_str());
        let line = encode(&FormatOptions::default(), &e);
        let expected_app = "x".repeat(48);
        assert!(
            line.starts_with(&format!(
                "<134>1 2024-06-20T10:40:00.123456Z web01 {expected_app} - weirdtype [tracingSiem@32473 "
            )),
            "{line}"
        );
        assert!(line.ends_with(']'), "empty message means no MSG: {line}");
    }

    #[test]
    fn nil_values_and_options() {
        let e = SecurityEvent::new(EventType::parse("é"), "hi");
        let options = FormatOptions {
            hostname: Some("fallback".into()),
            app_name: Some("myapp".into()),
            bom: true,
            ..FormatOptions::default()
        };
        let line = encode(&options, &e);
        assert!(
            line.contains(" fallback myapp - - [tracingSiem@32473 "),
            "{line}"
        );
        assert!(line.ends_with("] \u{feff}hi"), "{line}");
        let line = encode(&FormatOptions::default(), &e);
        assert!(line.contains(" - tracing-siem - - ["), "{line}");
    }

    #[test]
    fn param_values_are_escaped() {
        let mut e = SecurityEvent::new(EventType::parse("a.b"), "line1\nline2");
        e.actor.user = Some("a\"b\\c]d\re".into());
        e.push_metadata("user", "forged");
        e.push_metadata("x y=z", 1i64);
        let line = encode(&FormatOptions::default(), &e);
        assert!(line.contains(r#" user="a\"b\\c\]d e""#), "{line}");
        assert!(line.contains(r#" metaUser="forged""#), "{line}");
        assert!(line.contains(r#" xYZ="1""#), "{line}");
        assert!(line.ends_with("] line1 line2"), "{line}");
        let mut e = SecurityEvent::new(EventType::parse("a.b"), "x\u{2028}y\u{85}z");
        e.actor.user = Some("user\u{202E}nimda\u{2029}".into());
        let line = encode(&FormatOptions::default(), &e);
        assert!(line.contains(r#" user="user nimda ""#), "{line}");
        assert!(line.ends_with("] x y z"), "{line}");
    }

    #[test]
    fn cef_over_syslog() {
        let e = SecurityEvent::new(EventType::parse("a.b"), "m");
        let options = FormatOptions {
            body: BodyFormat::Cef,
            ..FormatOptions::default()
        };
        let line = encode(&options, &e);
        assert!(
            line.contains("] CEF:0|tracing-siem|tracing-siem|"),
            "{line}"
        );
    }
}
