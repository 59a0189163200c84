//! The incident register: every reportable alert opens an incident (or joins the open one of
//! the same rule and group), so an operator can see which NIS2 notifications are due.

use std::collections::VecDeque;
use std::fmt;

use siem_event::{EventId, Timestamp};

use crate::{Alert, AlertLevel, Nis2Timing};

/// Incidents remembered at most; the oldest notified ones go first, then the oldest.
pub(crate) const MAX_INCIDENTS: usize = 1024;
/// Event ids kept per incident (the first ones: they show how it began).
const MAX_EVENTS_PER_INCIDENT: usize = 100;

/// Where an incident's reporting stands.
///
/// ```
/// use siem_rules::IncidentStatus;
/// assert_eq!(IncidentStatus::Overdue.as_str(), "overdue");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentStatus {
    /// The 24 h early warning is due and its deadline has not passed.
    Due,
    /// The early-warning deadline passed before anyone recorded the notification.
    Overdue,
    /// An operator recorded that the early warning was sent
    /// ([`Engine::incident_notified`](crate::Engine::incident_notified)).
    Notified,
}

impl IncidentStatus {
    /// `due`, `overdue` or `notified`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Due => "due",
            IncidentStatus::Overdue => "overdue",
            IncidentStatus::Notified => "notified",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reportable incident: the alerts of one rule and group from the first until it is
/// notified, with its NIS2 deadlines.
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_rules::{Engine, IncidentStatus, RulesConfig};
///
/// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
/// let mut event = SecurityEvent::new(EventType::parse("constitutional_hash_mismatch"), "mismatch");
/// engine.process(&mut event);
/// let incidents = engine.incidents();
/// assert_eq!(incidents.len(), 1);
/// let incident = &incidents[0];
/// assert_eq!(incident.rule, "constitutional_hash_mismatch");
/// assert_eq!(incident.status, IncidentStatus::Due);
/// assert_eq!(incident.deadline, incident.nis2.early_warning_due);
/// assert_eq!(incident.events, [event.id]);
/// assert!(engine.incident_notified(&incident.id));
/// assert_eq!(engine.incidents()[0].status, IncidentStatus::Notified);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The id of the alert that opened it.
    pub id: String,
    /// The rule whose alerts make it up.
    pub rule: String,
    /// The rule's group (`field=value` pairs, as in the alerts), empty for an ungrouped rule.
    pub group: String,
    /// The highest level among its alerts.
    pub level: AlertLevel,
    /// When it was first detected.
    pub first_seen: Timestamp,
    /// When its latest alert was raised.
    pub last_seen: Timestamp,
    /// The 24 h early-warning deadline (NIS2 Article 23(4)(a)).
    pub deadline: Timestamp,
    /// Every NIS2 deadline, counted from `first_seen`.
    pub nis2: Nis2Timing,
    /// Alerts that joined it.
    pub alerts: u64,
    /// The events behind its alerts (the first 100).
    pub events: Vec<EventId>,
    /// Where its reporting stands.
    pub status: IncidentStatus,
}

#[derive(Debug, Default)]
pub(crate) struct IncidentLog {
    incidents: VecDeque<Incident>,
}

impl IncidentLog {
    /// Records a reportable alert: joins the open incident of its rule and group, or opens one.
    pub(crate) fn record(&mut self, alert: &Alert) {
        let Some(nis2) = alert.context.nis2 else {
            return;
        };
        let c = &alert.context;
        let events = c.related_events.iter().chain(c.triggering_event.iter());
        let open = self.incidents.iter_mut().find(|i| {
            i.status != IncidentStatus::Notified && *i.rule == *alert.rule && i.group == c.group
        });
        if let Some(incident) = open {
            incident.alerts += 1;
            incident.level = incident.level.max(alert.level);
            incident.last_seen = nis2.detected_at;
            for id in events {
                push_event(&mut incident.events, *id);
            }
            return;
        }
        if self.incidents.len() >= MAX_INCIDENTS {
            match self
                .incidents
                .iter()
                .position(|i| i.status == IncidentStatus::Notified)
            {
                Some(at) => drop(self.incidents.remove(at)),
                None => drop(self.incidents.pop_front()),
            }
        }
        let mut incident = Incident {
            id: alert.id.to_string(),
            rule: alert.rule.to_string(),
            group: c.group.clone(),
            level: alert.level,
            first_seen: nis2.detected_at,
            last_seen: nis2.detected_at,
            deadline: nis2.early_warning_due,
            nis2,
            alerts: 1,
            events: Vec::new(),
            status: IncidentStatus::Due,
        };
        for id in events {
            push_event(&mut incident.events, *id);
        }
        self.incidents.push_back(incident);
    }

