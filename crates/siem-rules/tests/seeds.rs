//! The seeds' scenarios replayed end to end: seed 004's counter reset and reportable rules,
//! seed 000's cooldown, attack patterns and `alert_states`.

mod common;

use common::{event, failure, Harness, T0};
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp};
use siem_rules::{AlertLevel, IncidentStatus};

/// Seed 004's `config.yaml` alerting rules, verbatim.
const SEED_004_RULES: &str = r#"
defaults: false
correlation: {enabled: false}
alerts:
  - name: "Multiple failed logins"
    condition: "event_type=authentication AND result=failure"
    threshold: 5
    window_seconds: 300
    severity: high
  - name: "Circuit breaker open"
    condition: "event_type=availability AND action=circuit_breaker_open"
    threshold: 1
    window_seconds: 60
    severity: critical
  - name: "Unauthorized access attempts"
    condition: "event_type=authorization AND result=denied"
    threshold: 3
    window_seconds: 300
    severity: medium
  - name: "Configuration changes"
    condition: "event_type=configuration AND action=modify"
    threshold: 1
    window_seconds: 1
    severity: medium
"#;

/// A seed 004 log record: `event_type` category, `result`, `action`.
fn seed_004(category: &str, result: Outcome, action: &str, at: i64) -> SecurityEvent {
    let mut e = event(category, at);
    e.outcome = result;
    e.event_type = EventType::parse_with_outcome(category, result);
    e.action = Some(action.to_owned());
    e
}

#[test]
fn seed_004_alerts_on_the_fifth_and_tenth_failure_inside_the_window() {
    let mut h = Harness::yaml(SEED_004_RULES);
    let mut fired_at = Vec::new();
    for i in 1..=14 {
        // 14 failures 20 s apart: all inside one 300 s window.
        let e = seed_004("authentication", Outcome::Failure, "login", T0 + i * 20);
        for a in h.feed(e) {
            assert_eq!(a.rule.as_ref(), "Multiple failed logins");
            assert_eq!(
                a.context.count, 5,
                "the count starts again after each alert"
            );
            assert_eq!(a.context.suppressed, 0, "nothing is silenced");
            fired_at.push(i);
        }
    }
    assert_eq!(fired_at, [5, 10]);
    // the 15th makes the third five
    let third = h.feed(seed_004(
        "authentication",
        Outcome::Failure,
        "login",
        T0 + 300,
    ));
    assert_eq!(third.len(), 1);
}

#[test]
fn seed_000_defaults_keep_their_cooldown_instead() {
    let mut h = Harness::yaml("correlation: {enabled: false}");
    let mut fired_at = Vec::new();
    for i in 1..=25 {
        if !h.feed(failure("alice", T0 + i * 5)).is_empty() {
            fired_at.push(i);
        }
    }
    // authentication_failure: 10 in 300 s, cooldown 600 s: one alert, the rest counted.
    assert_eq!(fired_at, [10]);
    h.clock.set(Timestamp::from_unix_secs(T0 + 50 + 600));
    let after = h.feed(failure("alice", T0 + 50 + 600));
    assert!(after.is_empty(), "the window emptied meanwhile");
}

#[test]
fn seed_004_reportable_rules_carry_the_24_hour_deadline_and_open_an_incident() {
    let mut h = Harness::yaml(SEED_004_RULES);
    let breaker = seed_004("availability", Outcome::Unknown, "circuit_breaker_open", T0);
    let critical = h.feed(breaker);
    assert_eq!(critical[0].level, AlertLevel::Critical);
    let nis2 = critical[0]
        .context
        .nis2
        .expect("critical rules are reportable");
    assert_eq!(nis2.early_warning_due.unix_secs(), T0 + 24 * 3600);

    let mut high = Vec::new();
    for i in 1..=5 {
        high = h.feed(seed_004(
            "authentication",
            Outcome::Failure,
            "login",
            T0 + i,
        ));
    }
    assert_eq!(high[0].level, AlertLevel::Page, "seed 004's high is PAGE");
    let nis2 = high[0].context.nis2.expect("high rules are reportable");
    assert_eq!(nis2.early_warning_due.unix_secs(), T0 + 5 + 24 * 3600);
    let event = high[0].to_event();
    assert!(event.field_text("nis2_early_warning_due").is_some());

    let mut medium = Vec::new();
    for i in 1..=3 {
        medium = h.feed(seed_004(
            "authorization",
            Outcome::Denied,
            "access",
            T0 + 10 + i,
        ));
    }
    assert_eq!(medium.len(), 1);
    assert!(medium[0].context.nis2.is_none(), "medium is operational");

    let incidents = h.engine.incidents();
    assert_eq!(incidents.len(), 2);
    let logins = &incidents[1];
    assert_eq!(logins.rule, "Multiple failed logins");
    assert_eq!(logins.first_seen.unix_secs(), T0 + 5);
    assert_eq!(logins.deadline.unix_secs(), T0 + 5 + 24 * 3600);
    assert_eq!(logins.events.len(), 5);
    assert_eq!(logins.status, IncidentStatus::Due);
    assert_eq!(h.engine.pending_incidents(), (2, 0));

    // five more failures join the open incident
    for i in 6..=10 {
        h.feed(seed_004(
            "authentication",
            Outcome::Failure,
            "login",
            T0 + i,
        ));
    }
    let logins = &h.engine.incidents()[1];
    assert_eq!((logins.alerts, logins.events.len()), (2, 10));

    // a day later nobody has sent the early warning for the breaker
    h.clock.set(Timestamp::from_unix_secs(T0 + 24 * 3600 + 1));
    assert_eq!(h.engine.incidents()[0].status, IncidentStatus::Overdue);
    let breaker_id = h.engine.incidents()[0].id.clone();
    assert!(h.engine.incident_notified(&breaker_id));
    assert_eq!(h.engine.incidents()[0].status, IncidentStatus::Notified);
    assert_eq!(
        h.engine.pending_incidents(),
        (1, 0),
        "the logins' deadline is 5 s later"
    );
}

