//! `type: kafka` — each record a message to Apache Kafka (or a Kafka-compatible broker such as
//! Redpanda) through librdkafka: an idempotent producer with `acks=all`, keyed by the event's
//! correlation entity, with the event id and type as headers.
//!
//! ```yaml
//! - type: kafka
//!   brokers: [kafka-1:9092, kafka-2:9092]
//!   topic: "siem-{event_type}"        # a name or a template of the record's fields
//!   keyed_by: [tenant, source_ip]     # the message key (the partition follows it)
//!   keyed_by_fallback: [user]         # when none of `keyed_by` is present
//!   compression: lz4                  # none | gzip | snappy | lz4 | zstd
//!   linger: 5ms
//!   delivery_timeout: 30s
//!   properties:                       # any other librdkafka property
//!     security.protocol: sasl_ssl     # TLS and SASL need the `kafka-ssl` feature
//!     sasl.mechanism: SCRAM-SHA-512
//!     sasl.username: siem
//!     sasl.password: ${KAFKA_PASSWORD}
//! ```

use std::time::Duration;

use rdkafka::config::ClientConfig;
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{settings_of, Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::fields::readable;
use crate::{NameTemplate, RecordFields, Servers};

mod properties;
mod sink;

pub use properties::Properties;
pub use sink::KafkaSink;

/// The longest linger librdkafka accepts (`linger.ms` ≤ 900 000).
const MAX_LINGER: Duration = Duration::from_secs(900);

/// The longest a message may wait for its acknowledgement: a batch is answered within this
/// (plus a margin), so it bounds how long the route waits on one batch.
const MAX_DELIVERY_TIMEOUT: Duration = Duration::from_secs(3600);

/// A Kafka topic name may hold these characters only (and at most 249 of them).
fn topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The longest topic name Kafka accepts.
const MAX_TOPIC_LEN: usize = 249;

/// How message batches are compressed on the wire (all built into the bundled librdkafka).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KafkaCompression {
    /// No compression (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl KafkaCompression {
    /// The value of librdkafka's `compression.type`.
    ///
    /// ```
    /// assert_eq!(siem_stream::kafka::KafkaCompression::Zstd.as_str(), "zstd");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaCompression::None => "none",
            KafkaCompression::Gzip => "gzip",
            KafkaCompression::Snappy => "snappy",
            KafkaCompression::Lz4 => "lz4",
            KafkaCompression::Zstd => "zstd",
        }
    }
}

fn default_topic() -> NameTemplate {
    // A fixed name always parses.
    NameTemplate::parse("siem-events").unwrap_or_else(|_| unreachable!())
}

fn default_keyed_by() -> Vec<String> {
    vec!["tenant".to_owned(), "source_ip".to_owned()]
}

fn default_keyed_by_fallback() -> Vec<String> {
    vec!["user".to_owned()]
}

const fn default_linger() -> Duration {
    Duration::from_millis(5)
}

