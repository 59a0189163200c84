//! Threshold rules written in Rust: a builder that gives the same rule as a YAML entry.

use std::time::Duration;

use crate::{AlertLevel, AlertRuleConfig, RealertConfig, ScalarValue};

/// A threshold rule built in Rust; it becomes the [`AlertRuleConfig`] a YAML entry would, and
/// is checked with it when the engine is built (errors name the rule and the key).
///
/// ```
/// use siem_rules::{AlertLevel, DurationUnits, Engine, RulesConfig, Threshold};
///
/// let brute_force = Threshold::new("brute_force")
///     .matching("auth.failure")
///     .count(5)
///     .within(5.minutes())
///     .group_by(["source_ip"])
///     .level(AlertLevel::Page)
///     .action("block_user");
/// let config = RulesConfig::default().alerts(vec![brute_force.into()]);
/// let engine = Engine::new(&config).unwrap();
/// assert!(engine.rule_names().contains(&"brute_force"));
/// ```
#[derive(Debug, Clone)]
pub struct Threshold {
    rule: AlertRuleConfig,
}

impl Threshold {
    /// A rule named `name` (unique; shown in its alerts). Give it at least an event type, a
    /// field condition or a rule-language condition.
    pub fn new(name: impl Into<String>) -> Threshold {
        Threshold {
            rule: AlertRuleConfig::new(name),
        }
    }

    /// Counts events of this type: exact (`auth.failure`) or a glob (`auth.*`).
    pub fn matching(mut self, event_type: impl Into<String>) -> Threshold {
        self.rule.event_type = Some(event_type.into());
        self
    }

    /// Counts only events whose field has this value (a glob for text); repeat for several.
    ///
    /// ```
    /// let rule = siem_rules::Threshold::new("x").matching("auth.*").with_field("result", "failure");
    /// # drop(rule);
    /// ```
    pub fn with_field(mut self, field: impl Into<String>, value: impl Into<String>) -> Threshold {
        self.rule
            .where_fields
            .insert(field.into(), ScalarValue::Text(value.into()));
        self
    }

    /// Counts only events the rule-language condition holds for (see
    /// [`Condition`](crate::Condition)), e.g. `"event_type=authentication AND result=failure"`.
    pub fn condition(mut self, condition: impl Into<String>) -> Threshold {
        self.rule.condition = Some(condition.into());
        self
    }

    /// Alerts once this many events are in the window (at least; default 1).
    pub fn count(mut self, events: u64) -> Threshold {
        self.rule.threshold = Some(events);
        self
    }

    /// The sliding window, on event time (default 60 s).
    pub fn within(mut self, window: Duration) -> Threshold {
        self.rule.window = Some(window);
        self
    }

    /// Counts separately per value of these fields (`user`, `source_ip`, `tenant_id` …).
    pub fn group_by<I, S>(mut self, fields: I) -> Threshold
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rule.group_by = fields.into_iter().map(Into::into).collect();
        self
    }

    /// The alert level (default NOTIFY).
    pub fn level(mut self, level: AlertLevel) -> Threshold {
        self.rule.level = Some(level);
        self
    }

    /// Silence after an alert (default: the window for counting rules).
    pub fn cooldown(mut self, cooldown: Duration) -> Threshold {
        self.rule.cooldown = Some(cooldown);
        self
    }

    /// Empties the count at each alert instead of a cooldown (seed 004's semantics).
    pub fn reset_count(mut self) -> Threshold {
        self.rule.reset_count = Some(true);
        self
    }

    /// ElastAlert's exponential re-alert: silent `base` after an alert, doubling while alerts
    /// keep coming, never more than `max`.
    pub fn realert(mut self, base: Duration, max: Duration) -> Threshold {
        self.rule.realert = Some(RealertConfig { base, max });
        self
    }

    /// Seed 000's escalation multiplier: raise the level one step at `count × m`, two at
    /// `count × m²` … while silenced.
    pub fn escalation_multiplier(mut self, multiplier: f64) -> Threshold {
        self.rule.escalation_multiplier = Some(multiplier);
        self
    }

    /// Whether its alerts open a reportable incident with NIS2 deadlines (default: for
    /// ESCALATE and CRITICAL).
    pub fn reportable(mut self, reportable: bool) -> Threshold {
        self.rule.reportable = Some(reportable);
        self
    }

    /// The action its alerts trigger: a handler registered with `on_action`, or a routing
    /// declared in [`RulesConfig::actions`](crate::RulesConfig::actions).
    pub fn action(mut self, action: impl Into<String>) -> Threshold {
        self.rule.action = Some(action.into());
        self
    }

    /// Text appended to its alert messages.
    pub fn description(mut self, description: impl Into<String>) -> Threshold {
        self.rule.description = Some(description.into());
        self
    }
}

impl From<Threshold> for AlertRuleConfig {
    fn from(t: Threshold) -> AlertRuleConfig {
        t.rule
    }
}

/// Durations written as `5.minutes()`, for rule windows and cooldowns.
///
/// ```
/// use siem_rules::DurationUnits;
/// assert_eq!(90.seconds().as_secs(), 90);
/// assert_eq!(5.minutes().as_secs(), 300);
/// assert_eq!(24.hours().as_secs(), 86_400);
/// ```
pub trait DurationUnits {
    /// This many seconds.
    fn seconds(self) -> Duration;
    /// This many minutes.
    fn minutes(self) -> Duration;
    /// This many hours.
    fn hours(self) -> Duration;
}

impl DurationUnits for u64 {
    fn seconds(self) -> Duration {
        Duration::from_secs(self)
    }

    fn minutes(self) -> Duration {
        Duration::from_secs(self.saturating_mul(60))
    }

    fn hours(self) -> Duration {
        Duration::from_secs(self.saturating_mul(3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, RulesConfig, RulesError};

    #[test]
    fn a_built_rule_is_checked_like_a_yaml_one() {
        let config = RulesConfig {
            alerts: vec![Threshold::new("empty").count(3).into()],
            ..RulesConfig::default()
        };
        let err = Engine::new(&config).unwrap_err();
        assert!(
            matches!(err, RulesError::Invalid { ref rule, key: "condition", .. } if rule == "empty"),
            "{err}"
        );
    }

    #[test]
    fn the_builder_and_yaml_give_the_same_rule() {
        let built: AlertRuleConfig = Threshold::new("b")
            .matching("auth.failure")
            .with_field("result", "failure")
            .count(5)
            .within(5.minutes())
            .group_by(["source_ip"])
            .level(AlertLevel::Page)
            .cooldown(10.minutes())
            .action("block_user")
            .into();
        let yaml: AlertRuleConfig = yaml_serde::from_str(
            "{name: b, event_type: auth.failure, where: {result: failure}, threshold: 5, window: 5m, group_by: [source_ip], level: PAGE, cooldown: 10m, action: block_user}",
        )
        .unwrap();
        assert_eq!(format!("{built:?}"), format!("{yaml:?}"));
    }
}
