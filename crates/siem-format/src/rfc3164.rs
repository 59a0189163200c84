//! BSD syslog (RFC 3164) for legacy receivers.
//!
//! ```text
//! <PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG
//! ```
//!
//! **Lossy** by design of the format: the timestamp has no year, no time zone (we write UTC) and
//! no sub-second part; there is no structured data, so with the default plain-message body only
//! the message, severity (in PRI), host and app survive. Choose `body = "cef"`, `"leef2"` or
//! `"json"` to carry every field, or prefer RFC 5424 when the receiver supports it.
//!
//! - PRI as in RFC 5424.
//! - HOSTNAME: an IP address as it is; otherwise the name without its domain part (RFC 3164
//!   §4.1.2), ASCII letters, digits, `-` and `_` only (a `:` would let it pose as a TAG); `-`
//!   when nothing is left.
//! - TAG: ASCII letters and digits of the `app_name` option, else the event's app, else the
//!   product, at most 32 (a TAG ends at its first other character).
//! - MSG: the `body` option; a plain message has control characters, Unicode line breaks and
//!   bidirectional controls replaced by spaces.
//!
//! RFC 3164 limits a packet to 1024 bytes; this encoder does not cut records (cutting would
//! corrupt a CEF or JSON body): receivers that enforce the limit truncate.

use siem_event::SecurityEvent;

use crate::body::Body;
use crate::rfc5424::write_pri;
use crate::text::write_printable_ascii;
use crate::{Encoder, FormatError, FormatOptions};

/// Encodes events as RFC 3164 (BSD syslog) lines (see the module documentation).
///
/// ```
/// use std::sync::Arc;
/// use siem_event::{EventType, SecurityEvent, Severity, Timestamp};
/// use siem_format::{Encoder, FormatOptions, Rfc3164Encoder};
///
/// let mut event = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// event.timestamp = Timestamp::from_unix_secs(1_704_412_800);
/// event.host = Arc::from("web01.example.com");
/// event.app = Arc::from("shop-api");
/// let mut out = Vec::new();
/// Rfc3164Encoder::new(&FormatOptions::default()).unwrap().encode(&event, &mut out);
/// assert_eq!(out, b"<134>Jan  5 00:00:00 web01 shopapi: Failed login");
/// ```
#[derive(Debug, Clone)]
pub struct Rfc3164Encoder {
    facility: u8,
    app_name: Option<String>,
    product: String,
    hostname: Option<String>,
    body: Body,
}

impl Rfc3164Encoder {
    /// An encoder with the options' facility, app name and body.
    /// ```
    /// use siem_format::{FacilitySetting, FormatOptions, Rfc3164Encoder};
    /// let bad = FormatOptions::default().facility(FacilitySetting::Code(30));
    /// assert!(Rfc3164Encoder::new(&bad).is_err());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<Rfc3164Encoder, FormatError> {
        Ok(Rfc3164Encoder {
            facility: options.facility_code()?,
            app_name: options.checked_app_name()?,
            product: options.product_info()?.product,
            hostname: options.checked_hostname()?,
            body: Body::new(options)?,
        })
    }
}

impl Encoder for Rfc3164Encoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(64 + event.message.len());
        write_pri(out, self.facility, event);
        crate::time_cache::write_rfc3164(event.timestamp, out);
        out.push(b' ');
        let host = if event.host.is_empty() {
            self.hostname.as_deref().unwrap_or("")
        } else {
            &event.host
        };
        if crate::text::is_ip(host) {
            write_printable_ascii(out, host, 255);
        } else {
            // Letters, digits, '-' and '_' only: a ':' or '[' would let the host pose as a TAG.
            let start = out.len();
            let name = host.split('.').next().unwrap_or("");
            out.extend(
                name.bytes()
                    .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
                    .take(255),
            );
            if out.len() == start {
                out.push(b'-');
            }
        }
        out.push(b' ');
        let start = out.len();
        for candidate in [
            self.app_name.as_deref(),
            Some(&*event.app),
            Some(&*self.product),
        ]
        .into_iter()
        .flatten()
        {
            out.extend(candidate.bytes().filter(u8::is_ascii_alphanumeric).take(32));
            if out.len() > start {
                break;
            }
        }
        if out.len() == start {
            out.extend_from_slice(b"siem");
        }
        out.extend_from_slice(b": ");
        self.body.write(event, out);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{EventType, Severity, Timestamp};

    use super::*;
    use crate::{BodyFormat, FacilitySetting};

    #[test]
    fn pri_host_tag_and_hostile_message() {
        let mut e = SecurityEvent::new(EventType::parse("a.b"), "x\ny\u{0}z");
        e.timestamp = Timestamp::from_unix_secs(1_718_880_000);
        e.severity = Severity::Critical;
        e.host = Arc::from("10.0.0.99");
        let options = FormatOptions {
            facility: FacilitySetting::Code(4),
            app_name: Some("my-app".into()),
            ..FormatOptions::default()
        };
        let mut out = Vec::new();
        Rfc3164Encoder::new(&options).unwrap().encode(&e, &mut out);
        assert_eq!(out, b"<34>Jun 20 10:40:00 10.0.0.99 myapp: x y z");
        e.message = "user\u{202E}nimda\u{2028}x\u{85}y".into();
        out.clear();
        Rfc3164Encoder::new(&options).unwrap().encode(&e, &mut out);
        assert!(out.ends_with(b"myapp: user nimda x y"));
    }

    #[test]
    fn empty_names_fall_back() {
        let e = SecurityEvent::new(EventType::parse("a.b"), "m");
        let options = FormatOptions {
            product: "ÉÉ".into(),
            body: BodyFormat::Json,
            ..FormatOptions::default()
        };
        let mut out = Vec::new();
        Rfc3164Encoder::new(&options).unwrap().encode(&e, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(line.contains(" - siem: {\"id\":"), "{line}");
    }
}
