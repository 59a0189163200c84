//! librdkafka properties passed through as written (`properties:` in YAML), with the values of
//! those that hold credentials masked wherever the configuration is shown.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// Words in a property's name that mark its value as a credential (`sasl.password`,
/// `ssl.key.password`, `sasl.oauthbearer.client.secret`, `sasl.jaas.config`, `ssl.key.pem`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "jaas",
    "oauthbearer.config",
    "key.pem",
    "credential",
];

/// Properties this destination sets itself, with the setting that replaces each: overriding
/// them would break its delivery guarantee or duplicate a setting.
pub(crate) const OWN_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "brokers"),
    ("metadata.broker.list", "brokers"),
    (
        "enable.idempotence",
        "nothing: the producer is always idempotent",
    ),
    ("acks", "nothing: the producer always waits for acks=all"),
    (
        "request.required.acks",
        "nothing: the producer always waits for acks=all",
    ),
    ("compression.type", "compression"),
    ("compression.codec", "compression"),
    ("linger.ms", "linger"),
    ("queue.buffering.max.ms", "linger"),
    ("message.timeout.ms", "delivery_timeout"),
    ("delivery.timeout.ms", "delivery_timeout"),
];

/// librdkafka configuration properties (`security.protocol`, `sasl.mechanism`,
/// `batch.size`, …). `Debug` and serialization mask the values of credentials.
///
/// ```
/// use siem_stream::kafka::Properties;
/// let p: Properties = serde_json::from_str(r#"{"sasl.username": "svc", "sasl.password": "s3cr3t"}"#).unwrap();
/// let shown = serde_json::to_string(&p).unwrap();
/// assert!(shown.contains("svc") && !shown.contains("s3cr3t"));
/// assert_eq!(p.get("sasl.password"), Some("s3cr3t"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Properties(BTreeMap<String, String>);

impl Properties {
    /// Properties from name–value pairs.
    ///
    /// ```
    /// let p = siem_stream::kafka::Properties::new([("batch.size", "65536")]);
    /// assert_eq!(p.get("batch.size"), Some("65536"));
    /// ```
    pub fn new(
        pairs: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Properties {
        Properties(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of property `name`.
    ///
    /// ```
    /// assert_eq!(siem_stream::kafka::Properties::default().get("acks"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every property, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Whether property `name` holds a credential.
pub(crate) fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// The properties with credentials masked, for display.
fn shown(p: &Properties) -> BTreeMap<&str, &str> {
    p.iter()
        .map(|(k, v)| (k, if is_secret(k) { "***" } else { v }))
        .collect()
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&shown(self), f)
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        shown(self).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised_by_name() {
        for name in [
            "sasl.password",
            "ssl.key.password",
            "sasl.oauthbearer.client.secret",
            "sasl.jaas.config",
            "ssl.key.pem",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "sasl.username",
            "security.protocol",
            "ssl.ca.location",
            "batch.size",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn debug_masks_credentials() {
        let p = Properties::new([("sasl.password", "hunter2"), ("client.id", "svc")]);
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("svc"),
            "{shown}"
        );
    }
}
