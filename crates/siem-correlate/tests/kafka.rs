//! The correlator against librdkafka's mock cluster (3 brokers on loopback), or the cluster at
//! `KAFKA_BOOTSTRAP` (with topics and groups of its own) when that is set: windows on event
//! time, commits only after shipping, hostile messages, re-keyed rules and seed 000's
//! distributed attack.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const BRUTE_FORCE_PER_KEY: &str = r#"  defaults: false
  correlation: { enabled: false }
  alerts:
    - name: brute_force
      event_type: auth.failure
      threshold: 5
      window: 5m
      cooldown: 1h
      group_by: [tenant_id, source_ip]
      level: PAGE
"#;

#[test]
fn a_threshold_fires_from_one_keys_events_spread_over_time() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let running = start(&config(&cluster, "g1", &alerts, BRUTE_FORCE_PER_KEY, ""));
    let mut events = Vec::new();
    // Five failures within four minutes of event time: an attack.
    for i in 0..5 {
        events.push(failure("alice", "203.0.113.7", i * 60));
    }
    // Five failures over twenty minutes: never five in one 5-minute window.
    for i in 0..5 {
        events.push(failure("bob", "198.51.100.9", i * 300));
    }
    // Four failures: below the threshold.
    for i in 0..4 {
        events.push(failure("carol", "192.0.2.1", i));
    }
    produce(&cluster, &events);
    assert!(eventually(|| !alerts_in(&alerts).is_empty()), "no alert");
    running.stop();
    let shipped = alerts_in(&alerts);
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(shipped[0]["metadata"]["rule"], "brute_force");
    assert_eq!(shipped[0]["actor"]["ip_address"], "203.0.113.7");
    assert_eq!(shipped[0]["metadata"]["count"], 5);
}

