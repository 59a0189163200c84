//! The alerting and correlation engine of `tracing-siem`.
//!
//! The pipeline thread feeds every [`SecurityEvent`](siem_event::SecurityEvent) to an
//! [`Engine`], which evaluates, off the application's threads:
//!
//! * **threshold rules**: an event-type glob and field conditions, N events in a sliding
//!   window per group (`group_by`), an [`AlertLevel`], a cooldown or ElastAlert-style
//!   exponential re-alert, seed 000's escalation multiplier; alerts carry the number of
//!   events suppressed while silenced. Seed 000's eight thresholds are on by default
//!   ([`RulesConfig::defaults`]);
//! * **the rule language** ([`Condition`]): seed 003's
//!   `event_type == 'auth.failure' AND count > 5 in 5m` and seed 004's
//!   `event_type=authentication AND result=failure`, with errors that give the column;
//! * **correlation**: seed 000's tenant, distributed and escalating attack patterns with their
//!   correlation-id formats, stamped on the events, with a bounded lookup
//!   ([`Engine::correlated_events`]);
//! * **Sigma** detection and correlation rules (through `rsigma-eval`) from the rules directory;
//!   the field mapping is documented on [`sigma_field_mapping`];
//! * **delivery**: [`Alert::to_event`] gives the `alert.*` security event to ship, and
//!   callbacks registered on the engine run isolated on their own threads
//!   ([`AlertDispatcher`]), and rule actions run their handlers ([`Engine::on_action`]);
//!   reportable alerts (ESCALATE/CRITICAL, seed 003/004 `severity: high` or `critical`) carry
//!   NIS2 deadlines ([`Nis2Timing`]) and open an [`Incident`];
//! * **rules from Rust** ([`Threshold`]) and seed 000's `alert_states` ([`AlertState`]).
//!
//! State is bounded (`max_groups`, with evictions counted) and observable ([`EngineMetrics`]).
//!
//! ```
//! use siem_event::{EventType, SecurityEvent};
//! use siem_rules::{Engine, RulesConfig};
//!
//! let mut engine = Engine::new(&RulesConfig::default()).unwrap();
//! let mut event = SecurityEvent::new(EventType::parse("constitutional_hash_mismatch"), "hash mismatch");
//! let alerts = engine.process(&mut event);
//! assert_eq!(alerts[0].rule.as_ref(), "constitutional_hash_mismatch");
//! assert!(alerts[0].context.nis2.is_some(), "CRITICAL alerts carry NIS2 deadlines");
//! ```

#![warn(missing_docs)]

mod alert;
mod alert_state;
mod bounded;
mod clock;
mod config;
mod correlation;
mod defaults;
mod dispatch;
mod engine;
mod error;
mod expr;
mod glob;
mod incident;
mod index;
mod language;
mod level;
mod loader;
mod metrics;
mod nis2;
mod realert;
mod rule_builder;
mod selection;
#[cfg(feature = "sigma")]
mod sigma;
#[cfg(not(feature = "sigma"))]
#[path = "sigma_off.rs"]
mod sigma;
#[cfg(feature = "sigma")]
mod sigma_fields;
mod store;
mod threshold;
mod tokens;

pub use alert::{Alert, AlertContext, AlertKind, Origin};
pub use alert_state::AlertState;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ActionConfig, AlertRuleConfig, CorrelationSettings, RealertConfig, RulesConfig, ScalarValue,
    SigmaSettings,
};
pub use dispatch::{AlertDispatcher, AsyncCallback, SyncCallback};
pub use engine::Engine;
pub use error::RulesError;
pub use incident::{Incident, IncidentStatus};
pub use language::{Condition, ParseError};
pub use level::{AlertLevel, ParseAlertLevelError};
pub use metrics::{EngineMetrics, MetricsHandle};
pub use nis2::Nis2Timing;
pub use rule_builder::{DurationUnits, Threshold};
pub use selection::{list_rules_dir, DirRule, RuleSelection};
pub use siem_event::units::parse_duration;
pub use store::EventSummary;

/// The field names Sigma rules can use on our events (documentation only; see the table).
///
/// ```
/// // A Sigma rule on our events uses these names:
/// let rule = "detection: {selection: {event_type: auth.failure, user.name: admin}, condition: selection}";
/// assert!(rule.contains("user.name"));
/// ```
#[doc = include_str!("sigma_fields.md")]
pub mod sigma_field_mapping {}
