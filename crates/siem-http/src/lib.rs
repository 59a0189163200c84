//! HTTP destinations of `tracing-siem`: a generic webhook, Splunk HEC, Elasticsearch /
//! OpenSearch `_bulk`, Datadog Logs, OTLP logs over HTTP, AWS CloudWatch Logs, Google Cloud
//! Logging, the Azure Monitor Logs Ingestion API and alert notifications (Slack, Teams,
//! PagerDuty), each behind its own cargo feature (`webhook`, `splunk`, `elasticsearch`,
//! `datadog`, `otlp`, `cloudwatch`, `gcp`, `azure`, `alert_webhook`).
//!
//! Every destination is a configuration struct implementing [`siem_ship::sink::SinkConfig`];
//! its sink shares one machinery ([`HttpOptions`]): the destination's own single-threaded tokio
//! runtime, driven only by the destination's delivery thread (never the application's runtime,
//! so the library works alike in synchronous programs and inside `#[tokio::main]`), a reqwest
//! client with rustls (ring) and keep-alive, connect and request timeouts, gzip bodies where the
//! API accepts them, a bounded number of requests in flight, batches split to the API's limits
//! before sending, and a dead-letter JSON-lines file for what the server refuses for good.
//!
//! Retries belong to the route (`siem_ship`): a sink answers each batch once, saying which
//! records may be retried (408, 429, 5xx, connection errors, per-item back-pressure), which were
//! refused for good (other 4xx: dead-lettered, counted as rejected), and the server's
//! `Retry-After`, which the route waits at least.
//!
//! ```
//! # #[cfg(feature = "webhook")] {
//! use siem_http::webhook::WebhookConfig;
//! use siem_ship::sink::SinkConfig;
//!
//! let c: WebhookConfig = serde_json::from_str(r#"{"url": "https://siem.example.com/in"}"#).unwrap();
//! assert!(c.validate().is_ok());
//! assert_eq!(c.type_name(), "webhook");
//! # }
//! ```

#![warn(missing_docs)]
// The machinery alone (feature `client` without a destination) has no user yet.
#![cfg_attr(
    not(any(
        feature = "webhook",
        feature = "splunk",
        feature = "elasticsearch",
        feature = "datadog",
        feature = "otlp",
        feature = "cloudwatch",
        feature = "gcp",
        feature = "azure",
        feature = "alert_webhook"
    )),
    allow(dead_code)
)]

/// Tokens, keys and passwords in configuration: masked in `Debug` and when serialized.
pub use siem_ship::Secret;

#[cfg(feature = "client")]
mod chunk;
#[cfg(feature = "client")]
mod dead_letter;
#[cfg(feature = "oauth")]
mod oauth;
#[cfg(feature = "client")]
mod options;
#[cfg(any(feature = "cloudwatch", feature = "gcp", feature = "azure"))]
mod record;
#[cfg(feature = "client")]
mod reply;
#[cfg(feature = "client")]
mod sink;
#[cfg(feature = "client")]
mod transport;

#[cfg(feature = "client")]
pub use dead_letter::DEFAULT_DEAD_LETTER_PATH;
#[cfg(feature = "client")]
pub use options::{Compression, HttpOptions};

#[cfg(feature = "alert_webhook")]
pub mod alert_webhook;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
#[cfg(feature = "datadog")]
pub mod datadog;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "splunk")]
pub mod splunk_hec;
#[cfg(feature = "webhook")]
pub mod webhook;
