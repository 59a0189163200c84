use std::borrow::Cow;
use std::fmt;

use crate::Outcome;

/// A security event's type in dotted `category.action` form, with the name it was given.
///
/// [`EventType::parse`] maps the three vocabularies our users bring onto one form, and keeps any
/// name it does not know verbatim (never rejected):
///
/// | given (seed)                         | canonical                     |
/// |--------------------------------------|-------------------------------|
/// | `auth.failure`, `config.changed` … (003) | unchanged                 |
/// | `authentication_failure` (000)       | `auth.failure`                |
/// | `authentication_success` (000)       | `auth.success`                |
/// | `authorization_failure` (000)        | `authz.access_denied`         |
/// | `constitutional_hash_mismatch` (000) | `integrity.hash_mismatch`     |
/// | `prompt_injection_attempt` (000)     | `security.prompt_injection`   |
/// | `tenant_violation` (000)             | `authz.tenant_violation`      |
/// | `rate_limit_exceeded` (000)          | `security.rate_limit_exceeded`|
/// | `anomaly_detected` (000)             | `security.anomaly_detected`   |
/// | `suspicious_pattern` (000)           | `security.suspicious_activity`|
/// | `authentication` (004)               | `auth.success` / `auth.failure` by outcome, else `auth.attempt` |
/// | `authorization` (004)                | `authz.access_granted` / `authz.access_denied` by outcome, else `authz.check` |
/// | `configuration` (004)                | `config.changed`              |
/// | `network` (004)                      | `network.connection_failed`   |
/// | `credential_access` (004)            | `credential.access`           |
/// | `availability` (004)                 | `availability.degraded`       |
/// | `operational` (004)                  | `operational.event`           |
///
/// Matching is case-insensitive and ignores surrounding blanks; seed 000's names also match in
/// upper case (`AUTHENTICATION_FAILURE`, the Python enum member names).
///
/// ```
/// use siem_event::{EventType, Outcome};
/// let t = EventType::parse_with_outcome("authentication", Outcome::Failure);
/// assert_eq!(t.as_str(), "auth.failure");
/// assert_eq!(t.category(), "auth");
/// assert_eq!(t.action(), "failure");
/// assert_eq!(t.original(), "authentication");
///
/// let custom = EventType::parse("billing.refund_issued");
/// assert_eq!(custom.as_str(), "billing.refund_issued");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType {
    name: Cow<'static, str>,
    original: Option<String>,
}

/// (given name, canonical name) for names that do not depend on the outcome.
const FIXED: &[(&str, &str)] = &[
    ("authentication_failure", "auth.failure"),
    ("authentication_success", "auth.success"),
    ("authorization_failure", "authz.access_denied"),
    ("authorization_success", "authz.access_granted"),
    ("constitutional_hash_mismatch", "integrity.hash_mismatch"),
    ("prompt_injection_attempt", "security.prompt_injection"),
    ("tenant_violation", "authz.tenant_violation"),
    ("rate_limit_exceeded", "security.rate_limit_exceeded"),
    ("anomaly_detected", "security.anomaly_detected"),
    ("suspicious_pattern", "security.suspicious_activity"),
    ("configuration", "config.changed"),
    ("network", "network.connection_failed"),
    ("credential_access", "credential.access"),
    ("availability", "availability.degraded"),
    ("operational", "operational.event"),
];

impl EventType {
    /// Maps a given name onto the canonical form, without an outcome to refine bare categories.
    pub fn parse(given: &str) -> EventType {
        EventType::parse_with_outcome(given, Outcome::Unknown)
    }

