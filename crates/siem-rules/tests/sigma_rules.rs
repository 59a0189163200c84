//! Sigma detection and correlation rules (SigmaHQ-style, written for application logs) loaded
//! from a rules directory and evaluated on our events.

mod common;

use std::path::Path;

use common::{event, failure, Harness, T0};
use siem_event::{EventType, Outcome, SecurityEvent};
use siem_rules::{AlertKind, AlertLevel, Engine, RulesConfig, RulesError};

fn harness_for(dir: &str) -> Harness {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    Harness::yaml(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}\n",
        dir.display().to_string()
    ))
}

/// SQL errors, admin API, logins (event_count, value_count) and recon (temporal).
fn harness() -> Harness {
    harness_for("sigma")
}

fn titles(alerts: &[siem_rules::Alert]) -> Vec<String> {
    alerts.iter().map(|a| a.rule.to_string()).collect()
}

#[test]
fn loads_every_rule_in_the_directory() {
    let h = harness();
    assert_eq!(h.engine.sigma_rule_count(), 9);
    assert_eq!(harness_for("sigma_chain").engine.sigma_rule_count(), 4);
}

#[test]
fn keyword_rule_matches_the_message_and_nothing_else() {
    let mut h = harness();
    let mut e = event("app.error", T0);
    e.message =
        "PG::SyntaxError: ERROR: unterminated quoted string; quoted string not properly terminated"
            .into();
    let alerts = h.feed(e);
    assert_eq!(titles(&alerts), ["Suspicious SQL Error Messages"]);
    let a = &alerts[0];
    assert_eq!(a.kind, AlertKind::Sigma);
    assert_eq!(a.level, AlertLevel::Page);
    assert_eq!(
        a.context.sigma_id.as_deref(),
        Some("8a670c6d-7189-4b1c-8017-a417ca84a086")
    );
    assert!(a.context.tags.contains(&"attack.t1190".to_string()));
    let ev = a.to_event();
    assert_eq!(ev.event_type.as_str(), "alert.sigma");
    assert_eq!(
        ev.field_text("tags").as_deref(),
        Some("attack.initial-access,attack.t1190")
    );
    // case-insensitive, as Sigma says
    let mut e = event("app.error", T0 + 1);
    e.message = "you have an error in your sql syntax near 'x'".into();
    assert_eq!(h.feed(e).len(), 1);
    let mut e = event("app.error", T0 + 2);
    e.message = "syntax is fine".into();
    assert!(h.feed(e).is_empty());
}

fn admin_call(ip: &str, agent: &str) -> SecurityEvent {
    let mut e = event("access.api_call", T0);
    e.target.resource = Some("/admin/users/42".into());
    e.actor.source_ip = Some(ip.into());
    e.actor.user_agent = Some(agent.into());
    e.push_metadata("auth_method", "bearer");
    e
}

#[test]
fn field_rule_with_modifiers_and_filters() {
    let mut h = harness();
    let alerts = h.feed(admin_call("203.0.113.50", "curl/8.5"));
    assert_eq!(
        titles(&alerts),
        ["Admin API Called With Token From Unexpected Network"]
    );
    assert_eq!(alerts[0].level, AlertLevel::Critical);
    assert!(
        alerts[0].context.nis2.is_some(),
        "critical alerts carry NIS2 timing"
    );
    assert!(
        h.feed(admin_call("10.1.2.3", "curl/8.5")).is_empty(),
        "cidr filter"
    );
    assert!(h.feed(admin_call("192.168.7.7", "curl/8.5")).is_empty());
    assert!(
        h.feed(admin_call("203.0.113.50", "kube-probe/1.29 healthz"))
            .is_empty(),
        "contains|all filter"
    );
    assert_eq!(
        h.feed(admin_call("203.0.113.50", "kube-probe/1.29")).len(),
        1,
        "contains|all needs both"
    );
    let mut not_admin = admin_call("203.0.113.50", "curl");
    not_admin.target.resource = Some("/api/admin/".into());
    assert!(h.feed(not_admin).is_empty(), "startswith");
    let mut other_auth = admin_call("203.0.113.50", "curl");
    other_auth.metadata.clear();
    other_auth.push_metadata("auth_method", "cookie");
    assert!(h.feed(other_auth).is_empty());
}

