//! The canonical JSON shape of tracing-siem (`--format json`, JSON Lines files, webhooks).
//!
//! One object per event, members in this order; optional members are left out when the event
//! has no value for them, objects are always present so that a SIEM's field extraction sees one
//! stable shape:
//!
//! | member | type | from | notes |
//! |--------|------|------|-------|
//! | `id` | string | [`SecurityEvent::id`] | UUID, for de-duplication |
//! | `timestamp` | string | `timestamp` | RFC 3339 UTC, microseconds (seed 000) |
//! | `event_type` | string | `event_type` | canonical dotted type, `auth.failure` |
//! | `event_type_original` | string | `event_type.original()` | the name the application used (`authentication_failure`); equal to `event_type` when that was canonical |
//! | `category` | string | `event_type.category()` | `auth` |
//! | `severity` | string | `severity` | `info`, `low`, `medium`, `high`, `critical` |
//! | `message` | string | `message` | |
//! | `source` | string? | `source` | the emitting component (seed 000's string form; seed 003's `source` object is split into this and `_siem`) |
//! | `tenant_id`, `agent_id`, `correlation_id`, `action` | string? | same names | |
//! | `actor` | object | `actor` | `user_id`, `username`, `ip_address`, `user_agent` (seed 003), each optional |
//! | `target` | object | `target` | `resource_type`, `resource_id`, `method`, `ip_address` (destination), each optional |
//! | `outcome` | object | `outcome`, `reason` | `result` (`success`, `failure`, `denied`, `unknown`), `success` (bool, left out when unknown), `reason`? (seed 003) |
//! | `metadata` | object | `metadata` | every other field, typed: numbers stay numbers, booleans stay booleans, non-finite floats are the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; a repeated name keeps its first value |
//! | `compliance` | object | `compliance` | `soc2_cc` and `iso27001` arrays of control ids (seed 003) |
//! | *label name* | string | `labels` | static labels at top level (seed 000's `constitutional_hash`), in configuration order; a label whose name is one of the members above is written as `label_<name>`, and a name already written is skipped |
//! | `_siem` | object | options, `host`, `app` | `vendor`, `product`, `version` (configurable; default `tracing-siem`), `hostname`, `app` (left out when empty) (seed 000) |
//!
//! Example (one line on the wire, wrapped here):
//!
//! ```text
//! {"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","timestamp":"2025-01-01T12:00:00.000000Z",
//!  "event_type":"auth.failure","event_type_original":"authentication_failure","category":"auth",
//!  "severity":"high","message":"Failed login attempt","source":"runtime_security_scanner",
//!  "tenant_id":"tenant-123","agent_id":"agent-456","correlation_id":"abc123def456",
//!  "actor":{"username":"alice","ip_address":"192.168.1.100"},"target":{},
//!  "outcome":{"result":"failure","success":false,"reason":"Invalid credentials"},
//!  "metadata":{"attempts":3},"compliance":{"soc2_cc":["CC4","CC6"],"iso27001":["A.12.4","A.9.4"]},
//!  "constitutional_hash":"cdd01ef066bc6cf2",
//!  "_siem":{"vendor":"tracing-siem","product":"tracing-siem","version":"0.1.0","hostname":"server-01"}}
//! ```
//!
//! [`crate::decode_json`] reads this shape back (and seed-style flat JSON).

use siem_event::{SecurityEvent, WellKnownField};

use crate::json_writer::{write_str, write_value, Obj};
use crate::seen::SeenNames;
use crate::Encoder;

/// Top-level members of the canonical shape; a label of one of these names is renamed.
const RESERVED_TOP_LEVEL: &[&str] = &[
    "id",
    "timestamp",
    "event_type",
    "event_type_original",
    "category",
    "severity",
    "message",
    "source",
    "tenant_id",
    "agent_id",
    "correlation_id",
    "action",
    "actor",
    "target",
    "outcome",
    "metadata",
    "compliance",
    "_siem",
];

