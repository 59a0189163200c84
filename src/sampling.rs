//! Sampling and rate limiting before the destinations (seed 003: "implement rate limiting to
//! prevent SIEM overload", "consider event sampling for high-volume events").
//!
//! Runs on the pipeline thread after the rules engine, so alerting still sees every event;
//! only what is shipped is thinned. Events at or above `exempt_from` (high by default) are
//! never sampled. What is left out is counted as filtered, by reason (`sampled`,
//! `rate_limited`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Deserializer};
use siem_event::{SecurityEvent, Severity};

use crate::ConfigError;

/// Sampling and rate limiting of high-volume events before any destination.
///
/// ```
/// let config = tracing_siem::Config::from_yaml_str(r#"
/// sampling:
///   exempt_from: high
///   rules:
///     - {event_type: "auth.success", one_in: 10}
///     - {event_type: "network.*", per_second: 100, burst: 200}
///     - {rule: rate_limit_exceeded, per_second: 1}
/// "#).unwrap();
/// assert_eq!(config.sampling.rules.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SamplingConfig {
    /// Events of this severity or above are always shipped (default high).
    #[serde(deserialize_with = "severity")]
    pub exempt_from: Severity,
    /// The policies, tried in order; the first that matches an event applies.
    pub rules: Vec<SampleRule>,
}

impl SamplingConfig {
    /// Sets `exempt_from`: events of this severity or above are always shipped (default high).
    ///
    /// ```
    /// use tracing_siem::SamplingConfig;
    /// use tracing_siem::event::Severity;
    /// let c = SamplingConfig::default().exempt_from(Severity::Critical);
    /// assert_eq!(c.exempt_from, Severity::Critical);
    /// ```
    pub fn exempt_from(mut self, exempt_from: Severity) -> SamplingConfig {
        self.exempt_from = exempt_from;
        self
    }

    /// Sets `rules`: the policies, tried in order; the first that matches an event applies.
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// use tracing_siem::SamplingConfig;
    /// let c = SamplingConfig::default().rules([SampleRule::default().event_type("http.request").one_in(100)]);
    /// assert_eq!(c.rules[0].one_in, Some(100));
    /// ```
    pub fn rules(mut self, rules: impl IntoIterator<Item = SampleRule>) -> SamplingConfig {
        self.rules = rules.into_iter().collect();
        self
    }
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            exempt_from: Severity::High,
            rules: Vec::new(),
        }
    }
}

/// One sampling policy: which events (by event type, or the alert events of a rule) and how
/// many to keep (one in N, or a token bucket of `per_second` with `burst`).
///
/// ```
/// let r: tracing_siem::SampleRule = serde_yaml_ng::from_str("{event_type: 'auth.*', one_in: 5}").unwrap();
/// assert_eq!(r.one_in, Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SampleRule {
    /// Event types it applies to: exact or a glob (`auth.*`).
    pub event_type: Option<String>,
    /// The alert rule whose `alert.*` events it applies to.
    pub rule: Option<String>,
    /// Keep the first of every N events.
    pub one_in: Option<u64>,
    /// Keep at most this many events per second of event time (a token bucket).
    pub per_second: Option<f64>,
    /// How many events the bucket lets through at once (default: `per_second`, at least 1).
    pub burst: Option<u64>,
}

impl SampleRule {
    /// Sets `event_type`: event types it applies to: exact or a glob (`auth.*`).
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// let c = SampleRule::default().event_type("auth.failure");
    /// assert_eq!(c.event_type.as_deref(), Some("auth.failure"));
    /// ```
    pub fn event_type(mut self, event_type: impl Into<String>) -> SampleRule {
        self.event_type = Some(event_type.into());
        self
    }

    /// Sets `rule`: the alert rule whose `alert.*` events it applies to.
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// let c = SampleRule::default().rule("brute_force");
    /// assert_eq!(c.rule.as_deref(), Some("brute_force"));
    /// ```
    pub fn rule(mut self, rule: impl Into<String>) -> SampleRule {
        self.rule = Some(rule.into());
        self
    }

    /// Sets `one_in`: keep the first of every N events.
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// let c = SampleRule::default().one_in(10);
    /// assert_eq!(c.one_in, Some(10));
    /// ```
    pub fn one_in(mut self, one_in: u64) -> SampleRule {
        self.one_in = Some(one_in);
        self
    }

