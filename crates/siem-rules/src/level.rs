use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use siem_event::Severity;

/// How loudly an alert asks for attention: seed 000's six levels, with their numeric values.
///
/// | level      | value | meaning (seed 000)                    | severity of the `alert.*` event |
/// |------------|-------|---------------------------------------|---------------------------------|
/// | `NONE`     | 0     | no alert (a rule that only feeds state) | info                          |
/// | `LOG`      | 1     | log only                              | low                             |
/// | `NOTIFY`   | 2     | notification (e-mail, chat)           | medium                          |
/// | `PAGE`     | 3     | page the on-call engineer             | high                            |
/// | `ESCALATE` | 4     | escalate to the security team         | high                            |
/// | `CRITICAL` | 5     | critical incident, all hands          | critical                        |
///
/// ```
/// use siem_rules::AlertLevel;
/// let level: AlertLevel = "page".parse().unwrap();
/// assert_eq!(level, AlertLevel::Page);
/// assert_eq!(level.value(), 3);
/// assert!(AlertLevel::Critical > AlertLevel::Escalate);
/// assert_eq!(AlertLevel::Page.raised(5), AlertLevel::Critical);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AlertLevel {
    /// No alert.
    #[default]
    None,
    /// Log only.
    Log,
    /// Send a notification.
    Notify,
    /// Page the on-call engineer.
    Page,
    /// Escalate to the security team.
    Escalate,
    /// Critical incident.
    Critical,
}

impl AlertLevel {
    /// Every level, lowest first.
    pub const ALL: [AlertLevel; 6] = [
        AlertLevel::None,
        AlertLevel::Log,
        AlertLevel::Notify,
        AlertLevel::Page,
        AlertLevel::Escalate,
        AlertLevel::Critical,
    ];

    /// Seed 000's numeric value, 0 (`NONE`) to 5 (`CRITICAL`).
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// The upper-case name: `NONE`, `LOG`, `NOTIFY`, `PAGE`, `ESCALATE`, `CRITICAL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertLevel::None => "NONE",
            AlertLevel::Log => "LOG",
            AlertLevel::Notify => "NOTIFY",
            AlertLevel::Page => "PAGE",
            AlertLevel::Escalate => "ESCALATE",
            AlertLevel::Critical => "CRITICAL",
        }
    }

    /// The level with this numeric value.
    pub const fn from_value(value: u8) -> Option<AlertLevel> {
        match value {
            0 => Some(AlertLevel::None),
            1 => Some(AlertLevel::Log),
            2 => Some(AlertLevel::Notify),
            3 => Some(AlertLevel::Page),
            4 => Some(AlertLevel::Escalate),
            5 => Some(AlertLevel::Critical),
            _ => None,
        }
    }

    /// This level raised by `steps`, capped at `CRITICAL` (used by escalation).
    pub fn raised(self, steps: u32) -> AlertLevel {
        let v = u32::from(self.value()).saturating_add(steps).min(5);
        AlertLevel::from_value(v as u8).unwrap_or(AlertLevel::Critical)
    }

    /// The alert level a seed 003 / 004 rule `severity` stands for: low → LOG, medium → NOTIFY,
    /// high → PAGE, critical → CRITICAL, info → LOG.
    pub const fn from_severity(severity: Severity) -> AlertLevel {
        match severity {
            Severity::Info | Severity::Low => AlertLevel::Log,
            Severity::Medium => AlertLevel::Notify,
            Severity::High => AlertLevel::Page,
            Severity::Critical => AlertLevel::Critical,
            // A severity added to siem-event later notifies until it is given its own level.
            _ => AlertLevel::Notify,
        }
    }

    /// The severity of the `alert.*` event an alert of this level becomes (table above).
    pub const fn severity(self) -> Severity {
        match self {
            AlertLevel::None => Severity::Info,
            AlertLevel::Log => Severity::Low,
            AlertLevel::Notify => Severity::Medium,
            AlertLevel::Page | AlertLevel::Escalate => Severity::High,
            AlertLevel::Critical => Severity::Critical,
        }
    }

    /// True for the levels that open a reportable incident (`ESCALATE`, `CRITICAL`): their
    /// alerts carry NIS2 incident timing.
    pub const fn is_incident(self) -> bool {
        matches!(self, AlertLevel::Escalate | AlertLevel::Critical)
    }
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of reading an [`AlertLevel`] from text that names none.
///
/// ```
/// use siem_rules::AlertLevel;
/// let err = "loud".parse::<AlertLevel>().unwrap_err();
/// assert!(err.to_string().contains("loud"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert level {0:?}: expected NONE, LOG, NOTIFY, PAGE, ESCALATE, CRITICAL or 0-5")]
pub struct ParseAlertLevelError(pub String);

impl FromStr for AlertLevel {
    type Err = ParseAlertLevelError;

    /// Accepts the six names in any case and the values 0–5.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(n) = t.parse::<u8>() {
            return AlertLevel::from_value(n).ok_or_else(|| ParseAlertLevelError(s.to_owned()));
        }
        AlertLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseAlertLevelError(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for AlertLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u8),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => AlertLevel::from_value(n)
                .ok_or_else(|| serde::de::Error::custom(ParseAlertLevelError(n.to_string()))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_seed_000s() {
        for (i, level) in AlertLevel::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(level.value()), i);
            assert_eq!(level.as_str().parse::<AlertLevel>().unwrap(), level);
            assert_eq!(i.to_string().parse::<AlertLevel>().unwrap(), level);
        }
        assert!("6".parse::<AlertLevel>().is_err());
        assert!("".parse::<AlertLevel>().is_err());
        assert!("PAGE\n".parse::<AlertLevel>().is_ok());
        assert!("PA\u{0}GE".parse::<AlertLevel>().is_err());
    }

    #[test]
    fn raising_saturates() {
        assert_eq!(AlertLevel::Notify.raised(1), AlertLevel::Page);
        assert_eq!(AlertLevel::Escalate.raised(u32::MAX), AlertLevel::Critical);
    }

    #[test]
    fn severities() {
        assert_eq!(AlertLevel::from_severity(Severity::High), AlertLevel::Page);
        assert_eq!(AlertLevel::Critical.severity(), Severity::Critical);
        assert!(AlertLevel::Escalate.is_incident());
        assert!(!AlertLevel::Page.is_incident());
    }
}
