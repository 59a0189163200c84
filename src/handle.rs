//! The guard returned with the layer, and a cloneable handle for flushing and metrics.

use std::sync::Arc;
use std::time::Duration;

use siem_ship::{DeliveryReport, DestinationMetrics, DropReason, Pipeline};

use crate::capture::CapturedEvent;

/// A snapshot of the figures seed 000 names, in total and per destination.
///
/// `events_logged` counts security events accepted from the application. Events without an
/// `event_type` of their own (WARN and above by default) are queued as candidates and
/// classified on the pipeline thread; those no rule matches are taken off the count once
/// classified, so a candidate still queued, or dropped by a full queue, counts as logged (and
/// as dropped). Each destination
/// accounts for every event it is offered as shipped, filtered or dropped (with the reason);
/// totals sum the destinations, so an event sent to two destinations is shipped twice.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Security events accepted into the queue.
    pub events_logged: u64,
    /// Events that would have been security events but were ignored because they were logged
    /// where shipping them could feed the pipeline with itself: on the pipeline's own threads
    /// (by a sink's dependencies, say) or by this library's own crates.
    pub events_ignored: u64,
    /// Events dropped anywhere (queue and destinations), see `drops_by_reason`.
    pub events_dropped: u64,
    /// Events delivered, summed over destinations.
    pub events_shipped: u64,
    /// Events waiting in destinations' disk spools, summed over destinations: neither shipped
    /// nor dropped yet, and safe from a restart.
    pub events_spooled: u64,
    /// Events not shipped on purpose: those sampling and rate limiting left out before the
    /// destinations, plus those destinations' filters did not take (summed over
    /// destinations); see `filtered_by_reason`.
    pub events_filtered: u64,
    /// `events_filtered` by reason: `sampled`, `rate_limited`, `destination_filter`.
    pub filtered_by_reason: Vec<(&'static str, u64)>,
    /// Alerts raised by the rules engine.
    pub alerts_triggered: u64,
    /// Attack patterns the correlator detected.
    pub correlations_detected: u64,
    /// `siem.events_dropped` reports the pipeline made (each is offered to every destination,
    /// and accounted for there like any event).
    pub drop_reports: u64,
    /// Failed send attempts, summed over destinations.
    pub ship_failures: u64,
    /// Events waiting in the application-side queue.
    pub queue_size: usize,
    /// Capacity of that queue.
    pub queue_capacity: usize,
    /// Events in batches being built, summed over destinations.
    pub batch_size: usize,
    /// Whether the pipeline runs.
    pub running: bool,
    /// Drops by reason.
    pub drops_by_reason: Vec<(DropReason, u64)>,
    /// The rules engine's figures (groups tracked and evicted, callback panics…).
    pub rules: siem_rules::EngineMetrics,
    /// Seed 000's `alert_states`: where each threshold rule stands (count in window, last
    /// alert, level, cooldown end).
    pub alert_states: Vec<siem_rules::AlertState>,
    /// Reportable incidents whose 24 h early warning is due and not yet late.
    pub incidents_due: u64,
    /// Reportable incidents whose early-warning deadline passed before it was recorded as sent.
    pub incidents_overdue: u64,
    /// Each destination.
    pub destinations: Vec<DestinationMetrics>,
}

pub(crate) struct Runtime {
    pub pipeline: Pipeline<Box<CapturedEvent>>,
    pub engine: Arc<parking_lot::Mutex<siem_rules::Engine>>,
    pub rules_metrics: siem_rules::MetricsHandle,
    pub shutdown_timeout: Duration,
    /// Queued events the pipeline thread's classifier found not to be security events.
    pub not_security: Arc<std::sync::atomic::AtomicU64>,
    /// See [`Metrics::events_ignored`].
    pub ignored: Arc<std::sync::atomic::AtomicU64>,
    /// Events sampling and rate limiting left out before the destinations.
    pub sampling: Arc<crate::sampling::SamplingCounters>,
}

/// A cloneable handle on the running pipeline: flush, metrics, shutdown.
///
/// ```
/// use std::time::Duration;
/// let (_layer, guard) = tracing_siem::SiemLayer::builder()
///     .build()
///     .unwrap();
/// let handle = guard.handle();
/// assert!(handle.flush(Duration::from_secs(1)).completed);
/// assert!(handle.metrics().running);
/// ```
#[derive(Clone)]
pub struct SiemHandle {
    pub(crate) runtime: Arc<Runtime>,
}

