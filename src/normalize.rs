//! Turning a captured event into a [`SecurityEvent`], on the pipeline thread.
//!
//! Field names of the [`WellKnownField`] vocabulary (canonical names and synonyms alike) fill
//! the event's structure (actor, target, outcome…); every other field is kept as typed
//! metadata. Within one slot the first field present wins (the event's own fields come before
//! its spans'); a later field for a slot already filled is kept as metadata under the name it was
//! logged under, so rules still reach it by that name. Sensitive fields are redacted first,
//! whatever their role.

use std::borrow::Cow;
use std::sync::Arc;

use siem_event::{
    Compliance, EventType, Field, Outcome, SecurityEvent, Severity, Value, WellKnownField,
};

use crate::capture::{CapturedEvent, FieldSet, RawValue};
use crate::classify::Classifier;
use crate::redact::CallsiteRedactor;

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
        let mut filled = [false; WellKnownField::ALL.len()];
        for f in &set.fields {
            let sensitive = self.redactor.is_sensitive(f.name);
            let known = if sensitive {
                None
            } else {
                WellKnownField::from_name(f.name)
            };
            let Some(known) = known else {
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
            if std::mem::replace(&mut filled[known as usize], true) {
                e.metadata.push(Field {
                    name: Cow::Borrowed(f.name),
                    value: typed(set, &f.value),
                });
                continue;
            }
            let text = text_of(set, &f.value);
            match known {
                WellKnownField::EventType => given_type = Some(text),
                WellKnownField::Severity => match text.parse() {
                    Ok(s) => severity = Some(s),
                    Err(_) => e.metadata.push(Field::new("severity_unparsed", text)),
                },
                WellKnownField::Outcome => {
                    outcome = match f.value {
                        RawValue::Bool(b) if b => Outcome::Success,
                        RawValue::Bool(_) => Outcome::Failure,
                        _ => Outcome::from_text(&text),
                    }
                }
                WellKnownField::Action => e.action = Some(text),
                WellKnownField::Message => e.message = text,
                WellKnownField::User => e.actor.user = Some(text),
                WellKnownField::UserId => e.actor.user_id = Some(text),
                WellKnownField::SourceIp => e.actor.source_ip = Some(text),
                WellKnownField::UserAgent => e.actor.user_agent = Some(text),
                WellKnownField::Resource => e.target.resource = Some(text),
                WellKnownField::ResourceType => e.target.resource_type = Some(text),
                WellKnownField::Method => e.target.method = Some(text),
                WellKnownField::DestinationIp => e.target.destination_ip = Some(text),
                WellKnownField::TenantId => e.tenant_id = Some(text),
                WellKnownField::AgentId => e.agent_id = Some(text),
                WellKnownField::Reason => e.reason = Some(text),
                WellKnownField::CorrelationId => e.correlation_id = Some(text),
                // The event answers these itself (its type's category, this process's host and
                // app, the callsite's target, the capture time): a field of that name is
                // metadata.
                WellKnownField::EventTypeOriginal
                | WellKnownField::Category
                | WellKnownField::Host
                | WellKnownField::App
                | WellKnownField::Source
                | WellKnownField::Timestamp => e.metadata.push(Field {
                    name: Cow::Borrowed(f.name),
                    value: typed(set, &f.value),
                }),
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
