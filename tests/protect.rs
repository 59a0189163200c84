//! Per-severity overflow through the layer: with the pipeline stalled behind a blocked
//! destination, low-severity events fill the ordinary part of the application queue and high
//! ones still find the reserved places, and are all delivered once the destination recovers.
//! (The queue's own tests, in `siem-ship`, show the same high items lost without the reserve.)

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tracing_siem::{
    Batch, BatchConfig, Config, DestinationConfig, DropReason, Overflow, ProtectConfig,
    QueueConfig, SiemBuilder, Sink, SinkError,
};
use tracing_subscriber::prelude::*;

/// A destination that holds every batch until it is opened, keeping what it receives.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<(Mutex<bool>, Condvar)>,
    records: Arc<Mutex<Vec<String>>>,
}

impl Gate {
    fn open(&self) {
        let (lock, cvar) = &*self.open;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }
}

impl Sink for Gate {
    fn kind(&self) -> &'static str {
        "gate"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let (lock, cvar) = &*self.open;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cvar.wait(open).unwrap();
        }
        let mut records = self.records.lock().unwrap();
        records.extend(
            batch
                .records()
                .map(|r| String::from_utf8_lossy(r).into_owned()),
        );
        Ok(())
    }
}

/// Logs `low` low-severity events then 5 high ones into a pipeline stalled behind a closed
/// destination (it waits up to 10 s for room there: `overflow: block`); returns how many high
/// events arrived and the drops by reason.
fn stalled(protect: ProtectConfig, low: u64) -> (usize, Vec<(DropReason, u64)>) {
    let gate = Gate::default();
    let mut queue = QueueConfig::default()
        .capacity(20)
        .overflow(Overflow::Block)
        .block_timeout(Duration::from_secs(10));
    queue.protect = protect;
    let mut config = Config::default().queue(queue);
    config.stderr_notices = false;
    let destination = DestinationConfig::stdout()
        .name("gate")
        .queue_capacity(1)
        .batch(BatchConfig::default().max_events(1));
    let (layer, guard) = SiemBuilder::from_config(config)
        .without_default_rules()
        .destination_with_sink(destination, Box::new(gate.clone()))
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for n in 0..low {
            tracing::warn!(
                event_type = "network.connection_failed",
                severity = "low",
                n,
                "noise"
            );
        }
        for n in 0..5 {
            tracing::error!(event_type = "auth.failure", severity = "high", n, "attack");
        }
    });
    gate.open();
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let high = gate
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains("\"auth.failure\""))
        .count();
    (high, handle.metrics().drops_by_reason)
}

#[test]
fn high_severity_events_logged_into_a_stalled_pipeline_take_the_reserve_and_arrive() {
    // 15 ordinary places: the low events take them (and the few the stalled pipeline holds);
    // the 5 high ones go into the 5 reserved places without waiting.
    let (high, drops) = stalled(ProtectConfig::default().reserve(5), 15);
    assert_eq!(high, 5, "every high event delivered; drops: {drops:?}");
    assert!(drops.iter().all(|(_, n)| *n == 0), "{drops:?}");
}

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