/// The committed offsets of `group` on the events topic, summed over its 4 partitions.
/// The sum of `group`'s committed offsets over the four partitions of `topic`.
fn committed(cluster: &Cluster, group: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .set("group.id", cluster.group(group))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..4 {
        tpl.add_partition(topic, p);
    }
    let Ok(found) = consumer.committed_offsets(tpl, Duration::from_secs(5)) else {
        return -1;
    };
    found
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

#[test]
fn offsets_are_committed_only_once_the_alerts_are_shipped() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A re-keyed rule beside it: every try copies the batch to the repartition topic again,
    // and those repeats must not count (five failures stay under six).
    let rules = format!("{BRUTE_FORCE_PER_KEY}    - {{ name: spray, event_type: auth.failure, threshold: 6, window: 5m, cooldown: 1h, group_by: [user] }}\n");
    // The alerts go to a syslog collector that is down at first.
    let yaml = config(&cluster, "g2", &dir.path().join("unused"), &rules, "")
        .replace(
            &format!("  - type: file\n    path: {}\n", dir.path().join("unused").display()),
            &format!("  - type: syslog\n    transport: tcp\n    host: 127.0.0.1\n    port: {port}\n    framing: lf\n    backoff: {{ initial: 10ms, max: 100ms }}\n    retry: {{ max_attempts: 2, initial_backoff: 10ms, max_backoff: 100ms, open_after: 1000 }}\n"),
        )
        .replace("    format: json\n", "    format: rfc5424\n    format_options: { body: json }\n");
    let listen = format!("127.0.0.1:{}", free_port());
    let yaml = format!("{yaml}  metrics: {{ listen: \"{listen}\" }}\n");
    let running = start(&yaml);
    let events: Vec<_> = (0..5).map(|i| failure("alice", "203.0.113.7", i)).collect();
    produce(&cluster, &events);
    // The attack is evaluated over and over (each try re-reads it) but never committed.
    assert!(
        eventually(|| metric(&scrape(&listen), "siem_correlate_commits_deferred_total") >= 2.0),
        "the batch was never tried"
    );
    assert_eq!(committed(&cluster, "g2", &cluster.events), 0);
    let collector = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let into = Arc::clone(&received);
    let reader = std::thread::spawn(move || {
        let (stream, _) = collector.accept().unwrap();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            into.lock().unwrap().push(line);
        }
    });
    assert!(
        eventually(|| received
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("brute_force"))),
        "the alert never reached the collector"
    );
    assert!(
        eventually(|| committed(&cluster, "g2", &cluster.events) == 5),
        "never committed"
    );
    // Every copy, repeats included, read and committed: their alerts were shipped.
    assert!(
        eventually(|| {
            let text = scrape(&listen);
            let copies = metric(&text, "siem_correlate_repartitioned_total");
            copies > 5.0 && committed(&cluster, "g2", &cluster.rekeyed) as f64 == copies
        }),
        "the copies were never all committed"
    );
    let text = scrape(&listen);
    assert!(
        metric(
            &text,
            "siem_correlate_skipped_total{reason=\"repeated_copy\"}"
        ) >= 1.0,
        "{text}"
    );
    running.stop();
    reader.join().unwrap();
    // Every copy of the alert the collector got has the same, stable id (the pipeline's
    // report of the drops while the collector was down is another event).
    let ids: BTreeSet<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("brute_force"))
        .filter_map(|l| {
            let json = &l[l.find('{')?..];
            let v: serde_json::Value = serde_json::from_str(json).ok()?;
            v["id"].as_str().map(str::to_owned)
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(
        !received.lock().unwrap().iter().any(|l| l.contains("spray")),
        "repeated copies counted twice"
    );
}

#[test]
fn hostile_messages_are_counted_and_skipped_without_stalling_the_partition() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let listen = format!("127.0.0.1:{}", free_port());
    let extra = format!("  max_message_bytes: 4KiB\n  metrics: {{ listen: \"{listen}\" }}\n");
    let running = start(&config(
        &cluster,
        "g3",
        &alerts,
        BRUTE_FORCE_PER_KEY,
        &extra,
    ));
    let key = key_of(&failure("alice", "203.0.113.7", 0));
    let mut payloads = vec![
        (key.clone(), b"not json at all".to_vec()),
        (key.clone(), vec![b'{'; 64 * 1024]),
        (key.clone(), b"{\"event_type\": 5}".to_vec()),
        (key.clone(), vec![0xff, 0xfe, 0x00]),
    ];
    for i in 0..5 {
        payloads.push((key.clone(), json(&failure("alice", "203.0.113.7", i))));
    }
    produce_raw(&cluster.brokers, &cluster.events, &payloads);
    assert!(
        eventually(|| alerts_in(&alerts).len() == 1),
        "no alert after the junk"
    );
    let text = scrape(&listen);
    running.stop();
    assert_eq!(
        metric(&text, "siem_correlate_skipped_total{reason=\"too_large\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, "siem_correlate_skipped_total{reason=\"not_json\"}"),
        3.0,
        "{text}"
    );
    assert_eq!(metric(&text, "siem_correlate_events_total"), 5.0, "{text}");
}

/// Eight failed logins for `mallory` from eight addresses, keyed to more than one partition
/// of the events topic (checked), so that no partition holds them all and only the copies
/// keyed by user can reach a threshold of eight; waits for the alert, stops `running`, and
/// returns what was shipped: exactly one alert.
fn spray_over_partitions(
    cluster: &Cluster,
    running: Running,
    alerts: &std::path::Path,
) -> Vec<serde_json::Value> {
    let events: Vec<_> = (0..8)
        .map(|i| failure("mallory", &format!("203.0.113.{}", i + 1), i))
        .collect();
    let partitions: BTreeSet<i32> = produce(cluster, &events).into_iter().collect();
    assert!(partitions.len() > 1, "the keys must spread: {partitions:?}");
    assert!(eventually(|| !alerts_in(alerts).is_empty()), "no alert");
    running.stop();
    let shipped = alerts_in(alerts);
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    shipped
}

#[test]
fn a_rule_grouped_by_user_fires_across_partitions_through_the_repartition_topic() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let rules = r#"  defaults: false
  correlation: { enabled: false }
  alerts:
    - { name: spray, event_type: auth.failure, threshold: 8, window: 5m, cooldown: 1h, group_by: [user] }
"#;
    let running = start(&config(&cluster, "g4", &alerts, rules, ""));
    let shipped = spray_over_partitions(&cluster, running, &alerts);
    assert_eq!(shipped[0]["metadata"]["rule"], "spray");
    assert_eq!(shipped[0]["actor"]["username"], "mallory");
    assert_eq!(shipped[0]["metadata"]["count"], 8);
}

/// A Sigma `event_count` correlation of `rules_dir` grouped by `User` (our `user`): a
/// password spray from eight addresses, keyed to several partitions of the events topic.
#[test]
fn a_sigma_correlation_grouped_by_user_fires_across_partitions_through_the_repartition_topic() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir(&rules_dir).unwrap();
    std::fs::write(
        rules_dir.join("spray.yml"),
        r#"title: Failed login
id: 0e5a0c8e-5a54-4d2c-9a43-0a1a1f1e0001
name: failed_login
logsource: { product: test }
detection:
  selection: { event_type: auth.failure }
  condition: selection
---
title: Password spray
id: 0e5a0c8e-5a54-4d2c-9a43-0a1a1f1e0002
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [User]
  timespan: 5m
  condition: { gte: 8 }
level: high
"#,
    )
    .unwrap();
    let rules = format!(
        "  defaults: false\n  correlation: {{ enabled: false }}\n  rules_dir: {:?}\n",
        rules_dir.display().to_string()
    );
    let running = start(&config(&cluster, "g7", &alerts, &rules, ""));
    let shipped = spray_over_partitions(&cluster, running, &alerts);
    assert_eq!(shipped[0]["event_type"], "alert.sigma_correlation");
    assert_eq!(shipped[0]["metadata"]["rule"], "Password spray");
    assert_eq!(shipped[0]["metadata"]["count"], 8);
}

