//! Seed 000's default alert thresholds, as a rule set that is on unless `defaults: false`;
//! a configured rule with the same name replaces a default.
//!
//! | rule name                      | event type                     | count | window | level    | cooldown |
//! |--------------------------------|--------------------------------|-------|--------|----------|----------|
//! | `constitutional_hash_mismatch` | `integrity.hash_mismatch`      | 1     | 60 s   | CRITICAL | 60 s     |
//! | `prompt_injection_attempt`     | `security.prompt_injection`    | 3     | 300 s  | PAGE     | 300 s    |
//! | `tenant_violation`             | `authz.tenant_violation`       | 5     | 300 s  | ESCALATE | 600 s    |
//! | `rate_limit_exceeded`          | `security.rate_limit_exceeded` | 50    | 60 s   | NOTIFY   | 300 s    |
//! | `authentication_failure`       | `auth.failure`                 | 10    | 300 s  | PAGE     | 600 s    |
//! | `authorization_failure`        | `authz.access_denied`          | 5     | 300 s  | NOTIFY   | 300 s    |
//! | `anomaly_detected`             | `security.anomaly_detected`    | 3     | 600 s  | ESCALATE | 600 s    |
//! | `suspicious_pattern`           | `security.suspicious_activity` | 5     | 300 s  | NOTIFY   | 300 s    |
//!
//! As in seed 000 the defaults count per event type across the whole service (no `group_by`)
//! and have no escalation multiplier.

use std::sync::Arc;
use std::time::Duration;

use crate::expr::{CmpOp, Comparison, Expr, Literal};
use crate::realert::Silence;
use crate::threshold::ThresholdSpec;
use crate::AlertLevel;

/// (name, canonical event type, count, window s, level, cooldown s)
pub(crate) const SEED_000: [(&str, &str, u64, u64, AlertLevel, u64); 8] = [
    (
        "constitutional_hash_mismatch",
        "integrity.hash_mismatch",
        1,
        60,
        AlertLevel::Critical,
        60,
    ),
    (
        "prompt_injection_attempt",
        "security.prompt_injection",
        3,
        300,
        AlertLevel::Page,
        300,
    ),
    (
        "tenant_violation",
        "authz.tenant_violation",
        5,
        300,
        AlertLevel::Escalate,
        600,
    ),
    (
        "rate_limit_exceeded",
        "security.rate_limit_exceeded",
        50,
        60,
        AlertLevel::Notify,
        300,
    ),
    (
        "authentication_failure",
        "auth.failure",
        10,
        300,
        AlertLevel::Page,
        600,
    ),
    (
        "authorization_failure",
        "authz.access_denied",
        5,
        300,
        AlertLevel::Notify,
        300,
    ),
    (
        "anomaly_detected",
        "security.anomaly_detected",
        3,
        600,
        AlertLevel::Escalate,
        600,
    ),
    (
        "suspicious_pattern",
        "security.suspicious_activity",
        5,
        300,
        AlertLevel::Notify,
        300,
    ),
];

pub(crate) fn default_rules() -> Vec<ThresholdSpec> {
    SEED_000
        .iter()
        .map(
            |&(name, ty, count, window, level, cooldown)| ThresholdSpec {
                name: Arc::from(name),
                when: Expr::Cmp(Comparison {
                    field: "event_type".into(),
                    op: CmpOp::Eq,
                    values: vec![Literal::new(ty.into())],
                }),
                min_count: count,
                window: Duration::from_secs(window),
                group_by: Vec::new(),
                level,
                silence: Silence::Fixed(Duration::from_secs(cooldown)),
                escalation_multiplier: None,
                action: None,
                description: None,
                reportable: level.is_incident(),
            },
        )
        .collect()
}
