//! The Kafka destination against librdkafka's mock cluster: three brokers on loopback ports,
//! spoken to over the Kafka protocol like a real cluster. With `KAFKA_BOOTSTRAP` set, against
//! that cluster instead (tests that stop brokers are then skipped).

#![cfg(feature = "kafka")]

#[path = "support/kafka.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use siem_event::{EventType, SecurityEvent};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_ship::sink::SinkConfig;
use siem_ship::{Batch, Sink};
use siem_stream::kafka::{KafkaConfig, Properties};
use siem_stream::NameTemplate;

/// `n` failed logins over four (tenant, source IP) pairs, as canonical JSON records.
fn failed_logins(n: usize) -> (Batch, Vec<SecurityEvent>) {
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    let mut events = Vec::new();
    for i in 0..n {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
        e.tenant_id = Some(format!("tenant-{}", i % 2));
        e.actor.source_ip = Some(format!("10.0.0.{}", i % 4));
        e.actor.user = Some(format!("user{i}"));
        batch.push_with(|out| encoder.encode(&e, out));
        events.push(e);
    }
    (batch, events)
}

fn fixed(topic: &str) -> NameTemplate {
    NameTemplate::parse(topic).unwrap()
}

fn sink(config: KafkaConfig) -> Box<dyn Sink> {
    config.validate().unwrap();
    config.open().unwrap()
}

#[test]
fn messages_of_one_key_share_a_partition_and_carry_the_event_id_and_type() {
    let (cluster, topic) = support::cluster("siem-events", 4);
    let bootstrap = cluster.bootstrap();
    let (batch, events) = failed_logins(40);
    let mut sink = sink(KafkaConfig::new(bootstrap.clone()).topic(fixed(&topic)));
    sink.send(&batch).unwrap();
    sink.close().unwrap();

    let received = support::consume(&bootstrap, &topic, 4, 40);
    assert_eq!(received.len(), 40);
    let mut partitions_of_key: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for m in &received {
        let key = m
            .key
            .clone()
            .expect("every record has a tenant and a source IP");
        partitions_of_key
            .entry(key)
            .or_default()
            .insert(m.partition);
    }
    let keys: Vec<&String> = partitions_of_key.keys().collect();
    assert_eq!(
        keys,
        [
            "tenant-0|10.0.0.0",
            "tenant-0|10.0.0.2",
            "tenant-1|10.0.0.1",
            "tenant-1|10.0.0.3"
        ]
    );
    assert!(
        partitions_of_key.values().all(|p| p.len() == 1),
        "a key in more than one partition: {partitions_of_key:?}"
    );
    let ids: BTreeSet<String> = events.iter().map(|e| e.id.to_string()).collect();
    for m in &received {
        assert_eq!(m.headers["event_type"], "auth.failure");
        assert_eq!(m.payload["id"], m.headers["event_id"].as_str());
        assert!(ids.contains(&m.headers["event_id"]));
    }
}

#[test]
fn records_without_tenant_or_address_are_keyed_by_user_and_routed_by_the_topic_template() {
    let cluster = support::Cluster::start();
    let prefix = cluster.unique("siem");
    let topic = format!("{prefix}-authz.access_denied");
    cluster.create_topic(&topic, 2);
    let bootstrap = cluster.bootstrap();
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    let mut e = SecurityEvent::new(EventType::parse("authz.access_denied"), "Denied");
    e.actor.user = Some("mallory".into());
    batch.push_with(|out| encoder.encode(&e, out));
    let config = KafkaConfig::new(bootstrap.clone())
        .topic(NameTemplate::parse(&format!("{prefix}-{{event_type}}")).unwrap());
    let mut sink = sink(config);
    sink.send(&batch).unwrap();
    let received = support::consume(&bootstrap, &topic, 2, 1);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].key.as_deref(), Some("mallory"));
}

