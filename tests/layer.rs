//! The layer through the public API: what becomes a security event, and how.

mod support;

use std::time::Duration;

use support::Collect;
use tracing::{error, info, info_span, warn};
use tracing_siem::event::{Outcome, Severity, Value};
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

fn capture(builder: tracing_siem::SiemBuilder, f: impl FnOnce()) -> Collect {
    support::run(builder, f).0
}

fn builder() -> tracing_siem::SiemBuilder {
    SiemLayer::builder().app("test-app").host("test-host")
}

#[test]
fn explicit_event_type_is_a_security_event_at_any_level() {
    let sink = capture(builder(), || {
        info!(event_type = "auth.success", user = "alice", "Login ok");
        tracing::debug!(event_type = "config.changed", "debug level but explicit");
        info!("an ordinary info event");
        warn!("an ordinary warning without keywords");
    });
    let events = sink.events();
    let types = sink.event_types();
    assert_eq!(types, ["auth.success", "config.changed"]);
    assert_eq!(events[0].actor.user.as_deref(), Some("alice"));
    assert_eq!(events[0].message, "Login ok");
    assert_eq!(&*events[0].app, "test-app");
    assert_eq!(&*events[0].host, "test-host");
}

#[test]
fn the_three_seed_vocabularies_map_to_one_form() {
    let sink = capture(builder(), || {
        // seed 000
        error!(
            event_type = "authentication_failure",
            tenant_id = "tenant-123",
            agent_id = "agent-456",
            "Failed login attempt"
        );
        warn!(event_type = "prompt_injection_attempt", "Prompt injection");
        // seed 003
        warn!(
            event_type = "authz.privilege_escalation",
            user = "bob",
            "Escalation"
        );
        // seed 004
        warn!(
            event_type = "authentication",
            user = "carol",
            action = "login",
            result = "failure",
            source_ip = "203.0.113.7",
            "Failed login"
        );
        warn!(event_type = "authorization", result = "denied", "Denied");
        warn!(
            event_type = "configuration",
            action = "modify",
            "Config changed"
        );
        // unknown: kept verbatim
        warn!(event_type = "billing.refund_issued", "Refund");
    });
    let events = sink.events();
    let types = sink.event_types();
    assert_eq!(
        types,
        [
            "auth.failure",
            "security.prompt_injection",
            "authz.privilege_escalation",
            "auth.failure",
            "authz.access_denied",
            "config.changed",
            "billing.refund_issued"
        ]
    );
    assert_eq!(events[0].event_type.original(), "authentication_failure");
    assert_eq!(events[0].tenant_id.as_deref(), Some("tenant-123"));
    assert_eq!(events[0].severity, Severity::High);
    assert_eq!(events[3].outcome, Outcome::Failure);
    assert_eq!(events[3].actor.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(events[3].action.as_deref(), Some("login"));
    assert_eq!(events[4].outcome, Outcome::Denied);
}

#[test]
fn outcome_follows_the_type_when_no_result_is_given() {
    let sink = capture(builder(), || {
        warn!(event_type = "auth.success", "Login ok");
        warn!(event_type = "auth.failure", "Bad password");
        warn!(event_type = "authorization_failure", "Not allowed");
        warn!(event_type = "config.changed", "Config changed");
        // A stated result wins over the type.
        warn!(
            event_type = "auth.failure",
            result = "success",
            "Odd but stated"
        );
    });
    let outcomes: Vec<Outcome> = sink.events().iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Denied,
            Outcome::Unknown,
            Outcome::Success
        ]
    );
}

/// What Elastic and ArcSight see for a type that states its outcome and no `result` field.
#[test]
fn the_implied_outcome_reaches_the_wire() {
    for (format, read) in [
        (
            tracing_siem::Format::Ecs,
            (|v: &serde_json::Value| v["event"]["outcome"].as_str().map(str::to_owned))
                as fn(&serde_json::Value) -> Option<String>,
        ),
        (tracing_siem::Format::Ocsf, |v| {
            v["status"].as_str().map(str::to_lowercase)
        }),
    ] {
        let sink = Collect::default();
        let (layer, guard) = builder()
            .destination_with_sink(
                DestinationConfig::stdout().name("wire").format(format),
                Box::new(sink.clone()),
            )
            .build()
            .unwrap();
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            warn!(event_type = "auth.failure", user = "alice", "Bad password");
            info!(event_type = "auth.success", user = "alice", "Login ok");
        });
        assert!(guard.shutdown(Duration::from_secs(10)).completed);
        let outcomes: Vec<Option<String>> = sink.json().iter().map(read).collect();
        assert_eq!(
            outcomes,
            [Some("failure".to_owned()), Some("success".to_owned())],
            "{format:?}"
        );
    }
}

