//! What the pipeline tells its caller: its figures, and what a flush or shutdown achieved.

use crate::{DestinationMetrics, DropReason, QueueStats};

/// A snapshot of the pipeline's figures.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PipelineMetrics {
    /// The application-side queue.
    pub queue: QueueStats,
    /// Security events handed to the destinations: what the processor made of queued items
    /// (captured events, alerts) plus drop reports.
    pub events_routed: u64,
    /// `siem.events_dropped` report events the pipeline made itself.
    pub drop_reports: u64,
    /// Whether the pipeline thread is running.
    pub running: bool,
    /// Each destination.
    pub destinations: Vec<DestinationMetrics>,
}

impl PipelineMetrics {
    /// Events delivered, summed over destinations (an event sent to two destinations counts twice).
    pub fn shipped(&self) -> u64 {
        self.destinations.iter().map(|d| d.shipped).sum()
    }

    /// Events dropped anywhere: at the queue, and at each destination.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
            + self
                .destinations
                .iter()
                .map(|d| d.dropped_total())
                .sum::<u64>()
    }

    /// Failed send attempts over all destinations.
    pub fn ship_failures(&self) -> u64 {
        self.destinations.iter().map(|d| d.ship_failures).sum()
    }

    /// Drops by reason over the queue and every destination.
    pub fn drops_by_reason(&self) -> Vec<(DropReason, u64)> {
        DropReason::ALL
            .iter()
            .map(|&r| {
                let q: u64 = self
                    .queue
                    .drops_by_reason()
                    .iter()
                    .filter(|(qr, _)| *qr == r)
                    .map(|(_, n)| n)
                    .sum();
                let d: u64 = self
                    .destinations
                    .iter()
                    .flat_map(|d| d.dropped.iter())
                    .filter(|(dr, _)| *dr == r)
                    .map(|(_, n)| n)
                    .sum();
                (r, q + d)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// What a flush or shutdown achieved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// True when every destination answered before the deadline.
    pub completed: bool,
    /// Events still queued or in flight when the deadline passed, per destination name.
    pub undelivered: Vec<(String, u64)>,
    /// Events dropped so far, by reason (over the pipeline's whole life).
    pub dropped: Vec<(DropReason, u64)>,
    /// Events a destination still held when shutdown gave up waiting for it (a write blocked
    /// in the kernel, say): counted as dropped at the shutdown deadline, and included in
    /// `dropped`. Always 0 for a flush.
    pub abandoned: u64,
}

impl DeliveryReport {
    /// Events not delivered at the deadline, over all destinations.
    pub fn undelivered_total(&self) -> u64 {
        self.undelivered.iter().map(|(_, n)| n).sum()
    }
}
