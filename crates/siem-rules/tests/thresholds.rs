//! Threshold rules through the public API: thresholds, sliding windows, cooldown, escalation,
//! re-alert, group isolation, the seed 000 defaults and bounded state.

mod common;

use common::{event, failure, Harness, T0};
use siem_event::SecurityEvent;
use siem_rules::{AlertKind, AlertLevel, RulesConfig};

fn brute_force(extra: &str) -> Harness {
    Harness::yaml(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nalerts:\n  - name: brute\n    event_type: auth.failure\n    threshold: 5\n    window: 60s\n    group_by: [user]\n    level: PAGE\n{extra}"
    ))
}

#[test]
fn fires_at_not_below_the_threshold() {
    let mut h = brute_force("");
    for i in 0..4 {
        assert!(
            h.feed(failure("alice", T0 + i)).is_empty(),
            "event {} is below",
            i + 1
        );
    }
    let alerts = h.feed(failure("alice", T0 + 4));
    assert_eq!(alerts.len(), 1, "the 5th event reaches 5");
    let a = &alerts[0];
    assert_eq!(a.kind, AlertKind::Threshold);
    assert_eq!(a.level, AlertLevel::Page);
    assert_eq!(a.context.count, 5);
    assert_eq!(a.context.threshold, 5);
    assert_eq!(a.context.group, "user=alice");
    assert_eq!(a.context.related_events.len(), 5);
    assert!(a.context.nis2.is_none(), "PAGE is not an incident level");
    // above the threshold, inside the cooldown (default: the window): suppressed, counted
    assert!(h.feed(failure("alice", T0 + 5)).is_empty());
    assert_eq!(h.engine.metrics().alerts_triggered, 1);
}

#[test]
fn seed_003_count_is_strictly_greater() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: Multiple Auth Failures\n    condition: \"event_type == 'auth.failure' AND count > 5 in 5m\"\n    severity: high\n    action: notify_security_team\n",
    );
    for i in 0..5 {
        assert!(
            h.feed(failure("u", T0 + i)).is_empty(),
            "count > 5 needs six"
        );
    }
    let alerts = h.feed(failure("u", T0 + 5));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].level,
        AlertLevel::Page,
        "severity high maps to PAGE"
    );
    assert_eq!(alerts[0].action.as_deref(), Some("notify_security_team"));
    let e = alerts[0].to_event();
    assert_eq!(e.action.as_deref(), Some("notify_security_team"));
    assert_eq!(e.field_text("count").as_deref(), Some("6"));
}

#[test]
fn seed_004_threshold_and_window_seconds() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: Multiple failed logins\n    condition: \"event_type=authentication AND result=failure\"\n    threshold: 5\n    window_seconds: 300\n    severity: high\n",
    );
    let mut success = event("authentication", T0);
    success.outcome = siem_event::Outcome::Success;
    success.event_type =
        siem_event::EventType::parse_with_outcome("authentication", success.outcome);
    for i in 0..10 {
        let mut s = success.clone();
        s.timestamp = siem_event::Timestamp::from_unix_secs(T0 + i);
        assert!(h.feed(s).is_empty(), "successes never count");
    }
    let mut fired = 0;
    for i in 0..5 {
        let mut f = event("authentication", T0 + 100 + i * 60);
        f.outcome = siem_event::Outcome::Failure;
        f.event_type = siem_event::EventType::parse_with_outcome("authentication", f.outcome);
        fired += h.feed(f).len();
    }
    assert_eq!(fired, 1, "five failures over 240 s are inside 300 s");
}

#[test]
fn the_window_slides_across_a_bucket_boundary() {
    // 3 events just before the hour and 2 just after: a fixed hourly (or minutely) bucket
    // sees 3 and 2; the sliding 60 s window sees 5.
    let mut h = brute_force("");
    for t in [T0 - 20, T0 - 10, T0 - 1, T0] {
        assert!(h.feed(failure("alice", t)).is_empty());
    }
    assert_eq!(h.feed(failure("alice", T0 + 10)).len(), 1);
}

#[test]
fn events_leave_the_window() {
    let mut h = brute_force("");
    for t in [T0, T0 + 10, T0 + 20, T0 + 30] {
        assert!(h.feed(failure("alice", t)).is_empty());
    }
    // 60 s after the first event, it has left the window: still four
    assert!(h.feed(failure("alice", T0 + 60)).is_empty());
    // 59 s after the second: five inside
    assert_eq!(h.feed(failure("alice", T0 + 69)).len(), 1);
}

