//! Seed 000's attack patterns, detected on event time within the correlation window:
//!
//! | pattern            | detected when                                                        | correlation id                                 | level    |
//! |--------------------|----------------------------------------------------------------------|------------------------------------------------|----------|
//! | tenant attack      | 3+ HIGH/CRITICAL events from one tenant                              | `tenant_attack:<tenant_id>:<unix seconds>`     | ESCALATE |
//! | distributed attack | the same event type (any severity) from 3+ distinct agents          | `distributed_attack:<event_type>:<unix seconds>` | ESCALATE |
//! | escalating attack  | within the last 10 events (severity ≥ low) counting the current one, three of strictly rising severity ending at HIGH or CRITICAL | `escalating_attack:severity:<unix seconds>` | PAGE |
//!
//! The seconds are the event time of the event that completed the pattern. In the id, the
//! tenant id or event type has `%`, `:`, whitespace and control characters percent-encoded
//! and is cut to 128 bytes, so an id always splits into three parts at its colons.
//!
//! A detected pattern stays active while further matching events arrive within the window:
//! they get the same id (stamped on the event before it is shipped) and join the lookup, but
//! raise no new alert. The events that formed the pattern before it was detected had already
//! left; the alert lists their ids (`related_events`) and the lookup holds their summaries.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use siem_event::{EventId, SecurityEvent, Severity, Timestamp};

use crate::store::{CorrelationStore, EventSummary};
use crate::{Alert, AlertContext, AlertKind, AlertLevel, Nis2Timing, Origin};

/// Seed 000's pattern names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pattern {
    Tenant,
    Distributed,
    Escalating,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::Tenant => "tenant_attack",
            Pattern::Distributed => "distributed_attack",
            Pattern::Escalating => "escalating_attack",
        }
    }
}

/// Settings of the correlator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CorrelatorSettings {
    pub(crate) window: Duration,
    pub(crate) min_events: usize,
    pub(crate) history: usize,
    pub(crate) max_groups: usize,
}

#[derive(Debug)]
struct Active {
    id: String,
    last: i64,
}

#[derive(Debug, Default)]
struct AgentWindow {
    entries: VecDeque<(i64, String, EventSummary)>,
    per_agent: HashMap<String, usize>,
    last_seen: i64,
}

const MAX_ENTRIES_PER_KEY: usize = 1000;

#[derive(Debug)]
pub(crate) struct Correlator {
    settings: CorrelatorSettings,
    window_nanos: i64,
    tenants: HashMap<String, VecDeque<(i64, EventSummary)>>,
    types: HashMap<String, AgentWindow>,
    recent: VecDeque<(i64, Severity, EventSummary)>,
    active: HashMap<(Pattern, String), Active>,
    pub(crate) store: CorrelationStore,
    /// Event time of the last sweep of keys that went quiet.
    last_sweep: i64,
}

/// What one event did, for the metrics.
#[derive(Debug, Default)]
pub(crate) struct CorrelationOutcome {
    pub(crate) alerts: Vec<Alert>,
    pub(crate) evicted: u64,
}

impl Correlator {
    pub(crate) fn new(settings: CorrelatorSettings) -> Correlator {
        Correlator {
            window_nanos: i64::try_from(settings.window.as_nanos())
                .unwrap_or(i64::MAX)
                .max(1),
            settings,
            tenants: HashMap::new(),
            types: HashMap::new(),
            recent: VecDeque::new(),
            active: HashMap::new(),
            store: CorrelationStore::default(),
            last_sweep: i64::MIN,
        }
    }

    pub(crate) fn groups_tracked(&self) -> usize {
        self.tenants.len() + self.types.len() + self.active.len()
    }

