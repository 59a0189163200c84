//! The `correlate:` section: what `siem correlate` (crate `siem-correlate`) needs to run the
//! rules fleet-wide over a Kafka topic, and the plan that says which rules can be evaluated on
//! the topic's own partitions and which must be re-keyed through the repartition topic.
//!
//! It lives with the rest of the configuration so that one file describes a correlator (its
//! `rules:` and `destinations:` are the layer's) and so that `siem check` and the correlator
//! refuse the same mistakes with the same key paths. See `docs/correlate.md`.

use std::collections::BTreeSet;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use siem_rules::{RuleSelection, RulesConfig};

use super::error::from_rules_error;
use super::ConfigError;

/// The `correlate:` section.
///
/// ```
/// use tracing_siem::Config;
/// let yaml = "correlate: { brokers: '127.0.0.1:9092', topic: events, repartition_topic: rekeyed }";
/// let config = Config::from_yaml_str(yaml).unwrap();
/// let c = config.correlate.unwrap();
/// assert_eq!(c.group_id, "siem-correlate");
/// assert_eq!(c.key_fields, ["tenant_id", "source_ip"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CorrelateConfig {
    /// Kafka bootstrap servers, `host:port` separated by commas (librdkafka's
    /// `bootstrap.servers`).
    pub brokers: String,
    /// The consumer group every instance joins (default `siem-correlate`).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// The topic the Kafka destination writes events to (JSON lines).
    pub topic: String,
    /// The fields the producers key messages by (default `[tenant_id, source_ip]`, what the
    /// Kafka destination uses). A rule whose `group_by` holds all of them is evaluated on the
    /// topic's partitions; any other rule needs `repartition_topic`.
    #[serde(default = "default_key_fields")]
    pub key_fields: Vec<String>,
    /// Where events are re-produced keyed by another rule's `group_by` fields (as Kafka
    /// Streams does); required when some rule groups by something else than `key_fields`.
    #[serde(default)]
    pub repartition_topic: Option<String>,
    /// How a partition's window state is rebuilt when it moves.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Where the Prometheus metrics are served.
    #[serde(default)]
    pub metrics: CorrelateMetricsConfig,
    /// How long the correlator waits for the destinations to take a batch's alerts before it
    /// gives up on committing that batch (default 10 s).
    #[serde(
        default = "default_flush_timeout",
        deserialize_with = "siem_ship::units::duration"
    )]
    pub flush_timeout: Duration,
    /// Most events processed between two commits (default 1000).
    #[serde(default = "default_batch_events")]
    pub batch_events: usize,
    /// Longest message taken from the topic; longer ones are counted and skipped
    /// (default 1 MiB).
    #[serde(
        default = "default_max_message_bytes",
        deserialize_with = "siem_event::units::byte_size_usize"
    )]
    pub max_message_bytes: usize,
    /// Further librdkafka properties for every client the correlator opens
    /// (`security.protocol`, `sasl.mechanisms`, `ssl.ca.location` …).
    #[serde(default)]
    pub kafka: IndexMap<String, String>,
}

/// `correlate.checkpoint`: a partition's windows are rebuilt by re-reading the log before its
/// committed offset, with the alerts of that span suppressed (its previous owner shipped them).
///
/// ```
/// use tracing_siem::CheckpointConfig;
/// let c = CheckpointConfig::default();
/// assert!(c.lookback.is_none());
/// assert_eq!(c.max_events, 1_000_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CheckpointConfig {
    /// How much of the log (by message time) is re-read; default: the longest rule window
    /// plus its cooldown (see [`CorrelateConfig::lookback`]).
    #[serde(deserialize_with = "siem_event::units::opt_duration")]
    pub lookback: Option<Duration>,
    /// At most this many messages re-read per partition, whatever the lookback.
    pub max_events: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            lookback: None,
            max_events: 1_000_000,
        }
    }
}

/// `correlate.metrics`.
///
/// ```
/// use tracing_siem::CorrelateMetricsConfig;
/// assert!(CorrelateMetricsConfig::default().listen.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CorrelateMetricsConfig {
    /// `host:port` to serve `GET /metrics` on (none: not served).
    pub listen: Option<String>,
}

fn default_group_id() -> String {
    "siem-correlate".to_owned()
}

fn default_key_fields() -> Vec<String> {
    vec!["tenant_id".to_owned(), "source_ip".to_owned()]
}

