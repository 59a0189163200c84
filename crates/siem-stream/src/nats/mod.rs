//! `type: nats` — each record a message published to NATS JetStream, its event id as
//! `Nats-Msg-Id` so that the server drops a resent copy within the stream's duplicate window,
//! and counted as delivered once JetStream acknowledged storing it.
//!
//! ```yaml
//! - type: nats
//!   servers: [nats://nats-1:4222, nats://nats-2:4222]
//!   subject: "siem.events.{event_type}"   # a subject or a template of the record's fields
//!   stream: SIEM                          # optional: the stream that must store the messages
//!   create_stream:                        # optional: create it when missing
//!     subjects: ["siem.events.>"]
//!     replicas: 3
//!     duplicate_window: 2m
//!   user: siem
//!   password: ${NATS_PASSWORD}            # or token, credentials_file, nkey
//!   tls:
//!     ca_file: /etc/siem/nats-ca.pem
//!   atomic_batch: 1000                    # optional: up to 1000 records per atomic batch
//! ```
//!
//! With `atomic_batch`, a batch's records go as JetStream atomic batches (ADR-50, nats-server
//! 2.12 or later, the stream's `allow_atomic` on): one acknowledgement at each batch's commit
//! covers all its records, and a failed batch stored none of them (see `atomic.rs`).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{settings_of, Sink, SinkConfig};
use siem_ship::{ConfigError, Secret};

use crate::fields::readable;
use crate::{NameTemplate, RecordFields, Servers};

mod atomic;
mod sink;

pub use atomic::MAX_ATOMIC_BATCH;

pub use sink::NatsSink;

/// Whether a character of a field's value may stay in a subject: not whitespace, a control
/// character or a wildcard (`*`, `>`). Dots stay: `auth.failure` becomes two tokens.
fn subject_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || matches!(c, '*' | '>'))
}

fn default_subject() -> NameTemplate {
    // A fixed template always parses.
    NameTemplate::parse("siem.events.{event_type}").unwrap_or_else(|_| unreachable!())
}

const fn default_replicas() -> usize {
    1
}

const fn default_duplicate_window() -> Duration {
    Duration::from_secs(120)
}

const fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

const fn default_ack_timeout() -> Duration {
    Duration::from_secs(10)
}

const fn default_max_in_flight() -> usize {
    1024
}

const fn yes() -> bool {
    true
}

/// The stream to create when it does not exist (`create_stream:`).
///
/// ```
/// let s: siem_stream::nats::CreateStream = serde_json::from_str(r#"{"subjects": ["siem.>"], "replicas": 3}"#).unwrap();
/// assert_eq!(s.duplicate_window, std::time::Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CreateStream {
    /// The subjects it stores (wildcards allowed). Default: the `subject`'s tokens before its
    /// first field, then `>`.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// How many servers keep a copy (1 to 5, default 1).
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// How long the server remembers a `Nats-Msg-Id` to drop resent copies (default 2m).
    #[serde(
        default = "default_duplicate_window",
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub duplicate_window: Duration,
}

/// TLS to the servers (rustls with the ring provider; the system's roots unless `ca_file`).
///
/// ```
/// let t: siem_stream::nats::NatsTls = serde_json::from_str(r#"{"ca_file": "/etc/ca.pem"}"#).unwrap();
/// assert!(t.required);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NatsTls {
    /// Refuse a connection without TLS (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Extra trusted roots (PEM).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The client certificate (PEM), for servers that verify clients; with `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// Settings of a NATS JetStream destination (`type: nats`).
