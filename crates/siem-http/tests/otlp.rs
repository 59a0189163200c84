//! OTLP logs over HTTP/JSON against a local collector stand-in.

#![cfg(feature = "otlp")]

mod support;

use std::time::Duration;

use serde_json::json;
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_http::otlp::OtlpConfig;
use siem_http::{Compression, Secret};
use siem_ship::sink::SinkConfig;
use siem_ship::Batch;
use support::{respond, Server};

fn event() -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
    e.timestamp = Timestamp::from_unix_millis(1_718_880_000_123);
    e.severity = Severity::High;
    e.outcome = Outcome::Failure;
    e.actor.user = Some("alice".into());
    e.actor.source_ip = Some("203.0.113.7".into());
    e.target.method = Some("POST".into());
    e.tenant_id = Some("prod-eu".into());
    e.push_metadata("attempts", 3i64);
    e
}

#[test]
fn events_become_log_records_with_semantic_convention_attributes() {
    let server = Server::start(|r, _| {
        if r.header("authorization") == Some("Bearer t0k") {
            respond(200, "{}")
        } else {
            respond(401, "")
        }
    });
    let mut c = OtlpConfig::new(server.url(""));
    c.service_name = Some("appshield".into());
    c.headers
        .insert("Authorization".into(), Secret::new("Bearer t0k"));
    c.http.allow_insecure_http = true;
    c.http.compression = Some(Compression::None);
    c.validate().unwrap();
    let e = event();
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    batch.push_with(|out| encoder.encode(&e, out));
    c.open().unwrap().send(&batch).unwrap();

    let r = &server.requests()[0];
    assert_eq!(r.target, "/v1/logs");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.text().starts_with(
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"appshield"}}]},"scopeLogs":[{"scope":{"name":"tracing-siem","#
    ));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let record = &body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    let mut expected_attributes = vec![
        json!({"key": "log.record.uid", "value": {"stringValue": e.id.to_string()}}),
        json!({"key": "user.name", "value": {"stringValue": "alice"}}),
        json!({"key": "client.address", "value": {"stringValue": "203.0.113.7"}}),
        json!({"key": "http.request.method", "value": {"stringValue": "POST"}}),
    ];
    if !e.host.is_empty() {
        expected_attributes.push(json!({"key": "host.name", "value": {"stringValue": &*e.host}}));
    }
    expected_attributes.extend([
        json!({"key": "siem.category", "value": {"stringValue": "auth"}}),
        json!({"key": "siem.outcome", "value": {"stringValue": "failure"}}),
        json!({"key": "siem.tenant_id", "value": {"stringValue": "prod-eu"}}),
        json!({"key": "siem.metadata.attempts", "value": {"intValue": "3"}}),
    ]);
    assert_eq!(
        *record,
        json!({
            "timeUnixNano": "1718880000123000000",
            "severityNumber": 17,
            "severityText": "high",
            "eventName": "auth.failure",
            "body": {"stringValue": "Failed login"},
            "attributes": expected_attributes,
        })
    );
}

#[test]
fn several_records_share_one_request_and_errors_follow_the_status() {
    let server = Server::start(|_, n| {
        if n == 0 {
            respond(200, "{}")
        } else {
            respond(503, "")
        }
    });
    let mut c = OtlpConfig::new(server.url("/custom/logs"));
    c.http.compression = Some(Compression::None);
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    for _ in 0..3 {
        batch.push_with(|out| encoder.encode(&event(), out));
    }
    let mut sink = c.open().unwrap();
    sink.send(&batch).unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.target, "/custom/logs");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        body["resourceLogs"][0]["resource"]["attributes"][0]["value"]["stringValue"],
        "unknown_service"
    );
    assert!(sink.send(&batch).unwrap_err().is_retryable());
}

#[test]
fn only_canonical_json_is_accepted_and_probe_exports_nothing() {
    let server = Server::start(|_, _| respond(200, "{}"));
    let c = OtlpConfig::new(server.url(""));
    assert!(c.accepts(Format::Ecs, &FormatOptions::default()).is_err());
    assert_eq!(c.probe(Duration::from_secs(5)).unwrap(), "HTTP 200 OK: {}");
    assert_eq!(server.requests()[0].text(), r#"{"resourceLogs":[]}"#);
    let mut secret = OtlpConfig::new("http://collector:4318");
    secret
        .headers
        .insert("Authorization".into(), Secret::new("Bearer x"));
    assert_eq!(secret.validate().unwrap_err().key(), "url");
}
