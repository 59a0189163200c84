//! Redaction of sensitive fields before an event leaves the process.
//!
//! A field is sensitive when its name matches one of the configured entries, compared word by
//! word whatever the spelling (`privateKey`, `private-key` and `PRIVATE_KEY` are the same name;
//! see [`Redactor::is_sensitive`]): over-redacting a field is cheap, leaking a credential into
//! a SIEM is not. Values are masked, or replaced by a keyed hash (HMAC-SHA-256) so that equal
//! values can still be correlated without being recoverable — a plain hash of a low-entropy
//! secret could be brute-forced, which is also why an empty key is never used as the key.

mod names;

use hmac::{Hmac, Mac};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::Sha256;
use siem_event::{SecurityEvent, Value};

use names::NameMatcher;

/// How a sensitive value is replaced.
///
/// ```
/// use tracing_siem::RedactionMode;
/// let m: RedactionMode = serde_yaml_ng::from_str("hash").unwrap();
/// assert_eq!(m, RedactionMode::Hash);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RedactionMode {
    /// Replace the value with `[REDACTED]`.
    #[default]
    Mask,
    /// Replace the value with `hmac-sha256:` and 16 hex digits of a keyed hash.
    Hash,
}

/// The entries that make a field sensitive by default. Multi-word entries match their words in
/// a row in any spelling (`api key`: `api_key`, `apiKey`, `X-Api-Key`, `apikey`); see
/// [`Redactor::is_sensitive`] for the whole rule.
///
/// `auth` and `key` alone are left out on purpose: `auth_method`, `auth_result`, `cache_key` or
/// `primary_key` are what a security event is about, not secrets. Add them to
/// `redact.extra_fields` if your fields say `auth` or `key` for a credential.
pub const DEFAULT_SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "bearer",
    "jwt",
    "api key",
    "access key",
    "private key",
    "signing key",
    "encryption key",
    "authorization",
    "cookie",
    "session id",
    "credential",
    "otp",
    "totp",
    "pin",
    "credit card",
    "card number",
    "cvv",
    "cvc",
    "ssn",
];

/// The text that replaces a masked value.
pub const MASK: &str = "[REDACTED]";

/// Replaces the values of sensitive fields.
///
/// ```
/// use tracing_siem::{Redactor, RedactionMode};
/// let r = Redactor::new(&["password", "api key", "pin"], RedactionMode::Mask, None);
/// assert!(r.is_sensitive("new_Password"));
/// assert!(r.is_sensitive("X-Api-Key"));
/// assert!(r.is_sensitive("userPin"));
/// assert!(!r.is_sensitive("shipping"));
/// assert_eq!(r.redact("hunter2"), "[REDACTED]");
///
/// let h = Redactor::new(&["token"], RedactionMode::Hash, Some(b"key"));
/// assert_eq!(h.redact("abc"), h.redact("abc"));
/// assert!(h.redact("abc").starts_with("hmac-sha256:"));
/// ```
#[derive(Clone)]
pub struct Redactor {
    entries: Vec<String>,
    names: NameMatcher,
    mode: RedactionMode,
    key: Vec<u8>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("entries", &self.entries)
            .field("mode", &self.mode)
            .field("key", &"<hidden>")
            .finish()
    }
}

impl Redactor {
    /// A redactor for fields whose names match any of `entries` (words, or several words
    /// separated by spaces, `_`, `-`, `.` or case changes).
    ///
    /// `key` keys the hash of [`RedactionMode::Hash`]. Without a key, or with an empty one
    /// (what `${SIEM_REDACT_KEY:-}` gives when the variable is unset), a random key is made for
    /// this redactor: values correlate within a run, not across runs or processes.
    pub fn new(entries: &[impl AsRef<str>], mode: RedactionMode, key: Option<&[u8]>) -> Redactor {
        let entries: Vec<String> = entries
            .iter()
            .map(|w| w.as_ref().to_owned())
            .filter(|w| !w.trim().is_empty())
            .collect();
        Redactor {
            names: NameMatcher::new(&entries),
            entries,
            mode,
            key: key
                .filter(|k| !k.is_empty())
                .map_or_else(random_key, <[u8]>::to_vec),
        }
    }

