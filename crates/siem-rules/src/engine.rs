//! The engine: every rule, the correlator and Sigma, fed one event at a time on the pipeline
//! thread.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use siem_event::SecurityEvent;

use crate::correlation::{Correlator, CorrelatorSettings};
use crate::dispatch::AlertDispatcher;
use crate::incident::IncidentLog;
use crate::index::RuleIndex;
use crate::metrics::{Counters, MetricsHandle};
use crate::sigma::SigmaRules;
use crate::threshold::{StateChange, ThresholdRule};
use crate::{
    Alert, AlertKind, AlertLevel, AlertState, Clock, EngineMetrics, EventSummary, Incident,
    RulesConfig, RulesError, SystemClock,
};

/// The alerting and correlation engine.
///
/// Built once from a [`RulesConfig`]; then [`Engine::process`] is called on the pipeline
/// thread for each event, in order. It uses the event's own `timestamp` for windows and the
/// [`Clock`] for cooldowns, re-alert waits and detection times. It stamps `correlation_id` on
/// events that are part of a detected attack pattern, returns the alerts the event raised,
/// and hands them to the callbacks registered with [`Engine::on_alert`] /
/// [`Engine::on_alert_async`] (each on its own thread, never blocking this one).
///
/// Events of category `alert` (the engine's own output, fed back) are not evaluated, so an
/// alert can never trigger itself.
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Timestamp};
/// use siem_rules::{AlertLevel, Engine, ManualClock, RulesConfig};
/// use std::sync::Arc;
///
/// let config: RulesConfig = serde_json::from_str(r#"{
///     "defaults": false,
///     "alerts": [{"name": "brute_force", "condition": "event_type == 'auth.failure' AND count >= 3 in 1m by user", "level": "PAGE"}]
/// }"#).unwrap();
/// let clock = ManualClock::new(Timestamp::from_unix_secs(1_700_000_000));
/// let mut engine = Engine::with_clock(&config, Arc::new(clock)).unwrap();
///
/// let mut alerts = Vec::new();
/// for i in 0..3 {
///     let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
///     e.timestamp = Timestamp::from_unix_secs(1_700_000_000 + i);
///     e.actor.user = Some("alice".into());
///     alerts.extend(engine.process(&mut e));
/// }
/// assert_eq!(alerts.len(), 1);
/// assert_eq!(alerts[0].level, AlertLevel::Page);
/// assert_eq!(alerts[0].context.group, "user=alice");
/// assert_eq!(alerts[0].to_event().event_type.as_str(), "alert.threshold");
/// assert_eq!(engine.metrics().alerts_triggered, 1);
/// ```
pub struct Engine {
    enabled: bool,
    thresholds: Vec<ThresholdRule>,
    /// Groups held by all threshold rules, kept up to date from each event's changes.
    threshold_groups: i64,
    index: RuleIndex,
    candidates: Vec<usize>,
    correlator: Option<Correlator>,
    sigma: Option<SigmaRules>,
    clock: Arc<dyn Clock>,
    counters: MetricsHandle,
    dispatcher: AlertDispatcher,
    incidents: IncidentLog,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("enabled", &self.enabled)
            .field("rules", &self.rule_names())
            .field("correlation", &self.correlator.is_some())
            .field(
                "sigma_rules",
                &self.sigma.as_ref().map_or(0, SigmaRules::rule_count),
            )
            .finish_non_exhaustive()
    }
}

/// Callback queue length per callback.
const CALLBACK_QUEUE: usize = 1024;

