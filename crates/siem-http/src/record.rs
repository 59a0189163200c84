//! What the cloud destinations read back from an encoded record: its time, severity and event
//! id, wherever the JSON, ECS and OCSF formats put them. A record in a text format (CEF, LEEF,
//! syslog) or one that is not JSON yields nothing, and the destination uses its fallbacks.

use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;
use siem_event::{Severity, Timestamp};

/// The fields of a record the cloud APIs carry outside the payload.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Marks {
    /// Milliseconds since the epoch.
    pub time_millis: Option<i64>,
    pub severity: Option<Severity>,
    pub id: Option<String>,
}

/// Whether `record` is a JSON object (by its first and last bytes; [`read`] says whether it
/// parses).
pub(crate) fn is_object(record: &[u8]) -> bool {
    let record = record.trim_ascii();
    record.first() == Some(&b'{') && record.last() == Some(&b'}')
}

/// The record's marks, or `None` when it is not a JSON object: the time from `timestamp`
/// (JSON format) or `@timestamp` (ECS), both RFC 3339, or `time` (OCSF, milliseconds); the
/// severity from `severity` (JSON) or `log.level` (ECS), names, or `severity_id` (OCSF); the
/// id from `id` (JSON), `event.id` (ECS) or `metadata.uid` (OCSF).
pub(crate) fn read(record: &[u8]) -> Option<Marks> {
    // Every field is read as any JSON value, so that a record whose labels reuse one of
    // these names with another type still yields the other marks.
    #[derive(Deserialize)]
    struct Fields {
        id: Option<Value>,
        timestamp: Option<Value>,
        #[serde(rename = "@timestamp")]
        at_timestamp: Option<Value>,
        time: Option<Value>,
        severity: Option<Value>,
        severity_id: Option<Value>,
        event: Option<Value>,
        log: Option<Value>,
        metadata: Option<Value>,
    }
    if !is_object(record) {
        return None;
    }
    let f: Fields = serde_json::from_slice(record).ok()?;
    let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_owned);
    let inner = |v: &Option<Value>, key: &str| {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let rfc3339 = text(&f.timestamp).or_else(|| text(&f.at_timestamp));
    let time_millis = match rfc3339.and_then(|t| Timestamp::parse_rfc3339(&t).ok()) {
        Some(t) => Some(t.unix_millis()),
        None => f.time.as_ref().and_then(Value::as_i64),
    };
    let named = text(&f.severity)
        .or_else(|| inner(&f.log, "level"))
        .and_then(|name| Severity::from_str(&name).ok());
    let numbered = f
        .severity_id
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(ocsf_severity);
    Some(Marks {
        time_millis,
        severity: named.or(numbered),
        id: text(&f.id)
            .or_else(|| inner(&f.event, "id"))
            .or_else(|| inner(&f.metadata, "uid")),
    })
}

/// Our severity for an OCSF `severity_id` (1 Informational … 5 Critical, 6 Fatal).
fn ocsf_severity(id: u64) -> Option<Severity> {
    match id {
        1 => Some(Severity::Info),
        2 => Some(Severity::Low),
        3 => Some(Severity::Medium),
        4 => Some(Severity::High),
        5 | 6 => Some(Severity::Critical),
        _ => None,
    }
}

/// The record's time in milliseconds, else `fallback`.
#[cfg_attr(not(feature = "cloudwatch"), allow(dead_code))]
pub(crate) fn time_millis(record: &[u8], fallback: i64) -> i64 {
    read(record).and_then(|m| m.time_millis).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_from_the_formats_fields_or_the_fallback() {
        assert_eq!(
            time_millis(br#"{"timestamp":"2024-06-20T10:40:00.123Z"}"#, 7),
            1_718_880_000_123
        );
        assert_eq!(
            time_millis(br#"{"@timestamp":"2024-06-20T10:40:00Z","x":1}"#, 7),
            1_718_880_000_000
        );
        assert_eq!(
            time_millis(br#"{"time":1718880000123}"#, 7),
            1_718_880_000_123
        );
        assert_eq!(time_millis(b"CEF:0|a|b", 7), 7);
        assert_eq!(time_millis(br#"{"timestamp":"yesterday"}"#, 7), 7);
        assert_eq!(time_millis(b"{not json}", 7), 7);
    }

    #[test]
    fn severities_and_ids_come_from_each_format() {
        let json = read(br#"{"id":"e-1","severity":"high","message":"x"}"#).unwrap();
        assert_eq!(
            (json.severity, json.id.as_deref()),
            (Some(Severity::High), Some("e-1"))
        );
        let ecs = read(br#"{"event":{"id":"e-2","severity":7},"log":{"level":"medium"}}"#).unwrap();
        assert_eq!(
            (ecs.severity, ecs.id.as_deref()),
            (Some(Severity::Medium), Some("e-2"))
        );
        let ocsf = read(br#"{"severity_id":5,"metadata":{"uid":"e-3"},"time":1}"#).unwrap();
        assert_eq!(
            (ocsf.severity, ocsf.id.as_deref()),
            (Some(Severity::Critical), Some("e-3"))
        );
        let bare = read(br#"{"severity":"dire","id":42}"#).unwrap();
        assert_eq!(bare, Marks::default());
        assert_eq!(read(b"<13>1 - - -"), None);
    }
}
