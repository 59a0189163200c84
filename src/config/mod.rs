//! Configuration: one [`Config`] for the builder and for YAML files.
//!
//! YAML files get `${VAR}` / `${VAR:-default}` interpolation inside string values,
//! `SIEM__<KEY>__<SUBKEY>=value` environment overrides (e.g. `SIEM__QUEUE__CAPACITY=5000`,
//! `SIEM__DESTINATIONS__0__FORMAT=cef`) and seed 004's `SIEM_HOST` / `SIEM_PORT` for the
//! collector, then validation with errors that name the key path (and the variable, for what
//! the environment set).
//! See `docs/configuration.md` for every key and how seed 000's `SIEMConfig` and seed 003's
//! YAML map onto it.

mod correlate;
mod destination;
mod environment;
mod error;
mod filter;
mod load;
mod parse;
mod secret;
mod show;
mod sinks;
mod suggest;

use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml_ng::Value;
use tracing::Level;

pub use correlate::{
    CheckpointConfig, CorrelateConfig, CorrelateMetricsConfig, CorrelationPlan, Slice,
};
pub(crate) use destination::CompiledDestination;
pub use destination::{DestinationConfig, SinkConfig};
pub use error::ConfigError;
pub use filter::FilterConfig;
pub use parse::parse_level;

use crate::classify::ClassificationRule;
use crate::redact::{RedactionMode, DEFAULT_SENSITIVE_FIELDS};

/// Which events are security events besides those with an explicit `event_type`.
///
/// ```
/// use tracing_siem::ClassifyConfig;
/// let c = ClassifyConfig::default();
/// assert_eq!(c.min_level, tracing::Level::WARN);
/// assert!(c.keywords);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClassifyConfig {
    /// Events below this level are never classified (an `event_type` field still counts).
    #[serde(deserialize_with = "parse::level")]
    pub min_level: Level,
    /// Apply seed 004's message keywords (after `rules`).
    pub keywords: bool,
    /// Your own rules, tried first, in order.
    pub rules: Vec<ClassificationRule>,
    /// Event type for events at or above `min_level` that no rule matches (seed 004 used
    /// `operational`); none by default, so such events are not security events.
    pub fallback: Option<String>,
}

impl ClassifyConfig {
    /// Sets `min_level`: events below this level are never classified (an `event_type` field still counts).
    ///
    /// ```
    /// use tracing::Level;
    /// use tracing_siem::ClassifyConfig;
    /// let c = ClassifyConfig::default().min_level(Level::DEBUG);
    /// assert_eq!(c.min_level, Level::DEBUG);
    /// ```
    pub fn min_level(mut self, min_level: Level) -> ClassifyConfig {
        self.min_level = min_level;
        self
    }

    /// Sets `keywords`: apply seed 004's message keywords (after `rules`).
    ///
    /// ```
    /// use tracing_siem::ClassifyConfig;
    /// let c = ClassifyConfig::default().keywords(false);
    /// assert!(!c.keywords);
    /// ```
    pub fn keywords(mut self, keywords: bool) -> ClassifyConfig {
        self.keywords = keywords;
        self
    }

    /// Sets `rules`: your own rules, tried first, in order.
    ///
    /// ```
    /// use tracing_siem::ClassificationRule;
    /// use tracing_siem::ClassifyConfig;
    /// let c = ClassifyConfig::default().rules([ClassificationRule::new("network").message_contains([["refused"]])]);
    /// assert_eq!(c.rules[0].event_type, "network");
    /// ```
    pub fn rules(mut self, rules: impl IntoIterator<Item = ClassificationRule>) -> ClassifyConfig {
        self.rules = rules.into_iter().collect();
        self
    }

    /// Sets `fallback`: event type for events at or above `min_level` that no rule matches (seed 004 used `operational`); none by default, so such events are not security events.
    ///
    /// ```
    /// use tracing_siem::ClassifyConfig;
    /// let c = ClassifyConfig::default().fallback("app.other");
    /// assert_eq!(c.fallback.as_deref(), Some("app.other"));
    /// ```
    pub fn fallback(mut self, fallback: impl Into<String>) -> ClassifyConfig {
        self.fallback = Some(fallback.into());
        self
    }
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            min_level: Level::WARN,
            keywords: true,
            rules: Vec::new(),
            fallback: None,
        }
    }
}

