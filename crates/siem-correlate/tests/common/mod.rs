//! What the Kafka tests share: a mock cluster on loopback, a producer that writes events the
//! way the Kafka destination does (JSON lines keyed by tenant + source IP, falling back to
//! user), correlators running in threads, and readers of what they shipped.

#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use tracing_siem::event::{EventType, SecurityEvent, Severity, Timestamp};
use tracing_siem::format::{build_encoder, Format, FormatOptions};
use tracing_siem::Config;

/// The brokers the tests run against, with their topics (4 partitions each): librdkafka's
/// mock cluster (3 brokers on loopback), or the Kafka-compatible cluster at
/// `KAFKA_BOOTSTRAP` when it is set, with topics and groups named for this run.
pub struct Cluster {
    _mock: Option<MockCluster<'static, DefaultProducerContext>>,
    pub brokers: String,
    pub events: String,
    pub rekeyed: String,
}

impl Cluster {
    /// The consumer group `name` of this cluster's run.
    pub fn group(&self, name: &str) -> String {
        format!("{}-{name}", self.events)
    }
}

pub fn cluster() -> Cluster {
    match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(brokers) if !brokers.is_empty() => real_cluster(brokers),
        _ => {
            let mock = MockCluster::new(3).expect("mock cluster");
            mock.create_topic("events", 4, 1).expect("events topic");
            mock.create_topic("events-rekeyed", 4, 1)
                .expect("repartition topic");
            Cluster {
                brokers: mock.bootstrap_servers(),
                _mock: Some(mock),
                events: "events".into(),
                rekeyed: "events-rekeyed".into(),
            }
        }
    }
}

/// Topics of their own on a real cluster, created with the admin API.
fn real_cluster(brokers: String) -> Cluster {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = format!(
        "siem-test-{}-{}-{}",
        std::process::id(),
        Timestamp::now().unix_nanos(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    let (events, rekeyed) = (format!("{run}-events"), format!("{run}-rekeyed"));
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("admin client");
    let topics = [
        NewTopic::new(&events, 4, TopicReplication::Fixed(1)),
        NewTopic::new(&rekeyed, 4, TopicReplication::Fixed(1)),
    ];
    for result in futures_executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))
        .expect("create topics")
    {
        result.expect("topic created");
    }
    Cluster {
        _mock: None,
        brokers,
        events,
        rekeyed,
    }
}

/// An event of type `event_type` at `at` seconds past a fixed instant.
pub fn event(event_type: &str, at: i64) -> SecurityEvent {
    let mut e = SecurityEvent::at(
        EventType::parse(event_type),
        format!("{event_type} at +{at}s"),
        Timestamp::from_unix_secs(1_767_225_600 + at),
    );
    e.severity = Severity::Medium;
    e.host = "svc-1".into();
    e.app = "payments".into();
    e
}

/// A failed login of `user` from `ip` at `at` seconds.
pub fn failure(user: &str, ip: &str, at: i64) -> SecurityEvent {
    let mut e = event("auth.failure", at);
    e.actor.user = Some(user.to_owned());
    e.actor.source_ip = Some(ip.to_owned());
    e
}

/// The message key the Kafka destination gives an event: tenant and source IP, falling back
/// to the user.
pub fn key_of(e: &SecurityEvent) -> String {
    let who = e
        .actor
        .source_ip
        .clone()
        .or_else(|| e.actor.user.clone())
        .unwrap_or_default();
    format!("{}/{who}", e.tenant_id.as_deref().unwrap_or(""))
}

/// The JSON line our JSON format makes of `e`.
pub fn json(e: &SecurityEvent) -> Vec<u8> {
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).expect("json encoder");
    let mut out = Vec::new();
    encoder.encode(e, &mut out);
    out
}

/// Produces `payloads` with their keys to `topic`; returns the partition each landed in.
pub fn produce_raw(brokers: &str, topic: &str, payloads: &[(String, Vec<u8>)]) -> Vec<i32> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .expect("producer");
    payloads
        .iter()
        .map(|(key, payload)| {
            let record = FutureRecord::to(topic).key(key).payload(payload);
            let delivery =
                futures_executor::block_on(producer.send(record, Duration::from_secs(10)))
                    .expect("delivered");
            delivery.partition
        })
        .collect()
}

/// Produces `events` as the Kafka destination would.
pub fn produce(cluster: &Cluster, events: &[SecurityEvent]) -> Vec<i32> {
    let payloads: Vec<(String, Vec<u8>)> = events.iter().map(|e| (key_of(e), json(e))).collect();
    produce_raw(&cluster.brokers, &cluster.events, &payloads)
}

/// A correlator running on a thread until [`Running::stop`].
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("correlator thread");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts a correlator from YAML.
pub fn start(yaml: &str) -> Running {
    let config = Config::from_yaml_str(yaml).expect("valid configuration");
    let correlator = siem_correlate::Correlator::start(config).expect("correlator starts");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || correlator.run(&flag).expect("correlator runs"));
    Running {
        stop,
        thread: Some(thread),
    }
}

/// The JSON objects of the alert events in a JSON-lines file (none while it does not exist).
pub fn alerts_in(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v["event_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("alert."))
        })
        .collect()
}

/// Waits up to 90 s for `done` (a takeover after SIGKILL takes a session timeout and a
/// rebalance); false when it never came.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `GET /metrics` from a correlator's metrics address (empty while it does not answer).
pub fn scrape(listen: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(listen) else {
        return String::new();
    };
    let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// The value of the first metric line starting with `name` (0 when absent).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The YAML of a correlator on `brokers` with `rules` (a `rules:` section body, indented by
/// two) shipping alerts to a JSON-lines file.
pub fn config(
    cluster: &Cluster,
    group: &str,
    alerts_file: &Path,
    rules: &str,
    extra: &str,
) -> String {
    format!(
        r#"stderr_notices: false
destinations:
  - type: file
    path: {path}
    format: json
    batch: {{ max_events: 1, interval: 10ms }}
rules:
{rules}
correlate:
  brokers: "{brokers}"
  group_id: {group}
  topic: {events}
  repartition_topic: {rekeyed}
  flush_timeout: 2s
  kafka:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
{extra}"#,
        path = alerts_file.display(),
        brokers = cluster.brokers,
        group = cluster.group(group),
        events = cluster.events,
        rekeyed = cluster.rekeyed,
    )
}
