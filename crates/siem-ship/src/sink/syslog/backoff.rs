//! Pacing of reconnection attempts: exponential backoff with jitter.
//!
//! The gate never sleeps: while it is closed, `send` fails at once with a retryable error that
//! says when the next attempt will be made. The route that drives the sink already sleeps
//! between retries (and can stop sleeping at shutdown); this gate only keeps a fast retry loop
//! from hammering a collector that is down.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::config::BackoffConfig;

pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
    next_attempt: Option<Instant>,
    rng: u64,
}

impl Backoff {
    pub(super) fn new(config: &BackoffConfig) -> Backoff {
        // Seeded per process and per sink, so senders restarted together do not draw together.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        Backoff {
            initial: config.initial,
            max: config.max,
            failures: 0,
            next_attempt: None,
            rng: hasher.finish() | 1,
        }
    }

    /// `Err(wait)` while the next attempt is not due yet.
    pub(super) fn check(&self, now: Instant) -> Result<(), Duration> {
        match self.next_attempt {
            Some(at) if at > now => Err(at - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns the wait before the next one.
    pub(super) fn failed(&mut self, now: Instant) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let spread = ceiling.saturating_sub(self.initial).as_nanos() as u64;
        let wait =
            self.initial + Duration::from_nanos(self.next_random() % spread.saturating_add(1));
        self.next_attempt = Some(now + wait);
        wait
    }

    /// Records a successful connection: the next failure starts from `initial` again.
    pub(super) fn succeeded(&mut self) {
        self.failures = 0;
        self.next_attempt = None;
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter, and no dependency.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_within_bounds_and_reset_on_success() {
        let config = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let mut backoff = Backoff::new(&config);
        let now = Instant::now();
        assert!(backoff.check(now).is_ok());
        let mut ceilings = Vec::new();
        for n in 0..10u32 {
            let wait = backoff.failed(now);
            let ceiling = (config.initial * 2u32.pow(n)).min(config.max);
            assert!(
                wait >= config.initial && wait <= ceiling,
                "{wait:?} outside [100ms, {ceiling:?}]"
            );
            assert_eq!(backoff.check(now), Err(wait));
            assert!(backoff.check(now + wait).is_ok());
            ceilings.push(ceiling);
        }
        backoff.succeeded();
        assert!(backoff.check(now).is_ok());
        assert_eq!(
            backoff.failed(now),
            config.initial,
            "the first failure waits `initial`"
        );
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let config = BackoffConfig {
            initial: Duration::from_millis(1),
            max: Duration::from_secs(60),
        };
        let mut backoff = Backoff::new(&config);
        let now = Instant::now();
        for _ in 0..8 {
            backoff.failed(now);
        }
        let waits: std::collections::HashSet<Duration> = (0..20)
            .map(|_| {
                backoff.failures = 8;
                backoff.failed(now)
            })
            .collect();
        assert!(waits.len() > 10, "waits should differ: {waits:?}");
    }
}
