//! The report's figures, in the shape the JSON output has (docs/compliance.md describes each
//! member); the HTML page draws the same figures.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts per day (`YYYY-MM-DD`, UTC), days without events left out.
pub(crate) type PerDay = BTreeMap<String, u64>;

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The period counted.
    pub period: Period,
    /// What was read.
    pub input: Input,
    /// Events in the period, in all and per day.
    pub events: Counts,
    /// Per SOC 2 criterion.
    pub soc2: Vec<ControlRow>,
    /// Per ISO 27001 control.
    pub iso27001: Vec<ControlRow>,
    /// Per NIS2 obligation, every one of the mapping listed.
    pub nis2: Vec<ObligationRow>,
    /// Alerts raised.
    pub alerts: Alerts,
    /// NIS2 incidents, from reportable alerts.
    pub incidents: Incidents,
    /// Sources and the gaps in their events.
    pub sources: Sources,
}

/// The period counted.
#[derive(Debug, Serialize)]
pub(crate) struct Period {
    /// Its start (`--from`, or the earliest event); `null` when no event was read.
    pub from: Option<String>,
    /// Its end (`--to`, or the latest event).
    pub to: Option<String>,
    /// A source silent longer than this, in seconds, has a gap (`--gap`).
    pub gap_seconds: u64,
}

/// What was read.
#[derive(Debug, Serialize)]
pub(crate) struct Input {
    /// The files, in the order given.
    pub files: Vec<String>,
    /// Non-empty lines read.
    pub lines: u64,
    /// Events outside the period (read, not counted).
    pub outside_period: u64,
    /// Lines that are not events (skipped).
    pub malformed_lines: u64,
    /// The first of them, with the reason.
    pub malformed: Vec<Malformed>,
    /// Files whose reading stopped early (a truncated gzip stream …): the lines before counted.
    pub read_errors: Vec<ReadError>,
    /// Counts left out of the tables because a table reached its size limit (thousands of
    /// different control ids, rules or days): 0 for files the library wrote.
    pub counts_not_listed: u64,
}

/// A line that is not an event.
#[derive(Debug, Serialize)]
pub(crate) struct Malformed {
    /// The file.
    pub file: String,
    /// Its line number, from 1.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// A file whose reading stopped early.
#[derive(Debug, Serialize)]
pub(crate) struct ReadError {
    /// The file.
    pub file: String,
    /// Why.
    pub error: String,
}

/// A count over the period and per day.
#[derive(Debug, Serialize)]
pub(crate) struct Counts {
    /// Over the period.
    pub total: u64,
    /// Per day.
    pub per_day: PerDay,
}

/// Events that are evidence for one control.
#[derive(Debug, Serialize)]
pub(crate) struct ControlRow {
    /// `CC6`, `A.9.4`.
    pub control: String,
    /// Events over the period.
    pub events: u64,
    /// Events per day.
    pub per_day: PerDay,
}

/// Events that are evidence for one NIS2 obligation.
#[derive(Debug, Serialize)]
pub(crate) struct ObligationRow {
    /// `Art. 21(2)(b)`.
    pub obligation: &'static str,
    /// What the article asks for.
    pub title: &'static str,
    /// Events over the period.
    pub events: u64,
    /// Events per day.
    pub per_day: PerDay,
}

/// Alerts raised in the period.
#[derive(Debug, Serialize)]
pub(crate) struct Alerts {
    /// All of them.
    pub total: u64,
    /// Per level (`NOTIFY`, `PAGE` …).
    pub per_level: BTreeMap<String, u64>,
    /// Per rule, with its levels.
    pub per_rule: Vec<RuleRow>,
}

/// One rule's alerts.
#[derive(Debug, Serialize)]
pub(crate) struct RuleRow {
    /// The rule's name.
    pub rule: String,
    /// Its alerts.
    pub total: u64,
    /// Per level.
    pub per_level: BTreeMap<String, u64>,
}

/// NIS2 incidents.
#[derive(Debug, Serialize)]
pub(crate) struct Incidents {
    /// Each incident, earliest first.
    pub list: Vec<IncidentRow>,
    /// Incidents whose early warning was sent in time.
    pub met: u64,
    /// Incidents whose early warning was sent late, or not at all by its deadline.
    pub missed: u64,
    /// Incidents not notified whose deadline is after the period's end.
    pub open: u64,
    /// `incident.notified` events naming no incident of the files.
    pub unmatched_notifications: u64,
    /// Incidents past the listing limit (not in the list nor in met/missed/open).
    pub not_listed: u64,
}

/// One incident: the reportable alerts of one rule and group until its notification.
#[derive(Debug, Serialize)]
pub(crate) struct IncidentRow {
    /// The id of the alert that opened it (what `incident.notified` names).
    pub id: String,
    /// The rule.
    pub rule: String,
    /// The rule's group (`user=bob`).
    pub group: String,
    /// The highest level among its alerts.
    pub level: String,
    /// Alerts that make it up.
    pub alerts: u64,
    /// When it was detected.
    pub detected_at: String,
    /// Early warning deadline (24 h).
    pub early_warning_due: String,
    /// Incident notification deadline (72 h).
    pub notification_due: String,
    /// Final report deadline (one month).
    pub final_report_due: String,
    /// When the early warning was recorded as sent; `null`: no notification recorded.
    pub notified_at: Option<String>,
    /// `met`, `missed` or `open`.
    pub early_warning: &'static str,
}

/// Sources and their gaps.
#[derive(Debug, Serialize)]
pub(crate) struct Sources {
    /// Each source (host and app), in order.
    pub list: Vec<SourceRow>,
    /// Events from sources past the listing limit (not checked for gaps).
    pub events_not_listed: u64,
    /// Silences longer than `--gap`, per source then in time order.
    pub gaps: Vec<Gap>,
    /// Gaps past the listing limit.
    pub gaps_not_listed: u64,
}

/// One source.
#[derive(Debug, Serialize)]
pub(crate) struct SourceRow {
    /// `_siem.hostname`.
    pub host: String,
    /// `_siem.app`.
    pub app: String,
    /// Its events in the period.
    pub events: u64,
    /// Its first event.
    pub first: String,
    /// Its last event.
    pub last: String,
}

/// A silence of one source.
#[derive(Debug, Serialize)]
pub(crate) struct Gap {
    /// `_siem.hostname`.
    pub host: String,
    /// `_siem.app`.
    pub app: String,
    /// The last event before it (or the period's start).
    pub from: String,
    /// The first event after it (or the period's end).
    pub to: String,
    /// Its length.
    pub seconds: u64,
}

/// The report as pretty-printed JSON, with a final newline.
pub(crate) fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .expect("the report holds only strings, numbers and maps with string keys");
    text.push('\n');
    text
}
