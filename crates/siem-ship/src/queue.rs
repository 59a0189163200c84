//! The bounded, lock-free queue between the application threads and the pipeline thread.
//!
//! Producers never take a lock and never make a system call in the common case: a push is one
//! compare-and-swap on a `crossbeam_queue::ArrayQueue`. The consumer is not woken per event; it
//! polls on a short tick and is woken only when the queue crosses a high-water mark, when an
//! urgent (critical) event arrives, or when a producer has to wait (block policy).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use parking_lot::Mutex;

use crate::DropReason;

/// What happens when the queue is full.
///
/// ```
/// use siem_ship::OverflowPolicy;
/// assert_eq!("drop-oldest".parse::<OverflowPolicy>().unwrap(), OverflowPolicy::DropOldest);
/// assert!(matches!("block:50ms".parse::<OverflowPolicy>().unwrap(), OverflowPolicy::Block { .. }));
/// assert_eq!(OverflowPolicy::default(), OverflowPolicy::DropNewest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop the event being logged (the default; the application never waits).
    #[default]
    DropNewest,
    /// Drop the oldest queued event to make room for the new one.
    DropOldest,
    /// Make the logging thread wait up to `timeout` for room, then drop the event. The
    /// pipeline thread likewise waits up to `timeout` for room in a full destination queue
    /// before dropping there: a slow destination slows logging down instead of losing events.
    Block {
        /// The longest a logging thread waits.
        timeout: Duration,
    },
}

/// The part of the application queue kept for events a flood must not shed (see
/// [`EventQueue::with_protection`]).
///
/// ```
/// use std::time::Duration;
/// let p = siem_ship::Protection { reserve: 1_000, max_wait: Duration::from_secs(1) };
/// assert_eq!(p.reserve, 1_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// Places only protected items may take (at most the capacity minus one).
    pub reserve: usize,
    /// The longest a protected item waits when even the reserve is full.
    pub max_wait: Duration,
}

impl std::str::FromStr for OverflowPolicy {
    type Err = String;

    /// `drop-newest`, `drop-oldest`, `block` (100 ms) or `block:<duration>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        match t.as_str() {
            "drop-newest" | "drop" | "drop-new" => Ok(OverflowPolicy::DropNewest),
            "drop-oldest" | "drop-old" => Ok(OverflowPolicy::DropOldest),
            "block" => Ok(OverflowPolicy::Block {
                timeout: Duration::from_millis(100),
            }),
            other => match other.strip_prefix("block:") {
                Some(d) => Ok(OverflowPolicy::Block {
                    timeout: crate::units::parse_duration(d)?,
                }),
                None => Err(format!(
                    "unknown overflow policy {s:?}: expected drop-newest, drop-oldest, block or block:<duration>"
                )),
            },
        }
    }
}

/// Counters kept by the queue; read them through [`EventQueue::stats`].
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    dropped_full: AtomicU64,
    dropped_evicted: AtomicU64,
    dropped_timeout: AtomicU64,
    dropped_closed: AtomicU64,
    dropped_deadline: AtomicU64,
}

/// A snapshot of the queue's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QueueStats {
    /// Items accepted into the queue.
    pub accepted: u64,
    /// Items dropped because the queue was full (drop-newest).
    pub dropped_full: u64,
    /// Queued items evicted to make room (drop-oldest).
    pub dropped_evicted: u64,
    /// Items dropped after waiting the block timeout.
    pub dropped_timeout: u64,
    /// Items logged after shutdown.
    pub dropped_closed: u64,
    /// Items still queued when the shutdown deadline passed.
    pub dropped_deadline: u64,
    /// Items in the queue now.
    pub len: usize,
    /// The queue's capacity.
    pub capacity: usize,
}

