//! The webhook destination against a local server: bodies byte for byte, limits, retries,
//! Retry-After, 413 splitting, refusals in the dead-letter file, a server that hangs.

#![cfg(feature = "webhook")]

mod support;

use std::time::Duration;

use siem_http::webhook::{WebhookBody, WebhookConfig};
use siem_http::{HttpOptions, Secret};
use siem_ship::sink::SinkConfig;
use support::{batch, dead_letters, respond, respond_with, Reply, Server};

fn config(server: &Server, dir: &tempfile::TempDir) -> WebhookConfig {
    let mut c = WebhookConfig::new(server.url("/hook"));
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c
}

#[test]
fn json_array_body_with_headers_and_text_records_quoted() {
    let server = Server::start(|_, _| respond(200, ""));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.headers.insert("X-Tenant".into(), Secret::new("acme"));
    c.validate().unwrap();
    let mut sink = c.open().unwrap();
    sink.send(&batch(&[r#"{"a":1}"#, "CEF:0|x|y\"z"])).unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/hook");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-tenant"), Some("acme"));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.text(), r#"[{"a":1},"CEF:0|x|y\"z"]"#);
}

#[test]
fn ndjson_body_gzip_and_put() {
    let server = Server::start(|_, _| respond(204, ""));
    let dir = tempfile::tempdir().unwrap();
    let c: WebhookConfig = serde_json::from_value(serde_json::json!({
        "url": server.url("/in"), "method": "PUT", "body": "ndjson",
        "http": {"compression": "gzip", "dead_letter": dir.path().join("dead.jsonl")},
    }))
    .unwrap();
    assert_eq!(c.body, WebhookBody::Ndjson);
    c.open()
        .unwrap()
        .send(&batch(&["{\"a\":1}", "{\"b\":2}"]))
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_ne!(r.raw_body, r.body);
    assert_eq!(r.text(), "{\"a\":1}\n{\"b\":2}\n");
}

#[test]
fn batches_are_split_to_the_limits_and_oversized_records_dead_lettered() {
    let server = Server::start(|_, _| respond(200, ""));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.http = HttpOptions::default()
        .dead_letter(dir.path().join("dead.jsonl"))
        .max_bytes(20)
        .max_entries(2)
        .max_in_flight(1);
    let mut sink = c.open().unwrap();
    let big = format!("{{\"x\":\"{}\"}}", "y".repeat(30));
    let e = sink
        .send(&batch(&[
            "{\"a\":1}",
            "{\"b\":2}",
            "{\"c\":3}",
            &big,
            "{\"d\":4}",
        ]))
        .unwrap_err();
    assert!(!e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[3usize][..]));
    let bodies: Vec<String> = server.requests().iter().map(|r| r.text()).collect();
    assert_eq!(
        bodies,
        vec![r#"[{"a":1},{"b":2}]"#, r#"[{"c":3}]"#, r#"[{"d":4}]"#]
    );
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0]["record"]["x"], "y".repeat(30));
    assert_eq!(dl[0]["status"], serde_json::Value::Null);
    assert!(dl[0]["reason"]
        .as_str()
        .unwrap()
        .contains("passes the destination's limits"));
}

#[test]
fn throttling_is_retryable_with_the_servers_retry_after() {
    let server =
        Server::start(|_, _| respond_with(429, vec![("Retry-After", "7".into())], "slow down"));
    let dir = tempfile::tempdir().unwrap();
    let e = config(&server, &dir)
        .open()
        .unwrap()
        .send(&batch(&["{}", "{}"]))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    assert!(e.message().contains("429"), "{e}");
    assert!(dead_letters(&dir.path().join("dead.jsonl")).is_empty());
}

#[test]
fn server_errors_and_refused_connections_are_retryable() {
    for status in [500, 502, 503, 408] {
        let server = Server::start(move |_, _| respond(status, "storm"));
        let dir = tempfile::tempdir().unwrap();
        let e = config(&server, &dir)
            .open()
            .unwrap()
            .send(&batch(&["{}"]))
            .unwrap_err();
        assert!(e.is_retryable(), "{status}: {e}");
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let e = WebhookConfig::new(url)
        .open()
        .unwrap()
        .send(&batch(&["{}"]))
        .unwrap_err();
    assert!(e.is_retryable());
    assert!(e.message().contains("could not connect"), "{e}");
}

#[test]
fn a_client_error_dead_letters_the_records_with_status_and_reason() {
    let server = Server::start(|_, _| respond(400, "{\"error\":\"bad schema\"}"));
    let dir = tempfile::tempdir().unwrap();
    let e = config(&server, &dir)
        .open()
        .unwrap()
        .send(&batch(&["{\"a\":1}", "LEEF:1.0|x"]))
        .unwrap_err();
    assert!(!e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 2);
    assert_eq!(dl[0]["status"], 400);
    assert_eq!(dl[0]["destination"], "webhook");
    assert_eq!(
        dl[0]["reason"],
        "HTTP 400 Bad Request: {\"error\":\"bad schema\"}"
    );
    assert_eq!(dl[0]["record"], serde_json::json!({"a": 1}));
    assert_eq!(dl[1]["record"], "LEEF:1.0|x");
}

#[test]
fn a_413_splits_the_request_until_it_passes() {
    // The server takes at most two records per request.
    let server = Server::start(|r, _| {
        let n: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
        if n.len() > 2 {
            respond(413, "")
        } else {
            respond(200, "")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.http.max_in_flight = 1;
    c.open()
        .unwrap()
        .send(&batch(&[
            "{\"a\":1}",
            "{\"a\":2}",
            "{\"a\":3}",
            "{\"a\":4}",
            "{\"a\":5}",
        ]))
        .unwrap();
    let accepted: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| {
            serde_json::from_slice::<Vec<serde_json::Value>>(&r.body)
                .unwrap()
                .len()
                <= 2
        })
        .map(|r| r.text())
        .collect();
    assert_eq!(
        accepted,
        vec![
            r#"[{"a":1},{"a":2}]"#,
            r#"[{"a":3}]"#,
            r#"[{"a":4},{"a":5}]"#
        ]
    );
}

#[test]
fn a_hanging_server_times_out_as_retryable() {
    let server = Server::start(|_, _| Reply::Hang);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.http.timeout = Duration::from_millis(300);
    let e = c.open().unwrap().send(&batch(&["{}"])).unwrap_err();
    assert!(e.is_retryable());
    assert!(e.message().contains("timed out"), "{e}");
}

#[test]
fn secrets_stay_out_of_debug_errors_and_plain_http_needs_consent() {
    let mut c = WebhookConfig::new("http://127.0.0.1:9/x");
    c.headers
        .insert("Authorization".into(), Secret::new("Bearer hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    let e = c.validate().unwrap_err();
    assert_eq!(e.key(), "url");
    c.http.allow_insecure_http = true;
    c.validate().unwrap();
    c.headers
        .insert("X-Key".into(), Secret::new("bad\nvalue hunter2"));
    let e = c.validate().unwrap_err();
    assert_eq!(e.key(), "headers.X-Key");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let unknown = serde_json::from_str::<WebhookConfig>(r#"{"url":"https://h","nope":1}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
    let moved = serde_json::from_str::<WebhookConfig>(
        r#"{"url":"https://h","allow_insecure_http":true,"dead_letter":"d.jsonl"}"#,
    );
    assert!(moved.unwrap_err().to_string().contains("unknown field"));
}

#[test]
fn probe_reports_what_answered() {
    let server = Server::start(|r, _| {
        if r.header("authorization") == Some("Bearer ok") {
            respond(200, "")
        } else {
            respond(401, "")
        }
    });
    let mut c = WebhookConfig::new(server.url("/x"));
    c.http.allow_insecure_http = true;
    c.headers
        .insert("Authorization".into(), Secret::new("Bearer ok"));
    assert_eq!(c.probe(Duration::from_secs(5)).unwrap(), "HTTP 200 OK");
    c.headers
        .insert("Authorization".into(), Secret::new("Bearer wrong"));
    assert!(c.probe(Duration::from_secs(5)).unwrap_err().contains("401"));
}
