//! `type: elasticsearch` — Elasticsearch or OpenSearch `_bulk`, into an index or a data
//! stream.
//!
//! Every record goes as a `create` action with `_id` the event's id (ECS `event.id`, canonical
//! JSON `id`, OCSF `metadata.uid`), so a batch sent again after a lost response creates no
//! duplicates: the second `create` answers 409, which counts as delivered. `create` is also the
//! only action data streams take.
//!
//! ```yaml
//! - type: elasticsearch
//!   url: https://es.example.com:9200
//!   data_stream: logs-appshield.security-default   # or index: security-events
//!   api_key: ${ES_API_KEY}                          # or username: + password:
//!   format: ecs
//! ```
//!
//! Responses: a whole-request 408, 429 or 5xx is retried; 413 splits the request; other 4xx
//! dead-letter its records. Under HTTP 200 with `"errors": true`, each item decides: 2xx and
//! 409 delivered, 429 and 5xx retried (only those records are sent again), anything else
//! (400 mapping errors, 403, 404) dead-lettered with the item's error type and reason.

use std::borrow::Cow;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::reply::{by_status, quote, Outcome, Verdict};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// Elastic recommends bulk requests of a few megabytes (5–15 MB); clusters refuse more than
/// `http.max_content_length` (100 MB by default).
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 5 << 20,
    max_entries: 10_000,
    max_entry_bytes: 5 << 20,
};

/// Only what the sink reads of a bulk response.
const FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason";

/// Characters Elasticsearch refuses in index and data stream names.
const FORBIDDEN_NAME_CHARS: &[char] =
    &['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'];

/// Settings of an Elasticsearch / OpenSearch destination (`type: elasticsearch`).
///
/// ```
/// use siem_http::elasticsearch::ElasticsearchConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: ElasticsearchConfig = serde_json::from_str(r#"{
///     "url": "https://es:9200", "data_stream": "logs-appshield-default", "api_key": "c2VjcmV0"
/// }"#).unwrap();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.default_format(), siem_format::Format::Ecs);
/// assert!(!format!("{c:?}").contains("c2VjcmV0"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ElasticsearchConfig {
    /// The cluster (`https://es.example.com:9200`, a path prefix allowed).
    pub url: String,
    /// The index to write to (exactly one of `index` and `data_stream`).
    #[serde(default)]
    pub index: Option<String>,
    /// The data stream to write to; takes `format: ecs` only (it needs `@timestamp`).
    #[serde(default)]
    pub data_stream: Option<String>,
    /// An API key, the base64 `id:api_key` Elasticsearch calls `encoded`
    /// (`Authorization: ApiKey …`).
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// User for basic authentication (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for basic authentication.
    #[serde(default)]
    pub password: Option<Secret>,
    /// An ingest pipeline to run the documents through.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    #[serde(default)]
    pub http: HttpOptions,
}

impl ElasticsearchConfig {
    /// Sets `index`: the index to write to (exactly one of `index` and `data_stream`).
    ///
    /// ```
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").index("siem-events");
    /// assert_eq!(c.index.as_deref(), Some("siem-events"));
    /// ```
    pub fn index(mut self, index: impl Into<String>) -> ElasticsearchConfig {
        self.index = Some(index.into());
        self
    }

    /// Sets `data_stream`: the data stream to write to; takes `format: ecs` only (it needs `@timestamp`).
    ///
    /// ```
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").data_stream("logs-siem-default");
    /// assert_eq!(c.data_stream.as_deref(), Some("logs-siem-default"));
    /// ```
    pub fn data_stream(mut self, data_stream: impl Into<String>) -> ElasticsearchConfig {
        self.data_stream = Some(data_stream.into());
        self
    }

    /// Sets `api_key`: an API key, the base64 `id:api_key` Elasticsearch calls `encoded` (`Authorization: ApiKey …`).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").api_key(Secret::new("s3cr3t"));
    /// assert_eq!(c.api_key.as_ref().map(|s| s.expose()), Some("s3cr3t"));
    /// ```
    pub fn api_key(mut self, api_key: Secret) -> ElasticsearchConfig {
        self.api_key = Some(api_key);
        self
    }

    /// Sets `username`: user for basic authentication (with `password`).
    ///
    /// ```
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").username("elastic");
    /// assert_eq!(c.username.as_deref(), Some("elastic"));
    /// ```
    pub fn username(mut self, username: impl Into<String>) -> ElasticsearchConfig {
        self.username = Some(username.into());
        self
    }

    /// Sets `password`: password for basic authentication.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").password(Secret::new("s3cr3t"));
    /// assert_eq!(c.password.as_ref().map(|s| s.expose()), Some("s3cr3t"));
    /// ```
    pub fn password(mut self, password: Secret) -> ElasticsearchConfig {
        self.password = Some(password);
        self
    }

