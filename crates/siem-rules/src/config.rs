//! Configuration: what the `rules:` section of the YAML config holds, and how a rule entry in
//! any of the three accepted forms becomes a threshold rule.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use siem_event::Severity;

use crate::expr::{CmpOp, Comparison, Expr, Literal};
use crate::realert::Silence;
use crate::threshold::ThresholdSpec;
use crate::{AlertLevel, Condition, RuleSelection, RulesError};

/// The rules engine's configuration.
///
/// ```
/// use siem_rules::RulesConfig;
/// let yaml = r#"
/// defaults: true
/// max_groups: 5000
/// correlation: { window: 5m }
/// alerts:
///   #seed 003 form
///   - name: Multiple Auth Failures
///     condition: "event_type == 'auth.failure' AND count > 5 in 5m"
///     severity: high
///     action: notify_security_team
///   #seed 004 form
///   - name: Multiple failed logins
///     condition: "event_type=authentication AND result=failure"
///     threshold: 5
///     window_seconds: 300
///     severity: high
///   #native form
///   - name: brute_force_per_user
///     event_type: "auth.*"
///     where: { result: failure }
///     threshold: 10
///     window: 5m
///     group_by: [user, source_ip]
///     level: PAGE
///     cooldown: 10m
///     escalation_multiplier: 2
/// "#;
/// let config: RulesConfig = yaml_serde::from_str(yaml).unwrap();
/// assert!(config.enabled);
/// assert_eq!(config.alerts.len(), 3);
/// assert_eq!(config.correlation.window.as_secs(), 300);
/// siem_rules::Engine::new(&config).unwrap();
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RulesConfig {
    /// Evaluate rules at all (default true).
    pub enabled: bool,
    /// Seed 000's eight default thresholds (default true).
    pub defaults: bool,
    /// Alert rules, in any of the forms of [`AlertRuleConfig`].
    pub alerts: Vec<AlertRuleConfig>,
    /// A directory of rule files, read at start: `*.yml`/`*.yaml` files holding Sigma documents
    /// (detection rules, correlation rules, filters: a top-level `detection:`, `correlation:` or
    /// `filter:` key) or a list of alert rules (or a map with an `alerts:` list). Files are
    /// read in name order; other files are ignored. A relative path is relative to the
    /// process's working directory.
    pub rules_dir: Option<PathBuf>,
    /// Seed 000's attack-pattern correlation.
    pub correlation: CorrelationSettings,
    /// Settings for the Sigma rules of the rules directory.
    pub sigma: SigmaSettings,
    /// Groups tracked at most per rule (and per correlation pattern); beyond it the least
    /// recently seen are evicted and counted in `groups_evicted` (default 10 000).
    pub max_groups: usize,
    /// What each rule `action` does (seed 003's `notify_security_team`, `block_user` …): route
    /// the alert to a destination, or run a handler the program registers. A rule whose action
    /// is neither declared here nor registered with `on_action` is a configuration error.
    pub actions: BTreeMap<String, ActionConfig>,
    /// Which rules of `rules_dir` this engine evaluates (default `None`: all of them). Not a
    /// configuration key: `siem correlate`'s plan sets it per slice of the rules, so that each
    /// rule runs where its groups meet (see [`RuleSelection`]).
    #[serde(skip)]
    pub rules_dir_selection: Option<RuleSelection>,
}