#[test]
fn records_in_another_format_travel_unkeyed_when_no_field_is_read() {
    let (cluster, topic) = support::cluster("siem-events", 1);
    let bootstrap = cluster.bootstrap();
    let encoder = build_encoder(Format::Cef, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
    e.actor.user = Some("alice".into());
    batch.push_with(|out| encoder.encode(&e, out));
    let config = KafkaConfig::new(bootstrap.clone())
        .topic(fixed(&topic))
        .keyed_by(Vec::<String>::new())
        .keyed_by_fallback(Vec::<String>::new());
    assert!(config
        .accepts(Format::Cef, &FormatOptions::default())
        .is_ok());
    let mut sink = sink(config);
    sink.send(&batch).unwrap();
    let received = support::consume(&bootstrap, &topic, 1, 1);
    assert_eq!(received.len(), 1);
    assert!(
        received[0].bytes.starts_with(b"CEF:0|"),
        "{:?}",
        received[0]
    );
    assert_eq!(
        (received[0].key.as_deref(), received[0].headers.len()),
        (None, 0)
    );
}

#[test]
fn a_message_larger_than_the_brokers_take_is_rejected_and_the_others_delivered() {
    let (cluster, topic) = support::cluster("siem-events", 1);
    let bootstrap = cluster.bootstrap();
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    for message in ["short", &"x".repeat(4000), "short too"] {
        let e = SecurityEvent::new(EventType::parse("auth.failure"), message);
        batch.push_with(|out| encoder.encode(&e, out));
    }
    let config = KafkaConfig::new(bootstrap.clone())
        .topic(fixed(&topic))
        .properties(Properties::new([("message.max.bytes", "2000")]));
    let mut sink = sink(config);
    let e = sink.send(&batch).unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(e.failed_records(), Some(&[1usize][..]), "{e}");
    let received = support::consume(&bootstrap, &topic, 1, 2);
    let messages: Vec<&str> = received
        .iter()
        .map(|m| m.payload["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["short", "short too"]);
}

#[test]
fn records_the_brokers_never_acknowledge_are_retryable_and_delivered_once_they_return() {
    let (cluster, topic) = support::cluster("siem-events", 2);
    let Some(mock) = cluster.mock() else { return };
    let bootstrap = cluster.bootstrap();
    let (batch, _) = failed_logins(10);
    let mut sink = sink(
        KafkaConfig::new(bootstrap.clone())
            .topic(fixed(&topic))
            .delivery_timeout(Duration::from_secs(2)),
    );
    for broker in 1..=3 {
        mock.broker_down(broker).unwrap();
    }
    let e = sink.send(&batch).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(
        e.failed_records(),
        Some(&(0..10).collect::<Vec<_>>()[..]),
        "{e}"
    );
    for broker in 1..=3 {
        mock.broker_up(broker).unwrap();
    }
    sink.send(&batch).unwrap();
    let received = support::consume(&bootstrap, &topic, 2, 10);
    assert_eq!(received.len(), 10);
}

#[test]
fn probe_reports_the_brokers_and_the_topic() {
    let (cluster, topic) = support::cluster("siem-events", 3);
    let found = KafkaConfig::new(cluster.bootstrap())
        .topic(fixed(&topic))
        .probe(Duration::from_secs(10))
        .unwrap();
    assert!(
        found.ends_with(&format!(" brokers; topic {topic} has 3 partitions")),
        "{found}"
    );
    if let support::Cluster::Mock(_) = cluster {
        assert!(found.starts_with("3 brokers"), "{found}");
    }
    let closed = KafkaConfig::new("127.0.0.1:1").probe(Duration::from_millis(500));
    assert!(closed.is_err(), "{closed:?}");
}

#[test]
fn events_logged_through_the_layer_count_as_shipped_once_the_brokers_acknowledged_them() {
    use tracing::warn;
    use tracing_siem::{Config, SiemBuilder};
    use tracing_subscriber::prelude::*;

    let (cluster, topic) = support::cluster("siem-events", 4);
    let bootstrap = cluster.bootstrap();
    let yaml = format!(
        r#"
app: payments
rules: {{ enabled: false }}
destinations:
  - name: stream
    type: kafka
    brokers: "{bootstrap}"
    topic: {topic}
    compression: lz4
    batch: {{ max_events: 25, interval: 50ms }}
"#
    );
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..100 {
            let ip = format!("10.1.0.{}", i % 5);
            warn!(
                event_type = "auth.failure",
                user = "alice",
                source_ip = ip.as_str(),
                n = i,
                "Failed login"
            );
        }
    });
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = handle.metrics();
    assert_eq!(m.destinations[0].shipped, 100, "{}", m.destinations[0]);

    let received = support::consume(&bootstrap, &topic, 4, 100);
    assert_eq!(received.len(), 100);
    let ns: BTreeSet<i64> = received
        .iter()
        .map(|m| m.payload["metadata"]["n"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(ns, (0..100).collect());
    let keys: BTreeSet<&str> = received.iter().filter_map(|m| m.key.as_deref()).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
}

#[test]
fn hostile_configuration_is_refused_naming_the_key_and_never_a_credential() {
    for (yaml, key) in [
        ("{ type: kafka }", "destinations[0]"),
        ("{ type: kafka, brokers: [] }", "destinations[0].brokers"),
        (
            "{ type: kafka, brokers: 'k:99999' }",
            "destinations[0].brokers[0]",
        ),
        (
            "{ type: kafka, brokers: { a: 1 } }",
            "destinations[0].brokers",
        ),
        (
            "{ type: kafka, brokers: 'k:1', topic: 'a/b' }",
            "destinations[0].topic",
        ),
        (
            "{ type: kafka, brokers: 'k:1', topic: 'x-{' }",
            "destinations[0].topic",
        ),
        (
            "{ type: kafka, brokers: 'k:1', compression: brotli }",
            "destinations[0].compression",
        ),
        (
            "{ type: kafka, brokers: 'k:1', linger: -5ms }",
            "destinations[0].linger",
        ),
        (
            "{ type: kafka, brokers: 'k:1', properties: { acks: '0' } }",
            "destinations[0].properties.acks",
        ),
        (
            "{ type: kafka, brokers: 'k:1', properties: { sasl.password: [s3cr3t-value] } }",
            "destinations[0].properties.sasl.password",
        ),
        (
            "{ type: kafka, brokers: 'k:1', properties: { message.max.bytes: s3cr3t-value } }",
            "destinations[0].properties.message.max.bytes",
        ),
        (
            "{ type: kafka, brokers: 'k:1', format: cef }",
            "destinations[0]",
        ),
    ] {
        let yaml = format!("destinations: [ {yaml} ]");
        let e = tracing_siem::Config::from_yaml_str(&yaml).unwrap_err();
        assert!(e.key().starts_with(key), "{yaml}: {} ({e})", e.key());
        if yaml.contains("password") {
            assert!(!e.to_string().contains("s3cr3t-value"), "{e}");
        }
    }
}

#[test]
fn events_the_brokers_never_acknowledge_are_counted_dropped_after_the_retries() {
    use siem_ship::DropReason;
    use tracing::warn;
    use tracing_siem::{Config, SiemBuilder};
    use tracing_subscriber::prelude::*;

    let (cluster, topic) = support::cluster("siem-events", 2);
    let Some(mock) = cluster.mock() else { return };
    for broker in 1..=3 {
        mock.broker_down(broker).unwrap();
    }
    let yaml = format!(
        r#"
rules: {{ enabled: false }}
destinations:
  - name: stream
    type: kafka
    brokers: "{bootstrap}"
    topic: {topic}
    delivery_timeout: 300ms
    batch: {{ max_events: 10, interval: 50ms }}
    retry: {{ initial_backoff: 50ms, max_backoff: 100ms, max_attempts: 2 }}
"#,
        bootstrap = cluster.bootstrap()
    );
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..10 {
            warn!(event_type = "auth.failure", user = "alice", "Failed login");
        }
    });
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = handle.metrics();
    let d = &m.destinations[0];
    assert_eq!(d.shipped, 0, "{d}");
    assert_eq!(d.dropped, [(DropReason::RetriesExhausted, 10)], "{d}");
    assert!(d.ship_failures >= 2, "{d}");
}

#[path = "support/fleet.rs"]
mod fleet;

#[test]
#[ignore = "a member of the fleet test, run in a child process"]
fn fleet_member() {
    fleet::member();
}

#[test]
fn three_service_processes_produce_to_one_cluster() {
    let (cluster, topic) = support::cluster("siem-events", 4);
    let bootstrap = cluster.bootstrap();
    let yaml = format!(
        "rules: {{ enabled: false }}\ndestinations:\n  - type: kafka\n    brokers: \"{bootstrap}\"\n    topic: {topic}\n    batch: {{ max_events: 10, interval: 50ms }}\n"
    );
    let agents = ["agent-1", "agent-2", "agent-3"];
    fleet::run(&yaml, &agents);
    let received = support::consume(&bootstrap, &topic, 4, 3 * fleet::EVENTS);
    assert_eq!(received.len(), 3 * fleet::EVENTS);
    let payloads: Vec<serde_json::Value> = received.iter().map(|m| m.payload.clone()).collect();
    fleet::tally(&payloads, &agents);
    // One (tenant-less) source IP: one key, so one partition, across all three processes.
    let partitions: BTreeSet<i32> = received.iter().map(|m| m.partition).collect();
    assert_eq!(partitions.len(), 1, "{partitions:?}");
}
