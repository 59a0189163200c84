//! Where every event ends up: shipped, filtered or dropped with a reason, per destination.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Why an event was not delivered.
///
/// ```
/// use siem_ship::DropReason;
/// assert_eq!(DropReason::QueueFull.as_str(), "queue_full");
/// assert_eq!(DropReason::ALL.len(), 12);
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
    /// The destination's disk spool had no room (its `when_full` policy dropped the newest
    /// batch, or deleted the oldest segments).
    SpoolFull,
    /// Found damaged in the disk spool (a flipped byte, a torn write) and skipped.
    SpoolCorrupt,
    /// The disk refused to take the batch into the spool (an I/O error).
    SpoolWriteFailed,
}

impl DropReason {
    /// Every reason, in a stable order (the index is the reason's slot in counters).
    pub const ALL: [DropReason; 12] = [
        DropReason::QueueFull,
        DropReason::Evicted,
        DropReason::BlockTimeout,
        DropReason::AfterShutdown,
        DropReason::DestinationQueueFull,
        DropReason::Rejected,
        DropReason::RetriesExhausted,
        DropReason::ShutdownDeadline,
        DropReason::Unconfirmed,
        DropReason::SpoolFull,
        DropReason::SpoolCorrupt,
        DropReason::SpoolWriteFailed,
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
            DropReason::SpoolFull => "spool_full",
            DropReason::SpoolCorrupt => "spool_corrupt",
            DropReason::SpoolWriteFailed => "spool_write_failed",
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

/// Where events being settled were held: counting them out of the spool keeps `spooled` a
/// count of what the spool holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    Memory,
    Spool,
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
    /// Events in the disk spool, not yet delivered or dropped.
    spooled: AtomicU64,
    /// Events an earlier process left in the disk spool, read back by this one.
    recovered: AtomicU64,
    /// True once settled.
    settled: Mutex<bool>,
    pub ship_failures: AtomicU64,
    pub batches: AtomicU64,
    pub batch_size: AtomicUsize,
    /// Whether the last delivery attempt failed.
    pub failing: AtomicBool,
    /// The circuit breaker's state, as [`Breaker`] as u8.
    breaker: std::sync::atomic::AtomicU8,
    pub last_error: Mutex<Option<String>>,
}

impl DestinationCounters {
    /// Records the circuit breaker's state.
    pub fn set_breaker(&self, state: Breaker) {
        self.breaker.store(state as u8, Ordering::Relaxed);
    }

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

    /// Counts `n` events appended to the disk spool.
    pub fn count_spooled(&self, n: u64) {
        self.count(&self.spooled, n);
    }

    /// Counts `n` records an earlier process left in the disk spool, read back to be sent:
    /// offered to this destination now, and held in the spool until settled.
    pub fn count_recovered(&self, n: u64) {
        if n == 0 {
            return;
        }
        let settled = self.settled.lock();
        if !*settled {
            self.received.fetch_add(n, Ordering::Relaxed);
            self.recovered.fetch_add(n, Ordering::Relaxed);
            self.spooled.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts `n` records an earlier process left in the disk spool as dropped without being
    /// read back (deleted to make room, found damaged).
    pub fn count_recovered_drop(&self, reason: DropReason, n: u64) {
        if n == 0 {
            return;
        }
        let settled = self.settled.lock();
        if !*settled {
            self.received.fetch_add(n, Ordering::Relaxed);
            self.recovered.fetch_add(n, Ordering::Relaxed);
            self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts `n` delivered events held in `held`.
    pub fn count_shipped_from(&self, held: Held, n: u64) {
        self.settle_from(held, &self.shipped, n);
    }

    /// Counts `n` events held in `held` as dropped.
    pub fn count_drop_from(&self, held: Held, reason: DropReason, n: u64) {
        self.settle_from(held, &self.dropped[reason.index()], n);
    }

    /// Moves `n` events to `counter`, out of the spool when they were held there, in one step
    /// so that no snapshot counts them twice.
    fn settle_from(&self, held: Held, counter: &AtomicU64, n: u64) {
        if n == 0 {
            return;
        }
        let settled = self.settled.lock();
        if !*settled {
            if held == Held::Spool {
                self.spooled.fetch_sub(n, Ordering::Relaxed);
            }
            counter.fetch_add(n, Ordering::Relaxed);
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
        let done = load(&self.shipped)
            + load(&self.filtered)
            + load(&self.spooled)
            + self.dropped.iter().map(load).sum::<u64>();
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
            spooled: load(&self.spooled),
            recovered: load(&self.recovered),
            spool_bytes: 0,
            ship_failures: load(&self.ship_failures),
            batches_sent: load(&self.batches),
            queue_size,
            batch_size: self.batch_size.load(Ordering::Relaxed),
            failing: self.failing.load(Ordering::Relaxed),
            breaker: Breaker::from_u8(self.breaker.load(Ordering::Relaxed)),
            last_error: self.last_error.lock().clone(),
        }
    }
}

/// A destination's circuit breaker: closed while deliveries succeed (or fail fewer than
/// `retry.open_after` times in a row), open while the destination is left alone for
/// `retry.open_for`, half-open while its probe is under way.
///
/// ```
/// use siem_ship::Breaker;
/// assert_eq!(Breaker::default(), Breaker::Closed);
/// assert_eq!(Breaker::HalfOpen.as_str(), "half_open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Breaker {
    /// Deliveries go ahead.
    #[default]
    Closed,
    /// Too many failures in a row: nothing is attempted until the probe.
    Open,
    /// One probe is under way; a delivery closes the breaker, a failure opens it again.
    HalfOpen,
}

impl Breaker {
    /// `closed`, `open` or `half_open`.
    ///
    /// ```
    /// assert_eq!(siem_ship::Breaker::Open.as_str(), "open");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Breaker::Closed => "closed",
            Breaker::Open => "open",
            Breaker::HalfOpen => "half_open",
        }
    }

    fn from_u8(value: u8) -> Breaker {
        match value {
            1 => Breaker::Open,
            2 => Breaker::HalfOpen,
            _ => Breaker::Closed,
        }
    }
}

/// A snapshot of one destination's figures.
///
/// `received == shipped + filtered + dropped + spooled + in_flight()`: every event offered to
/// the destination is in exactly one of those states. Records an earlier process left in the
/// destination's disk spool count as received (and `recovered`) when this process reads them
/// back.
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
    /// Events held in the destination's disk spool, waiting to be delivered.
    pub spooled: u64,
    /// Events an earlier process left in the disk spool that this one read back (included
    /// in `received`).
    pub recovered: u64,
    /// Bytes the destination's disk spool files hold (0 without a spool).
    pub spool_bytes: u64,
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
    /// The destination's circuit breaker (`retry.open_after`, `retry.open_for`).
    pub breaker: Breaker,
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
        if self.spooled > 0 {
            write!(f, ", spooled {}", self.spooled)?;
        }
        write!(f, ", failed attempts {}", self.ship_failures)?;
        if self.breaker != Breaker::Closed {
            write!(f, ", circuit breaker {}", self.breaker.as_str())?;
        }
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

    /// Events neither shipped, filtered, dropped nor spooled yet (queued, batched or being
    /// sent).
    pub fn in_flight(&self) -> u64 {
        self.received
            .saturating_sub(self.shipped + self.filtered + self.dropped_total() + self.spooled)
    }
}
