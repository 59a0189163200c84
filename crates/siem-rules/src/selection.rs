//! Splitting the rules of a rules directory between engines: what each of its rules alerts
//! per ([`DirRule`], from [`list_rules_dir`]), and which of them one engine evaluates
//! ([`RuleSelection`], in [`RulesConfig::rules_dir_selection`]).
//!
//! `siem correlate` runs one engine per slice of the rules, each on events keyed so that every
//! group of its rules meets in one partition; these two types are how its plan hands the
//! directory's rules to the right slice.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::{RulesConfig, RulesError};

/// Which rules of [`RulesConfig::rules_dir`] an engine evaluates. Rules are named by
/// [`DirRule::key`] (an alert rule's name; a Sigma rule's `id`, or its title when it has none).
/// Alert rules not selected stay loaded but disabled, so they still replace the seed 000
/// default of their name. Sigma filters apply wherever the rules they target run.
///
/// ```
/// use siem_rules::{RuleSelection, RulesConfig};
/// let mut only = RuleSelection::default();
/// only.alerting.insert("password_spray".to_owned());
/// let config = RulesConfig::default().rules_dir("/etc/siem/rules").select(only);
/// assert!(config.rules_dir_selection.unwrap().alerting.contains("password_spray"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleSelection {
    /// Rules evaluated here whose alerts are raised.
    pub alerting: BTreeSet<String>,
    /// Sigma rules evaluated here only to feed a selected correlation: their own alerts are
    /// dropped (they are raised where the rule is in `alerting`, if anywhere).
    pub feeding: BTreeSet<String>,
}

/// A rule of the rules directory that raises alerts of its own, and what its state is kept
/// per. Sigma rules that only feed correlations (`generate: false`) are not listed: they
/// appear in the [`DirRule::feeds`] of their correlations.
///
/// ```
/// use siem_rules::{list_rules_dir, RulesConfig};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("spray.yml"),
///     "- { name: spray, event_type: auth.failure, threshold: 20, window: 10m, group_by: [user] }").unwrap();
/// let rules = list_rules_dir(&RulesConfig::default().rules_dir(dir.path())).unwrap();
/// assert_eq!(rules[0].name, "spray");
/// assert_eq!(rules[0].group_by.as_deref(), Some(&["user".to_owned()][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirRule {
    /// The name its alerts carry (`Alert::rule`): an alert rule's name, a Sigma rule's title.
    pub name: String,
    /// How a [`RuleSelection`] names it.
    pub key: String,
    /// The fields its groups are kept per, as our field names (a Sigma correlation's
    /// `group-by` through the Sigma field mapping; empty: one group for every event). `None`
    /// for a Sigma detection rule, which keeps no state between events.
    pub group_by: Option<Vec<String>>,
    /// The Sigma rules (by key) it needs evaluated beside it: a correlation's rules, and
    /// theirs for a correlation of correlations.
    pub feeds: Vec<String>,
    /// The longest span of event time its state covers: window plus cooldown (or longest
    /// re-alert wait); a Sigma correlation's timespan plus `sigma.cooldown`.
    pub span: Duration,
}

/// The rules of `config.rules_dir` that raise alerts (none without a directory), read as
/// [`crate::Engine::new`] reads them, so it refuses the same files.
///
/// ```
/// use siem_rules::{list_rules_dir, RulesConfig};
/// assert!(list_rules_dir(&RulesConfig::default()).unwrap().is_empty());
/// ```
pub fn list_rules_dir(config: &RulesConfig) -> Result<Vec<DirRule>, RulesError> {
    let Some(dir) = &config.rules_dir else {
        return Ok(Vec::new());
    };
    let loaded = crate::loader::load_dir(dir)?;
    let mut rules: Vec<DirRule> = loaded
        .alerts
        .iter()
        .filter(|r| r.enabled)
        .map(|r| DirRule {
            name: r.name.clone(),
            key: r.name.clone(),
            group_by: Some(r.group_by.clone()),
            feeds: Vec::new(),
            span: r.state_span(),
        })
        .collect();
    rules.extend(crate::sigma::list(&loaded.sigma, config.sigma.cooldown));
    Ok(rules)
}
