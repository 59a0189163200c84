//! The Splunk HTTP Event Collector envelope (`/services/collector/event`).
//!
//! ```text
//! {"time":1718880000.123,"host":"web01","source":"…","sourcetype":"_json","index":"security",
//!  "event":{…canonical JSON…},"fields":{"event_type":"auth.failure","severity":"high",…}}
//! ```
//!
//! - `time`: epoch seconds as a plain decimal with milliseconds (never an exponent, which HEC
//!   rejects with code 15).
//! - `host`: the event's host, else the `hostname` option; left out when neither is set.
//! - `source`, `sourcetype`, `index`: the `hec_source`, `hec_sourcetype` (default `_json`),
//!   `hec_index` options, each left out when unset.
//! - `event`: the canonical JSON object (or ECS, or OCSF: option `hec_event`).
//! - `fields` (indexed fields; strings only, as HEC requires): `event_type`, `category`,
//!   `severity`, `outcome`, and when present `tenant_id`, `agent_id`, `correlation_id`, `user`,
//!   `source_ip`, then the static labels under names made of ASCII letters, digits and `_`
//!   (other characters become `_`; a name already used is skipped).
//!
//! A batch is such envelopes back to back: the sink joins them.

use siem_event::SecurityEvent;

use crate::json::{write_canonical, ProductInfo};
use crate::json_writer::{write_str, Obj};
use crate::{EcsEncoder, Encoder, FormatError, FormatOptions, HecEventFormat, OcsfEncoder};

const FIXED_FIELDS: &[&str] = &[
    "event_type",
    "category",
    "severity",
    "outcome",
    "tenant_id",
    "agent_id",
    "correlation_id",
    "user",
    "source_ip",
];

#[derive(Debug, Clone)]
enum Payload {
    Json(ProductInfo),
    Ecs(EcsEncoder),
    Ocsf(OcsfEncoder),
}

/// Encodes events as Splunk HEC event envelopes (see the module documentation).
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Timestamp};
/// use siem_format::{Encoder, FormatOptions, HecEncoder};
///
/// let mut event = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// event.timestamp = Timestamp::from_unix_millis(1_718_880_000_123);
/// let options = FormatOptions::default().hec_index("security");
/// let mut out = Vec::new();
/// HecEncoder::new(&options).unwrap().encode(&event, &mut out);
/// assert!(out.starts_with(b"{\"time\":1718880000.123,"));
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["index"], "security");
/// assert_eq!(v["event"]["message"], "Failed login");
/// assert_eq!(v["fields"]["severity"], "info");
/// ```
#[derive(Debug, Clone)]
pub struct HecEncoder {
    hostname: Option<String>,
    source: Option<String>,
    sourcetype: Option<String>,
    index: Option<String>,
    payload: Payload,
}

impl HecEncoder {
    /// An encoder with the options' `hec_*` settings and host name.
    /// ```
    /// use siem_format::{FormatOptions, HecEncoder};
    /// let bad = FormatOptions::default().hec_index(String::new());
    /// assert!(HecEncoder::new(&bad).is_err());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<HecEncoder, FormatError> {
        options.checked_hec()?;
        let payload = match options.hec_event {
            HecEventFormat::Json => Payload::Json(options.product_info()?),
            HecEventFormat::Ecs => Payload::Ecs(EcsEncoder::new(options)?),
            HecEventFormat::Ocsf => Payload::Ocsf(OcsfEncoder::new(options)?),
        };
        Ok(HecEncoder {
            hostname: options.checked_hostname()?,
            source: options.hec_source.clone(),
            sourcetype: options.hec_sourcetype.clone(),
            index: options.hec_index.clone(),
            payload,
        })
    }
}

