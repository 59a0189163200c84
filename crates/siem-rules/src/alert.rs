//! What the engine reports: an [`Alert`], and the `alert.*` security event it becomes.

use std::sync::Arc;
use std::time::Duration;

use siem_event::{EventId, EventType, SecurityEvent, Timestamp, Value, WellKnownField};

use crate::{AlertLevel, Nis2Timing};

/// Which part of the engine raised an alert; names the `alert.<kind>` event type.
///
/// ```
/// use siem_rules::AlertKind;
/// assert_eq!(AlertKind::Threshold.event_type().as_str(), "alert.threshold");
/// assert_eq!(AlertKind::SigmaCorrelation.as_str(), "sigma_correlation");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A threshold rule (seed 000 defaults, seed 003/004 rules, native rules).
    Threshold,
    /// One of seed 000's attack patterns (tenant, distributed, escalating).
    Correlation,
    /// A Sigma detection rule matched.
    Sigma,
    /// A Sigma correlation rule fired.
    SigmaCorrelation,
}

impl AlertKind {
    /// `threshold`, `correlation`, `sigma` or `sigma_correlation`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::Threshold => "threshold",
            AlertKind::Correlation => "correlation",
            AlertKind::Sigma => "sigma",
            AlertKind::SigmaCorrelation => "sigma_correlation",
        }
    }

    /// The event type of the alert's security event: `alert.<kind>`.
    pub const fn event_type(self) -> EventType {
        EventType::canonical(match self {
            AlertKind::Threshold => "alert.threshold",
            AlertKind::Correlation => "alert.correlation",
            AlertKind::Sigma => "alert.sigma",
            AlertKind::SigmaCorrelation => "alert.sigma_correlation",
        })
    }
}

/// The facts behind an alert.
///
/// ```
/// use siem_rules::AlertContext;
/// let c = AlertContext::default();
/// assert_eq!(c.count, 0);
/// assert!(c.nis2.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertContext {
    /// The group the rule counted in, as `field=value` pairs joined by `,` (`\`, `,` and `=`
    /// inside values are escaped with `\`); empty for an ungrouped rule.
    pub group: String,
    /// Events counted in the window when the alert fired (for Sigma correlations: the
    /// aggregated value, rounded down).
    pub count: u64,
    /// The threshold the count reached (minimum number of events).
    pub threshold: u64,
    /// Events that matched while the group was silenced (cooldown or re-alert wait) since the
    /// previous alert.
    pub suppressed: u64,
    /// The rule's window.
    pub window: Duration,
    /// How many escalation steps the level was raised by (seed 000 escalation multiplier).
    pub escalation_step: u32,
    /// The correlation id, for correlation alerts and for events already stamped with one.
    pub correlation_id: Option<String>,
    /// Event time of the event that made the rule fire.
    pub triggered_at: Option<Timestamp>,
    /// Clock time when the engine raised the alert.
    pub detected_at: Option<Timestamp>,
    /// The event that made the rule fire.
    pub triggering_event: Option<EventId>,
    /// Events behind the alert (bounded; newest last).
    pub related_events: Vec<EventId>,
    /// Tenant, when the group is per tenant or the rule's events share one.
    pub tenant_id: Option<String>,
    /// The group's field values (`user`, `source_ip` …), copied onto the alert event.
    pub group_fields: Vec<(String, String)>,
    /// NIS2 incident reporting deadlines, for reportable alerts (`ESCALATE`, `CRITICAL`, and
    /// rules with `severity: high`/`critical` or `reportable: true`).
    pub nis2: Option<Nis2Timing>,
    /// Sigma rule id and tags (ATT&CK techniques …), for Sigma alerts.
    pub sigma_id: Option<String>,
    /// Sigma tags.
    pub tags: Vec<String>,
}

