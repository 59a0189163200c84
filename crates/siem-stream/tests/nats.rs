//! The NATS JetStream destination against real `nats-server` processes on loopback.

#![cfg(feature = "nats")]

#[path = "support/nats.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use siem_event::{EventType, SecurityEvent};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_ship::sink::SinkConfig;
use siem_ship::{Batch, Sink};
use siem_stream::nats::{CreateStream, NatsConfig};
use support::{Reader, Server};
use tracing::warn;
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

fn failed_logins(range: std::ops::Range<usize>) -> Batch {
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    for i in range {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
        e.actor.user = Some(format!("user{i}"));
        batch.push_with(|out| encoder.encode(&e, out));
    }
    batch
}

fn create(replicas: usize) -> Option<CreateStream> {
    serde_json::from_value(serde_json::json!({ "replicas": replicas })).ok()
}

fn sink(config: &NatsConfig) -> Box<dyn Sink> {
    config.validate().unwrap();
    config.open().unwrap()
}

/// Sends `batch`, and again only what was not acknowledged, until all of it was (as the
/// route does), or panics after `within`.
fn send_until_acknowledged(sink: &mut dyn Sink, batch: &Batch, within: Duration) {
    let deadline = Instant::now() + within;
    let mut rest = batch.clone();
    while let Err(e) = sink.send(&rest) {
        assert!(e.is_retryable(), "{e}");
        assert!(Instant::now() < deadline, "still not acknowledged: {e}");
        let failed: BTreeSet<usize> = match e.failed_records() {
            Some(f) => f.iter().copied().collect(),
            None => (0..rest.len()).collect(),
        };
        rest.retain_indices(|i| failed.contains(&i));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn users(messages: &[(String, String, serde_json::Value)]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|(_, _, p)| p["actor"]["username"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_record_is_stored_once_with_its_event_id_as_nats_msg_id() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let config = NatsConfig::new(server.url()).stream("SIEM", create(1));
    let mut sink = sink(&config);
    let batch = failed_logins(0..50);
    sink.send(&batch).unwrap();
    sink.close().unwrap();

    let stored = Reader::connect(&server.url()).messages("SIEM");
    assert_eq!(stored.len(), 50);
    for (subject, id, payload) in &stored {
        assert_eq!(subject, "siem.events.auth.failure");
        assert_eq!(payload["id"], id.as_str());
    }
    assert_eq!(users(&stored).len(), 50);
}

#[test]
fn a_resent_record_is_acknowledged_and_stored_once() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let config = NatsConfig::new(server.url()).stream("SIEM", create(1));
    let mut sink = sink(&config);
    let batch = failed_logins(0..20);
    sink.send(&batch).unwrap();
    // The same records again, as after a lost acknowledgement: acknowledged as duplicates.
    sink.send(&batch).unwrap();
    let stored = Reader::connect(&server.url()).messages("SIEM");
    assert_eq!(stored.len(), 20);
}

#[test]
fn events_logged_while_the_server_restarts_are_retried_and_arrive() {
    logged_across_a_restart("");
}

#[test]
fn atomic_batches_logged_while_the_server_restarts_are_retried_and_arrive() {
    logged_across_a_restart("atomic_batch: 4");
}

/// Logs events before, during and after a server restart through the public pipeline, with
/// `extra` settings on the destination: every event stored exactly once.
fn logged_across_a_restart(extra: &str) {
    let Some((_dir, mut server)) = Server::single_if_available() else {
        return;
    };
    let yaml = format!(
        r#"
app: payments
rules: {{ enabled: false }}
destinations:
  - name: stream
    type: nats
    servers: {url}
    stream: SIEM
    create_stream: {{ replicas: 1 }}
    ack_timeout: 1s
    connect_timeout: 1s
    batch: {{ max_events: 10, interval: 50ms }}
    retry: {{ initial_backoff: 100ms, max_backoff: 500ms }}
    {extra}
"#,
        url = server.url()
    );
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..30 {
            warn!(
                event_type = "auth.failure",
                user = format!("before{i}").as_str(),
                "Failed login"
            );
        }
        handle.flush(Duration::from_secs(10));
        server.kill();
        for i in 0..30 {
            warn!(
                event_type = "auth.failure",
                user = format!("during{i}").as_str(),
                "Failed login"
            );
        }
        std::thread::sleep(Duration::from_secs(2));
        server.restart();
        for i in 0..30 {
            warn!(
                event_type = "auth.failure",
                user = format!("after{i}").as_str(),
                "Failed login"
            );
        }
    });
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = handle.metrics();
    assert_eq!(m.destinations[0].shipped, 90, "{}", m.destinations[0]);
    let stored = Reader::connect(&server.url()).messages("SIEM");
    assert_eq!(users(&stored).len(), 90);
    assert_eq!(stored.len(), 90, "a resent copy was stored twice");
}