fn at(mut e: SecurityEvent, ip: &str) -> SecurityEvent {
    e.actor.source_ip = Some(ip.into());
    e
}

#[test]
fn event_count_correlation_at_below_and_above() {
    let mut h = harness();
    for i in 0..4 {
        let alerts = h.feed(at(failure("alice", T0 + i * 60), "198.51.100.1"));
        assert!(
            alerts.iter().all(|a| a.kind != AlertKind::SigmaCorrelation),
            "below 5"
        );
        assert!(
            alerts
                .iter()
                .all(|a| a.rule.as_ref() != "Failed Application Login"),
            "generate: false"
        );
    }
    let alerts = h.feed(at(failure("alice", T0 + 240), "198.51.100.1"));
    assert_eq!(titles(&alerts), ["Many Failed Logins For One User"]);
    let a = &alerts[0];
    assert_eq!(a.kind, AlertKind::SigmaCorrelation);
    assert_eq!(a.context.group, "user.name=alice");
    assert_eq!(a.context.count, 5);
    assert_eq!(a.context.window.as_secs(), 600);
    // another user's failures are their own group
    for i in 0..4 {
        assert!(h
            .feed(at(failure("bob", T0 + 250 + i), "198.51.100.1"))
            .is_empty());
    }
}

#[test]
fn event_count_window_slides_across_a_bucket_boundary() {
    let mut h = harness();
    // four failures in the ten minutes before the hour and one after: a fixed 10-minute
    // bucket sees 4 and 1, the sliding window sees 5
    for t in [-240, -180, -120, -60] {
        assert!(h
            .feed(at(failure("carol", T0 + t), "198.51.100.2"))
            .is_empty());
    }
    assert_eq!(
        h.feed(at(failure("carol", T0 + 10), "198.51.100.2")).len(),
        1
    );
}

#[test]
fn event_count_forgets_what_left_the_window() {
    let mut h = harness();
    for t in [0, 60, 120, 180] {
        assert!(h
            .feed(at(failure("frank", T0 + t), "198.51.100.3"))
            .is_empty());
    }
    // 661 s after the first: 0 and 60 are out, so 120, 180 and this one make three
    assert!(h
        .feed(at(failure("frank", T0 + 661), "198.51.100.3"))
        .is_empty());
    assert!(h
        .feed(at(failure("frank", T0 + 662), "198.51.100.3"))
        .is_empty());
    assert_eq!(
        h.feed(at(failure("frank", T0 + 663), "198.51.100.3")).len(),
        1
    );
}

#[test]
fn value_count_counts_distinct_users_per_address() {
    let mut h = harness();
    assert!(h.feed(at(failure("u1", T0), "203.0.113.9")).is_empty());
    assert!(
        h.feed(at(failure("u1", T0 + 1), "203.0.113.9")).is_empty(),
        "same user again"
    );
    assert!(h.feed(at(failure("u2", T0 + 2), "203.0.113.9")).is_empty());
    assert!(
        h.feed(at(failure("u3", T0 + 3), "198.51.100.7")).is_empty(),
        "another address"
    );
    let alerts = h.feed(at(failure("u3", T0 + 4), "203.0.113.9"));
    assert_eq!(titles(&alerts), ["Password Spraying From One Address"]);
    assert_eq!(alerts[0].context.group, "source.ip=203.0.113.9");
}

fn success(user: &str, at_secs: i64) -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse("auth.success"), "login ok");
    e.timestamp = siem_event::Timestamp::from_unix_secs(at_secs);
    e.outcome = Outcome::Success;
    e.actor.user = Some(user.into());
    e.actor.source_ip = Some("192.0.2.1".into());
    e
}

