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
mod audit;
mod builder;
mod capture;
mod classify;
mod config;
mod exit;
mod handle;
mod layer;
#[cfg(feature = "middleware")]
pub mod middleware;
mod normalize;
mod processor;
#[cfg(feature = "prometheus")]
mod prometheus;
mod redact;
mod sampling;

#[doc(hidden)]
pub use audit::__private;
pub use audit::{AuditOutcome, Verdict};
pub use builder::{SiemBuilder, SiemRelay};
pub use classify::{ClassificationRule, FieldCondition};
pub use config::{
    parse_level, ClassifyConfig, Config, ConfigError, DestinationConfig, FilterConfig,
    LimitsConfig, Overflow, ProtectConfig, QueueConfig, RedactConfig, SinkConfig,
};
pub use config::{
    CheckpointConfig, CorrelateConfig, CorrelateMetricsConfig, CorrelationPlan, Slice,
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
/// One security event each time a function returns, its outcome judged from the returned
/// value.
///
/// ```
/// use tracing_siem::security_audit;
///
/// #[derive(Debug)]
/// struct Denied;
/// impl std::fmt::Display for Denied {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("wrong password")
///     }
/// }
///
/// // Emits `auth.failure` (WARN, reason "wrong password") or `auth.success` (INFO), with
/// // `user`, `source_ip`, `duration_ms` and `function`; `password` is redacted by its name.
/// #[security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip))]
/// fn login(user: &str, password: &str, ip: std::net::IpAddr) -> Result<(), Denied> {
///     if password == "letmein" { Ok(()) } else { Err(Denied) }
/// }
///
/// assert!(login("alice", "guess", "203.0.113.7".parse().unwrap()).is_err());
/// ```
///
/// A return type that says nothing about success needs `outcome = …` or an [`AuditOutcome`]
/// implementation:
///
/// ```compile_fail
/// #[tracing_siem::security_audit(event_type = "configuration")]
/// fn set_limit(limit: u32) -> u32 {
///     limit.min(100)
/// }
/// ```
pub use siem_macros::security_audit;
pub use siem_ship::sink::file::{
    read_maybe_gzip, ChainConfig, FileConfig, RotationConfig, SyncPolicy, Tamper, Verifier,
};
pub use siem_ship::sink::stdout::{StdoutConfig, Stream};
pub use siem_ship::sink::syslog::{
    BackoffConfig, BackupHost, Framing, RelpConfig, ResendConfig, SyslogConfig, TlsConfig,
    Transport,
};
pub use siem_ship::{
    Batch, BatchConfig, Breaker, DeliveryReport, DestinationMetrics, DropReason, OverflowPolicy,
    RetryConfig, Secret, Sink, SinkError,
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