/// One alert: a rule fired.
///
/// ```
/// use siem_rules::{Alert, AlertContext, AlertKind, AlertLevel};
/// let alert = Alert::new("brute_force", AlertKind::Threshold, AlertLevel::Page, "10 failures", AlertContext::default());
/// let event = alert.to_event();
/// assert_eq!(event.event_type.as_str(), "alert.threshold");
/// assert_eq!(event.field_text("rule").as_deref(), Some("brute_force"));
/// assert_eq!(event.field_text("alert_level").as_deref(), Some("PAGE"));
/// assert_eq!(event.id, alert.id);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Unique id; the alert event carries the same id (SIEM de-duplication, OCSF
    /// `finding_info.uid`).
    pub id: EventId,
    /// The rule's name.
    pub rule: Arc<str>,
    /// Which part of the engine raised it.
    pub kind: AlertKind,
    /// How loud.
    pub level: AlertLevel,
    /// A one-line human-readable description.
    pub message: String,
    /// The rule's `action` (seed 003: `notify_security_team`, `block_user` …), for callbacks.
    pub action: Option<Arc<str>>,
    /// The facts behind it.
    pub context: AlertContext,
    /// Host, application and labels of the triggering event, copied onto the alert event.
    pub origin: Option<Origin>,
}

/// Where the triggering event came from (copied onto the alert event so destination filters
/// and SIEM searches see the same host, app and labels).
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// Emitting host.
    pub host: Arc<str>,
    /// Emitting application.
    pub app: Arc<str>,
    /// Static labels.
    pub labels: Arc<[(String, String)]>,
}

impl Origin {
    /// The origin of an event.
    ///
    /// ```
    /// use siem_event::{EventType, SecurityEvent};
    /// use siem_rules::Origin;
    /// let e = SecurityEvent::new(EventType::parse("auth.failure"), "x");
    /// assert_eq!(&*Origin::of(&e).host, &*e.host);
    /// ```
    pub fn of(event: &SecurityEvent) -> Origin {
        Origin {
            host: event.host.clone(),
            app: event.app.clone(),
            labels: event.labels.clone(),
        }
    }
}

impl Alert {
    /// A new alert with a fresh id and no origin.
    pub fn new(
        rule: impl Into<Arc<str>>,
        kind: AlertKind,
        level: AlertLevel,
        message: impl Into<String>,
        context: AlertContext,
    ) -> Alert {
        Alert {
            id: EventId::new(),
            rule: rule.into(),
            kind,
            level,
            message: message.into(),
            action: None,
            context,
            origin: None,
        }
    }

