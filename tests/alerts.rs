//! Rules through the layer: default thresholds, alert events, callbacks, correlation ids.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{run, Collect};
use tracing::warn;
use tracing_siem::rules::AlertLevel;
use tracing_siem::{DestinationConfig, SiemBuilder, SiemLayer};
use tracing_subscriber::prelude::*;

#[test]
fn seed_000_default_threshold_raises_one_alert_shipped_as_an_event() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let builder = SiemLayer::builder().on_alert("collect", move |a| {
        seen2.lock().unwrap().push((a.rule.to_string(), a.level));
    });
    let (sink, metrics) = run(builder, || {
        // Ten authentication failures in 300 s: PAGE (seed 000's table).
        for _ in 0..10 {
            warn!(
                event_type = "authentication_failure",
                user = "alice",
                "Failed login"
            );
        }
    });
    let events = sink.events();
    let alerts: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.category() == "alert")
        .collect();
    assert_eq!(
        alerts.len(),
        1,
        "{:?}",
        events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(metrics.alerts_triggered, 1);
    // The alert follows the event that raised it.
    assert_eq!(events.last().unwrap().event_type.category(), "alert");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, AlertLevel::Page);
}

#[test]
fn nine_failures_raise_nothing() {
    let (sink, metrics) = run(SiemLayer::builder(), || {
        for _ in 0..9 {
            warn!(event_type = "authentication_failure", "Failed login");
        }
    });
    assert_eq!(metrics.alerts_triggered, 0);
    assert!(sink
        .events()
        .iter()
        .all(|e| e.event_type.category() != "alert"));
}

#[test]
fn a_panicking_callback_harms_nothing_else() {
    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = Arc::clone(&calls);
    let builder = SiemLayer::builder()
        .on_alert("panics", |_| panic!("callback bug"))
        .on_alert("counts", move |_| {
            calls2.fetch_add(1, Ordering::SeqCst);
        });
    let (sink, metrics) = run(builder, || {
        warn!(event_type = "constitutional_hash_mismatch", "hash mismatch");
        warn!(event_type = "auth.failure", "still logging");
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.rules.callback_panics, 1);
    assert!(sink.events().iter().any(|e| e.message == "still logging"));
}

#[test]
fn rules_from_yaml_in_both_seed_forms() {
    let config = tracing_siem::Config::from_yaml_str(
        r#"
rules:
  defaults: false
  alerts:
    - name: "Multiple Auth Failures"
      condition: "event_type == 'auth.failure' AND count > 2 in 5m"
      severity: high
    - name: "Unauthorized access attempts"
      condition: "event_type=authorization AND result=denied"
      threshold: 2
      window_seconds: 300
      severity: medium
"#,
    )
    .unwrap();
    let (sink, metrics) = run(SiemBuilder::from_config(config), || {
        for _ in 0..3 {
            warn!(event_type = "auth.failure", "Failed");
        }
        for _ in 0..2 {
            warn!(event_type = "authorization", result = "denied", "Denied");
        }
    });
    assert_eq!(metrics.alerts_triggered, 2, "{metrics:?}");
    let rules: Vec<String> = sink
        .events()
        .iter()
        .filter(|e| e.event_type.category() == "alert")
        .map(|e| e.field_text("rule").unwrap().into_owned())
        .collect();
    assert_eq!(
        rules,
        ["Multiple Auth Failures", "Unauthorized access attempts"]
    );
}

#[test]
fn correlation_ids_are_stamped_and_can_be_looked_up() {
    let sink = Collect::default();
    let (layer, guard) = SiemLayer::builder()
        .destination_with_sink(DestinationConfig::stdout(), Box::new(sink.clone()))
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..3 {
            tracing::error!(
                event_type = "tenant_violation",
                tenant_id = "t-9",
                attempt = i,
                "Cross-tenant access"
            );
        }
    });
    handle.flush(Duration::from_secs(10));
    let stamped: Vec<String> = sink
        .events()
        .iter()
        .filter_map(|e| e.correlation_id.clone())
        .collect();
    assert!(!stamped.is_empty(), "no correlation id stamped");
    assert!(stamped[0].starts_with("tenant_attack:t-9:"), "{stamped:?}");
    assert!(!handle.correlated_events(&stamped[0]).is_empty());
    assert!(handle.metrics().correlations_detected >= 1);
    drop(guard);
}

#[test]
fn an_invalid_rule_is_a_config_error_naming_the_rules_key() {
    let yaml = "rules:\n  alerts:\n    - name: broken\n      condition: \"event_type == AND\"\n";
    let err = tracing_siem::Config::from_yaml_str(yaml).err().unwrap();
    assert_eq!(err.key(), "rules");
    assert!(err.reason().contains("broken"), "{err}");
    // The builder checks the same when given the rules directly.
    let rules =
        serde_yaml_ng::from_str(&yaml.replace("rules:\n", "").replace("\n  ", "\n")).unwrap();
    let err = SiemBuilder::default().rules(rules).build().err().unwrap();
    assert_eq!(err.key(), "rules");
}