/// Redaction of sensitive fields.
///
/// ```
/// use tracing_siem::RedactConfig;
/// let r = RedactConfig::default();
/// assert!(r.fields.iter().any(|f| f == "password"));
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RedactConfig {
    /// Mask or hash.
    pub mode: RedactionMode,
    /// Entries that make a field sensitive, a word or several (`pin`, `api key`), matched
    /// in any spelling (see [`crate::Redactor::is_sensitive`]); replaces the default list.
    pub fields: Vec<String>,
    /// Entries added to `fields`.
    pub extra_fields: Vec<String>,
    /// Key for `hash` mode, so hashes are stable across runs and processes. Absent or empty
    /// (what `${SIEM_REDACT_KEY:-}` gives when the variable is unset): a random key per
    /// process, so that nobody can precompute the hashes of likely secrets.
    pub hash_key: Option<String>,
}

impl RedactConfig {
    /// Sets `mode`: mask or hash.
    ///
    /// ```
    /// use tracing_siem::RedactConfig;
    /// use tracing_siem::RedactionMode;
    /// let c = RedactConfig::default().mode(RedactionMode::Hash);
    /// assert_eq!(c.mode, RedactionMode::Hash);
    /// ```
    pub fn mode(mut self, mode: RedactionMode) -> RedactConfig {
        self.mode = mode;
        self
    }