///
/// ```
/// use siem_stream::nats::NatsConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: NatsConfig = serde_json::from_str(r#"{
///     "servers": "nats://127.0.0.1:4222", "subject": "siem.{tenant}.{event_type}",
///     "stream": "SIEM", "create_stream": {"subjects": ["siem.>"]}, "token": "s3cr3t"
/// }"#).unwrap();
/// assert!(c.validate().is_ok());
/// assert!(!c.settings().to_string().contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NatsConfig {
    /// The servers (`host:port`, `nats://host:port` or `tls://host:port`), a list or one
    /// comma-separated string.
    pub servers: Servers,
    /// The subject, or a template of the record's fields (default `siem.events.{event_type}`).
    #[serde(default = "default_subject")]
    pub subject: NameTemplate,
    /// The stream that must store the messages (sent as `Nats-Expected-Stream`), and the name
    /// of the stream `create_stream` creates.
    #[serde(default)]
    pub stream: Option<String>,
    /// Creates `stream` with these settings when it does not exist.
    #[serde(default)]
    pub create_stream: Option<CreateStream>,
    /// User name, with `password`.
    #[serde(default)]
    pub user: Option<String>,
    /// Password of `user`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// An authentication token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// A `.creds` file (user JWT and NKey seed).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// An NKey user seed (`SU…`).
    #[serde(default)]
    pub nkey: Option<Secret>,
    /// TLS settings; `tls://` servers use TLS without them.
    #[serde(default)]
    pub tls: Option<NatsTls>,
    /// How long connecting may take (default 5s).
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub connect_timeout: Duration,
    /// How long a message may wait for JetStream's acknowledgement before it counts as not
    /// delivered and goes back to the route (default 10s).
    #[serde(
        default = "default_ack_timeout",
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub ack_timeout: Duration,
    /// Messages awaiting their acknowledgement at once (default 1024).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Records per JetStream atomic batch (1 to [`MAX_ATOMIC_BATCH`]), each batch stored
    /// whole or not at all under one acknowledgement; absent: one acknowledgement per record.
    /// Needs nats-server 2.12 or later and a stream with `allow_atomic` (set by
    /// `create_stream`); without it the destination publishes one record at a time. Not
    /// faster than one acknowledgement per record (docs/streaming.md).
    #[serde(default)]
    pub atomic_batch: Option<usize>,
}

impl NatsConfig {
    /// A destination to `servers` with the defaults.
    ///
    /// ```
    /// let c = siem_stream::nats::NatsConfig::new("nats://127.0.0.1:4222");
    /// assert_eq!(c.subject.as_str(), "siem.events.{event_type}");
    /// ```
    pub fn new(servers: impl Into<String>) -> NatsConfig {
        NatsConfig {
            servers: Servers::new(servers.into().split(',').map(str::trim)),
            subject: default_subject(),
            stream: None,
            create_stream: None,
            user: None,
            password: None,
            token: None,
            credentials_file: None,
            nkey: None,
            tls: None,
            connect_timeout: default_connect_timeout(),
            ack_timeout: default_ack_timeout(),
            max_in_flight: default_max_in_flight(),
            atomic_batch: None,
        }
    }

    /// Sets `atomic_batch`: records per JetStream atomic batch, or `None` for one
    /// acknowledgement per record.
    ///
    /// ```
    /// let c = siem_stream::nats::NatsConfig::new("127.0.0.1:4222").atomic_batch(Some(500));
    /// assert_eq!(c.atomic_batch, Some(500));
    /// ```
    pub fn atomic_batch(mut self, records: Option<usize>) -> NatsConfig {
        self.atomic_batch = records;
        self
    }

    /// Sets `subject`: a subject or a template of the record's fields.
    ///
    /// ```
    /// use siem_stream::{nats::NatsConfig, NameTemplate};
    /// let c = NatsConfig::new("127.0.0.1:4222").subject(NameTemplate::parse("siem.all").unwrap());
    /// assert!(c.subject.is_static());
    /// ```
    pub fn subject(mut self, subject: NameTemplate) -> NatsConfig {
        self.subject = subject;
        self
    }

    /// Sets `stream` and `create_stream`: the stream that must store the messages, created
    /// with `create` when missing.
    ///
    /// ```
    /// let c = siem_stream::nats::NatsConfig::new("127.0.0.1:4222").stream("SIEM", None);
    /// assert_eq!(c.stream.as_deref(), Some("SIEM"));
    /// ```
    pub fn stream(mut self, name: impl Into<String>, create: Option<CreateStream>) -> NatsConfig {
        self.stream = Some(name.into());
        self.create_stream = create;
        self
    }