impl QueueStats {
    /// All items dropped at the queue, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_full
            + self.dropped_evicted
            + self.dropped_timeout
            + self.dropped_closed
            + self.dropped_deadline
    }

    /// Drops by reason, for reports.
    pub fn drops_by_reason(&self) -> [(DropReason, u64); 5] {
        [
            (DropReason::QueueFull, self.dropped_full),
            (DropReason::Evicted, self.dropped_evicted),
            (DropReason::BlockTimeout, self.dropped_timeout),
            (DropReason::AfterShutdown, self.dropped_closed),
            (DropReason::ShutdownDeadline, self.dropped_deadline),
        ]
    }
}

/// The bounded multi-producer queue feeding the pipeline thread.
///
/// ```
/// use siem_ship::{EventQueue, OverflowPolicy};
/// let q = EventQueue::new(2, OverflowPolicy::DropNewest, 1);
/// assert!(q.push(1, false));
/// assert!(q.push(2, false));
/// assert!(!q.push(3, false)); // full: counted, not silent
/// let s = q.stats();
/// assert_eq!((s.accepted, s.dropped_full, s.len), (2, 1, 2));
/// assert_eq!(q.pop(), Some(1));
/// ```
pub struct EventQueue<T> {
    items: ArrayQueue<T>,
    policy: OverflowPolicy,
    /// Ordinary items are refused past this many queued (the rest is the protected reserve).
    ordinary_limit: usize,
    /// The longest a protected item waits for room.
    protected_wait: Duration,
    wake_mark: usize,
    consumer: Mutex<Option<Thread>>,
    closed: AtomicBool,
    counters: Counters,
}

