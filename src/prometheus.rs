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
///     .build::<tracing_subscriber::Registry>()
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
        Ok(())
    }
}

impl SiemHandle {
    /// The metrics in the Prometheus text exposition format (feature `prometheus`).
    ///
    /// ```
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder()
    ///     .build::<tracing_subscriber::Registry>()
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
