//! Streaming destinations of `tracing-siem`: Apache Kafka (and Kafka-compatible brokers such
//! as Redpanda) through librdkafka, and NATS JetStream through `async-nats`, each behind its own
//! cargo feature (`kafka`, `nats`).
//!
//! Each record of a batch becomes one message. A message counts as delivered only once the
//! server acknowledged it: Kafka's delivery report of an idempotent producer with `acks=all`,
//! JetStream's publish acknowledgement (a `duplicate` acknowledgement included). What the server
//! did not acknowledge goes back to the route as retryable, what it refused for good as
//! rejected, record by record.
//!
//! The message key, the Kafka topic or NATS subject, and the event id and type that travel in
//! the headers are read from each record, which must then be canonical JSON (`format: json`,
//! the default); see [`RecordFields`].
//!
//! ```
//! # #[cfg(feature = "kafka")] {
//! use siem_stream::kafka::KafkaConfig;
//! use siem_ship::sink::SinkConfig;
//!
//! let c: KafkaConfig = serde_json::from_str(
//!     r#"{"brokers": "127.0.0.1:9092", "topic": "siem-{event_type}"}"#,
//! ).unwrap();
//! assert!(c.validate().is_ok());
//! assert_eq!(c.type_name(), "kafka");
//! # }
//! ```

#![warn(missing_docs)]

mod fields;
mod servers;
mod template;

pub use fields::RecordFields;
pub use servers::Servers;
pub use siem_ship::Secret;
pub use template::NameTemplate;

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "nats")]
pub mod nats;
