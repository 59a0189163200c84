//! The Prometheus exposition reflects the metrics, per destination and per drop reason.
#![cfg(feature = "prometheus")]

mod support;

use std::time::Duration;

use support::Collect;
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

#[test]
fn exposition_has_per_destination_and_per_reason_series() {
    let (layer, guard) = SiemLayer::builder()
        .queue_capacity(1)
        .destination_with_sink(
            DestinationConfig::stdout().name("audit"),
            Box::new(Collect::default()),
        )
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..200 {
            tracing::warn!(event_type = "auth.success", "ok");
        }
    });
    handle.flush(Duration::from_secs(10));
    let text = handle.prometheus_text();
    let m = handle.metrics();
    assert!(m.events_dropped > 0);
    assert!(
        text.contains(&format!("siem_events_logged_total {}", m.events_logged)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "siem_events_shipped_total{{destination=\"audit\"}} {}",
            m.destinations[0].shipped
        )),
        "{text}"
    );
    assert!(
        text.contains("siem_events_dropped_total{reason=\"queue_full\"}"),
        "{text}"
    );
    assert!(text.contains("siem_running 1"), "{text}");
    drop(guard);
}