    /// Sets `ack_timeout`: how long a message may wait for its acknowledgement.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = siem_stream::nats::NatsConfig::new("127.0.0.1:4222").ack_timeout(Duration::from_secs(2));
    /// assert_eq!(c.ack_timeout, Duration::from_secs(2));
    /// ```
    pub fn ack_timeout(mut self, timeout: Duration) -> NatsConfig {
        self.ack_timeout = timeout;
        self
    }

    /// The subject a record goes to: a token a field's value would leave empty becomes `_`.
    pub(crate) fn subject_of(&self, fields: &RecordFields) -> String {
        let subject = self.subject.render(|name| fields.text(name), subject_char);
        if !subject.split('.').any(str::is_empty) {
            return subject;
        }
        subject
            .split('.')
            .map(|t| if t.is_empty() { "_" } else { t })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The subjects a created stream stores.
    pub(crate) fn stream_subjects(&self, create: &CreateStream) -> Vec<String> {
        if !create.subjects.is_empty() {
            return create.subjects.clone();
        }
        if self.subject.is_static() {
            return vec![self.subject.as_str().to_owned()];
        }
        let mut prefix: Vec<&str> = self
            .subject
            .as_str()
            .split('.')
            .take_while(|t| !t.contains('{'))
            .collect();
        prefix.push(">");
        vec![prefix.join(".")]
    }

    fn check_stream(&self) -> Result<(), ConfigError> {
        if let Some(name) = &self.stream {
            if name.is_empty()
                || name.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '/' | '\\')
                })
            {
                return Err(ConfigError::invalid(
                    "stream",
                    "a stream name has no spaces, `.`, `*`, `>`, `/` or `\\`",
                ));
            }
        }
        let Some(create) = &self.create_stream else {
            return Ok(());
        };
        if self.stream.is_none() {
            return Err(ConfigError::invalid(
                "create_stream",
                "needs `stream`: the name of the stream to create",
            ));
        }
        if !(1..=5).contains(&create.replicas) {
            return Err(ConfigError::invalid(
                "create_stream.replicas",
                "from 1 to 5",
            ));
        }
        if create.duplicate_window.is_zero() {
            return Err(ConfigError::invalid(
                "create_stream.duplicate_window",
                "resent messages are recognised only within a window longer than 0s",
            ));
        }
        let subjects = self.stream_subjects(create);
        if subjects.iter().any(|s| s == ">") {
            return Err(ConfigError::invalid(
                "create_stream.subjects",
                "needed when `subject` starts with a field (a stream cannot take every subject)",
            ));
        }
        for (i, s) in subjects.iter().enumerate() {
            check_subject(s, true)
                .map_err(|why| ConfigError::invalid(format!("create_stream.subjects[{i}]"), why))?;
        }
        Ok(())
    }

    fn check_credentials(&self) -> Result<(), ConfigError> {
        let methods = [
            ("user", self.user.is_some()),
            ("token", self.token.is_some()),
            ("credentials_file", self.credentials_file.is_some()),
            ("nkey", self.nkey.is_some()),
        ];
        let given: Vec<&str> = methods
            .iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| *k)
            .collect();
        if given.len() > 1 {
            return Err(ConfigError::invalid(
                given[1],
                format!(
                    "one way of authenticating at a time; `{}` is given too",
                    given[0]
                ),
            ));
        }
        match (&self.user, &self.password) {
            (Some(_), None) => {
                return Err(ConfigError::invalid("password", "`user` needs a password"))
            }
            (None, Some(_)) => return Err(ConfigError::invalid("user", "`password` needs a user")),
            _ => {}
        }
        if let Some(seed) = &self.nkey {
            let seed = seed.expose();
            if !seed.starts_with("SU")
                || seed.len() < 50
                || !seed.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(ConfigError::invalid(
                    "nkey",
                    "not a user NKey seed (`SU…`, 58 characters)",
                ));
            }
        }
        if let Some(path) = &self.credentials_file {
            readable_file(path, "credentials_file")?;
        }
        Ok(())
    }

    fn check_tls(&self) -> Result<(), ConfigError> {
        let Some(tls) = &self.tls else {
            return Ok(());
        };
        match (&tls.cert_file, &tls.key_file) {
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "tls.key_file",
                    "`tls.cert_file` needs its key",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "tls.cert_file",
                    "`tls.key_file` needs its certificate",
                ))
            }
            _ => {}
        }
        for (path, key) in [
            (&tls.ca_file, "tls.ca_file"),
            (&tls.cert_file, "tls.cert_file"),
            (&tls.key_file, "tls.key_file"),
        ] {
            if let Some(path) = path {
                readable_file(path, key)?;
            }
        }
        Ok(())
    }
}