/// Who produced the records: the `_siem` block of JSON, the CEF/LEEF header, ECS `observer`,
/// OCSF `metadata.product`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProductInfo {
    pub(crate) vendor: String,
    pub(crate) product: String,
    pub(crate) version: String,
}

impl Default for ProductInfo {
    fn default() -> Self {
        ProductInfo {
            vendor: crate::DEFAULT_VENDOR.to_owned(),
            product: crate::DEFAULT_PRODUCT.to_owned(),
            version: crate::DEFAULT_VERSION.to_owned(),
        }
    }
}

/// Encodes events as the canonical JSON object described in this module's documentation.
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Severity};
/// use siem_format::{Encoder, JsonEncoder};
///
/// let mut event = SecurityEvent::new(EventType::parse("authentication_failure"), "Failed login");
/// event.severity = Severity::High;
/// event.push_metadata("attempts", 3i64);
/// let mut out = Vec::new();
/// JsonEncoder::default().encode(&event, &mut out);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["event_type"], "auth.failure");
/// assert_eq!(v["event_type_original"], "authentication_failure");
/// assert_eq!(v["metadata"]["attempts"], 3);
/// assert_eq!(v["_siem"]["vendor"], "tracing-siem");
/// ```
#[derive(Debug, Clone, Default)]
pub struct JsonEncoder {
    product: ProductInfo,
}

impl JsonEncoder {
    /// An encoder whose `_siem` block names the given vendor, product and version.
    ///
    /// ```
    /// use siem_format::JsonEncoder;
    /// let encoder = JsonEncoder::new("ACGS-2", "EnhancedAgentBus", "2.4.0");
    /// # let _ = encoder;
    /// ```
    pub fn new(
        vendor: impl Into<String>,
        product: impl Into<String>,
        version: impl Into<String>,
    ) -> JsonEncoder {
        JsonEncoder {
            product: ProductInfo {
                vendor: vendor.into(),
                product: product.into(),
                version: version.into(),
            },
        }
    }

    pub(crate) fn from_product(product: ProductInfo) -> JsonEncoder {
        JsonEncoder { product }
    }
}

impl Encoder for JsonEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        write_canonical(event, &self.product, out);
    }
}

/// Writes the canonical object; shared with the Splunk HEC envelope, whose `event` it is.
pub(crate) fn write_canonical(event: &SecurityEvent, product: &ProductInfo, out: &mut Vec<u8>) {
    out.reserve(384 + event.message.len());
    let mut o = Obj::open(out);
    o.key(out, "id");
    out.push(b'"');
    event.id.write_to(out);
    out.push(b'"');
    o.key(out, "timestamp");
    out.push(b'"');
    crate::time_cache::write_rfc3339_micros(event.timestamp, out);
    out.push(b'"');
    o.str(out, "event_type", event.event_type.as_str());
    o.str(out, "event_type_original", event.event_type.original());
    o.str(out, "category", event.event_type.category());
    o.key(out, "severity");
    out.push(b'"');
    out.extend_from_slice(event.severity.as_str().as_bytes());
    out.push(b'"');
    o.str(out, "message", &event.message);
    o.opt_str(out, "source", event.source.as_deref());
    o.opt_str(out, "tenant_id", event.tenant_id.as_deref());
    o.opt_str(out, "agent_id", event.agent_id.as_deref());
    o.opt_str(out, "correlation_id", event.correlation_id.as_deref());
    o.opt_str(out, "action", event.action.as_deref());

    o.key(out, "actor");
    let mut actor = Obj::open(out);
    actor.opt_str(out, "user_id", event.actor.user_id.as_deref());
    actor.opt_str(out, "username", event.actor.user.as_deref());
    actor.opt_str(out, "ip_address", event.actor.source_ip.as_deref());
    actor.opt_str(out, "user_agent", event.actor.user_agent.as_deref());
    actor.close(out);

    o.key(out, "target");
    let mut target = Obj::open(out);
    target.opt_str(out, "resource_type", event.target.resource_type.as_deref());
    target.opt_str(out, "resource_id", event.target.resource.as_deref());
    target.opt_str(out, "method", event.target.method.as_deref());
    target.opt_str(out, "ip_address", event.target.destination_ip.as_deref());
    target.close(out);

    o.key(out, "outcome");
    let mut outcome = Obj::open(out);
    outcome.key(out, "result");
    out.push(b'"');
    out.extend_from_slice(event.outcome.as_str().as_bytes());
    out.push(b'"');
    if let Some(success) = event.outcome.is_success() {
        outcome.bool(out, "success", success);
    }
    outcome.opt_str(out, "reason", event.reason.as_deref());
    outcome.close(out);

    o.key(out, "metadata");
    write_metadata(out, event);

    o.key(out, "compliance");
    let mut compliance = Obj::open(out);
    compliance.str_array(out, "soc2_cc", &event.compliance.soc2);
    compliance.str_array(out, "iso27001", &event.compliance.iso27001);
    compliance.close(out);

    write_labels(&mut o, event, out);

    o.key(out, "_siem");
    let mut siem = Obj::open(out);
    siem.str(out, "vendor", &product.vendor);
    siem.str(out, "product", &product.product);
    siem.str(out, "version", &product.version);
    siem.str(out, "hostname", &event.host);
    siem.non_empty(out, "app", Some(&event.app));
    siem.close(out);
    o.close(out);
}