#[test]
fn an_explicit_reportable_flag_wins() {
    let mut h = Harness::yaml(
        "defaults: false\nalerts:\n  - {name: quiet, event_type: x.y, severity: critical, reportable: false}\n  - {name: loud, event_type: x.y, level: NOTIFY, reportable: true}\n",
    );
    let alerts = h.feed(event("x.y", T0));
    let nis2 = |rule: &str| {
        alerts
            .iter()
            .find(|a| a.rule.as_ref() == rule)
            .unwrap()
            .context
            .nis2
            .is_some()
    };
    assert!(!nis2("quiet") && nis2("loud"));
}

#[test]
fn distributed_attack_counts_events_of_any_severity() {
    let mut h = Harness::yaml("defaults: false\ncorrelation: {window: 300}");
    let mut alerts = Vec::new();
    for (i, agent) in ["agent-1", "agent-2", "agent-3"].into_iter().enumerate() {
        let mut e = event("agent.heartbeat_missed", T0 + i as i64);
        e.severity = Severity::Info;
        e.agent_id = Some(agent.to_owned());
        alerts = h.feed(e);
    }
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule.as_ref(), "distributed_attack");
    assert_eq!(
        alerts[0].context.correlation_id.as_deref(),
        Some(format!("distributed_attack:agent.heartbeat_missed:{}", T0 + 2).as_str())
    );
}

/// Low, Medium, `flat` Medium events, then High: rising Low → Medium → High only when Low is
/// among the last ten events counting the High one.
fn escalation_after(flat: i64) -> usize {
    let mut h = Harness::yaml("defaults: false\ncorrelation: {window: 300}");
    let mut at = T0;
    let mut feed = |h: &mut Harness, s: Severity| {
        at += 1;
        let mut e = event("security.suspicious_activity", at);
        e.severity = s;
        h.feed(e).len()
    };
    feed(&mut h, Severity::Low);
    feed(&mut h, Severity::Medium);
    for _ in 0..flat {
        feed(&mut h, Severity::Medium);
    }
    feed(&mut h, Severity::High)
}

#[test]
fn escalating_attack_looks_at_the_last_ten_events_including_the_current_one() {
    assert_eq!(escalation_after(7), 1, "Low is the 10th event back");
    assert_eq!(escalation_after(8), 0, "Low is the 11th event back");
}

#[test]
fn alert_states_show_count_last_alert_level_and_cooldown() {
    let mut h = Harness::yaml("correlation: {enabled: false}");
    for i in 1..=12 {
        h.feed(failure("alice", T0 + i));
    }
    let states = h.engine.alert_states();
    assert_eq!(states.len(), 8, "one per default rule");
    let auth = states
        .iter()
        .find(|s| s.rule == "authentication_failure")
        .unwrap();
    assert_eq!(
        auth.count_in_window, 10,
        "counts are kept up to what the rule needs"
    );
    assert_eq!(auth.threshold, 10);
    assert_eq!(auth.window.as_secs(), 300);
    assert_eq!(auth.level, AlertLevel::Page);
    assert_eq!(auth.last_alert.map(|t| t.unix_secs()), Some(T0 + 10));
    assert_eq!(
        auth.cooldown_until.map(|t| t.unix_secs()),
        Some(T0 + 10 + 600)
    );
    let idle = states
        .iter()
        .find(|s| s.rule == "tenant_violation")
        .unwrap();
    assert_eq!(idle.count_in_window, 0);
    assert!(idle.last_alert.is_none() && idle.cooldown_until.is_none());
    // once the cooldown is over it is no longer shown
    h.clock.set(Timestamp::from_unix_secs(T0 + 10 + 600));
    let auth = h
        .engine
        .alert_states()
        .into_iter()
        .find(|s| s.rule == "authentication_failure");
    assert!(auth.unwrap().cooldown_until.is_none());
}