#[test]
fn temporal_ordered_needs_the_failures_before_the_success() {
    // here `many_failed_logins` only feeds the chain (generate: false), so it is silent
    let mut h = harness_for("sigma_chain");
    // success first, then the failures: no chain
    assert!(h.feed(success("dave", T0)).is_empty());
    let mut fired = Vec::new();
    for i in 0..5 {
        fired.extend(titles(
            &h.feed(at(failure("dave", T0 + 10 + i), "192.0.2.1")),
        ));
    }
    assert!(
        fired.is_empty(),
        "rules that only feed a correlation raise nothing: {fired:?}"
    );
    // now a success after the failures: the ordered chain fires
    let alerts = h.feed(success("dave", T0 + 30));
    assert_eq!(titles(&alerts), ["Failed Logins Followed By Success"]);
    assert_eq!(alerts[0].level, AlertLevel::Critical);
    // for another user, a success without the failures does nothing
    assert!(h.feed(success("erin", T0 + 31)).is_empty());
}

fn probe(ip: &str, at_secs: i64, action: Option<&str>, route: Option<&str>) -> SecurityEvent {
    let mut e = event("security.suspicious_activity", at_secs);
    e.actor.source_ip = Some(ip.into());
    e.action = action.map(str::to_owned);
    e.target.resource = route.map(str::to_owned);
    e
}

#[test]
fn temporal_in_any_order_within_the_timespan() {
    let mut h = harness();
    let first = h.feed(probe("198.51.100.9", T0, None, Some("/app/.env")));
    assert!(first.is_empty(), "{:?}", titles(&first));
    let alerts = h.feed(probe(
        "198.51.100.9",
        T0 + 100,
        Some("user_enumeration"),
        None,
    ));
    assert_eq!(titles(&alerts), ["Reconnaissance From One Address"]);
    // too far apart: the first one has left the 5-minute window
    assert!(h
        .feed(probe("198.51.100.10", T0, Some("user_enumeration"), None))
        .is_empty());
    assert!(h
        .feed(probe("198.51.100.10", T0 + 400, None, Some("/.git/config")))
        .is_empty());
    // one address doing both halves is needed, not two addresses
    assert!(h
        .feed(probe(
            "198.51.100.11",
            T0 + 500,
            Some("user_enumeration"),
            None
        ))
        .is_empty());
    assert!(h
        .feed(probe("198.51.100.12", T0 + 501, None, Some("/.env")))
        .is_empty());
}

#[test]
fn broken_sigma_files_are_reported_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: Bad\nlogsource: {category: x}\ndetection:\n  sel: {a|nosuchmodifier: 1}\n  condition: sel\n",
    )
    .unwrap();
    let config: RulesConfig =
        yaml_serde::from_str(&format!("rules_dir: {:?}", dir.path())).unwrap();
    let err = Engine::new(&config).unwrap_err();
    assert!(matches!(err, RulesError::File { .. }), "{err}");
    assert!(err.to_string().contains("bad.yml"), "{err}");
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: Dangling\ncorrelation: {type: event_count, rules: [nope], group-by: [user], timespan: 5m, condition: {gte: 2}}\n",
    )
    .unwrap();
    let err = Engine::new(&config).unwrap_err();
    assert!(
        err.to_string().contains("nope") || err.to_string().contains("Sigma"),
        "{err}"
    );
}

#[test]
fn sigma_cooldown_silences_and_counts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma");
    let mut h = Harness::yaml(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nsigma: {{cooldown: 1m}}\nrules_dir: {:?}\n",
        dir.display().to_string()
    ));
    let sql_error = |at: i64| {
        let mut e = event("app.error", at);
        e.message = "You have an error in your SQL syntax".into();
        e
    };
    assert_eq!(h.feed(sql_error(T0)).len(), 1);
    for i in 1..5 {
        assert!(
            h.feed(sql_error(T0 + i * 10)).is_empty(),
            "inside the cooldown"
        );
    }
    let again = h.feed(sql_error(T0 + 60));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].context.suppressed, 4);
}

