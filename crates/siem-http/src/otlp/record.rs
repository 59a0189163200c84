//! The one mapping from a security event to an OpenTelemetry log record, with the
//! semantic-convention attribute names where one exists and `siem.*` for the rest; both
//! encodings write what it makes.

use siem_event::{SecurityEvent, Severity, Value};

use super::proto::{AnyValue, KeyValue, LogRecord, Scalar};

/// The log record of a canonical JSON record; anything else (only canonical JSON reaches
/// this sink) still travels, as the body.
pub(super) fn from_canonical_json(record: &[u8]) -> LogRecord {
    match siem_format::decode_json(record) {
        Ok(event) => log_record(&event),
        Err(_) => LogRecord {
            body: Some(AnyValue::string(String::from_utf8_lossy(record))),
            ..LogRecord::default()
        },
    }
}

/// OpenTelemetry's severity number for ours.
fn severity_number(severity: Severity) -> i32 {
    match severity {
        Severity::Info => 9,
        Severity::Low => 10,
        Severity::Medium => 13,
        Severity::High => 17,
        Severity::Critical => 21,
        // A severity added later is sent as WARN until it is given its own number.
        _ => 13,
    }
}

/// An `AnyValue` for a metadata value (a `u64` past `i64` and a non-finite float as text).
fn any_value(value: &Value) -> AnyValue {
    let scalar = match value {
        Value::Str(s) => Scalar::String(s.clone()),
        Value::I64(n) => Scalar::Int(*n),
        Value::U64(n) => match i64::try_from(*n) {
            Ok(n) => Scalar::Int(n),
            Err(_) => Scalar::String(n.to_string()),
        },
        Value::F64(f) if f.is_finite() => Scalar::Double(*f),
        Value::F64(f) => Scalar::String(f.to_string()),
        Value::Bool(b) => Scalar::Bool(*b),
    };
    AnyValue {
        value: Some(scalar),
    }
}

/// The log record of an event.
pub(super) fn log_record(e: &SecurityEvent) -> LogRecord {
    let mut attributes = vec![KeyValue::new(
        "log.record.uid",
        AnyValue::string(e.id.to_string()),
    )];
    let mut optional = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            attributes.push(KeyValue::new(key, AnyValue::string(v)));
        }
    };
    optional("user.name", e.actor.user.as_deref());
    optional("user.id", e.actor.user_id.as_deref());
    optional("client.address", e.actor.source_ip.as_deref());
    optional("user_agent.original", e.actor.user_agent.as_deref());
    optional("server.address", e.target.destination_ip.as_deref());
    optional("http.request.method", e.target.method.as_deref());
    optional("host.name", Some(&e.host));
    optional("siem.category", Some(e.event_type.category()));
    optional("siem.outcome", Some(&e.outcome.to_string()));
    optional("siem.action", e.action.as_deref());
    optional("siem.reason", e.reason.as_deref());
    optional("siem.tenant_id", e.tenant_id.as_deref());
    optional("siem.agent_id", e.agent_id.as_deref());
    optional("siem.correlation_id", e.correlation_id.as_deref());
    optional("siem.source", e.source.as_deref());
    optional("siem.target.resource", e.target.resource.as_deref());
    optional(
        "siem.target.resource_type",
        e.target.resource_type.as_deref(),
    );
    for field in &e.metadata {
        attributes.push(KeyValue::new(
            format!("siem.metadata.{}", field.name),
            any_value(&field.value),
        ));
    }
    for (name, value) in e.labels.iter() {
        attributes.push(KeyValue::new(
            format!("siem.label.{name}"),
            AnyValue::string(value),
        ));
    }
    LogRecord {
        time_unix_nano: u64::try_from(e.timestamp.unix_nanos()).unwrap_or_default(),
        severity_number: severity_number(e.severity),
        severity_text: e.severity.to_string(),
        body: Some(AnyValue::string(&e.message)),
        attributes,
        event_name: e.event_type.as_str().to_owned(),
    }
}
