//! Shared pieces of the integration tests: a sink that keeps what it receives.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_siem::event::SecurityEvent;
use tracing_siem::{Batch, Sink, SinkError};
use tracing_siem::{DestinationConfig, Metrics, SiemBuilder};
use tracing_subscriber::prelude::*;

/// Runs `f` under a registry with the built layer feeding a collecting sink named `test`;
/// returns the sink and the metrics once everything was delivered.
pub fn run(builder: SiemBuilder, f: impl FnOnce()) -> (Collect, Metrics) {
    let sink = Collect::default();
    let (layer, guard) = builder
        .destination_with_sink(
            DestinationConfig::stdout().name("test"),
            Box::new(sink.clone()),
        )
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    let report = guard.shutdown(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    (sink, handle.metrics())
}

/// A slow destination behind small queues, so that it overflows: `emitted` security events
/// (`auth.failure`, numbered `n`) are logged into it, then the pipeline is shut down. Returns the
/// sink, the figures after shutdown, and whether shutdown delivered everything in time.
pub struct Overflow {
    /// The destination's time per batch.
    pub delay: Duration,
    /// Events per batch.
    pub batch_events: usize,
    /// The destination's queue.
    pub destination_queue: usize,
    /// Events logged.
    pub emitted: u64,
}

impl Overflow {
    /// Runs it through `builder` (which sets the application queue and anything else).
    pub fn run(&self, builder: SiemBuilder) -> (Collect, Metrics, bool) {
        let sink = Collect {
            delay: self.delay,
            ..Collect::default()
        };
        let mut dest = DestinationConfig::stdout()
            .name("slow")
            .batch(tracing_siem::BatchConfig::default().max_events(self.batch_events));
        dest.queue_capacity = self.destination_queue;
        let (layer, guard) = builder
            .destination_with_sink(dest, Box::new(sink.clone()))
            .build()
            .unwrap();
        let handle = guard.handle();
        let emitted = self.emitted;
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for i in 0..emitted {
                tracing::warn!(event_type = "auth.failure", n = i, "Failed");
            }
        });
        let report = guard.shutdown(Duration::from_secs(60));
        (sink, handle.metrics(), report.completed)
    }
}

/// Keeps every record it is sent; optionally slow.
#[derive(Clone, Default)]
pub struct Collect {
    pub records: Arc<Mutex<Vec<Vec<u8>>>>,
    pub delay: Duration,
}

impl Sink for Collect {
    fn kind(&self) -> &'static str {
        "collect"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        std::thread::sleep(self.delay);
        self.records
            .lock()
            .unwrap()
            .extend(batch.records().map(<[u8]>::to_vec));
        Ok(())
    }
}

impl Collect {
    /// The records received so far, decoded from canonical JSON.
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .map(|r| tracing_siem::format::decode_json(r).expect("canonical JSON decodes"))
            .collect()
    }

    /// The event types of the records received so far, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e.event_type.as_str().to_owned())
            .collect()
    }

    /// The records received so far as JSON values.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.records
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(r).expect("valid JSON"))
            .collect()
    }
}

/// A field of a JSON event, wherever the JSON format nests it (`outcome.reason`,
/// `actor.username`, `metadata.…`): the first key of that name, depth first.
pub fn json_field<'a>(event: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    let object = event.as_object()?;
    object
        .get(name)
        .or_else(|| object.values().find_map(|inner| json_field(inner, name)))
}

/// The text of [`json_field`] `name`; panics naming the event when there is none.
pub fn json_text<'a>(event: &'a serde_json::Value, name: &str) -> &'a str {
    json_field(event, name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("no text field {name} in {event}"))
}