#[test]
fn cooldown_suppresses_then_reports_the_suppressed_count() {
    let mut h = brute_force("    cooldown: 10m\n");
    let mut t = T0;
    let mut alerts = Vec::new();
    for _ in 0..5 {
        alerts.extend(h.feed(failure("alice", t)));
        t += 1;
    }
    assert_eq!(alerts.len(), 1);
    // one every 10 s for the next 9 minutes: the 60 s window stays above the threshold, and
    // every one of them is inside the cooldown
    let mut silenced = 0;
    t = T0 + 14;
    while t < T0 + 4 + 600 {
        assert!(h.feed(failure("alice", t)).is_empty(), "at {}", t - T0);
        silenced += 1;
        t += 10;
    }
    assert_eq!(silenced, 59);
    // when the cooldown ends, with the window still full, the next event alerts again
    let again = h.feed(failure("alice", T0 + 4 + 600));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].context.suppressed, 59);
    assert!(
        again[0].message.contains("59 suppressed"),
        "{}",
        again[0].message
    );
    assert_eq!(
        again[0].to_event().field_text("suppressed").as_deref(),
        Some("59")
    );
}

#[test]
fn cooldown_runs_on_the_clock_not_on_event_time() {
    let mut h = brute_force("    cooldown: 10m\n");
    for i in 0..5 {
        h.feed(failure("alice", T0 + i));
    }
    // a late batch: event time far ahead, but the clock has not moved past the cooldown
    let mut late = failure("alice", T0 + 3600);
    h.clock.set(siem_event::Timestamp::from_unix_secs(T0 + 60));
    for i in 0..5 {
        late.timestamp = siem_event::Timestamp::from_unix_secs(T0 + 3600 + i);
        late.id = siem_event::EventId::new();
        assert!(h.engine.process(&mut late.clone()).is_empty());
    }
    h.clock.set(siem_event::Timestamp::from_unix_secs(T0 + 700));
    late.timestamp = siem_event::Timestamp::from_unix_secs(T0 + 3606);
    assert_eq!(h.engine.process(&mut late).len(), 1);
}

#[test]
fn escalation_multiplier_raises_the_level_during_the_cooldown() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: brute\n    event_type: auth.failure\n    threshold: 5\n    window: 10m\n    group_by: [user]\n    level: PAGE\n    cooldown: 10m\n    escalation_multiplier: 2\n",
    );
    let mut levels = Vec::new();
    for i in 0..25 {
        for a in h.feed(failure("alice", T0 + i)) {
            levels.push((i + 1, a.level, a.context.escalation_step));
        }
    }
    // 5 → PAGE; 10 (5×2) → ESCALATE; 20 (5×4) → CRITICAL; then nothing higher to reach
    assert_eq!(
        levels,
        [
            (5, AlertLevel::Page, 0),
            (10, AlertLevel::Escalate, 1),
            (20, AlertLevel::Critical, 2)
        ]
    );
    let escalated = h.feed(failure("alice", T0 + 26));
    assert!(escalated.is_empty());
}

#[test]
fn escalated_alerts_carry_nis2_deadlines() {
    let mut h = brute_force("    cooldown: 10m\n    escalation_multiplier: 2\n");
    let mut last = None;
    for i in 0..10 {
        if let Some(a) = h.feed(failure("alice", T0 + i)).pop() {
            last = Some(a);
        }
    }
    let a = last.expect("escalated at 10");
    assert_eq!(a.level, AlertLevel::Escalate);
    let nis2 = a.context.nis2.expect("incident timing");
    assert_eq!(nis2.detected_at.unix_secs(), T0 + 9);
    assert_eq!(nis2.early_warning_due.unix_secs(), T0 + 9 + 24 * 3600);
    assert_eq!(nis2.notification_due.unix_secs(), T0 + 9 + 72 * 3600);
    let e = a.to_event();
    assert_eq!(
        e.field_text("nis2_final_report_due").as_deref(),
        Some("2026-02-01T00:00:09.000000Z")
    );
    assert_eq!(e.severity, siem_event::Severity::High);
}

#[test]
fn exponential_realert_follows_elastalert() {
    // threshold 1 so each event is a would-be alert; base 10 min, cap 1 h
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: admin_login\n    event_type: auth.success\n    realert: {base: 10m, max: 1h}\n",
    );
    let at = |min: i64| event("auth.success", T0 + min * 60);
    let fired = |h: &mut Harness, min: i64| !h.feed(at(min)).is_empty();
    assert!(fired(&mut h, 0), "1:00 alerts; silent until 1:10");
    assert!(!fired(&mut h, 9));
    let second = h.feed(at(15));
    assert_eq!(
        second.len(),
        1,
        "1:15 alerts; within 2x, so silent until 1:35"
    );
    assert_eq!(second[0].context.suppressed, 1, "the event at 1:09");
    assert!(!fired(&mut h, 34));
    assert!(
        fired(&mut h, 35),
        "1:35 alerts; silent for 40 min, until 2:15"
    );
    assert!(!fired(&mut h, 74));
    assert!(
        fired(&mut h, 75),
        "2:15 alerts; 80 min would pass the cap: 1 h, until 3:15"
    );
    assert!(!fired(&mut h, 134));
    let back = h.feed(at(135));
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].context.suppressed, 1,
        "only the event at 3:14 since the last alert"
    );
}