#[test]
fn sigma_filter_documents_tune_rules_without_editing_them() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma/app_sql_errors.yml");
    std::fs::copy(rules, dir.path().join("app_sql_errors.yml")).unwrap();
    std::fs::write(
        dir.path().join("tuning.yml"),
        "title: CI runners run SQL fuzzers on purpose\nid: 0b7a3f4e-5a9c-4b1e-8d2f-1c3e5a7b9d01\nlogsource: {category: application, product: sql}\nfilter:\n  rules:\n    - 8a670c6d-7189-4b1c-8017-a417ca84a086\n  selection:\n    host.name|startswith: 'ci-'\n  condition: not selection\n",
    )
    .unwrap();
    let mut h = Harness::yaml(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}\n",
        dir.path().display().to_string()
    ));
    let sql_error = |host: &str| {
        let mut e = event("app.error", T0);
        e.message = "Unclosed quotation mark after the character string".into();
        e.host = host.into();
        e
    };
    assert!(h.feed(sql_error("ci-runner-7")).is_empty(), "filtered");
    assert_eq!(
        h.feed(sql_error("web-1")).len(),
        1,
        "everyone else still alerts"
    );
}

/// A selection runs the rules it names: a correlation with the detection that feeds it
/// (silent there, though it alerts on its own elsewhere), or only the detection.
#[test]
fn a_selection_runs_only_the_named_rules_and_feeds_correlations_silently() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spray.yml"),
        "title: Failed login\nid: failed-login\nname: failed_login\nlogsource: {product: test}\ndetection:\n  sel: {event_type: auth.failure}\n  condition: sel\n---\ntitle: Spray\nid: spray\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 5m, condition: {gte: 2}, generate: true}\n",
    )
    .unwrap();
    let config: RulesConfig = yaml_serde::from_str(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}",
        dir.path()
    ))
    .unwrap();
    let listed = siem_rules::list_rules_dir(&config).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].name, "Failed login");
    assert_eq!(listed[0].group_by, None, "a detection is per event");
    assert_eq!(listed[1].name, "Spray");
    assert_eq!(listed[1].group_by, Some(vec!["user".to_owned()]));
    assert_eq!(listed[1].feeds, ["failed-login"]);
    let run = |selection: siem_rules::RuleSelection| {
        let mut engine = Engine::new(&config.clone().select(selection)).unwrap();
        let mut alerts = Vec::new();
        for at in 0..2 {
            alerts.extend(engine.process(&mut failure("alice", T0 + at)));
        }
        titles(&alerts)
    };
    let mut correlation = siem_rules::RuleSelection::default();
    correlation.alerting.insert("spray".to_owned());
    correlation.feeding.insert("failed-login".to_owned());
    assert_eq!(run(correlation), ["Spray"]);
    let mut detection = siem_rules::RuleSelection::default();
    detection.alerting.insert("failed-login".to_owned());
    assert_eq!(run(detection), ["Failed login", "Failed login"]);
    assert_eq!(
        run(siem_rules::RuleSelection::default()),
        Vec::<String>::new()
    );
}

/// A correlation of correlations needs the whole chain beside it; the rules that only feed
/// it are not listed on their own.
#[test]
fn a_chain_of_correlations_is_listed_with_every_rule_it_needs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma_chain");
    let listed = siem_rules::list_rules_dir(&RulesConfig::default().rules_dir(dir)).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, "Failed Logins Followed By Success");
    assert_eq!(listed[0].group_by, Some(vec!["user".to_owned()]));
    let mut feeds = listed[0].feeds.clone();
    feeds.sort();
    assert_eq!(
        feeds,
        [
            "0e95725d-7320-415d-80f7-004da920fc11",
            "4a0d7a7f-11f3-4f63-a0a8-1d05b7e3c0d1",
            "5638f7c0-ac70-491d-8465-2a65075e0d86"
        ]
    );
    assert_eq!(listed[0].span, std::time::Duration::from_secs(600));
}