    /// Sets `fields`: entries that make a field sensitive, a word or several (`pin`, `api key`), matched in any spelling (see [`crate::Redactor::is_sensitive`]); replaces the default list.
    ///
    /// ```
    /// use tracing_siem::RedactConfig;
    /// let c = RedactConfig::default().fields(["ssn", "iban"]);
    /// assert_eq!(c.fields, ["ssn", "iban"]);
    /// ```
    pub fn fields(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> RedactConfig {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `extra_fields`: entries added to `fields`.
    ///
    /// ```
    /// use tracing_siem::RedactConfig;
    /// let c = RedactConfig::default().extra_fields(["ssn", "iban"]);
    /// assert_eq!(c.extra_fields, ["ssn", "iban"]);
    /// ```
    pub fn extra_fields(
        mut self,
        extra_fields: impl IntoIterator<Item = impl Into<String>>,
    ) -> RedactConfig {
        self.extra_fields = extra_fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `hash_key`: key for `hash` mode, so hashes are stable across runs and processes.
    ///
    /// ```
    /// use tracing_siem::RedactConfig;
    /// let c = RedactConfig::default().hash_key("s3cr3t");
    /// assert_eq!(c.hash_key.as_deref(), Some("s3cr3t"));
    /// ```
    pub fn hash_key(mut self, hash_key: impl Into<String>) -> RedactConfig {
        self.hash_key = Some(hash_key.into());
        self
    }
}

impl RedactConfig {
    /// The redactor this configuration describes: `fields` and `extra_fields`, `mode`, and
    /// `hash_key`. The layer and `siem encode` both redact with it.
    ///
    /// ```
    /// use tracing_siem::RedactConfig;
    /// let mut config = RedactConfig::default();
    /// config.extra_fields.push("member number".into());
    /// let r = config.redactor();
    /// assert!(r.is_sensitive("memberNumber") && r.is_sensitive("privateKey"));
    /// ```
    pub fn redactor(&self) -> crate::Redactor {
        let entries: Vec<&String> = self.fields.iter().chain(&self.extra_fields).collect();
        crate::Redactor::new(
            &entries,
            self.mode,
            self.hash_key.as_deref().map(str::as_bytes),
        )
    }
}

impl std::fmt::Debug for RedactConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactConfig")
            .field("mode", &self.mode)
            .field("fields", &self.fields)
            .field("extra_fields", &self.extra_fields)
            .field("hash_key", &self.hash_key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl Default for RedactConfig {
    fn default() -> Self {
        RedactConfig {
            mode: RedactionMode::Mask,
            fields: DEFAULT_SENSITIVE_FIELDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            extra_fields: Vec::new(),
            hash_key: None,
        }
    }
}

/// The application-side queue.
///
/// ```
/// use tracing_siem::QueueConfig;
/// assert_eq!(QueueConfig::default().capacity, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct QueueConfig {
    /// Events held at most (seed 000's `max_queue_size`).
    pub capacity: usize,
    /// What a full queue does (default: drop the newest event).
    pub overflow: Overflow,
    /// How long a logging thread waits for room under [`Overflow::Block`] before the event is
    /// dropped (default 100 ms).
    #[serde(deserialize_with = "siem_ship::units::duration")]
    pub block_timeout: Duration,
    /// How often the pipeline thread polls the queue when not woken.
    #[serde(deserialize_with = "siem_ship::units::duration")]
    pub poll_interval: Duration,
    /// Events a flood of lesser ones must not shed (high and critical by default).
    pub protect: ProtectConfig,
}

/// Per-severity overflow: the last places of the application queue are kept for events at or
/// above `min_severity` (their `severity` field, else their level: ERROR is high), which may
/// also wait up to `max_wait` for room when even those are taken; lesser events are shed by the
/// `overflow` policy once the rest is full. Each destination's queue keeps the same share of
/// its places for them (without the wait: the pipeline thread serves every destination).
///
/// ```
/// use tracing_siem::ProtectConfig;
/// let p = ProtectConfig::default();
/// assert_eq!(p.min_severity, "high");
/// assert_eq!(p.reserve, None); // a tenth of the queue
/// assert_eq!(p.max_wait, std::time::Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProtectConfig {
    /// `info`, `low`, `medium`, `high` (default) or `critical`; `off` protects nothing.
    pub min_severity: String,
    /// Places only protected events may take (default: a tenth of `queue.capacity`).
    pub reserve: Option<usize>,
    /// The longest a protected event waits for room when even the reserve is full, whatever
    /// the `overflow` policy (default 1 s); then it is dropped as `block_timeout`.
    #[serde(deserialize_with = "siem_ship::units::duration")]
    pub max_wait: Duration,
}

impl Default for ProtectConfig {
    fn default() -> Self {
        ProtectConfig {
            min_severity: "high".to_owned(),
            reserve: None,
            max_wait: Duration::from_secs(1),
        }
    }
}

impl ProtectConfig {
    /// Sets `min_severity` (`off` protects nothing).
    ///
    /// ```
    /// let p = tracing_siem::ProtectConfig::default().min_severity("critical");
    /// assert_eq!(p.min_severity, "critical");
    /// ```
    pub fn min_severity(mut self, min_severity: impl Into<String>) -> ProtectConfig {
        self.min_severity = min_severity.into();
        self
    }

    /// Sets `reserve`: places only protected events may take.
    ///
    /// ```
    /// let p = tracing_siem::ProtectConfig::default().reserve(500);
    /// assert_eq!(p.reserve, Some(500));
    /// ```
    pub fn reserve(mut self, reserve: usize) -> ProtectConfig {
        self.reserve = Some(reserve);
        self
    }

    /// Sets `max_wait`: the longest a protected event waits for room.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = tracing_siem::ProtectConfig::default().max_wait(Duration::from_millis(200));
    /// assert_eq!(p.max_wait, Duration::from_millis(200));
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> ProtectConfig {
        self.max_wait = max_wait;
        self
    }

    /// The lowest protected severity, `None` for `off`; the error names the key.
    pub(crate) fn threshold(&self) -> Result<Option<siem_event::Severity>, ConfigError> {
        if self.min_severity.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        self.min_severity.parse().map(Some).map_err(|_| {
            ConfigError::invalid(
                "queue.protect.min_severity",
                format!(
                    "{:?} is not a severity: info, low, medium, high, critical, or off",
                    self.min_severity
                ),
            )
        })
    }

    /// The queue's reserve for a queue of `capacity`.
    pub(crate) fn reserve_of(&self, capacity: usize) -> usize {
        self.reserve.unwrap_or(capacity / 10)
    }
}

impl QueueConfig {
    /// Sets `capacity`: events held at most (seed 000's `max_queue_size`).
    ///
    /// ```
    /// use tracing_siem::QueueConfig;
    /// let c = QueueConfig::default().capacity(50_000);
    /// assert_eq!(c.capacity, 50_000);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> QueueConfig {
        self.capacity = capacity;
        self
    }

    /// Sets `overflow`: what a full queue does (default: drop the newest event).
    ///
    /// ```
    /// use tracing_siem::Overflow;
    /// use tracing_siem::QueueConfig;
    /// let c = QueueConfig::default().overflow(Overflow::Block);
    /// assert_eq!(c.overflow, Overflow::Block);
    /// ```
    pub fn overflow(mut self, overflow: Overflow) -> QueueConfig {
        self.overflow = overflow;
        self
    }

    /// Sets `block_timeout`: how long a logging thread waits for room under [`Overflow::Block`] before the event is dropped (default 100 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::QueueConfig;
    /// let c = QueueConfig::default().block_timeout(Duration::from_secs(30));
    /// assert_eq!(c.block_timeout, Duration::from_secs(30));
    /// ```
    pub fn block_timeout(mut self, block_timeout: Duration) -> QueueConfig {
        self.block_timeout = block_timeout;
        self
    }

    /// Sets `poll_interval`: how often the pipeline thread polls the queue when not woken.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::QueueConfig;
    /// let c = QueueConfig::default().poll_interval(Duration::from_secs(30));
    /// assert_eq!(c.poll_interval, Duration::from_secs(30));
    /// ```
    pub fn poll_interval(mut self, poll_interval: Duration) -> QueueConfig {
        self.poll_interval = poll_interval;
        self
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            overflow: Overflow::DropNewest,
            block_timeout: Duration::from_millis(100),
            poll_interval: Duration::from_millis(10),
            protect: ProtectConfig::default(),
        }
    }
}

