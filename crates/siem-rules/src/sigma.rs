//! Sigma detection and correlation rules, evaluated by `rsigma-eval` (timescale/rsigma, MIT)
//! on our events through the field mapping in `sigma_fields`.
//!
//! Windows run on each event's own time (whole seconds, as rsigma counts them). Correlation
//! state is bounded by `max_groups` (rsigma's `max_state_entries`, with its own eviction).
//! Detection rules that only feed a correlation (`generate: false`, the Sigma default) raise no
//! alert of their own. Alert levels come from the rule's `level`: informational and low → LOG,
//! medium → NOTIFY, high → PAGE, critical → CRITICAL; a rule without a level → NOTIFY.
//! `sigma.cooldown` (default none) silences a rule per group after it alerts; the next alert
//! carries the number silenced. Sigma filter documents tune the rules they name.
//!
//! Two places where rsigma 0.23 departs from the Sigma specification are corrected here:
//! `generate: false` references by rule *name* (rsigma only honours ids), and a `temporal`
//! correlation without a condition (rsigma fires on any one rule; the spec needs all of them).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult, ResultBody};
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, FilterRuleTarget,
    Level, SigmaCollection,
};
use siem_event::{SecurityEvent, Timestamp, WellKnownField};

use crate::realert::{Silence, SilenceState};
use crate::sigma_fields::{field_name, SigmaView};
use crate::{
    Alert, AlertContext, AlertKind, AlertLevel, DirRule, Nis2Timing, Origin, RuleSelection,
};

/// Loaded Sigma rules with their correlation state.
pub(crate) struct SigmaRules {
    engine: CorrelationEngine,
    collection_rules: usize,
    /// Ids and titles of rules that only feed a correlation (`generate: false`).
    silent: HashSet<String>,
    /// Keys of rules evaluated here only to feed a correlation of this engine's selection.
    feeding_only: HashSet<String>,
    /// The `sigma.cooldown` per (rule, group).
    cooldown: Silence,
    /// Silence state and suppressed count per (rule title, group).
    silences: HashMap<String, (SilenceState, u64)>,
    max_groups: usize,
}

impl std::fmt::Debug for SigmaRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaRules")
            .field("rules", &self.collection_rules)
            .finish_non_exhaustive()
    }
}

/// Every Sigma document read so far.
pub(crate) type Collection = SigmaCollection;

/// Parses Sigma YAML (one or more documents) into `into`; `origin` names the file in errors.
pub(crate) fn merge(into: &mut Collection, yaml: &str, origin: &str) -> Result<(), String> {
    let collection = rsigma_parser::parse_sigma_yaml(yaml).map_err(|e| format!("{origin}: {e}"))?;
    if !collection.errors.is_empty() {
        return Err(format!("{origin}: {}", collection.errors.join("; ")));
    }
    into.rules.extend(collection.rules);
    into.correlations.extend(collection.correlations);
    into.filters.extend(collection.filters);
    Ok(())
}

/// True when nothing was read.
pub(crate) fn is_empty(c: &Collection) -> bool {
    c.rules.is_empty() && c.correlations.is_empty()
}

impl SigmaRules {
    pub(crate) fn new(
        collection: &SigmaCollection,
        max_groups: usize,
        cooldown: std::time::Duration,
        selection: Option<&RuleSelection>,
    ) -> Result<SigmaRules, String> {
        let config = CorrelationConfig {
            max_state_entries: max_groups.max(1),
            max_group_entries: Some(100_000),
            emit_detections: false,
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        let mut patched = collection.clone();
        require_all_temporal_rules(&mut patched);
        engine.add_collection(&patched).map_err(|e| e.to_string())?;
        Ok(SigmaRules {
            engine,
            collection_rules: collection.rules.len() + collection.correlations.len(),
            silent: silent_rules(collection),
            feeding_only: selection.map_or_else(HashSet::new, |s| {
                s.feeding.difference(&s.alerting).cloned().collect()
            }),
            cooldown: Silence::Fixed(cooldown),
            silences: HashMap::new(),
            max_groups: max_groups.max(1),
        })
    }

    pub(crate) fn rule_count(&self) -> usize {
        self.collection_rules
    }

    pub(crate) fn groups_tracked(&self) -> usize {
        self.engine.state_count()
    }

    pub(crate) fn process(&mut self, event: &SecurityEvent, now: Timestamp) -> Vec<Alert> {
        let view = SigmaView(event);
        let results = self
            .engine
            .process_event_at(&view, event.timestamp.unix_secs().max(0));
        results
            .into_iter()
            .filter(|r| {
                let header = &r.header;
                !(self.silent.contains(&header.rule_title)
                    || header
                        .rule_id
                        .as_ref()
                        .is_some_and(|id| self.silent.contains(id))
                    || self
                        .feeding_only
                        .contains(key_of(&header.rule_id, &header.rule_title)))
            })
            .map(|r| to_alert(r, event, now))
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|a| self.unless_silenced(a, now))
            .collect()
    }