#[test]
fn atomic_batches_are_split_at_the_server_limit_and_each_record_stored_once() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let config = NatsConfig::new(server.url())
        .stream("SIEM", create(1))
        .atomic_batch(Some(siem_stream::nats::MAX_ATOMIC_BATCH));
    let mut sink = sink(&config);
    // 2 500 records: three atomic batches, as the server refuses more than 1 000 in one.
    let batch = failed_logins(0..2500);
    sink.send(&batch).unwrap();
    sink.close().unwrap();

    let reader = Reader::connect(&server.url());
    assert!(
        reader.allows_atomic("SIEM"),
        "create_stream sets allow_atomic"
    );
    let stored = reader.messages("SIEM");
    assert_eq!(stored.len(), 2500);
    assert_eq!(users(&stored).len(), 2500);
    for (subject, id, payload) in &stored {
        assert_eq!(subject, "siem.events.auth.failure");
        assert_eq!(payload["id"], id.as_str());
    }
}

#[test]
fn a_resent_atomic_batch_is_acknowledged_and_stored_once() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let config = NatsConfig::new(server.url())
        .stream("SIEM", create(1))
        .atomic_batch(Some(10));
    let mut sink = sink(&config);
    let first = failed_logins(0..20);
    sink.send(&first).unwrap();
    // The same records again, as after a lost acknowledgement: the server refuses a batch
    // holding an id it stored, and the records go one by one, acknowledged as duplicates.
    sink.send(&first).unwrap();
    // A batch of stored and new records: the new ones are stored, the others once.
    let mut mixed = first.clone();
    for record in failed_logins(20..35).records() {
        mixed.push(record);
    }
    // A record twice in one batch (the route resending within a batch) is stored once too.
    mixed.push(failed_logins(35..36).records().next().unwrap());
    let twice = mixed.records().last().unwrap().to_vec();
    mixed.push(&twice);
    sink.send(&mixed).unwrap();

    let stored = Reader::connect(&server.url()).messages("SIEM");
    assert_eq!(users(&stored).len(), 36);
    assert_eq!(stored.len(), 36, "a resent record was stored twice");
}

#[test]
fn a_stream_without_atomic_batches_takes_the_records_one_by_one() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    // The stream exists without `allow_atomic`, created by someone else.
    sink(&NatsConfig::new(server.url()).stream("SIEM", create(1)))
        .send(&failed_logins(0..1))
        .unwrap();
    let config = NatsConfig::new(server.url())
        .stream("SIEM", None)
        .atomic_batch(Some(100));
    let mut sink = sink(&config);
    sink.send(&failed_logins(1..250)).unwrap();
    sink.send(&failed_logins(250..300)).unwrap();
    let reader = Reader::connect(&server.url());
    assert!(!reader.allows_atomic("SIEM"));
    let stored = reader.messages("SIEM");
    assert_eq!(users(&stored).len(), 300);
    assert_eq!(stored.len(), 300);
    let found = config.probe(Duration::from_secs(5)).unwrap();
    assert!(found.contains("does not allow atomic batches"), "{found}");
}

#[test]
fn a_refused_atomic_batch_stores_nothing_and_every_record_is_retryable() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    sink(
        &NatsConfig::new(server.url())
            .stream("SIEM", create(1))
            .atomic_batch(Some(10)),
    )
    .send(&failed_logins(0..1))
    .unwrap();
    // The subject is stored by SIEM, but this destination expects the stream OTHER: the
    // server refuses the first record, and with it the whole batch at its commit.
    let config = NatsConfig::new(server.url())
        .stream("OTHER", None)
        .atomic_batch(Some(10))
        .ack_timeout(Duration::from_secs(2));
    let e = sink(&config).send(&failed_logins(1..26)).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.failed_records(), Some(&(0..25).collect::<Vec<_>>()[..]));
    assert_eq!(Reader::connect(&server.url()).messages("SIEM").len(), 1);
}

#[test]
fn a_replicated_stream_loses_nothing_when_its_leader_dies() {
    let Some(()) = support::available() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = support::cluster(&dir);
    let urls: Vec<String> = nodes.iter().map(Server::url).collect();
    let config = NatsConfig::new(urls.join(","))
        .stream("SIEM", create(3))
        .ack_timeout(Duration::from_secs(2));
    let mut sink = sink(&config);
    // The cluster elects its meta leader a few seconds after starting.
    send_until_acknowledged(&mut *sink, &failed_logins(0..50), Duration::from_secs(60));

    let leader = Reader::connect(&urls[0])
        .leader("SIEM")
        .expect("the stream has a leader");
    let dead = nodes.iter().position(|n| n.name == leader).unwrap();
    nodes[dead].kill();
    send_until_acknowledged(&mut *sink, &failed_logins(50..100), Duration::from_secs(60));

    let alive = &urls[(dead + 1) % 3];
    let stored = Reader::connect(alive).messages("SIEM");
    assert_eq!(users(&stored).len(), 100);
    assert_eq!(stored.len(), 100);
}

