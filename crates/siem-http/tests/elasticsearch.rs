//! Elasticsearch `_bulk` against a local cluster stand-in: NDJSON bytes, deterministic ids,
//! authentication, and per-item statuses (only retryable items resent, the others
//! dead-lettered).

#![cfg(feature = "elasticsearch")]

mod support;

use std::time::Duration;

use siem_event::{EventType, SecurityEvent};
use siem_format::{Format, FormatOptions};
use siem_http::elasticsearch::ElasticsearchConfig;
use siem_http::Secret;
use siem_ship::sink::SinkConfig;
use siem_ship::Batch;
use support::{batch, dead_letters, respond, Request, Server};

const API_KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";

/// A cluster that checks the API key, then answers with `answer`.
fn cluster(answer: impl Fn(&Request, usize) -> support::Reply + Send + Sync + 'static) -> Server {
    Server::start(move |r, n| {
        if r.header("authorization") != Some(&format!("ApiKey {API_KEY}")) {
            return respond(
                401,
                r#"{"error":{"type":"security_exception"},"status":401}"#,
            );
        }
        answer(r, n)
    })
}

fn config(server: &Server, dir: &tempfile::TempDir) -> ElasticsearchConfig {
    let mut c: ElasticsearchConfig = serde_json::from_value(serde_json::json!({
        "url": server.url(""),
        "data_stream": "logs-appshield.security-default",
        "api_key": API_KEY,
        "http": {"allow_insecure_http": true, "dead_letter": dir.path().join("dead.jsonl")},
    }))
    .unwrap();
    c.http.compression = Some(siem_http::Compression::None);
    c
}

fn ecs_batch(n: usize) -> (Batch, Vec<String>) {
    let encoder = siem_format::build_encoder(Format::Ecs, &FormatOptions::default()).unwrap();
    let mut b = Batch::default();
    let mut ids = Vec::new();
    for i in 0..n {
        let e = SecurityEvent::new(EventType::parse("auth.failure"), format!("login {i}"));
        ids.push(e.id.to_string());
        b.push_with(|out| encoder.encode(&e, out));
    }
    (b, ids)
}

#[test]
fn bulk_body_is_create_actions_with_event_ids_and_a_final_newline() {
    let server = cluster(|_, _| respond(200, r#"{"errors":false}"#));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server, &dir);
    c.validate().unwrap();
    let (events, ids) = ecs_batch(2);
    c.open().unwrap().send(&events).unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.target,
        "/logs-appshield.security-default/_bulk?filter_path=errors%2Citems.*.status%2Citems.*.error.type%2Citems.*.error.reason"
    );
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let expected = format!(
        "{{\"create\":{{\"_id\":\"{}\"}}}}\n{}\n{{\"create\":{{\"_id\":\"{}\"}}}}\n{}\n",
        ids[0],
        String::from_utf8_lossy(events.record(0).unwrap()),
        ids[1],
        String::from_utf8_lossy(events.record(1).unwrap()),
    );
    assert_eq!(r.text(), expected);
}

#[test]
fn per_item_statuses_resend_only_retryable_items_and_dead_letter_the_rest() {
    let server = cluster(|_, _| {
        respond(
            200,
            r#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"failed to parse field [source.ip] of type [ip]"}}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}}},
            {"create":{"status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}]}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let docs = batch(&[
        r#"{"event":{"id":"a"}}"#,
        r#"{"event":{"id":"b"},"source":{"ip":"nope"}}"#,
        r#"{"event":{"id":"c"}}"#,
        r#"{"event":{"id":"d"}}"#,
        r#"{"event":{"id":"e"}}"#,
    ]);
    let e = config(&server, &dir)
        .open()
        .unwrap()
        .send(&docs)
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[2usize, 4][..]));
    assert_eq!(e.rejected_records(), Some(&[1usize][..]));
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0]["record"]["event"]["id"], "b");
    assert_eq!(dl[0]["status"], 400);
    assert_eq!(
        dl[0]["reason"],
        "item status 400: document_parsing_exception: failed to parse field [source.ip] of type [ip]"
    );
}

#[test]
fn whole_request_failures_follow_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let busy = cluster(|_, _| respond(503, "{}"));
    let e = config(&busy, &dir)
        .open()
        .unwrap()
        .send(&ecs_batch(1).0)
        .unwrap_err();
    assert!(e.is_retryable());
    let mut wrong = config(&busy, &dir);
    wrong.api_key = Some(Secret::new("d3Jvbmc="));
    let e = wrong.open().unwrap().send(&ecs_batch(1).0).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.message().contains("401"), "{e}");
    assert!(!e.message().contains("d3Jvbmc="), "{e}");
}

#[test]
fn basic_auth_and_gzip() {
    let server = Server::start(|r, _| {
        // "elastic:changeme" in base64.
        if r.header("authorization") == Some("Basic ZWxhc3RpYzpjaGFuZ2VtZQ==") {
            respond(200, r#"{"errors":false}"#)
        } else {
            respond(401, "")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = ElasticsearchConfig::new(server.url("/prefix/"), "security-events");
    c.username = Some("elastic".into());
    c.password = Some(Secret::new("changeme"));
    c.http.allow_insecure_http = true;
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c.open().unwrap().send(&batch(&[r#"{"id":"x1"}"#])).unwrap();
    let r = &server.requests()[0];
    assert!(
        r.target.starts_with("/prefix/security-events/_bulk?"),
        "{}",
        r.target
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.text(), "{\"create\":{\"_id\":\"x1\"}}\n{\"id\":\"x1\"}\n");
}

#[test]
fn configuration_is_checked_before_anything_is_sent() {
    let base = ElasticsearchConfig::new("https://es:9200", "security");
    base.validate().unwrap();
    let mut both = base.clone();
    both.data_stream = Some("logs-a-b".into());
    assert_eq!(both.validate().unwrap_err().key(), "index");
    let mut bad_name = base.clone();
    bad_name.index = Some("Security".into());
    assert_eq!(bad_name.validate().unwrap_err().key(), "index");
    let mut half_basic = base.clone();
    half_basic.username = Some("elastic".into());
    assert_eq!(half_basic.validate().unwrap_err().key(), "password");
    let mut insecure = ElasticsearchConfig::new("http://es:9200", "security");
    insecure.api_key = Some(Secret::new("k"));
    assert_eq!(insecure.validate().unwrap_err().key(), "url");
    let mut stream = base.clone();
    stream.index = None;
    stream.data_stream = Some("logs-a-b".into());
    assert!(stream
        .accepts(Format::Ecs, &FormatOptions::default())
        .is_ok());
    assert!(stream
        .accepts(Format::Json, &FormatOptions::default())
        .is_err());
    assert!(base
        .accepts(Format::Json, &FormatOptions::default())
        .is_ok());
    assert!(base
        .accepts(Format::Cef, &FormatOptions::default())
        .is_err());
}

#[test]
fn probe_reports_credentials_refused() {
    let server = cluster(|_, _| respond(200, r#"{"cluster_name":"test"}"#));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    assert!(c
        .probe(Duration::from_secs(5))
        .unwrap()
        .contains("cluster_name"));
    c.api_key = Some(Secret::new("wrong"));
    assert!(c.probe(Duration::from_secs(5)).unwrap_err().contains("401"));
}