    /// Sets `pipeline`: an ingest pipeline to run the documents through.
    ///
    /// ```
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").pipeline("siem");
    /// assert_eq!(c.pipeline.as_deref(), Some("siem"));
    /// ```
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> ElasticsearchConfig {
        self.pipeline = Some(pipeline.into());
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::elasticsearch::ElasticsearchConfig;
    /// let c = ElasticsearchConfig::new("https://127.0.0.1:9200", "siem-events").http(HttpOptions::default().max_in_flight(4));
    /// assert_eq!(c.http.max_in_flight, 4);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> ElasticsearchConfig {
        self.http = http;
        self
    }
}

impl ElasticsearchConfig {
    /// A destination writing to `index` on the cluster at `url`, without credentials.
    ///
    /// ```
    /// let c = siem_http::elasticsearch::ElasticsearchConfig::new("https://es:9200", "security");
    /// assert_eq!(c.index.as_deref(), Some("security"));
    /// ```
    pub fn new(url: impl Into<String>, index: impl Into<String>) -> ElasticsearchConfig {
        ElasticsearchConfig {
            url: url.into(),
            index: Some(index.into()),
            data_stream: None,
            api_key: None,
            username: None,
            password: None,
            pipeline: None,
            http: HttpOptions::default(),
        }
    }

    fn target(&self) -> Result<&str, ConfigError> {
        let (key, name) = match (&self.index, &self.data_stream) {
            (Some(i), None) => ("index", i),
            (None, Some(d)) => ("data_stream", d),
            _ => {
                return Err(ConfigError::invalid(
                    "index",
                    "give exactly one of index and data_stream",
                ))
            }
        };
        let bad = name.is_empty()
            || name == "."
            || name == ".."
            || name.starts_with(['-', '_', '+'])
            || name.contains(FORBIDDEN_NAME_CHARS)
            || name.chars().any(|c| c.is_ascii_uppercase())
            || name.len() > 255;
        if bad {
            return Err(ConfigError::invalid(
                key,
                "not a valid name: lowercase, at most 255 bytes, not starting with -, _ or +, \
                 without \\ / * ? \" < > | , # : or spaces",
            ));
        }
        Ok(name)
    }

    fn auth(&self) -> Result<Option<Auth>, ConfigError> {
        match (&self.api_key, &self.username, &self.password) {
            (None, None, None) => Ok(None),
            (Some(key), None, None) => {
                let mut header = HeaderValue::from_str(&format!("ApiKey {}", key.expose()))
                    .map_err(|_| {
                        ConfigError::invalid("api_key", "holds characters a header cannot carry")
                    })?;
                header.set_sensitive(true);
                Ok(Some(Auth::ApiKey(header)))
            }
            (None, Some(user), Some(_)) if user.contains(':') => {
                Err(ConfigError::invalid("username", "must not contain ':'"))
            }
            (None, Some(user), Some(password)) => Ok(Some(Auth::Basic {
                user: user.clone(),
                password: password.clone(),
            })),
            (Some(_), _, _) => Err(ConfigError::invalid(
                "api_key",
                "give either api_key or username and password, not both",
            )),
            (None, Some(_), None) => Err(ConfigError::invalid(
                "password",
                "missing (username is set)",
            )),
            (None, None, Some(_)) => Err(ConfigError::invalid(
                "username",
                "missing (password is set)",
            )),
        }
    }

    fn endpoint(&self) -> Result<Bulk, ConfigError> {
        let auth = self.auth()?;
        let base = check_url(&self.url, auth.is_some(), self.http.allow_insecure_http)?;
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|_| ConfigError::invalid("url", "cannot hold a path"))?
            .pop_if_empty()
            .push(self.target()?)
            .push("_bulk");
        url.query_pairs_mut()
            .append_pair("filter_path", FILTER_PATH);
        if let Some(pipeline) = &self.pipeline {
            url.query_pairs_mut().append_pair("pipeline", pipeline);
        }
        Ok(Bulk { base, url, auth })
    }
}

