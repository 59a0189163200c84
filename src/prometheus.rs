//! Prometheus exposition of the metrics (feature `prometheus`), through `prometheus-client`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::SiemHandle;

/// A `prometheus-client` collector that reads the handle's metrics on every scrape.
///
/// ```
/// use prometheus_client::registry::Registry;
/// let (_layer, guard) = tracing_siem::SiemLayer::builder()
///     .build()
///     .unwrap();
/// let mut registry = Registry::default();
/// registry.register_collector(Box::new(tracing_siem::SiemCollector::new(guard.handle())));
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains("siem_events_logged_total 0"));
/// ```
pub struct SiemCollector {
    handle: SiemHandle,
}

impl SiemCollector {
    /// A collector for the pipeline behind `handle`.
    pub fn new(handle: SiemHandle) -> SiemCollector {
        SiemCollector { handle }
    }
}

impl std::fmt::Debug for SiemCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiemCollector")
    }
}

fn counter(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

/// A counter family with one label.
fn counters(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &'static str,
    values: &[(String, u64)],
) -> std::fmt::Result {
    let kind = ConstCounter::new(0u64).metric_type();
    let mut family = e.encode_descriptor(name, help, None, kind)?;
    for (l, v) in values {
        ConstCounter::new(*v).encode(family.encode_family(&[(label, l.as_str())])?)?;
    }
    Ok(())
}

/// A gauge family with one label.
fn gauges(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &'static str,
    values: &[(&str, i64)],
) -> std::fmt::Result {
    let kind = ConstGauge::new(0i64).metric_type();
    let mut family = e.encode_descriptor(name, help, None, kind)?;
    for (l, v) in values {
        ConstGauge::new(*v).encode(family.encode_family(&[(label, *l)])?)?;
    }
    Ok(())
}

/// Seed 000's `alert_states`, one gauge family per field, labelled by rule.
fn alert_states(
    e: &mut DescriptorEncoder<'_>,
    states: &[siem_rules::AlertState],
) -> std::fmt::Result {
    let per_rule = |f: &dyn Fn(&siem_rules::AlertState) -> Option<i64>| -> Vec<(&str, i64)> {
        states
            .iter()
            .filter_map(|s| f(s).map(|v| (s.rule.as_str(), v)))
            .collect()
    };
    gauges(
        e,
        "siem_alert_state_count",
        "Matching events inside each threshold rule's window",
        "rule",
        &per_rule(&|s| Some(s.count_in_window as i64)),
    )?;
    gauges(
        e,
        "siem_alert_state_level",
        "Level of each rule's latest alert (0 NONE to 5 CRITICAL), or the rule's level",
        "rule",
        &per_rule(&|s| Some(i64::from(s.level.value()))),
    )?;
    gauges(
        e,
        "siem_alert_state_last_alert_timestamp_seconds",
        "When each rule last alerted (Unix seconds)",
        "rule",
        &per_rule(&|s| s.last_alert.map(|t| t.unix_secs())),
    )?;
    gauges(
        e,
        "siem_alert_state_cooldown_until_timestamp_seconds",
        "End of each rule's running cooldown (Unix seconds)",
        "rule",
        &per_rule(&|s| s.cooldown_until.map(|t| t.unix_secs())),
    )
}

impl Collector for SiemCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = self.handle.metrics();
        let per_dest = |f: fn(&siem_ship::DestinationMetrics) -> u64| -> Vec<(String, u64)> {
            m.destinations
                .iter()
                .map(|d| (d.name.clone(), f(d)))
                .collect()
        };
        counter(
            &mut e,
            "siem_events_logged",
            "Security events accepted from the application",
            m.events_logged,
        )?;
        counters(
            &mut e,
            "siem_events_dropped",
            "Security events dropped, by reason",
            "reason",
            &m.drops_by_reason
                .iter()
                .map(|(r, n)| (r.as_str().to_owned(), *n))
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "siem_events_shipped",
            "Security events delivered, by destination",
            "destination",
            &per_dest(|d| d.shipped),
        )?;
        counters(
            &mut e,
            "siem_events_filtered",
            "Security events a destination's filter did not take",
            "destination",
            &per_dest(|d| d.filtered),
        )?;
        counters(
            &mut e,
            "siem_events_sampled_out",
            "Security events sampling and rate limiting left out before the destinations, by reason",
            "reason",
            &m.filtered_by_reason
                .iter()
                .filter(|(r, _)| *r != "destination_filter")
                .map(|(r, n)| ((*r).to_owned(), *n))
                .collect::<Vec<_>>(),
        )?;
        counters(
            &mut e,
            "siem_ship_failures",
            "Failed send attempts, by destination",
            "destination",
            &per_dest(|d| d.ship_failures),
        )?;
        counter(
            &mut e,
            "siem_alerts_triggered",
            "Alerts raised by the rules engine",
            m.alerts_triggered,
        )?;
        counter(
            &mut e,
            "siem_correlations_detected",
            "Attack patterns detected by the correlator",
            m.correlations_detected,
        )?;
        gauge(
            &mut e,
            "siem_queue_size",
            "Security events waiting in the application-side queue",
            m.queue_size as i64,
        )?;
        gauge(
            &mut e,
            "siem_queue_capacity",
            "Capacity of the application-side queue",
            m.queue_capacity as i64,
        )?;
        gauge(
            &mut e,
            "siem_batch_size",
            "Security events in batches being built",
            m.batch_size as i64,
        )?;
        gauge(
            &mut e,
            "siem_running",
            "1 while the pipeline runs",
            i64::from(m.running),
        )?;
        gauges(
            &mut e,
            "siem_destination_breaker",
            "A destination's circuit breaker: 0 closed, 1 open, 2 half-open (probing)",
            "destination",
            &m.destinations
                .iter()
                .map(|d| {
                    let state = match d.breaker {
                        siem_ship::Breaker::Closed => 0,
                        siem_ship::Breaker::Open => 1,
                        _ => 2,
                    };
                    (d.name.as_str(), state)
                })
                .collect::<Vec<_>>(),
        )?;
        gauges(
            &mut e,
            "siem_events_spooled",
            "Security events waiting in a destination's disk spool, by destination",
            "destination",
            &per_dest(|d| d.spooled)
                .iter()
                .map(|(name, n)| (name.as_str(), *n as i64))
                .collect::<Vec<_>>(),
        )?;
        gauges(
            &mut e,
            "siem_spool_bytes",
            "Bytes of a destination's disk spool files, by destination",
            "destination",
            &per_dest(|d| d.spool_bytes)
                .iter()
                .map(|(name, n)| (name.as_str(), *n as i64))
                .collect::<Vec<_>>(),
        )?;
        alert_states(&mut e, &m.alert_states)?;
        gauges(
            &mut e,
            "siem_incidents",
            "Reportable incidents awaiting their NIS2 early warning, by status",
            "status",
            &[
                ("due", m.incidents_due as i64),
                ("overdue", m.incidents_overdue as i64),
            ],
        )?;
        Ok(())
    }
}

impl SiemHandle {
    /// The metrics in the Prometheus text exposition format (feature `prometheus`).
    ///
    /// ```
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .build()
    ///     .unwrap();
    /// let text = guard.handle().prometheus_text();
    /// assert!(text.contains("# TYPE siem_queue_size gauge"));
    /// ```
    pub fn prometheus_text(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SiemCollector::new(self.clone())));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("writing to a String cannot fail");
        text
    }
}