    /// Maps a given name onto the canonical form; the outcome refines seed 004's bare
    /// `authentication` and `authorization` categories.
    pub fn parse_with_outcome(given: &str, outcome: Outcome) -> EventType {
        let trimmed = given.trim();
        let canonical: Option<&'static str> = if trimmed.eq_ignore_ascii_case("authentication") {
            Some(match outcome {
                Outcome::Success => "auth.success",
                Outcome::Failure | Outcome::Denied => "auth.failure",
                Outcome::Unknown => "auth.attempt",
            })
        } else if trimmed.eq_ignore_ascii_case("authorization") {
            Some(match outcome {
                Outcome::Success => "authz.access_granted",
                Outcome::Failure | Outcome::Denied => "authz.access_denied",
                Outcome::Unknown => "authz.check",
            })
        } else {
            FIXED
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(trimmed))
                .map(|(_, to)| *to)
        };
        match canonical {
            Some(name) => EventType {
                name: Cow::Borrowed(name),
                original: Some(given.to_owned()),
            },
            None => EventType {
                name: Cow::Owned(given.to_owned()),
                original: None,
            },
        }
    }

    /// A type that is already in canonical form (no mapping applied); for names the program
    /// itself makes, such as `alert.threshold` or `siem.events_dropped`.
    pub const fn canonical(name: &'static str) -> EventType {
        EventType {
            name: Cow::Borrowed(name),
            original: None,
        }
    }

    /// The canonical dotted name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The name as it was given (the canonical name when it was given in canonical form).
    pub fn original(&self) -> &str {
        self.original.as_deref().unwrap_or(&self.name)
    }

    /// The part before the first dot (`auth` in `auth.failure`); the whole name when it has no dot.
    pub fn category(&self) -> &str {
        self.name.split_once('.').map_or(&*self.name, |(c, _)| c)
    }

    /// The part after the first dot (`failure` in `auth.failure`); empty when there is no dot.
    pub fn action(&self) -> &str {
        self.name.split_once('.').map_or("", |(_, a)| a)
    }

    /// The outcome the type itself states, for events that give no `result`: the last word of
    /// the action read as [`Outcome::from_text`] reads a `result` (`auth.failure` → failure,
    /// `authz.access_denied` → denied, `authz.access_granted` → success,
    /// `network.connection_failed` → failure); `Unknown` when the type states none
    /// (`config.changed`, `auth.attempt`, a type without a dot).
    ///
    /// ```
    /// use siem_event::{EventType, Outcome};
    /// assert_eq!(EventType::parse("auth.success").implied_outcome(), Outcome::Success);
    /// assert_eq!(EventType::parse("authentication_failure").implied_outcome(), Outcome::Failure);
    /// assert_eq!(EventType::parse("authz.access_denied").implied_outcome(), Outcome::Denied);
    /// assert_eq!(EventType::parse("config.changed").implied_outcome(), Outcome::Unknown);
    /// ```
    pub fn implied_outcome(&self) -> Outcome {
        let action = self.action();
        let last_word = action.rsplit('_').next().unwrap_or(action);
        if last_word.is_empty() {
            return Outcome::Unknown;
        }
        Outcome::from_text(last_word)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_names() {
        for (from, to) in [
            ("authentication_failure", "auth.failure"),
            ("AUTHORIZATION_FAILURE", "authz.access_denied"),
            ("constitutional_hash_mismatch", "integrity.hash_mismatch"),
            ("prompt_injection_attempt", "security.prompt_injection"),
            ("tenant_violation", "authz.tenant_violation"),
            ("rate_limit_exceeded", "security.rate_limit_exceeded"),
            ("anomaly_detected", "security.anomaly_detected"),
            ("suspicious_pattern", "security.suspicious_activity"),
        ] {
            let t = EventType::parse(from);
            assert_eq!(t.as_str(), to, "{from}");
            assert_eq!(t.original(), from);
        }
    }

    #[test]
    fn seed_003_names_are_kept() {
        for name in [
            "auth.success",
            "auth.failure",
            "authz.privilege_escalation",
            "access.api_token_rotated",
            "config.encryption_key_rotated",
            "data.exported",
            "security.rate_limit_exceeded",
            "compliance.policy_violation",
        ] {
            let t = EventType::parse(name);
            assert_eq!(t.as_str(), name);
            assert_eq!(t.original(), name);
        }
    }

    #[test]
    fn seed_004_categories() {
        let p = EventType::parse_with_outcome;
        assert_eq!(
            p("authentication", Outcome::Failure).as_str(),
            "auth.failure"
        );
        assert_eq!(
            p("authentication", Outcome::Success).as_str(),
            "auth.success"
        );
        assert_eq!(
            p("authentication", Outcome::Unknown).as_str(),
            "auth.attempt"
        );
        assert_eq!(
            p("authorization", Outcome::Denied).as_str(),
            "authz.access_denied"
        );
        assert_eq!(
            p("authorization", Outcome::Success).as_str(),
            "authz.access_granted"
        );
        assert_eq!(
            p("configuration", Outcome::Unknown).as_str(),
            "config.changed"
        );
        assert_eq!(
            p("network", Outcome::Unknown).as_str(),
            "network.connection_failed"
        );
        assert_eq!(
            p("credential_access", Outcome::Unknown).as_str(),
            "credential.access"
        );
        assert_eq!(
            p("availability", Outcome::Unknown).as_str(),
            "availability.degraded"
        );
        assert_eq!(
            p("operational", Outcome::Unknown).as_str(),
            "operational.event"
        );
    }

    #[test]
    fn outcome_implied_by_the_type() {
        for (name, outcome) in [
            ("auth.success", Outcome::Success),
            ("auth.failure", Outcome::Failure),
            ("authz.access_granted", Outcome::Success),
            ("authz.access_denied", Outcome::Denied),
            ("network.connection_failed", Outcome::Failure),
            ("firewall.blocked", Outcome::Denied),
            ("authentication_success", Outcome::Success),
            ("authorization_failure", Outcome::Denied),
            ("auth.attempt", Outcome::Unknown),
            ("authz.tenant_violation", Outcome::Unknown),
            ("config.changed", Outcome::Unknown),
            ("security.rate_limit_exceeded", Outcome::Unknown),
            ("failure", Outcome::Unknown),
            ("auth.", Outcome::Unknown),
            ("auth.password_", Outcome::Unknown),
            ("", Outcome::Unknown),
        ] {
            assert_eq!(EventType::parse(name).implied_outcome(), outcome, "{name}");
        }
    }

    #[test]
    fn unknown_is_verbatim_even_when_hostile() {
        for name in ["", "weird type|with=pipes", "a\nb", "\u{0}"] {
            let t = EventType::parse(name);
            assert_eq!(t.as_str(), name);
            assert_eq!(t.original(), name);
        }
        assert_eq!(EventType::parse("nodot").category(), "nodot");
        assert_eq!(EventType::parse("nodot").action(), "");
    }
}