impl RulesConfig {
    /// Sets `enabled`: evaluate rules at all (default true).
    ///
    /// ```
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().enabled(false);
    /// assert!(!c.enabled);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> RulesConfig {
        self.enabled = enabled;
        self
    }

    /// Sets `defaults`: seed 000's eight default thresholds (default true).
    ///
    /// ```
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().defaults(false);
    /// assert!(!c.defaults);
    /// ```
    pub fn defaults(mut self, defaults: bool) -> RulesConfig {
        self.defaults = defaults;
        self
    }

    /// Sets `alerts`: alert rules, in any of the forms of [`AlertRuleConfig`].
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().alerts([AlertRuleConfig::new("brute_force").condition("event_type:auth.failure count > 5")]);
    /// assert_eq!(c.alerts[0].name, "brute_force");
    /// ```
    pub fn alerts(mut self, alerts: impl IntoIterator<Item = AlertRuleConfig>) -> RulesConfig {
        self.alerts = alerts.into_iter().collect();
        self
    }

    /// Sets `rules_dir`: a directory of rule files, read at start: `*.yml`/`*.yaml` files holding Sigma documents (detection rules, correlation rules, filters: a top-level `detection:`, `correlation:` or `filter:` key) or a list of alert rules (or a map with an `alerts:` list).
    ///
    /// ```
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().rules_dir("/etc/siem/rules");
    /// assert_eq!(c.rules_dir, Some("/etc/siem/rules".into()));
    /// ```
    pub fn rules_dir(mut self, rules_dir: impl Into<PathBuf>) -> RulesConfig {
        self.rules_dir = Some(rules_dir.into());
        self
    }

    /// Sets `correlation`: seed 000's attack-pattern correlation.
    ///
    /// ```
    /// use siem_rules::CorrelationSettings;
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().correlation(CorrelationSettings::default().enabled(false));
    /// assert!(!c.correlation.enabled);
    /// ```
    pub fn correlation(mut self, correlation: CorrelationSettings) -> RulesConfig {
        self.correlation = correlation;
        self
    }

    /// Sets `rules_dir_selection`: this engine evaluates only the rules of `rules_dir` that
    /// `selection` names.
    ///
    /// ```
    /// use siem_rules::{RuleSelection, RulesConfig};
    /// let c = RulesConfig::default().select(RuleSelection::default());
    /// assert!(c.rules_dir_selection.unwrap().alerting.is_empty());
    /// ```
    pub fn select(mut self, selection: RuleSelection) -> RulesConfig {
        self.rules_dir_selection = Some(selection);
        self
    }

    /// Sets `sigma`: settings for the Sigma rules of the rules directory.
    ///
    /// ```
    /// use siem_rules::RulesConfig;
    /// use siem_rules::SigmaSettings;
    /// use std::time::Duration;
    /// let c = RulesConfig::default().sigma(SigmaSettings::default().cooldown(Duration::from_secs(30)));
    /// assert_eq!(c.sigma.cooldown, Duration::from_secs(30));
    /// ```
    pub fn sigma(mut self, sigma: SigmaSettings) -> RulesConfig {
        self.sigma = sigma;
        self
    }

    /// Sets `max_groups`: groups tracked at most per rule (and per correlation pattern); beyond it the least recently seen are evicted and counted in `groups_evicted` (default 10 000).
    ///
    /// ```
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().max_groups(50_000);
    /// assert_eq!(c.max_groups, 50_000);
    /// ```
    pub fn max_groups(mut self, max_groups: usize) -> RulesConfig {
        self.max_groups = max_groups;
        self
    }

    /// Sets `actions`: what each rule `action` does (seed 003's `notify_security_team`, `block_user` …): route the alert to a destination, or run a handler the program registers.
    ///
    /// ```
    /// use siem_rules::ActionConfig;
    /// use siem_rules::RulesConfig;
    /// let c = RulesConfig::default().actions([("page", ActionConfig::default().handler(true))]);
    /// assert!(c.actions["page"].handler);
    /// ```
    pub fn actions(
        mut self,
        actions: impl IntoIterator<Item = (impl Into<String>, ActionConfig)>,
    ) -> RulesConfig {
        self.actions = actions.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }
}

/// What one rule action does.
///
/// ```
/// use siem_rules::RulesConfig;
/// let config: RulesConfig = yaml_serde::from_str(r#"
/// alerts:
///   - {name: Privilege Escalation, condition: "event_type == 'authz.privilege_escalation'", severity: critical, action: block_user}
/// actions:
///   notify_security_team: {destination: security-alerts}
///   block_user: {handler: true}
/// "#).unwrap();
/// assert_eq!(config.actions["notify_security_team"].destination.as_deref(), Some("security-alerts"));
/// assert!(config.actions["block_user"].handler);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ActionConfig {
    /// The destination (by name) that receives this action's alert events. Alert events reach
    /// such a destination only through an action that routes them there; its other events
    /// pass its own filter as usual.
    pub destination: Option<String>,
    /// A handler registered by the program with `on_action(<name>, …)` runs for each alert.
    pub handler: bool,
}