impl QueueConfig {
    /// The queue's overflow policy, with the blocking timeout when it blocks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::{Overflow, QueueConfig};
    /// let q = QueueConfig::default().overflow(Overflow::Block).block_timeout(Duration::from_secs(3));
    /// assert_eq!(q.policy(), siem_ship::OverflowPolicy::Block { timeout: Duration::from_secs(3) });
    /// ```
    pub fn policy(&self) -> siem_ship::OverflowPolicy {
        match self.overflow {
            Overflow::DropNewest => siem_ship::OverflowPolicy::DropNewest,
            Overflow::DropOldest => siem_ship::OverflowPolicy::DropOldest,
            Overflow::Block => siem_ship::OverflowPolicy::Block {
                timeout: self.block_timeout,
            },
        }
    }
}

/// What a full queue does with one more event (`queue.overflow`).
///
/// ```
/// use tracing_siem::{Config, Overflow};
/// let c = Config::from_yaml_str("queue: { overflow: block, block_timeout: 3s }").unwrap();
/// assert_eq!((c.queue.overflow, c.queue.block_timeout.as_secs()), (Overflow::Block, 3));
/// assert!(Config::from_yaml_str("queue: { overflow: sometimes }").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Overflow {
    /// Drop the event being logged: the application never waits (seed 000's
    /// `drop_on_overflow: true`).
    #[default]
    #[serde(alias = "drop_newest", alias = "drop")]
    DropNewest,
    /// Drop the oldest queued event to make room.
    #[serde(alias = "drop_oldest")]
    DropOldest,
    /// The logging thread waits up to `block_timeout` for room, then the event is dropped; the
    /// pipeline likewise waits for room at a full destination (back-pressure).
    Block,
}

/// Caps on what is captured for one event, so that a hostile or careless field (1 MB of
/// text, a huge `Debug` value) or thousands of fields from nested spans cannot make the queue
/// hold unbounded memory: a full queue holds at most `queue.capacity × max_event_bytes` of
/// text. Cut text ends on a character boundary; fields past `max_fields` are left out (the
/// event's own first, then those of the innermost spans); either way the event carries
/// `siem_truncated: true`.
///
/// ```
/// use tracing_siem::LimitsConfig;
/// let l = LimitsConfig::default();
/// assert_eq!((l.max_field_bytes, l.max_event_bytes), (8 * 1024, 16 * 1024));
/// assert_eq!(l.max_fields, 128);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Longest text kept for one field (default 8 KiB).
    #[serde(deserialize_with = "siem_ship::units::byte_size_usize")]
    pub max_field_bytes: usize,
    /// Longest text kept for one event, all fields together (default 16 KiB).
    #[serde(deserialize_with = "siem_ship::units::byte_size_usize")]
    pub max_event_bytes: usize,
    /// Most fields kept for one event, its own and inherited ones together (default 128).
    pub max_fields: usize,
}

impl LimitsConfig {
    /// Sets `max_field_bytes`: longest text kept for one field (default 8 KiB).
    ///
    /// ```
    /// use tracing_siem::LimitsConfig;
    /// let c = LimitsConfig::default().max_field_bytes(1024);
    /// assert_eq!(c.max_field_bytes, 1024);
    /// ```
    pub fn max_field_bytes(mut self, max_field_bytes: usize) -> LimitsConfig {
        self.max_field_bytes = max_field_bytes;
        self
    }

    /// Sets `max_event_bytes`: longest text kept for one event, all fields together (default 16 KiB).
    ///
    /// ```
    /// use tracing_siem::LimitsConfig;
    /// let c = LimitsConfig::default().max_event_bytes(1024);
    /// assert_eq!(c.max_event_bytes, 1024);
    /// ```
    pub fn max_event_bytes(mut self, max_event_bytes: usize) -> LimitsConfig {
        self.max_event_bytes = max_event_bytes;
        self
    }

