//! Splunk HEC against a local collector that checks the token and answers with HEC's codes.

#![cfg(feature = "splunk")]

mod support;

use std::time::Duration;

use siem_event::{EventType, SecurityEvent, Timestamp};
use siem_format::{Encoder, Format, FormatOptions, HecEncoder};
use siem_http::splunk_hec::{IndexerAck, SplunkHecConfig};
use siem_http::Secret;
use siem_ship::sink::SinkConfig;
use siem_ship::Batch;
use support::{batch, dead_letters, respond, respond_with, Request, Server};

const TOKEN: &str = "12345678-1234-1234-1234-1234567890AB";

/// A collector as the HEC documentation describes it: token check, then `answer`.
fn collector(answer: impl Fn(&Request, usize) -> support::Reply + Send + Sync + 'static) -> Server {
    Server::start(move |r, n| {
        if r.target == "/services/collector/health" {
            return respond(200, r#"{"text":"HEC is healthy","code":17}"#);
        }
        match r.header("authorization") {
            None => respond(401, r#"{"text":"Token is required","code":2}"#),
            Some(a) if a != format!("Splunk {TOKEN}") => {
                respond(403, r#"{"text":"Invalid token","code":4}"#)
            }
            Some(_) => answer(r, n),
        }
    })
}

fn config(server: &Server, token: &str, dir: &tempfile::TempDir) -> SplunkHecConfig {
    let mut c = SplunkHecConfig::new(server.url(""), Secret::new(token));
    c.http.allow_insecure_http = true;
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c
}

fn hec_batch(n: usize) -> Batch {
    let options = FormatOptions::default()
        .hec_index("security")
        .hec_sourcetype("acme:security")
        .hostname("web01");
    let encoder = HecEncoder::new(&options).unwrap();
    let mut b = Batch::default();
    for i in 0..n {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), format!("login {i}"));
        e.timestamp = Timestamp::from_unix_millis(1_718_880_000_123 + i as i64);
        b.push_with(|out| encoder.encode(&e, out));
    }
    b
}

#[test]
fn envelopes_are_concatenated_gzipped_and_authorised() {
    let server = collector(|_, _| respond(200, r#"{"text":"Success","code":0}"#));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server, TOKEN, &dir);
    c.validate().unwrap();
    let events = hec_batch(3);
    c.open().unwrap().send(&events).unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/services/collector/event");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let expected: Vec<&[u8]> = events.records().collect();
    assert_eq!(r.body, expected.join(&b"\n"[..]));
    let first: serde_json::Value = serde_json::Deserializer::from_slice(&r.body)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first["index"], "security");
    assert_eq!(first["time"].to_string(), "1718880000.123");
}

#[test]
fn an_invalid_event_refuses_it_keeps_those_before_and_retries_those_after() {
    let server = collector(|_, _| {
        respond(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&server, TOKEN, &dir)
        .open()
        .unwrap()
        .send(&batch(&[
            r#"{"event":"a"}"#,
            r#"{"event":"b"}"#,
            r#"{"event":"c"}"#,
        ]))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[2usize][..]));
    assert_eq!(e.rejected_records(), Some(&[1usize][..]));
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0]["record"]["event"], "b");
    assert_eq!(dl[0]["status"], 400);
    assert_eq!(dl[0]["destination"], "splunk_hec");
    assert_eq!(
        dl[0]["reason"],
        "HEC code 6 (HTTP 400): Invalid data format"
    );
}