#[test]
fn groups_are_isolated() {
    let mut h = brute_force("");
    for i in 0..4 {
        assert!(h.feed(failure("alice", T0 + i)).is_empty());
        assert!(h.feed(failure("bob", T0 + i)).is_empty());
    }
    let a = h.feed(failure("alice", T0 + 5));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].context.group, "user=alice");
    assert_eq!(a[0].to_event().actor.user.as_deref(), Some("alice"));
    // bob is still at four
    let mut missing = failure("x", T0 + 6);
    missing.actor.user = None;
    for _ in 0..4 {
        assert!(h.feed(missing.clone()).is_empty());
    }
    let m = h.feed(missing);
    assert_eq!(
        m[0].context.group, "user=_missing",
        "a missing group field is its own group"
    );
    assert_eq!(h.feed(failure("bob", T0 + 7))[0].context.group, "user=bob");
}

#[test]
fn hostile_group_values_cannot_merge_groups() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: r\n    event_type: auth.failure\n    threshold: 2\n    group_by: [user, source_ip]\n",
    );
    let mut a = failure("a,source_ip=1", T0);
    a.actor.source_ip = Some("2".into());
    let mut b = failure("a", T0);
    b.actor.source_ip = Some("1,source_ip=2".into());
    assert!(h.feed(a.clone()).is_empty());
    assert!(
        h.feed(b).is_empty(),
        "different groups even though the values are crafted"
    );
    let fired = h.feed(a);
    assert_eq!(fired[0].context.group, "user=a\\,source_ip\\=1,source_ip=2");
}

/// Each seed 000 default at, just below and (inside its cooldown) above its threshold.
#[test]
fn every_seed_000_default() {
    let table = [
        (
            "constitutional_hash_mismatch",
            1,
            60,
            AlertLevel::Critical,
            60,
        ),
        ("prompt_injection_attempt", 3, 300, AlertLevel::Page, 300),
        ("tenant_violation", 5, 300, AlertLevel::Escalate, 600),
        ("rate_limit_exceeded", 50, 60, AlertLevel::Notify, 300),
        ("authentication_failure", 10, 300, AlertLevel::Page, 600),
        ("authorization_failure", 5, 300, AlertLevel::Notify, 300),
        ("anomaly_detected", 3, 600, AlertLevel::Escalate, 600),
        ("suspicious_pattern", 5, 300, AlertLevel::Notify, 300),
    ];
    for (name, count, window, level, cooldown) in table {
        let mut config = RulesConfig::default();
        config.correlation.enabled = false;
        let mut h = Harness::new(config);
        // spread the events over the window, the last one just inside it
        let step = (window - 1) / count;
        let mut t = T0;
        for _ in 0..count - 1 {
            assert!(h.feed(event(name, t)).is_empty(), "{name}: below {count}");
            t += step;
        }
        let alerts = h.feed(event(name, t));
        assert_eq!(alerts.len(), 1, "{name}: at {count}");
        assert_eq!(alerts[0].rule.as_ref(), name);
        assert_eq!(alerts[0].level, level, "{name}");
        assert_eq!(alerts[0].context.window.as_secs(), window as u64, "{name}");
        assert_eq!(
            alerts[0].context.nis2.is_some(),
            level.is_incident(),
            "{name}"
        );
        // above: suppressed until the cooldown ends, then alerts again
        assert!(h.feed(event(name, t + 1)).is_empty(), "{name}: in cooldown");
        // after the cooldown the window has emptied for most rules: a new burst refills it
        let burst_at = t + cooldown;
        let mut again = Vec::new();
        for _ in 0..count {
            again = h.feed(event(name, burst_at));
            if !again.is_empty() {
                break;
            }
        }
        assert_eq!(again.len(), 1, "{name}: alerts again after {cooldown}s");
        // a different type never counts
        assert!(h.feed(event("auth.success", t + 2)).is_empty());
    }
}

