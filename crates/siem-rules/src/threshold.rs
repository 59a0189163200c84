//! Threshold rules: N matching events of a group inside a sliding window (on event time) raise
//! an alert at a level, then the group is silenced (cooldown or exponential re-alert). Seed 000's
//! escalation multiplier raises the level while the group is silenced and its count keeps
//! growing: at `threshold × M` one step, at `threshold × M²` two steps, up to CRITICAL.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;

use siem_event::{EventId, SecurityEvent, WellKnownField};

use crate::expr::Expr;
use crate::realert::{Silence, SilenceState};
use crate::{Alert, AlertContext, AlertKind, AlertLevel, AlertState, Nis2Timing, Origin};

/// Entries kept per group at most: beyond it the oldest are dropped and the count saturates.
const MAX_EVENTS_PER_GROUP: u64 = 100_000;
/// Event ids kept per group for the alert's `related_events`.
const RELATED_PER_GROUP: usize = 10;
/// The value a group field has when the event lacks it (ElastAlert's `_missing`).
const MISSING: &str = "_missing";

/// A compiled threshold rule (config parsing lives in `config`).
#[derive(Debug, Clone)]
pub(crate) struct ThresholdSpec {
    pub(crate) name: Arc<str>,
    pub(crate) when: Expr,
    pub(crate) min_count: u64,
    pub(crate) window: Duration,
    pub(crate) group_by: Vec<String>,
    pub(crate) level: AlertLevel,
    pub(crate) silence: Silence,
    /// Seed 000's escalation multiplier (> 1), if any.
    pub(crate) escalation_multiplier: Option<f64>,
    pub(crate) action: Option<Arc<str>>,
    pub(crate) description: Option<String>,
    /// Its alerts open a reportable incident and carry NIS2 deadlines.
    pub(crate) reportable: bool,
}

#[derive(Debug, Default)]
struct GroupState {
    /// Event times (ns) inside the window, oldest first.
    times: VecDeque<i64>,
    related: VecDeque<EventId>,
    last_seen: i64,
    silence: SilenceState,
    suppressed: u64,
    step: u32,
}

impl GroupState {
    /// True when the group holds nothing worth keeping: no event inside the window, not
    /// silenced, and (for exponential re-alert) its silence ended more than `memory` ago.
    fn is_idle(&self, horizon: i64, now: i64, memory: i64) -> bool {
        self.last_seen <= horizon
            && !self.silence.is_silenced(now)
            && match self.silence.until {
                Some(until) => now.saturating_sub(until) > memory,
                None => true,
            }
    }
}

/// The group map's hasher: its keys are already keyed SipHash values.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else in case that ever changes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A threshold rule with its per-group state.
#[derive(Debug)]
pub(crate) struct ThresholdRule {
    pub(crate) spec: ThresholdSpec,
    groups: HashMap<u64, GroupState, BuildHasherDefault<PassThrough>>,
    hasher: RandomState,
    /// Event time of the last sweep of groups whose window has emptied.
    last_sweep: i64,
    /// How long (ns) after its silence ends a quiet group is kept, so exponential re-alert
    /// remembers its exponent until it would have decayed to zero anyway.
    silence_memory: i64,
    max_groups: usize,
    max_events: usize,
    window_nanos: i64,
    /// Latest event time (ns) counted, the reference for the window in [`AlertState`].
    latest: i64,
    /// Clock time (ns) and level of the rule's latest alert.
    last_alert: Option<(i64, AlertLevel)>,
}

/// What one event did to a rule's state that the engine counts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StateChange {
    pub(crate) evicted: u64,
    /// Groups added minus groups removed.
    pub(crate) groups_delta: i64,
}

impl ThresholdRule {
    pub(crate) fn new(spec: ThresholdSpec, max_groups: usize) -> ThresholdRule {
        let top = match spec.escalation_multiplier {
            Some(m) => {
                let steps = AlertLevel::Critical
                    .value()
                    .saturating_sub(spec.level.value());
                (spec.min_count as f64 * m.powi(i32::from(steps))).ceil() as u64
            }
            None => spec.min_count,
        };
        ThresholdRule {
            window_nanos: i64::try_from(spec.window.as_nanos())
                .unwrap_or(i64::MAX)
                .max(1),
            max_events: top.clamp(1, MAX_EVENTS_PER_GROUP) as usize,
            groups: HashMap::default(),
            hasher: RandomState::new(),
            last_sweep: i64::MIN,
            silence_memory: match spec.silence {
                Silence::Fixed(_) | Silence::Reset => 0,
                Silence::Exponential { cap, .. } => i64::try_from(cap.as_nanos())
                    .unwrap_or(i64::MAX / 4)
                    .saturating_mul(4),
            },
            max_groups: max_groups.max(1),
            latest: i64::MIN,
            last_alert: None,
            spec,
        }
    }