    /// Sets `per_second`: keep at most this many events per second of event time (a token bucket).
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// let c = SampleRule::default().per_second(5.0);
    /// assert_eq!(c.per_second, Some(5.0));
    /// ```
    pub fn per_second(mut self, per_second: f64) -> SampleRule {
        self.per_second = Some(per_second);
        self
    }

    /// Sets `burst`: how many events the bucket lets through at once (default: `per_second`, at least 1).
    ///
    /// ```
    /// use tracing_siem::SampleRule;
    /// let c = SampleRule::default().burst(20);
    /// assert_eq!(c.burst, Some(20));
    /// ```
    pub fn burst(mut self, burst: u64) -> SampleRule {
        self.burst = Some(burst);
        self
    }
}

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// Events left out, by reason; shared with the handle.
#[derive(Debug, Default)]
pub(crate) struct SamplingCounters {
    pub sampled: AtomicU64,
    pub rate_limited: AtomicU64,
}

impl SamplingCounters {
    /// The counts by reason, for the metrics.
    pub(crate) fn by_reason(&self) -> [(&'static str, u64); 2] {
        [
            ("sampled", self.sampled.load(Ordering::Relaxed)),
            ("rate_limited", self.rate_limited.load(Ordering::Relaxed)),
        ]
    }
}

enum Selector {
    EventType(GlobMatcher),
    Rule(String),
}

enum Keep {
    OneIn {
        n: u64,
        seen: u64,
    },
    Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        last: Option<i64>,
    },
}

struct Policy {
    selector: Selector,
    keep: Keep,
}

/// The compiled policies with their state (on the pipeline thread).
pub(crate) struct Sampler {
    exempt_from: Severity,
    policies: Vec<Policy>,
    pub(crate) counters: Arc<SamplingCounters>,
}

impl SamplingConfig {
    /// Checks the policies and builds the sampler; errors name `sampling.rules[i].<key>`.
    pub(crate) fn compile(&self) -> Result<Sampler, ConfigError> {
        let mut policies = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            let key = |k: &str| format!("sampling.rules[{i}].{k}");
            let selector = match (&r.event_type, &r.rule) {
                (Some(t), None) => Selector::EventType(
                    Glob::new(t)
                        .map_err(|e| {
                            ConfigError::invalid(key("event_type"), e.to_string()).with_source(e)
                        })?
                        .compile_matcher(),
                ),
                (None, Some(rule)) => Selector::Rule(rule.clone()),
                _ => {
                    return Err(ConfigError::invalid(
                        format!("sampling.rules[{i}]"),
                        "give exactly one of `event_type` and `rule`",
                    ))
                }
            };
            let keep = match (r.one_in, r.per_second) {
                (Some(0), None) => {
                    return Err(ConfigError::invalid(key("one_in"), "must be at least 1"))
                }
                (Some(n), None) if r.burst.is_none() => Keep::OneIn { n, seen: 0 },
                (None, Some(rate)) if rate.is_finite() && rate > 0.0 => {
                    let burst = r.burst.map_or(rate.max(1.0), |b| b as f64);
                    if burst < 1.0 {
                        return Err(ConfigError::invalid(key("burst"), "must be at least 1"));
                    }
                    Keep::Bucket {
                        rate,
                        burst,
                        tokens: burst,
                        last: None,
                    }
                }
                (None, Some(rate)) => {
                    return Err(ConfigError::invalid(
                        key("per_second"),
                        format!("must be a number above 0 (got {rate})"),
                    ))
                }
                _ => {
                    return Err(ConfigError::invalid(
                        format!("sampling.rules[{i}]"),
                        "give either `one_in`, or `per_second` (with an optional `burst`)",
                    ))
                }
            };
            policies.push(Policy { selector, keep });
        }
        Ok(Sampler {
            exempt_from: self.exempt_from,
            policies,
            counters: Arc::default(),
        })
    }
}