impl SiemHandle {
    /// Delivers every event logged before this call and flushes every destination, waiting at
    /// most `timeout`. The program keeps running and logging meanwhile.
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        self.runtime.pipeline.flush(timeout)
    }

    /// The current figures.
    pub fn metrics(&self) -> Metrics {
        let m = self.runtime.pipeline.metrics();
        let rules = self.runtime.rules_metrics.snapshot();
        let (alert_states, (incidents_due, incidents_overdue)) = {
            let engine = self.runtime.engine.lock();
            (engine.alert_states(), engine.pending_incidents())
        };
        let by_destination: u64 = m.destinations.iter().map(|d| d.filtered).sum();
        let mut filtered_by_reason = self.runtime.sampling.by_reason().to_vec();
        filtered_by_reason.push(("destination_filter", by_destination));
        Metrics {
            events_filtered: filtered_by_reason.iter().map(|(_, n)| n).sum(),
            filtered_by_reason,
            alert_states,
            incidents_due,
            incidents_overdue,
            events_logged: m.queue.accepted.saturating_sub(
                self.runtime
                    .not_security
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
            events_ignored: self
                .runtime
                .ignored
                .load(std::sync::atomic::Ordering::Relaxed),
            events_dropped: m.dropped(),
            events_shipped: m.shipped(),
            events_spooled: m.destinations.iter().map(|d| d.spooled).sum(),
            alerts_triggered: rules.alerts_triggered,
            correlations_detected: rules.correlations_detected,
            drop_reports: m.drop_reports,
            ship_failures: m.ship_failures(),
            queue_size: m.queue.len,
            queue_capacity: m.queue.capacity,
            batch_size: m.destinations.iter().map(|d| d.batch_size).sum(),
            running: m.running,
            drops_by_reason: m.drops_by_reason(),
            destinations: m.destinations,
            rules,
        }
    }

    /// Summaries of the events behind a correlation id (bounded: the newest ids, at most 100
    /// events each). Empty for an unknown id.
    pub fn correlated_events(&self, correlation_id: &str) -> Vec<siem_rules::EventSummary> {
        self.runtime.engine.lock().correlated_events(correlation_id)
    }

    /// The reportable incidents (NIS2), oldest first, with their status: which early warnings
    /// are due, which are overdue.
    ///
    /// ```
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .build()
    ///     .unwrap();
    /// assert!(guard.handle().incidents().is_empty());
    /// ```
    pub fn incidents(&self) -> Vec<siem_rules::Incident> {
        self.runtime.engine.lock().incidents()
    }

    /// Records that the early warning of incident `id` was sent; false for an unknown id.
    ///
    /// It also logs an `incident.notified` security event with `incident_id`, through the
    /// subscriber the call runs under (the global one in most programs), so that the record
    /// reaches the destinations and `siem report` can tell a met deadline from a missed one.
    ///
    /// ```
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .build()
    ///     .unwrap();
    /// assert!(!guard.handle().incident_notified("no such incident"));
    /// ```
    pub fn incident_notified(&self, id: &str) -> bool {
        let known = self.runtime.engine.lock().incident_notified(id);
        if known {
            // Not this crate's module path, which the layer ignores.
            tracing::info!(
                target: "siem_incidents",
                event_type = "incident.notified",
                incident_id = id,
                "NIS2 early warning recorded as sent for incident {id}"
            );
        }
        known
    }

    /// Stops the pipeline: delivers what is queued within `timeout` and closes every
    /// destination. Events logged afterwards are counted as dropped (after shutdown).
    pub fn shutdown(&self, timeout: Duration) -> DeliveryReport {
        let started = std::time::Instant::now();
        let report = self.runtime.pipeline.shutdown(timeout);
        // Let queued alert callbacks finish within what is left of the deadline.
        let left = timeout.saturating_sub(started.elapsed());
        self.runtime.engine.lock().close_callbacks(left);
        report
    }
}

/// Flushes and stops the pipeline when dropped, waiting up to the configured shutdown timeout
/// (10 s by default), and prints to standard error what it could not deliver.
///
/// Keep it alive for as long as the program logs (`let _guard = …` in `main`); a guard
/// dropped at once (`let _ = …`) stops shipping at once.
#[must_use = "dropping the guard stops the pipeline; bind it to a variable in main"]
pub struct SiemGuard {
    handle: SiemHandle,
}

impl SiemGuard {
    pub(crate) fn new(handle: SiemHandle) -> SiemGuard {
        SiemGuard { handle }
    }

    /// A handle for flushing and metrics that can be cloned and kept elsewhere.
    pub fn handle(&self) -> SiemHandle {
        self.handle.clone()
    }

    /// Shuts down now with an explicit deadline and returns the report instead of printing it.
    pub fn shutdown(self, timeout: Duration) -> DeliveryReport {
        self.handle.shutdown(timeout)
    }
}

impl Drop for SiemGuard {
    fn drop(&mut self) {
        let report = self.handle.shutdown(self.handle.runtime.shutdown_timeout);
        if !report.completed {
            eprintln!(
                "tracing-siem: shutdown deadline passed with {} security events undelivered ({:?})",
                report.undelivered_total(),
                report.undelivered
            );
        }
    }
}