    /// Whether a field of this name is redacted.
    ///
    /// The name and the entries are read as lowercase words: a name is cut at every character
    /// that is not a letter or digit, at case changes (`cardNumber`, `XApiKey` → `x api key`)
    /// and between letters and digits (`cvv2`). An entry of one word of five characters or
    /// more matches anywhere (`password` catches `passwords`); a shorter
    /// one matches whole words only (`pin` catches `user_pin`, not `shipping`; `auth` catches
    /// `auth_header`, not `author`); an entry of several words matches them in a row
    /// (`private key` catches `privateKey`, `private-key`) or run together (`privatekey`).
    ///
    /// ```
    /// use tracing_siem::{Redactor, RedactionMode};
    /// let r = Redactor::new(&["auth", "credit card"], RedactionMode::Mask, None);
    /// assert!(r.is_sensitive("auth_header") && !r.is_sensitive("author"));
    /// assert!(r.is_sensitive("creditCard") && r.is_sensitive("CREDITCARD"));
    /// ```
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.names.matches(name)
    }

    /// The replacement for a sensitive value.
    ///
    /// ```
    /// use tracing_siem::{Redactor, RedactionMode};
    /// let r = Redactor::new(&["pin"], RedactionMode::Hash, Some(b"k"));
    /// assert_eq!(r.redact("1234").len(), "hmac-sha256:".len() + 16);
    /// ```
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

    /// Redacts an event that did not come through the layer (decoded from JSON, for instance):
    /// each metadata field with a sensitive name gets its value replaced, as the layer replaces
    /// the value of a sensitive field.
    ///
    /// ```
    /// use tracing_siem::{Redactor, RedactionMode, DEFAULT_SENSITIVE_FIELDS};
    /// let mut e = tracing_siem::format::decode_json(
    ///     br#"{"event_type":"auth.failure","cardNumber":"4111111111111111","attempts":3}"#,
    /// ).unwrap();
    /// Redactor::new(DEFAULT_SENSITIVE_FIELDS, RedactionMode::Mask, None).redact_event(&mut e);
    /// assert_eq!(e.metadata("cardNumber").unwrap().as_str(), Some("[REDACTED]"));
    /// assert_eq!(e.metadata("attempts").unwrap().as_i64(), Some(3));
    /// ```
    pub fn redact_event(&self, event: &mut SecurityEvent) {
        for field in &mut event.metadata {
            if self.is_sensitive(&field.name) {
                field.value = Value::Str(self.redact(&field.value.to_text()));
            }
        }
    }
}

/// Names remembered at most by a [`CallsiteRedactor`]: far more than the field names of any
/// program's callsites, yet a bound should names ever be made at run time and leaked.
const REMEMBERED_NAMES: usize = 4096;

/// A [`Redactor`] that decides once per field name. The names of callsite fields are
/// `&'static str`s that never change, so after the first event of a callsite each of its
/// fields costs one hash look-up instead of cutting the name into words and matching it.
pub(crate) struct CallsiteRedactor {
    redactor: Redactor,
    decisions: FxHashMap<&'static str, bool>,
}

impl CallsiteRedactor {
    pub fn new(redactor: Redactor) -> CallsiteRedactor {
        CallsiteRedactor {
            redactor,
            decisions: FxHashMap::default(),
        }
    }

    /// [`Redactor::is_sensitive`], remembered.
    pub fn is_sensitive(&mut self, name: &'static str) -> bool {
        if let Some(&sensitive) = self.decisions.get(name) {
            return sensitive;
        }
        let sensitive = self.redactor.is_sensitive(name);
        if self.decisions.len() < REMEMBERED_NAMES {
            self.decisions.insert(name, sensitive);
        }
        sensitive
    }