impl<T> EventQueue<T> {
    /// A queue of `capacity` items (at least 1) that wakes its consumer when `wake_mark` items
    /// are waiting.
    pub fn new(capacity: usize, policy: OverflowPolicy, wake_mark: usize) -> EventQueue<T> {
        let capacity = capacity.max(1);
        EventQueue {
            items: ArrayQueue::new(capacity),
            policy,
            ordinary_limit: capacity,
            protected_wait: Duration::ZERO,
            wake_mark: wake_mark.clamp(1, capacity),
            consumer: Mutex::new(None),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    /// Keeps the last `protection.reserve` places for [`push_protected`](Self::push_protected):
    /// ordinary items are refused (by the policy's rule) once the rest is taken, so a flood of
    /// them cannot crowd out the items that matter; a protected item that finds even the reserve
    /// full waits up to `protection.max_wait`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::{EventQueue, OverflowPolicy, Protection};
    /// let q = EventQueue::new(3, OverflowPolicy::DropNewest, 1)
    ///     .with_protection(Protection { reserve: 1, max_wait: Duration::from_millis(1) });
    /// assert!(q.push("low", false) && q.push("low", false));
    /// assert!(!q.push("low", false)); // the last place is reserved
    /// assert!(q.push_protected("high", false));
    /// assert!(!q.push_protected("high", false)); // full, and nobody took one within 1 ms
    /// ```
    pub fn with_protection(mut self, protection: Protection) -> EventQueue<T> {
        let capacity = self.items.capacity();
        self.ordinary_limit = capacity - protection.reserve.min(capacity - 1);
        self.protected_wait = protection.max_wait;
        self
    }

    /// Names the thread to wake (the pipeline thread calls this once it runs).
    pub fn set_consumer(&self, thread: Thread) {
        *self.consumer.lock() = Some(thread);
    }

    fn wake(&self) {
        if let Some(t) = self.consumer.lock().as_ref() {
            t.unpark();
        }
    }

    /// Offers an item; returns whether it was accepted. Never blocks unless the policy is
    /// [`OverflowPolicy::Block`]. `urgent` wakes the consumer at once (critical events).
    pub fn push(&self, item: T, urgent: bool) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            self.counters.dropped_closed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let reserved = self.ordinary_limit < self.items.capacity();
        let pushed = if reserved && self.items.len() >= self.ordinary_limit {
            Err(item)
        } else {
            self.items.push(item)
        };
        let accepted = match pushed {
            Ok(()) => true,
            Err(item) => match self.policy {
                // Evicting the oldest could evict a protected item: in the reserve, the newest
                // ordinary item is the one dropped.
                OverflowPolicy::DropOldest if reserved => {
                    self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
                    self.wake();
                    false
                }
                OverflowPolicy::DropNewest => {
                    self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
                    self.wake();
                    false
                }
                OverflowPolicy::DropOldest => {
                    if self.items.force_push(item).is_some() {
                        self.counters
                            .dropped_evicted
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.wake();
                    true
                }
                OverflowPolicy::Block { timeout } => {
                    self.push_waiting(item, self.ordinary_limit, timeout)
                }
            },
        };
        self.accepted(accepted, urgent)
    }

    /// Offers an item that must not be shed by a flood of ordinary ones (a high or critical
    /// security event): it may use the reserve set by [`with_protection`](Self::with_protection),
    /// and when even that is full it waits for room up to the protection's `max_wait`, whatever
    /// the policy, before it is dropped (counted as `block_timeout`).
    pub fn push_protected(&self, item: T, urgent: bool) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            self.counters.dropped_closed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let accepted = match self.items.push(item) {
            Ok(()) => true,
            Err(item) => {
                let wait = match self.policy {
                    OverflowPolicy::Block { timeout } => timeout.max(self.protected_wait),
                    _ => self.protected_wait,
                };
                self.push_waiting(item, self.items.capacity(), wait)
            }
        };
        self.accepted(accepted, urgent)
    }

    /// Counts an accepted item and wakes the consumer when it should; returns `accepted`.
    fn accepted(&self, accepted: bool, urgent: bool) -> bool {
        if accepted {
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            if urgent || self.items.len() == self.wake_mark {
                self.wake();
            }
        }
        accepted
    }

    /// Waits up to `timeout` for fewer than `limit` items to be queued, then pushes.
    fn push_waiting(&self, mut item: T, limit: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.wake();
        loop {
            if self.items.len() < limit {
                match self.items.push(item) {
                    Ok(()) => return true,
                    Err(back) => item = back,
                }
            }
            if Instant::now() >= deadline || self.closed.load(Ordering::Relaxed) {
                self.counters
                    .dropped_timeout
                    .fetch_add(1, Ordering::Relaxed);
                return false;
            }
            self.wake();
            thread::sleep(Duration::from_micros(50));
        }
    }

    /// Takes the oldest item.
    pub fn pop(&self) -> Option<T> {
        self.items.pop()
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes every item still queued and counts it as dropped at the shutdown deadline;
    /// returns how many. For a closed queue whose consumer could not take them in time.
    ///
    /// ```
    /// use siem_ship::{EventQueue, OverflowPolicy};
    /// let q = EventQueue::new(4, OverflowPolicy::DropNewest, 4);
    /// q.push("a", false);
    /// q.close();
    /// assert_eq!(q.discard_remaining(), 1);
    /// assert_eq!(q.stats().dropped_deadline, 1);
    /// ```
    pub fn discard_remaining(&self) -> u64 {
        let mut n = 0;
        while self.items.pop().is_some() {
            n += 1;
        }
        self.counters
            .dropped_deadline
            .fetch_add(n, Ordering::Relaxed);
        n
    }

    /// True once [`close`](EventQueue::close) was called.
    ///
    /// ```
    /// use siem_ship::{EventQueue, OverflowPolicy};
    /// let q = EventQueue::<u8>::new(1, OverflowPolicy::DropNewest, 1);
    /// assert!(!q.is_closed());
    /// q.close();
    /// assert!(q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Refuses further items (they are counted as dropped after shutdown).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Counters and fill level.
    pub fn stats(&self) -> QueueStats {
        let c = &self.counters;
        QueueStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            dropped_full: c.dropped_full.load(Ordering::Relaxed),
            dropped_evicted: c.dropped_evicted.load(Ordering::Relaxed),
            dropped_timeout: c.dropped_timeout.load(Ordering::Relaxed),
            dropped_closed: c.dropped_closed.load(Ordering::Relaxed),
            dropped_deadline: c.dropped_deadline.load(Ordering::Relaxed),
            len: self.items.len(),
            capacity: self.items.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn drop_oldest_keeps_newest() {
        let q = EventQueue::new(2, OverflowPolicy::DropOldest, 2);
        for i in 0..5 {
            assert!(q.push(i, false));
        }
        assert_eq!(q.stats().dropped_evicted, 3);
        assert_eq!((q.pop(), q.pop(), q.pop()), (Some(3), Some(4), None));
    }

    #[test]
    fn block_times_out_and_counts() {
        let q = EventQueue::new(1, "block:5ms".parse().unwrap(), 1);
        assert!(q.push(1, false));
        assert!(!q.push(2, false));
        assert_eq!(q.stats().dropped_timeout, 1);
    }

    #[test]
    fn block_succeeds_when_consumer_makes_room() {
        let q = Arc::new(EventQueue::new(1, "block:5s".parse().unwrap(), 1));
        assert!(q.push(1, false));
        let q2 = Arc::clone(&q);
        let consumer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            q2.pop()
        });
        assert!(q.push(2, false));
        assert_eq!(consumer.join().unwrap(), Some(1));
        assert_eq!(q.stats().dropped(), 0);
    }

    #[test]
    fn closed_queue_counts_refusals() {
        let q = EventQueue::new(4, OverflowPolicy::DropNewest, 4);
        q.close();
        assert!(!q.push(1, true));
        assert_eq!(q.stats().dropped_closed, 1);
    }

    #[test]
    fn policies_parse() {
        assert!("sometimes".parse::<OverflowPolicy>().is_err());
        assert!("block:never".parse::<OverflowPolicy>().is_err());
        assert_eq!(
            "BLOCK:1s".parse::<OverflowPolicy>().unwrap(),
            OverflowPolicy::Block {
                timeout: Duration::from_secs(1)
            }
        );
    }

    fn protected(
        capacity: usize,
        reserve: usize,
        policy: OverflowPolicy,
    ) -> EventQueue<&'static str> {
        EventQueue::new(capacity, policy, 1).with_protection(Protection {
            reserve,
            max_wait: Duration::from_millis(2),
        })
    }

