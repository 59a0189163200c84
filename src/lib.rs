//! # tracing-siem
//!
//! A `tracing` layer that turns a service's security-relevant log events into security events,
//! and ships them to SIEM systems — from a lock-free queue on the application thread to
//! pipeline threads, with every event accounted for.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! let (siem, guard) = tracing_siem::SiemLayer::builder()
//!     .app("payments")
//!     .build()
//!     .expect("valid configuration");
//! let subscriber = tracing_subscriber::registry().with(siem);
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::warn!(
//!         event_type = "authentication", user = "alice", action = "login",
//!         result = "failure", source_ip = "203.0.113.7", "Failed login"
//!     );
//! });
//! drop(guard); // delivers what is queued, within the shutdown timeout
//! ```
//!
//! What becomes a security event:
//! - any event with an `event_type` field, at any level;
//! - events at or above the minimum level (WARN by default) that a classification rule
//!   matches (seed 004's message keywords by default: `login`, `permission`, `config`…).
//!
//! Fields of enclosing spans are inherited (`user`, `source_ip` on a request span label every
//! event inside), innermost first, up to [`LimitsConfig::max_fields`] per event. Sensitive fields (`password`, `token`, `secret`, `authorization`…) are
//! redacted. See [`Config`] for every setting and `docs/configuration.md` for the YAML form.
//!
//! Everything a program needs is at the top level of this crate: the layer and its builder,
//! destinations ([`DestinationConfig`] with [`SyslogConfig`], [`FileConfig`], [`StdoutConfig`]),
//! wire formats ([`Format`], [`FormatOptions`]), delivery ([`BatchConfig`], [`RetryConfig`],
//! the disk spool [`SpoolConfig`]),
//! custom sinks ([`Sink`], [`Batch`], [`SinkError`]), and what the guard reports
//! ([`Metrics`], [`DeliveryReport`]). The event model, the encoders and the rules engine are
//! the modules [`event`], [`format`](mod@format) and [`rules`].
//!
//! ```
//! use tracing_siem::{
//!     BatchConfig, DestinationConfig, FileConfig, Format, SiemLayer, SyslogConfig, Transport,
//! };
//!
//! let dir = tempfile::tempdir().unwrap();
//! let audit_file = FileConfig::new(dir.path().join("audit.jsonl")).max_files(3);
//! let builder = SiemLayer::builder()
//!     .destination(
//!         DestinationConfig::syslog(SyslogConfig::new(Transport::Udp, "127.0.0.1"))
//!             .format(Format::Rfc5424),
//!     )
//!     .destination(
//!         DestinationConfig::new(audit_file)
//!             .batch(BatchConfig::default().max_events(50)),
//!     );
//! assert!(builder.config().validate().is_ok());
//! ```

#![warn(missing_docs)]

mod actions;
mod builder;
mod capture;
mod classify;
mod config;
mod handle;
mod layer;
mod normalize;
mod processor;
#[cfg(feature = "prometheus")]
mod prometheus;
mod redact;
mod sampling;

pub use builder::SiemBuilder;
pub use classify::{ClassificationRule, FieldCondition};
pub use config::{
    parse_level, ClassifyConfig, Config, ConfigError, DestinationConfig, FilterConfig,
    LimitsConfig, Overflow, QueueConfig, RedactConfig, SinkConfig,
};
pub use handle::{Metrics, SiemGuard, SiemHandle};
pub use layer::SiemLayer;
#[cfg(feature = "prometheus")]
pub use prometheus::SiemCollector;
pub use redact::{RedactionMode, Redactor, DEFAULT_SENSITIVE_FIELDS};
pub use sampling::{SampleRule, SamplingConfig};
pub use siem_format::{
    BodyFormat, FacilitySetting, Format, FormatOptions, HecEventFormat, SignatureName,
};
pub use siem_ship::sink::file::{FileConfig, RotationConfig, SyncPolicy};
pub use siem_ship::sink::stdout::{StdoutConfig, Stream};
pub use siem_ship::sink::syslog::{
    BackoffConfig, BackupHost, Framing, SyslogConfig, TlsConfig, Transport,
};
pub use siem_ship::{
    Batch, BatchConfig, DeliveryReport, DestinationMetrics, DropReason, OverflowPolicy,
    RetryConfig, Sink, SinkError,
};
pub use siem_ship::{FsyncPolicy, SpoolConfig, WhenFull};

/// The event model (re-exported from `siem-event`).
pub use siem_event as event;
/// Wire formats (re-exported from `siem-format`).
pub use siem_format as format;
/// Alert rules, correlation and Sigma (re-exported from `siem-rules`).
pub use siem_rules as rules;
/// The shipping pipeline (re-exported from `siem-ship`): this crate's internals. What a program
/// needs from it is re-exported at the top level ([`SyslogConfig`], [`BatchConfig`], [`Sink`]…).
#[doc(hidden)]
pub use siem_ship as ship;
