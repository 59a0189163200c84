//! The destination's own runtime: shipping works from a synchronous program and from inside
//! an application's tokio runtime (either flavour), and shutdown completes in both.

#![cfg(feature = "webhook")]

mod support;

use std::time::Duration;

use siem_event::{EventType, SecurityEvent};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_http::webhook::{WebhookBody, WebhookConfig};
use siem_ship::sink::SinkConfig;
use siem_ship::{BatchConfig, Destination, Pipeline, PipelineConfig, Processor};
use support::{respond, Server};

struct Messages;
impl Processor<String> for Messages {
    fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
        out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
    }
}

/// Sends `n` events through a pipeline to a webhook on `server`, shuts down, and returns the
/// messages the server received, in order.
fn ship(server: &Server, n: usize) -> Vec<String> {
    let mut c = WebhookConfig::new(server.url("/in"));
    c.body = WebhookBody::Ndjson;
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let dest = Destination::new("hook", encoder, c.open().unwrap()).with_batch(
        BatchConfig::default()
            .max_events(10)
            .max_bytes(1 << 20)
            .interval(Duration::from_millis(10)),
    );
    let p = Pipeline::start(PipelineConfig::default(), Messages, vec![dest]).unwrap();
    for i in 0..n {
        assert!(p.queue().push(format!("event {i}"), false));
    }
    let report = p.shutdown(Duration::from_secs(20));
    assert!(report.completed, "{report:?}");
    assert_eq!(p.metrics().shipped(), n as u64);
    server
        .requests()
        .iter()
        .flat_map(|r| {
            r.text()
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["message"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("event {i}")).collect()
}

#[test]
fn ships_from_a_synchronous_program() {
    let server = Server::start(|_, _| respond(200, ""));
    assert_eq!(ship(&server, 55), expected(55));
}

#[tokio::test(flavor = "current_thread")]
async fn ships_and_shuts_down_inside_a_current_thread_runtime() {
    let server = Server::start(|_, _| respond(200, ""));
    assert_eq!(ship(&server, 55), expected(55));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_and_shuts_down_inside_a_multi_thread_runtime() {
    let server = Server::start(|_, _| respond(200, ""));
    assert_eq!(ship(&server, 55), expected(55));
}

#[tokio::test(flavor = "current_thread")]
async fn probe_works_inside_a_runtime() {
    let server = Server::start(|_, _| respond(200, ""));
    let c = WebhookConfig::new(server.url("/in"));
    assert_eq!(c.probe(Duration::from_secs(5)).unwrap(), "HTTP 200 OK");
}
