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

mod protobuf {
    //! `encoding: protobuf`, decoded with the OpenTelemetry project's own generated messages.

    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use prost::Message;
    use serde_json::Value;
    use siem_http::otlp::OtlpEncoding;
    use siem_http::HttpOptions;
    use support::dead_letters;

    fn events() -> Vec<SecurityEvent> {
        let mut second = event();
        second.severity = Severity::Critical;
        second.message = "Failed login \"again\"\n".into();
        second.push_metadata("ratio", 0.5f64);
        second.push_metadata("admin", true);
        second.push_metadata("huge", u64::MAX);
        vec![event(), second]
    }

    fn batch() -> Batch {
        let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
        let mut batch = Batch::default();
        for e in events() {
            batch.push_with(|out| encoder.encode(&e, out));
        }
        batch
    }

    fn config(server: &support::Server, encoding: OtlpEncoding) -> OtlpConfig {
        OtlpConfig::new(server.url(""))
            .service_name("appshield")
            .encoding(encoding)
            .http(HttpOptions::default().compression(Compression::None))
    }

    /// An `AnyValue` in the OTLP/JSON form the JSON encoding writes.
    fn as_json(value: &Option<AnyValue>) -> Value {
        match value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Any::StringValue(s)) => json!({ "stringValue": s }),
            Some(Any::BoolValue(b)) => json!({ "boolValue": b }),
            Some(Any::IntValue(n)) => json!({ "intValue": n.to_string() }),
            Some(Any::DoubleValue(f)) => json!({ "doubleValue": f }),
            other => panic!("unexpected value {other:?}"),
        }
    }

    #[test]
    fn protobuf_and_json_exports_of_the_same_events_carry_the_same_records() {
        let server = Server::start(|_, _| respond(200, ""));
        let same = batch();
        config(&server, OtlpEncoding::Protobuf)
            .open()
            .unwrap()
            .send(&same)
            .unwrap();
        config(&server, OtlpEncoding::Json)
            .open()
            .unwrap()
            .send(&same)
            .unwrap();
        let requests = server.requests();
        let (binary, text) = (&requests[0], &requests[1]);
        assert_eq!(binary.target, "/v1/logs");
        assert_eq!(
            binary.header("content-type"),
            Some("application/x-protobuf")
        );

        let decoded = ExportLogsServiceRequest::decode(&binary.body[..]).unwrap();
        assert_eq!(decoded.resource_logs.len(), 1);
        let resource = decoded.resource_logs[0].resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
        assert_eq!(
            as_json(&resource.attributes[0].value),
            json!({"stringValue": "appshield"})
        );
        let scope_logs = &decoded.resource_logs[0].scope_logs[0];
        assert_eq!(scope_logs.scope.as_ref().unwrap().name, "tracing-siem");
        let records = &scope_logs.log_records;
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].time_unix_nano, 1_718_880_000_123_000_000);
        assert_eq!(records[0].severity_number, 17);
        assert_eq!(records[1].severity_number, 21);
        assert_eq!(records[0].event_name, "auth.failure");
        let uid = &records[0].attributes[0];
        assert_eq!(uid.key, "log.record.uid");

        let json: Value = serde_json::from_slice(&text.body).unwrap();
        let json_records = json["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
            .as_array()
            .unwrap();
        assert_eq!(json_records.len(), records.len());
        for (binary, text) in records.iter().zip(json_records) {
            let from_binary = json!({
                "timeUnixNano": binary.time_unix_nano.to_string(),
                "severityNumber": binary.severity_number,
                "severityText": binary.severity_text,
                "eventName": binary.event_name,
                "body": as_json(&binary.body),
                "attributes": binary.attributes.iter()
                    .map(|a| json!({"key": a.key, "value": as_json(&a.value)}))
                    .collect::<Vec<_>>(),
            });
            assert_eq!(&from_binary, text);
        }
        let attributes = &json_records[1]["attributes"];
        assert!(attributes.as_array().unwrap().contains(
            &json!({"key": "siem.metadata.huge", "value": {"stringValue": u64::MAX.to_string()}})
        ));
        assert!(attributes
            .as_array()
            .unwrap()
            .contains(&json!({"key": "siem.metadata.admin", "value": {"boolValue": true}})));
    }

    fn partial(rejected: i64) -> String {
        let reply = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: "records too old".into(),
            }),
        };
        String::from_utf8(reply.encode_to_vec()).unwrap()
    }

    #[test]
    fn partial_success_refusing_every_record_dead_letters_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.jsonl");
        let server = Server::start(|_, n| respond(200, partial(if n == 0 { 2 } else { 1 })));
        let mut c = config(&server, OtlpEncoding::Protobuf);
        c.http.dead_letter = Some(path.clone());
        let mut sink = c.open().unwrap();
        let e = sink.send(&batch()).unwrap_err();
        assert!(!e.is_retryable());
        let lines = dead_letters(&path);
        assert_eq!(lines.len(), 2);
        assert!(lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("rejected all 2 log records (partial success): records too old"));
        // One of two refused: OTLP does not say which, and says not to resend.
        sink.send(&batch()).unwrap();
        assert_eq!(dead_letters(&path).len(), 2);
    }

    #[test]
    fn json_partial_success_is_read_too() {
        let server = Server::start(|_, _| {
            respond(
                200,
                r#"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"no"}}"#,
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(&server, OtlpEncoding::Json);
        c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
        assert!(c.open().unwrap().send(&batch()).is_err());
    }

    /// The protobuf body of `n` copies of one event, sent in one request.
    fn body_of(n: usize) -> Vec<u8> {
        let server = Server::start(|_, _| respond(200, ""));
        let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
        let e = event();
        let mut b = Batch::default();
        for _ in 0..n {
            b.push_with(|out| encoder.encode(&e, out));
        }
        config(&server, OtlpEncoding::Protobuf)
            .open()
            .unwrap()
            .send(&b)
            .unwrap();
        server.requests()[0].body.clone()
    }

    #[test]
    fn requests_keep_to_max_bytes_with_the_protobuf_nesting_counted() {
        // A limit one byte short of three records' request: the records alone would fit in
        // it, the nesting around them does not, so the three go as two requests.
        let three = body_of(3);
        let max = three.len() - 1;
        let server = Server::start(|_, _| respond(200, ""));
        let mut c = config(&server, OtlpEncoding::Protobuf);
        c.http.max_bytes = Some(max);
        let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
        let e = event();
        let mut b = Batch::default();
        for _ in 0..3 {
            b.push_with(|out| encoder.encode(&e, out));
        }
        c.open().unwrap().send(&b).unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let mut sent = 0;
        for r in &requests {
            assert!(r.body.len() <= max, "{} bytes > {max}", r.body.len());
            let decoded = ExportLogsServiceRequest::decode(&r.body[..]).unwrap();
            sent += decoded.resource_logs[0].scope_logs[0].log_records.len();
        }
        assert_eq!(sent, 3);
    }

    #[test]
    fn the_protobuf_probe_exports_an_empty_request() {
        let server = Server::start(|_, _| respond(200, ""));
        let c = config(&server, OtlpEncoding::Protobuf);
        assert_eq!(c.probe(Duration::from_secs(5)).unwrap(), "HTTP 200 OK");
        let r = &server.requests()[0];
        assert!(
            r.body.is_empty(),
            "an empty ExportLogsServiceRequest is zero bytes"
        );
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    }
}
