//! `type: datadog` — Datadog Logs intake v2 (`POST https://http-intake.logs.<site>/api/v2/logs`).
//!
//! ```yaml
//! - type: datadog
//!   site: datadoghq.eu            # default datadoghq.com
//!   api_key: ${DD_API_KEY}
//!   service: appshield
//!   source: appshield             # sent as ddsource
//!   tags: [env:prod, team:sec]    # sent as ddtags
//!   format: json
//! ```
//!
//! The body is a JSON array; each record is a JSON object into which the destination's
//! `ddsource`, `service`, `hostname` and `ddtags` are written (a record that is not JSON — CEF,
//! LEEF, syslog — becomes `{"message": <record>, …}`). Datadog's limits split batches before
//! sending: 5 MB per request (uncompressed), 1000 entries, 1 MB per log (a larger log is
//! dead-lettered rather than truncated by Datadog). 202 is delivered; 408, 429 and 5xx are
//! retried; 413 splits the request; other 4xx (400 bad payload, 401/403 bad key) dead-letter it.

use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// The sites Datadog's documentation lists for the logs intake.
pub const SITES: &[&str] = &[
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "ddog-gov.com",
    "us2.ddog-gov.com",
    "uk1.datadoghq.com",
];

/// Datadog's documented limits: 5 MB per request before compression, 1000 logs, 1 MB per log.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 5_000_000,
    max_entries: 1000,
    max_entry_bytes: 1_000_000,
};

const API_KEY_HEADER: &str = "dd-api-key";

/// Settings of a Datadog Logs destination (`type: datadog`).
///
/// ```
/// use siem_http::datadog::DatadogConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: DatadogConfig = serde_json::from_str(
///     r#"{"site": "datadoghq.eu", "api_key": "0123abcd", "service": "appshield"}"#,
/// ).unwrap();
/// assert!(c.validate().is_ok());
/// assert!(!format!("{c:?}").contains("0123abcd"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DatadogConfig {
    /// The Datadog site (default `datadoghq.com`; one of [`SITES`]).
    #[serde(default = "default_site")]
    pub site: String,
    /// Sends to this URL instead of the site's intake (a proxy, an Observability Pipelines
    /// worker).
    #[serde(default)]
    pub url: Option<String>,
    /// The API key (not an application key), sent as `DD-API-KEY`.
    pub api_key: Secret,
    /// `service` of every log.
    #[serde(default)]
    pub service: Option<String>,
    /// `ddsource` of every log (the integration name, e.g. your application's).
    #[serde(default)]
    pub source: Option<String>,
    /// `hostname` of every log.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `ddtags` of every log, `key:value` each.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    #[serde(default)]
    pub http: HttpOptions,
}

impl DatadogConfig {
    /// Sets `url`: sends to this URL instead of the site's intake (a proxy, an Observability Pipelines worker).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).url("https://127.0.0.1:8443/intake");
    /// assert_eq!(c.url.as_deref(), Some("https://127.0.0.1:8443/intake"));
    /// ```
    pub fn url(mut self, url: impl Into<String>) -> DatadogConfig {
        self.url = Some(url.into());
        self
    }

    /// Sets `service`: `service` of every log.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).service("payments");
    /// assert_eq!(c.service.as_deref(), Some("payments"));
    /// ```
    pub fn service(mut self, service: impl Into<String>) -> DatadogConfig {
        self.service = Some(service.into());
        self
    }

    /// Sets `source`: `ddsource` of every log (the integration name, e.g. your application's).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).source("rust");
    /// assert_eq!(c.source.as_deref(), Some("rust"));
    /// ```
    pub fn source(mut self, source: impl Into<String>) -> DatadogConfig {
        self.source = Some(source.into());
        self
    }

    /// Sets `hostname`: `hostname` of every log.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).hostname("web-1");
    /// assert_eq!(c.hostname.as_deref(), Some("web-1"));
    /// ```
    pub fn hostname(mut self, hostname: impl Into<String>) -> DatadogConfig {
        self.hostname = Some(hostname.into());
        self
    }

    /// Sets `tags`: `ddtags` of every log, `key:value` each.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).tags(["env:prod", "team:security"]);
    /// assert_eq!(c.tags, ["env:prod", "team:security"]);
    /// ```
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> DatadogConfig {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::Secret;
    /// use siem_http::datadog::DatadogConfig;
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("dd-key")).http(HttpOptions::default().max_in_flight(4));
    /// assert_eq!(c.http.max_in_flight, 4);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> DatadogConfig {
        self.http = http;
        self
    }
}

fn default_site() -> String {
    SITES[0].to_owned()
}