    pub(crate) fn process(
        &mut self,
        event: &mut SecurityEvent,
        now: Timestamp,
    ) -> CorrelationOutcome {
        let mut out = CorrelationOutcome::default();
        let t = event.timestamp.unix_nanos();
        let horizon = t.saturating_sub(self.window_nanos);
        let summary = EventSummary::of(event);
        if self.active.len() > self.settings.max_groups
            || t.saturating_sub(self.last_sweep) > self.window_nanos
        {
            // Once per window of event time (or when over the cap), forget quiet keys so
            // memory follows the active tenants and types.
            self.last_sweep = t;
            self.active.retain(|_, a| a.last > horizon);
            self.tenants
                .retain(|_, q| q.back().is_some_and(|(at, _)| *at > horizon));
            self.types.retain(|_, w| w.last_seen > horizon);
        }

        if event.severity >= Severity::High {
            if let Some(tenant) = event.tenant_id.as_deref().map(crate::bounded::bounded) {
                let tenant = tenant.into_owned();
                out.evicted += self.make_room_tenants(&tenant, horizon);
                let q = self.tenants.entry(tenant.clone()).or_default();
                while q.front().is_some_and(|(old, _)| *old <= horizon) {
                    q.pop_front();
                }
                q.push_back((t, summary.clone()));
                if q.len() > MAX_ENTRIES_PER_KEY {
                    q.pop_front();
                }
                let size = q.len();
                self.observe(Pattern::Tenant, tenant, size, event, now, horizon, &mut out);
            }
        }

        // Seed 000's distributed attack has no severity condition.
        if let Some(agent) = event.agent_id.as_deref().map(crate::bounded::bounded) {
            let agent = agent.into_owned();
            let ty = crate::bounded::bounded(event.event_type.as_str()).into_owned();
            out.evicted += self.make_room_types(&ty, horizon);
            let w = self.types.entry(ty.clone()).or_default();
            w.last_seen = w.last_seen.max(t);
            while w.entries.front().is_some_and(|(old, _, _)| *old <= horizon)
                || w.entries.len() >= MAX_ENTRIES_PER_KEY
            {
                let Some((_, a, _)) = w.entries.pop_front() else {
                    break;
                };
                if let Some(n) = w.per_agent.get_mut(&a) {
                    *n -= 1;
                    if *n == 0 {
                        w.per_agent.remove(&a);
                    }
                }
            }
            w.entries.push_back((t, agent.clone(), summary.clone()));
            *w.per_agent.entry(agent).or_default() += 1;
            let distinct = w.per_agent.len();
            self.observe(
                Pattern::Distributed,
                ty,
                distinct,
                event,
                now,
                horizon,
                &mut out,
            );
        }

        if event.severity >= Severity::Low {
            while self
                .recent
                .front()
                .is_some_and(|(old, _, _)| *old <= horizon)
            {
                self.recent.pop_front();
            }
            let rising = event.severity >= Severity::High && self.rising_before(event.severity);
            self.recent.push_back((t, event.severity, summary));
            if self.recent.len() > self.settings.history {
                self.recent.pop_front();
            }
            let key = "severity".to_owned();
            let active = self
                .active
                .get(&(Pattern::Escalating, key.clone()))
                .is_some_and(|a| a.last > horizon);
            if rising || (active && event.severity >= Severity::High) {
                let n = if rising { self.settings.min_events } else { 0 };
                self.observe(Pattern::Escalating, key, n, event, now, horizon, &mut out);
            }
        }
        out
    }

    /// True when the events before the current one, within the last `history` events counting
    /// the current one, hold a strictly rising run of `min_events - 1` severities below
    /// `current`.
    fn rising_before(&self, current: Severity) -> bool {
        let needed = self.settings.min_events.max(2);
        // Longest strictly rising run ending below `current`, by dynamic programming over the
        // `history - 1` entries before the current event.
        let before = self.settings.history.saturating_sub(1);
        let skip = self.recent.len().saturating_sub(before);
        let sev: Vec<Severity> = self.recent.iter().skip(skip).map(|(_, s, _)| *s).collect();
        let mut best = vec![1usize; sev.len()];
        for j in 0..sev.len() {
            for i in 0..j {
                if sev[i] < sev[j] {
                    best[j] = best[j].max(best[i] + 1);
                }
            }
        }
        sev.iter()
            .zip(&best)
            .any(|(s, &len)| *s < current && len + 1 >= needed)
    }