    #[test]
    fn a_flood_of_ordinary_items_leaves_the_reserve_to_protected_ones_under_every_policy() {
        for policy in [
            OverflowPolicy::DropNewest,
            OverflowPolicy::DropOldest,
            OverflowPolicy::Block {
                timeout: Duration::from_millis(1),
            },
        ] {
            let q = protected(10, 3, policy);
            let accepted = (0..100).filter(|_| q.push("low", false)).count();
            assert_eq!(accepted, 7, "{policy:?}");
            for _ in 0..3 {
                assert!(q.push_protected("high", false), "{policy:?}");
            }
            let kept: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            assert_eq!(
                kept.iter().filter(|i| **i == "high").count(),
                3,
                "{policy:?}"
            );
        }
    }

    #[test]
    fn without_a_reserve_the_same_flood_sheds_the_protected_items() {
        let q = EventQueue::new(10, OverflowPolicy::DropNewest, 1);
        for _ in 0..100 {
            q.push("low", false);
        }
        assert!(!q.push_protected("high", false));
        assert_eq!(q.stats().dropped_timeout, 1);
    }

    #[test]
    fn a_protected_item_finding_even_the_reserve_full_waits_for_room() {
        let q = Arc::new(
            EventQueue::new(2, OverflowPolicy::DropNewest, 1).with_protection(Protection {
                reserve: 1,
                max_wait: Duration::from_secs(10),
            }),
        );
        assert!(q.push_protected("high", false) && q.push_protected("high", false));
        let consumer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.pop()
            })
        };
        assert!(q.push_protected("late", false), "waited for the pop");
        assert_eq!(consumer.join().unwrap(), Some("high"));
        assert_eq!(q.stats().dropped(), 0);
    }

    #[test]
    fn the_reserve_never_takes_the_whole_queue() {
        let q = protected(4, 10, OverflowPolicy::DropNewest);
        assert!(q.push("low", false), "one ordinary place is always left");
        assert!(!q.push("low", false));
    }
}