const fn default_delivery_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Settings of a Kafka destination (`type: kafka`).
///
/// ```
/// use siem_stream::kafka::{KafkaCompression, KafkaConfig};
/// use siem_ship::sink::SinkConfig;
/// let c: KafkaConfig = serde_json::from_str(r#"{
///     "brokers": ["127.0.0.1:9092"], "topic": "siem-{tenant}", "compression": "zstd",
///     "properties": {"sasl.password": "s3cr3t"}
/// }"#).unwrap();
/// assert_eq!(c.keyed_by, ["tenant", "source_ip"]);
/// assert_eq!(c.compression, KafkaCompression::Zstd);
/// assert!(c.validate().is_ok());
/// assert!(!c.settings().to_string().contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KafkaConfig {
    /// The bootstrap brokers (`host:port`), a list or one comma-separated string.
    pub brokers: Servers,
    /// The topic, or a template of the record's fields (`siem-{event_type}`); characters a
    /// topic name cannot hold become `_`. Default `siem-events`.
    #[serde(default = "default_topic")]
    pub topic: NameTemplate,
    /// The fields whose values, joined by `|`, make the message key — and so choose the
    /// partition: events of one key stay in order in one partition. Default `[tenant, source_ip]`.
    #[serde(default = "default_keyed_by")]
    pub keyed_by: Vec<String>,
    /// The fields making the key when the record has none of `keyed_by`. Default `[user]`; a record
    /// with neither has no key (the partitioner spreads such records).
    #[serde(default = "default_keyed_by_fallback")]
    pub keyed_by_fallback: Vec<String>,
    /// Compression of message batches (default `none`).
    #[serde(default)]
    pub compression: KafkaCompression,
    /// How long the producer waits to fill a batch (librdkafka `linger.ms`, default 5ms).
    #[serde(
        default = "default_linger",
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub linger: Duration,
    /// How long a message may wait for the brokers' acknowledgement before it counts as not
    /// delivered and goes back to the route to be retried (librdkafka `message.timeout.ms`,
    /// default 30s).
    #[serde(
        default = "default_delivery_timeout",
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub delivery_timeout: Duration,
    /// Further librdkafka properties (`security.protocol`, `sasl.*`, `ssl.*`, `batch.size`…);
    /// values of credentials are never shown.
    #[serde(default)]
    pub properties: Properties,
}

impl KafkaConfig {
    /// A destination to `brokers` with the defaults.
    ///
    /// ```
    /// let c = siem_stream::kafka::KafkaConfig::new("127.0.0.1:9092");
    /// assert_eq!(c.topic.as_str(), "siem-events");
    /// ```
    pub fn new(brokers: impl Into<String>) -> KafkaConfig {
        KafkaConfig {
            brokers: Servers::new(brokers.into().split(',').map(str::trim)),
            topic: default_topic(),
            keyed_by: default_keyed_by(),
            keyed_by_fallback: default_keyed_by_fallback(),
            compression: KafkaCompression::default(),
            linger: default_linger(),
            delivery_timeout: default_delivery_timeout(),
            properties: Properties::default(),
        }
    }

    /// Sets `topic`: a name or a template of the record's fields.
    ///
    /// ```
    /// use siem_stream::{kafka::KafkaConfig, NameTemplate};
    /// let c = KafkaConfig::new("127.0.0.1:9092").topic(NameTemplate::parse("t-{event_type}").unwrap());
    /// assert!(!c.topic.is_static());
    /// ```
    pub fn topic(mut self, topic: NameTemplate) -> KafkaConfig {
        self.topic = topic;
        self
    }

