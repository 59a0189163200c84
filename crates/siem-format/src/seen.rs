//! Which names a record has had already, so that a repeated name is written once: JSON objects
//! must not repeat a member, and a repeated member of an input object is an error.
//!
//! Records usually have a handful of names, which a scan finds faster than hashing would; past
//! those, names go into a hash set, so a hostile record with thousands of names costs linear
//! time, not quadratic.

use std::collections::HashSet;

/// How many names are scanned before the hash set takes over.
const FEW: usize = 16;

/// The names seen so far in one record.
#[derive(Debug, Default)]
pub(crate) struct SeenNames<'a> {
    few: [&'a str; FEW],
    count: usize,
    /// Created only for a record with more than [`FEW`] names.
    many: Option<HashSet<&'a str>>,
}

impl<'a> SeenNames<'a> {
    /// Records `name`; `false` when it was recorded before.
    pub(crate) fn first(&mut self, name: &'a str) -> bool {
        let few = &self.few[..self.count.min(FEW)];
        if few.contains(&name) {
            return false;
        }
        if self.count < FEW {
            self.few[self.count] = name;
            self.count += 1;
            return true;
        }
        self.many.get_or_insert_with(HashSet::new).insert(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_before_and_after_the_hash_set_takes_over() {
        let names: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        let mut seen = SeenNames::default();
        for name in &names {
            assert!(seen.first(name), "{name}");
        }
        for name in &names {
            assert!(!seen.first(name), "{name}");
        }
        assert!(seen.first("N1"), "names are compared exactly");
    }
}