    /// [`Redactor::redact`].
    pub fn redact(&self, value: &str) -> String {
        self.redactor.redact(value)
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

    fn defaults() -> Redactor {
        Redactor::new(DEFAULT_SENSITIVE_FIELDS, RedactionMode::Mask, None)
    }

    #[test]
    fn default_entries_catch_every_spelling_of_a_credential() {
        let r = defaults();
        for name in [
            "password",
            "new_Password",
            "PasswordHash",
            "passwords",
            "passwd",
            "pwd",
            "db_pwd",
            "passphrase",
            "client_secret",
            "clientSecret",
            "access_token",
            "refreshToken",
            "X-Auth-Token",
            "bearer",
            "bearer_token",
            "jwt",
            "id_jwt",
            "api_key",
            "apiKey",
            "api-key",
            "X-Api-Key",
            "XApiKey",
            "apikey",
            "API_KEY",
            "aws_access_key_id",
            "privateKey",
            "private-key",
            "private_key",
            "private.key",
            "privatekey",
            "rsaPrivateKey",
            "signing_key",
            "Authorization",
            "proxy-authorization",
            "cookie",
            "Set-Cookie",
            "session_id",
            "session-id",
            "sessionId",
            "sessionid",
            "credentials",
            "otp",
            "otp_code",
            "totp",
            "pin",
            "user_pin",
            "userPin",
            "PIN",
            "creditCard",
            "credit_card",
            "credit-card-number",
            "cardNumber",
            "card_number",
            "cvv",
            "cvv2",
            "card_cvc",
            "ssn",
            "customer_ssn",
        ] {
            assert!(r.is_sensitive(name), "{name} should be redacted");
        }
    }

    #[test]
    fn default_entries_leave_ordinary_names_alone() {
        let r = defaults();
        for name in [
            "user",
            "source_ip",
            "action",
            "result",
            "message",
            "shipping",
            "spinner",
            "pinned",
            "opinion",
            "author",
            "auth_method",
            "auth_result",
            "lesson",
            "session",
            "session_count",
            "card_type",
            "keyboard",
            "cache_key",
            "primary_key",
            "key_id",
            "hotpath",
            "footprint",
            "topic",
            "",
            "_",
        ] {
            assert!(!r.is_sensitive(name), "{name} should not be redacted");
        }
    }

    #[test]
    fn short_entries_match_whole_words_and_long_ones_anywhere() {
        let r = Redactor::new(&["auth", "pin", "password"], RedactionMode::Mask, None);
        for name in [
            "auth",
            "auth_header",
            "authHeader",
            "X-Auth",
            "user_pin",
            "userPin",
        ] {
            assert!(r.is_sensitive(name), "{name}");
        }
        for name in ["author", "oauth", "shipping", "spinner", "pinned"] {
            assert!(!r.is_sensitive(name), "{name}");
        }
        assert!(r.is_sensitive("oldpassword"));
    }

    #[test]
    fn entries_are_read_in_any_spelling() {
        for entry in ["card number", "card_number", "cardNumber", "CARD-NUMBER"] {
            let r = Redactor::new(&[entry], RedactionMode::Mask, None);
            for name in ["card_number", "cardNumber", "Card-Number", "cardnumber"] {
                assert!(r.is_sensitive(name), "{entry} / {name}");
            }
            assert!(!r.is_sensitive("card_type"), "{entry}");
            assert!(!r.is_sensitive("number"), "{entry}");
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
    fn a_real_key_gives_the_same_hash_in_every_redactor() {
        let a = Redactor::new(&["t"], RedactionMode::Hash, Some(b"shared key"));
        let b = Redactor::new(&["t"], RedactionMode::Hash, Some(b"shared key"));
        assert_eq!(a.redact("1234"), b.redact("1234"));
    }

    #[test]
    fn an_empty_key_is_replaced_by_a_random_one() {
        let a = Redactor::new(&["t"], RedactionMode::Hash, Some(b""));
        let b = Redactor::new(&["t"], RedactionMode::Hash, Some(b""));
        assert_ne!(a.redact("1234"), b.redact("1234"));
        assert_eq!(a.redact("1234"), a.redact("1234"));
        let unkeyed = Hmac::<Sha256>::new_from_slice(b"").unwrap();
        let digest = unkeyed.chain_update(b"1234").finalize().into_bytes();
        let with_empty_key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert!(!a.redact("1234").ends_with(&with_empty_key));
    }

    #[test]
    fn remembered_decisions_are_the_redactors() {
        let mut cached = CallsiteRedactor::new(defaults());
        for _ in 0..2 {
            for name in ["userPin", "shipping", "X-Api-Key", "author"] {
                assert_eq!(
                    cached.is_sensitive(name),
                    defaults().is_sensitive(name),
                    "{name}"
                );
            }
        }
        for i in 0..REMEMBERED_NAMES + 10 {
            let name: &'static str = format!("field_{i}").leak();
            assert!(!cached.is_sensitive(name));
        }
        assert_eq!(cached.decisions.len(), REMEMBERED_NAMES);
        assert!(cached.is_sensitive(String::from("new_token").leak()));
    }

    #[test]
    fn empty_list_redacts_nothing() {
        let r = Redactor::new(&["", "  "], RedactionMode::Mask, None);
        assert!(!r.is_sensitive("password"));
    }

    #[test]
    fn an_event_from_elsewhere_is_redacted_like_a_captured_one() {
        let r = defaults();
        let mut e = SecurityEvent::new(siem_event::EventType::parse("auth.failure"), "m");
        e.push_metadata("privateKey", "-----BEGIN");
        e.push_metadata("pin", 1234_i64);
        e.push_metadata("shipping", "express");
        r.redact_event(&mut e);
        assert_eq!(e.metadata("privateKey").unwrap().as_str(), Some(MASK));
        assert_eq!(e.metadata("pin").unwrap().as_str(), Some(MASK));
        assert_eq!(e.metadata("shipping").unwrap().as_str(), Some("express"));
    }
}