impl Engine {
    /// Builds the engine with the system clock. Errors name the rule, the key and, for
    /// conditions, the column.
    pub fn new(config: &RulesConfig) -> Result<Engine, RulesError> {
        Engine::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds the engine with the given clock (a [`crate::ManualClock`] in tests and replays).
    pub fn with_clock(config: &RulesConfig, clock: Arc<dyn Clock>) -> Result<Engine, RulesError> {
        let max_groups = config.max_groups.max(1);
        let mut loaded = crate::loader::Loaded::default();
        if let Some(dir) = &config.rules_dir {
            loaded = crate::loader::load_dir(dir)?;
        }
        if let Some(selection) = &config.rules_dir_selection {
            for rule in &mut loaded.alerts {
                rule.enabled &= selection.alerting.contains(&rule.name);
            }
            crate::sigma::retain_selected(&mut loaded.sigma, selection);
        }
        let mut specs = Vec::new();
        let mut names = HashSet::new();
        for rule in config.alerts.iter().chain(loaded.alerts.iter()) {
            if !names.insert(rule.name.clone()) {
                return Err(RulesError::Duplicate(rule.name.clone()));
            }
            if rule.enabled {
                specs.push(rule.compile()?);
            }
        }
        if config.defaults {
            // A configured rule of the same name (enabled or not) replaces the default.
            let defaults = crate::defaults::default_rules()
                .into_iter()
                .filter(|d| !names.contains(&*d.name));
            specs.splice(0..0, defaults);
        }
        let sigma = if crate::sigma::is_empty(&loaded.sigma) {
            None
        } else {
            Some(
                SigmaRules::new(
                    &loaded.sigma,
                    max_groups,
                    config.sigma.cooldown,
                    config.rules_dir_selection.as_ref(),
                )
                .map_err(RulesError::Sigma)?,
            )
        };
        let c = &config.correlation;
        if c.enabled && (c.window.is_zero() || c.min_events < 2 || c.history < c.min_events) {
            return Err(RulesError::Invalid {
                rule: "correlation".into(),
                key: "window",
                reason: "needs a window above zero, min_events >= 2 and history >= min_events"
                    .into(),
            });
        }
        let correlator = c.enabled.then(|| {
            Correlator::new(CorrelatorSettings {
                window: c.window,
                min_events: c.min_events,
                history: c.history,
                max_groups,
            })
        });
        let counters = MetricsHandle::default();
        let thresholds: Vec<ThresholdRule> = specs
            .into_iter()
            .map(|s| ThresholdRule::new(s, max_groups))
            .collect();
        Ok(Engine {
            enabled: config.enabled,
            threshold_groups: 0,
            index: RuleIndex::new(thresholds.iter().map(|r| &r.spec.when)),
            candidates: Vec::new(),
            thresholds,
            correlator,
            sigma,
            clock,
            dispatcher: AlertDispatcher::with_counters(CALLBACK_QUEUE, counters.clone()),
            counters,
            incidents: IncidentLog::default(),
        })
    }

    /// Evaluates one event: may set `event.correlation_id`; returns the alerts it raised (and
    /// hands them to the registered callbacks).
    pub fn process(&mut self, event: &mut SecurityEvent) -> Vec<Alert> {
        let c: &Counters = &self.counters.0;
        if !self.enabled {
            return Vec::new();
        }
        c.events_processed.fetch_add(1, Ordering::Relaxed);
        if event.event_type.category() == "alert" {
            return Vec::new();
        }
        let now = self.clock.now();
        let mut alerts = Vec::new();
        let mut evicted = 0u64;
        if let Some(correlator) = &mut self.correlator {
            let out = correlator.process(event, now);
            evicted += out.evicted;
            Counters::add(&c.correlations_detected, out.alerts.len() as u64);
            alerts.extend(out.alerts);
        }
        let mut change = StateChange::default();
        self.index
            .candidates(event.event_type.as_str(), &mut self.candidates);
        for &i in &self.candidates {
            if let Some(a) = self.thresholds[i].process(event, now.unix_nanos(), &mut change) {
                alerts.push(a);
            }
        }
        evicted += change.evicted;
        self.threshold_groups += change.groups_delta;
        if let Some(sigma) = &mut self.sigma {
            alerts.extend(sigma.process(event, now));
        }
        alerts.retain(|a| a.level > AlertLevel::None);
        Counters::add(&c.groups_evicted, evicted);
        Counters::add(&c.alerts_triggered, alerts.len() as u64);
        c.groups_tracked
            .store(self.groups_tracked(), Ordering::Relaxed);
        for a in &alerts {
            self.incidents.record(a);
        }
        if !self.dispatcher.is_empty() {
            for a in &alerts {
                self.dispatcher.dispatch(a);
            }
        }
        alerts
    }

    fn groups_tracked(&self) -> u64 {
        let t: usize = self
            .thresholds
            .iter()
            .map(ThresholdRule::groups_tracked)
            .sum();
        let c = self
            .correlator
            .as_ref()
            .map_or(0, Correlator::groups_tracked);
        let s = self.sigma.as_ref().map_or(0, SigmaRules::groups_tracked);
        (t + c + s) as u64
    }

    /// Summaries of the events behind a correlation id (at most 100 per id; the newest 1 024
    /// ids are remembered). Empty for an unknown id.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// let engine = Engine::new(&RulesConfig::default()).unwrap();
    /// assert!(engine.correlated_events("tenant_attack:t1:1700000000").is_empty());
    /// ```
    pub fn correlated_events(&self, correlation_id: &str) -> Vec<EventSummary> {
        self.correlator
            .as_ref()
            .map_or_else(Vec::new, |c| c.store.get(correlation_id))
    }

    /// Registers a synchronous alert callback (seed 000's `alert_callback`), run on its own
    /// thread with panics caught; a slow callback loses alerts (counted), never delays events.
    ///
    /// ```
    /// use siem_rules::{Alert, AlertLevel, Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// engine.on_alert("pager", |alert: &Alert| {
    ///     if alert.level >= AlertLevel::Page { eprintln!("PAGE: {}", alert.message) }
    /// });
    /// ```
    pub fn on_alert<F>(&mut self, name: &str, callback: F)
    where
        F: Fn(&Alert) + Send + Sync + 'static,
    {
        self.dispatcher.on_alert(name, callback);
    }

    /// Registers the handler of a rule `action` (seed 003's `block_user`, `investigate` …): it
    /// receives only the alerts of rules whose `action` is `name`, on its own thread with
    /// panics caught, like [`Engine::on_alert`].
    ///
    /// ```
    /// use siem_rules::{Alert, Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// engine.on_action("block_user", |alert: &Alert| {
    ///     if let Some((_, user)) = alert.context.group_fields.iter().find(|(f, _)| f == "user") {
    ///         eprintln!("blocking {user}");
    ///     }
    /// });
    /// assert!(engine.has_action_handler("block_user"));
    /// ```
    pub fn on_action<F>(&mut self, name: &str, handler: F)
    where
        F: Fn(&Alert) + Send + Sync + 'static,
    {
        self.dispatcher.on_action(name, handler);
    }

    /// Like [`Engine::on_action`] for an async handler, driven on its own thread.
    ///
    /// ```
    /// use siem_rules::{Alert, Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// engine.on_action_async("investigate", |alert: Alert| async move {
    ///     let _ticket = format!("investigate {}", alert.message);
    /// });
    /// ```
    pub fn on_action_async<F, Fut>(&mut self, name: &str, handler: F)
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.dispatcher.on_action_async(name, handler);
    }

