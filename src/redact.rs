//! Redaction of sensitive fields before an event leaves the process.
//!
//! A field is sensitive when its name contains one of the configured words, case-insensitively
//! (`password` covers `new_password` and `PasswordHash`): over-redacting a field is cheap,
//! leaking a credential into a SIEM is not. Values are masked, or replaced by a keyed hash
//! (HMAC-SHA-256) so that equal values can still be correlated without being recoverable —
//! a plain hash of a low-entropy secret could be brute-forced.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How a sensitive value is replaced.
///
/// ```
/// use tracing_siem::RedactionMode;
/// let m: RedactionMode = serde_yaml_ng::from_str("hash").unwrap();
/// assert_eq!(m, RedactionMode::Hash);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactionMode {
    /// Replace the value with `[REDACTED]`.
    #[default]
    Mask,
    /// Replace the value with `hmac-sha256:` and 16 hex digits of a keyed hash.
    Hash,
}

/// The words that make a field sensitive by default.
pub const DEFAULT_SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "session_id",
    "sessionid",
    "private_key",
    "credential",
    "credit_card",
    "card_number",
    "ssn",
];

/// The text that replaces a masked value.
pub const MASK: &str = "[REDACTED]";

/// Replaces the values of sensitive fields.
///
/// ```
/// use tracing_siem::{Redactor, RedactionMode};
/// let r = Redactor::new(&["password"], RedactionMode::Mask, None);
/// assert!(r.is_sensitive("new_Password"));
/// assert!(!r.is_sensitive("user"));
/// assert_eq!(r.redact("hunter2"), "[REDACTED]");
///
/// let h = Redactor::new(&["token"], RedactionMode::Hash, Some(b"key"));
/// assert_eq!(h.redact("abc"), h.redact("abc"));
/// assert!(h.redact("abc").starts_with("hmac-sha256:"));
/// ```
#[derive(Clone)]
pub struct Redactor {
    words: Vec<String>,
    /// All words at once, case-insensitive: one pass over a field name, no allocation.
    matcher: Option<AhoCorasick>,
    mode: RedactionMode,
    key: Vec<u8>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("words", &self.words)
            .field("mode", &self.mode)
            .field("key", &"<hidden>")
            .finish()
    }
}

impl Redactor {
    /// A redactor for fields whose names contain any of `words`. Without a key, hashing uses a
    /// random key made for this process (values correlate within a run, not across runs).
    pub fn new(words: &[impl AsRef<str>], mode: RedactionMode, key: Option<&[u8]>) -> Redactor {
        let words: Vec<String> = words
            .iter()
            .map(|w| w.as_ref().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let matcher = (!words.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&words)
                .expect("plain words always build an automaton")
        });
        Redactor {
            words,
            matcher,
            mode,
            key: key.map_or_else(random_key, <[u8]>::to_vec),
        }
    }

    /// Whether a field of this name is redacted.
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(name))
    }

    /// The replacement for a sensitive value.
    pub fn redact(&self, value: &str) -> String {
        match self.mode {
            RedactionMode::Mask => MASK.to_owned(),
            RedactionMode::Hash => {
                let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
                    .expect("HMAC accepts keys of any length");
                mac.update(value.as_bytes());
                let digest = mac.finalize().into_bytes();
                let mut out = String::with_capacity(12 + 16);
                out.push_str("hmac-sha256:");
                for b in &digest[..8] {
                    out.push_str(&format!("{b:02x}"));
                }
                out
            }
        }
    }
}

fn random_key() -> Vec<u8> {
    let a = uuid::Uuid::new_v4().as_u128().to_le_bytes();
    let b = uuid::Uuid::new_v4().as_u128().to_le_bytes();
    [a, b].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_words_cover_the_usual_names() {
        let r = Redactor::new(DEFAULT_SENSITIVE_FIELDS, RedactionMode::Mask, None);
        for name in [
            "password",
            "passwd",
            "client_secret",
            "access_token",
            "api_key",
            "Authorization",
            "cookie",
            "session_id",
            "X-Api-Key".replace('-', "_").as_str(),
        ] {
            assert!(r.is_sensitive(name), "{name}");
        }
        for name in ["user", "source_ip", "action", "result", "message"] {
            assert!(!r.is_sensitive(name), "{name}");
        }
    }

    #[test]
    fn keyed_hash_differs_by_key_and_value() {
        let a = Redactor::new(&["t"], RedactionMode::Hash, Some(b"k1"));
        let b = Redactor::new(&["t"], RedactionMode::Hash, Some(b"k2"));
        assert_ne!(a.redact("v"), b.redact("v"));
        assert_ne!(a.redact("v"), a.redact("w"));
        assert_eq!(a.redact("v").len(), 12 + 16);
        assert!(!format!("{a:?}").contains("k1"));
    }

    #[test]
    fn empty_list_redacts_nothing() {
        let r = Redactor::new(&[""], RedactionMode::Mask, None);
        assert!(!r.is_sensitive("password"));
    }
}
