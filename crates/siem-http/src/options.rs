//! The settings every HTTP destination shares (the `http:` key): timeouts, requests in
//! flight, compression, the API's size limits, the dead-letter file and consent to plain
//! `http://`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use siem_ship::ConfigError;

use crate::chunk::Limits;

/// How request bodies are compressed.
///
/// ```
/// use siem_http::Compression;
/// let c: Compression = serde_json::from_str("\"gzip\"").unwrap();
/// assert_eq!(c, Compression::Gzip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// Bodies as they are.
    None,
    /// `Content-Encoding: gzip` (fast level: the network is rarely the bottleneck).
    Gzip,
}

/// Shared HTTP settings of a destination (the `http:` key). Limits left unset take the API's
/// documented defaults, which each destination's documentation lists.
///
/// ```
/// use std::time::Duration;
/// use siem_http::HttpOptions;
/// let o: HttpOptions = serde_json::from_str(r#"{"timeout": "5s", "max_in_flight": 2}"#).unwrap();
/// assert_eq!(o.timeout, Duration::from_secs(5));
/// assert_eq!(o.connect_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Longest time for one request, from connecting to the end of the response (default 30 s).
    #[serde(
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub timeout: Duration,
    /// Longest time to open a connection, TLS included (default 10 s).
    #[serde(
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub connect_timeout: Duration,
    /// Requests sent at once when a batch is split into several (default 4).
    pub max_in_flight: usize,
    /// Body compression; unset: the destination's default (gzip where the API accepts it).
    pub compression: Option<Compression>,
    /// Largest request body before compression, in bytes (`1MB`, `5MiB`…).
    #[serde(deserialize_with = "siem_ship::units::opt_byte_size_usize")]
    pub max_bytes: Option<usize>,
    /// Most records in one request.
    pub max_entries: Option<usize>,
    /// Largest single record; a larger one is dead-lettered, never sent.
    #[serde(deserialize_with = "siem_ship::units::opt_byte_size_usize")]
    pub max_entry_bytes: Option<usize>,
    /// Allows plain `http://` although the destination's credentials would travel in clear
    /// (default false).
    pub allow_insecure_http: bool,
    /// The dead-letter file (default [`crate::DEFAULT_DEAD_LETTER_PATH`]).
    pub dead_letter: Option<PathBuf>,
}

