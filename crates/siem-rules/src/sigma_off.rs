//! Without the `sigma` feature: no Sigma engine is compiled in, and a Sigma file in the rules
//! directory is refused with a clear error instead of being ignored.

use siem_event::{SecurityEvent, Timestamp};

use crate::{Alert, DirRule, RuleSelection};

/// Nothing is ever read without the feature.
#[derive(Debug, Default)]
pub(crate) struct Collection;

pub(crate) fn merge(_into: &mut Collection, _yaml: &str, origin: &str) -> Result<(), String> {
    Err(format!(
        "{origin} holds Sigma rules, but siem-rules was built without its `sigma` feature"
    ))
}

pub(crate) fn is_empty(_c: &Collection) -> bool {
    true
}

pub(crate) fn retain_selected(_c: &mut Collection, _selection: &RuleSelection) {}

pub(crate) fn list(_c: &Collection, _cooldown: std::time::Duration) -> Vec<DirRule> {
    Vec::new()
}

/// Never built: `is_empty` is always true.
#[derive(Debug)]
pub(crate) enum SigmaRules {}

impl SigmaRules {
    pub(crate) fn new(
        _c: &Collection,
        _max_groups: usize,
        _cooldown: std::time::Duration,
        _selection: Option<&RuleSelection>,
    ) -> Result<SigmaRules, String> {
        Err("siem-rules was built without its `sigma` feature".to_owned())
    }

    pub(crate) fn rule_count(&self) -> usize {
        match *self {}
    }

    pub(crate) fn groups_tracked(&self) -> usize {
        match *self {}
    }

    pub(crate) fn process(&mut self, _event: &SecurityEvent, _now: Timestamp) -> Vec<Alert> {
        match *self {}
    }
}