#[test]
fn probe_reports_jetstream_and_the_stream() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let config = NatsConfig::new(server.url()).stream("SIEM", create(1));
    sink(&config).send(&failed_logins(0..3)).unwrap();
    let found = config.probe(Duration::from_secs(5)).unwrap();
    assert!(found.ends_with("stream SIEM holds 3 messages"), "{found}");
    drop(server);
    assert!(config.probe(Duration::from_secs(2)).is_err());
}

#[test]
fn credentials_are_presented_and_a_wrong_password_is_a_retryable_failure() {
    let Some(()) = support::available() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let args = ["--user", "siem", "--pass", "s3cr3t-pa55"].map(str::to_owned);
    let server = Server::start(
        "locked",
        dir.path().join("locked"),
        support::free_port(),
        &args,
    );
    let with = |password: &str| -> NatsConfig {
        serde_json::from_value(serde_json::json!({
            "servers": server.url(),
            "stream": "SIEM",
            "create_stream": {},
            "user": "siem",
            "password": password,
            "connect_timeout": "2s",
        }))
        .unwrap()
    };
    let e = sink(&with("wrong")).send(&failed_logins(0..5)).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(
        !e.to_string().contains("wrong"),
        "a password in an error: {e}"
    );
    sink(&with("s3cr3t-pa55"))
        .send(&failed_logins(0..5))
        .unwrap();
    let reader = Reader::connect_with(
        async_nats::ConnectOptions::with_user_and_password("siem".into(), "s3cr3t-pa55".into()),
        &server.url(),
    );
    assert_eq!(reader.messages("SIEM").len(), 5);
}

/// A CA and a certificate for `127.0.0.1` signed by it, as PEM files in `dir`: (CA, server
/// certificate, server key).
fn test_pki(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    (
        write("ca.pem", ca.pem()),
        write("server.pem", cert.pem()),
        write("server-key.pem", key.serialize_pem()),
    )
}

#[test]
fn tls_connections_trust_the_configured_ca_only() {
    let Some(()) = support::available() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(dir.path());
    let args = [
        "--tls".to_owned(),
        "--tlscert".to_owned(),
        cert.to_str().unwrap().to_owned(),
        "--tlskey".to_owned(),
        key.to_str().unwrap().to_owned(),
    ];
    let server = Server::start("tls", dir.path().join("tls"), support::free_port(), &args);
    let with = |tls: serde_json::Value| -> NatsConfig {
        serde_json::from_value(serde_json::json!({
            "servers": server.url(),
            "stream": "SIEM",
            "create_stream": {},
            "tls": tls,
            "connect_timeout": "2s",
        }))
        .unwrap()
    };
    // The system's roots do not know the test CA.
    let untrusted = sink(&with(serde_json::json!({}))).send(&failed_logins(0..3));
    assert!(untrusted.unwrap_err().is_retryable());
    sink(&with(serde_json::json!({ "ca_file": ca })))
        .send(&failed_logins(0..3))
        .unwrap();
}

#[path = "support/fleet.rs"]
mod fleet;

#[test]
#[ignore = "a member of the fleet test, run in a child process"]
fn fleet_member() {
    fleet::member();
}

#[test]
fn three_service_processes_fan_in_to_one_durable_stream() {
    let Some((_dir, server)) = Server::single_if_available() else {
        return;
    };
    let yaml = format!(
        "rules: {{ enabled: false }}\ndestinations:\n  - type: nats\n    servers: {}\n    stream: SIEM\n    create_stream: {{ replicas: 1 }}\n    batch: {{ max_events: 10, interval: 50ms }}\n",
        server.url()
    );
    let agents = ["agent-1", "agent-2", "agent-3"];
    fleet::run(&yaml, &agents);
    let stored = Reader::connect(&server.url()).messages("SIEM");
    assert_eq!(stored.len(), 3 * fleet::EVENTS);
    let payloads: Vec<serde_json::Value> = stored.into_iter().map(|(_, _, p)| p).collect();
    fleet::tally(&payloads, &agents);
}

#[test]
fn hostile_atomic_batch_sizes_are_refused_naming_the_key() {
    // The configuration reader runs the destination's `validate`, as `siem check` and
    // `build()` do.
    for (value, why) in [("0", "from 1 to 1000"), ("1001", "from 1 to 1000")] {
        let yaml = format!(
            "destinations: [ {{ type: nats, servers: '127.0.0.1:4222', atomic_batch: {value} }} ]"
        );
        let e = Config::from_yaml_str(&yaml).unwrap_err();
        assert_eq!(e.key(), "destinations[0].atomic_batch", "{yaml}: {e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    for value in ["-1", "many", "1.5"] {
        let yaml = format!(
            "destinations: [ {{ type: nats, servers: '127.0.0.1:4222', atomic_batch: {value} }} ]"
        );
        assert!(Config::from_yaml_str(&yaml).is_err(), "{yaml}");
    }
    let fine = "destinations: [ { type: nats, servers: '127.0.0.1:4222', atomic_batch: 1000 } ]";
    assert!(Config::from_yaml_str(fine).is_ok());
}