/// Where the canonical JSON writes a well-known field that holds free text, as the path of
/// member names from the top-level object; [`crate::decode_json`] reads each back verbatim, and
/// an absent member means the event has no value. `None` for the fields written in a
/// normalised form (event type, severity, outcome, timestamp), derived from another (category,
/// the original event type) or filled with a default when absent (host, app).
///
/// For readers that look a few fields up in an encoded record without decoding all of it.
///
/// ```
/// use siem_event::WellKnownField;
/// use siem_format::json::text_member;
/// assert_eq!(text_member(WellKnownField::SourceIp), Some(&["actor", "ip_address"][..]));
/// assert_eq!(text_member(WellKnownField::TenantId), Some(&["tenant_id"][..]));
/// assert_eq!(text_member(WellKnownField::Severity), None);
/// ```
pub fn text_member(field: WellKnownField) -> Option<&'static [&'static str]> {
    use WellKnownField as F;
    Some(match field {
        F::Message => &["message"],
        F::Source => &["source"],
        F::TenantId => &["tenant_id"],
        F::AgentId => &["agent_id"],
        F::CorrelationId => &["correlation_id"],
        F::Action => &["action"],
        F::UserId => &["actor", "user_id"],
        F::User => &["actor", "username"],
        F::SourceIp => &["actor", "ip_address"],
        F::UserAgent => &["actor", "user_agent"],
        F::ResourceType => &["target", "resource_type"],
        F::Resource => &["target", "resource_id"],
        F::Method => &["target", "method"],
        F::DestinationIp => &["target", "ip_address"],
        F::Reason => &["outcome", "reason"],
        F::EventType
        | F::EventTypeOriginal
        | F::Category
        | F::Severity
        | F::Outcome
        | F::Timestamp
        | F::Host
        | F::App => return None,
    })
}

/// The key a label is written under at top level, or `None` when an earlier label already took
/// it (JSON objects with repeated names are read differently by different parsers).
fn label_key(labels: &[(String, String)], index: usize) -> Option<(&'static str, &str)> {
    fn key_of(name: &str) -> (&'static str, &str) {
        if RESERVED_TOP_LEVEL.contains(&name) {
            ("label_", name)
        } else {
            ("", name)
        }
    }
    let (prefix, name) = key_of(&labels[index].0);
    let same = |(p, n): (&str, &str)| concat_eq(p, n, prefix, name);
    if labels[..index].iter().any(|(other, _)| same(key_of(other))) {
        None
    } else {
        Some((prefix, name))
    }
}