    /// Every incident remembered, oldest first, with its status as of `now`.
    pub(crate) fn list(&self, now: Timestamp) -> Vec<Incident> {
        self.incidents
            .iter()
            .map(|i| {
                let mut i = i.clone();
                if i.status == IncidentStatus::Due && now >= i.deadline {
                    i.status = IncidentStatus::Overdue;
                }
                i
            })
            .collect()
    }

    /// Records that the early warning for the incident `id` was sent; false for an unknown id.
    pub(crate) fn notified(&mut self, id: &str) -> bool {
        match self.incidents.iter_mut().find(|i| i.id == id) {
            Some(i) => {
                i.status = IncidentStatus::Notified;
                true
            }
            None => false,
        }
    }

    /// (due, overdue) incidents as of `now`.
    pub(crate) fn pending(&self, now: Timestamp) -> (u64, u64) {
        self.incidents
            .iter()
            .filter(|i| i.status != IncidentStatus::Notified)
            .fold((0, 0), |(due, overdue), i| {
                if now >= i.deadline {
                    (due, overdue + 1)
                } else {
                    (due + 1, overdue)
                }
            })
    }
}

fn push_event(events: &mut Vec<EventId>, id: EventId) {
    if events.len() < MAX_EVENTS_PER_INCIDENT && !events.contains(&id) {
        events.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlertContext, AlertKind};

    fn reportable(rule: &str, at: Timestamp) -> Alert {
        let context = AlertContext {
            nis2: Some(Nis2Timing::from_detection(at)),
            triggering_event: Some(EventId::new()),
            ..AlertContext::default()
        };
        Alert::new(rule, AlertKind::Threshold, AlertLevel::Page, "m", context)
    }

    #[test]
    fn alerts_join_the_open_incident_until_it_is_notified() {
        let t0 = Timestamp::from_unix_secs(1_767_225_600);
        let mut log = IncidentLog::default();
        log.record(&reportable("r", t0));
        log.record(&reportable("r", t0.add_nanos(1_000_000_000)));
        log.record(&reportable("other", t0));
        let list = log.list(t0);
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].alerts, list[0].events.len()), (2, 2));
        assert_eq!(log.pending(t0), (2, 0));
        let day_later = t0.add_nanos(24 * 3_600_000_000_000);
        assert_eq!(log.list(day_later)[0].status, IncidentStatus::Overdue);
        assert_eq!(log.pending(day_later), (0, 2));
        assert!(log.notified(&list[0].id));
        assert!(!log.notified("no such incident"));
        log.record(&reportable("r", day_later));
        assert_eq!(
            log.list(day_later).len(),
            3,
            "a notified incident is closed"
        );
    }

    #[test]
    fn the_register_is_bounded_and_forgets_notified_incidents_first() {
        let t0 = Timestamp::from_unix_secs(1_767_225_600);
        let mut log = IncidentLog::default();
        for i in 0..MAX_INCIDENTS {
            log.record(&reportable(&format!("r{i}"), t0));
        }
        let kept = log.list(t0)[5].id.clone();
        assert!(log.notified(&kept));
        log.record(&reportable("new", t0));
        let list = log.list(t0);
        assert_eq!(list.len(), MAX_INCIDENTS);
        assert!(list.iter().all(|i| i.id != kept));
        assert_eq!(list[0].rule, "r0");
        log.record(&reportable("newer", t0));
        assert_eq!(log.list(t0)[0].rule, "r1");
    }
}