impl Sampler {
    /// True when the event goes on to the destinations; false when it is left out (counted).
    pub(crate) fn keep(&mut self, e: &SecurityEvent) -> bool {
        if self.policies.is_empty() || e.severity >= self.exempt_from {
            return true;
        }
        let Some(policy) = self.policies.iter_mut().find(|p| match &p.selector {
            Selector::EventType(glob) => glob.is_match(e.event_type.as_str()),
            Selector::Rule(rule) => {
                e.event_type.category() == "alert"
                    && e.field_text("rule").is_some_and(|r| r == rule.as_str())
            }
        }) else {
            return true;
        };
        let (kept, counter) = match &mut policy.keep {
            Keep::OneIn { n, seen } => {
                let kept = *seen % *n == 0;
                *seen = seen.wrapping_add(1);
                (kept, &self.counters.sampled)
            }
            Keep::Bucket {
                rate,
                burst,
                tokens,
                last,
            } => {
                // Refill on event time, never backwards, so a replay thins the same way.
                let t = e.timestamp.unix_nanos();
                let since = last.map_or(0, |l| t.saturating_sub(l).max(0));
                *last = Some(last.map_or(t, |l| l.max(t)));
                *tokens = (*tokens + since as f64 / 1e9 * *rate).min(*burst);
                let kept = *tokens >= 1.0;
                if kept {
                    *tokens -= 1.0;
                }
                (kept, &self.counters.rate_limited)
            }
        };
        if !kept {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::{EventType, Timestamp};

    fn sampler(yaml: &str) -> Sampler {
        serde_yaml_ng::from_str::<SamplingConfig>(yaml)
            .unwrap()
            .compile()
            .unwrap()
    }

    fn at(ty: &str, secs: f64, severity: Severity) -> SecurityEvent {
        let mut e = SecurityEvent::at(
            EventType::parse(ty),
            "m",
            Timestamp::from_unix_nanos((secs * 1e9) as i64),
        );
        e.severity = severity;
        e
    }

    #[test]
    fn one_in_n_keeps_the_first_of_each_n_and_spares_high_events() {
        let mut s = sampler("rules: [{event_type: 'auth.*', one_in: 3}]");
        let kept: Vec<bool> = (0..7)
            .map(|i| s.keep(&at("auth.success", f64::from(i), Severity::Low)))
            .collect();
        assert_eq!(kept, [true, false, false, true, false, false, true]);
        for i in 0..5 {
            assert!(s.keep(&at("auth.failure", f64::from(i), Severity::High)));
            assert!(s.keep(&at("config.changed", f64::from(i), Severity::Low)));
        }
        assert_eq!(
            s.counters.by_reason(),
            [("sampled", 4), ("rate_limited", 0)]
        );
    }

    #[test]
    fn the_token_bucket_refills_on_event_time() {
        let mut s =
            sampler("exempt_from: critical\nrules: [{event_type: x.y, per_second: 2, burst: 2}]");
        let kept: Vec<bool> = [0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 5.0, 5.0, 5.0]
            .into_iter()
            .map(|t| s.keep(&at("x.y", t, Severity::High)))
            .collect();
        assert_eq!(
            kept,
            [true, true, false, false, true, false, true, true, false]
        );
        assert_eq!(s.counters.by_reason()[1], ("rate_limited", 4));
    }

    #[test]
    fn bad_policies_name_their_key() {
        for (yaml, key) in [
            ("rules: [{one_in: 2}]", "sampling.rules[0]"),
            (
                "rules: [{event_type: x, one_in: 0}]",
                "sampling.rules[0].one_in",
            ),
            (
                "rules: [{event_type: x, per_second: .nan}]",
                "sampling.rules[0].per_second",
            ),
            (
                "rules: [{event_type: x, per_second: 1, burst: 0}]",
                "sampling.rules[0].burst",
            ),
            (
                "rules: [{event_type: x, one_in: 2, per_second: 1}]",
                "sampling.rules[0]",
            ),
            (
                "rules: [{event_type: '[', one_in: 2}]",
                "sampling.rules[0].event_type",
            ),
        ] {
            let c: SamplingConfig = serde_yaml_ng::from_str(yaml).unwrap();
            let err = c
                .compile()
                .err()
                .unwrap_or_else(|| panic!("{yaml} accepted"));
            assert_eq!(err.key(), key, "{yaml}: {err}");
        }
    }
}