    /// Joins the event to an active correlation, or opens one when `size` reached the minimum.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        pattern: Pattern,
        key: String,
        size: usize,
        event: &mut SecurityEvent,
        now: Timestamp,
        horizon: i64,
        out: &mut CorrelationOutcome,
    ) {
        let t = event.timestamp.unix_nanos();
        let slot = (pattern, key);
        if let Some(active) = self.active.get_mut(&slot) {
            if active.last > horizon {
                active.last = t;
                let id = active.id.clone();
                self.store.record(&id, EventSummary::of(event));
                event.correlation_id.get_or_insert(id);
                return;
            }
        }
        if size < self.settings.min_events {
            return;
        }
        let (pattern, key) = slot;
        let members = self.members(pattern, &key);
        let id = format!(
            "{}:{}:{}",
            pattern.name(),
            id_part(&key),
            event.timestamp.unix_secs()
        );
        for m in &members {
            self.store.record(&id, m.clone());
        }
        self.active.insert(
            (pattern, key.clone()),
            Active {
                id: id.clone(),
                last: t,
            },
        );
        event.correlation_id.get_or_insert_with(|| id.clone());

        let level = match pattern {
            Pattern::Tenant | Pattern::Distributed => AlertLevel::Escalate,
            Pattern::Escalating => AlertLevel::Page,
        };
        let (group_fields, what) = match pattern {
            Pattern::Tenant => (
                vec![("tenant_id".to_owned(), key.clone())],
                format!("{size} high or critical events from tenant {key:?}"),
            ),
            Pattern::Distributed => (
                vec![("event_type".to_owned(), key.clone())],
                format!("{key} events from {size} distinct agents"),
            ),
            Pattern::Escalating => (
                Vec::new(),
                format!(
                    "severity rising to {} within the last {} events",
                    event.severity, self.settings.history
                ),
            ),
        };
        let related: Vec<EventId> = members.iter().rev().take(10).rev().map(|m| m.id).collect();
        let context = AlertContext {
            group: crate::alert::render_group(&group_fields),
            count: size as u64,
            threshold: self.settings.min_events as u64,
            suppressed: 0,
            window: self.settings.window,
            escalation_step: 0,
            correlation_id: Some(id.clone()),
            triggered_at: Some(event.timestamp),
            detected_at: Some(now),
            triggering_event: Some(event.id),
            related_events: related,
            tenant_id: match pattern {
                Pattern::Tenant => Some(key),
                _ => None,
            },
            group_fields: Vec::new(),
            nis2: level.is_incident().then(|| Nis2Timing::from_detection(now)),
            sigma_id: None,
            tags: Vec::new(),
        };
        let message = format!("{} detected: {what} ({id})", pattern.name());
        let mut alert = Alert::new(
            pattern.name(),
            AlertKind::Correlation,
            level,
            message,
            context,
        );
        alert.origin = Some(Origin::of(event));
        out.alerts.push(alert);
    }

    /// The events inside the window that make up a pattern's key, oldest first.
    fn members(&self, pattern: Pattern, key: &str) -> Vec<EventSummary> {
        match pattern {
            Pattern::Tenant => self
                .tenants
                .get(key)
                .map(|q| q.iter().map(|(_, s)| s.clone()).collect())
                .unwrap_or_default(),
            Pattern::Distributed => self
                .types
                .get(key)
                .map(|w| w.entries.iter().map(|(_, _, s)| s.clone()).collect())
                .unwrap_or_default(),
            Pattern::Escalating => self.recent.iter().map(|(_, _, s)| s.clone()).collect(),
        }
    }

    fn make_room_tenants(&mut self, key: &str, horizon: i64) -> u64 {
        if self.tenants.len() < self.settings.max_groups || self.tenants.contains_key(key) {
            return 0;
        }
        self.tenants
            .retain(|_, q| q.back().is_some_and(|(t, _)| *t > horizon));
        evict_oldest(&mut self.tenants, self.settings.max_groups, |q| {
            q.back().map_or(i64::MIN, |(t, _)| *t)
        })
    }

    fn make_room_types(&mut self, key: &str, horizon: i64) -> u64 {
        if self.types.len() < self.settings.max_groups || self.types.contains_key(key) {
            return 0;
        }
        self.types.retain(|_, w| w.last_seen > horizon);
        evict_oldest(&mut self.types, self.settings.max_groups, |w| w.last_seen)
    }
}

/// Evicts the least recently seen entries until at most 7/8 of `cap` remain; returns how many.
pub(crate) fn evict_oldest<V>(
    map: &mut HashMap<String, V>,
    cap: usize,
    seen: impl Fn(&V) -> i64,
) -> u64 {
    let target = cap.saturating_sub(cap / 8 + 1);
    if map.len() <= target {
        return 0;
    }
    let excess = map.len() - target;
    let mut times: Vec<i64> = map.values().map(&seen).collect();
    let (_, cut, _) = times.select_nth_unstable(excess - 1);
    let cut = *cut;
    let mut budget = excess;
    map.retain(|_, v| {
        if budget > 0 && seen(v) <= cut {
            budget -= 1;
            false
        } else {
            true
        }
    });
    excess as u64 - budget as u64
}

/// The tenant id or event type as it appears inside a correlation id.
fn id_part(key: &str) -> String {
    let mut out = String::new();
    for ch in key.chars() {
        if out.len() >= 128 {
            break;
        }
        if ch == '%' || ch == ':' || ch.is_whitespace() || ch.is_control() {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::id_part;

    #[test]
    fn id_parts_are_escaped_and_bounded() {
        assert_eq!(id_part("tenant-123"), "tenant-123");
        assert_eq!(id_part("a:b c%\n"), "a%3Ab%20c%25%0A");
        assert!(id_part(&"x".repeat(1_000_000)).len() <= 128);
    }
}
