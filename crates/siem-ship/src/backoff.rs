//! Exponential backoff with jitter, shared by a destination's retries and the syslog sink's
//! reconnections: waits double per failure up to a ceiling, and are drawn at random so that
//! many senders do not retry in lockstep after a collector comes back.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// `initial × 2^failures`, at most `max`.
pub(crate) fn exponential(initial: Duration, max: Duration, failures: u32) -> Duration {
    initial.saturating_mul(1u32 << failures.min(20)).min(max)
}

/// A duration drawn uniformly from `[low, high]` (`low` when `high <= low`).
pub(crate) fn random_between(low: Duration, high: Duration) -> Duration {
    let spread = high.saturating_sub(low).as_nanos() as u64;
    low + Duration::from_nanos(next_random() % spread.saturating_add(1))
}

thread_local! {
    /// Seeded per thread from the process's random hasher keys and the clock, so that senders
    /// started together do not draw together.
    static STATE: Cell<u64> = Cell::new({
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.finish() | 1
    });
}

/// xorshift64*: plenty for jitter, and no dependency.
fn next_random() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_failure_up_to_the_maximum() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let ceilings: Vec<_> = (0..7).map(|n| exponential(initial, max, n)).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 2000, 2000].map(Duration::from_millis)
        );
        assert_eq!(exponential(initial, max, u32::MAX), max);
    }

    #[test]
    fn draws_stay_within_bounds_and_spread() {
        let (low, high) = (Duration::from_millis(10), Duration::from_millis(20));
        let draws: Vec<_> = (0..200).map(|_| random_between(low, high)).collect();
        assert!(draws.iter().all(|d| (low..=high).contains(d)));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 100, "{} distinct draws", distinct.len());
        assert_eq!(
            random_between(high, low),
            high,
            "an empty range gives its low end"
        );
    }
}