    /// The security event that reports this alert to the SIEMs: type `alert.<kind>`, severity
    /// from the level, the alert's id, and metadata fields `rule`, `alert_kind`, `alert_level`,
    /// `alert_level_value`, `count`, `threshold`, `suppressed`, `group`, `window_seconds`,
    /// `escalation_step`, `action`, `triggered_by`, `related_events`, `sigma_id`, `tags`, and
    /// for incidents `nis2_detected_at`, `nis2_early_warning_due`, `nis2_notification_due`,
    /// `nis2_final_report_due` (RFC 3339). Group fields named `user`, `source_ip`, `tenant_id`,
    /// `agent_id` fill the event's own fields; other group fields become metadata.
    pub fn to_event(&self) -> SecurityEvent {
        let c = &self.context;
        let mut e = SecurityEvent::new(self.kind.event_type(), self.message.clone());
        e.id = self.id;
        if let Some(t) = c.detected_at.or(c.triggered_at) {
            e.timestamp = t;
        }
        e.severity = self.level.severity();
        e.action = self.action.as_deref().map(str::to_owned);
        e.source = Some("siem-rules".to_owned());
        e.correlation_id = c.correlation_id.clone();
        e.tenant_id = c.tenant_id.clone();
        if let Some(o) = &self.origin {
            e.host = o.host.clone();
            e.app = o.app.clone();
            e.labels = o.labels.clone();
        }
        e.push_metadata("rule", self.rule.to_string());
        e.push_metadata("alert_kind", self.kind.as_str());
        e.push_metadata("alert_level", self.level.as_str());
        e.push_metadata("alert_level_value", u64::from(self.level.value()));
        e.push_metadata("count", c.count);
        e.push_metadata("threshold", c.threshold);
        e.push_metadata("suppressed", c.suppressed);
        e.push_metadata("group", c.group.clone());
        e.push_metadata("window_seconds", c.window.as_secs());
        e.push_metadata("escalation_step", u64::from(c.escalation_step));
        for (field, value) in &c.group_fields {
            match WellKnownField::from_name(field) {
                Some(WellKnownField::User) => e.actor.user = Some(value.clone()),
                Some(WellKnownField::SourceIp) => e.actor.source_ip = Some(value.clone()),
                Some(WellKnownField::TenantId) => e.tenant_id = Some(value.clone()),
                Some(WellKnownField::AgentId) => e.agent_id = Some(value.clone()),
                _ => e.metadata.push(siem_event::Field::new(
                    format!("group_{field}"),
                    Value::Str(value.clone()),
                )),
            }
        }
        if let Some(id) = c.triggering_event {
            e.push_metadata("triggered_by", id.to_string());
        }
        if !c.related_events.is_empty() {
            let ids: Vec<String> = c.related_events.iter().map(|id| id.to_string()).collect();
            e.push_metadata("related_events", ids.join(","));
        }
        if let Some(id) = &c.sigma_id {
            e.push_metadata("sigma_id", id.clone());
        }
        if !c.tags.is_empty() {
            e.push_metadata("tags", c.tags.join(","));
        }
        if let Some(n) = &c.nis2 {
            e.push_metadata("nis2_detected_at", n.detected_at.to_rfc3339());
            e.push_metadata("nis2_early_warning_due", n.early_warning_due.to_rfc3339());
            e.push_metadata("nis2_notification_due", n.notification_due.to_rfc3339());
            e.push_metadata("nis2_final_report_due", n.final_report_due.to_rfc3339());
        }
        e
    }
}

/// Renders a group key: `field=value` pairs joined by `,`, with `\`, `,` and `=` in values
/// escaped by `\`, so two different groups never render the same.
pub(crate) fn render_group(fields: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        push_group_pair(&mut out, i, k, v);
    }
    out
}

/// Appends the `index`-th `field=value` pair of a group key (see [`render_group`]).
fn push_group_pair(out: &mut String, index: usize, field: &str, value: &str) {
    if index > 0 {
        out.push(',');
    }
    out.push_str(field);
    out.push('=');
    for ch in value.chars() {
        if matches!(ch, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rendering_cannot_be_forged() {
        let a = render_group(&[("user".into(), "a,source_ip=1".into())]);
        let b = render_group(&[
            ("user".into(), "a".into()),
            ("source_ip".into(), "1".into()),
        ]);
        assert_ne!(a, b);
        assert_eq!(a, "user=a\\,source_ip\\=1");
    }

    #[test]
    fn incident_event_carries_deadlines() {
        let detected = Timestamp::from_unix_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        let ctx = AlertContext {
            nis2: Some(Nis2Timing::from_detection(detected)),
            detected_at: Some(detected),
            group_fields: vec![
                ("user".into(), "alice".into()),
                ("region".into(), "eu".into()),
            ],
            ..AlertContext::default()
        };
        let a = Alert::new("r", AlertKind::Correlation, AlertLevel::Critical, "m", ctx);
        let e = a.to_event();
        assert_eq!(e.severity, siem_event::Severity::Critical);
        assert_eq!(e.timestamp, detected);
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.field_text("group_region").as_deref(), Some("eu"));
        assert_eq!(
            e.field_text("nis2_notification_due").as_deref(),
            Some("2026-01-04T00:00:00.000000Z")
        );
        assert_eq!(
            e.field_text("nis2_final_report_due").as_deref(),
            Some("2026-02-01T00:00:00.000000Z")
        );
        assert_eq!(e.event_type.category(), "alert");
    }
}