    /// Seed 000's `alert_states` entry for this rule, across its groups: events inside the
    /// window ending at the latest event counted, the latest alert, and the latest cooldown
    /// end still ahead of `now` (clock ns).
    pub(crate) fn state(&self, now: i64) -> AlertState {
        let horizon = self.latest.saturating_sub(self.window_nanos);
        let count = self
            .groups
            .values()
            .map(|g| g.times.iter().filter(|&&t| t > horizon).count() as u64)
            .sum();
        let cooldown_until = self
            .groups
            .values()
            .filter_map(|g| g.silence.until)
            .filter(|&until| until > now)
            .max();
        AlertState {
            rule: self.spec.name.to_string(),
            count_in_window: count,
            threshold: self.spec.min_count,
            window: self.spec.window,
            last_alert: self
                .last_alert
                .map(|(at, _)| siem_event::Timestamp::from_unix_nanos(at)),
            level: self.last_alert.map_or(self.spec.level, |(_, level)| level),
            cooldown_until: cooldown_until.map(siem_event::Timestamp::from_unix_nanos),
        }
    }

    pub(crate) fn groups_tracked(&self) -> usize {
        self.groups.len()
    }

    /// Feeds one event; `now` is the clock time (ns) for silences and detection time.
    pub(crate) fn process(
        &mut self,
        event: &SecurityEvent,
        now: i64,
        change: &mut StateChange,
    ) -> Option<Alert> {
        if !self.spec.when.matches(event) {
            return None;
        }
        // Groups are told apart by a keyed 64-bit hash of their values (separated by bytes
        // that never occur in UTF-8), so no key is built or stored per event. The key is
        // random per rule: nobody can aim two groups at one slot.
        let mut h = self.hasher.build_hasher();
        for field in &self.spec.group_by {
            match event.field_text(field) {
                Some(v) => {
                    h.write(v.as_bytes());
                    h.write_u8(0xff);
                }
                None => h.write_u8(0xfe),
            }
        }
        self.count(h.finish(), event, now, change)
    }