/// Whether `a1 + a2 == b1 + b2` as text, without concatenating.
fn concat_eq(a1: &str, a2: &str, b1: &str, b2: &str) -> bool {
    a1.len() + a2.len() == b1.len() + b2.len()
        && a1
            .bytes()
            .chain(a2.bytes())
            .eq(b1.bytes().chain(b2.bytes()))
}

fn write_labels(o: &mut Obj, event: &SecurityEvent, out: &mut Vec<u8>) {
    for (i, (_, value)) in event.labels.iter().enumerate() {
        if let Some((prefix, name)) = label_key(&event.labels, i) {
            o.prefixed_key(out, prefix, name);
            write_str(out, value);
        }
    }
}

/// Writes the event's metadata as a JSON object; a name recorded twice keeps its first value
/// (JSON objects must not repeat a key).
pub(crate) fn write_metadata(out: &mut Vec<u8>, event: &SecurityEvent) {
    let mut meta = Obj::open(out);
    let mut seen = SeenNames::default();
    for field in &event.metadata {
        if !seen.first(&field.name) {
            continue;
        }
        meta.dyn_key(out, &field.name);
        write_value(out, &field.value);
    }
    meta.close(out);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{EventType, Outcome, Severity, Timestamp, Value};

    use super::*;

    fn sample() -> SecurityEvent {
        let mut e = SecurityEvent::new(
            EventType::parse("authentication_failure"),
            "Failed login attempt",
        );
        e.timestamp = Timestamp::from_unix_millis(1_735_732_800_000);
        e.severity = Severity::High;
        e.outcome = Outcome::Failure;
        e.reason = Some("Invalid credentials".into());
        e.source = Some("runtime_security_scanner".into());
        e.tenant_id = Some("tenant-123".into());
        e.agent_id = Some("agent-456".into());
        e.correlation_id = Some("abc123def456".into());
        e.actor.user = Some("alice".into());
        e.actor.source_ip = Some("192.168.1.100".into());
        e.host = Arc::from("server-01");
        e.labels = Arc::from(vec![(
            "constitutional_hash".to_owned(),
            "cdd01ef066bc6cf2".to_owned(),
        )]);
        e.push_metadata("attempts", 3i64);
        e.push_metadata("ratio", f64::NAN);
        e
    }

    fn encode(e: &SecurityEvent) -> serde_json::Value {
        let mut out = Vec::new();
        JsonEncoder::new("ACGS-2", "EnhancedAgentBus", "2.4.0").encode(e, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn carries_seed_000_and_seed_003_fields() {
        let e = sample();
        let v = encode(&e);
        assert_eq!(v["id"], e.id.to_string());
        assert_eq!(v["timestamp"], "2025-01-01T12:00:00.000000Z");
        assert_eq!(v["event_type"], "auth.failure");
        assert_eq!(v["event_type_original"], "authentication_failure");
        assert_eq!(v["category"], "auth");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["message"], "Failed login attempt");
        assert_eq!(v["source"], "runtime_security_scanner");
        assert_eq!(v["tenant_id"], "tenant-123");
        assert_eq!(v["agent_id"], "agent-456");
        assert_eq!(v["correlation_id"], "abc123def456");
        assert_eq!(v["constitutional_hash"], "cdd01ef066bc6cf2");
        assert_eq!(v["actor"]["username"], "alice");
        assert_eq!(v["actor"]["ip_address"], "192.168.1.100");
        assert_eq!(v["outcome"]["result"], "failure");
        assert_eq!(v["outcome"]["success"], false);
        assert_eq!(v["outcome"]["reason"], "Invalid credentials");
        assert_eq!(v["metadata"]["attempts"], 3);
        assert_eq!(v["metadata"]["ratio"], "NaN");
        assert_eq!(v["compliance"]["soc2_cc"][1], "CC6");
        assert_eq!(
            v["_siem"],
            serde_json::json!({"vendor":"ACGS-2","product":"EnhancedAgentBus","version":"2.4.0","hostname":"server-01"})
        );
        assert!(v.get("action").is_none());
        assert!(v["outcome"].get("success").is_some());
    }

    #[test]
    fn repeated_and_reserved_names_never_duplicate_a_key() {
        let mut e = sample();
        e.labels = Arc::from(vec![
            ("severity".to_owned(), "forged".to_owned()),
            ("label_severity".to_owned(), "second".to_owned()),
            ("env".to_owned(), "prod".to_owned()),
            ("env".to_owned(), "again".to_owned()),
        ]);
        e.metadata.clear();
        e.push_metadata("n", 1i64);
        e.push_metadata("n", Value::from("later"));
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\"severity\":").count(), 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["severity"], "high");
        assert_eq!(v["label_severity"], "forged");
        assert_eq!(v["env"], "prod");
        assert_eq!(text.matches("\"env\":").count(), 1);
        assert_eq!(text.matches("\"label_severity\":").count(), 1);
        assert_eq!(v["metadata"]["n"], 1);
    }

    #[test]
    fn hostile_text_stays_one_line_and_round_trips() {
        let mut e = sample();
        let hostile = "x\"}\n{\"event_type\":\"forged\"\u{2028}\u{0}\\";
        e.message = hostile.into();
        e.metadata.clear();
        e.push_metadata(hostile, hostile);
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        assert!(!out.contains(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["message"], hostile);
        assert_eq!(v["metadata"][hostile], hostile);
        assert_eq!(v["event_type"], "auth.failure");
    }

    #[test]
    fn text_members_are_where_the_encoder_writes_them_and_read_back_verbatim() {
        use WellKnownField as F;
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "");
        let mut expected = Vec::new();
        for (i, &field) in F::ALL.iter().enumerate() {
            let Some(path) = text_member(field) else {
                continue;
            };
            let value = format!("v{i} \"{}\"", field.canonical_name());
            let slot = match field {
                F::Message => {
                    e.message = value.clone();
                    expected.push((field, path, value));
                    continue;
                }
                F::Source => &mut e.source,
                F::TenantId => &mut e.tenant_id,
                F::AgentId => &mut e.agent_id,
                F::CorrelationId => &mut e.correlation_id,
                F::Action => &mut e.action,
                F::UserId => &mut e.actor.user_id,
                F::User => &mut e.actor.user,
                F::SourceIp => &mut e.actor.source_ip,
                F::UserAgent => &mut e.actor.user_agent,
                F::ResourceType => &mut e.target.resource_type,
                F::Resource => &mut e.target.resource,
                F::Method => &mut e.target.method,
                F::DestinationIp => &mut e.target.destination_ip,
                F::Reason => &mut e.reason,
                other => panic!("{other:?} has a text member but no slot in this test"),
            };
            *slot = Some(value.clone());
            expected.push((field, path, value));
        }
        let v = encode(&e);
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        let decoded = crate::decode_json(&out).unwrap();
        for (field, path, value) in expected {
            let written = path.iter().fold(&v, |v, member| &v[member]);
            assert_eq!(
                written.as_str(),
                Some(value.as_str()),
                "{field:?} at {path:?}"
            );
            assert_eq!(
                decoded.field_text(field.canonical_name()).as_deref(),
                Some(value.as_str()),
                "{field:?} read back"
            );
        }
    }

    #[test]
    fn appends_to_the_buffer() {
        let mut out = b"prefix ".to_vec();
        JsonEncoder::default().encode(&sample(), &mut out);
        assert!(out.starts_with(b"prefix {\"id\":"));
        assert!(out.ends_with(b"}"));
    }
}
