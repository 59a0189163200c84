//! Turning events into the report's figures, one event at a time: only counts and a bounded
//! state per source and per incident are kept, never the events.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use tracing_siem::event::Timestamp;
use tracing_siem::rules::AlertLevel;

use super::event::{Deadlines, Event};
use super::json::{
    Alerts, ControlRow, Counts, Gap, IncidentRow, Incidents, Input, Malformed, ObligationRow,
    PerDay, Period, ReadError, Report, RuleRow, SourceRow, Sources,
};
use super::nis2;
use super::tally::Tally;

/// Different keys (controls, rules, levels) a table keeps.
const MAX_KEYS: usize = 256;
/// Day cells (a key on a day) a per-day table keeps: more than ten years of every control.
const MAX_DAY_CELLS: usize = 200_000;
/// Malformed lines quoted (all are counted).
const MAX_MALFORMED_QUOTED: usize = 20;
/// Longest reason quoted for a malformed line, in characters.
const MAX_REASON: usize = 200;
/// Sources followed for gaps.
const MAX_SOURCES: usize = 10_000;
/// Gaps and incidents listed.
const MAX_LISTED: usize = 10_000;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The period: events outside it are not counted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    /// `--from`.
    pub from: Option<Timestamp>,
    /// `--to`.
    pub to: Option<Timestamp>,
}

impl Bounds {
    fn contains(self, t: Timestamp) -> bool {
        self.from.is_none_or(|from| t >= from) && self.to.is_none_or(|to| t <= to)
    }
}

/// Counts per key, over the period and per day.
struct ByKey<K> {
    total: Tally<K>,
    per_day: Tally<(K, i64)>,
}

impl<K: Ord + Clone> ByKey<K> {
    fn new() -> ByKey<K> {
        ByKey {
            total: Tally::new(MAX_KEYS),
            per_day: Tally::new(MAX_DAY_CELLS),
        }
    }

    fn add(&mut self, key: K, day: i64) {
        self.total.add(key.clone());
        self.per_day.add((key, day));
    }

    fn not_listed(&self) -> u64 {
        self.total.not_listed() + self.per_day.not_listed()
    }

    fn per_day(&self, key: &K) -> PerDay {
        self.per_day
            .counts()
            .range((key.clone(), i64::MIN)..=(key.clone(), i64::MAX))
            .map(|((_, day), count)| (day_label(*day), *count))
            .collect()
    }
}

struct Source {
    events: u64,
    first: Timestamp,
    last: Timestamp,
}

struct Incident {
    id: String,
    rule: String,
    group: String,
    level: String,
    alerts: u64,
    deadlines: Deadlines,
    notified_at: Option<Timestamp>,
}

/// Takes events one by one and makes the report.
pub(crate) struct Aggregator {
    bounds: Bounds,
    gap_nanos: i64,
    files: Vec<String>,
    lines: u64,
    outside_period: u64,
    malformed_lines: u64,
    malformed: Vec<Malformed>,
    read_errors: Vec<ReadError>,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
    events: ByKey<()>,
    soc2: ByKey<String>,
    iso27001: ByKey<String>,
    nis2: ByKey<usize>,
    alerts: Tally<(String, String)>,
    sources: BTreeMap<(String, String), Source>,
    events_not_listed: u64,
    gaps: Vec<Gap>,
    gaps_not_listed: u64,
    incidents: Vec<Incident>,
    incidents_not_listed: u64,
    open_incidents: HashMap<(String, String), usize>,
    incident_ids: HashMap<String, usize>,
    unmatched_notifications: u64,
}

impl Aggregator {
    /// An aggregator for the period `bounds`, where a silence longer than `gap` is a gap.
    pub(crate) fn new(bounds: Bounds, gap: std::time::Duration) -> Aggregator {
        Aggregator {
            bounds,
            gap_nanos: i64::try_from(gap.as_nanos()).unwrap_or(i64::MAX),
            files: Vec::new(),
            lines: 0,
            outside_period: 0,
            malformed_lines: 0,
            malformed: Vec::new(),
            read_errors: Vec::new(),
            earliest: None,
            latest: None,
            events: ByKey::new(),
            soc2: ByKey::new(),
            iso27001: ByKey::new(),
            nis2: ByKey::new(),
            alerts: Tally::new(MAX_KEYS),
            sources: BTreeMap::new(),
            events_not_listed: 0,
            gaps: Vec::new(),
            gaps_not_listed: 0,
            incidents: Vec::new(),
            incidents_not_listed: 0,
            open_incidents: HashMap::new(),
            incident_ids: HashMap::new(),
            unmatched_notifications: 0,
        }
    }