impl ActionConfig {
    /// Sets `destination`: the destination (by name) that receives this action's alert events.
    ///
    /// ```
    /// use siem_rules::ActionConfig;
    /// let c = ActionConfig::default().destination("alerts");
    /// assert_eq!(c.destination.as_deref(), Some("alerts"));
    /// ```
    pub fn destination(mut self, destination: impl Into<String>) -> ActionConfig {
        self.destination = Some(destination.into());
        self
    }

    /// Sets `handler`: a handler registered by the program with `on_action(<name>, …)` runs for each alert.
    ///
    /// ```
    /// use siem_rules::ActionConfig;
    /// let c = ActionConfig::default().handler(true);
    /// assert!(c.handler);
    /// ```
    pub fn handler(mut self, handler: bool) -> ActionConfig {
        self.handler = handler;
        self
    }
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            enabled: true,
            defaults: true,
            alerts: Vec::new(),
            rules_dir: None,
            correlation: CorrelationSettings::default(),
            sigma: SigmaSettings::default(),
            max_groups: 10_000,
            actions: BTreeMap::new(),
            rules_dir_selection: None,
        }
    }
}

/// Settings of seed 000's attack-pattern correlation.
///
/// ```
/// let c: siem_rules::CorrelationSettings = serde_json::from_str(r#"{"window": "10m"}"#).unwrap();
/// assert!(c.enabled);
/// assert_eq!(c.window.as_secs(), 600);
/// assert_eq!(c.min_events, 3);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CorrelationSettings {
    /// Detect the patterns at all (default true).
    pub enabled: bool,
    /// The window (seed 000's `correlation_window_seconds`, default 300 s).
    #[serde(
        alias = "correlation_window_seconds",
        alias = "window_seconds",
        deserialize_with = "siem_event::units::duration"
    )]
    pub window: Duration,
    /// Events (or distinct agents, or rising steps) that make a pattern (default 3).
    pub min_events: usize,
    /// How many recent events the escalating pattern looks at (default 10).
    pub history: usize,
}

impl CorrelationSettings {
    /// Sets `enabled`: detect the patterns at all (default true).
    ///
    /// ```
    /// use siem_rules::CorrelationSettings;
    /// let c = CorrelationSettings::default().enabled(false);
    /// assert!(!c.enabled);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> CorrelationSettings {
        self.enabled = enabled;
        self
    }

    /// Sets `window`: the window (seed 000's `correlation_window_seconds`, default 300 s).
    ///
    /// ```
    /// use siem_rules::CorrelationSettings;
    /// use std::time::Duration;
    /// let c = CorrelationSettings::default().window(Duration::from_secs(30));
    /// assert_eq!(c.window, Duration::from_secs(30));
    /// ```
    pub fn window(mut self, window: Duration) -> CorrelationSettings {
        self.window = window;
        self
    }

    /// Sets `min_events`: events (or distinct agents, or rising steps) that make a pattern (default 3).
    ///
    /// ```
    /// use siem_rules::CorrelationSettings;
    /// let c = CorrelationSettings::default().min_events(3);
    /// assert_eq!(c.min_events, 3);
    /// ```
    pub fn min_events(mut self, min_events: usize) -> CorrelationSettings {
        self.min_events = min_events;
        self
    }

    /// Sets `history`: how many recent events the escalating pattern looks at (default 10).
    ///
    /// ```
    /// use siem_rules::CorrelationSettings;
    /// let c = CorrelationSettings::default().history(500);
    /// assert_eq!(c.history, 500);
    /// ```
    pub fn history(mut self, history: usize) -> CorrelationSettings {
        self.history = history;
        self
    }
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        CorrelationSettings {
            enabled: true,
            window: Duration::from_secs(300),
            min_events: 3,
            history: 10,
        }
    }
}

/// Settings for Sigma rules.
///
/// ```
/// let s: siem_rules::SigmaSettings = serde_json::from_str(r#"{"cooldown": "5m"}"#).unwrap();
/// assert_eq!(s.cooldown.as_secs(), 300);
/// assert_eq!(siem_rules::SigmaSettings::default().cooldown.as_secs(), 0);
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SigmaSettings {
    /// After a Sigma rule alerts for a group (detections: one group per rule), further alerts
    /// of that rule and group are silenced this long and counted; the next alert carries the
    /// count. Default zero: every match alerts, as Sigma specifies.
    #[serde(deserialize_with = "siem_event::units::duration")]
    pub cooldown: Duration,
}

