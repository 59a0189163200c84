//! Per-severity overflow through the configuration. At the application queue the behaviour is
//! proven where it is deterministic, on the queue itself (`siem-ship`'s queue tests: a flood of
//! ordinary items leaves the reserve to protected ones under every overflow policy, and the same
//! flood sheds them without a reserve). At a destination's queue, behind a stalled destination,
//! it is shown through the layer here.

#[path = "../crates/siem-ship/tests/gate/mod.rs"]
mod gate;

use std::time::{Duration, Instant};

use tracing::{error, warn};
use tracing_siem::{Config, DestinationConfig, SiemBuilder};
use tracing_subscriber::prelude::*;

#[test]
fn protection_settings_are_validated() {
    let yaml = |protect: &str| format!("queue: {{ capacity: 100, protect: {protect} }}\n");
    for (protect, key) in [
        ("{ min_severity: urgent }", "queue.protect.min_severity"),
        ("{ reserve: 100 }", "queue.protect.reserve"),
        ("{ max_wait: 2m }", "queue.protect.max_wait"),
    ] {
        let err = Config::from_yaml_str(&yaml(protect)).unwrap_err();
        assert!(err.to_string().contains(key), "{protect}: {err}");
    }
    assert!(Config::from_yaml_str(&yaml("{ min_severity: off, reserve: 100 }")).is_ok());
    assert!(Config::from_yaml_str(&yaml("{ min_severity: critical, reserve: 99 }")).is_ok());
}

/// Logs a low-severity flood far larger than a stalled destination's queue (20), then two
/// errors (severity high), and returns how many of the errors the destination delivers once
/// it resumes.
fn errors_delivered_after_a_flood(protect: &str) -> usize {
    let config = Config::from_yaml_str(&format!(
        "queue: {{ capacity: 1000, protect: {protect} }}\nrules: {{ enabled: false }}\n"
    ))
    .unwrap();
    let gate = gate::Gate::default();
    let destination = DestinationConfig::stdout()
        .name("stalled")
        .queue_capacity(20)
        .batch(tracing_siem::BatchConfig::default().max_events(1));
    let (layer, guard) = SiemBuilder::from_config(config)
        .destination_with_sink(destination, Box::new(gate.clone()))
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..200 {
            warn!(event_type = "auth.failure", severity = "low", "flood {i}");
        }
        for i in 0..2 {
            error!(event_type = "auth.failure", "attack signal {i}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.metrics().destinations[0].received < 202 {
        assert!(Instant::now() < deadline, "{:?}", handle.metrics());
        std::thread::sleep(Duration::from_millis(5));
    }
    gate.open();
    guard.shutdown(Duration::from_secs(10));
    gate.delivered_containing("attack signal").len()
}

#[test]
fn the_reserve_holds_at_a_stalled_destination_queue_too() {
    // queue.protect's reserve (a tenth by default) applies to each destination's queue as well:
    // here 2 of 20 places.
    assert_eq!(errors_delivered_after_a_flood("{ min_severity: high }"), 2);
    assert_eq!(
        errors_delivered_after_a_flood("{ min_severity: off }"),
        0,
        "without protection the flood takes every place"
    );
}
