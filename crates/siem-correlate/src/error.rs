//! What stops the correlator.

use tracing_siem::ConfigError;

/// Why `siem correlate` could not start or had to stop.
///
/// ```
/// let e = siem_correlate::CorrelateError::NotConfigured;
/// assert!(e.to_string().contains("correlate"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelateError {
    /// The configuration has no `correlate:` section.
    #[error(
        "the configuration has no `correlate:` section (brokers, topic …): see docs/correlate.md"
    )]
    NotConfigured,
    /// The configuration is invalid (the key is named).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A Kafka client could not be created or subscribed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The metrics address could not be bound.
    #[error("correlate.metrics.listen: {0}")]
    Metrics(std::io::Error),
}