impl SigmaSettings {
    /// Sets `cooldown`: after a Sigma rule alerts for a group (detections: one group per rule), further alerts of that rule and group are silenced this long and counted; the next alert carries the count.
    ///
    /// ```
    /// use siem_rules::SigmaSettings;
    /// use std::time::Duration;
    /// let c = SigmaSettings::default().cooldown(Duration::from_secs(30));
    /// assert_eq!(c.cooldown, Duration::from_secs(30));
    /// ```
    pub fn cooldown(mut self, cooldown: Duration) -> SigmaSettings {
        self.cooldown = cooldown;
        self
    }
}

/// A scalar in a `where:` map (YAML numbers and booleans are compared as their text).
///
/// ```
/// use siem_rules::ScalarValue;
/// let v: ScalarValue = serde_json::from_str("42").unwrap();
/// assert_eq!(v.to_string(), "42");
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ScalarValue {
    /// Text.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalarValue::Text(s) => f.write_str(s),
            ScalarValue::Integer(n) => write!(f, "{n}"),
            ScalarValue::Number(n) => write!(f, "{n}"),
            ScalarValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// ElastAlert-style exponential re-alert: silent for `base` after an alert, doubling while
/// alerts keep coming within twice the wait, decaying when quiet, never more than `max`.
///
/// ```
/// let r: siem_rules::RealertConfig = serde_json::from_str(r#"{"base": "10m", "max": "1h"}"#).unwrap();
/// assert_eq!(r.max.as_secs(), 3600);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RealertConfig {
    /// The first wait (ElastAlert `realert`).
    #[serde(alias = "realert", deserialize_with = "siem_event::units::duration")]
    pub base: Duration,
    /// The cap (ElastAlert `exponential_realert`).
    #[serde(
        alias = "exponential_realert",
        deserialize_with = "siem_event::units::duration"
    )]
    pub max: Duration,
}

impl RealertConfig {
    /// Waits `base` after an alert, doubling up to `max`.
    ///
    /// ```
    /// use siem_rules::RealertConfig;
    /// use std::time::Duration;
    /// let r = RealertConfig::new(Duration::from_secs(600), Duration::from_secs(3600));
    /// assert_eq!(r.base, Duration::from_secs(600));
    /// ```
    pub fn new(base: Duration, max: Duration) -> RealertConfig {
        RealertConfig { base, max }
    }

    /// Sets `base`: the first wait (ElastAlert `realert`).
    ///
    /// ```
    /// use siem_rules::RealertConfig;
    /// use std::time::Duration;
    /// let c = RealertConfig::new(Duration::from_secs(600), Duration::from_secs(3600)).base(Duration::from_secs(30));
    /// assert_eq!(c.base, Duration::from_secs(30));
    /// ```
    pub fn base(mut self, base: Duration) -> RealertConfig {
        self.base = base;
        self
    }

    /// Sets `max`: the cap (ElastAlert `exponential_realert`).
    ///
    /// ```
    /// use siem_rules::RealertConfig;
    /// use std::time::Duration;
    /// let c = RealertConfig::new(Duration::from_secs(600), Duration::from_secs(3600)).max(Duration::from_secs(30));
    /// assert_eq!(c.max, Duration::from_secs(30));
    /// ```
    pub fn max(mut self, max: Duration) -> RealertConfig {
        self.max = max;
        self
    }
}

