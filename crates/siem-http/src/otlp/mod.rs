//! `type: otlp` — security events as OpenTelemetry log records, OTLP over HTTP with the JSON
//! or the protobuf encoding (`POST …/v1/logs`), for any OpenTelemetry Collector and the
//! backends behind it.
//!
//! ```yaml
//! - type: otlp
//!   url: https://otel-collector.example.com:4318    # /v1/logs is added to a bare URL
//!   service_name: appshield
//!   headers: { Authorization: "Bearer ${OTEL_TOKEN}" }
//!   encoding: protobuf                               # json (default) | protobuf
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
//! Both encodings carry the same log records: one mapping from the event, written either as
//! protobuf (`application/x-protobuf`) or as OTLP/JSON (`application/json`).
//!
//! A `partialSuccess` answer (`rejectedLogRecords`) that refuses some of a request's records
//! counts as delivered: OTLP names how many were refused, not which, and says not to send them
//! again. One that refuses them all dead-letters them with the collector's `errorMessage`.

mod proto;
mod record;

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::reply::{by_status, Outcome, Verdict};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;
use proto::{AnyValue, InstrumentationScope, KeyValue, Resource, Wrapper};

/// OTLP names no limit; the Collector's receivers take several MiB, so requests stay well below.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 4 << 20,
    max_entries: 10_000,
    max_entry_bytes: 4 << 20,
};

const LOGS_PATH: &str = "/v1/logs";

/// How an OTLP request body is encoded.
///
/// ```
/// use siem_http::otlp::OtlpEncoding;
/// let e: OtlpEncoding = serde_json::from_str("\"protobuf\"").unwrap();
/// assert_eq!(e, OtlpEncoding::Protobuf);
/// assert_eq!(OtlpEncoding::default(), OtlpEncoding::Json);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OtlpEncoding {
    /// OTLP/JSON, `Content-Type: application/json` (the default).
    #[default]
    Json,
    /// Binary protobuf, `Content-Type: application/x-protobuf`: smaller, and what every
    /// OTLP/HTTP receiver must accept.
    Protobuf,
}

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
    /// The body's encoding (default `json`).
    #[serde(default)]
    pub encoding: OtlpEncoding,
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

    /// Sets `encoding`: the body's encoding (default `json`).
    ///
    /// ```
    /// use siem_http::otlp::{OtlpConfig, OtlpEncoding};
    /// let c = OtlpConfig::new("https://127.0.0.1:4318").encoding(OtlpEncoding::Protobuf);
    /// assert_eq!(c.encoding, OtlpEncoding::Protobuf);
    /// ```
    pub fn encoding(mut self, encoding: OtlpEncoding) -> OtlpConfig {
        self.encoding = encoding;
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
            encoding: OtlpEncoding::default(),
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
        let resource = Resource {
            attributes: vec![KeyValue::new("service.name", AnyValue::string(service))],
        };
        let scope = InstrumentationScope {
            name: "tracing-siem".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let body = match self.encoding {
            OtlpEncoding::Json => Encoding::Json {
                open: format!(
                    "{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":[{}]}},\"scopeLogs\":[{{\"scope\":\
                     {{\"name\":\"tracing-siem\",\"version\":\"{}\"}},\"logRecords\":[",
                    resource.attributes[0].to_json(),
                    scope.version
                )
                .into_bytes(),
            },
            OtlpEncoding::Protobuf => Encoding::Protobuf(Wrapper::new(resource, scope)),
        };
        Ok(Logs { url, headers, body })
    }

    /// The `http:` settings the sink splits by: for protobuf, `max_bytes` less what the
    /// request's nesting adds around the records, so that whole bodies keep to it.
    fn split_options(&self, logs: &Logs) -> HttpOptions {
        let mut http = self.http.clone();
        if let Encoding::Protobuf(wrapper) = &logs.body {
            let max = self.http.max_bytes.unwrap_or(DEFAULT_LIMITS.max_bytes);
            http.max_bytes = Some(max.saturating_sub(wrapper.overhead(max)).max(1));
        }
        http
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
        let endpoint = self.endpoint()?;
        let http = self.split_options(&endpoint);
        let sink = HttpSink::new(
            endpoint,
            SinkSettings {
                http: &http,
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
            let empty = match endpoint.body {
                Encoding::Json { .. } => b"{\"resourceLogs\":[]}".to_vec(),
                Encoding::Protobuf(_) => proto::ExportLogsServiceRequest::default().encode_to_vec(),
            };
            endpoint.request(client).body(empty)
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

struct Logs {
    url: Url,
    headers: HeaderMap,
    body: Encoding,
}

enum Encoding {
    /// The request up to the first log record.
    Json {
        open: Vec<u8>,
    },
    Protobuf(Wrapper),
}

impl Logs {
    /// `partial_success` of a 2xx response, in the request's encoding: the records refused
    /// and the collector's message.
    fn partial_success(&self, body: &[u8]) -> Option<(i64, String)> {
        match &self.body {
            Encoding::Protobuf(_) => {
                let p = proto::ExportLogsServiceResponse::decode(body)
                    .ok()?
                    .partial_success?;
                Some((p.rejected_log_records, p.error_message))
            }
            Encoding::Json { .. } => {
                let reply: serde_json::Value = serde_json::from_slice(body).ok()?;
                let p = reply.get("partialSuccess")?;
                // int64 travels as a decimal string in OTLP/JSON; a number is read too.
                let rejected = match p.get("rejectedLogRecords") {
                    Some(serde_json::Value::String(s)) => s.parse().ok()?,
                    Some(n) => n.as_i64()?,
                    None => 0,
                };
                let message = p.get("errorMessage").and_then(|m| m.as_str());
                Some((rejected, message.unwrap_or_default().to_owned()))
            }
        }
    }
}

impl Endpoint for Logs {
    fn kind(&self) -> &'static str {
        "otlp"
    }

    fn envelope(&self) -> Envelope<'_> {
        match &self.body {
            Encoding::Json { open } => Envelope {
                open,
                separator: b",",
                close: b"]}]}]}",
            },
            Encoding::Protobuf(_) => Envelope {
                open: b"",
                separator: b"",
                close: b"",
            },
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let log = record::from_canonical_json(record);
        match self.body {
            Encoding::Json { .. } => log.to_json().to_string().len(),
            Encoding::Protobuf(_) => log.member_len(),
        }
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let log = record::from_canonical_json(record);
        match self.body {
            // Writing a JSON value into a Vec cannot fail.
            Encoding::Json { .. } => {
                let _ = serde_json::to_writer(&mut *body, &log.to_json());
            }
            Encoding::Protobuf(_) => log.encode_as_member(body),
        }
    }

    fn finish(&self, body: Vec<u8>) -> Vec<u8> {
        match &self.body {
            Encoding::Json { .. } => body,
            Encoding::Protobuf(wrapper) => wrapper.wrap(&body),
        }
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        let content_type = match self.body {
            Encoding::Json { .. } => "application/json",
            Encoding::Protobuf(_) => "application/x-protobuf",
        };
        client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, content_type)
    }

    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        let outcome = by_status(status, headers, body);
        if outcome != Outcome::Delivered {
            return Verdict::All(outcome);
        }
        match self.partial_success(body) {
            Some((rejected, message)) if rejected > 0 && rejected as u64 >= records as u64 => {
                Verdict::All(Outcome::Reject {
                    status: Some(status.as_u16()),
                    reason: format!(
                        "the collector rejected all {records} log records (partial success): {message}"
                    ),
                })
            }
            _ => Verdict::All(Outcome::Delivered),
        }
    }
}
