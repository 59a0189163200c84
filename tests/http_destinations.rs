//! HTTP destinations through the layer and the destination table: a YAML configuration naming
//! `type: webhook` ships real requests to a local HTTP server, and `validate` (what `siem check`
//! runs) refuses what would fail at startup. The destinations' own contracts (Splunk HEC,
//! Elasticsearch, Datadog, OTLP) are tested in crates/siem-http against local servers.
#![cfg(feature = "webhook")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tracing::warn;
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

/// Answers `requests` HTTP requests with 200 and sends each request's head and body back.
fn server(requests: usize) -> (u16, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut served = 0;
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut writer = conn;
            loop {
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    head.push_str(&line);
                    line.clear();
                }
                if head.is_empty() {
                    break;
                }
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                writer
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .unwrap();
                let _ = tx.send((head, body));
                served += 1;
                if served == requests {
                    return;
                }
            }
        }
    });
    (port, rx)
}

#[test]
fn a_webhook_named_in_yaml_receives_the_events_through_the_layer() {
    let (port, requests) = server(1);
    let yaml = format!(
        r#"
app: payments
rules: {{ enabled: false }}
destinations:
  - name: hook
    type: webhook
    url: http://127.0.0.1:{port}/siem
    body: ndjson
    http: {{ compression: none }}
    batch: {{ max_events: 2, interval: 100ms }}
"#
    );
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        warn!(event_type = "auth.failure", user = "alice", "Failed login");
        warn!(event_type = "auth.failure", user = "bob", "Failed login");
    });
    let report = guard.shutdown(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    let (head, body) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(head.starts_with("POST /siem HTTP/1.1"), "{head}");
    let lines: Vec<serde_json::Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let users: Vec<&str> = lines
        .iter()
        .map(|e| e["actor"]["username"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(users, ["alice", "bob"], "{lines:?}");
}

#[test]
fn check_refuses_a_webhook_that_would_send_a_secret_in_clear() {
    let yaml = r#"
destinations:
  - type: webhook
    url: http://127.0.0.1:9/siem
    headers: { Authorization: "Bearer s3cr3t-value" }
"#;
    let err = Config::from_yaml_str(yaml).unwrap_err().to_string();
    assert!(err.starts_with("destinations[0]."), "{err}");
    assert!(err.contains("http"), "{err}");
    assert!(!err.contains("s3cr3t-value"), "a secret in an error: {err}");
    let unknown = Config::from_yaml_str("destinations: [ { type: webhok, url: x } ]")
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("webhook"),
        "registered types are listed: {unknown}"
    );
}

/// Seed 003's `notify_security_team` action, routed to a Slack-style alert webhook: the
/// alert arrives as one Slack message, and the events that raised it do not.
#[cfg(feature = "alert_webhook")]
#[test]
fn seed_003_notify_security_team_posts_the_alert_to_its_webhook() {
    let (port, requests) = server(2);
    let yaml = format!(
        r#"
app: payments
destinations:
  - name: security-alerts
    type: alert_webhook
    template: slack
    webhook_url: http://127.0.0.1:{port}/services/T0/B0/x
    http: {{ allow_insecure_http: true }}
    batch: {{ interval: 100ms }}
rules:
  defaults: false
  alerts:
    - name: Multiple Auth Failures
      condition: "event_type == 'auth.failure' AND count > 2 in 5m"
      severity: high
      action: notify_security_team
  actions:
    notify_security_team: {{ destination: security-alerts }}
"#
    );
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..3 {
            warn!(event_type = "auth.failure", user = "alice", "Failed login");
        }
    });
    let report = guard.shutdown(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    let (head, body) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        head.starts_with("POST /services/T0/B0/x HTTP/1.1"),
        "{head}"
    );
    let message: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        message["blocks"][0]["text"]["text"], "[HIGH] Multiple Auth Failures",
        "{message}"
    );
    let metrics = handle.metrics();
    let alerts = &metrics.destinations[0];
    assert_eq!(
        (alerts.shipped, alerts.filtered),
        (1, 3),
        "only the alert is posted, not the events behind it: {alerts}"
    );
    assert!(requests.try_recv().is_err());
}