    /// True when a handler for the action `name` is registered.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// assert!(!Engine::new(&RulesConfig::default()).unwrap().has_action_handler("block_user"));
    /// ```
    pub fn has_action_handler(&self, name: &str) -> bool {
        self.dispatcher.handles_action(name)
    }

    /// Registers an async alert callback, driven on its own thread (no runtime needed).
    ///
    /// ```
    /// use siem_rules::{Alert, Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// engine.on_alert_async("slack", |alert: Alert| async move {
    ///     let _text = format!("{}: {}", alert.level, alert.message);
    /// });
    /// ```
    pub fn on_alert_async<F, Fut>(&mut self, name: &str, callback: F)
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.dispatcher.on_alert_async(name, callback);
    }

    /// Lets the callbacks finish their queued alerts, waiting up to `timeout`; true when all
    /// finished. Call at shutdown.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// assert!(engine.close_callbacks(std::time::Duration::from_secs(1)));
    /// ```
    pub fn close_callbacks(&mut self, timeout: std::time::Duration) -> bool {
        self.dispatcher.close(timeout)
    }

    /// Seed 000's `alert_states`: where each threshold rule stands (defaults first).
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// let engine = Engine::new(&RulesConfig::default()).unwrap();
    /// assert_eq!(engine.alert_states().len(), 8);
    /// ```
    pub fn alert_states(&self) -> Vec<AlertState> {
        let now = self.clock.now().unix_nanos();
        self.thresholds.iter().map(|r| r.state(now)).collect()
    }

    /// The reportable incidents remembered (the newest 1 024), oldest first, with their
    /// status as of now: which NIS2 early warnings are due or overdue.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// assert!(Engine::new(&RulesConfig::default()).unwrap().incidents().is_empty());
    /// ```
    pub fn incidents(&self) -> Vec<Incident> {
        self.incidents.list(self.clock.now())
    }

    /// How many incidents await their early warning: (due, overdue) as of now.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// assert_eq!(Engine::new(&RulesConfig::default()).unwrap().pending_incidents(), (0, 0));
    /// ```
    pub fn pending_incidents(&self) -> (u64, u64) {
        self.incidents.pending(self.clock.now())
    }

    /// Records that the early warning of incident `id` was sent; false for an unknown id.
    /// Later alerts of its rule and group open a new incident.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// let mut engine = Engine::new(&RulesConfig::default()).unwrap();
    /// assert!(!engine.incident_notified("no such incident"));
    /// ```
    pub fn incident_notified(&mut self, id: &str) -> bool {
        self.incidents.notified(id)
    }

    /// The counters now.
    pub fn metrics(&self) -> EngineMetrics {
        self.counters.snapshot()
    }

    /// A handle to read the counters from another thread.
    pub fn metrics_handle(&self) -> MetricsHandle {
        self.counters.clone()
    }

    /// The names of the loaded threshold rules (defaults first), for diagnostics.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// let engine = Engine::new(&RulesConfig::default()).unwrap();
    /// assert_eq!(engine.rule_names().len(), 8);
    /// assert!(engine.rule_names().contains(&"authentication_failure"));
    /// ```
    pub fn rule_names(&self) -> Vec<&str> {
        self.thresholds.iter().map(|r| &*r.spec.name).collect()
    }

    /// Each loaded threshold rule that names an action, with the action, for checking that
    /// every action is declared or handled.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig, Threshold};
    /// let config = RulesConfig::default().alerts(vec![Threshold::new("r").matching("x").action("block_user").into()]);
    /// assert_eq!(Engine::new(&config).unwrap().rule_actions(), [("r", "block_user")]);
    /// ```
    pub fn rule_actions(&self) -> Vec<(&str, &str)> {
        self.thresholds
            .iter()
            .filter_map(|r| Some((&*r.spec.name, r.spec.action.as_deref()?)))
            .collect()
    }

    /// Number of Sigma detection and correlation rules loaded.
    ///
    /// ```
    /// use siem_rules::{Engine, RulesConfig};
    /// assert_eq!(Engine::new(&RulesConfig::default()).unwrap().sigma_rule_count(), 0);
    /// ```
    pub fn sigma_rule_count(&self) -> usize {
        self.sigma.as_ref().map_or(0, SigmaRules::rule_count)
    }
}

/// Kind-specific helper used by docs and tests: true for alerts raised by correlation.
impl Alert {
    /// True for alerts from seed 000's patterns or Sigma correlations.
    ///
    /// ```
    /// use siem_rules::{Alert, AlertContext, AlertKind, AlertLevel};
    /// let a = Alert::new("x", AlertKind::Correlation, AlertLevel::Page, "m", AlertContext::default());
    /// assert!(a.is_correlation());
    /// ```
    pub fn is_correlation(&self) -> bool {
        matches!(
            self.kind,
            AlertKind::Correlation | AlertKind::SigmaCorrelation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_can_move_to_the_pipeline_thread() {
        fn send<T: Send>() {}
        send::<Engine>();
        send::<Alert>();
        fn share<T: Send + Sync>() {}
        share::<Alert>();
        share::<crate::MetricsHandle>();
    }
}
