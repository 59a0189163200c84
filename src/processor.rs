//! The work done on the pipeline thread for each captured event.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use siem_event::SecurityEvent;
use siem_rules::{Engine, Origin};
use siem_ship::Processor;

use crate::capture::{CapturedEvent, Recycler};
use crate::normalize::Normalizer;
use crate::sampling::Sampler;

/// Normalises captured events into security events, then runs the rules engine, which may
/// stamp a correlation id and raise alerts; alerts are shipped as `alert.*` events after the
/// event that raised them.
pub(crate) struct SecurityProcessor {
    pub normalizer: Normalizer,
    /// Shared with the handle, which looks up correlated events; only this thread evaluates.
    pub engine: Arc<Mutex<Engine>>,
    /// Where processed records go back for the application threads to reuse.
    pub recycler: Arc<Recycler>,
    /// Queued candidates (events without an `event_type` of their own) that no
    /// classification rule made a security event.
    pub not_security: Arc<AtomicU64>,
    /// Thins high-volume events after the rules saw them, before the destinations.
    pub sampler: Sampler,
}

impl Processor<Box<CapturedEvent>> for SecurityProcessor {
    fn process(&mut self, item: Box<CapturedEvent>, out: &mut Vec<SecurityEvent>) {
        let event = self.normalizer.normalize(&item);
        self.recycler.give_back(item);
        let Some(mut event) = event else {
            self.not_security.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let alerts = self.engine.lock().process(&mut event);
        if self.sampler.keep(&event) {
            out.push(event);
        }
        for mut alert in alerts {
            alert.origin.get_or_insert_with(|| Origin {
                host: Arc::clone(&self.normalizer.host),
                app: Arc::clone(&self.normalizer.app),
                labels: Arc::clone(&self.normalizer.labels),
            });
            let event = alert.to_event();
            if self.sampler.keep(&event) {
                out.push(event);
            }
        }
    }
}
