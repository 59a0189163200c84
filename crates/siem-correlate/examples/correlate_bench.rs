//! Figures for BENCHMARKS.md, against librdkafka's mock cluster (3 brokers on loopback):
//!
//! - `throughput N BATCH_EVENTS defaults|keyed`: 1, and separately 2, correlator instances
//!   settle in one group, then N failed logins (4 096 source IPs) are produced and consumed.
//!   `defaults`: seed 000's default rules (thresholds and attack patterns, which see the whole
//!   fleet: every event is re-keyed once to the global slice and evaluated twice); `keyed`: one
//!   brute-force rule per tenant and source IP, evaluated on the events topic only. Prints
//!   events/s from the first event produced to the last evaluated.
//! - `takeover SIEM`: two `siem correlate` processes (the binary at SIEM); the owner of an
//!   attacker's key is killed with SIGKILL, and the time until the survivor has processed
//!   that partition again (its alert is written) is printed, with `session.timeout.ms`.
//!
//! librdkafka's mock keeps about 9 000 messages per partition (older ones are deleted), so N
//! stays under 36 000 with `keyed` (4 partitions) and under 9 000 with `defaults` (whose
//! global slice is one partition).
//!
//! `cargo run --release -p siem-correlate --example correlate_bench -- throughput 8000 1000 defaults`

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use tracing_siem::event::{EventType, SecurityEvent, Timestamp};
use tracing_siem::format::{build_encoder, Format, FormatOptions};

// The tests' helpers: a free loopback port, `GET /metrics` and reading one figure of it.
#[path = "../tests/common/mod.rs"]
mod common;

fn free_listen() -> String {
    format!("127.0.0.1:{}", common::free_port())
}

fn metric(listen: &str, name: &str) -> f64 {
    common::metric(&common::scrape(listen), name)
}

/// Produces `n` failed logins from 4 096 IPs, one second of event time apart per IP.
fn produce(brokers: &str, n: u64, first: u64) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).expect("encoder");
    let mut payload = Vec::new();
    for i in first..first + n {
        let ip = format!("10.0.{}.{}", (i / 256) % 16, i % 256);
        let mut e = SecurityEvent::at(
            EventType::parse("auth.failure"),
            "Failed login",
            Timestamp::from_unix_secs(1_767_225_600 + (i / 4096) as i64),
        );
        e.actor.source_ip = Some(ip.clone());
        e.actor.user = Some(format!("user{}", i % 1000));
        payload.clear();
        encoder.encode(&e, &mut payload);
        let key = format!("/{ip}");
        let mut record = BaseRecord::to("events").key(&key).payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).expect("flushed");
}

/// The configuration of one instance. `fetch.wait.max.ms` is low because librdkafka's mock
/// answers a fetch that finds no data only after the full wait, even when data arrives in the
/// meantime (`rdkafka_mock_handlers.c`), where a real broker answers as soon as it has data:
/// with the default 500 ms, the re-keyed slice's batches wait on the mock, not on the correlator.
fn yaml(brokers: &str, group: &str, listen: &str, dir: &std::path::Path, rules: &str) -> String {
    format!(
        r#"stderr_notices: false
destinations:
  - {{ type: file, path: "{}", format: json }}
rules:
{rules}
correlate:
  brokers: "{brokers}"
  group_id: {group}
  topic: events
  repartition_topic: events-rekeyed
  metrics: {{ listen: "{listen}" }}
  kafka: {{ session.timeout.ms: "6000", heartbeat.interval.ms: "500", fetch.wait.max.ms: "5" }}
"#,
        dir.join(format!("{group}-{}.jsonl", listen.replace([':', '.'], "-")))
            .display()
    )
}

/// Seed 000's defaults (thresholds and attack patterns: every event re-keyed once to the
/// global slice, evaluated twice), or one brute-force rule per tenant and source IP, evaluated
/// on the events topic's partitions only (once).
fn rules(kind: &str) -> (&'static str, f64) {
    match kind {
        "keyed" => ("  defaults: false\n  correlation: { enabled: false }\n  alerts:\n    - { name: brute_force, event_type: auth.failure, threshold: 10, window: 5m, group_by: [tenant_id, source_ip] }", 1.0),
        _ => ("  {}", 2.0),
    }
}

