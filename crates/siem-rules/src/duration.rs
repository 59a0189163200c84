//! Durations in configuration: a number of seconds (`300`) or humantime text (`5m`, `1h 30m`,
//! `90s`). `siem-rules` does not depend on `siem-ship`, so it has its own small helpers.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Reads a duration from text: a bare number is seconds, anything else is humantime
/// (`5m`, `2h`, `1d`, `250ms`).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(siem_rules::parse_duration("300"), Ok(Duration::from_secs(300)));
/// assert_eq!(siem_rules::parse_duration("5m"), Ok(Duration::from_secs(300)));
/// assert!(siem_rules::parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|e| format!("invalid duration {t:?}: {e}"))
}

/// `deserialize_with` helper: a duration as seconds or humantime text.
///
/// ```
/// use std::time::Duration;
/// #[derive(serde::Deserialize)]
/// struct C { #[serde(deserialize_with = "siem_rules::duration::deserialize")] window: Duration }
/// let c: C = serde_json::from_str(r#"{"window": "5m"}"#).unwrap();
/// assert_eq!(c.window, Duration::from_secs(300));
/// let c: C = serde_json::from_str(r#"{"window": 60}"#).unwrap();
/// assert_eq!(c.window, Duration::from_secs(60));
/// ```
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Fractional(f64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Fractional(f) => Duration::try_from_secs_f64(f)
            .map_err(|_| serde::de::Error::custom(format!("invalid duration {f}"))),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// `deserialize_with` helper for an optional duration (`null` or absent is `None`; use with
/// `#[serde(default)]`).
///
/// ```
/// use std::time::Duration;
/// #[derive(serde::Deserialize)]
/// struct C {
///     #[serde(default, deserialize_with = "siem_rules::duration::deserialize_option")]
///     cooldown: Option<Duration>,
/// }
/// let c: C = serde_json::from_str(r#"{"cooldown": "10m"}"#).unwrap();
/// assert_eq!(c.cooldown, Some(Duration::from_secs(600)));
/// let c: C = serde_json::from_str("{}").unwrap();
/// assert_eq!(c.cooldown, None);
/// ```
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "deserialize")] Duration);
    Ok(Option::<Wrap>::deserialize(deserializer)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5").is_err());
        assert!(parse_duration("5m\u{0}").is_err());
        assert!(parse_duration(&"9".repeat(1_000_000)).is_err());
    }
}