fn default_flush_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_batch_events() -> usize {
    1000
}

fn default_max_message_bytes() -> usize {
    1024 * 1024
}

/// Which rules run where: on the topic's own partitions, or on the repartition topic keyed
/// by their `group_by` fields.
///
/// Each [`Slice`] is a rules configuration of its own: the rules of the others are kept in it
/// disabled, so that a configured rule still replaces the seed 000 default of the same name.
///
/// ```
/// use tracing_siem::Config;
/// let yaml = r#"
/// correlate: { brokers: '127.0.0.1:9092', topic: events, repartition_topic: rekeyed }
/// rules:
///   defaults: false
///   correlation: { enabled: false }
///   alerts:
///     - { name: per_ip, event_type: auth.failure, threshold: 5, group_by: [tenant_id, source_ip] }
///     - { name: per_user, event_type: auth.failure, threshold: 5, group_by: [user] }
/// "#;
/// let config = Config::from_yaml_str(yaml).unwrap();
/// let plan = config.correlate.as_ref().unwrap().plan(&config.rules).unwrap();
/// assert_eq!(plan.local.rules, ["per_ip"]);
/// assert_eq!(plan.rekeyed[0].key_fields, ["user"]);
/// assert_eq!(plan.rekeyed[0].rules, ["per_user"]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CorrelationPlan {
    /// Rules evaluated on the events topic's partitions: those whose groups hold every key
    /// field, and Sigma detection rules (per event).
    pub local: Slice,
    /// Rules evaluated on the repartition topic, one slice per distinct `group_by`.
    pub rekeyed: Vec<Slice>,
}

/// Rules that share a key: the `group_by` fields of the rules (empty for ungrouped rules and
/// seed 000's attack patterns, which see every event: one key, so one partition).
///
/// ```
/// use tracing_siem::Config;
/// let yaml = "correlate: { brokers: 'b:9092', topic: t, repartition_topic: r }";
/// let config = Config::from_yaml_str(yaml).unwrap();
/// let plan = config.correlate.as_ref().unwrap().plan(&config.rules).unwrap();
/// // Seed 000's defaults count per event type over the whole fleet: one global key.
/// assert!(plan.rekeyed[0].key_fields.is_empty());
/// assert!(plan.rekeyed[0].rules.contains(&"authentication_failure".to_owned()));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Slice {
    /// The fields the repartitioned events are keyed by (sorted); for the local slice, the
    /// topic's `key_fields`.
    pub key_fields: Vec<String>,
    /// The rules evaluated here, by the name their alerts carry (`correlation` for seed
    /// 000's attack patterns, the title for a Sigma rule of `rules_dir`). Sigma rules that
    /// run here only to feed a correlation are not listed.
    pub rules: Vec<String>,
    /// The rules configuration of this slice's engines.
    pub config: RulesConfig,
}

/// Seed 000's default thresholds count per event type across the whole fleet (no `group_by`).
const DEFAULT_RULES: [&str; 8] = [
    "constitutional_hash_mismatch",
    "prompt_injection_attempt",
    "tenant_violation",
    "rate_limit_exceeded",
    "authentication_failure",
    "authorization_failure",
    "anomaly_detected",
    "suspicious_pattern",
];

/// The name under which seed 000's attack patterns appear in a plan.
const PATTERNS: &str = "correlation";

impl CorrelateConfig {
    /// A section with the required keys and every other one at its default.
    ///
    /// ```
    /// use tracing_siem::CorrelateConfig;
    /// let c = CorrelateConfig::new("127.0.0.1:9092", "security-events");
    /// assert_eq!(c.topic, "security-events");
    /// ```
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> CorrelateConfig {
        CorrelateConfig {
            brokers: brokers.into(),
            group_id: default_group_id(),
            topic: topic.into(),
            key_fields: default_key_fields(),
            repartition_topic: None,
            checkpoint: CheckpointConfig::default(),
            metrics: CorrelateMetricsConfig::default(),
            flush_timeout: default_flush_timeout(),
            batch_events: default_batch_events(),
            max_message_bytes: default_max_message_bytes(),
            kafka: IndexMap::new(),
        }
    }

