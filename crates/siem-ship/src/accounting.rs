//! Where every event ends up: shipped, filtered or dropped with a reason, per destination.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Why an event was not delivered.
///
/// ```
/// use siem_ship::DropReason;
/// assert_eq!(DropReason::QueueFull.as_str(), "queue_full");
/// assert_eq!(DropReason::ALL.len(), 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The application-side queue was full (drop-newest policy).
    QueueFull,
    /// Evicted from a full application-side queue to make room (drop-oldest policy).
    Evicted,
    /// The logging thread waited the block timeout and the queue stayed full.
    BlockTimeout,
    /// Logged after the pipeline was shut down.
    AfterShutdown,
    /// The destination's own queue was full (the destination is slower than the event rate).
    DestinationQueueFull,
    /// The destination refused the event and retrying cannot help.
    Rejected,
    /// Retries were exhausted.
    RetriesExhausted,
    /// Still undelivered when the shutdown deadline passed.
    ShutdownDeadline,
}

impl DropReason {
    /// Every reason, in a stable order (the index is the reason's slot in counters).
    pub const ALL: [DropReason; 8] = [
        DropReason::QueueFull,
        DropReason::Evicted,
        DropReason::BlockTimeout,
        DropReason::AfterShutdown,
        DropReason::DestinationQueueFull,
        DropReason::Rejected,
        DropReason::RetriesExhausted,
        DropReason::ShutdownDeadline,
    ];

    /// The snake-case name used in metrics and drop reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Evicted => "evicted",
            DropReason::BlockTimeout => "block_timeout",
            DropReason::AfterShutdown => "after_shutdown",
            DropReason::DestinationQueueFull => "destination_queue_full",
            DropReason::Rejected => "rejected",
            DropReason::RetriesExhausted => "retries_exhausted",
            DropReason::ShutdownDeadline => "shutdown_deadline",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live counters of one destination, updated by the pipeline and the destination's thread.
#[derive(Debug, Default)]
pub(crate) struct DestinationCounters {
    pub received: AtomicU64,
    pub shipped: AtomicU64,
    pub filtered: AtomicU64,
    pub dropped: [AtomicU64; 8],
    pub ship_failures: AtomicU64,
    pub batches: AtomicU64,
    pub batch_size: AtomicUsize,
    pub last_error: Mutex<Option<String>>,
}

impl DestinationCounters {
    pub fn count_drop(&self, reason: DropReason, n: u64) {
        self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self, name: &str, kind: &str, queue_size: usize) -> DestinationMetrics {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let dropped = DropReason::ALL.map(|r| (r, load(&self.dropped[r.index()])));
        DestinationMetrics {
            name: name.to_owned(),
            kind: kind.to_owned(),
            received: load(&self.received),
            shipped: load(&self.shipped),
            filtered: load(&self.filtered),
            dropped: dropped.iter().filter(|(_, n)| *n > 0).copied().collect(),
            ship_failures: load(&self.ship_failures),
            batches_sent: load(&self.batches),
            queue_size,
            batch_size: self.batch_size.load(Ordering::Relaxed),
            last_error: self.last_error.lock().clone(),
        }
    }
}

/// A snapshot of one destination's figures.
///
/// `received == shipped + filtered + dropped + in_flight()`: every event offered to the
/// destination is in exactly one of those states.
///
/// ```
/// use siem_ship::{DestinationMetrics, DropReason};
/// let m = DestinationMetrics {
///     name: "audit".into(),
///     received: 10,
///     shipped: 9,
///     dropped: vec![(DropReason::Rejected, 1)],
///     ..Default::default()
/// };
/// assert_eq!(m.in_flight(), 0);
/// assert_eq!(m.to_string(), "audit: shipped 9 of 10, filtered 0, dropped 1 (rejected 1), failed attempts 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestinationMetrics {
    /// The destination's configured name.
    pub name: String,
    /// The kind of sink (`file`, `stdout`, `syslog`…).
    pub kind: String,
    /// Events offered to this destination.
    pub received: u64,
    /// Events delivered.
    pub shipped: u64,
    /// Events this destination's filter did not accept.
    pub filtered: u64,
    /// Events dropped, by reason (reasons with a zero count are left out).
    pub dropped: Vec<(DropReason, u64)>,
    /// Failed send attempts (each retry that failed counts once).
    pub ship_failures: u64,
    /// Batches delivered.
    pub batches_sent: u64,
    /// Events waiting in this destination's queue.
    pub queue_size: usize,
    /// Events in the batch being built.
    pub batch_size: usize,
    /// The most recent delivery error, if any.
    pub last_error: Option<String>,
}

impl fmt::Display for DestinationMetrics {
    /// One line for people: `audit: shipped 9 of 10, filtered 0, dropped 1 (rejected 1), failed
    /// attempts 2, last error: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: shipped {} of {}, filtered {}, dropped {}",
            self.name,
            self.shipped,
            self.received,
            self.filtered,
            self.dropped_total()
        )?;
        if !self.dropped.is_empty() {
            let reasons: Vec<String> = self
                .dropped
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(f, ", failed attempts {}", self.ship_failures)?;
        if let Some(e) = &self.last_error {
            write!(f, ", last error: {e}")?;
        }
        Ok(())
    }
}

impl DestinationMetrics {
    /// All events dropped by this destination.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, n)| n).sum()
    }

    /// Events neither shipped, filtered nor dropped yet (queued, batched or being sent).
    pub fn in_flight(&self) -> u64 {
        self.received
            .saturating_sub(self.shipped + self.filtered + self.dropped_total())
    }
}
