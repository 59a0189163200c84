//! The HTTP sinks driven by the route, as in production: the route retries what the sink says
//! may be retried, waits the server's Retry-After, sends only the undelivered records again,
//! and counts the refused ones as rejected.

#![cfg(all(feature = "webhook", feature = "elasticsearch"))]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use siem_event::{EventType, SecurityEvent};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_http::elasticsearch::ElasticsearchConfig;
use siem_http::webhook::{WebhookBody, WebhookConfig};
use siem_http::Compression;
use siem_ship::sink::SinkConfig;
use siem_ship::{
    BatchConfig, Destination, DropReason, Pipeline, PipelineConfig, Processor, RetryConfig,
};
use support::{dead_letters, respond, respond_with, Server};

struct Messages;
impl Processor<String> for Messages {
    fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
        out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
    }
}

fn run(destination: Destination, messages: &[&str]) -> Pipeline<String> {
    let p = Pipeline::start(PipelineConfig::default(), Messages, vec![destination]).unwrap();
    for m in messages {
        assert!(p.queue().push((*m).to_owned(), false));
    }
    assert!(p.flush(Duration::from_secs(20)).completed);
    p
}

fn one_batch() -> BatchConfig {
    BatchConfig::default()
        .max_events(100)
        .max_bytes(1 << 20)
        .interval(Duration::from_millis(50))
}

fn quick_retries() -> RetryConfig {
    RetryConfig::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

fn messages_in(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["message"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_storm_of_server_errors_ends_in_exactly_one_delivery() {
    // Three 503s (the second with Retry-After), then 200.
    let server = Server::start(|_, n| match n {
        0 | 2 => respond(503, "storm"),
        1 => respond_with(503, vec![("Retry-After", "1".into())], "storm"),
        _ => respond(200, ""),
    });
    let mut c = WebhookConfig::new(server.url("/in"));
    c.body = WebhookBody::Ndjson;
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let dest = Destination::new("hook", encoder, c.open().unwrap())
        .with_batch(one_batch())
        .with_retry(quick_retries());
    let p = run(dest, &["a", "b", "c"]);
    let d = &p.metrics().destinations[0];
    assert_eq!((d.shipped, d.ship_failures), (3, 3));
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests
        .iter()
        .all(|r| messages_in(&r.body) == ["a", "b", "c"]));
    p.shutdown(Duration::from_secs(5));
}

#[test]
fn bulk_items_back_pressured_are_resent_alone_and_bad_ones_counted_rejected() {
    // First bulk: item 1 refused (400), item 2 back-pressured (429); then everything passes.
    let bulks = AtomicUsize::new(0);
    let server = Server::start(move |_, _| {
        if bulks.fetch_add(1, Ordering::SeqCst) == 0 {
            respond(
                200,
                r#"{"errors":true,"items":[{"create":{"status":201}},
                {"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}},
                {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
                {"create":{"status":201}}]}"#,
            )
        } else {
            respond(200, r#"{"errors":false}"#)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = ElasticsearchConfig::new(server.url(""), "security");
    c.http.compression = Some(Compression::None);
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    let encoder = build_encoder(Format::Ecs, &FormatOptions::default()).unwrap();
    let dest = Destination::new("es", encoder, c.open().unwrap())
        .with_batch(one_batch())
        .with_retry(quick_retries());
    let p = run(dest, &["a", "b", "c", "d"]);
    let d = &p.metrics().destinations[0];
    assert_eq!(d.shipped, 3);
    assert_eq!(d.dropped, vec![(DropReason::Rejected, 1)]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(messages_in(&requests[0].body), ["a", "b", "c", "d"]);
    assert_eq!(messages_in(&requests[1].body), ["c"]);
    let dl = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0]["record"]["message"], "b");
    p.shutdown(Duration::from_secs(5));
}