    /// Applies the cooldown per (rule, group): a silenced alert is counted, and the next one
    /// that gets through carries the count.
    fn unless_silenced(&mut self, mut alert: Alert, now: Timestamp) -> Option<Alert> {
        if self.cooldown == Silence::Fixed(std::time::Duration::ZERO) {
            return Some(alert);
        }
        let now = now.unix_nanos();
        let key = format!("{}\u{0}{}", alert.rule, alert.context.group);
        if !self.silences.contains_key(&key) && self.silences.len() >= self.max_groups {
            self.silences.retain(|_, (s, _)| s.is_silenced(now));
            if self.silences.len() >= self.max_groups {
                // Every tracked pair is silenced: forgetting one lets one alert through early,
                // which is the safe side.
                self.silences.clear();
            }
        }
        let (silence, suppressed) = self.silences.entry(key).or_default();
        if silence.is_silenced(now) {
            *suppressed += 1;
            return None;
        }
        silence.alerted(now, self.cooldown);
        alert.context.suppressed = std::mem::take(suppressed);
        Some(alert)
    }
}

/// How a [`RuleSelection`] names a Sigma rule: its `id`, or its title when it has none.
fn key_of<'a>(id: &'a Option<String>, title: &'a str) -> &'a str {
    id.as_deref().unwrap_or(title)
}

/// Keeps the rules and correlations `selection` names, and the filters that target one of
/// them (or every rule).
pub(crate) fn retain_selected(collection: &mut Collection, selection: &RuleSelection) {
    let selected = |key: &str| selection.alerting.contains(key) || selection.feeding.contains(key);
    collection
        .rules
        .retain(|r| selected(key_of(&r.id, &r.title)));
    collection
        .correlations
        .retain(|c| selected(key_of(&c.id, &c.title)));
    let rules = &collection.rules;
    collection.filters.retain(|f| match &f.rules {
        FilterRuleTarget::Any => true,
        // rsigma applies a filter to the rules whose id or title it names.
        FilterRuleTarget::Specific(targets) => targets.iter().any(|t| {
            rules
                .iter()
                .any(|r| r.id.as_deref() == Some(t.as_str()) || r.title == *t)
        }),
    });
}

/// The rules of `collection` that raise alerts of their own, with what they are grouped by
/// (see [`DirRule`]).
pub(crate) fn list(collection: &Collection, cooldown: std::time::Duration) -> Vec<DirRule> {
    let silent = silent_rules(collection);
    let alerts = |id: &Option<String>, title: &String| {
        !(silent.contains(title) || id.as_ref().is_some_and(|id| silent.contains(id)))
    };
    let detections = collection
        .rules
        .iter()
        .filter(|r| alerts(&r.id, &r.title))
        .map(|r| DirRule {
            name: r.title.clone(),
            key: key_of(&r.id, &r.title).to_owned(),
            group_by: None,
            feeds: Vec::new(),
            span: cooldown,
        });
    let correlations = collection
        .correlations
        .iter()
        .filter(|c| alerts(&c.id, &c.title))
        .map(|c| correlation_placement(collection, c, cooldown));
    detections.chain(correlations).collect()
}

/// A correlation with the rules it needs beside it. Its groups are kept per the fields of its
/// `group-by` that name one of our fields; for a correlation of correlations, per the fields
/// every correlation of the chain groups by, so each of their groups meets in one place.
fn correlation_placement(
    collection: &Collection,
    correlation: &CorrelationRule,
    cooldown: std::time::Duration,
) -> DirRule {
    let mut fields = grouping_fields(correlation);
    let mut span = correlation.timespan.seconds;
    let mut feeds: Vec<String> = Vec::new();
    let mut pending: Vec<&String> = correlation.rules.iter().collect();
    let named = |id: &Option<String>, name: &Option<String>, reference: &str| {
        id.as_deref() == Some(reference) || name.as_deref() == Some(reference)
    };
    while let Some(reference) = pending.pop() {
        for rule in collection
            .rules
            .iter()
            .filter(|r| named(&r.id, &r.name, reference))
        {
            let key = key_of(&rule.id, &rule.title).to_owned();
            if !feeds.contains(&key) {
                feeds.push(key);
            }
        }
        for inner in collection
            .correlations
            .iter()
            .filter(|c| named(&c.id, &c.name, reference))
        {
            let key = key_of(&inner.id, &inner.title).to_owned();
            // A reference cycle (refused by rsigma when the engine is built) ends here.
            if feeds.contains(&key) {
                continue;
            }
            feeds.push(key);
            let inner_fields = grouping_fields(inner);
            fields.retain(|f| inner_fields.contains(f));
            span = span.max(inner.timespan.seconds);
            pending.extend(inner.rules.iter());
        }
    }
    DirRule {
        name: correlation.title.clone(),
        key: key_of(&correlation.id, &correlation.title).to_owned(),
        group_by: Some(fields.into_iter().collect()),
        feeds,
        span: std::time::Duration::from_secs(span) + cooldown,
    }
}