    /// A file is about to be read.
    pub(crate) fn file(&mut self, name: String) {
        self.files.push(name);
    }

    /// The current file's reading stopped early.
    pub(crate) fn read_error(&mut self, error: String) {
        let file = self.files.last().cloned().unwrap_or_default();
        self.read_errors.push(ReadError { file, error });
    }

    /// Line `line` of the current file is not an event.
    pub(crate) fn malformed(&mut self, line: u64, reason: &str) {
        self.lines += 1;
        self.malformed_lines += 1;
        if self.malformed.len() < MAX_MALFORMED_QUOTED {
            self.malformed.push(Malformed {
                file: self.files.last().cloned().unwrap_or_default(),
                line,
                reason: reason.chars().take(MAX_REASON).collect(),
            });
        }
    }

    /// Counts one event.
    pub(crate) fn event(&mut self, event: Event) {
        self.lines += 1;
        let t = event.timestamp;
        if !self.bounds.contains(t) {
            self.outside_period += 1;
            return;
        }
        self.earliest = Some(self.earliest.map_or(t, |e| e.min(t)));
        self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        let day = t.unix_secs().div_euclid(SECONDS_PER_DAY);
        self.events.add((), day);
        for control in &event.soc2 {
            self.soc2.add(control.clone(), day);
        }
        for control in &event.iso27001 {
            self.iso27001.add(control.clone(), day);
        }
        let reportable = event.alert.as_ref().is_some_and(|a| a.nis2.is_some());
        for obligation in nis2::obligations(&event.category, &event.event_type, reportable) {
            if let Some(index) = nis2::ALL.iter().position(|o| *o == obligation) {
                self.nis2.add(index, day);
            }
        }
        self.source(&event);
        if let Some(incident) = &event.notified_incident {
            self.notified(incident, t);
        }
        if let Some(alert) = event.alert {
            self.alerts.add((alert.rule.clone(), alert.level.clone()));
            if let Some(deadlines) = alert.nis2 {
                self.reportable(event.id, alert.rule, alert.group, alert.level, deadlines);
            }
        }
    }

    fn source(&mut self, event: &Event) {
        let t = event.timestamp;
        let key = (event.host.clone(), event.app.clone());
        let followed = self.sources.len();
        let source = match self.sources.entry(key.clone()) {
            Entry::Occupied(source) => source.into_mut(),
            Entry::Vacant(new) if followed < MAX_SOURCES => new.insert(Source {
                events: 0,
                first: t,
                last: t,
            }),
            Entry::Vacant(_) => {
                self.events_not_listed += 1;
                return;
            }
        };
        source.events += 1;
        // Files are read oldest first; an event older than the source's latest (threads
        // interleaving) only moves its first event, it does not open a gap.
        if nanos_between(source.last, t) > self.gap_nanos {
            let gap = gap(&key, source.last, t);
            push_bounded(&mut self.gaps, &mut self.gaps_not_listed, gap);
        }
        source.first = source.first.min(t);
        source.last = source.last.max(t);
    }

    fn notified(&mut self, id: &str, at: Timestamp) {
        let Some(&index) = self.incident_ids.get(id) else {
            self.unmatched_notifications += 1;
            return;
        };
        let incident = &mut self.incidents[index];
        if incident.notified_at.is_none() {
            incident.notified_at = Some(at);
            self.open_incidents
                .remove(&(incident.rule.clone(), incident.group.clone()));
        }
    }

    fn reportable(
        &mut self,
        id: String,
        rule: String,
        group: String,
        level: String,
        deadlines: Deadlines,
    ) {
        let key = (rule, group);
        if let Some(&index) = self.open_incidents.get(&key) {
            let incident = &mut self.incidents[index];
            incident.alerts += 1;
            if rank(&level) > rank(&incident.level) {
                incident.level = level;
            }
            return;
        }
        if self.incidents.len() >= MAX_LISTED {
            self.incidents_not_listed += 1;
            return;
        }
        let index = self.incidents.len();
        self.incident_ids.insert(id.clone(), index);
        self.open_incidents.insert(key.clone(), index);
        self.incidents.push(Incident {
            id,
            rule: key.0,
            group: key.1,
            level,
            alerts: 1,
            deadlines,
            notified_at: None,
        });
    }

