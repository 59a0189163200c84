//! Seed 000's attack patterns: detection, id formats, stamping, lookup and bounds.

mod common;

use common::{event, Harness, T0};
use siem_event::{SecurityEvent, Severity};
use siem_rules::{AlertKind, AlertLevel};

fn harness() -> Harness {
    Harness::yaml("defaults: false\ncorrelation: {window: 300}")
}

fn sev(ty: &str, at: i64, severity: Severity) -> SecurityEvent {
    let mut e = event(ty, at);
    e.severity = severity;
    e
}

fn tenant_event(tenant: &str, at: i64, severity: Severity) -> SecurityEvent {
    let mut e = sev("authz.tenant_violation", at, severity);
    e.tenant_id = Some(tenant.to_owned());
    e
}

#[test]
fn tenant_attack_at_three_high_events() {
    let mut h = harness();
    let (first, a) = h.feed_keep(tenant_event("tenant-123", T0, Severity::High));
    assert!(a.is_empty() && first.correlation_id.is_none());
    // medium events and other tenants do not count
    assert!(h
        .feed(tenant_event("tenant-123", T0 + 1, Severity::Medium))
        .is_empty());
    assert!(h
        .feed(tenant_event("tenant-999", T0 + 2, Severity::Critical))
        .is_empty());
    assert!(h
        .feed(tenant_event("tenant-123", T0 + 3, Severity::Critical))
        .is_empty());
    let (third, alerts) = h.feed_keep(tenant_event("tenant-123", T0 + 4, Severity::High));
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    let id = format!("tenant_attack:tenant-123:{}", T0 + 4);
    assert_eq!(a.kind, AlertKind::Correlation);
    assert_eq!(a.rule.as_ref(), "tenant_attack");
    assert_eq!(a.level, AlertLevel::Escalate);
    assert_eq!(a.context.correlation_id.as_deref(), Some(id.as_str()));
    assert_eq!(a.context.tenant_id.as_deref(), Some("tenant-123"));
    assert_eq!(a.context.count, 3);
    assert!(a.context.nis2.is_some());
    assert_eq!(
        third.correlation_id.as_deref(),
        Some(id.as_str()),
        "stamped before shipping"
    );
    assert_eq!(a.to_event().correlation_id.as_deref(), Some(id.as_str()));
    assert_eq!(a.to_event().tenant_id.as_deref(), Some("tenant-123"));
    // the lookup holds the three events behind it
    let related = h.engine.correlated_events(&id);
    assert_eq!(related.len(), 3);
    assert!(related.iter().any(|s| s.id == first.id));
    // a fourth joins the same correlation without a new alert
    let (fourth, more) = h.feed_keep(tenant_event("tenant-123", T0 + 10, Severity::High));
    assert!(more.is_empty());
    assert_eq!(fourth.correlation_id.as_deref(), Some(id.as_str()));
    assert_eq!(h.engine.correlated_events(&id).len(), 4);
    assert_eq!(h.engine.metrics().correlations_detected, 1);
}

#[test]
fn tenant_attack_needs_the_events_inside_the_window() {
    let mut h = harness();
    h.feed(tenant_event("t", T0, Severity::High));
    h.feed(tenant_event("t", T0 + 100, Severity::High));
    assert!(
        h.feed(tenant_event("t", T0 + 300, Severity::High))
            .is_empty(),
        "the first left the window"
    );
    assert_eq!(h.feed(tenant_event("t", T0 + 301, Severity::High)).len(), 1);
}

