//! Human-friendly units in configuration: durations (`5s`, `250ms`, `1m`) and byte sizes
//! (`100MB`, `64KiB`, `1048576`), as serde `deserialize_with` helpers and plain parsers.
//!
//! Shared by every crate's configuration (`siem_ship::units` and the rules' durations are
//! this module).
//!
//! ```
//! use siem_event::units::{parse_byte_size, parse_duration};
//! assert_eq!(parse_byte_size("100MB").unwrap(), 100_000_000);
//! assert_eq!(parse_byte_size("64KiB").unwrap(), 65_536);
//! assert_eq!(parse_duration("250ms").unwrap(), std::time::Duration::from_millis(250));
//! assert!(parse_byte_size("ten").is_err());
//! ```

use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serializer};

/// Parses a byte size: a whole number, optionally followed by `B`, `KB`/`MB`/`GB`/`TB` (powers
/// of 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive, blanks allowed between.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(format!(
            "invalid byte size {t:?}: expected a number with an optional unit, such as 100MB or 64KiB"
        ));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid byte size {t:?}: number too large"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "invalid byte size {t:?}: unknown unit {other:?} (use B, KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid byte size {t:?}: too large"))
}

/// Parses a duration in humantime form (`5s`, `1m 30s`, `250ms`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && (0.0..1e12).contains(&secs) {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!(
            "invalid duration {t:?}: must be a finite, non-negative number of seconds"
        ));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("invalid duration {t:?}: {e} (use forms like 5s, 250ms, 1m)"))
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a number, or a text such as 100MB or 5s")]
enum NumberOrText {
    Int(u64),
    Float(f64),
    Text(String),
}

/// `deserialize_with` for a [`Duration`] written as `5s`, `250ms` or a number of seconds.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match NumberOrText::deserialize(d)? {
        NumberOrText::Int(n) => Ok(Duration::from_secs(n)),
        NumberOrText::Float(f) => parse_duration(&f.to_string()).map_err(de::Error::custom),
        NumberOrText::Text(s) => parse_duration(&s).map_err(de::Error::custom),
    }
}

/// `deserialize_with` for an optional [`Duration`]: `null` (or, with `#[serde(default)]`, an
/// absent key) is `None`.
///
/// ```
/// use std::time::Duration;
/// #[derive(serde::Deserialize)]
/// struct C {
///     #[serde(default, deserialize_with = "siem_event::units::opt_duration")]
///     cooldown: Option<Duration>,
/// }
/// let c: C = serde_json::from_str(r#"{"cooldown": "10m"}"#).unwrap();
/// assert_eq!(c.cooldown, Some(Duration::from_secs(600)));
/// let c: C = serde_json::from_str(r#"{"cooldown": null}"#).unwrap();
/// assert_eq!(c.cooldown, None);
/// ```
pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "duration")] Duration);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// `deserialize_with` for a byte size written as `100MB`, `64KiB` or a number of bytes.
pub fn byte_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumberOrText::deserialize(d)? {
        NumberOrText::Int(n) => Ok(n),
        NumberOrText::Float(_) => Err(de::Error::custom("a byte size must be a whole number")),
        NumberOrText::Text(s) => parse_byte_size(&s).map_err(de::Error::custom),
    }
}

/// `deserialize_with` for a byte size held in a `usize`.
pub fn byte_size_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = byte_size(d)?;
    usize::try_from(n).map_err(|_| de::Error::custom("byte size too large for this platform"))
}

/// `deserialize_with` for an optional byte size held in a `usize`: `null` (or, with
/// `#[serde(default)]`, an absent key) is `None`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct C {
///     #[serde(default, deserialize_with = "siem_event::units::opt_byte_size_usize")]
///     max_bytes: Option<usize>,
/// }
/// let c: C = serde_json::from_str(r#"{"max_bytes": "1MiB"}"#).unwrap();
/// assert_eq!(c.max_bytes, Some(1 << 20));
/// let c: C = serde_json::from_str(r#"{"max_bytes": null}"#).unwrap();
/// assert_eq!(c.max_bytes, None);
/// ```
pub fn opt_byte_size_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "byte_size_usize")] usize);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// `serialize_with` for a [`Duration`]: the text [`duration`] reads back (`5s`, `1m 30s`,
/// `250ms`), for configuration shown to a person.
///
/// ```
/// use std::time::Duration;
/// #[derive(serde::Serialize)]
/// struct C {
///     #[serde(serialize_with = "siem_event::units::serialize_duration")]
///     timeout: Duration,
/// }
/// let text = serde_json::to_string(&C { timeout: Duration::from_millis(1500) }).unwrap();
/// assert_eq!(text, r#"{"timeout":"1s 500ms"}"#);
/// ```
pub fn serialize_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

/// `serialize_with` for an optional [`Duration`]: `None` is `null`, a value as
/// [`serialize_duration`] writes it.
///
/// ```
/// use std::time::Duration;
/// #[derive(serde::Serialize)]
/// struct C {
///     #[serde(serialize_with = "siem_event::units::serialize_opt_duration")]
///     cooldown: Option<Duration>,
/// }
/// let text = serde_json::to_string(&C { cooldown: Some(Duration::from_secs(600)) }).unwrap();
/// assert_eq!(text, r#"{"cooldown":"10m"}"#);
/// ```
pub fn serialize_opt_duration<S: Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_duration(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("0").unwrap(), 0);
        assert_eq!(parse_byte_size("1 mib").unwrap(), 1 << 20);
        assert!(parse_byte_size("").is_err());
        assert!(parse_byte_size("-1MB").is_err());
        assert!(parse_byte_size("99999999999999999999").is_err());
        assert!(parse_byte_size("18446744073709551615TB").is_err());
        assert!(parse_byte_size("5 parsecs").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m 30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("NaN").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5m\u{0}").is_err());
        assert!(parse_duration(&"9".repeat(1_000_000)).is_err());
    }
}