    /// Counts the event in its group and decides whether the group alerts.
    fn count(
        &mut self,
        key: u64,
        event: &SecurityEvent,
        now: i64,
        change: &mut StateChange,
    ) -> Option<Alert> {
        let t = event.timestamp.unix_nanos();
        self.latest = self.latest.max(t);
        if t.saturating_sub(self.last_sweep) > self.window_nanos {
            // Once per window of event time, forget groups that went quiet, so memory follows
            // the active groups rather than every group ever seen (O(groups) per window).
            self.last_sweep = t;
            let before = self.groups.len();
            let horizon = t.saturating_sub(self.window_nanos);
            let memory = self.silence_memory;
            self.groups.retain(|_, g| !g.is_idle(horizon, now, memory));
            change.groups_delta -= (before - self.groups.len()) as i64;
        }
        if !self.groups.contains_key(&key) {
            if self.groups.len() >= self.max_groups {
                let before = self.groups.len();
                change.evicted += self.make_room(t, now);
                change.groups_delta -= (before - self.groups.len()) as i64;
            }
            self.groups.insert(key, GroupState::default());
            change.groups_delta += 1;
        }
        let window = self.window_nanos;
        let state = self.groups.get_mut(&key)?;
        state.last_seen = state.last_seen.max(t);
        let horizon = t.saturating_sub(window);
        while state.times.front().is_some_and(|&old| old <= horizon) {
            state.times.pop_front();
        }
        state.times.push_back(t);
        if state.times.len() > self.max_events {
            state.times.pop_front();
        }
        state.related.push_back(event.id);
        if state.related.len() > RELATED_PER_GROUP {
            state.related.pop_front();
        }
        let count = state.times.len() as u64;
        let spec = &self.spec;
        if count < spec.min_count {
            // The attack has subsided: the next alert starts from the rule's own level.
            state.step = 0;
            return None;
        }
        let (fire, step) = if !state.silence.is_silenced(now) {
            (true, state.step)
        } else {
            match spec.escalation_multiplier {
                Some(m) if spec.level.raised(state.step + 1) > spec.level.raised(state.step) => {
                    let next = state.step + 1;
                    let needed = (spec.min_count as f64 * m.powi(next as i32)).ceil() as u64;
                    (count >= needed, next)
                }
                _ => (false, state.step),
            }
        };
        if !fire {
            state.suppressed += 1;
            return None;
        }
        state.step = step;
        let suppressed = std::mem::take(&mut state.suppressed);
        state.silence.alerted(now, spec.silence);
        let level = spec.level.raised(step);
        let related_events: Vec<EventId> = state.related.iter().copied().collect();
        if spec.silence == Silence::Reset {
            // Seed 004 empties the counter once it alerts: the next alert needs as many new
            // events again.
            state.times.clear();
            state.related.clear();
        }
        self.last_alert = Some((now, level));
        let detected_at = siem_event::Timestamp::from_unix_nanos(now);
        let group_fields: Vec<(String, String)> = spec
            .group_by
            .iter()
            .map(|f| {
                let v = event.field_text(f);
                let v = v.as_deref().unwrap_or(MISSING);
                (f.clone(), crate::bounded::bounded(v).into_owned())
            })
            .collect();
        let group = crate::alert::render_group(&group_fields);
        let tenant_id = group_fields
            .iter()
            .find(|(f, _)| WellKnownField::from_name(f) == Some(WellKnownField::TenantId))
            .map(|(_, v)| v.clone());
        let mut message = format!(
            "{}: {count} matching events in {} reached the threshold of {}",
            spec.name,
            humantime::format_duration(spec.window),
            spec.min_count
        );
        if !group.is_empty() {
            message.push_str(&format!(" for {group}"));
        }
        if step > 0 {
            message.push_str(&format!(" (escalated {step} step(s) to {level})"));
        }
        if suppressed > 0 {
            message.push_str(&format!("; {suppressed} suppressed during cooldown"));
        }
        if let Some(d) = &spec.description {
            message.push_str(" - ");
            message.push_str(d);
        }
        let context = AlertContext {
            group,
            count,
            threshold: spec.min_count,
            suppressed,
            window: spec.window,
            escalation_step: step,
            correlation_id: event.correlation_id.clone(),
            triggered_at: Some(event.timestamp),
            detected_at: Some(detected_at),
            triggering_event: Some(event.id),
            related_events,
            tenant_id,
            group_fields,
            nis2: (spec.reportable || (step > 0 && level.is_incident()))
                .then(|| Nis2Timing::from_detection(detected_at)),
            sigma_id: None,
            tags: Vec::new(),
        };
        let mut alert = Alert::new(
            spec.name.clone(),
            AlertKind::Threshold,
            level,
            message,
            context,
        );
        alert.action = spec.action.clone();
        alert.origin = Some(Origin::of(event));
        Some(alert)
    }

    /// Frees room for a new group: first groups whose window has emptied and that are not
    /// silenced (not counted as evictions), then the least recently seen groups until at most
    /// 7/8 of the cap remain (counted as evictions). Batching the work keeps
    /// it amortised O(1) per event under a flood of distinct groups.
    fn make_room(&mut self, t: i64, now: i64) -> u64 {
        let horizon = t.saturating_sub(self.window_nanos);
        let memory = self.silence_memory;
        self.groups.retain(|_, g| !g.is_idle(horizon, now, memory));
        let target = self.max_groups.saturating_sub(self.max_groups / 8 + 1);
        if self.groups.len() <= target {
            return 0;
        }
        let excess = self.groups.len() - target;
        let mut seen: Vec<i64> = self.groups.values().map(|g| g.last_seen).collect();
        let (_, cut, _) = seen.select_nth_unstable(excess - 1);
        let cut = *cut;
        let mut evicted = 0u64;
        let mut budget = excess;
        self.groups.retain(|_, g| {
            if budget > 0 && g.last_seen <= cut {
                budget -= 1;
                evicted += 1;
                false
            } else {
                true
            }
        });
        evicted
    }
}
