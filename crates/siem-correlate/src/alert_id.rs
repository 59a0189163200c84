//! Stable alert ids: the same alert raised twice (by a partition's new owner re-reading what
//! its previous owner had not committed) carries the same id, so a SIEM can tell the
//! duplicate of an at-least-once delivery from a new alert.

use tracing_siem::event::EventId;
use tracing_siem::rules::Alert;

/// The namespace of alert ids (a UUIDv5 namespace of its own, so that no other name-based
/// id collides with them).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7c0f_3a4e_2b1d_5e6f_8a9b_0c1d_2e3f_4a5b);

/// The id of `alert`, from what does not change when the same events are read again: the
/// rule, the group it counted in, and the event that made it fire (its id, carried in the
/// log, and its time). Re-reading a partition replays the same events in the same order, so
/// the same event completes the same window.
///
/// ```
/// use tracing_siem::event::{EventId, Timestamp};
/// use tracing_siem::rules::{Alert, AlertContext, AlertKind, AlertLevel};
/// let context = AlertContext {
///     group: "source_ip=203.0.113.7".into(),
///     triggering_event: Some(EventId::from_u128(42)),
///     triggered_at: Some(Timestamp::from_unix_secs(1_700_000_000)),
///     ..AlertContext::default()
/// };
/// let a = Alert::new("brute_force", AlertKind::Threshold, AlertLevel::Page, "m", context.clone());
/// let b = Alert::new("brute_force", AlertKind::Threshold, AlertLevel::Page, "m", context);
/// assert_ne!(a.id, b.id); // fresh random ids
/// assert_eq!(siem_correlate::stable_alert_id(&a), siem_correlate::stable_alert_id(&b));
/// ```
pub fn stable_alert_id(alert: &Alert) -> EventId {
    let c = &alert.context;
    let mut name = Vec::with_capacity(128);
    // Parts are separated by a byte that never occurs in UTF-8 text.
    for part in [alert.rule.as_bytes(), c.group.as_bytes()] {
        name.extend_from_slice(part);
        name.push(0xff);
    }
    if let Some(id) = c.triggering_event {
        name.extend_from_slice(&id.as_u128().to_be_bytes());
    }
    name.push(0xff);
    if let Some(t) = c.triggered_at {
        name.extend_from_slice(&t.unix_nanos().to_be_bytes());
    }
    EventId::from_u128(uuid::Uuid::new_v5(&NAMESPACE, &name).as_u128())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_siem::rules::{AlertContext, AlertKind, AlertLevel};

    fn alert(rule: &str, group: &str, trigger: u128) -> Alert {
        let context = AlertContext {
            group: group.into(),
            triggering_event: Some(EventId::from_u128(trigger)),
            ..AlertContext::default()
        };
        Alert::new(rule, AlertKind::Threshold, AlertLevel::Page, "m", context)
    }

    #[test]
    fn rule_group_and_trigger_each_tell_alerts_apart() {
        let base = stable_alert_id(&alert("r", "user=a", 1));
        assert_ne!(base, stable_alert_id(&alert("r2", "user=a", 1)));
        assert_ne!(base, stable_alert_id(&alert("r", "user=b", 1)));
        assert_ne!(base, stable_alert_id(&alert("r", "user=a", 2)));
        // The separator keeps a rule name from running into the group.
        assert_ne!(
            stable_alert_id(&alert("ab", "c", 1)),
            stable_alert_id(&alert("a", "bc", 1))
        );
    }
}