#[test]
fn seed_000s_distributed_attack_is_detected_across_three_agents() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let rules = "  defaults: false\n";
    let running = start(&config(&cluster, "g5", &alerts, rules, ""));
    let events: Vec<_> = ["agent-a", "agent-b", "agent-c"]
        .iter()
        .enumerate()
        .map(|(i, agent)| {
            let mut e = event("security.suspicious_activity", i as i64 * 10);
            e.agent_id = Some((*agent).to_owned());
            e.actor.source_ip = Some(format!("198.51.100.{}", i + 10));
            e
        })
        .collect();
    produce(&cluster, &events);
    assert!(eventually(|| !alerts_in(&alerts).is_empty()), "no alert");
    running.stop();
    let shipped = alerts_in(&alerts);
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(shipped[0]["event_type"], "alert.correlation");
    assert_eq!(shipped[0]["metadata"]["rule"], "distributed_attack");
}

#[test]
fn a_partitions_next_owner_rebuilds_its_windows_from_the_log() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let listen = format!("127.0.0.1:{}", free_port());
    let extra = format!("  metrics: {{ listen: \"{listen}\" }}\n");
    let yaml = config(&cluster, "g6", &alerts, BRUTE_FORCE_PER_KEY, &extra);
    let first = start(&yaml);
    let attack: Vec<_> = (0..5)
        .map(|i| failure("alice", "203.0.113.7", i * 30))
        .collect();
    produce(&cluster, &attack[..3]);
    assert!(
        eventually(|| metric(&scrape(&listen), "siem_correlate_commits_total") > 0.0),
        "the first owner never committed"
    );
    first.stop();
    let second = start(&yaml);
    produce(&cluster, &attack[3..]);
    assert!(eventually(|| !alerts_in(&alerts).is_empty()), "no alert");
    let text = scrape(&listen);
    second.stop();
    let shipped = alerts_in(&alerts);
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(shipped[0]["metadata"]["count"], 5);
    assert_eq!(
        metric(&text, "siem_correlate_warmup_events_total"),
        3.0,
        "{text}"
    );
}

#[test]
fn a_re_keyed_copy_keeps_its_events_message_time_and_names_its_origin() {
    use rdkafka::message::{Headers, Message};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let rules = r#"  defaults: false
  correlation: { enabled: false }
  alerts:
    - { name: per_user, event_type: auth.failure, threshold: 1, cooldown: 1h, group_by: [user] }
"#;
    let running = start(&config(&cluster, "g8", &alerts, rules, ""));
    // Produced an hour ago (a correlator catching up copies it now).
    let produced_at = tracing_siem::event::Timestamp::now().unix_nanos() / 1_000_000 - 3_600_000;
    let e = failure("mallory", "203.0.113.9", 0);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .create()
        .unwrap();
    let (key, payload) = (key_of(&e), json(&e));
    let record = FutureRecord::to(&cluster.events)
        .key(&key)
        .payload(&payload)
        .timestamp(produced_at);
    let delivered =
        futures_executor::block_on(producer.send(record, Duration::from_secs(10))).unwrap();
    assert!(eventually(|| alerts_in(&alerts).len() == 1), "no alert");
    running.stop();
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .set("group.id", cluster.group("g8-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[&cluster.rekeyed]).unwrap();
    let mut copy = None;
    assert!(
        eventually(|| {
            if let Some(Ok(m)) = reader.poll(Duration::from_millis(100)) {
                copy = Some((
                    m.timestamp().to_millis(),
                    m.headers().and_then(|h| {
                        h.iter()
                            .find(|h| h.key == "siem-origin")
                            .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
                    }),
                ));
            }
            copy.is_some()
        }),
        "no copy in the repartition topic"
    );
    let (time, origin) = copy.unwrap();
    assert_eq!(time, Some(produced_at));
    assert_eq!(
        origin,
        Some(format!("{}/{}", delivered.partition, delivered.offset))
    );
}
