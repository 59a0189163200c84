//! The error of a configuration value that cannot be used: the key path and the reason.
//! Shared by the sinks (which check their own settings) and the `tracing-siem` configuration,
//! which puts the destination's path in front.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A configuration that cannot be used, with the key path, the reason and, when another error
/// caused it (an unreadable file, a YAML syntax error, a certificate rustls refuses), that
/// error as [`Error::source`].
///
/// ```
/// use siem_ship::ConfigError;
/// let e = ConfigError::invalid("queue.capacity", "must be at least 1");
/// assert_eq!(e.key(), "queue.capacity");
/// assert_eq!(e.to_string(), "queue.capacity: must be at least 1");
/// ```
#[derive(Debug, Clone)]
pub struct ConfigError {
    key: String,
    reason: String,
    // An `Arc` rather than a `Box` keeps the error `Clone`, which callers that report one
    // error in several places rely on.
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl ConfigError {
    /// An error about the value at `key` (a dotted path such as `destinations[0].port`).
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// The same error with the error that caused it, returned by [`Error::source`]. The
    /// message ([`Display`](fmt::Display)) stays `key: reason`, so put what the user needs
    /// to read in the reason.
    ///
    /// ```
    /// use std::error::Error;
    /// use siem_ship::ConfigError;
    /// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    /// let e = ConfigError::invalid("path", format!("cannot open it: {io}")).with_source(io);
    /// assert_eq!(e.to_string(), "path: cannot open it: no such file");
    /// assert_eq!(e.source().unwrap().to_string(), "no such file");
    /// ```
    pub fn with_source(self, source: impl Error + Send + Sync + 'static) -> ConfigError {
        ConfigError {
            source: Some(Arc::new(source)),
            ..self
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

    /// The same error (key and cause) with another reason, for a caller that knows more
    /// about where the value came from.
    ///
    /// ```
    /// use siem_ship::ConfigError;
    /// let e = ConfigError::invalid("port", "must not be 0");
    /// let e = e.with_reason(|reason| format!("{reason} (set by SIEM_PORT)"));
    /// assert_eq!(e.to_string(), "port: must not be 0 (set by SIEM_PORT)");
    /// ```
    pub fn with_reason(self, reason: impl FnOnce(&str) -> String) -> ConfigError {
        ConfigError {
            reason: reason(&self.reason),
            ..self
        }
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

impl Error for ConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

/// Two errors are equal when they say the same thing about the same key; the underlying
/// cause is not compared (most error types cannot be).
impl PartialEq for ConfigError {
    fn eq(&self, other: &ConfigError) -> bool {
        self.key == other.key && self.reason == other.reason
    }
}

impl Eq for ConfigError {}