/// One alert rule. Three forms are accepted, and may be mixed:
///
/// * seed 003: `{name, condition, severity, action}` where the condition may end in
///   `AND count > 5 in 5m`;
/// * seed 004: `{name, condition, threshold, window_seconds, severity}`;
/// * seed 000 / native: `event_type` (a glob), `where` (field → value or glob), `threshold`
///   (`count_threshold`), `window` (`time_window_seconds`), `group_by`, `level`
///   (`alert_level`), `cooldown` (`cooldown_seconds`), `escalation_multiplier`, `realert`.
///
/// `threshold` is the minimum number of events (`>=`); without one a single matching event
/// alerts. The window defaults to 60 s. After an alert, seed 004's form (`condition` plus a
/// separate `threshold`) empties the count and alerts again at the next `threshold` events
/// (`reset_count`), as seed 004's `AlertManager` does; the other forms keep counting and are
/// silenced by a cooldown (seed 000's semantics), which defaults to the window for counting
/// rules and to none for single-event rules. `severity` (low/medium/high/critical) maps to a level
/// (LOG/NOTIFY/PAGE/CRITICAL); `level` names one directly; the default is NOTIFY.
///
/// ```
/// let r: siem_rules::AlertRuleConfig = serde_json::from_str(
///     r#"{"name": "x", "event_type": "auth.failure", "count_threshold": 5, "time_window_seconds": 120}"#,
/// ).unwrap();
/// assert_eq!(r.threshold, Some(5));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AlertRuleConfig {
    /// Unique name; shown in alerts.
    pub name: String,
    /// Rule-language condition (see [`Condition`]).
    #[serde(default)]
    pub condition: Option<String>,
    /// Event type, exact or glob (`auth.*`).
    #[serde(default)]
    pub event_type: Option<String>,
    /// Field conditions, all of which must hold (values may be globs).
    #[serde(default, rename = "where")]
    pub where_fields: BTreeMap<String, ScalarValue>,
    /// Minimum number of events in the window.
    #[serde(default, alias = "count_threshold")]
    pub threshold: Option<u64>,
    /// The sliding window.
    #[serde(
        default,
        alias = "window_seconds",
        alias = "time_window_seconds",
        deserialize_with = "siem_event::units::opt_duration"
    )]
    pub window: Option<Duration>,
    /// Fields whose values split the count into groups (`user`, `source_ip`, `tenant_id` …).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Seed 003/004 severity.
    #[serde(default)]
    pub severity: Option<String>,
    /// Alert level.
    #[serde(default, alias = "alert_level")]
    pub level: Option<AlertLevel>,
    /// Silence after an alert.
    #[serde(
        default,
        alias = "cooldown_seconds",
        deserialize_with = "siem_event::units::opt_duration"
    )]
    pub cooldown: Option<Duration>,
    /// Seed 000's escalation multiplier (> 1).
    #[serde(default)]
    pub escalation_multiplier: Option<f64>,
    /// Exponential re-alert instead of a fixed cooldown.
    #[serde(default)]
    pub realert: Option<RealertConfig>,
    /// After an alert, empty the group's count and start again, with no cooldown: seed 004's
    /// `AlertManager`, which alerts on the 5th and the 10th failure of a threshold-5 rule inside
    /// the window. Default: true for seed 004's form (a `condition` with a separate
    /// `threshold`), false otherwise (a cooldown, seed 000's semantics).
    #[serde(default)]
    pub reset_count: Option<bool>,
    /// The rule's alerts open a reportable incident with NIS2 deadlines (24 h early warning).
    /// Default: true for `ESCALATE` and `CRITICAL` levels and for `severity: high` or
    /// `critical` (the severities seed 004 raises as security alerts).
    #[serde(default)]
    pub reportable: Option<bool>,
    /// Seed 003's action: a handler registered with `on_action`, or a routing declared in
    /// `RulesConfig::actions`.
    #[serde(default)]
    pub action: Option<String>,
    /// Free text appended to the alert message.
    #[serde(default)]
    pub description: Option<String>,
    /// Set false to keep a rule in the file but not load it.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl AlertRuleConfig {
    /// A rule named `name`, enabled, with every other key unset (as in YAML): add a
    /// condition or an event type, and a threshold, with the setters below.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let rule = AlertRuleConfig::new("brute_force").event_type("auth.failure").threshold(5);
    /// assert!(rule.enabled && rule.window.is_none());
    /// ```
    pub fn new(name: impl Into<String>) -> AlertRuleConfig {
        AlertRuleConfig {
            name: name.into(),
            condition: None,
            event_type: None,
            where_fields: BTreeMap::new(),
            threshold: None,
            window: None,
            group_by: Vec::new(),
            severity: None,
            level: None,
            cooldown: None,
            escalation_multiplier: None,
            realert: None,
            reset_count: None,
            reportable: None,
            action: None,
            description: None,
            enabled: true,
        }
    }

    /// Sets `condition`: rule-language condition (see [`Condition`]).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").condition("event_type:auth.failure");
    /// assert_eq!(c.condition.as_deref(), Some("event_type:auth.failure"));
    /// ```
    pub fn condition(mut self, condition: impl Into<String>) -> AlertRuleConfig {
        self.condition = Some(condition.into());
        self
    }

    /// Sets `event_type`: event type, exact or glob (`auth.*`).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").event_type("auth.failure");
    /// assert_eq!(c.event_type.as_deref(), Some("auth.failure"));
    /// ```
    pub fn event_type(mut self, event_type: impl Into<String>) -> AlertRuleConfig {
        self.event_type = Some(event_type.into());
        self
    }

    /// Sets `where_fields`: field conditions, all of which must hold (values may be globs).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// use siem_rules::ScalarValue;
    /// let c = AlertRuleConfig::new("brute_force").where_fields([("user", ScalarValue::Text("admin".into()))]);
    /// assert_eq!(c.where_fields["user"].to_string(), "admin");
    /// ```
    pub fn where_fields(
        mut self,
        where_fields: impl IntoIterator<Item = (impl Into<String>, ScalarValue)>,
    ) -> AlertRuleConfig {
        self.where_fields = where_fields
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
        self
    }

    /// Sets `threshold`: minimum number of events in the window.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").threshold(5);
    /// assert_eq!(c.threshold, Some(5));
    /// ```
    pub fn threshold(mut self, threshold: u64) -> AlertRuleConfig {
        self.threshold = Some(threshold);
        self
    }

    /// Sets `window`: the sliding window.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// use std::time::Duration;
    /// let c = AlertRuleConfig::new("brute_force").window(Duration::from_secs(30));
    /// assert_eq!(c.window, Some(Duration::from_secs(30)));
    /// ```
    pub fn window(mut self, window: Duration) -> AlertRuleConfig {
        self.window = Some(window);
        self
    }

    /// Sets `group_by`: fields whose values split the count into groups (`user`, `source_ip`, `tenant_id` …).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").group_by(["source_ip"]);
    /// assert_eq!(c.group_by, ["source_ip"]);
    /// ```
    pub fn group_by(
        mut self,
        group_by: impl IntoIterator<Item = impl Into<String>>,
    ) -> AlertRuleConfig {
        self.group_by = group_by.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `severity`: seed 003/004 severity.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").severity("high");
    /// assert_eq!(c.severity.as_deref(), Some("high"));
    /// ```
    pub fn severity(mut self, severity: impl Into<String>) -> AlertRuleConfig {
        self.severity = Some(severity.into());
        self
    }

    /// Sets `level`: alert level.
    ///
    /// ```
    /// use siem_rules::AlertLevel;
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").level(AlertLevel::Page);
    /// assert_eq!(c.level, Some(AlertLevel::Page));
    /// ```
    pub fn level(mut self, level: AlertLevel) -> AlertRuleConfig {
        self.level = Some(level);
        self
    }

    /// Sets `cooldown`: the silence after an alert.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// use std::time::Duration;
    /// let c = AlertRuleConfig::new("brute_force").cooldown(Duration::from_secs(30));
    /// assert_eq!(c.cooldown, Some(Duration::from_secs(30)));
    /// ```
    pub fn cooldown(mut self, cooldown: Duration) -> AlertRuleConfig {
        self.cooldown = Some(cooldown);
        self
    }

    /// Sets `escalation_multiplier`: seed 000's escalation multiplier (> 1).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").escalation_multiplier(2.0);
    /// assert_eq!(c.escalation_multiplier, Some(2.0));
    /// ```
    pub fn escalation_multiplier(mut self, escalation_multiplier: f64) -> AlertRuleConfig {
        self.escalation_multiplier = Some(escalation_multiplier);
        self
    }

    /// Sets `realert`: exponential re-alert instead of a fixed cooldown.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// use siem_rules::RealertConfig;
    /// use std::time::Duration;
    /// let c = AlertRuleConfig::new("brute_force").realert(RealertConfig::new(Duration::from_secs(600), Duration::from_secs(3600)));
    /// assert_eq!(c.realert.unwrap().max, Duration::from_secs(3600));
    /// ```
    pub fn realert(mut self, realert: RealertConfig) -> AlertRuleConfig {
        self.realert = Some(realert);
        self
    }

    /// Sets `reset_count`: after an alert, empty the group's count and start again, with no cooldown: seed 004's `AlertManager`, which alerts on the 5th and the 10th failure of a threshold-5 rule inside the window.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").reset_count(false);
    /// assert_eq!(c.reset_count, Some(false));
    /// ```
    pub fn reset_count(mut self, reset_count: bool) -> AlertRuleConfig {
        self.reset_count = Some(reset_count);
        self
    }

    /// Sets `reportable`: the rule's alerts open a reportable incident with NIS2 deadlines (24 h early warning).
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").reportable(false);
    /// assert_eq!(c.reportable, Some(false));
    /// ```
    pub fn reportable(mut self, reportable: bool) -> AlertRuleConfig {
        self.reportable = Some(reportable);
        self
    }

    /// Sets `action`: seed 003's action: a handler registered with `on_action`, or a routing declared in `RulesConfig::actions`.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").action("page");
    /// assert_eq!(c.action.as_deref(), Some("page"));
    /// ```
    pub fn action(mut self, action: impl Into<String>) -> AlertRuleConfig {
        self.action = Some(action.into());
        self
    }

    /// Sets `description`: free text appended to the alert message.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").description("Many failed logins");
    /// assert_eq!(c.description.as_deref(), Some("Many failed logins"));
    /// ```
    pub fn description(mut self, description: impl Into<String>) -> AlertRuleConfig {
        self.description = Some(description.into());
        self
    }

    /// Sets `enabled`: set false to keep a rule in the file but not load it.
    ///
    /// ```
    /// use siem_rules::AlertRuleConfig;
    /// let c = AlertRuleConfig::new("brute_force").enabled(false);
    /// assert!(!c.enabled);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> AlertRuleConfig {
        self.enabled = enabled;
        self
    }
}