/// Appends epoch seconds with three decimals, e.g. `1718880000.123` or `-0.500`.
pub(crate) fn write_epoch_seconds(out: &mut Vec<u8>, millis: i64) {
    if millis < 0 {
        out.push(b'-');
    }
    let abs = millis.unsigned_abs();
    out.extend_from_slice(itoa::Buffer::new().format(abs / 1000).as_bytes());
    let frac = (abs % 1000) as u32;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// Appends a label name as a Splunk field name: ASCII letters, digits and `_`.
fn write_field_name(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend(name.bytes().map(|b| {
        if b.is_ascii_alphanumeric() || b == b'_' {
            b
        } else {
            b'_'
        }
    }));
    out.extend_from_slice(b"\":");
}

fn field_name_eq(a: &str, b: &str) -> bool {
    let norm = |c: u8| {
        if c.is_ascii_alphanumeric() || c == b'_' {
            c
        } else {
            b'_'
        }
    };
    a.len() == b.len() && a.bytes().map(norm).eq(b.bytes().map(norm))
}

impl Encoder for HecEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        let mut o = Obj::open(out);
        o.key(out, "time");
        write_epoch_seconds(out, event.timestamp.unix_millis());
        let host = if event.host.is_empty() {
            self.hostname.as_deref()
        } else {
            Some(&*event.host)
        };
        o.non_empty(out, "host", host);
        o.opt_str(out, "source", self.source.as_deref());
        o.opt_str(out, "sourcetype", self.sourcetype.as_deref());
        o.opt_str(out, "index", self.index.as_deref());
        o.key(out, "event");
        match &self.payload {
            Payload::Json(product) => write_canonical(event, product, out),
            Payload::Ecs(e) => e.encode(event, out),
            Payload::Ocsf(e) => e.encode(event, out),
        }
        o.key(out, "fields");
        let mut f = Obj::open(out);
        f.str(out, "event_type", event.event_type.as_str());
        f.str(out, "category", event.event_type.category());
        f.str(out, "severity", event.severity.as_str());
        f.str(out, "outcome", event.outcome.as_str());
        f.opt_str(out, "tenant_id", event.tenant_id.as_deref());
        f.opt_str(out, "agent_id", event.agent_id.as_deref());
        f.opt_str(out, "correlation_id", event.correlation_id.as_deref());
        f.opt_str(out, "user", event.actor.user.as_deref());
        f.opt_str(out, "source_ip", event.actor.source_ip.as_deref());
        for (i, (name, value)) in event.labels.iter().enumerate() {
            let taken = FIXED_FIELDS.iter().any(|fixed| field_name_eq(fixed, name))
                || event.labels[..i]
                    .iter()
                    .any(|(other, _)| field_name_eq(other, name));
            if name.is_empty() || taken {
                continue;
            }
            out.push(b',');
            write_field_name(out, name);
            write_str(out, value);
        }
        f.close(out);
        o.close(out);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{EventType, Timestamp};

    use super::*;

    #[test]
    fn epoch_seconds_are_plain_decimals() {
        for (millis, text) in [
            (1_718_880_000_123, "1718880000.123"),
            (0, "0.000"),
            (5, "0.005"),
            (-500, "-0.500"),
            (-1_500, "-1.500"),
            (i64::MIN, "-9223372036854775.808"),
        ] {
            let mut out = Vec::new();
            write_epoch_seconds(&mut out, millis);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }

    #[test]
    fn fields_are_strings_with_safe_names() {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "m");
        e.timestamp = Timestamp::from_unix_secs(1);
        e.labels = Arc::from(vec![
            ("constitutional hash".to_owned(), "abc".to_owned()),
            ("severity".to_owned(), "forged".to_owned()),
            ("constitutional-hash".to_owned(), "dup".to_owned()),
        ]);
        let options = FormatOptions {
            hec_event: HecEventFormat::Ocsf,
            ..FormatOptions::default()
        };
        let mut out = Vec::new();
        HecEncoder::new(&options).unwrap().encode(&e, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let fields = v["fields"].as_object().unwrap();
        assert!(fields.values().all(|f| f.is_string()));
        assert_eq!(fields["constitutional_hash"], "abc");
        assert_eq!(fields["severity"], "info");
        assert_eq!(v["event"]["class_uid"], 3002);
        assert_eq!(v["sourcetype"], "_json");
        assert!(v.get("host").is_none());
    }
}
