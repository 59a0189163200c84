//! A partition's rule state: one engine per slice of the rules that reads this partition,
//! each on a clock set from the events' own timestamps, so that windows and cooldowns follow
//! event time wherever and whenever the partition is processed.

use std::collections::HashMap;
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
    /// Per re-keyed slice and events-topic partition, the highest offset whose copy was
    /// evaluated.
    copies_seen: HashMap<(usize, i32), i64>,
}

impl PartitionState {
    pub fn new(slices: usize, next_offset: i64) -> PartitionState {
        PartitionState {
            engines: (0..slices).map(|_| None).collect(),
            next_offset,
            copies_seen: HashMap::new(),
        }
    }

    /// Whether a copy for `slice` of the events-topic message at `origin` (partition, offset)
    /// is seen for the first time, and notes it. Copies of one events partition arrive in
    /// offset order; one at or below the highest already seen is a repeat of a batch copied
    /// again (see [`crate::repartition`]).
    pub fn first_sight(&mut self, slice: usize, (partition, offset): (i32, i64)) -> bool {
        let highest = self.copies_seen.entry((slice, partition)).or_insert(-1);
        if offset <= *highest {
            return false;
        }
        *highest = offset;
        true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_made_again_is_a_repeat_per_slice_and_origin_partition() {
        let mut state = PartitionState::new(3, 0);
        for offset in 10..=20 {
            assert!(state.first_sight(1, (0, offset)));
        }
        // The batch 15..=20 copied again by the next owner, then new copies.
        assert!((15..=20).all(|offset| !state.first_sight(1, (0, offset))));
        assert!(state.first_sight(1, (0, 21)));
        // Other slices and other origin partitions keep their own order.
        assert!(state.first_sight(2, (0, 15)));
        assert!(state.first_sight(1, (1, 3)));
    }
}
