//! The destination table: every destination type's `type:` name and how its own keys are read.
//!
//! A destination type is a configuration struct that implements `serde::Deserialize` (refusing
//! unknown keys), `Clone` and [`SinkConfig`]; adding one is one line here, behind the type's
//! cargo feature when it has one. Nothing else in the facade names a destination type.

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;
use siem_ship::sink::file::FileConfig;
use siem_ship::sink::stdout::StdoutConfig;
use siem_ship::sink::syslog::SyslogConfig;
use siem_ship::sink::SinkConfig;

use super::ConfigError;

/// Reads a destination type's own keys (those beside `type:`); an error's key is relative to
/// the destination (`rotation.max_size`).
type Read = fn(Value) -> Result<Box<dyn SinkConfig>, ConfigError>;

/// Every destination type, by `type:` name.
const DESTINATION_TYPES: &[(&str, Read)] = &[
    ("stdout", read::<StdoutConfig>),
    ("stderr", read_stderr),
    ("file", read::<FileConfig>),
    ("syslog", read::<SyslogConfig>),
    #[cfg(feature = "webhook")]
    ("webhook", read::<siem_http::webhook::WebhookConfig>),
    #[cfg(feature = "splunk")]
    ("splunk_hec", read::<siem_http::splunk_hec::SplunkHecConfig>),
    #[cfg(feature = "elasticsearch")]
    (
        "elasticsearch",
        read::<siem_http::elasticsearch::ElasticsearchConfig>,
    ),
    #[cfg(feature = "datadog")]
    ("datadog", read::<siem_http::datadog::DatadogConfig>),
    #[cfg(feature = "otlp")]
    ("otlp", read::<siem_http::otlp::OtlpConfig>),
    #[cfg(feature = "cloudwatch")]
    (
        "cloudwatch",
        read::<siem_http::cloudwatch::CloudWatchConfig>,
    ),
    #[cfg(feature = "gcp")]
    ("gcp_logging", read::<siem_http::gcp::GcpLoggingConfig>),
    #[cfg(feature = "azure")]
    (
        "azure_monitor",
        read::<siem_http::azure::AzureMonitorConfig>,
    ),
    #[cfg(feature = "alert_webhook")]
    (
        "alert_webhook",
        read::<siem_http::alert_webhook::AlertWebhookConfig>,
    ),
    #[cfg(feature = "kafka")]
    ("kafka", read::<siem_stream::kafka::KafkaConfig>),
    #[cfg(feature = "nats")]
    ("nats", read::<siem_stream::nats::NatsConfig>),
];

/// Reads the keys of a destination of type `type_name`; an unknown type lists the known ones.
pub(crate) fn read_sink(type_name: &str, keys: Value) -> Result<Box<dyn SinkConfig>, ConfigError> {
    match DESTINATION_TYPES
        .iter()
        .find(|(name, _)| *name == type_name)
    {
        Some((_, read)) => read(keys),
        None => Err(ConfigError::invalid(
            "type",
            format!(
                "unknown destination type {type_name:?}; one of {}",
                type_names()
            ),
        )),
    }
}

/// The registered `type:` names, comma-separated, for error messages.
pub(crate) fn type_names() -> String {
    let names: Vec<&str> = DESTINATION_TYPES.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

/// Reads `T` from the keys, naming the key path of an error (never a secret's value).
fn read<T: DeserializeOwned + SinkConfig>(keys: Value) -> Result<Box<dyn SinkConfig>, ConfigError> {
    let config: T =
        serde_path_to_error::deserialize(keys).map_err(super::error::from_path_error)?;
    Ok(Box::new(config))
}

/// `type: stderr` is `type: stdout` with `stream: stderr`.
fn read_stderr(mut keys: Value) -> Result<Box<dyn SinkConfig>, ConfigError> {
    if let Value::Mapping(map) = &mut keys {
        map.insert("stream".into(), "stderr".into());
    }
    read::<StdoutConfig>(keys)
}