#[test]
fn keywords_classify_warnings_but_not_below_the_minimum_level() {
    let (sink, metrics) = support::run(builder(), || {
        warn!("User login failed for admin");
        error!("Permission denied on /admin");
        warn!("Connection to db refused");
        warn!("Circuit breaker opened");
        info!("login page rendered"); // below WARN: never classified
        warn!("cache warmed up"); // no keyword: not a security event
    });
    let types = sink.event_types();
    assert_eq!(
        types,
        [
            "auth.attempt",
            "authz.check",
            "network.connection_failed",
            "availability.degraded"
        ]
    );
    // The warning without a keyword was queued as a candidate and classified away on the
    // pipeline thread: it is not counted as a security event.
    assert_eq!(metrics.events_logged, 4, "{metrics:?}");
    assert_eq!(metrics.events_shipped, 4, "{metrics:?}");
}

#[test]
fn a_lower_minimum_level_and_a_fallback_widen_classification() {
    let mut config = tracing_siem::Config::default();
    config.classify.min_level = tracing::Level::INFO;
    config.classify.fallback = Some("operational".into());
    let sink = capture(tracing_siem::SiemBuilder::from_config(config), || {
        info!("login page rendered");
        info!("cache warmed up");
        tracing::debug!("still below");
    });
    let types = sink.event_types();
    assert_eq!(types, ["auth.attempt", "operational.event"]);
}

#[test]
fn span_fields_label_the_events_inside() {
    let sink = capture(builder(), || {
        let request = info_span!(
            "request",
            user = "alice",
            source_ip = "198.51.100.2",
            request_id = 42u64
        );
        let _g = request.enter();
        let inner = info_span!("handler", user = "impersonated");
        inner.in_scope(|| {
            warn!(
                event_type = "authz.access_denied",
                resource = "/admin",
                "Denied"
            );
        });
        warn!(
            event_type = "auth.failure",
            user = "explicit",
            "Event field wins"
        );
    });
    let events = sink.events();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].actor.user.as_deref(),
        Some("impersonated"),
        "inner span wins"
    );
    assert_eq!(events[0].actor.source_ip.as_deref(), Some("198.51.100.2"));
    assert_eq!(
        events[0].metadata("request_id").and_then(Value::as_i64),
        Some(42)
    );
    assert_eq!(events[0].target.resource.as_deref(), Some("/admin"));
    assert_eq!(events[1].actor.user.as_deref(), Some("explicit"));
}

#[test]
fn span_fields_recorded_later_are_inherited() {
    let sink = capture(builder(), || {
        let span = info_span!("request", user = tracing::field::Empty);
        let _g = span.enter();
        span.record("user", "late-bound");
        warn!(event_type = "auth.failure", "Failed");
    });
    assert_eq!(sink.events()[0].actor.user.as_deref(), Some("late-bound"));
}

