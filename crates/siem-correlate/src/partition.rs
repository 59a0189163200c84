//! A partition's rule state: one engine per slice of the rules that reads this partition,
//! each on a clock set from the events' own timestamps, so that windows and cooldowns follow
//! event time wherever and whenever the partition is processed.

use std::sync::Arc;

use tracing_siem::event::{SecurityEvent, Timestamp};
use tracing_siem::rules::{Alert, Engine, ManualClock};
use tracing_siem::CorrelationPlan;

use crate::CorrelateError;

/// The engines of one partition, created as the partition's events first need them.
pub(crate) struct PartitionState {
    /// By slice: 0 is the events topic's own, 1.. the re-keyed ones.
    engines: Vec<Option<(Engine, ManualClock)>>,
    /// The offset of the next message this state expects (what it has seen ends before it).
    pub next_offset: i64,
}

impl PartitionState {
    pub fn new(slices: usize, next_offset: i64) -> PartitionState {
        PartitionState {
            engines: (0..slices).map(|_| None).collect(),
            next_offset,
        }
    }

    /// Runs `event` through slice `slice`'s rules on the event's own time.
    pub fn evaluate(
        &mut self,
        plan: &CorrelationPlan,
        slice: usize,
        event: &mut SecurityEvent,
    ) -> Result<Vec<Alert>, CorrelateError> {
        let entry = &mut self.engines[slice];
        if entry.is_none() {
            let config = match slice {
                0 => &plan.local.config,
                i => &plan.rekeyed[i - 1].config,
            };
            let clock = ManualClock::new(Timestamp::from_unix_secs(0));
            let engine = Engine::with_clock(config, Arc::new(clock.clone())).map_err(|e| {
                CorrelateError::Config(tracing_siem::ConfigError::invalid("rules", e.to_string()))
            })?;
            *entry = Some((engine, clock));
        }
        let (engine, clock) = entry.as_mut().expect("created above");
        clock.set(event.timestamp);
        Ok(engine.process(event))
    }
}