fn yes() -> bool {
    true
}

const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
const MAX_NAME_CHARS: usize = 256;

impl AlertRuleConfig {
    /// Checks the rule and turns it into its runtime form.
    /// The longest span of event time this rule's state covers: its window (from `window`
    /// or the condition's count clause) plus its silence after an alert (cooldown, longest
    /// re-alert wait, or the window for a counting rule with neither), what a process taking
    /// over its events must re-read to carry on as if it had seen them all. Zero for a rule
    /// that does not compile (the engine refuses it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_rules::AlertRuleConfig;
    /// let rule = AlertRuleConfig::new("r").event_type("x").threshold(3)
    ///     .window(Duration::from_secs(600)).cooldown(Duration::from_secs(60));
    /// assert_eq!(rule.state_span(), Duration::from_secs(660));
    /// let counted = AlertRuleConfig::new("c").condition("event_type == 'x' AND count >= 3 in 30m");
    /// assert_eq!(counted.state_span(), Duration::from_secs(3600));
    /// ```
    pub fn state_span(&self) -> Duration {
        let Ok(spec) = self.compile() else {
            return Duration::ZERO;
        };
        let silence = match spec.silence {
            Silence::Fixed(d) => d,
            Silence::Exponential { cap, .. } => cap,
            Silence::Reset => Duration::ZERO,
        };
        spec.window + silence
    }

