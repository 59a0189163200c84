//! Where every event ends up: shipped, filtered or dropped with a reason, per destination.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Why an event was not delivered.
///
/// ```
/// use siem_ship::DropReason;
/// assert_eq!(DropReason::QueueFull.as_str(), "queue_full");
/// assert_eq!(DropReason::ALL.len(), 9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// Written to a plain syslog stream (TCP, TLS) whose connection then broke, and no longer
    /// in the sink's resend window: it may or may not have reached the collector.
    Unconfirmed,
}

impl DropReason {
    /// Every reason, in a stable order (the index is the reason's slot in counters).
    pub const ALL: [DropReason; 9] = [
        DropReason::QueueFull,
        DropReason::Evicted,
        DropReason::BlockTimeout,
        DropReason::AfterShutdown,
        DropReason::DestinationQueueFull,
        DropReason::Rejected,
        DropReason::RetriesExhausted,
        DropReason::ShutdownDeadline,
        DropReason::Unconfirmed,
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
            DropReason::Unconfirmed => "unconfirmed",
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

/// Live counters of one destination, updated by the pipeline and the destination's threads.
///
/// Where an event ends up (received, then shipped, filtered or dropped) is counted under a
/// lock that [`settle`](DestinationCounters::settle) takes too: once a destination is settled
/// at the shutdown deadline, what its abandoned threads do later changes no figure, so the
/// figures returned at shutdown stay exact.
#[derive(Debug, Default)]
pub(crate) struct DestinationCounters {
    received: AtomicU64,
    shipped: AtomicU64,
    filtered: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    /// True once settled.
    settled: Mutex<bool>,
    pub ship_failures: AtomicU64,
    pub batches: AtomicU64,
    pub batch_size: AtomicUsize,
    /// Whether the last delivery attempt failed.
    pub failing: AtomicBool,
    pub last_error: Mutex<Option<String>>,
}

impl DestinationCounters {
    /// Adds `n` to `counter` unless the destination is settled.
    fn count(&self, counter: &AtomicU64, n: u64) {
        if n == 0 {
            return;
        }
        let settled = self.settled.lock();
        if !*settled {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn count_received(&self, n: u64) {
        self.count(&self.received, n);
    }

    pub fn count_filtered(&self, n: u64) {
        self.count(&self.filtered, n);
    }

    /// Takes back `n` received events that were withdrawn before the destination took them.
    pub fn withdraw_received(&self, n: u64) {
        let settled = self.settled.lock();
        if !*settled {
            self.received.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Counts a delivered batch of `n` events.
    pub fn count_shipped(&self, n: u64) {
        self.count(&self.shipped, n);
    }

    pub fn count_drop(&self, reason: DropReason, n: u64) {
        self.count(&self.dropped[reason.index()], n);
    }

    /// Moves `n` events counted as shipped to dropped for `reason` (a sink learned later that
    /// they may not have arrived).
    pub fn unship(&self, reason: DropReason, n: u64) {
        if n == 0 {
            return;
        }
        let settled = self.settled.lock();
        if !*settled {
            let shipped = self.shipped.load(Ordering::Relaxed);
            let n = n.min(shipped);
            self.shipped.fetch_sub(n, Ordering::Relaxed);
            self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts every event still in flight as dropped at the shutdown deadline and freezes the
    /// figures; returns how many that was.
    pub fn settle(&self) -> u64 {
        let mut settled = self.settled.lock();
        if *settled {
            return 0;
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let done =
            load(&self.shipped) + load(&self.filtered) + self.dropped.iter().map(load).sum::<u64>();
        let in_flight = load(&self.received).saturating_sub(done);
        self.dropped[DropReason::ShutdownDeadline.index()].fetch_add(in_flight, Ordering::Relaxed);
        *settled = true;
        in_flight
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
            failing: self.failing.load(Ordering::Relaxed),
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
/// // A snapshot comes from `Destination::metrics` or `SiemHandle::metrics`; built by hand here.
/// let mut m = DestinationMetrics::default();
/// m.name = "audit".into();
/// (m.received, m.shipped) = (10, 9);
/// m.dropped = vec![(DropReason::Rejected, 1)];
/// assert_eq!(m.in_flight(), 0);
/// assert_eq!(m.to_string(), "audit: shipped 9 of 10, filtered 0, dropped 1 (rejected 1), failed attempts 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
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
    /// True while the destination is failing: its last delivery attempt failed (an error, or a
    /// write that made no progress for the sink's write timeout) and none succeeded since.
    pub failing: bool,
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
