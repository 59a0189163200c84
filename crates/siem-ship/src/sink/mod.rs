//! Destinations: where encoded batches go.
//!
//! A [`Sink`] owns a transport (a file, a socket, an HTTP client). The pipeline gives each sink
//! its own thread, so a slow or dead sink never delays another one or the application; the
//! sink's `send` may block for as long as its own timeouts allow.

use std::fmt;
use std::time::Duration;

use siem_format::{Format, FormatOptions};

use crate::ConfigError;

pub mod file;
pub mod stdout;
pub mod syslog;

use crate::Batch;

/// A destination that delivers encoded batches.
///
/// `send` delivers a whole batch or returns an error saying whether trying again can help and,
/// for transports that acknowledge records one by one, which records were not delivered.
/// The route that drives the sink retries retryable errors with backoff and counts what it
/// finally cannot deliver as dropped, with the reason.
///
/// ```
/// use siem_ship::{Batch, Sink, SinkError};
///
/// struct Collect(Vec<Vec<u8>>);
/// impl Sink for Collect {
///     fn kind(&self) -> &'static str { "collect" }
///     fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
///         self.0.extend(batch.records().map(<[u8]>::to_vec));
///         Ok(())
///     }
/// }
///
/// let mut sink = Collect(Vec::new());
/// let mut batch = Batch::default();
/// batch.push(b"{}");
/// sink.send(&batch).unwrap();
/// assert_eq!(sink.0.len(), 1);
/// ```
pub trait Sink: Send + 'static {
    /// A short name of the kind of sink (`file`, `stdout`, `syslog-tcp`…), for metrics and errors.
    fn kind(&self) -> &'static str;

    /// Delivers every record of the batch, in order.
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError>;

    /// Pushes anything the sink buffers to its destination.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Flushes and releases the transport (e.g. TLS `close_notify`). Called once, at shutdown.
    fn close(&mut self) -> Result<(), SinkError> {
        self.flush()
    }

    /// How many records this sink reported delivered (by returning `Ok` from
    /// [`send`](Sink::send)) that it has learned since may not have reached the destination and
    /// cannot send again; the count starts again from zero. The route asks after every call and
    /// moves them from shipped to dropped, reason [`unconfirmed`](crate::DropReason::Unconfirmed),
    /// so that "shipped" never claims what the destination may not have. Transports that only
    /// report delivery once the destination confirmed it keep the default, 0.
    ///
    /// ```
    /// use siem_ship::{Batch, Sink, SinkError};
    /// struct Fire;
    /// impl Sink for Fire {
    ///     fn kind(&self) -> &'static str { "fire" }
    ///     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
    /// }
    /// assert_eq!(Fire.take_unconfirmed(), 0);
    /// ```
    fn take_unconfirmed(&mut self) -> u64 {
        0
    }
}

/// A destination type's own settings — the keys beside `type:` in a destination's YAML — and
/// everything the rest of the workspace needs to know about that type: its name, how to check
/// its settings, which formats it can carry, and how to open its sink.
///
/// Each destination type (a folder: `sink/file/`, `sink/syslog/`, a module of `siem-http`…)
/// implements this on its configuration struct, which also implements `serde::Deserialize`
/// (refusing unknown keys) and `Clone`; one line in the facade's destination table registers it
/// under its `type` name. `siem check` calls [`validate`](SinkConfig::validate) and
/// [`accepts`](SinkConfig::accepts) — exactly what `build()` calls before
/// [`open`](SinkConfig::open) — and `siem check --connect` calls [`probe`](SinkConfig::probe).
///
/// ```
/// use std::time::Duration;
/// use siem_format::{Format, FormatOptions};
/// use siem_ship::sink::{Sink, SinkConfig};
/// use siem_ship::{Batch, ConfigError, SinkError};
///
/// #[derive(Debug, Clone)]
/// struct NullConfig;
/// struct Null;
/// impl Sink for Null {
///     fn kind(&self) -> &'static str { "null" }
///     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
/// }
/// impl SinkConfig for NullConfig {
///     fn type_name(&self) -> &'static str { "null" }
///     fn validate(&self) -> Result<(), ConfigError> { Ok(()) }
///     fn accepts(&self, _: Format, _: &FormatOptions) -> Result<(), String> { Ok(()) }
///     fn settings(&self) -> serde_json::Value { serde_json::json!({}) }
///     fn open(&self) -> Result<Box<dyn Sink>, ConfigError> { Ok(Box::new(Null)) }
///     fn clone_box(&self) -> Box<dyn SinkConfig> { Box::new(self.clone()) }
/// }
/// let c = NullConfig;
/// assert!(c.validate().is_ok() && c.accepts(Format::Json, &FormatOptions::default()).is_ok());
/// assert_eq!(c.default_format(), Format::Json);
/// assert_eq!(c.probe(Duration::from_secs(1)).unwrap(), "opened");
/// ```
pub trait SinkConfig: fmt::Debug + Send + Sync + 'static {
    /// The `type:` name in YAML (`file`, `syslog`, `hec`…).
    fn type_name(&self) -> &'static str;

    /// Checks every setting without opening anything (no socket, no file created): whatever
    /// [`open`](SinkConfig::open) would refuse for a reason knowable now is refused here,
    /// with the key at fault relative to the destination (`tls.ca_file`, `rotation.max_files`).
    fn validate(&self) -> Result<(), ConfigError>;

    /// Whether records in `format` (with `options`) can travel through this destination without
    /// losing information; the reason when not (e.g. bare CEF on a syslog transport, which
    /// needs a syslog header: use `format: rfc5424` with `body: cef`).
    fn accepts(&self, format: Format, options: &FormatOptions) -> Result<(), String>;

    /// Every setting of this destination type with the value it takes, defaults included
    /// (durations as `5s`, secrets masked), keyed as in YAML: what `siem check` prints. What it
    /// returns reads back into the same configuration. Implemented with [`settings_of`] by
    /// types that derive `serde::Serialize`.
    fn settings(&self) -> serde_json::Value;

    /// The format used when the destination names none.
    fn default_format(&self) -> Format {
        Format::Json
    }

    /// Whether the destination takes alert events (`alert.*`) only, as a notification channel
    /// does: the pipeline passes it nothing else, whatever its filter. Default false.
    fn alerts_only(&self) -> bool {
        false
    }

    /// Opens the sink. Files may be created here; network sinks connect lazily, on their first
    /// batch. Called only after [`validate`](SinkConfig::validate) passed.
    fn open(&self) -> Result<Box<dyn Sink>, ConfigError>;

    /// Opens the destination once and says whether it is reachable within `timeout` (for
    /// `siem check --connect`): what it reached on success, why not on failure. The default
    /// opens the sink and reports "opened".
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let _ = timeout;
        self.open()
            .map(|_| "opened".to_owned())
            .map_err(|e| e.to_string())
    }

    /// A boxed copy (configurations are cloned with the `Config` that holds them).
    fn clone_box(&self) -> Box<dyn SinkConfig>;
}

