//! The builder's alerting settings: rules written in Rust, Sigma, correlation, action handlers
//! and sampling.

use std::path::PathBuf;

use siem_rules::{Alert, AlertRuleConfig, CorrelationSettings};

use super::{Callback, SiemBuilder};

impl SiemBuilder {
    /// Adds an alert rule, e.g. a [`Threshold`](siem_rules::Threshold) (or an
    /// [`AlertRuleConfig`] read from YAML). Seed 000's default rules stay on beside it unless
    /// [`SiemBuilder::without_default_rules`] is called; a rule named like a default replaces
    /// that default.
    ///
    /// ```
    /// use tracing_siem::rules::{AlertLevel, DurationUnits, Threshold};
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .alert(
    ///         Threshold::new("brute_force")
    ///             .matching("auth.failure")
    ///             .count(5)
    ///             .within(5.minutes())
    ///             .group_by(["source_ip"])
    ///             .level(AlertLevel::Page),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// let rules: Vec<String> = guard.handle().metrics().alert_states.into_iter().map(|s| s.rule).collect();
    /// assert_eq!(rules.len(), 9, "the eight defaults and brute_force");
    /// ```
    pub fn alert(mut self, rule: impl Into<AlertRuleConfig>) -> Self {
        self.config.rules.alerts.push(rule.into());
        self
    }

    /// Turns seed 000's eight default threshold rules off (they are on unless told).
    ///
    /// ```
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .without_default_rules()
    ///     .build()
    ///     .unwrap();
    /// assert!(guard.handle().metrics().alert_states.is_empty());
    /// ```
    pub fn without_default_rules(mut self) -> Self {
        self.config.rules.defaults = false;
        self
    }

    /// Reads Sigma rules (and YAML alert-rule files) from a directory at build time.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("no-such-sigma-dir-for-this-example");
    /// let err = tracing_siem::SiemLayer::builder()
    ///     .sigma_rules_dir(&dir)
    ///     .build()
    ///     .err()
    ///     .unwrap();
    /// assert_eq!(err.key(), "rules.rules_dir");
    /// ```
    pub fn sigma_rules_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.rules.rules_dir = Some(dir.into());
        self
    }

    /// Seed 000's attack-pattern correlation settings (window, minimum events, history).
    ///
    /// ```
    /// use tracing_siem::rules::{CorrelationSettings, DurationUnits};
    /// let builder = tracing_siem::SiemLayer::builder().correlation(CorrelationSettings::default().window(10.minutes()));
    /// assert_eq!(builder.config().rules.correlation.window.as_secs(), 600);
    /// ```
    pub fn correlation(mut self, correlation: CorrelationSettings) -> Self {
        self.config.rules.correlation = correlation;
        self
    }

    /// Registers the handler of a rule action (seed 003's `block_user`, `investigate` …): it
    /// runs for each alert of a rule whose `action` is `name`, on its own thread, isolated
    /// like [`SiemBuilder::on_alert`] (a slow handler loses alerts, counted; a panic is caught
    /// and counted). Registering it declares the action.
    ///
    /// ```
    /// use tracing_siem::rules::Threshold;
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .alert(Threshold::new("privilege_escalation").matching("authz.privilege_escalation").action("block_user"))
    ///     .on_action("block_user", |alert| eprintln!("blocking after {}", alert.message))
    ///     .build()
    ///     .unwrap();
    /// # drop(guard);
    /// ```
    pub fn on_action<F>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(&Alert) + Send + Sync + 'static,
    {
        self.callbacks
            .push(Callback::Action(name.to_owned(), Box::new(handler)));
        self
    }

    /// Like [`SiemBuilder::on_action`] for an async handler (no runtime needed).
    ///
    /// ```
    /// let builder = tracing_siem::SiemLayer::builder()
    ///     .on_action_async("investigate", |alert| async move { let _ = alert.rule; });
    /// # drop(builder);
    /// ```
    pub fn on_action_async<F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.callbacks.push(Callback::ActionAsync(
            name.to_owned(),
            Box::new(move |a| Box::pin(handler(a))),
        ));
        self
    }

    /// Sampling and rate limiting before the destinations (see [`crate::SamplingConfig`]).
    ///
    /// ```
    /// use tracing_siem::{SampleRule, SamplingConfig};
    /// let builder = tracing_siem::SiemLayer::builder().sampling(SamplingConfig::default().rules(vec![SampleRule::default().event_type("auth.success").one_in(10)]));
    /// # drop(builder);
    /// ```
    pub fn sampling(mut self, sampling: crate::SamplingConfig) -> Self {
        self.config.sampling = sampling;
        self
    }
}