    /// Sets `max_fields`: most fields kept for one event, its own and inherited ones together (default 128).
    ///
    /// ```
    /// use tracing_siem::LimitsConfig;
    /// let c = LimitsConfig::default().max_fields(1024);
    /// assert_eq!(c.max_fields, 1024);
    /// ```
    pub fn max_fields(mut self, max_fields: usize) -> LimitsConfig {
        self.max_fields = max_fields;
        self
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_field_bytes: 8 * 1024,
            max_event_bytes: 16 * 1024,
            max_fields: 128,
        }
    }
}

/// Everything `tracing-siem` can be told.
///
/// ```
/// let config = tracing_siem::Config::from_yaml_str(r#"
/// app: payments
/// static_fields:
///   constitutional_hash: cdd01ef066bc6cf2
/// destinations:
///   - type: stdout
///     format: json
/// "#).unwrap();
/// assert_eq!(config.app.as_deref(), Some("payments"));
/// assert_eq!(config.destinations.len(), 1);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// Application name (default: the executable's name).
    pub app: Option<String>,
    /// Host name (default: the system's).
    pub host: Option<String>,
    /// Labels added to every event, in order.
    pub static_fields: IndexMap<String, String>,
    /// Classification of events without `event_type`.
    pub classify: ClassifyConfig,
    /// Redaction of sensitive fields.
    pub redact: RedactConfig,
    /// The application-side queue.
    pub queue: QueueConfig,
    /// Caps on captured text.
    pub limits: LimitsConfig,
    /// How long the guard waits on drop to deliver what is queued.
    #[serde(deserialize_with = "siem_ship::units::duration")]
    pub shutdown_timeout: Duration,
    /// How often drops are reported as a `siem.events_dropped` event.
    #[serde(deserialize_with = "siem_ship::units::duration")]
    pub drop_report_interval: Duration,
    /// Tell a person on standard error what metrics tell programs (default true): a
    /// destination that starts failing and recovers (one line each, rate-limited), events
    /// logged after the guard was dropped, and a subscriber whose global level filter keeps
    /// WARN events from the layer. Set `false` to keep standard error silent.
    pub stderr_notices: bool,
    /// Where events go.
    pub destinations: Vec<DestinationConfig>,
    /// Alert rules, correlation and Sigma (seed 000's thresholds are on by default).
    pub rules: siem_rules::RulesConfig,
    /// Sampling and rate limiting of high-volume events before the destinations.
    pub sampling: crate::SamplingConfig,
    /// Fleet-wide correlation over Kafka (`siem correlate`); absent for a program's layer.
    pub correlate: Option<CorrelateConfig>,
}

impl Config {
    /// Sets `app`: application name (default: the executable's name).
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let c = Config::default().app("payments");
    /// assert_eq!(c.app.as_deref(), Some("payments"));
    /// ```
    pub fn app(mut self, app: impl Into<String>) -> Config {
        self.app = Some(app.into());
        self
    }

    /// Sets `host`: host name (default: the system's).
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let c = Config::default().host("web-1");
    /// assert_eq!(c.host.as_deref(), Some("web-1"));
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Config {
        self.host = Some(host.into());
        self
    }