    /// The report.
    pub(crate) fn finish(self) -> Report {
        let from = self.bounds.from.or(self.earliest);
        let to = self.bounds.to.or(self.latest);
        let counts_not_listed = self.events.not_listed()
            + self.soc2.not_listed()
            + self.iso27001.not_listed()
            + self.nis2.not_listed()
            + self.alerts.not_listed();
        let sources = sources(
            self.sources,
            self.gaps,
            self.gaps_not_listed,
            self.events_not_listed,
            (from, to),
            self.gap_nanos,
        );
        let incidents = incidents(
            self.incidents,
            self.incidents_not_listed,
            self.unmatched_notifications,
            to,
        );
        Report {
            period: Period {
                from: from.map(Timestamp::to_rfc3339),
                to: to.map(Timestamp::to_rfc3339),
                gap_seconds: u64::try_from(self.gap_nanos / NANOS_PER_SECOND).unwrap_or(0),
            },
            input: Input {
                files: self.files,
                lines: self.lines,
                outside_period: self.outside_period,
                malformed_lines: self.malformed_lines,
                malformed: self.malformed,
                read_errors: self.read_errors,
                counts_not_listed,
            },
            events: Counts {
                total: self.events.total.counts().get(&()).copied().unwrap_or(0),
                per_day: self.events.per_day(&()),
            },
            soc2: control_rows(&self.soc2),
            iso27001: control_rows(&self.iso27001),
            nis2: nis2::ALL
                .iter()
                .enumerate()
                .map(|(index, obligation)| ObligationRow {
                    obligation: obligation.article,
                    title: obligation.title,
                    events: self.nis2.total.counts().get(&index).copied().unwrap_or(0),
                    per_day: self.nis2.per_day(&index),
                })
                .collect(),
            alerts: alerts(&self.alerts),
            incidents,
            sources,
        }
    }
}

fn control_rows(by_control: &ByKey<String>) -> Vec<ControlRow> {
    by_control
        .total
        .counts()
        .iter()
        .map(|(control, events)| ControlRow {
            control: control.clone(),
            events: *events,
            per_day: by_control.per_day(control),
        })
        .collect()
}

fn alerts(tally: &Tally<(String, String)>) -> Alerts {
    let mut per_level = BTreeMap::new();
    let mut per_rule: Vec<RuleRow> = Vec::new();
    for ((rule, level), count) in tally.counts() {
        *per_level.entry(level.clone()).or_insert(0) += count;
        match per_rule.last_mut() {
            Some(row) if row.rule == *rule => {
                row.total += count;
                row.per_level.insert(level.clone(), *count);
            }
            _ => per_rule.push(RuleRow {
                rule: rule.clone(),
                total: *count,
                per_level: BTreeMap::from([(level.clone(), *count)]),
            }),
        }
    }
    Alerts {
        total: per_level.values().sum(),
        per_level,
        per_rule,
    }
}

fn incidents(
    list: Vec<Incident>,
    not_listed: u64,
    unmatched_notifications: u64,
    end: Option<Timestamp>,
) -> Incidents {
    let (mut met, mut missed, mut open) = (0, 0, 0);
    let list = list
        .into_iter()
        .map(|incident| {
            let due = incident.deadlines.early_warning_due;
            let early_warning = match incident.notified_at {
                Some(at) if at <= due => "met",
                Some(_) => "missed",
                None if end.is_some_and(|end| end > due) => "missed",
                None => "open",
            };
            match early_warning {
                "met" => met += 1,
                "missed" => missed += 1,
                _ => open += 1,
            }
            let d = incident.deadlines;
            IncidentRow {
                id: incident.id,
                rule: incident.rule,
                group: incident.group,
                level: incident.level,
                alerts: incident.alerts,
                detected_at: d.detected_at.to_rfc3339(),
                early_warning_due: due.to_rfc3339(),
                notification_due: d.notification_due.to_rfc3339(),
                final_report_due: d.final_report_due.to_rfc3339(),
                notified_at: incident.notified_at.map(Timestamp::to_rfc3339),
                early_warning,
            }
        })
        .collect();
    Incidents {
        list,
        met,
        missed,
        open,
        unmatched_notifications,
        not_listed,
    }
}

