use std::sync::Arc;

use siem_event::{EventType, Outcome, Severity, Timestamp, Value};

use super::*;
use crate::{Encoder, JsonEncoder};

fn full_event() -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse("authentication_failure"), "Failed login");
    e.timestamp = Timestamp::from_unix_nanos(1_735_732_800_123_456_000);
    e.severity = Severity::High;
    e.outcome = Outcome::Denied;
    e.action = Some("login".into());
    e.reason = Some("Invalid credentials".into());
    e.source = Some("auth".into());
    e.tenant_id = Some("tenant-123".into());
    e.agent_id = Some("agent-456".into());
    e.correlation_id = Some("abc".into());
    e.actor.user = Some("alice".into());
    e.actor.user_id = Some("u-1".into());
    e.actor.source_ip = Some("203.0.113.7".into());
    e.actor.user_agent = Some("curl/8".into());
    e.target.resource = Some("/api/v1/workspaces".into());
    e.target.resource_type = Some("api".into());
    e.target.method = Some("GET".into());
    e.target.destination_ip = Some("10.0.0.5".into());
    e.host = Arc::from("web01");
    e.app = Arc::from("shop");
    e.push_metadata("attempts", 3i64);
    e.push_metadata("big", u64::MAX);
    e.push_metadata("ratio", 0.5f64);
    e.push_metadata("locked", false);
    e.push_metadata("note", "a\"b\nc");
    e
}

#[test]
fn canonical_json_round_trips() {
    let e = full_event();
    let mut out = Vec::new();
    JsonEncoder::default().encode(&e, &mut out);
    let back = decode_json(&out).unwrap();
    assert_eq!(back, e);
}

#[test]
fn seed_flat_json() {
    let e = decode_json(
        br#"{"event_type":"auth.failure","severity":"medium","user":"alice","source_ip":"203.0.113.7","result":"failure","message":"Failed login"}"#,
    )
    .unwrap();
    assert_eq!(e.event_type.as_str(), "auth.failure");
    assert_eq!(e.severity, Severity::Medium);
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.actor.user.as_deref(), Some("alice"));
    assert_eq!(e.actor.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(e.message, "Failed login");
    assert!(e.metadata.is_empty());
}

#[test]
fn seed_000_json_example() {
    let e = decode_json(
        br#"{"event_type":"authentication_failure","severity":"high","message":"Failed login attempt",
        "timestamp":"2025-01-01T12:00:00.000000Z","source":"runtime_security_scanner","tenant_id":"tenant-123",
        "agent_id":"agent-456","metadata":{"ip":"192.168.1.100"},"constitutional_hash":"cdd01ef066bc6cf2",
        "correlation_id":"abc123def456","_siem":{"vendor":"ACGS-2","product":"EnhancedAgentBus","version":"2.4.0","hostname":"server-01"}}"#,
    )
    .unwrap();
    assert_eq!(e.event_type.as_str(), "auth.failure");
    assert_eq!(e.event_type.original(), "authentication_failure");
    assert_eq!(e.timestamp, Timestamp::from_unix_secs(1_735_732_800));
    assert_eq!(e.source.as_deref(), Some("runtime_security_scanner"));
    assert_eq!(&*e.host, "server-01");
    assert_eq!(e.metadata("ip"), Some(&Value::from("192.168.1.100")));
    assert_eq!(
        e.metadata("constitutional_hash"),
        Some(&Value::from("cdd01ef066bc6cf2"))
    );
}

#[test]
fn seed_003_json_example() {
    let e = decode_json(
        br#"{"timestamp":"2025-01-27T10:30:00Z","event_type":"auth.failure","severity":"medium",
        "source":{"system":"mockforge","component":"auth","version":"1.0.0"},
        "actor":{"user_id":"user-123","username":"admin","ip_address":"192.168.1.100","user_agent":"Mozilla/5.0..."},
        "target":{"resource_type":"api","resource_id":"/api/v1/workspaces","method":"GET"},
        "outcome":{"success":false,"reason":"Invalid credentials"},
        "metadata":{"auth_method":"jwt","attempt_count":3,"lockout_triggered":false},
        "compliance":{"soc2_cc":["CC6"],"iso27001":["A.9.2"]}}"#,
    )
    .unwrap();
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.reason.as_deref(), Some("Invalid credentials"));
    assert_eq!(e.source.as_deref(), Some("auth"));
    assert_eq!(&*e.app, "mockforge");
    assert_eq!(e.actor.user.as_deref(), Some("admin"));
    assert_eq!(e.actor.user_agent.as_deref(), Some("Mozilla/5.0..."));
    assert_eq!(e.target.resource.as_deref(), Some("/api/v1/workspaces"));
    assert_eq!(e.target.resource_type.as_deref(), Some("api"));
    assert_eq!(e.metadata("attempt_count"), Some(&Value::I64(3)));
    assert_eq!(e.metadata("lockout_triggered"), Some(&Value::Bool(false)));
}

