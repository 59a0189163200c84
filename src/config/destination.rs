//! One destination in configuration: where to (`type` and its keys), in what format, which
//! events, and how to batch and retry.

use std::path::PathBuf;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};
use siem_format::{BodyFormat, Format, FormatOptions};
use siem_ship::sink::file::FileConfig;
use siem_ship::sink::stdout::StdoutConfig;
use siem_ship::sink::syslog::SyslogConfig;
use siem_ship::{BatchConfig, RetryConfig, SpoolConfig};

/// The settings of a destination type (re-exported from `siem-ship`).
pub use siem_ship::sink::SinkConfig;

use super::filter::FilterConfig;
use super::ConfigError;

/// A destination's own queue, in events, unless configured.
const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// A destination: the sink, the format, the filter, batching and retry.
///
/// In YAML the sink's own keys sit beside the common ones, selected by `type`:
///
/// ```
/// use tracing_siem::DestinationConfig;
/// let d: DestinationConfig = serde_yaml_ng::from_str(r#"
/// name: audit
/// type: file
/// path: ./siem-events.jsonl
/// format: json
/// rotation: { max_size: 100MB, max_files: 10, compress: true }
/// batch: { max_events: 100, interval: 5s }
/// filter: { include: ["auth.*", "authz.*"], exclude: ["severity:low"] }
/// "#).unwrap();
/// assert_eq!(d.name.as_deref(), Some("audit"));
/// assert_eq!(d.sink.type_name(), "file");
/// ```
///
/// The `type` names are those of the destination table (`src/config/sinks.rs`); each type's
/// settings implement [`SinkConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DestinationConfig {
    /// A unique name for metrics and errors (default: the type, then `-2`, `-3`… if repeated).
    pub name: Option<String>,
    /// The wire format (default: the destination type's, JSON or RFC 5424 for syslog).
    pub format: Format,
    /// Options of the format (vendor, product, facility, SD-ID…).
    pub format_options: FormatOptions,
    /// Which events go here.
    pub filter: FilterConfig,
    /// When to send.
    pub batch: BatchConfig,
    /// How to retry.
    pub retry: RetryConfig,
    /// Capacity of this destination's queue (default 10 000).
    pub queue_capacity: usize,
    /// The destination's disk spool, where batches wait while it is down or slow (default:
    /// none; events then wait in memory only).
    pub spool: Option<SpoolConfig>,
    /// The transport: the settings of the destination type.
    pub sink: Box<dyn SinkConfig>,
}

impl DestinationConfig {
    /// Sets `queue_capacity`: capacity of this destination's queue (default 10 000).
    ///
    /// ```
    /// use tracing_siem::DestinationConfig;
    /// let c = DestinationConfig::stdout().queue_capacity(50_000);
    /// assert_eq!(c.queue_capacity, 50_000);
    /// ```
    pub fn queue_capacity(mut self, queue_capacity: usize) -> DestinationConfig {
        self.queue_capacity = queue_capacity;
        self
    }

    /// Sets `spool`: a disk spool for this destination, where batches wait while it is down
    /// or slower than the events, and which a restart sends first.
    ///
    /// ```
    /// use tracing_siem::{DestinationConfig, SpoolConfig, SyslogConfig, WhenFull};
    /// let d = DestinationConfig::syslog(SyslogConfig::tcp("127.0.0.1"))
    ///     .spool(SpoolConfig::new("/var/spool/siem/syslog").max_size(1 << 30).when_full(WhenFull::DropOldest));
    /// assert_eq!(d.spool.unwrap().max_size, 1 << 30);
    /// ```
    pub fn spool(mut self, spool: SpoolConfig) -> DestinationConfig {
        self.spool = Some(spool);
        self
    }
}

impl DestinationConfig {
    /// A destination for a destination type's settings, in the type's default format (JSON,
    /// or RFC 5424 for syslog), with the default filter, batching and retry.
    ///
    /// ```
    /// use tracing_siem::DestinationConfig;
    /// use tracing_siem::format::Format;
    /// use tracing_siem::ship::sink::syslog::SyslogConfig;
    /// let d = DestinationConfig::new(SyslogConfig::tcp("127.0.0.1"));
    /// assert_eq!((d.sink.type_name(), d.format), ("syslog", Format::Rfc5424));
    /// ```
    pub fn new(sink: impl SinkConfig) -> DestinationConfig {
        DestinationConfig::with_boxed(Box::new(sink))
    }

    fn with_boxed(sink: Box<dyn SinkConfig>) -> DestinationConfig {
        DestinationConfig {
            name: None,
            format: sink.default_format(),
            format_options: FormatOptions::default(),
            filter: FilterConfig::default(),
            batch: BatchConfig::default(),
            retry: RetryConfig::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            spool: None,
            sink,
        }
    }

    /// JSON lines on standard output, sent every second.
    pub fn stdout() -> DestinationConfig {
        let mut d = DestinationConfig::new(StdoutConfig::default());
        d.batch.interval = std::time::Duration::from_secs(1);
        d
    }

