//! `type: webhook` — records POSTed (or PUT, PATCH) to any URL, as a JSON array or as NDJSON,
//! with the headers the receiver wants (their values are treated as secrets).
//!
//! ```yaml
//! - type: webhook
//!   url: https://hooks.example.com/siem
//!   method: POST                 # POST | PUT | PATCH
//!   body: json_array             # json_array | ndjson
//!   headers:
//!     Authorization: "Bearer ${HOOK_TOKEN}"
//!   format: json                 # any format; non-JSON records become JSON strings in an array
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Method, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// The limits a webhook is split by unless `http:` says otherwise: 1 MiB bodies, 1000
/// records each.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 1 << 20,
    max_entries: 1000,
    max_entry_bytes: 1 << 20,
};

/// Header names whose values are credentials: a webhook sending one refuses plain `http://`
/// unless `http.allow_insecure_http` is set.
const CREDENTIAL_HEADER_WORDS: &[&str] = &[
    "auth",
    "token",
    "key",
    "secret",
    "password",
    "cookie",
    "signature",
];

/// The HTTP method of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum WebhookMethod {
    /// `POST` (the default).
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
}

/// How a webhook's body holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookBody {
    /// `[r1,r2]` (`application/json`): a record that is a JSON object or array goes in as it
    /// is, any other record (CEF, LEEF, syslog) as a JSON string.
    #[default]
    JsonArray,
    /// One record per line, each line ended by `\n` (`application/x-ndjson`).
    Ndjson,
}

/// Settings of a webhook destination (`type: webhook`).
///
/// ```
/// use siem_http::webhook::{WebhookBody, WebhookConfig};
/// use siem_ship::sink::SinkConfig;
/// let c: WebhookConfig = serde_json::from_str(r#"{
///     "url": "https://hooks.example.com/siem", "body": "ndjson",
///     "headers": {"Authorization": "Bearer s3cr3t"}
/// }"#).unwrap();
/// assert_eq!(c.body, WebhookBody::Ndjson);
/// assert!(c.validate().is_ok());
/// assert!(!format!("{c:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// Where to send (`https://…`).
    pub url: String,
    /// The method (default `POST`).
    #[serde(default)]
    pub method: WebhookMethod,
    /// Extra headers; values may hold secrets (`${VAR}`) and are never shown.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// How records are laid out in the body (default `json_array`).
    #[serde(default)]
    pub body: WebhookBody,
    /// Timeouts, requests in flight, compression (default none), limits,
    /// the dead-letter file and `allow_insecure_http`.
    #[serde(default)]
    pub http: HttpOptions,
}

impl WebhookConfig {
    /// Sets `method`: the method (default `POST`).
    ///
    /// ```
    /// use siem_http::webhook::WebhookConfig;
    /// use siem_http::webhook::WebhookMethod;
    /// let c = WebhookConfig::new("https://127.0.0.1:8443/hook").method(WebhookMethod::Put);
    /// assert_eq!(c.method, WebhookMethod::Put);
    /// ```
    pub fn method(mut self, method: WebhookMethod) -> WebhookConfig {
        self.method = method;
        self
    }

    /// Sets `headers`: extra headers; values may hold secrets (`${VAR}`) and are never shown.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::webhook::WebhookConfig;
    /// let c = WebhookConfig::new("https://127.0.0.1:8443/hook").headers([("Authorization", Secret::new("Bearer t0k3n"))]);
    /// assert_eq!(c.headers["Authorization"].expose(), "Bearer t0k3n");
    /// ```
    pub fn headers(
        mut self,
        headers: impl IntoIterator<Item = (impl Into<String>, Secret)>,
    ) -> WebhookConfig {
        self.headers = headers.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }

    /// Sets `body`: how records are laid out in the body (default `json_array`).
    ///
    /// ```
    /// use siem_http::webhook::WebhookBody;
    /// use siem_http::webhook::WebhookConfig;
    /// let c = WebhookConfig::new("https://127.0.0.1:8443/hook").body(WebhookBody::Ndjson);
    /// assert_eq!(c.body, WebhookBody::Ndjson);
    /// ```
    pub fn body(mut self, body: WebhookBody) -> WebhookConfig {
        self.body = body;
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression (default none), limits,
    /// the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::webhook::WebhookConfig;
    /// let c = WebhookConfig::new("https://127.0.0.1:8443/hook").http(HttpOptions::default().max_in_flight(4));
    /// assert_eq!(c.http.max_in_flight, 4);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> WebhookConfig {
        self.http = http;
        self
    }
}

impl WebhookConfig {
    /// A webhook to `url` with the defaults.
    ///
    /// ```
    /// let c = siem_http::webhook::WebhookConfig::new("https://hooks.example.com/siem");
    /// assert_eq!(c.url, "https://hooks.example.com/siem");
    /// ```
    pub fn new(url: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            method: WebhookMethod::default(),
            headers: BTreeMap::new(),
            body: WebhookBody::default(),
            http: HttpOptions::default(),
        }
    }

    fn carries_secret(&self) -> bool {
        self.headers.keys().any(|name| {
            let name = name.to_ascii_lowercase();
            CREDENTIAL_HEADER_WORDS.iter().any(|w| name.contains(w))
        })
    }

    /// The headers as sent; an error names the header, never its value.
    fn header_map(&self) -> Result<HeaderMap, ConfigError> {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            let key = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::invalid(&key, "not a valid header name"))?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                ConfigError::invalid(&key, "the value holds characters a header cannot carry")
            })?;
            value.set_sensitive(true);
            map.insert(header, value);
        }
        Ok(map)
    }

    fn endpoint(&self) -> Result<Webhook, ConfigError> {
        let method = match self.method {
            WebhookMethod::Post => Method::POST,
            WebhookMethod::Put => Method::PUT,
            WebhookMethod::Patch => Method::PATCH,
        };
        Ok(Webhook {
            url: check_url(
                &self.url,
                self.carries_secret(),
                self.http.allow_insecure_http,
            )?,
            method,
            headers: self.header_map()?,
            body: self.body,
        })
    }
}

impl SinkConfig for WebhookConfig {
    fn type_name(&self) -> &'static str {
        "webhook"
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
                default_compression: Compression::None,
            },
        )?;
        Ok(Box::new(sink))
    }

    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let endpoint = self.endpoint().map_err(|e| e.to_string())?;
        crate::transport::probe(&self.http, timeout, |client| {
            client
                .head(endpoint.url.clone())
                .headers(endpoint.headers.clone())
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

struct Webhook {
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: WebhookBody,
}

/// Whether a record can go into a JSON array as it is.
fn is_json(record: &[u8]) -> bool {
    matches!(record.first(), Some(b'{' | b'['))
}

impl Endpoint for Webhook {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn envelope(&self) -> Envelope<'_> {
        match self.body {
            WebhookBody::JsonArray => Envelope {
                open: b"[",
                separator: b",",
                close: b"]",
            },
            WebhookBody::Ndjson => Envelope {
                open: b"",
                separator: b"",
                close: b"",
            },
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        match self.body {
            WebhookBody::JsonArray if !is_json(record) => {
                let mut quoted = Vec::with_capacity(record.len() + 2);
                self.frame(record, &mut quoted);
                quoted.len()
            }
            WebhookBody::JsonArray => record.len(),
            WebhookBody::Ndjson => record.len() + 1,
        }
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        match self.body {
            WebhookBody::JsonArray if !is_json(record) => {
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *body, &String::from_utf8_lossy(record));
            }
            WebhookBody::JsonArray => body.extend_from_slice(record),
            WebhookBody::Ndjson => {
                body.extend_from_slice(record);
                body.push(b'\n');
            }
        }
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        let content_type = match self.body {
            WebhookBody::JsonArray => "application/json",
            WebhookBody::Ndjson => "application/x-ndjson",
        };
        client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, content_type)
    }
}