fn throughput(n: u64, batch_events: u64, kind: &str) {
    let (rules, evaluations_per_event) = rules(kind);
    for instances in [1usize, 2] {
        let cluster = MockCluster::new(3).expect("cluster");
        cluster.create_topic("events", 4, 1).unwrap();
        cluster.create_topic("events-rekeyed", 4, 1).unwrap();
        let brokers = cluster.bootstrap_servers();
        let dir = tempfile::tempdir().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut listens = Vec::new();
        let mut threads = Vec::new();
        for _ in 0..instances {
            let listen = free_listen();
            let text = format!(
                "{}  batch_events: {batch_events}\n",
                yaml(&brokers, "bench", &listen, dir.path(), rules)
            );
            let config = tracing_siem::Config::from_yaml_str(&text).expect("config");
            let correlator = siem_correlate::Correlator::start(config).expect("start");
            let flag = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || correlator.run(&flag).unwrap()));
            listens.push(listen);
        }
        // The group settles (each instance owns partitions) before the events arrive, so no
        // rebalance falls inside the measurement.
        let owned = |l: &String| metric(l, "siem_correlate_partitions_owned");
        while !listens.iter().all(|l| owned(l) > 0.0) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_secs(1));
        let produced = Instant::now();
        produce(&brokers, n, 0);
        eprintln!("produced {n} in {:.2} s", produced.elapsed().as_secs_f64());
        let total = |name: &str| -> f64 { listens.iter().map(|l| metric(l, name)).sum() };
        let goal = evaluations_per_event * n as f64;
        let mut last_report = Instant::now();
        while total("siem_correlate_events_total") < goal {
            std::thread::sleep(Duration::from_millis(20));
            if last_report.elapsed() > Duration::from_secs(5) {
                last_report = Instant::now();
                eprintln!(
                    "… {} evaluations, {} repartitioned",
                    total("siem_correlate_events_total"),
                    total("siem_correlate_repartitioned_total")
                );
            }
        }
        // From the first event produced to the last evaluated.
        let secs = produced.elapsed().as_secs_f64();
        println!(
            "{kind}: {instances} instance(s): {n} events ({} evaluations) in {secs:.2} s: {:.0} events/s ({:.0} evaluations/s), alerts {}",
            goal,
            n as f64 / secs,
            goal / secs,
            total("siem_correlate_alerts_total")
        );
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
    }
}

fn takeover(siem: &str) {
    let cluster = MockCluster::new(3).expect("cluster");
    cluster.create_topic("events", 4, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let rules = "  defaults: false\n  correlation: { enabled: false }\n  alerts:\n    - { name: seen, event_type: auth.failure, threshold: 1, cooldown: 1h, group_by: [tenant_id, source_ip] }";
    let mut children = Vec::new();
    for name in ["a", "b"] {
        let listen = free_listen();
        let config = dir.path().join(format!("{name}.yaml"));
        let text = yaml(&brokers, "fleet", &listen, dir.path(), rules)
            .replace("  repartition_topic: events-rekeyed\n", "");
        std::fs::write(&config, text).unwrap();
        let child = Command::new(siem)
            .args(["correlate", "--config"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .expect("siem correlate");
        children.push((child, listen));
    }
    let owned = |l: &str| metric(l, "siem_correlate_partitions_owned");
    while !(owned(&children[0].1) > 0.0 && owned(&children[1].1) > 0.0) {
        std::thread::sleep(Duration::from_millis(50));
    }
    produce(&brokers, 1, 0);
    let events = |l: &str| metric(l, "siem_correlate_events_total");
    while events(&children[0].1) + events(&children[1].1) < 1.0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = if events(&children[0].1) == 1.0 { 0 } else { 1 };
    let survivor = 1 - victim;
    let killed = Instant::now();
    children[victim].0.kill().unwrap();
    children[victim].0.wait().unwrap();
    // One more event on the same key: the dead instance's partition.
    produce(&brokers, 1, 4096);
    while events(&children[survivor].1) < 1.0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "takeover: {:.2} s from SIGKILL to the survivor processing the dead instance's partition (session.timeout.ms 6000, heartbeat.interval.ms 500)",
        killed.elapsed().as_secs_f64()
    );
    let _ = children[survivor].0.kill();
    let _ = children[survivor].0.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("throughput") => throughput(
            args.get(2).and_then(|n| n.parse().ok()).unwrap_or(32_000),
            args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000),
            args.get(4).map_or("defaults", String::as_str),
        ),
        Some("takeover") => takeover(args.get(2).expect("takeover SIEM_BINARY")),
        _ => eprintln!("usage: correlate_bench throughput [N [BATCH_EVENTS [defaults|keyed]]] | takeover PATH_TO_SIEM"),
    }
}
