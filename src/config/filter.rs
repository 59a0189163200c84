//! Per-destination event filters (seed 003's `filters`).

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use siem_event::{SecurityEvent, Severity};
use siem_rules::Condition;

use super::ConfigError;

/// Which events a destination takes.
///
/// A pattern is a glob on the event type (`auth.*`), or `field:glob` on any field by the name
/// rules use (`severity:low`, `tenant_id:acme-*`, `outcome:failure`): the name it was logged
/// under, its canonical name or a synonym from the [`siem_event::WellKnownField`] vocabulary
/// (`client_ip:10.*` and `source.ip:10.*` both match an event logged with `client_ip`). An event is taken when
/// it matches an `include` pattern (or there are none), matches no `exclude` pattern, is at
/// least `min_severity`, and satisfies every `conditions` expression (seed 003's
/// `environment == 'production'`; the rule language without a `count` clause).
///
/// ```
/// use tracing_siem::FilterConfig;
/// let f: FilterConfig = serde_yaml_ng::from_str(r#"
/// include: ["auth.*", "authz.*", "security.*"]
/// exclude: ["severity:low"]
/// "#).unwrap();
/// assert_eq!(f.include.len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FilterConfig {
    /// Patterns an event must match one of (none: every event).
    pub include: Vec<String>,
    /// Patterns that exclude an event.
    pub exclude: Vec<String>,
    /// The lowest severity taken.
    #[serde(deserialize_with = "super::parse::opt_severity")]
    pub min_severity: Option<Severity>,
    /// Expressions in the rule language that an event must all satisfy.
    pub conditions: Vec<String>,
}

impl FilterConfig {
    /// Sets `include`: patterns an event must match one of (none: every event).
    ///
    /// ```
    /// use tracing_siem::FilterConfig;
    /// let c = FilterConfig::default().include(["auth.*", "authz.*"]);
    /// assert_eq!(c.include, ["auth.*", "authz.*"]);
    /// ```
    pub fn include(mut self, include: impl IntoIterator<Item = impl Into<String>>) -> FilterConfig {
        self.include = include.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `exclude`: patterns that exclude an event.
    ///
    /// ```
    /// use tracing_siem::FilterConfig;
    /// let c = FilterConfig::default().exclude(["severity:low"]);
    /// assert_eq!(c.exclude, ["severity:low"]);
    /// ```
    pub fn exclude(mut self, exclude: impl IntoIterator<Item = impl Into<String>>) -> FilterConfig {
        self.exclude = exclude.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `min_severity`: the lowest severity taken.
    ///
    /// ```
    /// use tracing_siem::FilterConfig;
    /// use tracing_siem::event::Severity;
    /// let c = FilterConfig::default().min_severity(Severity::Medium);
    /// assert_eq!(c.min_severity, Some(Severity::Medium));
    /// ```
    pub fn min_severity(mut self, min_severity: Severity) -> FilterConfig {
        self.min_severity = Some(min_severity);
        self
    }

    /// Sets `conditions`: expressions in the rule language that an event must all satisfy.
    ///
    /// ```
    /// use tracing_siem::FilterConfig;
    /// let c = FilterConfig::default().conditions(["user:admin*"]);
    /// assert_eq!(c.conditions, ["user:admin*"]);
    /// ```
    pub fn conditions(
        mut self,
        conditions: impl IntoIterator<Item = impl Into<String>>,
    ) -> FilterConfig {
        self.conditions = conditions.into_iter().map(Into::into).collect();
        self
    }
}

struct Pattern {
    field: Option<String>,
    glob: GlobMatcher,
}

impl Pattern {
    fn parse(text: &str, key: &str) -> Result<Pattern, ConfigError> {
        let (field, glob) = match text.split_once(':') {
            Some((f, g))
                if !f.is_empty()
                    && f.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@')
                    }) =>
            {
                (Some(f.to_owned()), g)
            }
            _ => (None, text),
        };
        if glob.is_empty() {
            return Err(ConfigError::invalid(key, "empty pattern"));
        }
        let glob = Glob::new(glob)
            .map_err(|e| {
                ConfigError::invalid(key, format!("invalid pattern {text:?}: {e}")).with_source(e)
            })?
            .compile_matcher();
        Ok(Pattern { field, glob })
    }