#[test]
fn seed_004_category_is_refined_by_outcome() {
    let e =
        decode_json(br#"{"event_type":"authentication","result":"success","severity":3}"#).unwrap();
    assert_eq!(e.event_type.as_str(), "auth.success");
    assert_eq!(e.severity, Severity::Low);
}

#[test]
fn numbers_for_time_and_nested_metadata() {
    let e = decode_json(br#"{"type":"x.y","time":1718880000.5,"extra":{"a":[1,"b"]},"n":null}"#)
        .unwrap();
    assert_eq!(e.timestamp.unix_millis(), 1_718_880_000_500);
    assert_eq!(e.metadata("extra"), Some(&Value::from(r#"{"a":[1,"b"]}"#)));
    assert_eq!(e.metadata("n"), None);
    let ms = decode_json(br#"{"type":"x.y","timestamp":1718880000123}"#).unwrap();
    assert_eq!(ms.timestamp.unix_millis(), 1_718_880_000_123);
}

#[test]
fn synonyms_fill_the_event_and_stay_reachable_by_their_own_name() {
    let e = decode_json(
        br#"{"event_type":"auth.failure","client_ip":"10.1.2.3","remote_addr":"10.9.9.9",
            "user.name":"alice","TargetUserName":"bob","log.level":"high","hostname":"web01"}"#,
    )
    .unwrap();
    assert_eq!(e.actor.source_ip.as_deref(), Some("10.1.2.3"));
    assert_eq!(e.actor.user.as_deref(), Some("alice"));
    assert_eq!(e.severity, Severity::High);
    assert_eq!(&*e.host, "web01");
    // The later synonyms lost their slot but not their value.
    assert_eq!(e.metadata("remote_addr"), Some(&Value::from("10.9.9.9")));
    assert_eq!(e.field_text("remote_addr").as_deref(), Some("10.9.9.9"));
    assert_eq!(e.field_text("TargetUserName").as_deref(), Some("bob"));
    assert_eq!(e.field_text("client_ip").as_deref(), Some("10.1.2.3"));
    assert_eq!(e.field_text("source.ip").as_deref(), Some("10.1.2.3"));
}

#[test]
fn a_type_member_is_the_type_only_without_event_type_and_is_always_kept() {
    let e = decode_json(br#"{"event_type":"process.exec","type":"EXECVE"}"#).unwrap();
    assert_eq!(e.event_type.as_str(), "process.exec");
    assert_eq!(e.field_text("type").as_deref(), Some("EXECVE"));
    let e = decode_json(br#"{"type":"auth.failure"}"#).unwrap();
    assert_eq!(e.event_type.as_str(), "auth.failure");
    assert_eq!(e.field_text("type").as_deref(), Some("auth.failure"));
    assert_eq!(
        err(r#"{"type":3}"#),
        "field `event_type`: missing (every event needs a type)"
    );
}

#[test]
fn unknown_members_of_actor_and_target_are_kept() {
    let e = decode_json(
        br#"{"event_type":"a.b","actor":{"name":"alice","email":"a@example.com"},
            "target":{"ip_address":"10.0.0.5","owner":"ops"}}"#,
    )
    .unwrap();
    assert_eq!(e.actor.user.as_deref(), Some("alice"));
    assert_eq!(e.target.destination_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(
        e.metadata("actor.email"),
        Some(&Value::from("a@example.com"))
    );
    assert_eq!(e.metadata("target.owner"), Some(&Value::from("ops")));
}

fn err(input: &str) -> String {
    decode_json(input.as_bytes()).unwrap_err().to_string()
}

#[test]
fn errors_name_the_field_and_reason() {
    assert_eq!(
        err(r#"{"severity":"high"}"#),
        "field `event_type`: missing (every event needs a type)"
    );
    assert_eq!(
        err(r#"{"event_type":1}"#),
        "field `event_type`: expected a string, found a number"
    );
    assert!(err(r#"{"event_type":"a","severity":"severe"}"#)
        .starts_with("field `severity`: unknown severity"));
    assert_eq!(
        err(r#"{"event_type":"a","severity":11}"#),
        "field `severity`: a numeric severity must be 0-10"
    );
    assert!(err(r#"{"event_type":"a","timestamp":"yesterday"}"#)
        .starts_with("field `timestamp`: invalid timestamp"));
    assert_eq!(
        err(r#"{"event_type":"a","timestamp":"9999-01-01T00:00:00Z"}"#),
        "field `timestamp`: timestamp outside the supported range (years 1677-2262)"
    );
    assert!(decode_json(br#"{"event_type":"a","timestamp":"0000-01-01T00:00:00+23:59"}"#).is_err());
    assert!(decode_json(br#"{"event_type":"a","timestamp":"1677-01-01T00:00:00Z"}"#).is_err());
    assert!(decode_json(br#"{"event_type":"a","timestamp":"2262-12-31T00:00:00Z"}"#).is_err());
    for edge in [i64::MIN, i64::MAX, i64::MIN + 1_000_000_000] {
        let t = Timestamp::from_unix_nanos(edge);
        let text = format!(r#"{{"event_type":"a","timestamp":"{}"}}"#, {
            let mut v = Vec::new();
            t.write_rfc3339(&mut v, 9);
            String::from_utf8(v).unwrap()
        });
        assert_eq!(decode_json(text.as_bytes()).unwrap().timestamp, t);
    }
    assert_eq!(
        err(r#"{"event_type":"a","timestamp":1e300}"#),
        "field `timestamp`: timestamp out of range"
    );
    assert_eq!(
        err(r#"{"event_type":"a","actor":{"username":["x"]}}"#),
        "field `actor.username`: expected a string, found an array"
    );
    assert_eq!(
        err(r#"{"event_type":"a","actor":"alice"}"#),
        "field `actor`: expected an object, found a string"
    );
    assert_eq!(
        err(r#"{"event_type":"a","id":"not-a-uuid"}"#),
        "field `id`: expected a UUID"
    );
    assert_eq!(
        err(r#"{"event_type":"a","event_type":"b"}"#),
        "field `event_type`: given more than once"
    );
    assert_eq!(
        err(r#"{"event_type":"a","outcome":{"success":"no"}}"#),
        "field `outcome.success`: expected a boolean, found a string"
    );
    assert_eq!(
        err(r#"{"event_type":"a","compliance":{"soc2_cc":"CC6"}}"#),
        "field `compliance.soc2_cc`: expected an array of strings, found a string"
    );
    assert_eq!(err("[]"), "expected a JSON object for the event");
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    let deep = "[".repeat(100_000);
    assert!(matches!(
        decode_json(deep.as_bytes()),
        Err(DecodeError::Syntax(_))
    ));
    let deep_obj = format!(
        "{{\"event_type\":\"a\",\"m\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(matches!(
        decode_json(deep_obj.as_bytes()),
        Err(DecodeError::Syntax(_))
    ));
    let huge = br#"{"event_type":"a","n":1e999}"#;
    assert!(matches!(decode_json(huge), Err(DecodeError::Syntax(_))));
    let big_int = decode_json(br#"{"event_type":"a","n":123456789012345678901234567890}"#).unwrap();
    assert!(matches!(big_int.metadata("n"), Some(Value::F64(_))));
    assert!(matches!(
        decode_json(b"{\"event_type\":\"\xff\"}"),
        Err(DecodeError::Syntax(_))
    ));
    assert!(matches!(decode_json(b""), Err(DecodeError::Syntax(_))));
    assert!(matches!(decode_json(b"{} {}"), Err(DecodeError::Syntax(_))));
    let long = format!(
        "{{\"event_type\":\"a\",\"message\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    assert_eq!(decode_json(long.as_bytes()).unwrap().message.len(), 1 << 20);
}
