//! One destination in configuration: where to (`type` and its keys), in what format, which
//! events, and how to batch and retry.

use std::path::PathBuf;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::file::FileConfig;
use siem_ship::sink::stdout::{StdoutConfig, Stream};
use siem_ship::sink::syslog::SyslogConfig;
use siem_ship::{BatchConfig, RetryConfig};

use super::filter::FilterConfig;
use super::ConfigError;

/// A destination's own queue, in events, unless configured.
const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// The transport of a destination and its settings.
#[derive(Debug, Clone)]
pub enum SinkConfig {
    /// Standard output or standard error (`type: stdout`).
    Stdout(StdoutConfig),
    /// A JSON-lines file with rotation (`type: file`).
    File(FileConfig),
    /// Syslog over UDP, TCP or TLS (`type: syslog`).
    Syslog(SyslogConfig),
}

impl SinkConfig {
    /// The `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkConfig::Stdout(c) if c.stream == Stream::Stderr => "stderr",
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::File(_) => "file",
            SinkConfig::Syslog(_) => "syslog",
        }
    }
}

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
#[derive(Debug, Clone)]
pub struct DestinationConfig {
    /// A unique name for metrics and errors (default: the type, then `-2`, `-3`… if repeated).
    pub name: Option<String>,
    /// The wire format (default JSON).
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
    /// The transport.
    pub sink: SinkConfig,
}

impl DestinationConfig {
    /// A destination for a sink, with JSON and the defaults.
    pub fn new(sink: SinkConfig) -> DestinationConfig {
        DestinationConfig {
            name: None,
            format: Format::Json,
            format_options: FormatOptions::default(),
            filter: FilterConfig::default(),
            batch: BatchConfig::default(),
            retry: RetryConfig::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            sink,
        }
    }

    /// JSON lines on standard output, sent every second.
    pub fn stdout() -> DestinationConfig {
        let mut d = DestinationConfig::new(SinkConfig::Stdout(StdoutConfig::default()));
        d.batch.interval = std::time::Duration::from_secs(1);
        d
    }

    /// A JSON-lines file with the default rotation.
    pub fn file(path: impl Into<PathBuf>) -> DestinationConfig {
        DestinationConfig::new(SinkConfig::File(FileConfig::new(path)))
    }

    /// Syslog with the given transport settings.
    pub fn syslog(config: SyslogConfig) -> DestinationConfig {
        DestinationConfig::new(SinkConfig::Syslog(config))
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
        let filter = if self.filter.is_empty() {
            None
        } else {
            Some(self.filter.compile(&format!("{key}.filter"))?)
        };
        let encoder = siem_format::build_encoder(self.format, &self.format_options)
            .map_err(|e| ConfigError::invalid(format!("{key}.format_options"), e.to_string()))?;
        Ok(CompiledDestination { encoder, filter })
    }
}

/// Deserializes `value`, naming the key path of an error under `key` (and leaving out the
/// value when that key holds a secret).
fn sub<T: serde::de::DeserializeOwned>(value: Value, key: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let full = match (path == ".", key.is_empty()) {
            (true, _) => key.to_owned(),
            (false, true) => path,
            (false, false) => format!("{key}.{path}"),
        };
        let reason = super::secret::reason_at(&full, e.into_inner().to_string());
        format!("{full}: {reason}")
    })
}

/// Takes a common key out of the mapping: absent or `null` gives the default.
fn take<T: serde::de::DeserializeOwned + Default>(
    map: &mut Mapping,
    key: &str,
) -> Result<T, String> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => sub(v, key),
    }
}

impl<'de> Deserialize<'de> for DestinationConfig {
    /// The common keys are taken out first; what is left must be exactly the keys of the sink
    /// that `type` names (each sink's configuration refuses unknown keys).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Mapping::deserialize(deserializer)?;
        let kind: Option<String> = take(&mut map, "type").map_err(de::Error::custom)?;
        let name: Option<String> = take(&mut map, "name").map_err(de::Error::custom)?;
        let format: Option<Format> = take(&mut map, "format").map_err(de::Error::custom)?;
        let format_options = take(&mut map, "format_options").map_err(de::Error::custom)?;
        let filter = take(&mut map, "filter").map_err(de::Error::custom)?;
        let batch = take(&mut map, "batch").map_err(de::Error::custom)?;
        let retry = take(&mut map, "retry").map_err(de::Error::custom)?;
        let queue_capacity: Option<usize> =
            take(&mut map, "queue_capacity").map_err(de::Error::custom)?;
        if kind.as_deref() == Some("stderr") {
            map.insert("stream".into(), "stderr".into());
        }
        let rest = Value::Mapping(map);
        let sink = match kind.as_deref() {
            Some("stdout" | "stderr") => {
                SinkConfig::Stdout(sub(rest, "").map_err(de::Error::custom)?)
            }
            Some("file") => SinkConfig::File(sub(rest, "").map_err(de::Error::custom)?),
            Some("syslog") => SinkConfig::Syslog(sub(rest, "").map_err(de::Error::custom)?),
            Some(other) => {
                return Err(de::Error::custom(format!(
                    "type: unknown destination type {other:?}; one of stdout, stderr, file, syslog"
                )))
            }
            None => {
                return Err(de::Error::custom(
                    "type: missing; one of stdout, stderr, file, syslog",
                ))
            }
        };
        Ok(DestinationConfig {
            name,
            format: format.unwrap_or(Format::Json),
            format_options,
            filter,
            batch,
            retry,
            queue_capacity: queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY),
            sink,
        })
    }
}