    fn matches(&self, e: &SecurityEvent) -> bool {
        match &self.field {
            None => self.glob.is_match(e.event_type.as_str()),
            Some(f) => e
                .field_text(f)
                .is_some_and(|v| self.glob.is_match(v.as_ref())),
        }
    }
}

impl FilterConfig {
    /// True when the filter takes every event.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty()
            && self.exclude.is_empty()
            && self.min_severity.is_none()
            && self.conditions.is_empty()
    }

    /// Compiles the filter; errors name the pattern's key under `prefix`.
    pub(crate) fn compile(&self, prefix: &str) -> Result<siem_ship::EventFilter, ConfigError> {
        let list = |items: &[String], name: &str| {
            items
                .iter()
                .enumerate()
                .map(|(i, p)| Pattern::parse(p, &format!("{prefix}.{name}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        };
        let include = list(&self.include, "include")?;
        let exclude = list(&self.exclude, "exclude")?;
        let conditions = self
            .conditions
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let key = format!("{prefix}.conditions[{i}]");
                let c = Condition::parse(text)
                    .map_err(|e| ConfigError::invalid(&key, e.to_string()).with_source(e))?;
                if c.threshold().is_some() {
                    return Err(ConfigError::invalid(
                        key,
                        "a filter looks at one event: a count clause belongs in an alert rule",
                    ));
                }
                Ok(c)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min = self.min_severity.unwrap_or(Severity::Info);
        Ok(Box::new(move |e: &SecurityEvent| {
            e.severity >= min
                && (include.is_empty() || include.iter().any(|p| p.matches(e)))
                && !exclude.iter().any(|p| p.matches(e))
                && conditions.iter().all(|c| c.matches(e))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::EventType;

    fn event(t: &str, sev: Severity) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse(t), "m");
        e.severity = sev;
        e.tenant_id = Some("acme-eu".into());
        e
    }

    #[test]
    fn include_exclude_and_severity() {
        let f = FilterConfig {
            include: vec!["auth.*".into(), "authz.*".into()],
            exclude: vec!["severity:low".into(), "tenant_id:evil-*".into()],
            ..Default::default()
        }
        .compile("filter")
        .unwrap();
        assert!(f(&event("auth.failure", Severity::Medium)));
        assert!(!f(&event("auth.failure", Severity::Low)));
        assert!(!f(&event("config.changed", Severity::High)));
        let g = FilterConfig {
            min_severity: Some(Severity::High),
            ..Default::default()
        }
        .compile("filter")
        .unwrap();
        assert!(!g(&event("auth.failure", Severity::Medium)));
        assert!(g(&event("auth.failure", Severity::Critical)));
    }

    #[test]
    fn conditions_in_the_rule_language() {
        let f = FilterConfig {
            conditions: vec!["tenant_id == 'acme-eu' AND severity != 'low'".into()],
            ..Default::default()
        }
        .compile("filter")
        .unwrap();
        assert!(f(&event("auth.failure", Severity::Medium)));
        assert!(!f(&event("auth.failure", Severity::Low)));
        let e = FilterConfig {
            conditions: vec!["event_type == 'x' AND count > 5 in 5m".into()],
            ..Default::default()
        }
        .compile("f")
        .err()
        .unwrap();
        assert_eq!(e.key(), "f.conditions[0]");
        let e = FilterConfig {
            conditions: vec!["event_type ==".into()],
            ..Default::default()
        }
        .compile("f")
        .err()
        .unwrap();
        assert_eq!(e.key(), "f.conditions[0]");
    }

    #[test]
    fn bad_patterns_name_their_key() {
        let e = FilterConfig {
            include: vec!["ok".into(), "a[".into()],
            ..Default::default()
        }
        .compile("destinations[0].filter")
        .err()
        .unwrap();
        assert_eq!(e.key(), "destinations[0].filter.include[1]");
        let e = FilterConfig {
            exclude: vec!["severity:".into()],
            ..Default::default()
        }
        .compile("f")
        .err()
        .unwrap();
        assert_eq!(e.key(), "f.exclude[0]");
    }
}