    pub(crate) fn compile(&self) -> Result<ThresholdSpec, RulesError> {
        let name = self.name.as_str();
        let invalid = |key: &'static str, reason: String| RulesError::Invalid {
            rule: name.chars().take(MAX_NAME_CHARS).collect(),
            key,
            reason,
        };
        if name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(invalid(
                "name",
                format!("at most {MAX_NAME_CHARS} characters, no control characters"),
            ));
        }
        let mut when = Expr::True;
        let mut count = None;
        if let Some(text) = &self.condition {
            let parsed = Condition::parse(text).map_err(|source| RulesError::Condition {
                rule: name.to_owned(),
                source,
            })?;
            when = parsed.expr;
            count = parsed.count;
        }
        if let Some(ty) = &self.event_type {
            if ty.trim().is_empty() {
                return Err(invalid("event_type", "must not be empty".into()));
            }
            when = when.and(Expr::Cmp(Comparison {
                field: "event_type".into(),
                op: CmpOp::Eq,
                values: vec![Literal::new(ty.clone())],
            }));
        }
        for (field, value) in &self.where_fields {
            when = when.and(Expr::Cmp(Comparison {
                field: field.clone(),
                op: CmpOp::Eq,
                values: vec![Literal::new(value.to_string())],
            }));
        }
        if matches!(when, Expr::True) {
            return Err(invalid(
                "condition",
                "the rule would match every event: give a condition, an event_type or a where map"
                    .into(),
            ));
        }
        // Seed 004's form: a condition without a count clause, and a separate threshold.
        let seed_004_form = self.condition.is_some() && count.is_none() && self.threshold.is_some();
        let (min_count, window, group_by) = match count {
            Some(c) => {
                if self.threshold.is_some() {
                    return Err(invalid(
                        "threshold",
                        "given both here and in the condition's count clause".into(),
                    ));
                }
                if self.window.is_some() {
                    return Err(invalid(
                        "window",
                        "given both here and in the condition's count clause".into(),
                    ));
                }
                if !c.group_by.is_empty() && !self.group_by.is_empty() {
                    return Err(invalid(
                        "group_by",
                        "given both here and in the condition's `by` clause".into(),
                    ));
                }
                let group_by = if c.group_by.is_empty() {
                    self.group_by.clone()
                } else {
                    c.group_by
                };
                (c.min_count, c.window, group_by)
            }
            None => (
                self.threshold.unwrap_or(1),
                self.window.unwrap_or(DEFAULT_WINDOW),
                self.group_by.clone(),
            ),
        };
        if min_count == 0 {
            return Err(invalid("threshold", "must be at least 1".into()));
        }
        if window.is_zero() {
            return Err(invalid("window", "must be longer than zero".into()));
        }
        if group_by.iter().any(|f| f.trim().is_empty()) {
            return Err(invalid("group_by", "field names must not be empty".into()));
        }
        let (level, severe) = match (&self.level, &self.severity) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "severity",
                    "give either `level` or `severity`, not both".into(),
                ))
            }
            (Some(l), None) => (*l, false),
            (None, Some(s)) => {
                let s = s
                    .parse::<Severity>()
                    .map_err(|e| invalid("severity", e.to_string()))?;
                (AlertLevel::from_severity(s), s >= Severity::High)
            }
            (None, None) => (AlertLevel::Notify, false),
        };
        let reset = self.reset_count.unwrap_or(seed_004_form);
        if self.reset_count == Some(true) && (self.cooldown.is_some() || self.realert.is_some()) {
            return Err(invalid(
                "reset_count",
                "a rule whose count resets at each alert has no cooldown or realert".into(),
            ));
        }
        let silence = match (&self.realert, self.cooldown) {
            _ if reset && self.cooldown.is_none() && self.realert.is_none() => Silence::Reset,
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "realert",
                    "give either `cooldown` or `realert`, not both".into(),
                ))
            }
            (Some(r), None) => {
                if r.base.is_zero() || r.max < r.base {
                    return Err(invalid("realert", "needs 0 < base <= max".into()));
                }
                Silence::Exponential {
                    base: r.base,
                    cap: r.max,
                }
            }
            (None, Some(c)) => Silence::Fixed(c),
            (None, None) if min_count > 1 => Silence::Fixed(window),
            (None, None) => Silence::Fixed(Duration::ZERO),
        };
        if let Some(m) = self.escalation_multiplier {
            if !(m.is_finite() && m > 1.0 && m <= 1000.0) {
                return Err(invalid(
                    "escalation_multiplier",
                    format!("must be a number above 1 (got {m})"),
                ));
            }
        }
        Ok(ThresholdSpec {
            name: Arc::from(name),
            when,
            min_count,
            window,
            group_by,
            level,
            silence,
            escalation_multiplier: self.escalation_multiplier,
            action: self.action.as_deref().map(Arc::from),
            description: self.description.clone(),
            reportable: self.reportable.unwrap_or(level.is_incident() || severe),
        })
    }
}