    /// Sets `keyed_by`: the fields that make the message key.
    ///
    /// ```
    /// let c = siem_stream::kafka::KafkaConfig::new("127.0.0.1:9092").keyed_by(["user"]);
    /// assert_eq!(c.keyed_by, ["user"]);
    /// ```
    pub fn keyed_by(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> KafkaConfig {
        self.keyed_by = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `keyed_by_fallback`: the fields that make the key when none of `keyed_by` is present.
    ///
    /// ```
    /// let c = siem_stream::kafka::KafkaConfig::new("127.0.0.1:9092").keyed_by_fallback(["agent_id"]);
    /// assert_eq!(c.keyed_by_fallback, ["agent_id"]);
    /// ```
    pub fn keyed_by_fallback(
        mut self,
        fields: impl IntoIterator<Item = impl Into<String>>,
    ) -> KafkaConfig {
        self.keyed_by_fallback = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `compression`.
    ///
    /// ```
    /// use siem_stream::kafka::{KafkaCompression, KafkaConfig};
    /// let c = KafkaConfig::new("127.0.0.1:9092").compression(KafkaCompression::Lz4);
    /// assert_eq!(c.compression, KafkaCompression::Lz4);
    /// ```
    pub fn compression(mut self, compression: KafkaCompression) -> KafkaConfig {
        self.compression = compression;
        self
    }

    /// Sets `linger`: how long the producer waits to fill a batch.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = siem_stream::kafka::KafkaConfig::new("127.0.0.1:9092").linger(Duration::ZERO);
    /// assert_eq!(c.linger, Duration::ZERO);
    /// ```
    pub fn linger(mut self, linger: Duration) -> KafkaConfig {
        self.linger = linger;
        self
    }

    /// Sets `delivery_timeout`: how long a message may wait for its acknowledgement.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = siem_stream::kafka::KafkaConfig::new("127.0.0.1:9092").delivery_timeout(Duration::from_secs(5));
    /// assert_eq!(c.delivery_timeout, Duration::from_secs(5));
    /// ```
    pub fn delivery_timeout(mut self, timeout: Duration) -> KafkaConfig {
        self.delivery_timeout = timeout;
        self
    }

    /// Sets `properties`: further librdkafka properties.
    ///
    /// ```
    /// use siem_stream::kafka::{KafkaConfig, Properties};
    /// let c = KafkaConfig::new("127.0.0.1:9092").properties(Properties::new([("batch.size", "65536")]));
    /// assert_eq!(c.properties.get("batch.size"), Some("65536"));
    /// ```
    pub fn properties(mut self, properties: Properties) -> KafkaConfig {
        self.properties = properties;
        self
    }

    /// The librdkafka configuration of the producer; errors name the setting at fault and
    /// never quote a credential.
    fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.brokers.joined())
            .set(
                "client.id",
                concat!("tracing-siem/", env!("CARGO_PKG_VERSION")),
            )
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", self.compression.as_str())
            .set("linger.ms", self.linger.as_millis().to_string())
            .set(
                "message.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
            );
        for (name, value) in self.properties.iter() {
            config.set(name, value);
        }
        // librdkafka checks each property's name and value as it is set.
        for (name, value) in self.properties.iter() {
            let mut one = ClientConfig::new();
            one.set(name, value);
            if let Err(e) = one.create_native_config() {
                let key = format!("properties.{name}");
                let mut reason = if properties::is_secret(name) {
                    "librdkafka refuses this property (its value is not shown)".to_owned()
                } else {
                    format!("librdkafka refuses it: {e}")
                };
                if !cfg!(feature = "kafka-ssl")
                    && ["security.", "ssl.", "sasl."]
                        .iter()
                        .any(|p| name.starts_with(p))
                {
                    reason.push_str("; TLS and SASL need the `kafka-ssl` feature");
                }
                return Err(ConfigError::invalid(key, reason));
            }
        }
        Ok(config)
    }

    /// The topic a record goes to.
    pub(crate) fn topic_of(&self, fields: &RecordFields) -> String {
        let mut topic = self.topic.render(|name| fields.text(name), topic_char);
        topic.truncate(MAX_TOPIC_LEN);
        topic
    }

    /// The message key of a record: the `keyed_by` fields' values joined by `|` (an absent
    /// one empty) when any is present, else the same of `keyed_by_fallback`, else none.
    pub(crate) fn key_of(&self, fields: &RecordFields) -> Option<String> {
        [&self.keyed_by, &self.keyed_by_fallback]
            .into_iter()
            .find_map(|names| {
                let values: Vec<_> = names.iter().map(|n| fields.text(n)).collect();
                values.iter().any(Option::is_some).then(|| {
                    values
                        .iter()
                        .map(|v| v.as_deref().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join("|")
                })
            })
    }
}

impl SinkConfig for KafkaConfig {
    fn type_name(&self) -> &'static str {
        "kafka"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.brokers.check("brokers", &[])?;
        let literal = self.topic.render(|_| None, |_| true);
        if literal.is_empty() {
            return Err(ConfigError::invalid("topic", "a topic name is needed"));
        }
        if let Some(c) = self
            .topic
            .render(|_| Some("x".into()), |_| true)
            .chars()
            .find(|&c| !topic_char(c))
        {
            return Err(ConfigError::invalid(
                "topic",
                format!("{c:?} cannot be part of a topic name (letters, digits, . _ -)"),
            ));
        }
        if self.topic.is_static() && literal.len() > MAX_TOPIC_LEN {
            return Err(ConfigError::invalid(
                "topic",
                format!("a topic name has at most {MAX_TOPIC_LEN} characters"),
            ));
        }
        if matches!(literal.as_str(), "." | "..") {
            return Err(ConfigError::invalid(
                "topic",
                "`.` and `..` are not topic names",
            ));
        }
        for (key, names) in [
            ("keyed_by", &self.keyed_by),
            ("keyed_by_fallback", &self.keyed_by_fallback),
        ] {
            if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
                return Err(ConfigError::invalid(
                    format!("{key}[{i}]"),
                    "a field name is needed",
                ));
            }
        }
        if self.linger > MAX_LINGER {
            return Err(ConfigError::invalid(
                "linger",
                "at most 900s (librdkafka's limit)",
            ));
        }
        if self.delivery_timeout < Duration::from_millis(1)
            || self.delivery_timeout > MAX_DELIVERY_TIMEOUT
        {
            return Err(ConfigError::invalid("delivery_timeout", "from 1ms to 1h"));
        }
        for (name, _) in self.properties.iter() {
            if let Some((_, instead)) = properties::OWN_PROPERTIES
                .iter()
                .find(|(own, _)| own.eq_ignore_ascii_case(name))
            {
                return Err(ConfigError::invalid(
                    format!("properties.{name}"),
                    format!("set by the destination; use {instead}"),
                ));
            }
        }
        self.client_config()?;
        Ok(())
    }