    /// Sets `repartition_topic`.
    ///
    /// ```
    /// use tracing_siem::CorrelateConfig;
    /// let c = CorrelateConfig::new("b:9092", "t").repartition_topic("t-rekeyed");
    /// assert_eq!(c.repartition_topic.as_deref(), Some("t-rekeyed"));
    /// ```
    pub fn repartition_topic(mut self, topic: impl Into<String>) -> CorrelateConfig {
        self.repartition_topic = Some(topic.into());
        self
    }

    /// Checks the section against the rules it will run: keys, and that a repartition topic
    /// is given when some rule needs one.
    ///
    /// ```
    /// use tracing_siem::{Config, CorrelateConfig};
    /// let config = Config::default();
    /// // Seed 000's defaults are ungrouped: they need the repartition topic.
    /// let err = CorrelateConfig::new("b:9092", "t").validate(&config.rules).unwrap_err();
    /// assert_eq!(err.key(), "correlate.repartition_topic");
    /// ```
    pub fn validate(&self, rules: &RulesConfig) -> Result<(), ConfigError> {
        let non_empty = [
            ("brokers", &self.brokers),
            ("group_id", &self.group_id),
            ("topic", &self.topic),
        ];
        for (key, value) in non_empty {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(
                    format!("correlate.{key}"),
                    "must not be empty",
                ));
            }
        }
        if self.key_fields.is_empty() || self.key_fields.iter().any(|f| f.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "correlate.key_fields",
                "name the fields the producers key messages by (default [tenant_id, source_ip])",
            ));
        }
        if let Some(topic) = &self.repartition_topic {
            if topic.trim().is_empty() || *topic == self.topic {
                return Err(ConfigError::invalid(
                    "correlate.repartition_topic",
                    "must be a topic of its own, not empty and not the events topic",
                ));
            }
        }
        if self.batch_events == 0 {
            return Err(ConfigError::invalid(
                "correlate.batch_events",
                "must be at least 1",
            ));
        }
        if self.flush_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "correlate.flush_timeout",
                "must be more than 0",
            ));
        }
        if self.max_message_bytes == 0 {
            return Err(ConfigError::invalid(
                "correlate.max_message_bytes",
                "must be at least 1",
            ));
        }
        if self.checkpoint.max_events == 0 {
            return Err(ConfigError::invalid(
                "correlate.checkpoint.max_events",
                "must be at least 1 (it bounds how much of the log is re-read)",
            ));
        }
        if let Some(listen) = &self.metrics.listen {
            if listen.parse::<std::net::SocketAddr>().is_err() {
                return Err(ConfigError::invalid(
                    "correlate.metrics.listen",
                    format!("{listen:?} is not an address and port (e.g. 127.0.0.1:9464)"),
                ));
            }
        }
        self.plan(rules).map(drop)
    }

    /// Splits `rules` into the slices they run in (see [`CorrelationPlan`]), reading
    /// `rules.rules_dir` to place its rules too. Refused, naming the rules, when some need
    /// re-keying and no `repartition_topic` is set, or when the rules directory cannot be read.
    pub fn plan(&self, rules: &RulesConfig) -> Result<CorrelationPlan, ConfigError> {
        let key: BTreeSet<&str> = self.key_fields.iter().map(String::as_str).collect();
        // `None` for the topic's own key; otherwise the sorted fields to re-key by.
        let slice_of = |group_by: Option<&[String]>| -> Option<Vec<String>> {
            let fields: BTreeSet<&str> = group_by?.iter().map(String::as_str).collect();
            (!key.is_subset(&fields)).then(|| fields.into_iter().map(str::to_owned).collect())
        };
        let mut groups = vec![Group::new(None)];
        for rule in rules.alerts.iter().filter(|r| r.enabled) {
            let group = Group::of(&mut groups, slice_of(Some(&rule.group_by)));
            group.rules.push(rule.name.clone());
            group.configured.insert(rule.name.clone());
        }
        if rules.defaults {
            for name in DEFAULT_RULES {
                if !rules.alerts.iter().any(|r| r.name == name) {
                    let group = Group::of(&mut groups, Some(Vec::new()));
                    group.rules.push(name.to_owned());
                    group.configured.insert(name.to_owned());
                }
            }
        }
        if rules.correlation.enabled {
            let group = Group::of(&mut groups, Some(Vec::new()));
            group.rules.push(PATTERNS.to_owned());
            group.configured.insert(PATTERNS.to_owned());
        }
        for rule in siem_rules::list_rules_dir(rules).map_err(from_rules_error)? {
            let group = Group::of(&mut groups, slice_of(rule.group_by.as_deref()));
            group.rules.push(rule.name);
            group.selection.alerting.insert(rule.key);
            group.selection.feeding.extend(rule.feeds);
        }
        // The repartition topic names a slice by its fields joined with commas.
        if let Some(group) = groups
            .iter()
            .find(|g| g.fields.iter().flatten().any(|f| f.contains(',')))
        {
            return Err(ConfigError::invalid(
                "rules",
                format!(
                    "rules {:?} group by {:?}: a field name with a comma cannot be re-keyed",
                    group.rules,
                    group.fields.as_deref().unwrap_or_default()
                ),
            ));
        }
        let mut slices = groups.into_iter().map(|group| {
            let config = slice_config(rules, &group);
            Slice {
                key_fields: group.fields.unwrap_or_else(|| self.key_fields.clone()),
                rules: group.rules,
                config,
            }
        });
        let local = slices.next().expect("the local slice is always first");
        let rekeyed: Vec<Slice> = slices.collect();
        if self.repartition_topic.is_none() {
            if let Some(first) = rekeyed.first() {
                let names: Vec<&str> = rekeyed
                    .iter()
                    .flat_map(|s| s.rules.iter().map(String::as_str))
                    .collect();
                return Err(ConfigError::invalid(
                    "correlate.repartition_topic",
                    format!(
                        "rules {names:?} group by other fields than the partition key {:?} (e.g. {:?}), so they must be re-keyed: set repartition_topic, or give them a group_by that holds every key field (seed 000's defaults and attack patterns see the whole fleet: turn them off with rules.defaults: false and rules.correlation.enabled: false, or re-key them)",
                        self.key_fields, first.key_fields
                    ),
                ));
            }
        }
        Ok(CorrelationPlan { local, rekeyed })
    }

    /// How much of the log a partition's new owner re-reads: `checkpoint.lookback`, else the
    /// longest span any rule's state covers: window plus cooldown or longest re-alert wait
    /// for `rules.alerts` and the alert files of `rules_dir`; a Sigma correlation's timespan
    /// (the longest of its chain) plus `sigma.cooldown`; for seed 000's patterns, twice the
    /// correlation window, which a detected pattern stays active for.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::{Config, CorrelateConfig};
    /// let c = CorrelateConfig::new("b:9092", "t");
    /// // Seed 000's defaults: 600 s windows with 600 s cooldowns.
    /// assert_eq!(c.lookback(&Config::default().rules), Duration::from_secs(1200));
    /// ```
    pub fn lookback(&self, rules: &RulesConfig) -> Duration {
        if let Some(lookback) = self.checkpoint.lookback {
            return lookback;
        }
        let configured = rules
            .alerts
            .iter()
            .filter(|r| r.enabled)
            .map(siem_rules::AlertRuleConfig::state_span);
        // A directory that cannot be read refuses the configuration (`plan`, and every
        // engine), so nothing is left to re-read for it.
        let dir = siem_rules::list_rules_dir(rules)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.span);
        let defaults = rules
            .defaults
            .then_some(Duration::from_secs(600 + 600))
            .into_iter();
        let patterns = rules
            .correlation
            .enabled
            .then_some(rules.correlation.window * 2)
            .into_iter();
        configured
            .chain(dir)
            .chain(defaults)
            .chain(patterns)
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// The rules of one slice while the plan is made.
struct Group {
    /// `None` for the topic's own key; otherwise the sorted fields re-keyed by.
    fields: Option<Vec<String>>,
    /// Every rule evaluated here, by the name its alerts carry.
    rules: Vec<String>,
    /// The rules of `rules.alerts`, seed 000's defaults and patterns evaluated here.
    configured: BTreeSet<String>,
    /// The rules of `rules.rules_dir` evaluated here.
    selection: RuleSelection,
}

