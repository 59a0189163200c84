//! The correlator's figures in the Prometheus text format the layer's `SiemCollector` uses
//! (`prometheus-client`), served on `correlate.metrics.listen` at `GET /metrics`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A partition, as a metric's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PartitionLabels {
    pub topic: String,
    pub partition: i32,
}

/// Why a message was skipped, as a metric's label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SkipLabels {
    pub reason: &'static str,
}

/// Every figure the correlator keeps.
#[derive(Default)]
pub(crate) struct CorrelateMetrics {
    pub events: Counter,
    pub alerts: Counter,
    pub alerts_suppressed: Counter,
    pub warmup_events: Counter,
    pub skipped: Family<SkipLabels, Counter>,
    pub rebalances: Counter,
    pub commits: Counter,
    pub commits_deferred: Counter,
    pub repartitioned: Counter,
    pub lag: Family<PartitionLabels, Gauge>,
    pub partitions_owned: Gauge,
}

impl CorrelateMetrics {
    /// Counts one skipped message.
    pub fn skip(&self, reason: &'static str) {
        self.skipped.get_or_create(&SkipLabels { reason }).inc();
    }

    /// The figures in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("siem_correlate");
        registry.register(
            "events",
            "Events taken from the topics and evaluated",
            self.events.clone(),
        );
        registry.register("alerts", "Alerts raised and shipped", self.alerts.clone());
        registry.register(
            "alerts_suppressed",
            "Alerts raised while re-reading a partition's log before its committed offset (its previous owner shipped them)",
            self.alerts_suppressed.clone(),
        );
        registry.register(
            "warmup_events",
            "Events re-read to rebuild window state after a partition moved",
            self.warmup_events.clone(),
        );
        registry.register(
            "skipped",
            "Messages skipped: not_json, too_large, empty, unknown_slice, repeated_copy",
            self.skipped.clone(),
        );
        registry.register(
            "rebalances",
            "Partition assignments and revocations",
            self.rebalances.clone(),
        );
        registry.register(
            "commits",
            "Offset commits after the alerts of a batch were shipped",
            self.commits.clone(),
        );
        registry.register(
            "commits_deferred",
            "Batches not committed because their alerts could not be shipped (re-read later)",
            self.commits_deferred.clone(),
        );
        registry.register(
            "repartitioned",
            "Events re-produced to the repartition topic",
            self.repartitioned.clone(),
        );
        registry.register(
            "partition_lag",
            "Messages in a partition not yet processed",
            self.lag.clone(),
        );
        registry.register(
            "partitions_owned",
            "Partitions assigned to this instance",
            self.partitions_owned.clone(),
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

/// Serves `metrics` on a listener, one connection at a time (a scraper every few seconds is
/// the whole load), until dropped.
pub(crate) struct MetricsServer {
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
}

impl MetricsServer {
    pub fn start(
        listener: TcpListener,
        metrics: Arc<CorrelateMetrics>,
    ) -> std::io::Result<MetricsServer> {
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("siem-correlate-metrics".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    // A client that stalls or sends nonsense costs at most the timeouts.
                    let _ = answer(stream, &metrics);
                }
            })?;
        Ok(MetricsServer { address, stop })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees the flag and closes the listener.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
    }
}

fn answer(mut stream: TcpStream, metrics: &CorrelateMetrics) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut request = [0u8; 1024];
    let n = stream.read(&mut request)?;
    let head = &request[..n];
    let (status, body) = if head.starts_with(b"GET /metrics ") || head.starts_with(b"GET / ") {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "GET /metrics\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_render_with_their_labels() {
        let m = CorrelateMetrics::default();
        m.events.inc_by(3);
        m.skip("not_json");
        m.lag
            .get_or_create(&PartitionLabels {
                topic: "events".into(),
                partition: 2,
            })
            .set(7);
        let text = m.render();
        assert!(text.contains("siem_correlate_events_total 3"), "{text}");
        assert!(
            text.contains("siem_correlate_skipped_total{reason=\"not_json\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("siem_correlate_partition_lag{topic=\"events\",partition=\"2\"} 7"),
            "{text}"
        );
    }
}