#[test]
fn numbers_and_booleans_stay_typed_and_severity_can_be_overridden() {
    let sink = capture(builder(), || {
        warn!(
            event_type = "auth.failure",
            attempts = 3i64,
            locked = true,
            ratio = 0.5f64,
            big = 18446744073709551615u64,
            severity = "critical",
            "x"
        );
    });
    let e = &sink.events()[0];
    assert_eq!(e.metadata("attempts"), Some(&Value::I64(3)));
    assert_eq!(e.metadata("locked"), Some(&Value::Bool(true)));
    assert_eq!(e.metadata("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(e.metadata("big"), Some(&Value::U64(u64::MAX)));
    assert_eq!(e.severity, Severity::Critical);
}

#[test]
fn sensitive_fields_are_redacted_by_default() {
    let sink = capture(builder(), || {
        let span = info_span!("req", authorization = "Bearer abc.def");
        let _g = span.enter();
        warn!(
            event_type = "auth.failure",
            user = "alice",
            password = "hunter2",
            api_key = "AKIA123",
            new_Password = "x",
            "Failed"
        );
    });
    let raw = String::from_utf8(sink.records.lock().unwrap()[0].clone()).unwrap();
    for secret in ["hunter2", "AKIA123", "Bearer abc.def"] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    let e = &sink.events()[0];
    assert_eq!(
        e.metadata("password"),
        Some(&Value::Str("[REDACTED]".into()))
    );
    assert_eq!(
        e.metadata("authorization"),
        Some(&Value::Str("[REDACTED]".into()))
    );
    assert_eq!(e.actor.user.as_deref(), Some("alice"));
}

#[test]
fn hashed_redaction_correlates_without_revealing() {
    let mut config = tracing_siem::Config::default();
    config.redact.mode = tracing_siem::RedactionMode::Hash;
    config.redact.hash_key = Some("test-key".into());
    let sink = capture(tracing_siem::SiemBuilder::from_config(config), || {
        warn!(event_type = "auth.failure", session_id = "s-1", "a");
        warn!(event_type = "auth.failure", session_id = "s-1", "b");
        warn!(event_type = "auth.failure", session_id = "s-2", "c");
    });
    let e = sink.events();
    let h = |i: usize| e[i].metadata("session_id").unwrap().to_text().into_owned();
    assert_eq!(h(0), h(1));
    assert_ne!(h(0), h(2));
    assert!(h(0).starts_with("hmac-sha256:") && !h(0).contains("s-1"));
}

#[test]
fn static_fields_are_added_to_every_event() {
    let sink = capture(
        builder().static_field("constitutional_hash", "cdd01ef066bc6cf2"),
        || {
            warn!(event_type = "auth.failure", "a");
        },
    );
    let e = &sink.events()[0];
    assert_eq!(
        e.field_text("constitutional_hash").as_deref(),
        Some("cdd01ef066bc6cf2")
    );
}

#[test]
fn alerts_carry_the_static_fields_too() {
    // Seed 000's default `authentication_failure` rule fires at the tenth failure.
    let sink = capture(
        builder().static_field("constitutional_hash", "cdd01ef066bc6cf2"),
        || {
            for _ in 0..10 {
                warn!(event_type = "auth.failure", user = "alice", "a");
            }
        },
    );
    let events = sink.events();
    let alert = events
        .iter()
        .find(|e| e.event_type.as_str() == "alert.threshold")
        .expect("the default rule alerts");
    assert_eq!(
        alert.field_text("constitutional_hash").as_deref(),
        Some("cdd01ef066bc6cf2")
    );
}

#[test]
fn hostile_field_values_pass_through_intact_and_never_panic() {
    let huge = "x".repeat(1 << 20);
    let hostile = "a|b=c\\d\"e]f\r\ng\0h\ti\u{2028}";
    let sink = capture(builder(), || {
        warn!(event_type = hostile, user = hostile, note = %huge, "{}", hostile);
    });
    let e = &sink.events()[0];
    assert_eq!(e.event_type.as_str(), hostile);
    assert_eq!(e.actor.user.as_deref(), Some(hostile));
    assert_eq!(e.message, hostile);
    // 1 MB of text is capped (8 KiB per field by default) and the event says so.
    assert_eq!(
        e.metadata("note").unwrap().as_str().unwrap().len(),
        8 * 1024
    );
    assert_eq!(e.metadata("siem_truncated"), Some(&Value::Bool(true)));
}

#[test]
fn text_limits_are_configurable_and_cut_on_character_boundaries() {
    // The message is recorded first (13 bytes), then event_type (12), then user.
    let sink = capture(builder().text_limits(13, 37), || {
        warn!(
            event_type = "auth.failure",
            user = "éééééééé",
            "héllo wörld"
        );
    });
    let e = &sink.events()[0];
    assert_eq!(e.event_type.as_str(), "auth.failure");
    assert_eq!(
        e.actor.user.as_deref(),
        Some("éééééé"),
        "13 bytes hold six two-byte characters"
    );
    assert_eq!(e.message, "héllo wörld");
    assert_eq!(e.metadata("siem_truncated"), Some(&Value::Bool(true)));
}

#[test]
fn the_guard_delivers_everything_queued() {
    let sink = Collect::default();
    let batch = tracing_siem::BatchConfig::default()
        .interval(Duration::from_secs(3600))
        .max_events(100_000);
    let (layer, guard) = builder()
        .destination_with_sink(
            DestinationConfig::stdout().name("held").batch(batch),
            Box::new(sink.clone()),
        )
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..5_000 {
            warn!(event_type = "auth.failure", n = i, "Failed");
        }
    });
    assert!(
        sink.records.lock().unwrap().len() < 5_000,
        "nothing should be sent before the guard drops"
    );
    drop(guard);
    let delivered = sink
        .events()
        .iter()
        .filter(|e| e.event_type.as_str() == "auth.failure")
        .count();
    assert_eq!(delivered, 5_000);
}

#[test]
fn exact_accounting_under_overflow_with_a_slow_destination() {
    let emitted = 20_000u64;
    let (sink, m, completed) = support::Overflow {
        delay: Duration::from_millis(2),
        batch_events: 10,
        destination_queue: 50,
        emitted,
    }
    .run(builder().queue_capacity(100));
    assert!(completed, "{m:?}");
    assert!(m.events_dropped > 0, "the test must overflow: {m:?}");
    let reports = sink
        .events()
        .iter()
        .filter(|e| e.event_type.as_str() == "siem.events_dropped")
        .count() as u64;
    let dest = &m.destinations[0];
    assert_eq!(dest.shipped, sink.records.lock().unwrap().len() as u64);
    // Every emitted event (and every drop report) is shipped or dropped, exactly once.
    // Events the library made itself (drop reports, alerts) travel the same road.
    let generated = dest.received - m.events_logged;
    assert_eq!(
        m.events_shipped + m.events_dropped,
        emitted + generated,
        "{m:?}"
    );
    assert!(reports <= generated);
    assert_eq!(
        m.drops_by_reason.iter().map(|(_, n)| n).sum::<u64>(),
        m.events_dropped
    );
}
