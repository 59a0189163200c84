//! Seed 000's `alert_states`: where each threshold rule stands, for metrics and dashboards.

use std::time::Duration;

use siem_event::Timestamp;

use crate::AlertLevel;

/// Where one threshold rule stands (seed 000's `alert_states` entry): how many matching
/// events are inside its window, when it last alerted and at which level, and until when it
/// is cooling down.
///
/// Seed 000 keeps one state per event type; a rule with `group_by` keeps one per group, and
/// its state here sums the counts of its groups and shows the latest cooldown end among them.
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_rules::{AlertLevel, Engine, RulesConfig};
///
/// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
/// let mut event = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// engine.process(&mut event);
/// let states = engine.alert_states();
/// let auth = states.iter().find(|s| s.rule == "authentication_failure").unwrap();
/// assert_eq!((auth.count_in_window, auth.threshold), (1, 10));
/// assert_eq!(auth.level, AlertLevel::Page);
/// assert!(auth.last_alert.is_none() && auth.cooldown_until.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    /// The rule's name.
    pub rule: String,
    /// Matching events inside the window that ends at the latest event the rule counted. A
    /// group keeps only as many event times as its rule needs (the threshold, or the count of
    /// its top escalation step), so per group this saturates there.
    pub count_in_window: u64,
    /// The rule's threshold.
    pub threshold: u64,
    /// The rule's window.
    pub window: Duration,
    /// When the rule last alerted (clock time), if it has.
    pub last_alert: Option<Timestamp>,
    /// The level of the latest alert (escalation included), or the rule's level before any.
    pub level: AlertLevel,
    /// The end of the latest cooldown still running, if any.
    pub cooldown_until: Option<Timestamp>,
}
