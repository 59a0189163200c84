//! The members of a canonical JSON event line (docs/formats.md) that the report counts, read
//! leniently: unknown members are ignored and a metadata value of an unexpected type is as good
//! as absent, since any application can log a field named `rule`.

use serde::{Deserialize, Deserializer};
use tracing_siem::event::{EventType, Timestamp};

/// One event, as the report needs it.
#[derive(Debug)]
pub(crate) struct Event {
    /// The event's `id` (empty when missing).
    pub id: String,
    /// When it happened.
    pub timestamp: Timestamp,
    /// `auth.failure`.
    pub event_type: String,
    /// `auth`.
    pub category: String,
    /// SOC 2 criteria it is evidence for.
    pub soc2: Vec<String>,
    /// ISO 27001 controls it is evidence for.
    pub iso27001: Vec<String>,
    /// `_siem.hostname`.
    pub host: String,
    /// `_siem.app`.
    pub app: String,
    /// For `alert.*` events.
    pub alert: Option<Alert>,
    /// For `incident.notified` events: the incident whose early warning was sent.
    pub notified_incident: Option<String>,
}

/// An alert event's facts.
#[derive(Debug)]
pub(crate) struct Alert {
    /// `metadata.rule`.
    pub rule: String,
    /// `metadata.alert_level` (`PAGE` …).
    pub level: String,
    /// `metadata.group`.
    pub group: String,
    /// The NIS2 deadlines of a reportable alert.
    pub nis2: Option<Deadlines>,
}

/// A reportable alert's NIS2 clock (Article 23(4)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// When the incident was detected.
    pub detected_at: Timestamp,
    /// Early warning: detection + 24 h.
    pub early_warning_due: Timestamp,
    /// Incident notification: detection + 72 h.
    pub notification_due: Timestamp,
    /// Final report: detection + one month.
    pub final_report_due: Timestamp,
}

/// The event type an operator logs when an incident's early warning has been sent; its
/// `incident_id` field names the incident (docs/compliance.md).
pub(crate) const NOTIFIED: &str = "incident.notified";

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: Text,
    timestamp: String,
    event_type: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    compliance: Compliance,
    #[serde(default, rename = "_siem")]
    siem: Origin,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    rule: Text,
    #[serde(default)]
    alert_level: Text,
    #[serde(default)]
    group: Text,
    #[serde(default)]
    nis2_detected_at: Text,
    #[serde(default)]
    nis2_early_warning_due: Text,
    #[serde(default)]
    nis2_notification_due: Text,
    #[serde(default)]
    nis2_final_report_due: Text,
    #[serde(default)]
    incident_id: Text,
}

#[derive(Deserialize, Default)]
struct Compliance {
    #[serde(default)]
    soc2_cc: Vec<String>,
    #[serde(default)]
    iso27001: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Origin {
    #[serde(default)]
    hostname: Text,
    #[serde(default)]
    app: Text,
}

/// A string member, or nothing when the member holds another type.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Text(Some(text)),
            _ => Text(None),
        })
    }
}

impl Text {
    fn or_empty(self) -> String {
        self.0.unwrap_or_default()
    }
}

/// Reads one line; the error says what is wrong with it.
pub(crate) fn parse(line: &[u8]) -> Result<Event, String> {
    let line: Line = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let timestamp = time(&line.timestamp, "timestamp")?;
    let metadata = line.metadata;
    let alert = if line.event_type.starts_with("alert.") {
        let nis2 = match metadata.nis2_detected_at.0 {
            Some(detected_at) => Some(Deadlines {
                detected_at: time(&detected_at, "nis2_detected_at")?,
                early_warning_due: required_time(
                    metadata.nis2_early_warning_due,
                    "nis2_early_warning_due",
                )?,
                notification_due: required_time(
                    metadata.nis2_notification_due,
                    "nis2_notification_due",
                )?,
                final_report_due: required_time(
                    metadata.nis2_final_report_due,
                    "nis2_final_report_due",
                )?,
            }),
            None => None,
        };
        Some(Alert {
            rule: metadata.rule.or_empty(),
            level: metadata.alert_level.or_empty(),
            group: metadata.group.or_empty(),
            nis2,
        })
    } else {
        None
    };
    let notified_incident = if line.event_type == NOTIFIED {
        metadata.incident_id.0
    } else {
        None
    };
    // Seed-style lines have no category: the type names it, as the layer would derive it.
    let category = line
        .category
        .unwrap_or_else(|| EventType::parse(&line.event_type).category().to_owned());
    Ok(Event {
        id: line.id.or_empty(),
        timestamp,
        event_type: line.event_type,
        category,
        soc2: line.compliance.soc2_cc,
        iso27001: line.compliance.iso27001,
        host: line.siem.hostname.or_empty(),
        app: line.siem.app.or_empty(),
        alert,
        notified_incident,
    })
}

fn time(text: &str, member: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|e| format!("{member}: {e}"))
}

fn required_time(text: Text, member: &str) -> Result<Timestamp, String> {
    time(
        &text.0.ok_or_else(|| format!("{member} is missing"))?,
        member,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reportable_alert_carries_its_deadlines() {
        let line = br#"{"id":"a1","timestamp":"2025-01-01T12:00:00.000000Z","event_type":"alert.threshold","category":"alert","metadata":{"rule":"brute_force","alert_level":"ESCALATE","group":"user=bob","nis2_detected_at":"2025-01-01T12:00:00.000000Z","nis2_early_warning_due":"2025-01-02T12:00:00.000000Z","nis2_notification_due":"2025-01-04T12:00:00.000000Z","nis2_final_report_due":"2025-02-01T12:00:00.000000Z"},"compliance":{"soc2_cc":["CC4","CC7"],"iso27001":["A.12.4","A.16.1"]},"_siem":{"hostname":"h","app":"a"}}"#;
        let event = parse(line).unwrap();
        let alert = event.alert.unwrap();
        assert_eq!(
            (
                alert.rule.as_str(),
                alert.level.as_str(),
                alert.group.as_str()
            ),
            ("brute_force", "ESCALATE", "user=bob")
        );
        let nis2 = alert.nis2.unwrap();
        assert_eq!(
            nis2.early_warning_due.unix_secs() - nis2.detected_at.unix_secs(),
            86_400
        );
        assert_eq!((event.host.as_str(), event.app.as_str()), ("h", "a"));
    }

    #[test]
    fn metadata_of_another_type_is_absent_and_bad_times_are_errors() {
        let line = br#"{"timestamp":"2025-01-01T12:00:00Z","event_type":"incident.notified","metadata":{"incident_id":7}}"#;
        let event = parse(line).unwrap();
        assert_eq!(event.notified_incident, None);
        assert_eq!(event.category, "incident");
        let bad = br#"{"timestamp":"yesterday","event_type":"auth.failure"}"#;
        assert!(parse(bad).unwrap_err().starts_with("timestamp: "));
        let half = br#"{"timestamp":"2025-01-01T12:00:00Z","event_type":"alert.sigma","metadata":{"nis2_detected_at":"2025-01-01T12:00:00Z"}}"#;
        assert_eq!(
            parse(half).unwrap_err(),
            "nis2_early_warning_due is missing"
        );
    }
}
