//! Where "now" comes from for the parts of the engine that run on wall-clock time (cooldowns,
//! re-alert timing, an alert's detection time). Windows run on each event's own timestamp.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use siem_event::Timestamp;

/// A source of the current time.
///
/// ```
/// use siem_rules::{Clock, SystemClock};
/// let now = SystemClock.now();
/// assert!(now.unix_secs() > 1_600_000_000);
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock (the default).
///
/// ```
/// use siem_rules::{Clock, SystemClock};
/// assert!(SystemClock.now() <= SystemClock.now());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to, for deterministic tests and replays.
///
/// Clones share the same time, so a test keeps one clone and gives another to the engine.
///
/// ```
/// use siem_event::Timestamp;
/// use siem_rules::{Clock, ManualClock};
/// let clock = ManualClock::new(Timestamp::from_unix_secs(1_700_000_000));
/// let engine_side = clock.clone();
/// clock.advance_secs(90);
/// assert_eq!(engine_side.now().unix_secs(), 1_700_000_090);
/// clock.set(Timestamp::from_unix_secs(5));
/// assert_eq!(engine_side.now().unix_secs(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            nanos: Arc::new(AtomicI64::new(start.unix_nanos())),
        }
    }

    /// Moves the clock to `to` (backwards too).
    pub fn set(&self, to: Timestamp) {
        self.nanos.store(to.unix_nanos(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.nanos
            .fetch_add(secs.saturating_mul(1_000_000_000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
