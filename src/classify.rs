//! Deciding whether an event without an explicit `event_type` is a security event.
//!
//! An explicit `event_type` field makes a security event at any level. Other events at or above
//! the minimum level (default WARN) go through the classification rules in order; the first rule
//! that matches names the event type. Seed 004's keyword classifier is the default rule set.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use serde::Deserialize;
use tracing::Level;

use crate::capture::FieldSet;
use crate::ConfigError;

/// One classification rule as written in configuration.
///
/// All stated conditions must hold: every `message_contains` group must have one of its words
/// in the message (case-insensitive), and every `fields` entry must match.
///
/// ```
/// use tracing_siem::ClassificationRule;
/// let rule: ClassificationRule = serde_yaml_ng::from_str(r#"
/// event_type: network
/// message_contains: [[connection], [failed, refused]]
/// "#).unwrap();
/// assert_eq!(rule.event_type, "network");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ClassificationRule {
    /// The event type given to matching events (any vocabulary; mapped like an explicit one).
    pub event_type: String,
    /// Groups of words: each group needs one of its words in the message.
    #[serde(default)]
    pub message_contains: Vec<Vec<String>>,
    /// Field conditions: the field must be present and, when `equals` is given, equal to it.
    #[serde(default)]
    pub fields: Vec<FieldCondition>,
}

impl ClassificationRule {
    /// A rule that gives matching events `event_type`; with no condition added it matches
    /// every event it is asked about.
    ///
    /// ```
    /// use tracing_siem::ClassificationRule;
    /// let rule = ClassificationRule::new("network").message_contains([["refused"]]);
    /// assert_eq!(rule.event_type, "network");
    /// ```
    pub fn new(event_type: impl Into<String>) -> ClassificationRule {
        ClassificationRule {
            event_type: event_type.into(),
            message_contains: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Sets `message_contains`: groups of words: each group needs one of its words in the message.
    ///
    /// ```
    /// use tracing_siem::ClassificationRule;
    /// let c = ClassificationRule::new("network").message_contains([vec!["connection"], vec!["failed", "refused"]]);
    /// assert_eq!(c.message_contains[1], ["failed", "refused"]);
    /// ```
    pub fn message_contains(
        mut self,
        message_contains: impl IntoIterator<Item = impl IntoIterator<Item = impl Into<String>>>,
    ) -> ClassificationRule {
        self.message_contains = message_contains
            .into_iter()
            .map(|group| group.into_iter().map(Into::into).collect())
            .collect();
        self
    }

    /// Sets `fields`: field conditions: the field must be present and, when `equals` is given, equal to it.
    ///
    /// ```
    /// use tracing_siem::ClassificationRule;
    /// use tracing_siem::FieldCondition;
    /// let c = ClassificationRule::new("network").fields([FieldCondition::new("action").equals("connect")]);
    /// assert_eq!(c.fields[0].field, "action");
    /// ```
    pub fn fields(
        mut self,
        fields: impl IntoIterator<Item = FieldCondition>,
    ) -> ClassificationRule {
        self.fields = fields.into_iter().collect();
        self
    }
}

/// A condition on one field of the event (or of its spans).
///
/// ```
/// use tracing_siem::FieldCondition;
/// let c = FieldCondition::new("action").equals("login");
/// assert_eq!(c.field, "action");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldCondition {
    /// The field's name.
    pub field: String,
    /// The value it must have (compared as text, case-sensitive); any value when absent.
    #[serde(default)]
    pub equals: Option<String>,
}

impl FieldCondition {
    /// A condition that `field` is present, with any value.
    ///
    /// ```
    /// use tracing_siem::FieldCondition;
    /// let c = FieldCondition::new("action");
    /// assert_eq!((c.field.as_str(), c.equals), ("action", None));
    /// ```
    pub fn new(field: impl Into<String>) -> FieldCondition {
        FieldCondition {
            field: field.into(),
            equals: None,
        }
    }

