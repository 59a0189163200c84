use crate::ParseError;

/// Why a rule set could not be loaded. Every variant names the rule (or file) and the key.
///
/// ```
/// use siem_rules::{Engine, RulesConfig};
/// let config: RulesConfig = serde_json::from_str(
///     r#"{"alerts": [{"name": "bad", "condition": "event_type == "}]}"#,
/// ).unwrap();
/// let err = Engine::new(&config).unwrap_err();
/// assert!(err.to_string().contains("rule \"bad\""), "{err}");
/// assert!(err.to_string().contains("column 15"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A condition does not parse.
    #[error("rule {rule:?}: key `condition`: {source}")]
    Condition {
        /// The rule's name.
        rule: String,
        /// Where and why.
        #[source]
        source: ParseError,
    },
    /// A key has a value the engine cannot use.
    #[error("rule {rule:?}: key `{key}`: {reason}")]
    Invalid {
        /// The rule's name (or `(unnamed)`).
        rule: String,
        /// The offending key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// Two rules have the same name.
    #[error("rule {0:?} is defined twice (rule names must be unique; a rule named like a default replaces it)")]
    Duplicate(String),
    /// A rules file cannot be read or parsed.
    #[error("rules file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The Sigma rules cannot be compiled (an unknown rule reference, a bad regex …).
    #[error("Sigma rules: {0}")]
    Sigma(String),
}