/// Whether `subject` is one NATS accepts: tokens separated by single dots, no whitespace;
/// wildcards only where `wildcards` (a stream's subjects).
fn check_subject(subject: &str, wildcards: bool) -> Result<(), String> {
    if subject.is_empty() {
        return Err("a subject is needed".to_owned());
    }
    if let Some(c) = subject
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control())
    {
        return Err(format!("{c:?} cannot be part of a subject"));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens.iter().any(|t| t.is_empty()) {
        return Err("a subject's tokens are separated by single dots, none empty".to_owned());
    }
    for (i, t) in tokens.iter().enumerate() {
        let wildcard = *t == "*" || (*t == ">" && i == tokens.len() - 1);
        if (t.contains(['*', '>']) && !wildcard) || (wildcard && !wildcards) {
            return Err(if wildcards {
                "`*` stands for a whole token, `>` for the last ones".to_owned()
            } else {
                "a message's subject has no wildcard (`*`, `>`)".to_owned()
            });
        }
    }
    Ok(())
}

fn readable_file(path: &std::path::Path, key: &str) -> Result<(), ConfigError> {
    std::fs::metadata(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))
        .and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    key,
                    format!("{} is not a file", path.display()),
                ))
            }
        })
}

impl SinkConfig for NatsConfig {
    fn type_name(&self) -> &'static str {
        "nats"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.servers.check("servers", &["nats", "tls"])?;
        check_subject(&self.subject.render(|_| Some("x".into()), |_| true), false)
            .map_err(|why| ConfigError::invalid("subject", why))?;
        self.check_stream()?;
        self.check_credentials()?;
        self.check_tls()?;
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::invalid("connect_timeout", "longer than 0s"));
        }
        if self.ack_timeout.is_zero() {
            return Err(ConfigError::invalid("ack_timeout", "longer than 0s"));
        }
        if !(1..=65_536).contains(&self.max_in_flight) {
            return Err(ConfigError::invalid("max_in_flight", "from 1 to 65536"));
        }
        if let Some(n) = self.atomic_batch {
            if !(1..=MAX_ATOMIC_BATCH).contains(&n) {
                return Err(ConfigError::invalid(
                    "atomic_batch",
                    format!("from 1 to {MAX_ATOMIC_BATCH} records (the server's limit on an atomic batch)"),
                ));
            }
        }
        Ok(())
    }

    fn accepts(&self, format: Format, _: &FormatOptions) -> Result<(), String> {
        if self.subject.is_static() {
            // Without the event id, resent copies are not recognised: said in docs/streaming.md.
            return Ok(());
        }
        readable(format, "a templated `subject` and `Nats-Msg-Id`")
    }

    fn settings(&self) -> serde_json::Value {
        settings_of(self)
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        Ok(Box::new(NatsSink::new(self.clone())))
    }

    fn probe(&self, timeout: Duration) -> Result<String, String> {
        sink::probe(self, timeout)
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<NatsConfig, String> {
        let c: NatsConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| format!("{}: {e}", e.key()))?;
        Ok(c)
    }

    #[test]
    fn subjects_follow_the_template_and_stay_valid() {
        let c = config(r#"{"servers":"127.0.0.1:4222","subject":"siem.{tenant}.{event_type}"}"#)
            .unwrap();
        let f = RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":"a b*>"}"#);
        assert_eq!(c.subject_of(&f), "siem.a_b__.auth.failure");
        let dots = RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":".x.."}"#);
        assert_eq!(c.subject_of(&dots), "siem._.x._._.auth.failure");
        assert_eq!(
            c.subject_of(&RecordFields::default()),
            "siem.unknown.unknown"
        );
    }

    #[test]
    fn created_streams_take_the_subjects_prefix() {
        let c = config(r#"{"servers":"127.0.0.1:4222","stream":"S","create_stream":{}}"#).unwrap();
        let create = c.create_stream.clone().unwrap();
        assert_eq!(c.stream_subjects(&create), ["siem.events.>"]);
    }

    #[test]
    fn bad_settings_name_their_key() {
        for (json, key) in [
            (r#"{"servers":"127.0.0.1"}"#, "servers[0]"),
            (r#"{"servers":"http://h:4222"}"#, "servers[0]"),
            (r#"{"servers":"h:4222","subject":"siem..x"}"#, "subject"),
            (r#"{"servers":"h:4222","subject":"siem.*"}"#, "subject"),
            (
                r#"{"servers":"h:4222","subject":"siem x.{event_type}"}"#,
                "subject",
            ),
            (r#"{"servers":"h:4222","stream":"a.b"}"#, "stream"),
            (
                r#"{"servers":"h:4222","create_stream":{}}"#,
                "create_stream",
            ),
            (
                r#"{"servers":"h:4222","stream":"S","create_stream":{"replicas":7}}"#,
                "create_stream.replicas",
            ),
            (
                r#"{"servers":"h:4222","stream":"S","create_stream":{"duplicate_window":"0s"}}"#,
                "create_stream.duplicate_window",
            ),
            (
                r#"{"servers":"h:4222","subject":"{tenant}.x","stream":"S","create_stream":{}}"#,
                "create_stream.subjects",
            ),
            (
                r#"{"servers":"h:4222","stream":"S","create_stream":{"subjects":["a.>.b"]}}"#,
                "create_stream.subjects[0]",
            ),
            (r#"{"servers":"h:4222","user":"u"}"#, "password"),
            (r#"{"servers":"h:4222","password":"p"}"#, "user"),
            (
                r#"{"servers":"h:4222","user":"u","password":"p","token":"t"}"#,
                "token",
            ),
            (r#"{"servers":"h:4222","nkey":"not-a-seed"}"#, "nkey"),
            (
                r#"{"servers":"h:4222","credentials_file":"/no/such.creds"}"#,
                "credentials_file",
            ),
            (
                r#"{"servers":"h:4222","tls":{"cert_file":"/etc/hostname"}}"#,
                "tls.key_file",
            ),
            (
                r#"{"servers":"h:4222","tls":{"ca_file":"/no/ca.pem"}}"#,
                "tls.ca_file",
            ),
            (r#"{"servers":"h:4222","ack_timeout":"0s"}"#, "ack_timeout"),
            (r#"{"servers":"h:4222","max_in_flight":0}"#, "max_in_flight"),
            (r#"{"servers":"h:4222","atomic_batch":0}"#, "atomic_batch"),
            (
                r#"{"servers":"h:4222","atomic_batch":1001}"#,
                "atomic_batch",
            ),
        ] {
            let e = config(json).unwrap_err();
            assert!(e.starts_with(&format!("{key}: ")), "{json}: {e}");
        }
    }

    #[test]
    fn hostile_shapes_are_refused_by_the_reader() {
        for json in [
            r#"{"servers":4222}"#,
            r#"{"servers":"h:1","subject":"{"}"#,
            r#"{"servers":"h:1","create_stream":{"replicas":-1}}"#,
            r#"{"servers":"h:1","tls":{"verify":false}}"#,
            r#"{"servers":"h:1","ack_timeout":"later"}"#,
            r#"{"servers":"h:1","extra":true}"#,
            r#"{"servers":"h:1","atomic_batch":-1}"#,
            r#"{"servers":"h:1","atomic_batch":"many"}"#,
        ] {
            assert!(serde_json::from_str::<NatsConfig>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn secrets_are_not_shown() {
        let c = config(r#"{"servers":"h:4222","user":"u","password":"hunter2"}"#).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!c.settings().to_string().contains("hunter2"));
    }
}
