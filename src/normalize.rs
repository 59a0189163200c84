//! Turning a captured event into a [`SecurityEvent`], on the pipeline thread.
//!
//! Well-known field names fill the event's structure (actor, target, outcome…); every other
//! field is kept as typed metadata. Sensitive fields are redacted first, whatever their role.

use std::borrow::Cow;
use std::sync::Arc;

use siem_event::{Compliance, EventType, Field, Outcome, SecurityEvent, Severity, Value};

use crate::capture::{CapturedEvent, FieldSet, RawValue};
use crate::classify::Classifier;
use crate::redact::CallsiteRedactor;

/// Where a well-known field name goes in the event.
#[derive(Clone, Copy)]
enum Slot {
    EventType,
    Severity,
    Outcome,
    Action,
    Message,
    User,
    UserId,
    SourceIp,
    UserAgent,
    Resource,
    ResourceType,
    Method,
    DestinationIp,
    Tenant,
    Agent,
    Reason,
    Correlation,
}

/// Field names we read, in order of preference within a slot (the first present wins; others
/// stay as metadata).
const WELL_KNOWN: &[(&str, Slot)] = &[
    ("event_type", Slot::EventType),
    ("severity", Slot::Severity),
    ("result", Slot::Outcome),
    ("outcome", Slot::Outcome),
    ("action", Slot::Action),
    ("message", Slot::Message),
    ("user", Slot::User),
    ("username", Slot::User),
    ("user_name", Slot::User),
    ("user_id", Slot::UserId),
    ("source_ip", Slot::SourceIp),
    ("src_ip", Slot::SourceIp),
    ("client_ip", Slot::SourceIp),
    ("remote_addr", Slot::SourceIp),
    ("ip", Slot::SourceIp),
    ("user_agent", Slot::UserAgent),
    ("resource", Slot::Resource),
    ("target", Slot::Resource),
    ("path", Slot::Resource),
    ("url", Slot::Resource),
    ("resource_type", Slot::ResourceType),
    ("method", Slot::Method),
    ("http_method", Slot::Method),
    ("destination_ip", Slot::DestinationIp),
    ("dest_ip", Slot::DestinationIp),
    ("tenant_id", Slot::Tenant),
    ("tenant", Slot::Tenant),
    ("agent_id", Slot::Agent),
    ("reason", Slot::Reason),
    ("correlation_id", Slot::Correlation),
];

fn slot_of(name: &str) -> Option<Slot> {
    WELL_KNOWN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Builds security events from captured ones.
pub(crate) struct Normalizer {
    pub classifier: Arc<Classifier>,
    pub redactor: CallsiteRedactor,
    pub host: Arc<str>,
    pub app: Arc<str>,
    pub labels: Arc<[(String, String)]>,
}

fn text_of(set: &FieldSet, v: &RawValue) -> String {
    match *v {
        RawValue::Str { .. } => set.str_of(v).unwrap_or_default().to_owned(),
        RawValue::I64(n) => n.to_string(),
        RawValue::U64(n) => n.to_string(),
        RawValue::F64(n) => n.to_string(),
        RawValue::Bool(b) => b.to_string(),
    }
}

fn typed(set: &FieldSet, v: &RawValue) -> Value {
    match *v {
        RawValue::Str { .. } => Value::Str(set.str_of(v).unwrap_or_default().to_owned()),
        RawValue::I64(n) => Value::I64(n),
        RawValue::U64(n) => Value::U64(n),
        RawValue::F64(n) => Value::F64(n),
        RawValue::Bool(b) => Value::Bool(b),
    }
}

impl Normalizer {
    /// Gives an event this process's host, application and static labels.
    pub fn stamp_origin(&self, e: &mut SecurityEvent) {
        e.host = Arc::clone(&self.host);
        e.app = Arc::clone(&self.app);
        e.labels = Arc::clone(&self.labels);
    }

    /// The security event, or `None` when the event has no `event_type` of its own and no
    /// classification rule makes it one.
    pub fn normalize(&mut self, captured: &CapturedEvent) -> Option<SecurityEvent> {
        let set = &captured.fields;
        let classified_as = if captured.explicit_type {
            None
        } else {
            Some(self.classifier.classify(set)?)
        };
        let meta = captured.metadata;
        let mut given_type: Option<String> = None;
        let mut severity: Option<Severity> = None;
        let mut outcome = Outcome::Unknown;
        let mut e = SecurityEvent::at(
            EventType::canonical("unclassified"),
            String::new(),
            captured.timestamp,
        );
        self.stamp_origin(&mut e);
        e.source = Some(meta.target().to_owned());
        let mut filled = [false; 17];
        for f in &set.fields {
            let sensitive = self.redactor.is_sensitive(f.name);
            let slot = if sensitive { None } else { slot_of(f.name) };
            let Some(slot) = slot else {
                let value = if sensitive {
                    Value::Str(self.redactor.redact(&text_of(set, &f.value)))
                } else {
                    typed(set, &f.value)
                };
                e.metadata.push(Field {
                    name: Cow::Borrowed(f.name),
                    value,
                });
                continue;
            };
            if std::mem::replace(&mut filled[slot as usize], true) {
                // A later synonym of a slot already filled is kept as metadata.
                e.metadata.push(Field {
                    name: Cow::Borrowed(f.name),
                    value: typed(set, &f.value),
                });
                continue;
            }
            let text = text_of(set, &f.value);
            match slot {
                Slot::EventType => given_type = Some(text),
                Slot::Severity => match text.parse() {
                    Ok(s) => severity = Some(s),
                    Err(_) => e.metadata.push(Field::new("severity_unparsed", text)),
                },
                Slot::Outcome => {
                    outcome = match f.value {
                        RawValue::Bool(b) if b => Outcome::Success,
                        RawValue::Bool(_) => Outcome::Failure,
                        _ => Outcome::from_text(&text),
                    }
                }
                Slot::Action => e.action = Some(text),
                Slot::Message => e.message = text,
                Slot::User => e.actor.user = Some(text),
                Slot::UserId => e.actor.user_id = Some(text),
                Slot::SourceIp => e.actor.source_ip = Some(text),
                Slot::UserAgent => e.actor.user_agent = Some(text),
                Slot::Resource => e.target.resource = Some(text),
                Slot::ResourceType => e.target.resource_type = Some(text),
                Slot::Method => e.target.method = Some(text),
                Slot::DestinationIp => e.target.destination_ip = Some(text),
                Slot::Tenant => e.tenant_id = Some(text),
                Slot::Agent => e.agent_id = Some(text),
                Slot::Reason => e.reason = Some(text),
                Slot::Correlation => e.correlation_id = Some(text),
            }
        }
        let type_name = match (&given_type, classified_as) {
            (Some(t), _) => t.as_str(),
            (None, Some(i)) => self.classifier.event_type(i),
            (None, None) => "unclassified",
        };
        e.event_type = EventType::parse_with_outcome(type_name, outcome);
        e.outcome = match outcome {
            Outcome::Unknown => e.event_type.implied_outcome(),
            given => given,
        };
        e.severity =
            severity.unwrap_or_else(|| Severity::from_level_name(captured.level().as_str()));
        e.compliance = Compliance::for_category(e.event_type.category());
        if set.truncated {
            e.push_metadata("siem_truncated", true);
        }
        Some(e)
    }
}
