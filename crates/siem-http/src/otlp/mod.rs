//! `type: otlp` — security events as OpenTelemetry log records, OTLP over HTTP with the JSON
//! encoding (`POST …/v1/logs`), for any OpenTelemetry Collector and the backends behind it.
//!
//! ```yaml
//! - type: otlp
//!   url: https://otel-collector.example.com:4318    # /v1/logs is added to a bare URL
//!   service_name: appshield
//!   headers: { Authorization: "Bearer ${OTEL_TOKEN}" }
//!   format: json                                     # the only format it takes
//! ```
//!
//! Each request is one `ExportLogsServiceRequest`: one resource (`service.name`), one scope
//! (`tracing-siem`), and a log record per event, read back from the canonical JSON record:
//!
//! | log record | from the event |
//! |---|---|
//! | `timeUnixNano` | `timestamp` |
//! | `severityNumber`, `severityText` | `severity`: info 9 (INFO), low 10 (INFO2), medium 13 (WARN), high 17 (ERROR), critical 21 (FATAL); the text is ours |
//! | `eventName` | `event_type` (`auth.failure`) |
//! | `body` | `message` |
//! | `log.record.uid` | `id` |
//! | `user.name`, `user.id`, `client.address`, `user_agent.original` | the actor |
//! | `server.address`, `http.request.method` | the target's address and method |
//! | `host.name` | the host |
//! | `siem.*` | `category`, `outcome`, `action`, `reason`, `tenant_id`, `agent_id`, `correlation_id`, `source`, `target.resource`, `target.resource_type`, `metadata.<name>` (typed), `label.<name>` |
//!
//! A `partialSuccess` answer counts as delivered (OTLP names how many records were refused, not
//! which, and says not to send them again).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use siem_event::{SecurityEvent, Severity, Value};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// OTLP names no limit; the Collector's receivers take several MiB, so requests stay well below.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 4 << 20,
    max_entries: 10_000,
    max_entry_bytes: 4 << 20,
};

const LOGS_PATH: &str = "/v1/logs";

/// Settings of an OTLP/HTTP logs destination (`type: otlp`).
///
/// ```
/// use siem_http::otlp::OtlpConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: OtlpConfig = serde_json::from_str(
///     r#"{"url": "https://collector:4318", "service_name": "appshield"}"#,
/// ).unwrap();
/// assert!(c.validate().is_ok());
/// assert!(c.accepts(siem_format::Format::Json, &Default::default()).is_ok());
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP endpoint; a URL without a path gets `/v1/logs`.
    pub url: String,
    /// `service.name` of the resource (default `unknown_service`, as the semantic conventions
    /// say).
    #[serde(default)]
    pub service_name: Option<String>,
    /// Extra headers (authentication); values are treated as secrets and never shown.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    #[serde(default)]
    pub http: HttpOptions,
}

impl OtlpConfig {
    /// Sets `service_name`: `service.name` of the resource (default `unknown_service`, as the semantic conventions say).
    ///
    /// ```
    /// use siem_http::otlp::OtlpConfig;
    /// let c = OtlpConfig::new("https://127.0.0.1:4318/v1/logs").service_name("payments");
    /// assert_eq!(c.service_name.as_deref(), Some("payments"));
    /// ```
    pub fn service_name(mut self, service_name: impl Into<String>) -> OtlpConfig {
        self.service_name = Some(service_name.into());
        self
    }

    /// Sets `headers`: extra headers (authentication); values are treated as secrets and never shown.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::otlp::OtlpConfig;
    /// let c = OtlpConfig::new("https://127.0.0.1:4318/v1/logs").headers([("X-Scope-OrgID", Secret::new("tenant-1"))]);
    /// assert_eq!(c.headers["X-Scope-OrgID"].expose(), "tenant-1");
    /// ```
    pub fn headers(
        mut self,
        headers: impl IntoIterator<Item = (impl Into<String>, Secret)>,
    ) -> OtlpConfig {
        self.headers = headers.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::otlp::OtlpConfig;
    /// let c = OtlpConfig::new("https://127.0.0.1:4318/v1/logs").http(HttpOptions::default().max_in_flight(4));
    /// assert_eq!(c.http.max_in_flight, 4);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> OtlpConfig {
        self.http = http;
        self
    }
}

impl OtlpConfig {
    /// A destination sending to the collector at `url`.
    ///
    /// ```
    /// let c = siem_http::otlp::OtlpConfig::new("http://127.0.0.1:4318");
    /// assert_eq!(c.url, "http://127.0.0.1:4318");
    /// ```
    pub fn new(url: impl Into<String>) -> OtlpConfig {
        OtlpConfig {
            url: url.into(),
            service_name: None,
            headers: BTreeMap::new(),
            http: HttpOptions::default(),
        }
    }

    fn endpoint(&self) -> Result<Logs, ConfigError> {
        let mut url = check_url(
            &self.url,
            !self.headers.is_empty(),
            self.http.allow_insecure_http,
        )?;
        if url.path() == "/" {
            url.set_path(LOGS_PATH);
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let key = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::invalid(&key, "not a valid header name"))?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                ConfigError::invalid(&key, "the value holds characters a header cannot carry")
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        let service = self.service_name.as_deref().unwrap_or("unknown_service");
        let open = format!(
            "{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":[{}]}},\"scopeLogs\":[{{\"scope\":\
             {{\"name\":\"tracing-siem\",\"version\":\"{}\"}},\"logRecords\":[",
            attribute("service.name", json!({ "stringValue": service })),
            env!("CARGO_PKG_VERSION")
        );
        Ok(Logs {
            url,
            headers,
            open: open.into_bytes(),
        })
    }
}