impl SinkConfig for ElasticsearchConfig {
    fn type_name(&self) -> &'static str {
        "elasticsearch"
    }

    fn settings(&self) -> serde_json::Value {
        siem_ship::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.endpoint().map(drop)
    }

    fn accepts(&self, format: Format, _: &FormatOptions) -> Result<(), String> {
        match (format, self.data_stream.is_some()) {
            (Format::Ecs, _) | (Format::Json | Format::Ocsf, false) => Ok(()),
            (Format::Json | Format::Ocsf, true) => Err(format!(
                "a data stream needs @timestamp in every document, which {format} has not: \
                 use format: ecs"
            )),
            _ => Err(format!(
                "elasticsearch indexes JSON documents, not {format}: use format: ecs (or json, \
                 ocsf into an index)"
            )),
        }
    }

    fn default_format(&self) -> Format {
        Format::Ecs
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

    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let endpoint = self.endpoint().map_err(|e| e.to_string())?;
        crate::transport::probe(&self.http, timeout, |client| {
            endpoint.authorize(client.get(endpoint.base.clone()))
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

/// How requests authenticate.
enum Auth {
    /// `Authorization: ApiKey <encoded>`.
    ApiKey(HeaderValue),
    /// HTTP basic authentication.
    Basic { user: String, password: Secret },
}

struct Bulk {
    base: Url,
    url: Url,
    auth: Option<Auth>,
}

impl Bulk {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            None => request,
            Some(Auth::ApiKey(header)) => request.header(AUTHORIZATION, header.clone()),
            Some(Auth::Basic { user, password }) => {
                request.basic_auth(user, Some(password.expose()))
            }
        }
    }
}

/// The event id of a document in any of our JSON formats.
#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<EventId<'a>>,
    #[serde(borrow)]
    metadata: Option<MetadataUid<'a>>,
}

#[derive(Deserialize)]
struct EventId<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MetadataUid<'a> {
    #[serde(borrow)]
    uid: Option<Cow<'a, str>>,
}

impl Bulk {
    /// `{"create":{"_id":"…"}}`, or `{"create":{}}` for a document without an id.
    fn action(record: &[u8], out: &mut Vec<u8>) {
        let ids = serde_json::from_slice::<Ids<'_>>(record).ok();
        let id = ids.and_then(|i| {
            i.event
                .and_then(|e| e.id)
                .or(i.id)
                .or(i.metadata.and_then(|m| m.uid))
        });
        match id {
            Some(id) => {
                out.extend_from_slice(b"{\"create\":{\"_id\":");
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, &id);
                out.extend_from_slice(b"}}\n");
            }
            None => out.extend_from_slice(b"{\"create\":{}}\n"),
        }
    }
}

/// A bulk response, as far as `filter_path` keeps it.
#[derive(Deserialize)]
struct BulkReply {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: u16,
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

impl Item {
    fn outcome(self) -> Outcome {
        let status = self.status;
        let reason = match self.error {
            Some(e) => format!(
                "item status {status}: {}: {}",
                e.kind,
                quote(e.reason.as_bytes())
            ),
            None => format!("item status {status}"),
        };
        match status {
            200..=299 | 409 => Outcome::Delivered,
            429 | 500..=599 => Outcome::Retry {
                reason,
                after: None,
            },
            _ => Outcome::Reject {
                status: Some(status),
                reason,
            },
        }
    }
}

impl Endpoint for Bulk {
    fn kind(&self) -> &'static str {
        "elasticsearch"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: b"",
            separator: b"",
            close: b"",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut action = Vec::with_capacity(64);
        Bulk::action(record, &mut action);
        action.len() + record.len() + 1
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        Bulk::action(record, body);
        body.extend_from_slice(record);
        body.push(b'\n');
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        self.authorize(
            client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/x-ndjson"),
        )
    }

    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        if !status.is_success() {
            return Verdict::All(by_status(status, headers, body));
        }
        match serde_json::from_slice::<BulkReply>(body) {
            Ok(reply) if !reply.errors => Verdict::All(Outcome::Delivered),
            Ok(reply) if reply.items.len() == records => Verdict::Each(
                reply
                    .items
                    .into_iter()
                    .map(|item| match item.into_values().next() {
                        Some(item) => item.outcome(),
                        None => Outcome::Retry {
                            reason: "a bulk item without an action".to_owned(),
                            after: None,
                        },
                    })
                    .collect(),
            ),
            Ok(reply) => Verdict::All(Outcome::Retry {
                reason: format!(
                    "the bulk response reports errors for {} items, the request held {records}",
                    reply.items.len()
                ),
                after: None,
            }),
            Err(e) => Verdict::All(Outcome::Retry {
                reason: format!("unreadable bulk response ({e}): {}", quote(body)),
                after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_comes_from_whichever_format_the_document_is_in() {
        let action = |doc: &str| {
            let mut out = Vec::new();
            Bulk::action(doc.as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            action(r#"{"event":{"id":"e1"}}"#),
            "{\"create\":{\"_id\":\"e1\"}}\n"
        );
        assert_eq!(
            action(r#"{"id":"c1","x":[1]}"#),
            "{\"create\":{\"_id\":\"c1\"}}\n"
        );
        assert_eq!(
            action(r#"{"metadata":{"uid":"o\"1"}}"#),
            "{\"create\":{\"_id\":\"o\\\"1\"}}\n"
        );
        assert_eq!(action(r#"{"x":1}"#), "{\"create\":{}}\n");
        assert_eq!(action("not json"), "{\"create\":{}}\n");
    }
}
