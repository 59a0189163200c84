//! The registry of wire formats: their names, aliases and errors.

use std::fmt;
use std::str::FromStr;

/// One wire format, chosen per destination (`format = "cef"` in config,
/// `siem encode --format cef`).
///
/// | format | name | aliases | what the SIEM receives |
/// |--------|------|---------|------------------------|
/// | [`Format::Json`] | `json` | `jsonl`, `ndjson` | the canonical JSON object ([`crate::json`]) |
/// | [`Format::Ecs`] | `ecs` | `elastic` | Elastic Common Schema document |
/// | [`Format::Ocsf`] | `ocsf` | | OCSF event ([`crate::ocsf`]) |
/// | [`Format::Cef`] | `cef` | `arcsight` | `CEF:0|…` line |
/// | [`Format::Leef1`] | `leef1` | `leef1.0` | `LEEF:1.0|…` line, TAB-delimited |
/// | [`Format::Leef2`] | `leef2` | `leef`, `leef2.0`, `qradar` | `LEEF:2.0|…` line, configurable delimiter |
/// | [`Format::Rfc5424`] | `rfc5424` | `syslog`, `syslog5424`, `5424` | RFC 5424 syslog message with structured data |
/// | [`Format::Rfc3164`] | `rfc3164` | `bsd`, `syslog3164`, `3164` | BSD syslog line (lossy) |
/// | [`Format::Hec`] | `hec` | `splunk`, `splunk-hec` | Splunk HEC event envelope |
///
/// Names are matched ignoring ASCII case and surrounding blanks.
///
/// ```
/// use siem_format::Format;
/// assert_eq!("CEF".parse::<Format>().unwrap(), Format::Cef);
/// assert_eq!("syslog".parse::<Format>().unwrap(), Format::Rfc5424);
/// assert_eq!(Format::Leef2.to_string(), "leef2");
/// assert!("xml".parse::<Format>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The canonical JSON object.
    Json,
    /// Elastic Common Schema JSON.
    Ecs,
    /// Open Cybersecurity Schema Framework JSON.
    Ocsf,
    /// ArcSight Common Event Format.
    Cef,
    /// IBM QRadar LEEF 1.0.
    Leef1,
    /// IBM QRadar LEEF 2.0.
    Leef2,
    /// RFC 5424 syslog.
    Rfc5424,
    /// RFC 3164 (BSD) syslog.
    Rfc3164,
    /// Splunk HTTP Event Collector envelope.
    Hec,
}

impl Format {
    /// Every format, in the order of the table above.
    /// ```
    /// assert_eq!(siem_format::Format::ALL.len(), 9);
    /// ```
    pub const ALL: [Format; 9] = [
        Format::Json,
        Format::Ecs,
        Format::Ocsf,
        Format::Cef,
        Format::Leef1,
        Format::Leef2,
        Format::Rfc5424,
        Format::Rfc3164,
        Format::Hec,
    ];

    /// The format's name, as `FromStr` reads it and `Display` writes it.
    ///
    /// ```
    /// assert_eq!(siem_format::Format::Rfc3164.name(), "rfc3164");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ecs => "ecs",
            Format::Ocsf => "ocsf",
            Format::Cef => "cef",
            Format::Leef1 => "leef1",
            Format::Leef2 => "leef2",
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Hec => "hec",
        }
    }

    /// Whether one record is a JSON value (JSON, ECS, OCSF, HEC).
    ///
    /// ```
    /// assert!(siem_format::Format::Ocsf.is_json());
    /// assert!(!siem_format::Format::Cef.is_json());
    /// ```
    pub const fn is_json(self) -> bool {
        matches!(
            self,
            Format::Json | Format::Ecs | Format::Ocsf | Format::Hec
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Format, FormatError> {
        let t = s.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "json" | "jsonl" | "ndjson" => Format::Json,
            "ecs" | "elastic" => Format::Ecs,
            "ocsf" => Format::Ocsf,
            "cef" | "arcsight" => Format::Cef,
            "leef1" | "leef1.0" => Format::Leef1,
            "leef2" | "leef" | "leef2.0" | "qradar" => Format::Leef2,
            "rfc5424" | "syslog" | "syslog5424" | "5424" => Format::Rfc5424,
            "rfc3164" | "bsd" | "syslog3164" | "3164" => Format::Rfc3164,
            "hec" | "splunk" | "splunk-hec" => Format::Hec,
            _ => return Err(FormatError::UnknownFormat(s.to_owned())),
        })
    }
}

impl<'de> serde::Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a format or its options were refused.
///
/// ```
/// use siem_format::{build_encoder, Format, FormatError, FormatOptions};
/// let options = FormatOptions::default().sd_id("no-at-sign");
/// let err = build_encoder(Format::Rfc5424, &options).err().unwrap();
/// assert!(matches!(err, FormatError::InvalidOption { option: "sd_id", .. }));
/// assert!(err.to_string().starts_with("format option `sd_id`:"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A format name that names none.
    #[error(
        "unknown format {0:?}: expected json, ecs, ocsf, cef, leef1, leef2, rfc5424, rfc3164 or hec"
    )]
    UnknownFormat(String),
    /// An option that cannot be used.
    #[error("format option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name in [`crate::FormatOptions`].
        option: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string().to_uppercase().parse::<Format>().unwrap(), f);
        }
        for (alias, f) in [
            ("jsonl", Format::Json),
            (" leef ", Format::Leef2),
            ("syslog", Format::Rfc5424),
            ("bsd", Format::Rfc3164),
            ("splunk", Format::Hec),
        ] {
            assert_eq!(alias.parse::<Format>().unwrap(), f);
        }
        assert_eq!(
            "cef|x".parse::<Format>().unwrap_err().to_string(),
            "unknown format \"cef|x\": expected json, ecs, ocsf, cef, leef1, leef2, rfc5424, rfc3164 or hec"
        );
    }

    #[test]
    fn deserializes_from_config_text() {
        let f: Format = serde_json::from_str("\"LEEF2\"").unwrap();
        assert_eq!(f, Format::Leef2);
        assert!(serde_json::from_str::<Format>("\"nope\"").is_err());
    }
}