impl DatadogConfig {
    /// A destination for `site` with `api_key`.
    ///
    /// ```
    /// use siem_http::{datadog::DatadogConfig, Secret};
    /// let c = DatadogConfig::new("datadoghq.eu", Secret::new("k"));
    /// assert_eq!(c.site, "datadoghq.eu");
    /// ```
    pub fn new(site: impl Into<String>, api_key: Secret) -> DatadogConfig {
        DatadogConfig {
            site: site.into(),
            url: None,
            api_key,
            service: None,
            source: None,
            hostname: None,
            tags: Vec::new(),
            http: HttpOptions::default(),
        }
    }

    fn endpoint(&self) -> Result<Intake, ConfigError> {
        if !SITES.contains(&self.site.as_str()) {
            return Err(ConfigError::invalid(
                "site",
                format!(
                    "unknown Datadog site {:?}; one of {}",
                    self.site,
                    SITES.join(", ")
                ),
            ));
        }
        let url = match &self.url {
            Some(url) => check_url(url, true, self.http.allow_insecure_http)?,
            None => Url::parse(&format!(
                "https://http-intake.logs.{}/api/v2/logs",
                self.site
            ))
            .map_err(|e| ConfigError::invalid("site", e.to_string()).with_source(e))?,
        };
        if self.api_key.expose().trim().is_empty() {
            return Err(ConfigError::invalid("api_key", "must not be empty"));
        }
        let mut api_key = HeaderValue::from_str(self.api_key.expose()).map_err(|_| {
            ConfigError::invalid("api_key", "holds characters a header cannot carry")
        })?;
        api_key.set_sensitive(true);
        if let Some(i) = self
            .tags
            .iter()
            .position(|t| t.is_empty() || t.contains(','))
        {
            return Err(ConfigError::invalid(
                format!("tags[{i}]"),
                "a tag must be non-empty and without commas",
            ));
        }
        Ok(Intake {
            url,
            api_key,
            attributes: self.attributes(),
            validate_url: match &self.url {
                Some(_) => None,
                None => Url::parse(&format!("https://api.{}/api/v1/validate", self.site)).ok(),
            },
        })
    }

    /// `"ddsource":…,"service":…,"hostname":…,"ddtags":…` for the set ones, JSON-escaped.
    fn attributes(&self) -> Vec<u8> {
        let tags = (!self.tags.is_empty()).then(|| self.tags.join(","));
        let pairs = [
            ("ddsource", self.source.as_deref()),
            ("service", self.service.as_deref()),
            ("hostname", self.hostname.as_deref()),
            ("ddtags", tags.as_deref()),
        ];
        let mut out = Vec::new();
        for (key, value) in pairs {
            if let Some(value) = value {
                if !out.is_empty() {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut out, value);
            }
        }
        out
    }
}

impl SinkConfig for DatadogConfig {
    fn type_name(&self) -> &'static str {
        "datadog"
    }

    fn settings(&self) -> serde_json::Value {
        siem_ship::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.endpoint().map(drop)
    }

    fn accepts(&self, _: Format, _: &FormatOptions) -> Result<(), String> {
        Ok(())
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

    /// Asks `https://api.<site>/api/v1/validate` whether the key is valid; with `url`, sends
    /// an empty array to it.
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let endpoint = self.endpoint().map_err(|e| e.to_string())?;
        crate::transport::probe(&self.http, timeout, |client| match &endpoint.validate_url {
            Some(url) => client
                .get(url.clone())
                .header(API_KEY_HEADER, endpoint.api_key.clone()),
            None => endpoint.request(client).body("[]"),
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

struct Intake {
    url: Url,
    api_key: HeaderValue,
    attributes: Vec<u8>,
    validate_url: Option<Url>,
}

/// Whether a record is a JSON object, into which attributes can be written.
fn is_object(record: &[u8]) -> bool {
    record.first() == Some(&b'{') && record.last() == Some(&b'}')
}

impl Endpoint for Intake {
    fn kind(&self) -> &'static str {
        "datadog"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: b"[",
            separator: b",",
            close: b"]",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut framed = Vec::with_capacity(record.len() + self.attributes.len() + 16);
        self.frame(record, &mut framed);
        framed.len()
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let attributes = &self.attributes[..];
        if is_object(record) {
            let inner = record[1..record.len() - 1].trim_ascii();
            body.push(b'{');
            body.extend_from_slice(attributes);
            if !attributes.is_empty() && !inner.is_empty() {
                body.push(b',');
            }
            body.extend_from_slice(inner);
            body.push(b'}');
        } else {
            body.push(b'{');
            body.extend_from_slice(attributes);
            if !attributes.is_empty() {
                body.push(b',');
            }
            body.extend_from_slice(b"\"message\":");
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *body, &String::from_utf8_lossy(record));
            body.push(b'}');
        }
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        client
            .post(self.url.clone())
            .header(API_KEY_HEADER, self.api_key.clone())
            .header(CONTENT_TYPE, "application/json")
    }
}
