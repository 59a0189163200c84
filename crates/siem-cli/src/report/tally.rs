//! Counters by key with a bound on the number of keys, so that hostile files (a million
//! different control ids or rule names) cannot grow the report's memory without limit.

use std::collections::BTreeMap;

/// Counts per key, at most `limit` keys; counts for further keys are added to `not_listed`.
#[derive(Debug)]
pub(crate) struct Tally<K> {
    counts: BTreeMap<K, u64>,
    limit: usize,
    not_listed: u64,
}

impl<K: Ord> Tally<K> {
    /// An empty tally that keeps at most `limit` keys.
    pub(crate) fn new(limit: usize) -> Tally<K> {
        Tally {
            counts: BTreeMap::new(),
            limit,
            not_listed: 0,
        }
    }

    /// Counts one for `key`.
    pub(crate) fn add(&mut self, key: K) {
        if let Some(count) = self.counts.get_mut(&key) {
            *count += 1;
        } else if self.counts.len() < self.limit {
            self.counts.insert(key, 1);
        } else {
            self.not_listed += 1;
        }
    }

    /// The counts, keys in order.
    pub(crate) fn counts(&self) -> &BTreeMap<K, u64> {
        &self.counts
    }

    /// Counts that fell on keys past the limit.
    pub(crate) fn not_listed(&self) -> u64 {
        self.not_listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_past_the_limit_are_counted_apart() {
        let mut tally = Tally::new(2);
        for key in ["b", "a", "b", "c", "a", "c"] {
            tally.add(key);
        }
        assert_eq!(
            tally.counts().iter().collect::<Vec<_>>(),
            [(&"a", &2), (&"b", &2)]
        );
        assert_eq!(tally.not_listed(), 2);
    }
}
