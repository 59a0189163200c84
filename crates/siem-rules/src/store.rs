//! The bounded lookup behind [`Engine::correlated_events`](crate::Engine::correlated_events):
//! summaries of the events that make up each correlation, oldest correlations forgotten first.

use std::collections::{HashMap, VecDeque};

use siem_event::{EventId, Outcome, SecurityEvent, Severity, Timestamp};

use crate::bounded::truncated;

/// Correlation ids remembered at most.
pub(crate) const MAX_CORRELATIONS: usize = 1024;
/// Events remembered per correlation id at most (the oldest are kept: they show how it began,
/// and the count of later ones is in `dropped`).
pub(crate) const MAX_EVENTS_PER_CORRELATION: usize = 100;
const MAX_MESSAGE_CHARS: usize = 256;
const MAX_FIELD_CHARS: usize = 256;

/// A compact copy of an event that is part of a correlation (texts cut to 256 characters).
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_rules::EventSummary;
/// let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "x".repeat(10_000));
/// e.tenant_id = Some("t1".into());
/// let s = EventSummary::of(&e);
/// assert_eq!(s.id, e.id);
/// assert_eq!(s.tenant_id.as_deref(), Some("t1"));
/// assert_eq!(s.message.chars().count(), 256, "messages are truncated");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// The event's id.
    pub id: EventId,
    /// Its event time.
    pub timestamp: Timestamp,
    /// Its canonical event type.
    pub event_type: String,
    /// Its severity.
    pub severity: Severity,
    /// Its outcome.
    pub outcome: Outcome,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Agent.
    pub agent_id: Option<String>,
    /// User.
    pub user: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// The message, cut to 256 characters.
    pub message: String,
}

impl EventSummary {
    /// Summarises an event.
    pub fn of(e: &SecurityEvent) -> EventSummary {
        EventSummary {
            id: e.id,
            timestamp: e.timestamp,
            event_type: truncated(e.event_type.as_str(), MAX_FIELD_CHARS),
            severity: e.severity,
            outcome: e.outcome,
            tenant_id: e
                .tenant_id
                .as_deref()
                .map(|v| truncated(v, MAX_FIELD_CHARS)),
            agent_id: e.agent_id.as_deref().map(|v| truncated(v, MAX_FIELD_CHARS)),
            user: e
                .actor
                .user
                .as_deref()
                .map(|v| truncated(v, MAX_FIELD_CHARS)),
            source_ip: e
                .actor
                .source_ip
                .as_deref()
                .map(|v| truncated(v, MAX_FIELD_CHARS)),
            message: truncated(&e.message, MAX_MESSAGE_CHARS),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct CorrelationStore {
    events: HashMap<String, Vec<EventSummary>>,
    order: VecDeque<String>,
}

impl CorrelationStore {
    pub(crate) fn record(&mut self, correlation_id: &str, summary: EventSummary) {
        if !self.events.contains_key(correlation_id) {
            if self.order.len() >= MAX_CORRELATIONS {
                if let Some(oldest) = self.order.pop_front() {
                    self.events.remove(&oldest);
                }
            }
            self.order.push_back(correlation_id.to_owned());
        }
        let list = self.events.entry(correlation_id.to_owned()).or_default();
        if list.len() < MAX_EVENTS_PER_CORRELATION && !list.iter().any(|s| s.id == summary.id) {
            list.push(summary);
        }
    }

    pub(crate) fn get(&self, correlation_id: &str) -> Vec<EventSummary> {
        self.events.get(correlation_id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::EventType;

    #[test]
    fn bounded_in_ids_and_events() {
        let mut store = CorrelationStore::default();
        let e = SecurityEvent::new(EventType::parse("x"), "m");
        for i in 0..MAX_CORRELATIONS + 10 {
            store.record(&format!("c{i}"), EventSummary::of(&e));
        }
        assert!(store.get("c0").is_empty(), "oldest forgotten");
        assert_eq!(store.get(&format!("c{}", MAX_CORRELATIONS + 9)).len(), 1);
        for _ in 0..MAX_EVENTS_PER_CORRELATION * 2 {
            let e = SecurityEvent::new(EventType::parse("x"), "m");
            store.record("big", EventSummary::of(&e));
        }
        assert_eq!(store.get("big").len(), MAX_EVENTS_PER_CORRELATION);
        assert!(store.events.len() <= MAX_CORRELATIONS);
    }
}