/// The settings of a configuration that derives `serde::Serialize`, for
/// [`SinkConfig::settings`]: a configuration whose serialization fails (a map with non-string
/// keys) shows as `null`, never as a panic.
///
/// ```
/// use siem_ship::sink::settings_of;
/// use siem_ship::sink::stdout::StdoutConfig;
/// assert_eq!(settings_of(&StdoutConfig::default())["stream"], "stdout");
/// ```
pub fn settings_of(config: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
}

impl Clone for Box<dyn SinkConfig> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Why a sink could not deliver a batch.
///
/// ```
/// use siem_ship::SinkError;
/// let e = SinkError::retryable("connection refused");
/// assert!(e.is_retryable());
/// assert_eq!(e.to_string(), "connection refused (retryable)");
/// let p = SinkError::permanent("HTTP 400: invalid event").with_failed_records(vec![2]);
/// assert_eq!(p.failed_records(), Some(&[2usize][..]));
/// ```
#[derive(Debug)]
pub struct SinkError {
    message: String,
    retryable: bool,
    failed: Option<Vec<usize>>,
    rejected: Option<Vec<usize>>,
    retry_after: Option<Duration>,
}

impl SinkError {
    /// A failure that may pass if tried again (network error, 5xx, throttling).
    pub fn retryable(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            retryable: true,
            failed: None,
            rejected: None,
            retry_after: None,
        }
    }

    /// A failure that trying again cannot fix (rejected payload, bad credentials).
    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            retryable: false,
            failed: None,
            rejected: None,
            retry_after: None,
        }
    }

    /// Says that only these records (indices into the batch) were not delivered; the others were.
    pub fn with_failed_records(mut self, failed: Vec<usize>) -> SinkError {
        self.failed = Some(failed);
        self
    }

    /// Says that these records (indices into the batch) were refused for good — by a server
    /// that judged each record on its own — while the error itself concerns only the
    /// [`failed_records`](SinkError::failed_records). The route counts them as rejected and
    /// never sends them again; records in neither list were delivered.
    ///
    /// ```
    /// use siem_ship::SinkError;
    /// let e = SinkError::retryable("HTTP 429").with_failed_records(vec![0]).with_rejected_records(vec![2]);
    /// assert_eq!(e.rejected_records(), Some(&[2usize][..]));
    /// ```
    pub fn with_rejected_records(mut self, rejected: Vec<usize>) -> SinkError {
        self.rejected = Some(rejected);
        self
    }

    /// Asks the route to wait at least this long before the next attempt (a server's
    /// `Retry-After`); the route's own backoff applies when it is longer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::SinkError;
    /// let e = SinkError::retryable("HTTP 429").with_retry_after(Duration::from_secs(2));
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn with_retry_after(mut self, wait: Duration) -> SinkError {
        self.retry_after = Some(wait);
        self
    }

    /// The records refused for good, when the sink reported any.
    pub fn rejected_records(&self) -> Option<&[usize]> {
        self.rejected.as_deref()
    }

    /// The shortest wait before the next attempt that the destination asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether trying again can help.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The records not delivered, when the sink knows (otherwise: the whole batch).
    pub fn failed_records(&self) -> Option<&[usize]> {
        self.failed.as_deref()
    }

    /// The reason, for logs and drop accounting.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.retryable {
            "retryable"
        } else {
            "permanent"
        };
        write!(f, "{} ({kind})", self.message)
    }
}

impl std::error::Error for SinkError {}

impl From<std::io::Error> for SinkError {
    fn from(e: std::io::Error) -> Self {
        SinkError::retryable(format!("I/O error: {e}"))
    }
}
