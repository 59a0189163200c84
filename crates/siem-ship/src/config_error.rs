//! The error of a configuration value that cannot be used: the key path and the reason.
//! Shared by the sinks (which check their own settings) and the `tracing-siem` configuration,
//! which puts the destination's path in front.

use std::fmt;

/// A configuration that cannot be used, with the key path and the reason.
///
/// ```
/// use siem_ship::ConfigError;
/// let e = ConfigError::invalid("queue.capacity", "must be at least 1");
/// assert_eq!(e.key(), "queue.capacity");
/// assert_eq!(e.to_string(), "queue.capacity: must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    key: String,
    reason: String,
}

impl ConfigError {
    /// An error about the value at `key` (a dotted path such as `destinations[0].port`).
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The dotted key path (empty for errors about the whole document).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Why the value is refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same error, one level deeper: `prefix` is put before the key.
    ///
    /// ```
    /// use siem_ship::ConfigError;
    /// let e = ConfigError::invalid("tls.ca_file", "cannot read it").within("destinations[0]");
    /// assert_eq!(e.key(), "destinations[0].tls.ca_file");
    /// ```
    pub fn within(self, prefix: &str) -> ConfigError {
        let key = match (prefix.is_empty(), self.key.is_empty()) {
            (true, _) => self.key,
            (false, true) => prefix.to_owned(),
            (false, false) if self.key.starts_with('[') => format!("{prefix}{}", self.key),
            (false, false) => format!("{prefix}.{}", self.key),
        };
        ConfigError { key, ..self }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}