impl Group {
    fn new(fields: Option<Vec<String>>) -> Group {
        Group {
            fields,
            rules: Vec::new(),
            configured: BTreeSet::new(),
            selection: RuleSelection::default(),
        }
    }

    /// The group of `fields` in `groups`, added when there is none yet.
    fn of(groups: &mut Vec<Group>, fields: Option<Vec<String>>) -> &mut Group {
        let at = match groups.iter().position(|g| g.fields == fields) {
            Some(at) => at,
            None => {
                groups.push(Group::new(fields));
                groups.len() - 1
            }
        };
        &mut groups[at]
    }
}

/// `rules` narrowed to `group`: the other configured rules stay in, disabled, so that they
/// still replace the default of their name; defaults and patterns only where they are placed;
/// of `rules_dir`, the rules placed here and the Sigma rules that feed them.
fn slice_config(rules: &RulesConfig, group: &Group) -> RulesConfig {
    let mut config = rules.clone();
    for rule in &mut config.alerts {
        rule.enabled &= group.configured.contains(&rule.name);
    }
    config.defaults &= DEFAULT_RULES.iter().any(|n| group.configured.contains(*n));
    config.correlation.enabled &= group.configured.contains(PATTERNS);
    config.select(group.selection.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn plan(rules: &str) -> CorrelationPlan {
        let yaml = format!(
            "correlate: {{ brokers: 'b:9092', topic: t, repartition_topic: r }}\nrules:\n{rules}"
        );
        let config = Config::from_yaml_str(&yaml).unwrap();
        config
            .correlate
            .as_ref()
            .unwrap()
            .plan(&config.rules)
            .unwrap()
    }

    /// A plan over a rules directory holding `files` (name, text), with no other rules.
    fn plan_with_dir(files: &[(&str, &str)]) -> (tempfile::TempDir, CorrelationPlan) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let plan = plan(&format!(
            "  defaults: false\n  correlation: {{ enabled: false }}\n  rules_dir: {:?}\n",
            dir.path().display().to_string()
        ));
        (dir, plan)
    }

    /// Failed logins (fed to correlations only) and a correlation counting them per `group_by`.
    #[cfg(feature = "sigma")]
    fn spray(group_by: &str) -> String {
        format!(
            "title: Failed login\nid: failed-login\nname: failed_login\nlogsource: {{ product: test }}\ndetection:\n  selection: {{ event_type: auth.failure }}\n  condition: selection\n---\ntitle: Password spray\nid: password-spray\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: {group_by}\n  timespan: 10m\n  condition: {{ gte: 3 }}\nlevel: high\n"
        )
    }

    fn failure(user: &str, ip: &str, at: i64) -> crate::event::SecurityEvent {
        use crate::event::{EventType, SecurityEvent, Timestamp};
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
        e.timestamp = Timestamp::from_unix_secs(1_700_000_000 + at);
        e.tenant_id = Some("acme".into());
        e.actor.user = Some(user.into());
        e.actor.source_ip = Some(ip.into());
        e
    }

    /// The names of the alerts each engine raises for `events`.
    fn alerts_per_slice(
        plan: &CorrelationPlan,
        events: &[crate::event::SecurityEvent],
    ) -> Vec<Vec<String>> {
        std::iter::once(&plan.local)
            .chain(&plan.rekeyed)
            .map(|slice| {
                let mut engine = siem_rules::Engine::new(&slice.config).unwrap();
                events
                    .iter()
                    .flat_map(|e| engine.process(&mut e.clone()))
                    .map(|a| a.rule.to_string())
                    .collect()
            })
            .collect()
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn a_sigma_correlation_grouped_by_user_is_rekeyed_by_our_user_field() {
        for group_by in ["[User]", "[user]", "[user.name]"] {
            let (_dir, plan) = plan_with_dir(&[("spray.yml", &spray(group_by))]);
            assert!(
                plan.local.rules.is_empty(),
                "{group_by}: {:?}",
                plan.local.rules
            );
            assert_eq!(plan.rekeyed.len(), 1, "{group_by}");
            assert_eq!(plan.rekeyed[0].key_fields, ["user"], "{group_by}");
            assert_eq!(plan.rekeyed[0].rules, ["Password spray"], "{group_by}");
        }
        // Three failures for alice from three addresses: the local engine (which, per
        // partition, would see only some of them) runs nothing; the [user] slice fires once.
        let (_dir, plan) = plan_with_dir(&[("spray.yml", &spray("[User]"))]);
        let events = [
            failure("alice", "10.0.0.1", 0),
            failure("alice", "10.0.0.2", 1),
            failure("alice", "10.0.0.3", 2),
        ];
        assert_eq!(
            alerts_per_slice(&plan, &events),
            [vec![], vec!["Password spray".to_owned()]]
        );
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn a_sigma_correlation_grouped_by_a_superset_of_the_key_stays_local() {
        let (_dir, plan) =
            plan_with_dir(&[("spray.yml", &spray("[organization.id, source.ip, User]"))]);
        assert_eq!(plan.local.rules, ["Password spray"]);
        assert!(plan.rekeyed.is_empty());
        let events = [
            failure("alice", "10.0.0.1", 0),
            failure("alice", "10.0.0.1", 1),
            failure("alice", "10.0.0.1", 2),
        ];
        assert_eq!(
            alerts_per_slice(&plan, &events),
            [vec!["Password spray".to_owned()]]
        );
    }

    #[test]
    fn an_alert_file_rule_grouped_by_user_is_rekeyed() {
        let (_dir, plan) = plan_with_dir(&[(
            "alerts.yml",
            "- { name: spray, event_type: auth.failure, threshold: 3, window: 10m, group_by: [user] }\n- { name: per_ip, event_type: auth.failure, threshold: 3, group_by: [tenant_id, source_ip] }\n",
        )]);
        assert_eq!(plan.local.rules, ["per_ip"]);
        assert_eq!(plan.rekeyed[0].key_fields, ["user"]);
        assert_eq!(plan.rekeyed[0].rules, ["spray"]);
        let events = [
            failure("alice", "10.0.0.1", 0),
            failure("alice", "10.0.0.2", 1),
            failure("alice", "10.0.0.3", 2),
        ];
        assert_eq!(
            alerts_per_slice(&plan, &events),
            [vec![], vec!["spray".to_owned()]]
        );
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn a_standalone_sigma_detection_alerts_once_fleet_wide_only_locally() {
        let standalone = "title: Admin login\nid: admin-login\nlogsource: { product: test }\ndetection:\n  selection: { event_type: auth.failure, user.name: admin }\n  condition: selection\n";
        // With `generate: true` the correlation's own rule alerts too: once, locally.
        let generating = spray("[User]").replace(
            "  condition: { gte: 3 }",
            "  condition: { gte: 3 }\n  generate: true",
        );
        let (_dir, plan) = plan_with_dir(&[("admin.yml", standalone), ("spray.yml", &generating)]);
        assert_eq!(plan.local.rules, ["Admin login", "Failed login"]);
        assert_eq!(plan.rekeyed[0].rules, ["Password spray"]);
        let events = [
            failure("admin", "10.0.0.1", 0),
            failure("admin", "10.0.0.2", 1),
            failure("admin", "10.0.0.3", 2),
        ];
        let alerts = alerts_per_slice(&plan, &events);
        assert_eq!(alerts[0].iter().filter(|a| *a == "Admin login").count(), 3);
        assert_eq!(alerts[0].iter().filter(|a| *a == "Failed login").count(), 3);
        // The [user] slice runs the failed-login rule to feed the spray, silently.
        assert_eq!(alerts[1], ["Password spray"]);
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn a_correlation_grouped_by_fields_with_no_one_mapping_falls_back_to_fewer_fields() {
        // `ip` stands for the source address in one rule and the destination in the other:
        // no one field of ours keeps its groups together, so the correlation keys by the user.
        let aliased = spray("[ip, User]").replace(
            "  timespan: 10m",
            "  timespan: 10m\n  aliases:\n    ip:\n      failed_login: source.ip\n      other: destination.ip",
        );
        let other = "title: Other\nname: other\nlogsource: { product: test }\ndetection:\n  selection: { event_type: auth.success }\n  condition: selection\n";
        let (_dir, plan) = plan_with_dir(&[
            (
                "spray.yml",
                &aliased.replace("rules: [failed_login]", "rules: [failed_login, other]"),
            ),
            ("other.yml", other),
        ]);
        assert_eq!(plan.rekeyed[0].key_fields, ["user"]);
        // Only the alias: one key for every event (the global slice).
        let only_alias = aliased.replace("group-by: [ip, User]", "group-by: [ip]");
        let (_dir, plan) = plan_with_dir(&[
            (
                "spray.yml",
                &only_alias.replace("rules: [failed_login]", "rules: [failed_login, other]"),
            ),
            ("other.yml", other),
        ]);
        assert!(plan.rekeyed[0].key_fields.is_empty());
        assert_eq!(plan.rekeyed[0].rules, ["Password spray"]);
    }

    #[test]
    fn an_unreadable_rules_dir_is_refused_at_rules_dir() {
        let rules = RulesConfig::default().rules_dir("/nonexistent/siem-rules");
        let err = CorrelateConfig::new("b:9092", "t")
            .repartition_topic("r")
            .plan(&rules)
            .unwrap_err();
        assert_eq!(err.key(), "rules.rules_dir");
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn a_correlation_grouped_by_a_field_name_with_a_comma_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spray.yml"), spray("['a,b']")).unwrap();
        let rules = RulesConfig::default().defaults(false).rules_dir(dir.path());
        let err = CorrelateConfig::new("b:9092", "t")
            .repartition_topic("r")
            .plan(&rules)
            .unwrap_err();
        assert_eq!(err.key(), "rules");
        assert!(err.to_string().contains("Password spray"), "{err}");
    }

    #[cfg(feature = "sigma")]
    #[test]
    fn the_lookback_covers_sigma_timespans_and_alert_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("spray.yml"),
            spray("[User]").replace("10m", "45m"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("alerts.yml"),
            "- { name: slow, event_type: x, window: 20m, cooldown: 20m, group_by: [user] }\n",
        )
        .unwrap();
        let yaml = format!(
            "correlate: {{ brokers: 'b:9092', topic: t, repartition_topic: r }}\nrules:\n  defaults: false\n  correlation: {{ enabled: false }}\n  sigma: {{ cooldown: 1m }}\n  rules_dir: {:?}\n",
            dir.path().display().to_string()
        );
        let config = Config::from_yaml_str(&yaml).unwrap();
        let c = config.correlate.as_ref().unwrap();
        assert_eq!(c.lookback(&config.rules), Duration::from_secs(46 * 60));
        std::fs::remove_file(dir.path().join("spray.yml")).unwrap();
        assert_eq!(c.lookback(&config.rules), Duration::from_secs(40 * 60));
    }

    #[test]
    fn a_configured_rule_named_like_a_default_replaces_it_in_every_slice() {
        let plan = plan(
            "  correlation: { enabled: false }\n  alerts:\n    - { name: authentication_failure, event_type: auth.failure, threshold: 3, group_by: [source_ip, tenant_id] }\n",
        );
        assert_eq!(plan.local.rules, ["authentication_failure"]);
        let global = &plan.rekeyed[0];
        assert!(!global.rules.contains(&"authentication_failure".to_owned()));
        // The global slice keeps it, disabled, so the default of its name stays out.
        let engine = siem_rules::Engine::new(&global.config).unwrap();
        assert!(!engine.rule_names().contains(&"authentication_failure"));
        assert!(engine.rule_names().contains(&"tenant_violation"));
    }

    #[test]
    fn rules_sharing_a_group_by_share_a_slice_whatever_its_order() {
        let plan = plan(
            "  defaults: false\n  correlation: { enabled: false }\n  alerts:\n    - { name: a, event_type: x, group_by: [user, host] }\n    - { name: b, event_type: y, group_by: [host, user] }\n    - { name: off, event_type: z, group_by: [app], enabled: false }\n",
        );
        assert_eq!(plan.rekeyed.len(), 1);
        assert_eq!(plan.rekeyed[0].key_fields, ["host", "user"]);
        assert_eq!(plan.rekeyed[0].rules, ["a", "b"]);
        assert!(plan.local.rules.is_empty());
    }

    #[test]
    fn the_lookback_covers_the_longest_window_and_silence() {
        let yaml = "correlate: { brokers: 'b:9092', topic: t, key_fields: [user] }\nrules:\n  defaults: false\n  correlation: { enabled: false }\n  alerts:\n    - { name: a, event_type: x, window: 10m, cooldown: 5m, group_by: [user] }\n    - { name: b, event_type: y, window: 1m, realert: { base: 1m, max: 1h }, group_by: [user] }\n";
        let config = Config::from_yaml_str(yaml).unwrap();
        let c = config.correlate.as_ref().unwrap();
        assert_eq!(c.lookback(&config.rules), Duration::from_secs(61 * 60));
        let fixed = CorrelateConfig {
            checkpoint: CheckpointConfig {
                lookback: Some(Duration::from_secs(7)),
                ..CheckpointConfig::default()
            },
            ..c.clone()
        };
        assert_eq!(fixed.lookback(&config.rules), Duration::from_secs(7));
    }
}