impl HttpOptions {
    /// Sets `timeout`: longest time for one request, from connecting to the end of the response (default 30 s).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use std::time::Duration;
    /// let c = HttpOptions::default().timeout(Duration::from_secs(30));
    /// assert_eq!(c.timeout, Duration::from_secs(30));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> HttpOptions {
        self.timeout = timeout;
        self
    }

    /// Sets `connect_timeout`: longest time to open a connection, TLS included (default 10 s).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use std::time::Duration;
    /// let c = HttpOptions::default().connect_timeout(Duration::from_secs(30));
    /// assert_eq!(c.connect_timeout, Duration::from_secs(30));
    /// ```
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> HttpOptions {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets `max_in_flight`: requests sent at once when a batch is split into several (default 4).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().max_in_flight(4);
    /// assert_eq!(c.max_in_flight, 4);
    /// ```
    pub fn max_in_flight(mut self, max_in_flight: usize) -> HttpOptions {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets `compression`: body compression; unset: the destination's default (gzip where the API accepts it).
    ///
    /// ```
    /// use siem_http::Compression;
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().compression(Compression::None);
    /// assert_eq!(c.compression, Some(Compression::None));
    /// ```
    pub fn compression(mut self, compression: Compression) -> HttpOptions {
        self.compression = Some(compression);
        self
    }

    /// Sets `max_bytes`: largest request body before compression, in bytes (`1MB`, `5MiB`…).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().max_bytes(1024);
    /// assert_eq!(c.max_bytes, Some(1024));
    /// ```
    pub fn max_bytes(mut self, max_bytes: usize) -> HttpOptions {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// Sets `max_entries`: most records in one request.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().max_entries(1024);
    /// assert_eq!(c.max_entries, Some(1024));
    /// ```
    pub fn max_entries(mut self, max_entries: usize) -> HttpOptions {
        self.max_entries = Some(max_entries);
        self
    }

    /// Sets `max_entry_bytes`: largest single record; a larger one is dead-lettered, never sent.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().max_entry_bytes(1024);
    /// assert_eq!(c.max_entry_bytes, Some(1024));
    /// ```
    pub fn max_entry_bytes(mut self, max_entry_bytes: usize) -> HttpOptions {
        self.max_entry_bytes = Some(max_entry_bytes);
        self
    }

    /// Sets `allow_insecure_http`: allows plain `http://` although the destination's
    /// credentials would travel in clear (default false).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().allow_insecure_http(true);
    /// assert!(c.allow_insecure_http);
    /// ```
    pub fn allow_insecure_http(mut self, allow_insecure_http: bool) -> HttpOptions {
        self.allow_insecure_http = allow_insecure_http;
        self
    }

    /// Sets `dead_letter`: the dead-letter file (default [`crate::DEFAULT_DEAD_LETTER_PATH`]).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// let c = HttpOptions::default().dead_letter("/var/spool/siem/dead.jsonl");
    /// assert_eq!(c.dead_letter, Some("/var/spool/siem/dead.jsonl".into()));
    /// ```
    pub fn dead_letter(mut self, dead_letter: impl Into<PathBuf>) -> HttpOptions {
        self.dead_letter = Some(dead_letter.into());
        self
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_in_flight: 4,
            compression: None,
            max_bytes: None,
            max_entries: None,
            max_entry_bytes: None,
            allow_insecure_http: false,
            dead_letter: None,
        }
    }
}

impl HttpOptions {
    /// Checks the values; errors name the key under `http.`.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("timeout", self.timeout.is_zero()),
            ("connect_timeout", self.connect_timeout.is_zero()),
            ("max_in_flight", self.max_in_flight == 0),
            ("max_bytes", self.max_bytes == Some(0)),
            ("max_entries", self.max_entries == Some(0)),
            ("max_entry_bytes", self.max_entry_bytes == Some(0)),
        ];
        match positive.iter().find(|(_, zero)| *zero) {
            Some((key, _)) => Err(ConfigError::invalid(
                format!("http.{key}"),
                "must be greater than zero",
            )),
            None => Ok(()),
        }
    }

    /// The limits to split batches by: the configured ones over the API's defaults.
    pub(crate) fn limits(&self, defaults: Limits) -> Limits {
        let max_bytes = self.max_bytes.unwrap_or(defaults.max_bytes);
        Limits {
            max_bytes,
            max_entries: self.max_entries.unwrap_or(defaults.max_entries),
            max_entry_bytes: self
                .max_entry_bytes
                .unwrap_or(defaults.max_entry_bytes)
                .min(max_bytes),
        }
    }
}

/// Checks a destination's URL: `http` or `https` with a host, no password in it, and plain
/// `http://` only when the destination carries no secret or `http.allow_insecure_http` says so.
pub(crate) fn check_url(
    url: &str,
    carries_secret: bool,
    allow_insecure_http: bool,
) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::invalid("url", format!("not a URL: {e}")).with_source(e))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ConfigError::invalid(
            "url",
            "expected an http:// or https:// URL with a host",
        ));
    }
    if parsed.password().is_some() {
        return Err(ConfigError::invalid(
            "url",
            "holds a password; give credentials in the destination's auth keys instead",
        ));
    }
    if parsed.scheme() == "http" && carries_secret && !allow_insecure_http {
        return Err(ConfigError::invalid(
            "url",
            "plain http:// would send this destination's credentials in clear; use https:// \
             or set http.allow_insecure_http: true",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_insecure_http_needs_consent() {
        assert!(check_url("https://h/x", true, false).is_ok());
        assert!(check_url("http://h/x", false, false).is_ok());
        let e = check_url("http://h/x", true, false).unwrap_err();
        assert_eq!(e.key(), "url");
        assert!(
            e.reason().contains("set http.allow_insecure_http: true"),
            "{e}"
        );
        assert!(check_url("http://h/x", true, true).is_ok());
        assert!(check_url("ftp://h/x", false, false).is_err());
        assert!(check_url("not a url", false, false).is_err());
        let e = check_url("https://u:hunter2@h/", false, false).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn zero_values_are_refused_with_their_key() {
        let o = HttpOptions {
            max_in_flight: 0,
            ..HttpOptions::default()
        };
        assert_eq!(o.validate().unwrap_err().key(), "http.max_in_flight");
    }
}