#[test]
fn defaults_can_be_switched_off_or_overridden() {
    let off = Harness::yaml("defaults: false");
    assert!(off.engine.rule_names().is_empty());
    let mut h = Harness::yaml(
        "correlation: {enabled: false}\nalerts:\n  - name: constitutional_hash_mismatch\n    event_type: integrity.hash_mismatch\n    threshold: 2\n    level: LOG\n",
    );
    assert_eq!(h.engine.rule_names().len(), 8);
    assert!(
        h.feed(event("constitutional_hash_mismatch", T0)).is_empty(),
        "override needs 2"
    );
    let a = h.feed(event("constitutional_hash_mismatch", T0 + 1));
    assert_eq!(a[0].level, AlertLevel::Log);
    // a disabled override removes the default
    let h = Harness::yaml(
        "alerts:\n  - name: rate_limit_exceeded\n    event_type: x\n    enabled: false\n",
    );
    assert!(!h.engine.rule_names().contains(&"rate_limit_exceeded"));
}

#[test]
fn level_none_rules_raise_nothing() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: quiet\n    event_type: auth.failure\n    level: NONE\n",
    );
    assert!(h.feed(failure("a", T0)).is_empty());
    assert_eq!(h.engine.metrics().alerts_triggered, 0);
}

#[test]
fn state_is_bounded_under_a_flood_of_distinct_users() {
    let mut h = Harness::yaml(
        "defaults: false\nmax_groups: 1000\ncorrelation: {enabled: false}\nalerts:\n  - name: brute\n    event_type: auth.failure\n    threshold: 3\n    window: 1h\n    group_by: [user]\n",
    );
    // one real attacker, then 50 000 one-off users inside the window
    for i in 0..2 {
        h.feed(failure("mallory", T0 + i));
    }
    for i in 0..50_000 {
        assert!(h.feed(failure(&format!("user{i}"), T0 + 2)).is_empty());
    }
    let m = h.engine.metrics();
    assert!(m.groups_tracked <= 1000, "tracked {}", m.groups_tracked);
    assert!(m.groups_evicted >= 49_000, "evicted {}", m.groups_evicted);
    assert_eq!(m.events_processed, 50_002);
    // a group that is seen again after eviction starts over: no false alert from stale state
    assert!(h.feed(failure("user0", T0 + 3)).is_empty());
}

#[test]
fn groups_whose_window_emptied_are_dropped_without_counting_evictions() {
    let mut h = Harness::yaml(
        "defaults: false\nmax_groups: 100\ncorrelation: {enabled: false}\nalerts:\n  - name: brute\n    event_type: auth.failure\n    threshold: 3\n    window: 1m\n    group_by: [user]\n",
    );
    for i in 0..100 {
        h.feed(failure(&format!("old{i}"), T0));
    }
    for i in 0..100 {
        h.feed(failure(&format!("new{i}"), T0 + 3600));
    }
    assert_eq!(h.engine.metrics().groups_evicted, 0);
}

#[test]
fn alert_events_are_not_fed_back() {
    let mut h = Harness::new(RulesConfig::default());
    let alert = h.feed(event("constitutional_hash_mismatch", T0)).remove(0);
    let mut as_event: SecurityEvent = alert.to_event();
    assert!(h.engine.process(&mut as_event).is_empty());
}

#[test]
fn quiet_groups_are_forgotten_once_their_window_has_passed() {
    let mut h = brute_force("    cooldown: 1m\n");
    for i in 0..200 {
        h.feed(failure(&format!("user{i}"), T0));
    }
    assert_eq!(h.engine.metrics().groups_tracked, 200);
    // one event two windows later sweeps the quiet groups away (none was evicted)
    h.feed(failure("late", T0 + 121));
    let m = h.engine.metrics();
    assert_eq!(m.groups_tracked, 1);
    assert_eq!(m.groups_evicted, 0);
}

#[test]
fn megabyte_group_values_are_kept_small_and_distinct() {
    let mut h = brute_force("");
    let big = "u".repeat(1 << 20);
    let mut bigger = big.clone();
    bigger.push('!');
    for i in 0..4 {
        assert!(h.feed(failure(&big, T0 + i)).is_empty());
        assert!(
            h.feed(failure(&bigger, T0 + i)).is_empty(),
            "a different user, even with a shared prefix"
        );
    }
    let a = h.feed(failure(&big, T0 + 5)).remove(0);
    assert!(a.context.group.len() < 200, "{}", a.context.group.len());
    assert!(a.context.group.starts_with("user=uuuu"));
}

#[test]
fn a_user_named_missing_is_not_the_missing_user() {
    let mut h = brute_force("");
    let mut absent = failure("x", T0);
    absent.actor.user = None;
    for i in 0..4 {
        let mut e = absent.clone();
        e.timestamp = siem_event::Timestamp::from_unix_secs(T0 + i);
        assert!(h.feed(e).is_empty());
    }
    assert!(
        h.feed(failure("_missing", T0 + 5)).is_empty(),
        "its own group, at one event"
    );
}
