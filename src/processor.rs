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
    /// The check that the subscriber lets WARN events through, due once; `None` when notices
    /// are off or it was made.
    pub level_check: Option<LevelCheck>,
    /// Thins high-volume events after the rules saw them, before the destinations.
    pub sampler: Sampler,
}

/// A global level filter that stops WARN events (a global `EnvFilter` with `RUST_LOG` unset
/// keeps only ERROR) cuts the SIEM off without a word; so a little after start, once, the
/// pipeline looks at the subscriber's maximum level and says so on standard error.
pub(crate) struct LevelCheck {
    pub due: std::time::Instant,
}

impl LevelCheck {
    /// After this long the subscriber is surely installed.
    pub const AFTER: std::time::Duration = std::time::Duration::from_secs(1);

    /// The notice to print when the current maximum level hides WARN events.
    fn notice() -> Option<String> {
        let max = tracing::level_filters::LevelFilter::current();
        (max < tracing::level_filters::LevelFilter::WARN).then(|| {
            format!(
                "tracing-siem: the subscriber's maximum level is {max}, so WARN security events \
                 never reach the SIEM layer. A global filter does this (an EnvFilter with RUST_LOG \
                 unset keeps only ERROR): give the other layers their own filter instead, \
                 `fmt::layer().with_filter(EnvFilter::from_default_env())`, and add the SIEM \
                 layer unfiltered (see the README's first example)."
            )
        })
    }
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

    fn tick(&mut self, _now: siem_event::Timestamp, _out: &mut Vec<SecurityEvent>) {
        if self
            .level_check
            .as_ref()
            .is_some_and(|c| std::time::Instant::now() >= c.due)
        {
            self.level_check = None;
            if let Some(line) = LevelCheck::notice() {
                eprintln!("{line}");
            }
        }
    }

    fn complete(&mut self, event: &mut SecurityEvent) {
        self.normalizer.stamp_origin(event);
    }
}