    /// Sets `static_fields`: labels added to every event, in order.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let c = Config::default().static_fields([("env", "prod")]);
    /// assert_eq!(c.static_fields.get("env").map(String::as_str), Some("prod"));
    /// ```
    pub fn static_fields(
        mut self,
        static_fields: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Config {
        self.static_fields = static_fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets `classify`: classification of events without `event_type`.
    ///
    /// ```
    /// use tracing_siem::ClassifyConfig;
    /// use tracing_siem::Config;
    /// let c = Config::default().classify(ClassifyConfig::default().keywords(false));
    /// assert!(!c.classify.keywords);
    /// ```
    pub fn classify(mut self, classify: ClassifyConfig) -> Config {
        self.classify = classify;
        self
    }

    /// Sets `redact`: redaction of sensitive fields.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::RedactConfig;
    /// use tracing_siem::RedactionMode;
    /// let c = Config::default().redact(RedactConfig::default().mode(RedactionMode::Hash));
    /// assert_eq!(c.redact.mode, RedactionMode::Hash);
    /// ```
    pub fn redact(mut self, redact: RedactConfig) -> Config {
        self.redact = redact;
        self
    }

    /// Sets `queue`: the application-side queue.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::QueueConfig;
    /// let c = Config::default().queue(QueueConfig::default().capacity(50_000));
    /// assert_eq!(c.queue.capacity, 50_000);
    /// ```
    pub fn queue(mut self, queue: QueueConfig) -> Config {
        self.queue = queue;
        self
    }

    /// Sets `limits`: caps on captured text.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::LimitsConfig;
    /// let c = Config::default().limits(LimitsConfig::default().max_fields(64));
    /// assert_eq!(c.limits.max_fields, 64);
    /// ```
    pub fn limits(mut self, limits: LimitsConfig) -> Config {
        self.limits = limits;
        self
    }

    /// Sets `shutdown_timeout`: how long the guard waits on drop to deliver what is queued.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::Config;
    /// let c = Config::default().shutdown_timeout(Duration::from_secs(30));
    /// assert_eq!(c.shutdown_timeout, Duration::from_secs(30));
    /// ```
    pub fn shutdown_timeout(mut self, shutdown_timeout: Duration) -> Config {
        self.shutdown_timeout = shutdown_timeout;
        self
    }

    /// Sets `drop_report_interval`: how often drops are reported as a `siem.events_dropped` event.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::Config;
    /// let c = Config::default().drop_report_interval(Duration::from_secs(30));
    /// assert_eq!(c.drop_report_interval, Duration::from_secs(30));
    /// ```
    pub fn drop_report_interval(mut self, drop_report_interval: Duration) -> Config {
        self.drop_report_interval = drop_report_interval;
        self
    }

    /// Sets `stderr_notices`: tell a person on standard error what metrics tell programs (default true): a destination that starts failing and recovers (one line each, rate-limited), events logged after the guard was dropped, and a subscriber whose global level filter keeps WARN events from the layer.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let c = Config::default().stderr_notices(false);
    /// assert!(!c.stderr_notices);
    /// ```
    pub fn stderr_notices(mut self, stderr_notices: bool) -> Config {
        self.stderr_notices = stderr_notices;
        self
    }

    /// Sets `destinations`: where events go.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::DestinationConfig;
    /// let c = Config::default().destinations([DestinationConfig::stdout().name("console")]);
    /// assert_eq!(c.destinations[0].name.as_deref(), Some("console"));
    /// ```
    pub fn destinations(
        mut self,
        destinations: impl IntoIterator<Item = DestinationConfig>,
    ) -> Config {
        self.destinations = destinations.into_iter().collect();
        self
    }

    /// Sets `rules`: alert rules, correlation and Sigma (seed 000's thresholds are on by default).
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::rules::RulesConfig;
    /// let c = Config::default().rules(RulesConfig::default().enabled(false));
    /// assert!(!c.rules.enabled);
    /// ```
    pub fn rules(mut self, rules: siem_rules::RulesConfig) -> Config {
        self.rules = rules;
        self
    }

    /// Sets `sampling`: sampling and rate limiting of high-volume events before the destinations.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// use tracing_siem::SamplingConfig;
    /// use tracing_siem::event::Severity;
    /// let c = Config::default().sampling(SamplingConfig::default().exempt_from(Severity::Critical));
    /// assert_eq!(c.sampling.exempt_from, Severity::Critical);
    /// ```
    pub fn sampling(mut self, sampling: crate::SamplingConfig) -> Config {
        self.sampling = sampling;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            app: None,
            host: None,
            static_fields: IndexMap::new(),
            classify: ClassifyConfig::default(),
            redact: RedactConfig::default(),
            queue: QueueConfig::default(),
            limits: LimitsConfig::default(),
            shutdown_timeout: Duration::from_secs(10),
            drop_report_interval: Duration::from_secs(30),
            stderr_notices: true,
            destinations: Vec::new(),
            rules: siem_rules::RulesConfig::default(),
            sampling: crate::SamplingConfig::default(),
            correlate: None,
        }
    }
}

/// The process's environment variables that may be overrides; `std::env::vars` would panic
/// on a name or value that is not UTF-8, and no such variable can name a key.
fn process_variables() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        name.starts_with("SIEM_")
            .then(|| (name, value.to_string_lossy().into_owned()))
    })
}

/// A validated configuration's compiled parts, in the order of `Config::destinations`.
pub(crate) struct Compiled {
    pub overflow: siem_ship::OverflowPolicy,
    pub classifier: crate::classify::Classifier,
    pub engine: siem_rules::Engine,
    pub destinations: Vec<CompiledDestination>,
}

