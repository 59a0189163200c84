//! Counters of the engine and its callbacks, readable from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A snapshot of the engine's counters.
///
/// ```
/// use siem_rules::{Engine, RulesConfig};
/// let engine = Engine::new(&RulesConfig::default()).unwrap();
/// let m = engine.metrics();
/// assert_eq!(m.alerts_triggered, 0);
/// assert_eq!(m.groups_evicted, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EngineMetrics {
    /// Events the engine looked at.
    pub events_processed: u64,
    /// Alerts raised (all kinds; level NONE rules raise none).
    pub alerts_triggered: u64,
    /// Attack patterns detected (each new correlation id once).
    pub correlations_detected: u64,
    /// Groups currently tracked (threshold groups, correlation keys, Sigma correlation state).
    pub groups_tracked: u64,
    /// Groups evicted to stay under `max_groups` while still live.
    pub groups_evicted: u64,
    /// Alert callbacks that panicked.
    pub callback_panics: u64,
    /// Alerts not handed to a callback because its queue was full.
    pub callbacks_dropped: u64,
    /// Alerts handed to callbacks.
    pub callbacks_delivered: u64,
}

/// The live counters; cheap to clone and read from another thread (a metrics exporter).
///
/// ```
/// use siem_rules::{Engine, RulesConfig};
/// let engine = Engine::new(&RulesConfig::default()).unwrap();
/// let handle = engine.metrics_handle();
/// std::thread::spawn(move || assert_eq!(handle.snapshot().events_processed, 0)).join().unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetricsHandle(pub(crate) Arc<Counters>);

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) events_processed: AtomicU64,
    pub(crate) alerts_triggered: AtomicU64,
    pub(crate) correlations_detected: AtomicU64,
    pub(crate) groups_tracked: AtomicU64,
    pub(crate) groups_evicted: AtomicU64,
    pub(crate) callback_panics: AtomicU64,
    pub(crate) callbacks_dropped: AtomicU64,
    pub(crate) callbacks_delivered: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

impl MetricsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> EngineMetrics {
        let c = &self.0;
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineMetrics {
            events_processed: r(&c.events_processed),
            alerts_triggered: r(&c.alerts_triggered),
            correlations_detected: r(&c.correlations_detected),
            groups_tracked: r(&c.groups_tracked),
            groups_evicted: r(&c.groups_evicted),
            callback_panics: r(&c.callback_panics),
            callbacks_dropped: r(&c.callbacks_dropped),
            callbacks_delivered: r(&c.callbacks_delivered),
        }
    }
}