fn sources(
    sources: BTreeMap<(String, String), Source>,
    mut gaps: Vec<Gap>,
    mut gaps_not_listed: u64,
    events_not_listed: u64,
    (from, to): (Option<Timestamp>, Option<Timestamp>),
    gap_nanos: i64,
) -> Sources {
    let mut list = Vec::with_capacity(sources.len());
    for (key, source) in sources {
        // A source that started late or stopped early was silent at the period's edges.
        if let Some(from) = from.filter(|from| nanos_between(*from, source.first) > gap_nanos) {
            push_bounded(
                &mut gaps,
                &mut gaps_not_listed,
                gap(&key, from, source.first),
            );
        }
        if let Some(to) = to.filter(|to| nanos_between(source.last, *to) > gap_nanos) {
            push_bounded(&mut gaps, &mut gaps_not_listed, gap(&key, source.last, to));
        }
        list.push(SourceRow {
            host: key.0,
            app: key.1,
            events: source.events,
            first: source.first.to_rfc3339(),
            last: source.last.to_rfc3339(),
        });
    }
    gaps.sort_by(|a, b| (&a.host, &a.app, &a.from).cmp(&(&b.host, &b.app, &b.from)));
    Sources {
        list,
        events_not_listed,
        gaps,
        gaps_not_listed,
    }
}

fn gap(key: &(String, String), from: Timestamp, to: Timestamp) -> Gap {
    Gap {
        host: key.0.clone(),
        app: key.1.clone(),
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        seconds: u64::try_from(nanos_between(from, to) / NANOS_PER_SECOND).unwrap_or(0),
    }
}

fn push_bounded(gaps: &mut Vec<Gap>, not_listed: &mut u64, gap: Gap) {
    if gaps.len() < MAX_LISTED {
        gaps.push(gap);
    } else {
        *not_listed += 1;
    }
}

/// Nanoseconds from `earlier` to `later` (negative when `later` is earlier).
fn nanos_between(earlier: Timestamp, later: Timestamp) -> i64 {
    later.unix_nanos().saturating_sub(earlier.unix_nanos())
}

/// A level's rank, lowest first; names the library does not use rank below all.
fn rank(level: &str) -> Option<usize> {
    AlertLevel::ALL.iter().position(|l| l.as_str() == level)
}

/// `YYYY-MM-DD` of a day counted from the epoch.
pub(crate) fn day_label(day: i64) -> String {
    let mut text = Timestamp::from_unix_secs(day.saturating_mul(SECONDS_PER_DAY)).to_rfc3339();
    text.truncate(10);
    text
}

/// The day (since the epoch) of a `YYYY-MM-DD` label or RFC 3339 time.
pub(crate) fn day_number(text: &str) -> Option<i64> {
    let time = if text.len() == 10 {
        Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z"))
    } else {
        Timestamp::parse_rfc3339(text)
    };
    time.ok().map(|t| t.unix_secs().div_euclid(SECONDS_PER_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: &str) -> Event {
        Event {
            id: String::new(),
            timestamp: Timestamp::parse_rfc3339(at).unwrap(),
            event_type: "auth.failure".to_owned(),
            category: "auth".to_owned(),
            soc2: vec!["CC6".to_owned()],
            iso27001: Vec::new(),
            host: "h".to_owned(),
            app: "a".to_owned(),
            alert: None,
            notified_incident: None,
        }
    }

    fn gaps(report: &Report) -> Vec<(&str, &str)> {
        report
            .sources
            .gaps
            .iter()
            .map(|g| (g.from.as_str(), g.to.as_str()))
            .collect()
    }

    #[test]
    fn an_older_event_opens_no_gap_and_the_period_edges_count() {
        let bounds = Bounds {
            from: Some(Timestamp::parse_rfc3339("2025-01-01T08:00:00Z").unwrap()),
            to: Some(Timestamp::parse_rfc3339("2025-01-01T14:00:00Z").unwrap()),
        };
        let mut aggregator = Aggregator::new(bounds, std::time::Duration::from_secs(3600));
        for at in [
            "2025-01-01T07:00:00Z",
            "2025-01-01T10:00:00Z",
            "2025-01-01T12:00:00Z",
            "2025-01-01T11:30:00Z",
            "2025-01-01T12:10:00Z",
        ] {
            aggregator.event(event(at));
        }
        let report = aggregator.finish();
        assert_eq!(report.input.outside_period, 1);
        assert_eq!(report.sources.list[0].first, "2025-01-01T10:00:00.000000Z");
        assert_eq!(
            gaps(&report),
            [
                ("2025-01-01T08:00:00.000000Z", "2025-01-01T10:00:00.000000Z"),
                ("2025-01-01T10:00:00.000000Z", "2025-01-01T12:00:00.000000Z"),
                ("2025-01-01T12:10:00.000000Z", "2025-01-01T14:00:00.000000Z"),
            ]
        );
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_number("2025-03-03"), day_number("2025-03-03T23:59:59Z"));
        assert_eq!(
            day_label(day_number("2025-03-03T00:30:00+02:00").unwrap()),
            "2025-03-02"
        );
    }
}