    /// Sets `equals`: the value it must have (compared as text, case-sensitive); any value when absent.
    ///
    /// ```
    /// use tracing_siem::FieldCondition;
    /// let c = FieldCondition::new("action").equals("login");
    /// assert_eq!(c.equals.as_deref(), Some("login"));
    /// ```
    pub fn equals(mut self, equals: impl Into<String>) -> FieldCondition {
        self.equals = Some(equals.into());
        self
    }
}

/// Seed 004's classifier as rules, in its order.
pub fn default_rules() -> Vec<ClassificationRule> {
    let words = |groups: &[&[&str]]| {
        groups
            .iter()
            .map(|g| g.iter().map(|w| (*w).to_owned()).collect())
            .collect()
    };
    let rule = |t: &str, groups: &[&[&str]]| ClassificationRule {
        event_type: t.to_owned(),
        message_contains: words(groups),
        fields: Vec::new(),
    };
    vec![
        rule("authentication", &[&["authentication", "login", "logout"]]),
        rule(
            "authorization",
            &[&["authorization", "permission", "forbidden"]],
        ),
        rule("configuration", &[&["configuration", "config"]]),
        rule(
            "availability",
            &[&["circuit breaker", "failure", "degraded"]],
        ),
        rule("network", &[&["connection"], &["failed", "refused"]]),
        rule("credential_access", &[&["credential", "secret", "token"]]),
    ]
}

struct CompiledRule {
    message: Vec<AhoCorasick>,
    fields: Vec<(String, Option<String>)>,
}

/// The compiled classifier.
pub(crate) struct Classifier {
    min_level: Level,
    rules: Vec<CompiledRule>,
    /// Event type of each rule, then the fallback's if there is one.
    event_types: Vec<String>,
    has_fallback: bool,
}

impl Classifier {
    pub fn new(
        min_level: Level,
        rules: &[ClassificationRule],
        fallback: Option<&str>,
    ) -> Result<Classifier, ConfigError> {
        if rules.len() >= usize::from(u16::MAX) {
            return Err(ConfigError::invalid(
                "classify.rules",
                "at most 65534 rules",
            ));
        }
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let key = |k: &str| format!("classify.rules[{i}].{k}");
            if r.event_type.trim().is_empty() {
                return Err(ConfigError::invalid(key("event_type"), "must not be empty"));
            }
            if r.message_contains.is_empty() && r.fields.is_empty() {
                return Err(ConfigError::invalid(
                    key("message_contains"),
                    "a rule needs message_contains or fields, or it would match every event",
                ));
            }
            let mut message = Vec::new();
            for (g, group) in r.message_contains.iter().enumerate() {
                if group.is_empty() || group.iter().any(|w| w.is_empty()) {
                    return Err(ConfigError::invalid(
                        key(&format!("message_contains[{g}]")),
                        "word groups must hold at least one non-empty word",
                    ));
                }
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(group)
                    .map_err(|e| {
                        ConfigError::invalid(key(&format!("message_contains[{g}]")), e.to_string())
                            .with_source(e)
                    })?;
                message.push(ac);
            }
            compiled.push(CompiledRule {
                message,
                fields: r
                    .fields
                    .iter()
                    .map(|f| (f.field.clone(), f.equals.clone()))
                    .collect(),
            });
        }
        let mut event_types: Vec<String> = rules.iter().map(|r| r.event_type.clone()).collect();
        if let Some(f) = fallback {
            if f.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "classify.fallback",
                    "must not be empty",
                ));
            }
            event_types.push(f.to_owned());
        }
        Ok(Classifier {
            min_level,
            rules: compiled,
            event_types,
            has_fallback: fallback.is_some(),
        })
    }

    /// Whether events at `level` are classified at all.
    pub fn covers(&self, level: &Level) -> bool {
        // tracing orders levels by verbosity: TRACE > DEBUG > INFO > WARN > ERROR.
        *level <= self.min_level
    }

    /// The event type chosen by [`Classifier::classify`].
    pub fn event_type(&self, index: u16) -> &str {
        &self.event_types[usize::from(index)]
    }

    /// The index of the event type for an event without `event_type` (see
    /// [`Classifier::event_type`]), or `None` when it is not a security event.
    pub fn classify(&self, fields: &FieldSet) -> Option<u16> {
        let message = fields.get_str("message").unwrap_or("");
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| {
                r.message.iter().all(|ac| ac.is_match(message))
                    && r.fields
                        .iter()
                        .all(|(name, equals)| match fields.get(name) {
                            None => false,
                            Some(v) => match equals {
                                None => true,
                                Some(want) => match fields.str_of(v) {
                                    Some(s) => s == want,
                                    None => raw_text(v) == *want,
                                },
                            },
                        })
            })
            .map(|(i, _)| i)
            .or(self.has_fallback.then_some(self.rules.len()))
            .map(|i| i as u16)
    }
}

fn raw_text(v: &crate::capture::RawValue) -> String {
    use crate::capture::RawValue::*;
    match *v {
        I64(n) => n.to_string(),
        U64(n) => n.to_string(),
        F64(n) => n.to_string(),
        Bool(b) => b.to_string(),
        Str { .. } => String::new(),
    }
}
