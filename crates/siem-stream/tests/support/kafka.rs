//! A Kafka cluster for the tests: librdkafka's mock cluster (three brokers on loopback ports),
//! or the cluster at `KAFKA_BOOTSTRAP` when that is set (Apache Kafka, Redpanda: the optional
//! tier), and a consumer reading a topic back from the beginning.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A message read back.
#[derive(Debug)]
pub struct Received {
    pub partition: i32,
    pub key: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub bytes: Vec<u8>,
    /// The payload as JSON (`null` when it is not JSON).
    pub payload: serde_json::Value,
}

/// Where the tests produce to.
pub enum Cluster {
    /// Three mock brokers inside this process.
    Mock(MockCluster<'static, DefaultProducerContext>),
    /// A real cluster's bootstrap list (`KAFKA_BOOTSTRAP`).
    External(String),
}

impl Cluster {
    /// The cluster at `KAFKA_BOOTSTRAP`, else three mock brokers.
    pub fn start() -> Cluster {
        match std::env::var("KAFKA_BOOTSTRAP") {
            Ok(bootstrap) if !bootstrap.trim().is_empty() => Cluster::External(bootstrap),
            _ => Cluster::Mock(MockCluster::new(3).unwrap()),
        }
    }

    pub fn bootstrap(&self) -> String {
        match self {
            Cluster::Mock(mock) => mock.bootstrap_servers(),
            Cluster::External(bootstrap) => bootstrap.clone(),
        }
    }

    /// `name` made unique on a real cluster, which keeps topics between runs; as it is on the
    /// mock one, which lives as long as the test.
    pub fn unique(&self, name: &str) -> String {
        match self {
            Cluster::Mock(_) => name.to_owned(),
            Cluster::External(_) => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                format!("{name}-{}-{nanos}", std::process::id())
            }
        }
    }

    /// Creates `topic` with `partitions` partitions (replicated on the three mock brokers; one
    /// replica on a real cluster, which may have one broker).
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        match self {
            Cluster::Mock(mock) => mock.create_topic(topic, partitions, 3).unwrap(),
            Cluster::External(bootstrap) => {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", bootstrap)
                    .create()
                    .unwrap();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let created = runtime
                    .block_on(admin.create_topics(
                        &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
                        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
                    ))
                    .unwrap();
                for result in created {
                    result.unwrap();
                }
            }
        }
    }

    /// The mock cluster, for tests that make its brokers fail; `None` (after saying so) on a
    /// real one.
    pub fn mock(&self) -> Option<&MockCluster<'static, DefaultProducerContext>> {
        match self {
            Cluster::Mock(mock) => Some(mock),
            Cluster::External(_) => {
                eprintln!("SKIPPED (KAFKA_BOOTSTRAP is set): this test stops mock brokers");
                None
            }
        }
    }
}

/// A cluster with topic `name` (made unique on a real cluster) of `partitions` partitions, and
/// the topic's name.
pub fn cluster(name: &str, partitions: i32) -> (Cluster, String) {
    let cluster = Cluster::start();
    let topic = cluster.unique(name);
    cluster.create_topic(&topic, partitions);
    (cluster, topic)
}

/// Reads `topic`'s `partitions` partitions from the beginning until `expected` messages came
/// (or 30 s passed: the caller's count check then fails with what did come).
pub fn consume(bootstrap: &str, topic: &str, partitions: i32, expected: usize) -> Vec<Received> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "siem-stream-tests")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < expected && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.unwrap();
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        received.push(Received {
            partition: message.partition(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            headers,
            bytes: message.payload().unwrap_or_default().to_vec(),
            payload: serde_json::from_slice(message.payload().unwrap_or_default())
                .unwrap_or_default(),
        });
    }
    received
}
