//! Keys for labels and metadata in formats whose keys are restricted (CEF extension keys, LEEF
//! attributes, RFC 5424 PARAM-NAMEs).
//!
//! A field name can hold anything; a key in these formats must be a single alphanumeric word.
//! The name is turned into camelCase (`constitutional_hash` → `constitutionalHash`, the form
//! seed 000's LEEF and syslog examples use): ASCII letters and digits are kept, every other
//! character is dropped and the letter after it upper-cased. A key that comes out empty, or
//! equal (ignoring case) to a key the format defines, is prefixed with `meta`
//! (`src` → `metaSrc`), so a field can never pose as a standard field. A key already written for
//! this record is skipped, so no key appears twice.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The longest key we produce, in bytes.
pub(crate) const MAX_KEY: usize = 63;

/// How keys are derived for one format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRules {
    /// Longest key (RFC 5424 PARAM-NAME: 32).
    pub(crate) max_len: usize,
    /// Keys the format itself defines or that the encoder writes.
    pub(crate) reserved: &'static [&'static str],
    /// `reserved` grouped by length, built on first use (the CEF dictionary has ~150 keys; a
    /// key is compared only with those of its length).
    pub(crate) by_len: &'static OnceLock<Vec<Vec<&'static str>>>,
}

/// Groups keys by their length.
fn index(reserved: &[&'static str]) -> Vec<Vec<&'static str>> {
    let mut by_len = vec![Vec::new(); MAX_KEY + 1];
    for r in reserved {
        if r.len() <= MAX_KEY {
            by_len[r.len()].push(*r);
        }
    }
    by_len
}

/// A derived key: the name itself when it is already a valid key, else built on the stack.
pub(crate) enum Key<'a> {
    Name(&'a [u8]),
    Built(Built),
}

impl Key<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Name(name) => name,
            Key::Built(b) => &b.buf[..b.len],
        }
    }
}

/// A key built character by character.
pub(crate) struct Built {
    buf: [u8; MAX_KEY],
    len: usize,
}

impl Built {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8, max: usize) -> bool {
        if self.len < max.min(MAX_KEY) {
            self.buf[self.len] = b;
            self.len += 1;
            true
        } else {
            false
        }
    }
}

impl KeyRules {
    /// The key for a field name (see the module docs).
    pub(crate) fn key<'a>(&self, name: &'a str, capitalize_first: bool) -> Key<'a> {
        let is_reserved = |key: &[u8]| {
            let by_len = self.by_len.get_or_init(|| index(self.reserved));
            key.is_empty()
                || by_len[key.len()].iter().any(|r| {
                    r.as_bytes()[0].eq_ignore_ascii_case(&key[0])
                        && r.as_bytes().eq_ignore_ascii_case(key)
                })
        };
        // Most names (`attempts`, `count`) are keys already.
        let plain = !capitalize_first
            && !name.is_empty()
            && name.len() <= self.max_len.min(MAX_KEY)
            && name.bytes().all(|b| b.is_ascii_alphanumeric());
        if plain && !is_reserved(name.as_bytes()) {
            return Key::Name(name.as_bytes());
        }
        let mut key = Built {
            buf: [0; MAX_KEY],
            len: 0,
        };
        camel(&mut key, name, capitalize_first, self.max_len);
        if !is_reserved(key.as_bytes()) {
            return Key::Built(key);
        }
        let mut prefixed = Built {
            buf: [0; MAX_KEY],
            len: 0,
        };
        for &b in b"meta" {
            prefixed.push(b, self.max_len);
        }
        camel(&mut prefixed, name, true, self.max_len);
        Key::Built(prefixed)
    }
}

fn camel(key: &mut Built, name: &str, capitalize_first: bool, max: usize) {
    let mut upper_next = capitalize_first;
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            let b = if upper_next {
                b.to_ascii_uppercase()
            } else {
                b
            };
            upper_next = false;
            if !key.push(b, max) {
                return;
            }
        } else if key.len > 0 || capitalize_first {
            upper_next = true;
        }
    }
}

/// The keys written so far in one record, as byte ranges of the output buffer (no allocation
/// for the first 16, which a scan checks faster than hashing would), then as lower-cased
/// copies in a hash set, so a record with thousands of metadata fields costs linear time.
pub(crate) struct WrittenKeys {
    inline: [(usize, usize); 16],
    count: usize,
    /// Created only for a record with more than 16 keys.
    spill: Option<HashSet<Vec<u8>>>,
}

impl WrittenKeys {
    pub(crate) fn new() -> WrittenKeys {
        WrittenKeys {
            inline: [(0, 0); 16],
            count: 0,
            spill: None,
        }
    }

    /// Whether `key` (ignoring ASCII case) was already written into `out`.
    pub(crate) fn contains(&self, out: &[u8], key: &[u8]) -> bool {
        self.inline[..self.count.min(16)]
            .iter()
            .any(|&(start, end)| out[start..end].eq_ignore_ascii_case(key))
            || self
                .spill
                .as_ref()
                .is_some_and(|spill| spill.contains(&key.to_ascii_lowercase()))
    }

    /// Records that `out[start..end]` is a key.
    fn add(&mut self, out: &[u8], start: usize, end: usize) {
        if self.count < 16 {
            self.inline[self.count] = (start, end);
        } else {
            self.spill
                .get_or_insert_with(HashSet::new)
                .insert(out[start..end].to_ascii_lowercase());
        }
        self.count += 1;
    }

    /// Writes `key`, which the caller found not [`contains`](Self::contains)ed.
    pub(crate) fn write_checked(&mut self, out: &mut Vec<u8>, key: &[u8]) {
        let start = out.len();
        out.extend_from_slice(key);
        self.add(out, start, out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static INDEX: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    const RULES: KeyRules = KeyRules {
        max_len: 32,
        reserved: &["src", "msg"],
        by_len: &INDEX,
    };

    fn key(name: &str) -> String {
        String::from_utf8(RULES.key(name, false).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn camel_case_and_prefixes() {
        assert_eq!(key("constitutional_hash"), "constitutionalHash");
        assert_eq!(key("http.status-code"), "httpStatusCode");
        assert_eq!(key("__x"), "x");
        assert_eq!(key("SRC"), "metaSRC");
        assert_eq!(key("src"), "metaSrc");
        assert_eq!(key(""), "meta");
        assert_eq!(key("日本"), "meta");
        assert_eq!(key("a=b c|d]\"e"), "aBCDE");
        assert_eq!(key(&"x".repeat(100)).len(), 32);
        assert_eq!(
            String::from_utf8(RULES.key("tenant_id", true).as_bytes().to_vec()).unwrap(),
            "TenantId"
        );
    }

    #[test]
    fn written_keys_detect_repeats_beyond_the_inline_store() {
        let mut out = Vec::new();
        let mut keys = WrittenKeys::new();
        for i in 0..40 {
            let key = format!("k{i}");
            assert!(!keys.contains(&out, key.as_bytes()));
            keys.write_checked(&mut out, key.as_bytes());
            out.push(b' ');
        }
        assert!(keys.contains(&out, b"K3"));
        assert!(keys.contains(&out, b"k39"));
        assert!(!keys.contains(&out, b"k40"));
    }
}