    /// A JSON-lines file with the default rotation.
    pub fn file(path: impl Into<PathBuf>) -> DestinationConfig {
        DestinationConfig::new(FileConfig::new(path))
    }

    /// Syslog with the given transport settings, in RFC 5424.
    pub fn syslog(config: SyslogConfig) -> DestinationConfig {
        DestinationConfig::new(config)
    }

    /// Names the destination.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Chooses the wire format.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Sets the format's options.
    pub fn format_options(mut self, options: FormatOptions) -> Self {
        self.format_options = options;
        self
    }

    /// Sets which events go here.
    pub fn filter(mut self, filter: FilterConfig) -> Self {
        self.filter = filter;
        self
    }

    /// Sets the batching policy.
    pub fn batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
}

/// A destination's encoder and filter, built from its configuration.
pub(crate) struct CompiledDestination {
    pub encoder: Box<dyn siem_format::Encoder>,
    pub filter: Option<siem_ship::EventFilter>,
}

impl DestinationConfig {
    /// Checks the values and builds the encoder and filter; errors are named under `key`.
    pub(crate) fn compile(&self, key: &str) -> Result<CompiledDestination, ConfigError> {
        if self.queue_capacity == 0 {
            return Err(ConfigError::invalid(
                format!("{key}.queue_capacity"),
                "must be at least 1",
            ));
        }
        if self.batch.max_events == 0 {
            return Err(ConfigError::invalid(
                format!("{key}.batch.max_events"),
                "must be at least 1",
            ));
        }
        if let Some(spool) = &self.spool {
            spool
                .validate()
                .map_err(|e| e.within(&format!("{key}.spool")))?;
        }
        let filter = if self.filter.is_empty() {
            None
        } else {
            Some(self.filter.compile(&format!("{key}.filter"))?)
        };
        if self.format_options.body != BodyFormat::Message
            && !matches!(self.format, Format::Rfc5424 | Format::Rfc3164)
        {
            return Err(ConfigError::invalid(
                format!("{key}.format_options.body"),
                format!(
                    "is the body of a syslog message and format {} has none, so it would be \
                     ignored: use format: rfc5424 (or rfc3164) to send it inside syslog, or \
                     remove it",
                    self.format
                ),
            ));
        }
        let encoder =
            siem_format::build_encoder(self.format, &self.format_options).map_err(|e| {
                ConfigError::invalid(format!("{key}.format_options"), e.to_string()).with_source(e)
            })?;
        Ok(CompiledDestination { encoder, filter })
    }

    /// Checks the destination type's settings and that it can carry the format without losing
    /// information: what `build()` checks before opening the sink. Errors are named under `key`.
    pub(crate) fn check_sink(&self, key: &str) -> Result<(), ConfigError> {
        self.sink.validate().map_err(|e| e.within(key))?;
        self.sink
            .accepts(self.format, &self.format_options)
            .map_err(|why| ConfigError::invalid(format!("{key}.format"), why))
    }

    /// Reads a destination from its YAML mapping; an error's key is relative to the
    /// destination (`rotation.max_size`, `batch.interval`, `type`).
    ///
    /// The common keys are taken out first; what is left must be exactly the keys of the
    /// destination type that `type` names (each type refuses unknown keys).
    pub(crate) fn from_value(value: Value) -> Result<DestinationConfig, ConfigError> {
        let Value::Mapping(mut map) = value else {
            return Err(ConfigError::invalid(
                "",
                "a destination must be a mapping with a `type` key",
            ));
        };
        let kind: Option<String> = take(&mut map, "type")?;
        let name: Option<String> = take(&mut map, "name")?;
        let format: Option<Format> = take(&mut map, "format")?;
        let format_options = take(&mut map, "format_options")?;
        let filter = take(&mut map, "filter")?;
        let batch = take(&mut map, "batch")?;
        let retry = take(&mut map, "retry")?;
        let queue_capacity: Option<usize> = take(&mut map, "queue_capacity")?;
        let spool: Option<SpoolConfig> = take(&mut map, "spool")?;
        let Some(kind) = kind else {
            return Err(ConfigError::invalid(
                "type",
                format!("missing; one of {}", super::sinks::type_names()),
            ));
        };
        let sink = super::sinks::read_sink(&kind, Value::Mapping(map))?;
        let mut d = DestinationConfig::with_boxed(sink);
        d.name = name;
        d.format = format.unwrap_or(d.format);
        d.format_options = format_options;
        d.filter = filter;
        d.batch = batch;
        d.retry = retry;
        d.queue_capacity = queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY);
        d.spool = spool;
        Ok(d)
    }
}

/// Takes a common key out of the mapping: absent or `null` gives the default.
fn take<T: serde::de::DeserializeOwned + Default>(
    map: &mut Mapping,
    key: &str,
) -> Result<T, ConfigError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_path_to_error::deserialize(v)
            .map_err(|e| super::error::from_path_error(e).within(key)),
    }
}

impl<'de> Deserialize<'de> for DestinationConfig {
    /// See [`DestinationConfig`]: the keys of the destination type sit beside the common ones.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        DestinationConfig::from_value(value).map_err(de::Error::custom)
    }
}