    fn accepts(&self, format: Format, _: &FormatOptions) -> Result<(), String> {
        if self.keyed_by.is_empty() && self.keyed_by_fallback.is_empty() && self.topic.is_static() {
            return Ok(());
        }
        readable(
            format,
            "`keyed_by`, `keyed_by_fallback` and a templated `topic`",
        )
    }

    fn settings(&self) -> serde_json::Value {
        settings_of(self)
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        Ok(Box::new(KafkaSink::new(
            self.clone(),
            self.client_config()?,
        )))
    }

    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let config = self.client_config().map_err(|e| e.to_string())?;
        sink::probe(
            &config,
            self.topic.is_static().then(|| self.topic.as_str()),
            timeout,
        )
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<KafkaConfig, String> {
        let c: KafkaConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| format!("{}: {e}", e.key()))?;
        Ok(c)
    }

    fn fields(json: &str) -> RecordFields<'_> {
        RecordFields::read(json.as_bytes())
    }

    #[test]
    fn the_key_is_tenant_and_source_ip_else_the_user() {
        let c = KafkaConfig::new("127.0.0.1:9092");
        let both = fields(
            r#"{"event_type":"auth.failure","tenant_id":"acme","source_ip":"10.0.0.1","user":"bob"}"#,
        );
        assert_eq!(c.key_of(&both).as_deref(), Some("acme|10.0.0.1"));
        let ip = fields(r#"{"event_type":"auth.failure","source_ip":"10.0.0.1","user":"bob"}"#);
        assert_eq!(c.key_of(&ip).as_deref(), Some("|10.0.0.1"));
        let user = fields(r#"{"event_type":"auth.failure","user":"bob"}"#);
        assert_eq!(c.key_of(&user).as_deref(), Some("bob"));
        let none = fields(r#"{"event_type":"auth.failure"}"#);
        assert_eq!(c.key_of(&none), None);
        assert_eq!(c.key_of(&RecordFields::read(b"CEF:0|x")), None);
    }

    #[test]
    fn topics_follow_the_template_and_stay_legal() {
        let c =
            config(r#"{"brokers":"127.0.0.1:9092","topic":"siem-{tenant}-{event_type}"}"#).unwrap();
        let f = fields(r#"{"event_type":"auth.failure","tenant_id":"acme corp/eu"}"#);
        assert_eq!(c.topic_of(&f), "siem-acme_corp_eu-auth.failure");
        let long = format!(
            r#"{{"event_type":"auth.failure","tenant_id":"{}"}}"#,
            "t".repeat(400)
        );
        assert_eq!(c.topic_of(&fields(&long)).len(), MAX_TOPIC_LEN);
    }

    #[test]
    fn bad_settings_name_their_key() {
        for (json, key) in [
            (r#"{"brokers":""}"#, "brokers"),
            (r#"{"brokers":"k1"}"#, "brokers[0]"),
            (r#"{"brokers":"k:1","topic":"a b"}"#, "topic"),
            (r#"{"brokers":"k:1","topic":"{event_type}/x"}"#, "topic"),
            (r#"{"brokers":"k:1","topic":".."}"#, "topic"),
            (
                r#"{"brokers":"k:1","keyed_by":["tenant",""]}"#,
                "keyed_by[1]",
            ),
            (r#"{"brokers":"k:1","linger":"1h"}"#, "linger"),
            (
                r#"{"brokers":"k:1","delivery_timeout":"0s"}"#,
                "delivery_timeout",
            ),
            (
                r#"{"brokers":"k:1","properties":{"acks":"1"}}"#,
                "properties.acks",
            ),
            (
                r#"{"brokers":"k:1","properties":{"enable.idempotence":"false"}}"#,
                "properties.enable.idempotence",
            ),
            (
                r#"{"brokers":"k:1","properties":{"no.such.property":"1"}}"#,
                "properties.no.such.property",
            ),
            (
                r#"{"brokers":"k:1","properties":{"batch.size":"lots"}}"#,
                "properties.batch.size",
            ),
        ] {
            let e = config(json).unwrap_err();
            assert!(e.starts_with(&format!("{key}: ")), "{json}: {e}");
        }
        let long = format!(r#"{{"brokers":"k:1","topic":"{}"}}"#, "t".repeat(250));
        assert!(config(&long).unwrap_err().starts_with("topic: "));
    }

    #[test]
    fn hostile_shapes_are_refused_by_the_reader() {
        for json in [
            r#"{"brokers":9092}"#,
            r#"{"brokers":"k:1","compression":"brotli"}"#,
            r#"{"brokers":"k:1","topic":"siem-{"}"#,
            r#"{"brokers":"k:1","keyed_by":"tenant"}"#,
            r#"{"brokers":"k:1","linger":"soon"}"#,
            r#"{"brokers":"k:1","properties":["acks"]}"#,
            r#"{"brokers":"k:1","unknown":1}"#,
            r#"{"topic":"t"}"#,
        ] {
            assert!(serde_json::from_str::<KafkaConfig>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn a_refused_credential_is_not_quoted() {
        let e = config(
            r#"{"brokers":"k:1","properties":{"sasl.oauthbearer.client.secret\u0000":"hunter2"}}"#,
        )
        .unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn tls_is_refused_without_the_kafka_ssl_feature_and_taken_with_it() {
        let tls = config(r#"{"brokers":"k:1","properties":{"security.protocol":"ssl"}}"#);
        if cfg!(feature = "kafka-ssl") {
            assert!(tls.is_ok(), "{tls:?}");
        } else {
            let e = tls.unwrap_err();
            assert!(e.starts_with("properties.security.protocol: "), "{e}");
            assert!(e.contains("`kafka-ssl`"), "{e}");
        }
    }

    #[test]
    fn other_formats_need_settings_that_read_no_field() {
        let c = KafkaConfig::new("k:1");
        assert!(c.accepts(Format::Json, &FormatOptions::default()).is_ok());
        assert!(c.accepts(Format::Cef, &FormatOptions::default()).is_err());
        let no_key = KafkaConfig::new("k:1").keyed_by(Vec::<String>::new());
        assert!(no_key
            .accepts(Format::Cef, &FormatOptions::default())
            .is_err());
        let plain = no_key.keyed_by_fallback(Vec::<String>::new());
        assert!(plain
            .accepts(Format::Cef, &FormatOptions::default())
            .is_ok());
    }
}
