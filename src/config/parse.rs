//! serde helpers for our own value types in configuration.

use serde::{de, Deserialize, Deserializer};
use siem_event::Severity;
use tracing::Level;

/// `deserialize_with` for an optional [`Severity`] written as its name or a number 0–10.
pub(crate) fn opt_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
    let text = Option::<TextOrNumber>::deserialize(d)?;
    text.map(|t| t.0.parse().map_err(de::Error::custom))
        .transpose()
}

/// `deserialize_with` for a `tracing` level (`trace`, `debug`, `info`, `warn`, `error`).
pub(crate) fn level<'de, D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
    let text = String::deserialize(d)?;
    parse_level(&text).map_err(de::Error::custom)
}

/// Parses a `tracing` level name, in any case (`warning` accepted).
pub fn parse_level(text: &str) -> Result<Level, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok(Level::TRACE),
        "debug" => Ok(Level::DEBUG),
        "info" => Ok(Level::INFO),
        "warn" | "warning" => Ok(Level::WARN),
        "error" => Ok(Level::ERROR),
        _ => Err(format!(
            "unknown level {text:?}: expected trace, debug, info, warn or error"
        )),
    }
}

struct TextOrNumber(String);

impl<'de> Deserialize<'de> for TextOrNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        Ok(TextOrNumber(match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::S(s) => s,
        }))
    }
}
