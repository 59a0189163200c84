//! Keeps attacker-controlled text from growing state: long values are shortened to a prefix
//! plus a hash of the whole, so distinct values stay distinct while a key stays small.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// Characters of a value kept in a state key before it is shortened.
pub(crate) const MAX_KEY_CHARS: usize = 128;

/// The value itself when short; otherwise its first 128 characters, `…#`, and 16 hex digits
/// of a hash of the whole value.
pub(crate) fn bounded(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(MAX_KEY_CHARS) {
        None => Cow::Borrowed(value),
        Some((cut, _)) => {
            // SipHash with fixed keys: the same value gives the same key in every run.
            #[allow(deprecated)]
            let mut h = std::hash::SipHasher::new();
            value.hash(&mut h);
            Cow::Owned(format!("{}…#{:016x}", &value[..cut], h.finish()))
        }
    }
}

/// The first `max` characters of a text.
pub(crate) fn truncated(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        None => value.to_owned(),
        Some((cut, _)) => value[..cut].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_stay_distinct_and_small() {
        assert_eq!(bounded("alice"), "alice");
        let a = "x".repeat(1 << 20);
        let mut b = a.clone();
        b.push('y');
        let (ka, kb) = (bounded(&a), bounded(&b));
        assert_ne!(ka, kb);
        assert!(ka.len() < 200 && kb.len() < 200);
        assert_eq!(bounded(&a), ka, "stable");
        let multibyte = "é".repeat(500);
        assert!(bounded(&multibyte).starts_with(&"é".repeat(128)));
        assert_eq!(truncated("héllo", 2), "hé");
    }
}