/// The top-level keys: a `SIEM_<KEY>` variable for one of them is an override in the former
/// spelling, refused with the new one.
const TOP_LEVEL_KEYS: &[&str] = &[
    "app",
    "host",
    "static_fields",
    "classify",
    "redact",
    "queue",
    "limits",
    "shutdown_timeout",
    "drop_report_interval",
    "stderr_notices",
    "destinations",
    "rules",
    "sampling",
    "correlate",
];

impl Config {
    /// Parses YAML text, with interpolation from and overrides by the process environment.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        Config::from_yaml_with_env(text, &|k| std::env::var(k).ok(), process_variables())
    }

    /// Reads and parses a YAML file (see [`Config::from_yaml_str`]).
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let text = load::read_file(path.as_ref())?;
        Config::from_yaml_str(&text)
    }

    /// Reads a configuration file's text as [`Config::from_yaml_file`] does (never more than the
    /// 4 MiB a configuration may have), keeping the I/O error's kind so that a tool can tell a
    /// missing file (`NotFound`) from an invalid configuration.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let err = Config::read_yaml_text("/nonexistent/siem.yaml").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn read_yaml_text(path: impl AsRef<Path>) -> std::io::Result<String> {
        load::read_text(path.as_ref())
    }

    /// Parses YAML text with an explicit environment: `env` answers `${VAR}`, `overrides` are
    /// the variables that may override keys (`SIEM__QUEUE__CAPACITY`, `SIEM_HOST`, …).
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let yaml = "destinations:\n  - { type: syslog, transport: udp, host: localhost, port: \"${P:-5514}\" }";
    /// let vars = [("SIEM_HOST".to_owned(), "siem.example.com".to_owned())];
    /// let config = Config::from_yaml_with_env(yaml, &|_| None, vars).unwrap();
    /// let text = format!("{:?}", config.destinations[0].sink);
    /// assert!(text.contains("siem.example.com") && text.contains("5514"), "{text}");
    /// ```
    pub fn from_yaml_with_env(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut value, from_env) = Config::resolve_yaml(text, env, overrides)?;
        let config: Config = environment::deserialize(&mut value, &from_env)?;
        config
            .validate()
            .map_err(|e| environment::attribute(e, &from_env))?;
        Ok(config)
    }

    /// The YAML after interpolation and overrides, before it is checked against the schema,
    /// and what in it came from the environment.
    fn resolve_yaml(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Value, Vec<environment::EnvText>), ConfigError> {
        load::check_shape(text)?;
        let mut value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            ConfigError::invalid("", format!("invalid YAML{at}: {e}")).with_source(e)
        })?;
        if value.is_null() {
            value = Value::Mapping(Default::default());
        }
        if !value.is_mapping() {
            return Err(ConfigError::invalid(
                "",
                "the configuration must be a YAML mapping",
            ));
        }
        let mut read = load::Interpolated::default();
        load::interpolate(&mut value, &mut Vec::new(), env, &mut read)?;
        let mut from_env = read.whole;
        from_env.extend(environment::apply_overrides(
            &mut value,
            overrides,
            &read.variables,
            TOP_LEVEL_KEYS,
        )?);
        Ok((value, from_env))
    }

    /// The resolved configuration as YAML, for `siem check`: what `text` says after
    /// interpolation and overrides, with the default of every key it leaves out filled in (the
    /// sinks' own keys excepted) and everything under a secret key masked.
    ///
    /// ```
    /// use tracing_siem::Config;
    /// let shown = Config::resolved_yaml_masked("redact: { hash_key: s3cr3t }").unwrap();
    /// assert!(shown.contains("capacity: 10000") && shown.contains("shutdown_timeout: 10s"));
    /// assert!(!shown.contains("s3cr3t"));
    /// ```
    pub fn resolved_yaml_masked(text: &str) -> Result<String, ConfigError> {
        let (mut value, from_env) =
            Config::resolve_yaml(text, &|k| std::env::var(k).ok(), process_variables())?;
        let config: Config = environment::deserialize(&mut value, &from_env)?;
        let shown = show::with_defaults(&config, &value);
        serde_yaml_ng::to_string(&secret::masked(&shown))
            .map_err(|e| ConfigError::invalid("", e.to_string()).with_source(e))
    }

    /// Checks what the schema alone cannot: values, rules (classification and alerting), format
    /// options and filters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let compiled = self.compile()?;
        // `build()` runs the same two checks, knowing the program's handlers and sinks too.
        crate::actions::check(
            &self.rules,
            &compiled.engine,
            &self.destination_names(),
            None,
        )?;
        self.sampling.compile()?;
        match &self.correlate {
            Some(correlate) => correlate.validate(&self.rules),
            None => Ok(()),
        }
    }

    /// Validates and builds what takes work to check, once: the builder starts from this.
    pub(crate) fn compile(&self) -> Result<Compiled, ConfigError> {
        if self.queue.capacity == 0 {
            return Err(ConfigError::invalid("queue.capacity", "must be at least 1"));
        }
        if self.queue.capacity > 10_000_000 {
            return Err(ConfigError::invalid(
                "queue.capacity",
                "at most 10000000 (each slot is preallocated)",
            ));
        }
        let overflow = self.queue.policy();
        if self.queue.overflow == Overflow::Block && self.queue.block_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "queue.block_timeout",
                "must be more than 0 with overflow: block (use drop-newest not to wait)",
            ));
        }
        if self.queue.poll_interval.is_zero() {
            return Err(ConfigError::invalid(
                "queue.poll_interval",
                "must be more than 0",
            ));
        }
        let protect = &self.queue.protect;
        if protect.threshold()?.is_some() {
            if protect.reserve_of(self.queue.capacity) >= self.queue.capacity {
                return Err(ConfigError::invalid(
                    "queue.protect.reserve",
                    "must be less than queue.capacity (the rest is for every event)",
                ));
            }
            if protect.max_wait > Duration::from_secs(60) {
                return Err(ConfigError::invalid(
                    "queue.protect.max_wait",
                    "at most 60s: a logging thread waits this long at worst",
                ));
            }
        }
        let l = &self.limits;
        if l.max_field_bytes == 0 {
            return Err(ConfigError::invalid(
                "limits.max_field_bytes",
                "must be at least 1",
            ));
        }
        if l.max_event_bytes < l.max_field_bytes {
            return Err(ConfigError::invalid(
                "limits.max_event_bytes",
                "must be at least limits.max_field_bytes",
            ));
        }
        if l.max_event_bytes > 1 << 30 {
            return Err(ConfigError::invalid(
                "limits.max_event_bytes",
                "at most 1GiB",
            ));
        }
        if !(1..=1024).contains(&l.max_fields) {
            // Each new field is looked up among those kept: the cap bounds that cost too.
            return Err(ConfigError::invalid("limits.max_fields", "must be 1-1024"));
        }
        if self.drop_report_interval.is_zero() {
            return Err(ConfigError::invalid(
                "drop_report_interval",
                "must be more than 0",
            ));
        }
        for (k, _) in &self.static_fields {
            if k.is_empty() {
                return Err(ConfigError::invalid(
                    "static_fields",
                    "a field name is empty",
                ));
            }
        }
        let mut rules = self.classify.rules.clone();
        if self.classify.keywords {
            rules.extend(crate::classify::default_rules());
        }
        let classifier = crate::classify::Classifier::new(
            self.classify.min_level,
            &rules,
            self.classify.fallback.as_deref(),
        )?;
        let engine = siem_rules::Engine::new(&self.rules).map_err(error::from_rules_error)?;
        let mut destinations = Vec::with_capacity(self.destinations.len());
        let mut names = std::collections::HashSet::new();
        let mut spools = std::collections::HashSet::new();
        for (i, name) in self.destination_names().iter().enumerate() {
            let key = format!("destinations[{i}]");
            if !names.insert(name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{key}.name"),
                    format!("duplicate destination name {name:?}"),
                ));
            }
            if let Some(spool) = &self.destinations[i].spool {
                if !spools.insert(spool.path.clone()) {
                    return Err(ConfigError::invalid(
                        format!("{key}.spool.path"),
                        format!(
                            "{} is the spool of another destination: each needs its own",
                            spool.path.display()
                        ),
                    ));
                }
            }
            self.destinations[i].check_sink(&key)?;
            destinations.push(self.destinations[i].compile(&key)?);
        }
        Ok(Compiled {
            overflow,
            classifier,
            engine,
            destinations,
        })
    }

    /// The name of each destination: its `name`, or its type numbered when repeated.
    pub fn destination_names(&self) -> Vec<String> {
        let mut seen: IndexMap<&str, usize> = IndexMap::new();
        self.destinations
            .iter()
            .map(|d| match &d.name {
                Some(n) => n.clone(),
                None => {
                    let t = d.sink.type_name();
                    let n = seen.entry(t).or_insert(0);
                    *n += 1;
                    if *n == 1 {
                        t.to_owned()
                    } else {
                        format!("{t}-{n}")
                    }
                }
            })
            .collect()
    }
}
