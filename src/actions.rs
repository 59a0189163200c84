//! Rule actions (seed 003's `notify_security_team`, `block_user`, `investigate`): checking that
//! every action a rule names is declared or handled, and routing the alert events of actions
//! declared with a `destination` to that destination.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use siem_event::SecurityEvent;
use siem_rules::{Engine, RulesConfig};
use siem_ship::EventFilter;

use crate::ConfigError;

/// Which actions route their alert events to which destination.
#[derive(Debug, Default)]
pub(crate) struct ActionRoutes {
    /// Destination name → the actions routed to it.
    by_destination: BTreeMap<String, Arc<BTreeSet<String>>>,
}

/// Checks the actions: each declared one routes to a destination that exists or is handled
/// by the program, and each one a rule names is declared (or, at build, has a handler).
///
/// `handlers` are the actions the program registered with `on_action`; `None` when they are
/// not known (`siem check`, [`crate::Config::validate`]), where an action declared with
/// `handler: true` is taken on trust.
pub(crate) fn check(
    rules: &RulesConfig,
    engine: &Engine,
    destinations: &[String],
    handlers: Option<&[String]>,
) -> Result<ActionRoutes, ConfigError> {
    let mut routes = ActionRoutes::default();
    let mut by_destination: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, action) in &rules.actions {
        let key = format!("rules.actions.{name}");
        if action.destination.is_none() && !action.handler {
            return Err(ConfigError::invalid(
                key,
                "give a `destination` to route its alerts to, or `handler: true` for a handler the program registers with on_action",
            ));
        }
        if let Some(d) = &action.destination {
            if !destinations.contains(d) {
                return Err(ConfigError::invalid(
                    format!("{key}.destination"),
                    format!("no destination is named {d:?} (destinations: {destinations:?})"),
                ));
            }
            by_destination
                .entry(d.clone())
                .or_default()
                .insert(name.clone());
        }
        if let Some(handlers) = handlers {
            if action.handler && !handlers.contains(name) {
                return Err(ConfigError::invalid(
                    format!("{key}.handler"),
                    format!("no handler is registered: call on_action({name:?}, …) on the builder"),
                ));
            }
        }
    }
    for (rule, action) in engine.rule_actions() {
        let registered = handlers.is_some_and(|h| h.iter().any(|n| n == action));
        if !rules.actions.contains_key(action) && !registered {
            return Err(ConfigError::invalid(
                "rules.actions",
                format!(
                    "rule {rule:?} names the action {action:?}, which is neither declared under rules.actions nor registered with on_action"
                ),
            ));
        }
    }
    routes.by_destination = by_destination
        .into_iter()
        .map(|(d, actions)| (d, Arc::new(actions)))
        .collect();
    Ok(routes)
}

impl ActionRoutes {
    /// The filter of the destination `name`: when actions route to it, alert events reach it
    /// only through them (other events still pass its own filter).
    pub(crate) fn filter_for(&self, name: &str, own: Option<EventFilter>) -> Option<EventFilter> {
        let Some(actions) = self.by_destination.get(name) else {
            return own;
        };
        let actions = Arc::clone(actions);
        let routed = move |e: &SecurityEvent| {
            e.event_type.category() != "alert"
                || e.action.as_deref().is_some_and(|a| actions.contains(a))
        };
        Some(match own {
            Some(own) => Box::new(move |e: &SecurityEvent| routed(e) && own(e)),
            None => Box::new(routed),
        })
    }
}

/// `own` narrowed to alert events, for destinations that take nothing else
/// (`SinkConfig::alerts_only`: chat and paging notifications).
pub(crate) fn only_alerts(own: Option<EventFilter>) -> EventFilter {
    let is_alert = |e: &SecurityEvent| e.event_type.category() == "alert";
    match own {
        Some(own) => Box::new(move |e: &SecurityEvent| is_alert(e) && own(e)),
        None => Box::new(is_alert),
    }
}
