//! What a notification says about an alert: its title, its message and the facts beside them,
//! read once from the alert event so that every template shows the same things.

use std::borrow::Cow;

use siem_event::{SecurityEvent, Severity};

/// One fact of an alert: a key (`rule`, for PagerDuty's `custom_details`), a label (`Rule`,
/// for Slack fields and Teams facts) and its value.
pub(crate) struct Fact {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// The alert event's fields as notifications show them.
pub(crate) struct AlertFacts<'a> {
    pub event: &'a SecurityEvent,
}

/// The facts shown, in order: the event field each reads (by the name rules use) and its label.
const SHOWN: &[(&str, &str)] = &[
    ("rule", "Rule"),
    ("alert_level", "Level"),
    ("severity", "Severity"),
    ("event_type", "Type"),
    ("count", "Count"),
    ("threshold", "Threshold"),
    ("group", "Group"),
    ("user", "User"),
    ("source_ip", "Source IP"),
    ("tenant_id", "Tenant"),
    ("host", "Host"),
    ("app", "App"),
    ("action", "Action"),
    ("correlation_id", "Correlation id"),
    ("nis2_early_warning_due", "NIS2 early warning due"),
];

impl AlertFacts<'_> {
    /// A field by the name rules and templates use (`rule`, `user`, `source_ip`…), plus `id`
    /// and `timestamp` (RFC 3339); empty when the event has none.
    pub fn field(&self, name: &str) -> Cow<'_, str> {
        match name {
            "id" => Cow::Owned(self.event.id.to_string()),
            "timestamp" => Cow::Owned(self.event.timestamp.to_rfc3339()),
            _ => self.event.field_text(name).unwrap_or_default(),
        }
    }

    /// `rule`, else the event type (an event that is not an alert still gets a title).
    pub fn rule(&self) -> Cow<'_, str> {
        match self.event.field_text("rule") {
            Some(rule) if !rule.is_empty() => rule,
            _ => Cow::Borrowed(self.event.event_type.as_str()),
        }
    }

    /// `[HIGH] brute_force`.
    pub fn title(&self) -> String {
        format!(
            "[{}] {}",
            self.event.severity.as_str().to_ascii_uppercase(),
            self.rule()
        )
    }

    pub fn message(&self) -> &str {
        &self.event.message
    }

    pub fn severity(&self) -> Severity {
        self.event.severity
    }

    /// The shown facts the event has, then its time and id.
    pub fn facts(&self) -> Vec<Fact> {
        let mut facts: Vec<Fact> = SHOWN
            .iter()
            .filter_map(|&(key, label)| {
                let value = self.field(key);
                (!value.is_empty()).then(|| Fact {
                    key,
                    label,
                    value: value.into_owned(),
                })
            })
            .collect();
        facts.push(Fact {
            key: "timestamp",
            label: "Time",
            value: self.field("timestamp").into_owned(),
        });
        facts.push(Fact {
            key: "alert_id",
            label: "Alert id",
            value: self.field("id").into_owned(),
        });
        facts
    }
}

/// `text` cut to at most `max` characters, ending in `…` when cut (APIs refuse longer texts).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::EventType;

    #[test]
    fn facts_skip_what_the_event_lacks_and_end_with_time_and_id() {
        let mut e = SecurityEvent::new(EventType::parse("alert.threshold"), "5 failures");
        e.push_metadata("rule", "brute_force");
        e.actor.user = Some("alice".into());
        let view = AlertFacts { event: &e };
        let keys: Vec<&str> = view.facts().iter().map(|f| f.key).collect();
        assert_eq!(keys[..2], ["rule", "severity"]);
        assert!(keys.contains(&"user") && !keys.contains(&"tenant_id"));
        assert_eq!(keys[keys.len() - 2..], ["timestamp", "alert_id"]);
        assert_eq!(view.field("id"), e.id.to_string());
        assert_eq!(view.field("no_such_field"), "");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("ééé", 3), "ééé");
        assert_eq!(truncate("éééé", 3), "éé…");
    }
}
