use std::fmt;
use std::str::FromStr;

/// How serious a security event is, on one scale that every wire format maps to its own.
///
/// The order is meaningful: `Info < Low < Medium < High < Critical`.
///
/// | severity | from tracing level | CEF | LEEF `sev` | syslog severity | OCSF `severity_id` |
/// |----------|--------------------|-----|------------|-----------------|--------------------|
/// | info     | TRACE, DEBUG, INFO | 1   | 1          | 6 informational | 1 Informational    |
/// | low      |                    | 3   | 3          | 5 notice        | 2 Low              |
/// | medium   | WARN               | 5   | 5          | 4 warning       | 3 Medium           |
/// | high     | ERROR              | 7   | 7          | 3 error         | 4 High             |
/// | critical |                    | 10  | 10         | 2 critical      | 5 Critical         |
///
/// ```
/// use siem_event::Severity;
/// let s: Severity = "HIGH".parse().unwrap();
/// assert_eq!(s, Severity::High);
/// assert_eq!(s.cef(), 7);
/// assert!(Severity::Critical > Severity::Medium);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Severity {
    /// Informational: an expected security-relevant action (a successful login).
    #[default]
    Info,
    /// Low: worth recording, rarely worth a look on its own.
    Low,
    /// Medium: a failure or denial that matters in aggregate.
    Medium,
    /// High: an attack indicator or a failure that needs attention.
    High,
    /// Critical: an incident.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lower-case name used in JSON and config: `info`, `low`, `medium`, `high`, `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// CEF header severity, 0–10.
    pub const fn cef(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 3,
            Severity::Medium => 5,
            Severity::High => 7,
            Severity::Critical => 10,
        }
    }

    /// LEEF `sev` attribute, 1–10.
    pub const fn leef(self) -> u8 {
        self.cef()
    }

    /// Syslog severity code (RFC 5424 §6.2.1), 0 (emergency) – 7 (debug).
    pub const fn syslog(self) -> u8 {
        match self {
            Severity::Info => 6,
            Severity::Low => 5,
            Severity::Medium => 4,
            Severity::High => 3,
            Severity::Critical => 2,
        }
    }

    /// OCSF `severity_id`: 1 Informational … 5 Critical.
    pub const fn ocsf_id(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// The severity a `tracing` level gives when no `severity` field overrides it.
    ///
    /// The level is named by its upper-case text (`"WARN"`), so this crate needs no `tracing`
    /// dependency; unknown text gives `Info`.
    pub fn from_level_name(level: &str) -> Severity {
        match level {
            "ERROR" => Severity::High,
            "WARN" => Severity::Medium,
            _ => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Severity`] from text that names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSeverityError(pub String);

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity {:?}: expected info, low, medium, high or critical (or a number 0-10)",
            self.0
        )
    }
}

impl std::error::Error for ParseSeverityError {}

/// The names [`Severity::from_str`] accepts, any case.
const SEVERITY_NAMES: &[(&str, Severity)] = &[
    ("info", Severity::Info),
    ("informational", Severity::Info),
    ("information", Severity::Info),
    ("debug", Severity::Info),
    ("trace", Severity::Info),
    ("none", Severity::Info),
    ("low", Severity::Low),
    ("notice", Severity::Low),
    ("medium", Severity::Medium),
    ("warn", Severity::Medium),
    ("warning", Severity::Medium),
    ("moderate", Severity::Medium),
    ("high", Severity::High),
    ("error", Severity::High),
    ("err", Severity::High),
    ("very-high", Severity::High),
    ("critical", Severity::Critical),
    ("crit", Severity::Critical),
    ("fatal", Severity::Critical),
    ("alert", Severity::Critical),
    ("emergency", Severity::Critical),
];

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Accepts the five names in any case, the usual synonyms (`informational`, `warning`,
    /// `error`, `very-high`, `fatal`, …) and a CEF-style number 0–10.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(n) = t.parse::<u8>() {
            return match n {
                0..=2 => Ok(Severity::Info),
                3 => Ok(Severity::Low),
                4..=6 => Ok(Severity::Medium),
                7..=8 => Ok(Severity::High),
                9..=10 => Ok(Severity::Critical),
                _ => Err(ParseSeverityError(s.to_owned())),
            };
        }
        // Compared in place, not lower-cased into a new string: the layer parses a logged
        // `severity` field on the application thread.
        SEVERITY_NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(t))
            .map(|&(_, severity)| severity)
            .ok_or_else(|| ParseSeverityError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        }
    }

    #[test]
    fn numbers_and_synonyms() {
        assert_eq!("7".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("Warning".parse::<Severity>().unwrap(), Severity::Medium);
        assert!("11".parse::<Severity>().is_err());
        assert!("".parse::<Severity>().is_err());
        assert!("severe\u{0}".parse::<Severity>().is_err());
    }

    #[test]
    fn scales_are_monotonic() {
        for w in Severity::ALL.windows(2) {
            assert!(w[0].cef() < w[1].cef());
            assert!(w[0].syslog() > w[1].syslog());
            assert!(w[0].ocsf_id() < w[1].ocsf_id());
        }
    }

    #[test]
    fn levels() {
        assert_eq!(Severity::from_level_name("ERROR"), Severity::High);
        assert_eq!(Severity::from_level_name("WARN"), Severity::Medium);
        assert_eq!(Severity::from_level_name("INFO"), Severity::Info);
    }
}
