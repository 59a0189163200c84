//! A configuration value that must never be shown: tokens, API keys, passwords.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string (a token, an API key, a password). Its `Debug` shows `***`, and the sinks
/// never put it in an error message, a metric or a dead-letter record.
///
/// ```
/// use siem_ship::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "***");
/// assert_eq!(s.expose(), "hunter2");
/// // Serialized (`siem check` showing the configuration) it is masked too.
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#""***""#);
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