impl SinkConfig for OtlpConfig {
    fn type_name(&self) -> &'static str {
        "otlp"
    }

    fn settings(&self) -> serde_json::Value {
        siem_ship::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.endpoint().map(drop)
    }

    fn accepts(&self, format: Format, _: &FormatOptions) -> Result<(), String> {
        match format {
            Format::Json => Ok(()),
            other => Err(format!(
                "otlp builds log records from the canonical JSON record, not {other}: use \
                 format: json"
            )),
        }
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        let sink = HttpSink::new(
            self.endpoint()?,
            SinkSettings {
                http: &self.http,
                default_limits: DEFAULT_LIMITS,
                default_compression: Compression::Gzip,
            },
        )?;
        Ok(Box::new(sink))
    }

    /// Exports an empty request, which a collector answers 200.
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let endpoint = self.endpoint().map_err(|e| e.to_string())?;
        crate::transport::probe(&self.http, timeout, |client| {
            endpoint.request(client).body("{\"resourceLogs\":[]}")
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

struct Logs {
    url: Url,
    headers: HeaderMap,
    /// The request up to the first log record.
    open: Vec<u8>,
}

/// `{"key": …, "value": …}`.
fn attribute(key: &str, value: Json) -> Json {
    json!({ "key": key, "value": value })
}

fn text(value: &str) -> Json {
    json!({ "stringValue": value })
}

/// OpenTelemetry's severity number for ours.
fn severity_number(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 9,
        Severity::Low => 10,
        Severity::Medium => 13,
        Severity::High => 17,
        Severity::Critical => 21,
        // A severity added later is sent as WARN until it is given its own number.
        _ => 13,
    }
}

/// An `AnyValue` for a metadata value (64-bit integers as decimal strings, as the protobuf
/// JSON mapping writes them).
fn any_value(value: &Value) -> Json {
    match value {
        Value::Str(s) => text(s),
        Value::I64(n) => json!({ "intValue": n.to_string() }),
        Value::U64(n) if i64::try_from(*n).is_ok() => json!({ "intValue": n.to_string() }),
        Value::U64(n) => text(&n.to_string()),
        Value::F64(f) if f.is_finite() => json!({ "doubleValue": f }),
        Value::F64(f) => text(&f.to_string()),
        Value::Bool(b) => json!({ "boolValue": b }),
    }
}

/// The log record of an event.
fn log_record(e: &SecurityEvent) -> Json {
    let mut attributes = vec![attribute("log.record.uid", text(&e.id.to_string()))];
    let mut optional = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            attributes.push(attribute(key, text(v)));
        }
    };
    optional("user.name", e.actor.user.as_deref());
    optional("user.id", e.actor.user_id.as_deref());
    optional("client.address", e.actor.source_ip.as_deref());
    optional("user_agent.original", e.actor.user_agent.as_deref());
    optional("server.address", e.target.destination_ip.as_deref());
    optional("http.request.method", e.target.method.as_deref());
    optional("host.name", Some(&e.host));
    optional("siem.category", Some(e.event_type.category()));
    optional("siem.outcome", Some(&e.outcome.to_string()));
    optional("siem.action", e.action.as_deref());
    optional("siem.reason", e.reason.as_deref());
    optional("siem.tenant_id", e.tenant_id.as_deref());
    optional("siem.agent_id", e.agent_id.as_deref());
    optional("siem.correlation_id", e.correlation_id.as_deref());
    optional("siem.source", e.source.as_deref());
    optional("siem.target.resource", e.target.resource.as_deref());
    optional(
        "siem.target.resource_type",
        e.target.resource_type.as_deref(),
    );
    for field in &e.metadata {
        attributes.push(attribute(
            &format!("siem.metadata.{}", field.name),
            any_value(&field.value),
        ));
    }
    for (name, value) in e.labels.iter() {
        attributes.push(attribute(&format!("siem.label.{name}"), text(value)));
    }
    json!({
        "timeUnixNano": e.timestamp.unix_nanos().to_string(),
        "severityNumber": severity_number(e.severity),
        "severityText": e.severity.to_string(),
        "eventName": e.event_type.as_str(),
        "body": text(&e.message),
        "attributes": attributes,
    })
}

impl Endpoint for Logs {
    fn kind(&self) -> &'static str {
        "otlp"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: &self.open,
            separator: b",",
            close: b"]}]}]}",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut framed = Vec::with_capacity(record.len() * 2);
        self.frame(record, &mut framed);
        framed.len()
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let record = match siem_format::decode_json(record) {
            Ok(event) => log_record(&event),
            // Only canonical JSON reaches this sink; anything else still travels, as the body.
            Err(_) => json!({ "body": text(&String::from_utf8_lossy(record)) }),
        };
        // Writing a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *body, &record);
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
    }
}