#[test]
fn a_busy_collector_is_retried_after_its_retry_after() {
    let server = collector(|_, _| {
        respond_with(
            503,
            vec![("Retry-After", "3".into())],
            r#"{"text":"Server is busy","code":9}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&server, TOKEN, &dir)
        .open()
        .unwrap()
        .send(&hec_batch(2))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    assert!(e.message().contains("HEC code 9"), "{e}");
}

#[test]
fn a_wrong_token_dead_letters_and_never_shows_the_token() {
    let server = collector(|_, _| respond(200, r#"{"text":"Success","code":0}"#));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server, "wrong-token-value", &dir);
    assert!(!format!("{c:?}").contains("wrong-token-value"));
    let e = c.open().unwrap().send(&hec_batch(2)).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.message().contains("HEC code 4"), "{e}");
    assert!(!e.message().contains("wrong-token-value"), "{e}");
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 2);
    assert_eq!(dl[0]["status"], 403);
    assert!(!std::fs::read_to_string(dir.path().join("dead.jsonl"))
        .unwrap()
        .contains("wrong-token-value"));
}

#[test]
fn batches_over_the_byte_limit_go_in_several_requests() {
    let server = collector(|_, _| respond(200, r#"{"text":"Success","code":0}"#));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&server, TOKEN, &dir);
    let events = hec_batch(10);
    let one = events.record(0).unwrap().len();
    c.http.max_bytes = Some(one * 3 + 2);
    c.http.max_in_flight = 1;
    c.open().unwrap().send(&events).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let all: Vec<u8> = requests
        .iter()
        .map(|r| r.body.clone())
        .collect::<Vec<_>>()
        .join(&b"\n"[..]);
    let expected: Vec<&[u8]> = events.records().collect();
    assert_eq!(all, expected.join(&b"\n"[..]));
}

#[test]
fn only_the_hec_format_is_accepted_and_plain_http_needs_consent() {
    let c = SplunkHecConfig::new("https://splunk:8088", Secret::new(TOKEN));
    assert!(c.accepts(Format::Hec, &FormatOptions::default()).is_ok());
    let e = c
        .accepts(Format::Cef, &FormatOptions::default())
        .unwrap_err();
    assert!(e.contains("format: hec"), "{e}");
    let insecure = SplunkHecConfig::new("http://splunk:8088", Secret::new(TOKEN));
    assert_eq!(insecure.validate().unwrap_err().key(), "url");
    let empty = SplunkHecConfig::new("https://splunk:8088", Secret::new(" "));
    assert_eq!(empty.validate().unwrap_err().key(), "token");
}

#[test]
fn probe_asks_the_health_endpoint() {
    let server = collector(|_, _| respond(200, ""));
    let dir = tempfile::tempdir().unwrap();
    let got = config(&server, TOKEN, &dir)
        .probe(Duration::from_secs(5))
        .unwrap();
    assert_eq!(got, r#"HTTP 200 OK: {"text":"HEC is healthy","code":17}"#);
}

fn with_ack(server: &Server, dir: &tempfile::TempDir, timeout_ms: u64) -> SplunkHecConfig {
    let mut c = config(server, TOKEN, dir);
    c.indexer_ack = Some(
        IndexerAck::default()
            .timeout(Duration::from_millis(timeout_ms))
            .poll_interval(Duration::from_millis(10)),
    );
    c
}

#[test]
fn with_indexer_ack_records_count_once_their_ack_id_is_indexed() {
    // Event requests get ackId 7; the ack endpoint says false twice, then true.
    let polls = std::sync::atomic::AtomicUsize::new(0);
    let server = collector(move |r, _| {
        if r.target.starts_with("/services/collector/ack?channel=") {
            let n = polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let indexed = n >= 2;
            return respond(200, format!(r#"{{"acks":{{"7":{indexed}}}}}"#));
        }
        respond(200, r#"{"text":"Success","code":0,"ackId":7}"#)
    });
    let dir = tempfile::tempdir().unwrap();
    with_ack(&server, &dir, 10_000)
        .open()
        .unwrap()
        .send(&hec_batch(2))
        .unwrap();
    let requests = server.requests();
    let channel = requests[0]
        .header("x-splunk-request-channel")
        .unwrap()
        .to_owned();
    assert_eq!(channel.len(), 36, "a GUID: {channel}");
    let polls: Vec<&Request> = requests[1..].iter().collect();
    assert_eq!(polls.len(), 3);
    for p in polls {
        assert_eq!(p.method, "POST");
        assert_eq!(
            p.target,
            format!("/services/collector/ack?channel={channel}")
        );
        assert_eq!(p.header("x-splunk-request-channel"), Some(channel.as_str()));
        assert_eq!(p.text(), r#"{"acks":[7]}"#);
    }
}

#[test]
fn with_indexer_ack_unacknowledged_records_are_retried_after_the_timeout() {
    let server = collector(|r, _| {
        if r.target.starts_with("/services/collector/ack") {
            return respond(200, r#"{"acks":{"3":false}}"#);
        }
        respond(200, r#"{"text":"Success","code":0,"ackId":3}"#)
    });
    let dir = tempfile::tempdir().unwrap();
    let e = with_ack(&server, &dir, 200)
        .open()
        .unwrap()
        .send(&hec_batch(2))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    assert!(e.message().contains("ackId 3 not acknowledged"), "{e}");
}
