//! Shared pieces of the integration tests: a sink that keeps what it receives.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_siem::event::SecurityEvent;
use tracing_siem::ship::{Batch, Sink, SinkError};

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
