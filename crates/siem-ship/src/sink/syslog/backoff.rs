//! Pacing of reconnection attempts: exponential backoff with jitter (the crate's shared
//! [`crate::backoff`] computation), as a gate.
//!
//! The gate never sleeps: while it is closed, `send` fails at once with a retryable error that
//! says when the next attempt will be made. The route that drives the sink already sleeps
//! between retries (and can stop sleeping at shutdown); this gate only keeps a fast retry loop
//! from hammering a collector that is down.

use std::time::{Duration, Instant};

use crate::backoff::{exponential, random_between};

use super::config::BackoffConfig;

pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
    next_attempt: Option<Instant>,
}

impl Backoff {
    pub(super) fn new(config: &BackoffConfig) -> Backoff {
        Backoff {
            initial: config.initial,
            max: config.max,
            failures: 0,
            next_attempt: None,
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
        let ceiling = exponential(self.initial, self.max, self.failures);
        self.failures = self.failures.saturating_add(1);
        let wait = random_between(self.initial, ceiling);
        self.next_attempt = Some(now + wait);
        wait
    }

    /// Records a successful connection: the next failure starts from `initial` again.
    pub(super) fn succeeded(&mut self) {
        self.failures = 0;
        self.next_attempt = None;
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
