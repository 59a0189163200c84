//! Datadog Logs v2 against a local intake that checks the API key and the documented limits.

#![cfg(feature = "datadog")]

mod support;

use std::time::Duration;

use siem_http::datadog::DatadogConfig;
use siem_http::{Compression, Secret};
use siem_ship::sink::SinkConfig;
use support::{batch, dead_letters, respond, respond_with, Request, Server};

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// The intake: 401 without a key, 403 with a wrong one, 413 past `max_entries` logs, else
/// `answer`.
fn intake(
    max_entries: usize,
    answer: impl Fn(&Request, usize) -> support::Reply + Send + Sync + 'static,
) -> Server {
    Server::start(move |r, n| match r.header("dd-api-key") {
        None => respond(401, r#"{"errors":["Unauthorized"]}"#),
        Some(k) if k != KEY => respond(403, r#"{"errors":["Forbidden"]}"#),
        Some(_) => {
            let logs: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
            if logs.len() > max_entries {
                respond(413, r#"{"errors":["Payload too large"]}"#)
            } else {
                answer(r, n)
            }
        }
    })
}

fn config(server: &Server, dir: &tempfile::TempDir) -> DatadogConfig {
    let mut c = DatadogConfig::new("datadoghq.eu", Secret::new(KEY));
    c.url = Some(server.url("/api/v2/logs"));
    c.http.allow_insecure_http = true;
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c
}

#[test]
fn logs_carry_service_source_host_and_tags() {
    let server = intake(1000, |_, _| respond(202, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.service = Some("appshield".into());
    c.source = Some("appshield".into());
    c.hostname = Some("web01".into());
    c.tags = vec!["env:prod".into(), "team:sec".into()];
    c.http.compression = Some(Compression::None);
    c.validate().unwrap();
    c.open()
        .unwrap()
        .send(&batch(&[
            r#"{"message":"Failed login","usr":{"name":"alice"}}"#,
            "{}",
            "CEF:0|a|b",
        ]))
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.target, "/api/v2/logs");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), None);
    let attrs = r#""ddsource":"appshield","service":"appshield","hostname":"web01","ddtags":"env:prod,team:sec""#;
    assert_eq!(
        r.text(),
        format!(
            r#"[{{{attrs},"message":"Failed login","usr":{{"name":"alice"}}}},{{{attrs}}},{{{attrs},"message":"CEF:0|a|b"}}]"#
        )
    );
}

#[test]
fn entry_limit_splits_and_a_413_halves() {
    // The intake takes 2 logs per request; the destination believes 3.
    let server = intake(2, |_, _| respond(202, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, &dir);
    c.http.max_entries = Some(3);
    c.http.max_in_flight = 1;
    let records: Vec<String> = (0..6).map(|i| format!("{{\"n\":{i}}}")).collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    c.open().unwrap().send(&batch(&refs)).unwrap();
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
            r#"[{"n":0}]"#,
            r#"[{"n":1},{"n":2}]"#,
            r#"[{"n":3}]"#,
            r#"[{"n":4},{"n":5}]"#
        ]
    );
    assert_eq!(
        server.requests()[0].header("content-encoding"),
        Some("gzip")
    );
}

#[test]
fn a_log_over_one_megabyte_is_dead_lettered_not_truncated() {
    let server = intake(1000, |_, _| respond(202, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(1_000_001));
    let e = config(&server, &dir)
        .open()
        .unwrap()
        .send(&batch(&["{\"n\":1}", &big]))
        .unwrap_err();
    assert_eq!(e.failed_records(), Some(&[1usize][..]));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(dead_letters(&dir.path().join("dead.jsonl")).len(), 1);
}

#[test]
fn throttling_and_bad_keys() {
    let server = intake(1000, |_, _| {
        respond_with(429, vec![("Retry-After", "2".into())], "{}")
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&server, &dir)
        .open()
        .unwrap()
        .send(&batch(&["{}"]))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    let mut wrong = config(&server, &dir);
    wrong.api_key = Secret::new("not-the-key");
    let e = wrong.open().unwrap().send(&batch(&["{}"])).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.message().contains("403"), "{e}");
    assert!(!e.message().contains("not-the-key"));
    assert_eq!(
        dead_letters(&dir.path().join("dead.jsonl"))[0]["status"],
        403
    );
}

#[test]
fn configuration_is_checked() {
    let c = DatadogConfig::new("datadoghq.moon", Secret::new(KEY));
    assert_eq!(c.validate().unwrap_err().key(), "site");
    let mut c = DatadogConfig::new("datadoghq.com", Secret::new(KEY));
    c.tags = vec!["a:b,c".into()];
    assert_eq!(c.validate().unwrap_err().key(), "tags[0]");
    let mut c = DatadogConfig::new("datadoghq.com", Secret::new(KEY));
    c.url = Some("http://proxy:8080/v2".into());
    assert_eq!(c.validate().unwrap_err().key(), "url");
    let unknown = serde_json::from_str::<DatadogConfig>(r#"{"api_key":"k","region":"eu"}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}