/// A correlation's `group-by` as our field names. An alias (a name that stands for a
/// different field in each rule) counts when all its fields are one of ours; otherwise it
/// is left out, which keeps the groups together on fewer fields (none: every event in one
/// place) rather than splitting one.
fn grouping_fields(correlation: &CorrelationRule) -> BTreeSet<String> {
    correlation
        .group_by
        .iter()
        .filter_map(|name| {
            let Some(alias) = correlation.aliases.iter().find(|a| a.alias == *name) else {
                return Some(field_name(name));
            };
            let mut ours = alias.mapping.values().map(|f| field_name(f));
            let first = ours.next()?;
            ours.all(|f| f == first).then_some(first)
        })
        .filter(|f| !f.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The Sigma spec: a `temporal` correlation without a condition fires when *all* its rules
/// matched within the timespan. rsigma 0.23 reads a missing condition as `gte: 1` and then
/// fires on any single rule, so `gte: 1` (missing or written) becomes `gte: <number of rules>`.
fn require_all_temporal_rules(collection: &mut SigmaCollection) {
    for c in &mut collection.correlations {
        if c.correlation_type != CorrelationType::Temporal {
            continue;
        }
        let all = c.rules.len() as u64;
        if let CorrelationCondition::Threshold {
            predicates,
            field: None,
            ..
        } = &mut c.condition
        {
            if predicates.as_slice() == [(ConditionOperator::Gte, 1)] {
                predicates[0].1 = all;
            }
        }
    }
}

/// Rules (detections or correlations) referenced by a correlation with `generate: false`:
/// they feed it but do not alert on their own (Sigma correlation spec). rsigma filters these
/// by rule id only, which misses references by `name`; this set holds both ids and titles.
fn silent_rules(collection: &SigmaCollection) -> HashSet<String> {
    let refs: HashSet<&str> = collection
        .correlations
        .iter()
        .filter(|c| !c.generate)
        .flat_map(|c| c.rules.iter().map(String::as_str))
        .collect();
    let mut silent = HashSet::new();
    let mut mark = |id: &Option<String>, name: &Option<String>, title: &str| {
        let named = |v: &Option<String>| v.as_deref().is_some_and(|v| refs.contains(v));
        if named(id) || named(name) {
            silent.insert(title.to_owned());
            if let Some(id) = id {
                silent.insert(id.clone());
            }
        }
    };
    for r in &collection.rules {
        mark(&r.id, &r.name, &r.title);
    }
    for c in &collection.correlations {
        mark(&c.id, &c.name, &c.title);
    }
    silent
}

fn level_of(level: Option<Level>) -> AlertLevel {
    match level {
        Some(Level::Informational | Level::Low) => AlertLevel::Log,
        Some(Level::Medium) | None => AlertLevel::Notify,
        Some(Level::High) => AlertLevel::Page,
        Some(Level::Critical) => AlertLevel::Critical,
    }
}

fn to_alert(result: EvaluationResult, event: &SecurityEvent, now: Timestamp) -> Alert {
    let header = result.header;
    let level = level_of(header.level);
    let title: Arc<str> = Arc::from(header.rule_title.as_str());
    let mut context = AlertContext {
        correlation_id: event.correlation_id.clone(),
        triggered_at: Some(event.timestamp),
        detected_at: Some(now),
        triggering_event: Some(event.id),
        related_events: vec![event.id],
        tenant_id: event.tenant_id.clone(),
        nis2: level.is_incident().then(|| Nis2Timing::from_detection(now)),
        sigma_id: header.rule_id.clone(),
        tags: header.tags.clone(),
        count: 1,
        threshold: 1,
        ..AlertContext::default()
    };
    let (kind, message) = match result.body {
        ResultBody::Detection(d) => (
            AlertKind::Sigma,
            format!(
                "Sigma rule {:?} matched ({})",
                header.rule_title,
                d.matched_selections.join(", ")
            ),
        ),
        ResultBody::Correlation(c) => {
            let fields: Vec<(String, String)> = c.group_key.clone();
            context.group = crate::alert::render_group(&fields);
            context.count = if c.aggregated_value.is_finite() && c.aggregated_value > 0.0 {
                c.aggregated_value as u64
            } else {
                0
            };
            context.window = std::time::Duration::from_secs(c.timespan_secs);
            if let Some((_, t)) = fields
                .iter()
                .find(|(f, _)| WellKnownField::from_name(f) == Some(WellKnownField::TenantId))
            {
                context.tenant_id = Some(t.clone());
            }
            context.group_fields = fields;
            (
                AlertKind::SigmaCorrelation,
                format!(
                    "Sigma correlation {:?} ({}) fired: value {} within {}s for {}",
                    header.rule_title,
                    c.correlation_type.as_str(),
                    c.aggregated_value,
                    c.timespan_secs,
                    context.group
                ),
            )
        }
    };
    let mut alert = Alert::new(title, kind, level, message, context);
    alert.origin = Some(Origin::of(event));
    alert
}
