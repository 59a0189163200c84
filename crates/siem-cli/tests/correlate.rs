//! `siem correlate` processes in one consumer group on librdkafka's mock cluster (3 brokers
//! on loopback), or on the Kafka-compatible cluster at `KAFKA_BOOTSTRAP` (topics and groups of
//! their own): each owns some partitions and no key is seen by two; one killed with SIGKILL
//! mid-attack hands its partitions to the other, which still raises the alert; SIGTERM
//! leaves cleanly; `siem check` refuses a bad `correlate:` section by its key. And issue 15's
//! fleet, end to end: three service processes log through the layer's Kafka destination, two
//! correlators share the partitions, one is killed in the middle of two attacks spread over the
//! services, and both attacks still alert.
#![cfg(feature = "correlate")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

// The cluster (librdkafka's mock, or the one at `KAFKA_BOOTSTRAP`) as the correlator's own
// tests make it.
#[path = "../../siem-correlate/tests/common/mod.rs"]
mod common;
use common::{alerts_in, cluster, eventually, free_port, metric, scrape, Cluster};

/// A failed login from `ip` at `at` seconds, as the Kafka destination writes it (our JSON
/// format, keyed by tenant + source IP).
fn produce_failures(cluster: &Cluster, ips_and_times: &[(String, i64)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .create()
        .expect("producer");
    let encoder = tracing_siem::format::build_encoder(
        tracing_siem::format::Format::Json,
        &tracing_siem::format::FormatOptions::default(),
    )
    .unwrap();
    for (ip, at) in ips_and_times {
        let mut e = tracing_siem::event::SecurityEvent::at(
            tracing_siem::event::EventType::parse("auth.failure"),
            "Failed login",
            tracing_siem::event::Timestamp::from_unix_secs(1_767_225_600 + at),
        );
        e.actor.source_ip = Some(ip.clone());
        e.actor.user = Some("alice".into());
        let mut payload = Vec::new();
        encoder.encode(&e, &mut payload);
        let key = format!("/{ip}");
        let record = FutureRecord::to(&cluster.events)
            .key(&key)
            .payload(&payload);
        futures_executor::block_on(producer.send(record, Duration::from_secs(10)))
            .expect("delivered");
    }
}

/// One `siem correlate` process with its alert file and metrics address.
struct Instance {
    child: Child,
    alerts: PathBuf,
    listen: String,
}

impl Instance {
    /// An instance running one threshold rule, seed 000's patterns off, no repartition topic.
    fn start(dir: &Path, name: &str, cluster: &Cluster, rule: &str) -> Instance {
        let rules = format!(
            "  defaults: false\n  correlation: {{ enabled: false }}\n  alerts:\n    - {rule}\n"
        );
        Instance::start_with(dir, name, cluster, &rules, "")
    }

    /// An instance with the `rules:` section `rules` and more `correlate:` keys in `extra`.
    fn start_with(dir: &Path, name: &str, cluster: &Cluster, rules: &str, extra: &str) -> Instance {
        let alerts = dir.join(format!("{name}-alerts.jsonl"));
        let listen = format!("127.0.0.1:{}", free_port());
        let yaml = format!(
            r#"stderr_notices: false
destinations:
  - {{ type: file, path: "{}", format: json, batch: {{ max_events: 1, interval: 10ms }} }}
rules:
{rules}correlate:
  brokers: "{brokers}"
  group_id: {group}
  topic: {topic}
  metrics: {{ listen: "{listen}" }}
  kafka: {{ session.timeout.ms: "6000", heartbeat.interval.ms: "500" }}
{extra}"#,
            alerts.display(),
            brokers = cluster.brokers,
            group = cluster.group("fleet"),
            topic = cluster.events,
        );
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(&config, yaml).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_siem"))
            .args(["correlate", "--config"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .expect("siem correlate starts");
        Instance {
            child,
            alerts,
            listen,
        }
    }

    /// A figure from `GET /metrics` (0 while it does not answer).
    fn metric(&self, name: &str) -> f64 {
        metric(&scrape(&self.listen), name)
    }

    /// The alerts it shipped.
    fn alerts(&self) -> Vec<serde_json::Value> {
        alerts_in(&self.alerts)
    }

    /// The source IPs of the alerts it shipped, one per alert.
    fn alerted_ips(&self) -> Vec<String> {
        self.alerts()
            .iter()
            .filter_map(|v| v["actor"]["ip_address"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the consumer group `fleet` has committed every partition of `topics` (name,
/// partition count) up to its end.
fn group_committed_everything(cluster: &Cluster, topics: &[(&str, i32)]) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let Ok(reader) = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .set("group.id", cluster.group("fleet"))
        .create::<BaseConsumer>()
    else {
        return false;
    };
    let mut list = rdkafka::TopicPartitionList::new();
    for (topic, partitions) in topics {
        for partition in 0..*partitions {
            list.add_partition(topic, partition);
        }
    }
    let timeout = Duration::from_secs(5);
    let Ok(committed) = reader.committed_offsets(list, timeout) else {
        return false;
    };
    // Committed offsets are read first: a re-keyed copy is acknowledged before the offset of
    // the event it copies is committed, so the repartition topic's end read after them
    // includes it.
    committed.elements().iter().all(|e| {
        let end = reader.fetch_watermarks(e.topic(), e.partition(), timeout);
        match (e.offset(), end) {
            (rdkafka::Offset::Offset(at), Ok((_, high))) => at == high,
            (_, Ok((_, 0))) => true,
            _ => false,
        }
    })
}

/// Both instances hold partitions, all four between them.
fn both_own_partitions(a: &Instance, b: &Instance) -> bool {
    let (pa, pb) = (
        a.metric("siem_correlate_partitions_owned"),
        b.metric("siem_correlate_partitions_owned"),
    );
    pa > 0.0 && pb > 0.0 && pa + pb == 4.0
}

#[test]
fn two_correlators_split_the_partitions_and_no_key_is_seen_by_both() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let rule = "{ name: first_failure, event_type: auth.failure, threshold: 1, cooldown: 1h, group_by: [tenant_id, source_ip] }";
    let a = Instance::start(dir.path(), "a", &cluster, rule);
    let b = Instance::start(dir.path(), "b", &cluster, rule);
    assert!(
        eventually(|| both_own_partitions(&a, &b)),
        "the group never split"
    );
    let keys: Vec<(String, i64)> = (1..=40).map(|i| (format!("203.0.113.{i}"), i)).collect();
    produce_failures(&cluster, &keys);
    assert!(
        eventually(|| a.alerted_ips().len() + b.alerted_ips().len() >= 40),
        "not every key alerted"
    );
    let (seen_a, seen_b) = (a.alerted_ips(), b.alerted_ips());
    let set_a: BTreeSet<_> = seen_a.iter().cloned().collect();
    let set_b: BTreeSet<_> = seen_b.iter().cloned().collect();
    assert!(
        !set_a.is_empty() && !set_b.is_empty(),
        "{set_a:?} / {set_b:?}"
    );
    assert!(
        set_a.is_disjoint(&set_b),
        "keys seen by both: {:?}",
        set_a.intersection(&set_b).collect::<Vec<_>>()
    );
    assert_eq!(seen_a.len() + seen_b.len(), 40, "a key alerted twice");
    assert_eq!(set_a.len() + set_b.len(), 40);
}

#[test]
fn a_correlator_killed_mid_attack_hands_over_and_the_alert_still_fires() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let rule = "{ name: brute_force, event_type: auth.failure, threshold: 10, window: 5m, cooldown: 1h, group_by: [tenant_id, source_ip] }";
    let mut a = Instance::start(dir.path(), "a", &cluster, rule);
    let mut b = Instance::start(dir.path(), "b", &cluster, rule);
    assert!(
        eventually(|| both_own_partitions(&a, &b)),
        "the group never split"
    );
    let ip = "203.0.113.66".to_owned();
    let first_half: Vec<(String, i64)> = (0..5).map(|i| (ip.clone(), i * 10)).collect();
    produce_failures(&cluster, &first_half);
    let events = |x: &Instance| x.metric("siem_correlate_events_total");
    let commits = |x: &Instance| x.metric("siem_correlate_commits_total");
    assert!(
        eventually(|| events(&a) + events(&b) == 5.0 && commits(&a) + commits(&b) > 0.0),
        "the first half was never processed"
    );
    // Kill the owner of the attacker's key: its windows (5 of 10 failures) die with it.
    let (victim, survivor) = if events(&a) == 5.0 {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    let second_half: Vec<(String, i64)> = (5..10).map(|i| (ip.clone(), i * 10)).collect();
    produce_failures(&cluster, &second_half);
    assert!(
        eventually(|| !survivor.alerted_ips().is_empty()),
        "the survivor never raised the alert"
    );
    assert_eq!(survivor.alerted_ips(), [ip]);
    assert!(victim.alerted_ips().is_empty());
    assert_eq!(survivor.metric("siem_correlate_partitions_owned"), 4.0);
    // The survivor rebuilt the dead one's windows from the log: the events before the last
    // offset the victim committed (how many depends on when its commit landed; the rest it
    // read as new).
    assert!(survivor.metric("siem_correlate_warmup_events_total") > 0.0);
}

#[test]
fn sigterm_commits_and_leaves_the_group() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let rule = "{ name: first_failure, event_type: auth.failure, threshold: 1, cooldown: 1h, group_by: [tenant_id, source_ip] }";
    let mut a = Instance::start(dir.path(), "a", &cluster, rule);
    assert!(
        eventually(|| a.metric("siem_correlate_partitions_owned") == 4.0),
        "never assigned"
    );
    produce_failures(&cluster, &[("203.0.113.9".to_owned(), 0)]);
    assert!(eventually(|| a.alerted_ips().len() == 1), "no alert");
    let status = Command::new("kill")
        .args(["-TERM", &a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = a.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    // A second instance starts after the committed offset: it re-reads the event only to
    // rebuild its window, so the alert is not raised again.
    let b = Instance::start(dir.path(), "b", &cluster, rule);
    assert!(
        eventually(|| b.metric("siem_correlate_partitions_owned") == 4.0),
        "never assigned"
    );
    produce_failures(&cluster, &[("203.0.113.10".to_owned(), 1)]);
    assert!(
        eventually(|| b.alerted_ips().len() == 1),
        "no alert for the new key"
    );
    assert_eq!(b.alerted_ips(), ["203.0.113.10"]);
}

#[test]
fn check_refuses_a_bad_correlate_section_by_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("correlate: { brokers: '', topic: events }\nrules: { defaults: false, correlation: { enabled: false } }", "correlate.brokers"),
        ("correlate: { brokers: 'b:9092', topic: events }", "correlate.repartition_topic"),
        ("correlate: { brokers: 'b:9092', topic: events, repartition_topic: events }", "correlate.repartition_topic"),
        ("correlate: { brokers: 'b:9092', topic: t, repartition_topic: r, metrics: { listen: 'nowhere' } }", "correlate.metrics.listen"),
        ("correlate: { brokers: 'b:9092', topic: t, repartition_topic: r, batch_event: 5 }", "correlate.batch_event"),
        ("correlate: { brokers: 'b:9092', topic: t, repartition_topic: r, checkpoint: { lookback: soon } }", "correlate.checkpoint.lookback"),
    ];
    for (yaml, key) in cases {
        let path = dir.path().join("siem.yaml");
        std::fs::write(&path, yaml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_siem"))
            .args(["check"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{yaml}: {err}");
        assert!(err.contains(key), "{yaml}: expected {key} in {err}");
    }
    // And `siem correlate` refuses the same configuration the same way, before connecting.
    let out = Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(["correlate", "--config"])
        .arg(dir.path().join("siem.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("correlate.checkpoint.lookback"));
}

/// What `siem check` prints of the configuration at `path`, which it must accept.
fn check_accepts(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_siem"))
        .arg("check")
        .arg(path)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{shown}");
    shown
}

#[test]
fn check_shows_which_rules_are_re_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("siem.yaml");
    let yaml = "correlate: { brokers: 'b:9092', topic: t, repartition_topic: r }
rules:
  defaults: false
  alerts:
    - { name: per_ip, event_type: auth.failure, group_by: [tenant_id, source_ip] }
    - { name: per_user, event_type: auth.failure, group_by: [user] }
";
    std::fs::write(&path, yaml).unwrap();
    let shown = check_accepts(&path);
    assert!(
        shown.contains(
            "# correlate: on the events topic (key [\"tenant_id\", \"source_ip\"]): [\"per_ip\"]"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("# correlate: re-keyed by [\"user\"]: [\"per_user\"]"),
        "{shown}"
    );
    // Seed 000's attack patterns see the whole fleet: one global key.
    assert!(
        shown.contains("# correlate: re-keyed by []: [\"correlation\"]"),
        "{shown}"
    );
}

#[test]
fn check_shows_where_the_rules_of_the_rules_dir_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("sigma.yml"),
        "title: Admin login\nlogsource: { product: test }\ndetection:\n  selection: { user.name: admin }\n  condition: selection\n---\ntitle: Failed login\nname: failed_login\nlogsource: { product: test }\ndetection:\n  selection: { event_type: auth.failure }\n  condition: selection\n---\ntitle: Password spray\ncorrelation: { type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, condition: { gte: 20 } }\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("alerts.yml"),
        "- { name: per_host, event_type: auth.failure, threshold: 5, group_by: [host] }\n",
    )
    .unwrap();
    let path = dir.path().join("siem.yaml");
    let yaml = format!(
        "correlate: {{ brokers: 'b:9092', topic: t, repartition_topic: r }}\nrules: {{ defaults: false, correlation: {{ enabled: false }}, rules_dir: {:?} }}\n",
        rules.display().to_string()
    );
    std::fs::write(&path, yaml).unwrap();
    let shown = check_accepts(&path);
    assert!(
        shown.contains("# correlate: on the events topic (key [\"tenant_id\", \"source_ip\"]): [\"Admin login\"]"),
        "{shown}"
    );
    assert!(
        shown.contains("# correlate: re-keyed by [\"host\"]: [\"per_host\"]"),
        "{shown}"
    );
    assert!(
        shown.contains("# correlate: re-keyed by [\"user\"]: [\"Password spray\"]"),
        "{shown}"
    );
}

/// The environment variables of a fleet service (this test binary run again as a child).
const SERVICE_BROKERS: &str = "SIEM_FLEET_BROKERS";
const SERVICE_TOPIC: &str = "SIEM_FLEET_TOPIC";
const SERVICE_AGENT: &str = "SIEM_FLEET_AGENT";
const SERVICE_PHASE: &str = "SIEM_FLEET_PHASE";
/// The attacker every service sees.
const ATTACKER: &str = "203.0.113.66";

/// Runs the three services of the fleet for `phase`, each in a process of its own, and waits
/// until each has shipped everything it logged.
fn run_services(cluster: &Cluster, phase: &str) {
    let children: Vec<Child> = ["agent-a", "agent-b", "agent-c"]
        .iter()
        .map(|agent| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "fleet_service"])
                .env(SERVICE_BROKERS, &cluster.brokers)
                .env(SERVICE_TOPIC, &cluster.events)
                .env(SERVICE_AGENT, agent)
                .env(SERVICE_PHASE, phase)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a fleet service failed");
    }
}

/// One service of the fleet: the layer with a Kafka destination (keyed by tenant and source
/// IP, as by default), logging as an application would. In the first phase each service sees
/// two failed logins from the attacker, and agents a and b a suspicious activity; in the second
/// each sees one more failed login (nine in all: the threshold), and agent c the suspicious
/// activity that makes it three agents.
#[test]
#[ignore = "run as a child process by fleet_wide_attacks_alert_with_a_correlator_killed_in_the_middle"]
fn fleet_service() {
    use tracing::warn;
    use tracing_subscriber::prelude::*;
    let brokers = std::env::var(SERVICE_BROKERS).unwrap();
    let topic = std::env::var(SERVICE_TOPIC).unwrap();
    let agent = std::env::var(SERVICE_AGENT).unwrap();
    let first = std::env::var(SERVICE_PHASE).unwrap() == "first";
    let yaml = format!(
        r#"app: fleet-service
rules: {{ enabled: false }}
destinations:
  - {{ type: kafka, brokers: "{brokers}", topic: {topic}, batch: {{ max_events: 10, interval: 10ms }} }}
"#
    );
    let config = tracing_siem::Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = tracing_siem::SiemBuilder::from_config(config)
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..if first { 2 } else { 1 } {
            warn!(
                event_type = "auth.failure",
                agent_id = agent.as_str(),
                user = "alice",
                source_ip = ATTACKER,
                "Failed login"
            );
        }
        if first != (agent == "agent-c") {
            warn!(
                event_type = "security.suspicious_activity",
                agent_id = agent.as_str(),
                source_ip = "198.51.100.20",
                "Port scan"
            );
        }
    });
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = handle.metrics();
    assert_eq!(m.destinations[0].shipped, m.events_logged, "{m:?}");
}

#[test]
fn fleet_wide_attacks_alert_with_a_correlator_killed_in_the_middle() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    // Seed 000's patterns (on by default) with one brute-force rule per source IP.
    let rules = "  defaults: false\n  alerts:\n    - { name: brute_force, event_type: auth.failure, threshold: 9, window: 5m, cooldown: 1h, group_by: [tenant_id, source_ip] }\n";
    let extra = format!("  repartition_topic: {}\n", cluster.rekeyed);
    let mut a = Instance::start_with(dir.path(), "a", &cluster, rules, &extra);
    let b = Instance::start_with(dir.path(), "b", &cluster, rules, &extra);
    let owned = |x: &Instance| x.metric("siem_correlate_partitions_owned");
    // Four partitions of the events topic and four of the repartition topic between them.
    assert!(
        eventually(|| owned(&a) > 0.0 && owned(&b) > 0.0 && owned(&a) + owned(&b) == 8.0),
        "the group never split: {} / {}",
        owned(&a),
        owned(&b)
    );
    run_services(&cluster, "first");
    let events = |x: &Instance| x.metric("siem_correlate_events_total");
    let commits = |x: &Instance| x.metric("siem_correlate_commits_total");
    assert!(
        eventually(|| events(&a) + events(&b) >= 8.0 && commits(&a) + commits(&b) > 0.0),
        "the first phase was never processed"
    );
    // Kill one correlator in the middle of both attacks: six of nine failures and two of
    // three agents are in; whatever windows it held die with it.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    run_services(&cluster, "second");
    // The survivor commits a batch only after shipping its alerts, so once the group has
    // committed every partition of both topics to its end, every alert is in the files.
    assert!(
        eventually(|| group_committed_everything(
            &cluster,
            &[(&cluster.events, 4), (&cluster.rekeyed, 4)]
        )),
        "the survivor never caught up"
    );
    let alerts: Vec<serde_json::Value> = a.alerts().into_iter().chain(b.alerts()).collect();
    // At-least-once: an alert raised again by the survivor (its batch was shipped by the dead
    // instance but not committed) carries the same id. Each expected alert has exactly one id.
    let ids_of = |rule: &str, group: Option<&str>| {
        let matching: Vec<&serde_json::Value> = alerts
            .iter()
            .filter(|v| v["metadata"]["rule"] == rule)
            .filter(|v| group.is_none_or(|g| v["metadata"]["group"] == g))
            .collect();
        let ids: BTreeSet<String> = matching
            .iter()
            .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        (ids.len(), matching)
    };
    let (distinct, brute_force) = ids_of("brute_force", None);
    assert_eq!(distinct, 1, "{alerts:?}");
    assert_eq!(brute_force[0]["actor"]["ip_address"], ATTACKER);
    assert_eq!(brute_force[0]["metadata"]["count"], 9, "{brute_force:?}");
    // The suspicious activity's third agent came after the kill: the survivor raises it.
    let (distinct, _) = ids_of(
        "distributed_attack",
        Some("event_type=security.suspicious_activity"),
    );
    assert_eq!(distinct, 1, "{alerts:?}");
    // The failed logins' distributed attack was complete in the first phase, before the kill.
    let (distinct, _) = ids_of("distributed_attack", Some("event_type=auth.failure"));
    assert_eq!(distinct, 1, "{alerts:?}");
    let rules: BTreeSet<&str> = alerts
        .iter()
        .filter_map(|v| v["metadata"]["rule"].as_str())
        .collect();
    assert_eq!(
        alerts.len(),
        alerts
            .iter()
            .filter(|v| v["metadata"]["rule"] == "brute_force"
                || v["metadata"]["rule"] == "distributed_attack")
            .count(),
        "unexpected alerts {rules:?}"
    );
    assert_eq!(owned(&b), 8.0, "the survivor took every partition");
}