#[test]
fn distributed_attack_needs_distinct_agents() {
    let mut h = harness();
    let agent_event = |agent: &str, at: i64| {
        let mut e = sev("auth.failure", at, Severity::Medium);
        e.agent_id = Some(agent.to_owned());
        e
    };
    assert!(h.feed(agent_event("agent-1", T0)).is_empty());
    assert!(
        h.feed(agent_event("agent-1", T0 + 1)).is_empty(),
        "same agent twice is one"
    );
    assert!(h.feed(agent_event("agent-2", T0 + 2)).is_empty());
    let mut other_type = agent_event("agent-3", T0 + 3);
    other_type.event_type = siem_event::EventType::parse("authz.access_denied");
    assert!(
        h.feed(other_type).is_empty(),
        "a different type does not count"
    );
    let (e, alerts) = h.feed_keep(agent_event("agent-3", T0 + 4));
    assert_eq!(alerts.len(), 1);
    let id = format!("distributed_attack:auth.failure:{}", T0 + 4);
    assert_eq!(alerts[0].rule.as_ref(), "distributed_attack");
    assert_eq!(
        alerts[0].context.correlation_id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(alerts[0].context.count, 3, "distinct agents");
    assert_eq!(alerts[0].context.group, "event_type=auth.failure");
    assert_eq!(e.correlation_id.as_deref(), Some(id.as_str()));
    assert_eq!(h.engine.correlated_events(&id).len(), 4);
}

#[test]
fn escalating_attack_on_rising_severity() {
    let mut h = harness();
    let mut t = T0;
    let mut feed = |h: &mut Harness, s: Severity| {
        t += 1;
        h.feed_keep(sev("security.suspicious_activity", t, s))
    };
    assert!(feed(&mut h, Severity::Low).1.is_empty());
    assert!(
        feed(&mut h, Severity::Info).1.is_empty(),
        "info is not looked at"
    );
    assert!(feed(&mut h, Severity::Low).1.is_empty());
    assert!(feed(&mut h, Severity::Medium).1.is_empty());
    let (e, alerts) = feed(&mut h, Severity::High);
    assert_eq!(alerts.len(), 1);
    let id = format!("escalating_attack:severity:{}", T0 + 5);
    assert_eq!(alerts[0].rule.as_ref(), "escalating_attack");
    assert_eq!(alerts[0].level, AlertLevel::Page);
    assert_eq!(e.correlation_id.as_deref(), Some(id.as_str()));
    // a later critical event joins it
    let (later, none) = feed(&mut h, Severity::Critical);
    assert!(none.is_empty());
    assert_eq!(later.correlation_id.as_deref(), Some(id.as_str()));
}

#[test]
fn flat_or_falling_severity_is_not_escalating() {
    let mut h = harness();
    for (i, s) in [
        Severity::High,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::High,
        Severity::High,
    ]
    .into_iter()
    .enumerate()
    {
        assert!(h.feed(sev("x.y", T0 + i as i64, s)).is_empty(), "event {i}");
    }
    // the rising pair must be within the last 10 events
    let mut h = harness();
    h.feed(sev("x.y", T0, Severity::Low));
    h.feed(sev("x.y", T0 + 1, Severity::Medium));
    for i in 0..9 {
        h.feed(sev("x.y", T0 + 2 + i, Severity::Critical));
    }
    // now Low and Medium have left the last 10; Critical → Critical is not rising
    assert!(h.feed(sev("x.y", T0 + 20, Severity::Critical)).is_empty());
}

#[test]
fn an_existing_correlation_id_is_kept() {
    let mut h = harness();
    for i in 0..2 {
        h.feed(tenant_event("t", T0 + i, Severity::High));
    }
    let mut e = tenant_event("t", T0 + 2, Severity::High);
    e.correlation_id = Some("upstream-trace-42".into());
    let (e, alerts) = h.feed_keep(e);
    assert_eq!(alerts.len(), 1);
    assert_eq!(e.correlation_id.as_deref(), Some("upstream-trace-42"));
    assert!(alerts[0]
        .context
        .correlation_id
        .as_deref()
        .unwrap()
        .starts_with("tenant_attack:t:"));
}

#[test]
fn hostile_tenant_ids_cannot_forge_id_parts() {
    let mut h = harness();
    let tenant = "evil:escalating_attack:severity\n1";
    for i in 0..3 {
        h.feed(tenant_event(tenant, T0 + i, Severity::High));
    }
    let (e, _) = h.feed_keep(tenant_event(tenant, T0 + 3, Severity::High));
    let id = e.correlation_id.unwrap();
    assert_eq!(
        id,
        format!(
            "tenant_attack:evil%3Aescalating_attack%3Aseverity%0A1:{}",
            T0 + 2
        )
    );
    assert_eq!(id.split(':').count(), 3);
    let huge = "t".repeat(1 << 20);
    for i in 0..3 {
        h.feed(tenant_event(&huge, T0 + 10 + i, Severity::High));
    }
    let (e, _) = h.feed_keep(tenant_event(&huge, T0 + 14, Severity::High));
    assert!(e.correlation_id.unwrap().len() < 200);
}

#[test]
fn correlation_can_be_switched_off() {
    let mut h = Harness::yaml("defaults: false\ncorrelation: {enabled: false}");
    for i in 0..5 {
        assert!(h
            .feed(tenant_event("t", T0 + i, Severity::Critical))
            .is_empty());
    }
}

#[test]
fn correlation_state_is_bounded_under_a_flood_of_tenants() {
    let mut h = Harness::yaml("defaults: false\nmax_groups: 500");
    for i in 0..20_000 {
        h.feed(tenant_event(&format!("tenant{i}"), T0 + 1, Severity::High));
    }
    let m = h.engine.metrics();
    assert!(m.groups_tracked <= 1_100, "{}", m.groups_tracked);
    assert!(m.groups_evicted > 19_000, "{}", m.groups_evicted);
    assert_eq!(m.correlations_detected, 0);
}

#[test]
fn quiet_tenants_are_forgotten() {
    let mut h = harness();
    for i in 0..100 {
        h.feed(tenant_event(&format!("t{i}"), T0, Severity::High));
    }
    assert!(h.engine.metrics().groups_tracked >= 100);
    h.feed(tenant_event("late", T0 + 700, Severity::High));
    assert_eq!(h.engine.metrics().groups_tracked, 1);
    assert_eq!(h.engine.metrics().groups_evicted, 0);
}
