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
