//! `type: splunk_hec` — Splunk HTTP Event Collector, `/services/collector/event`.
//!
//! Records are HEC envelopes (`format: hec`, whose options set `index`, `source`,
//! `sourcetype` and the host), sent back to back in one body, newline-separated, gzip-compressed,
//! with `Authorization: Splunk <token>`.
//!
//! ```yaml
//! - type: splunk_hec
//!   url: https://splunk.example.com:8088        # /services/collector/event is added
//!   token: ${SPLUNK_HEC_TOKEN}
//!   format: hec
//!   format_options: { hec_index: security, hec_sourcetype: "acme:security" }
//! ```
//!
//! With `indexer_ack`, every request carries `X-Splunk-Request-Channel` (one GUID per sink), and
//! the records of a request count as delivered only once `/services/collector/ack` says its
//! `ackId` is indexed; if that takes longer than `indexer_ack.timeout`, they are retried (at
//! least once: Splunk may then index them twice).
//!
//! Responses: HEC's numeric codes decide. 8 (internal error), 9 (busy), 18 and 19 (unhealthy)
//! and HTTP 408/429/5xx are retried, after `Retry-After` when given. A per-event error (6, 12,
//! 13, 15) with `invalid-event-number` N refuses event N; HEC reads a body as a stream and has
//! taken the events before N, so those count as delivered and only the events after N are
//! retried. Every other code (bad token, unknown index, …) refuses the request's events, which
//! go to the dead-letter file.

use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::reply::{by_status, retry_after, Outcome, Verdict};
use crate::sink::{Confirmation, Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// The event endpoint, added to a URL that names no path.
const EVENT_PATH: &str = "/services/collector/event";
/// The health endpoint probed by `siem check --connect`.
const HEALTH_PATH: &str = "/services/collector/health";
/// The endpoint that says whether acknowledged requests are indexed.
const ACK_PATH: &str = "/services/collector/ack";
/// The header naming the request channel.
const CHANNEL_HEADER: &str = "x-splunk-request-channel";

/// Waiting for Splunk's indexer acknowledgement (`indexer_ack:`; the token must have it on).
///
/// ```
/// use std::time::Duration;
/// use siem_http::splunk_hec::IndexerAck;
/// let a: IndexerAck = serde_json::from_str(r#"{"timeout": "2m"}"#).unwrap();
/// assert_eq!(a.timeout, Duration::from_secs(120));
/// assert_eq!(a.poll_interval, Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct IndexerAck {
    /// How long to wait for a request's events to be indexed before sending them again
    /// (default 60 s).
    #[serde(
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub timeout: Duration,
    /// Time between two questions to `/services/collector/ack` (default 1 s).
    #[serde(
        deserialize_with = "siem_ship::units::duration",
        serialize_with = "siem_ship::units::serialize_duration"
    )]
    pub poll_interval: Duration,
}

impl IndexerAck {
    /// Sets `timeout`: how long to wait for a request's events to be indexed before sending them again (default 60 s).
    ///
    /// ```
    /// use siem_http::splunk_hec::IndexerAck;
    /// use std::time::Duration;
    /// let c = IndexerAck::default().timeout(Duration::from_secs(30));
    /// assert_eq!(c.timeout, Duration::from_secs(30));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> IndexerAck {
        self.timeout = timeout;
        self
    }

    /// Sets `poll_interval`: time between two questions to `/services/collector/ack` (default 1 s).
    ///
    /// ```
    /// use siem_http::splunk_hec::IndexerAck;
    /// use std::time::Duration;
    /// let c = IndexerAck::default().poll_interval(Duration::from_secs(30));
    /// assert_eq!(c.poll_interval, Duration::from_secs(30));
    /// ```
    pub fn poll_interval(mut self, poll_interval: Duration) -> IndexerAck {
        self.poll_interval = poll_interval;
        self
    }
}

impl Default for IndexerAck {
    fn default() -> Self {
        IndexerAck {
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Splunk Cloud and most load balancers in front of HEC take about 1 MB per request (Splunk
/// Enterprise's own `max_content_length` is much larger); HEC sets no count per request.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 1_000_000,
    max_entries: 10_000,
    max_entry_bytes: 1_000_000,
};

/// Settings of a Splunk HEC destination (`type: splunk_hec`).
///
/// ```
/// use siem_http::splunk_hec::SplunkHecConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: SplunkHecConfig = serde_json::from_str(
///     r#"{"url": "https://splunk.example.com:8088", "token": "12345678-1234-1234-1234-1234567890AB"}"#,
/// ).unwrap();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.default_format(), siem_format::Format::Hec);
/// assert!(!format!("{c:?}").contains("12345678"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SplunkHecConfig {
    /// The collector (`https://splunk:8088`); a URL without a path gets
    /// `/services/collector/event`.
    pub url: String,
    /// The HEC token (a GUID), sent as `Authorization: Splunk <token>`.
    pub token: Secret,
    /// Waits for the indexer acknowledgement of every request (off by default).
    #[serde(default)]
    pub indexer_ack: Option<IndexerAck>,
    /// Timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    #[serde(default)]
    pub http: HttpOptions,
}

impl SplunkHecConfig {
    /// Sets `indexer_ack`: waits for the indexer acknowledgement of every request (off by default).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::splunk_hec::IndexerAck;
    /// use siem_http::splunk_hec::SplunkHecConfig;
    /// use std::time::Duration;
    /// let c = SplunkHecConfig::new("https://127.0.0.1:8088", Secret::new("hec-token")).indexer_ack(IndexerAck::default().poll_interval(Duration::from_millis(500)));
    /// assert_eq!(c.indexer_ack.unwrap().poll_interval, Duration::from_millis(500));
    /// ```
    pub fn indexer_ack(mut self, indexer_ack: IndexerAck) -> SplunkHecConfig {
        self.indexer_ack = Some(indexer_ack);
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression (default gzip), limits,
    /// the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::Secret;
    /// use siem_http::splunk_hec::SplunkHecConfig;
    /// let c = SplunkHecConfig::new("https://127.0.0.1:8088", Secret::new("hec-token")).http(HttpOptions::default().max_in_flight(4));
    /// assert_eq!(c.http.max_in_flight, 4);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> SplunkHecConfig {
        self.http = http;
        self
    }
}

impl SplunkHecConfig {
    /// A collector at `url` with `token`.
    ///
    /// ```
    /// use siem_http::{splunk_hec::SplunkHecConfig, Secret};
    /// let c = SplunkHecConfig::new("https://splunk:8088", Secret::new("t"));
    /// assert_eq!(c.url, "https://splunk:8088");
    /// ```
    pub fn new(url: impl Into<String>, token: Secret) -> SplunkHecConfig {
        SplunkHecConfig {
            url: url.into(),
            token,
            indexer_ack: None,
            http: HttpOptions::default(),
        }
    }

    fn endpoint(&self) -> Result<Hec, ConfigError> {
        let mut url = check_url(&self.url, true, self.http.allow_insecure_http)?;
        if url.path() == "/" {
            url.set_path(EVENT_PATH);
        }
        if self.token.expose().trim().is_empty() {
            return Err(ConfigError::invalid("token", "must not be empty"));
        }
        let mut authorization =
            reqwest::header::HeaderValue::from_str(&format!("Splunk {}", self.token.expose()))
                .map_err(|_| {
                    ConfigError::invalid("token", "holds characters a header cannot carry")
                })?;
        authorization.set_sensitive(true);
        if let Some(ack) = &self.indexer_ack {
            if ack.timeout.is_zero() || ack.poll_interval.is_zero() {
                return Err(ConfigError::invalid(
                    "indexer_ack",
                    "timeout and poll_interval must be greater than zero",
                ));
            }
        }
        let ack = self.indexer_ack.clone().map(|settings| {
            let mut url = url.clone();
            url.set_path(ACK_PATH);
            let channel = uuid::Uuid::new_v4().to_string();
            url.query_pairs_mut().append_pair("channel", &channel);
            Acknowledgement {
                url,
                channel,
                settings,
            }
        });
        Ok(Hec {
            url,
            authorization,
            ack,
        })
    }
}

impl SinkConfig for SplunkHecConfig {
    fn type_name(&self) -> &'static str {
        "splunk_hec"
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
            Format::Hec => Ok(()),
            other => Err(format!(
                "splunk_hec sends HEC event envelopes, not {other}: use format: hec (its \
                 format_options.hec_event chooses json, ecs or ocsf inside the envelope)"
            )),
        }
    }

    fn default_format(&self) -> Format {
        Format::Hec
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
        let mut health = endpoint.url.clone();
        health.set_path(HEALTH_PATH);
        crate::transport::probe(&self.http, timeout, |client| {
            client
                .get(health)
                .header(AUTHORIZATION, endpoint.authorization.clone())
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

struct Hec {
    url: Url,
    authorization: reqwest::header::HeaderValue,
    ack: Option<Acknowledgement>,
}

/// The channel and where to ask about acknowledgements.
struct Acknowledgement {
    url: Url,
    channel: String,
    settings: IndexerAck,
}

/// `{"acks":{"7":true}}`.
#[derive(Deserialize)]
struct AckReply {
    acks: std::collections::HashMap<String, bool>,
}

impl Hec {
    /// Asks until `id` is indexed or the timeout passes.
    async fn indexed(&self, ack: &Acknowledgement, client: &Client, id: u64) -> Outcome {
        let deadline = tokio::time::Instant::now() + ack.settings.timeout;
        let body = format!("{{\"acks\":[{id}]}}");
        loop {
            tokio::time::sleep(ack.settings.poll_interval).await;
            let answer = client
                .post(ack.url.clone())
                .header(AUTHORIZATION, self.authorization.clone())
                .header(CHANNEL_HEADER, &ack.channel)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            if let Ok(response) = answer {
                if let Ok((status, _, reply)) = crate::transport::read(response).await {
                    let acked = serde_json::from_slice::<AckReply>(&reply)
                        .ok()
                        .and_then(|r| r.acks.get(&id.to_string()).copied());
                    if status.is_success() && acked == Some(true) {
                        return Outcome::Delivered;
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Outcome::Retry {
                    reason: format!(
                        "ackId {id} not acknowledged as indexed within {:?}; sending again",
                        ack.settings.timeout
                    ),
                    after: None,
                };
            }
        }
    }
}

/// The `ackId` of a successful event request.
#[derive(Deserialize)]
struct AckId {
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
}

/// HEC's answer: `{"text":"Success","code":0}`, on errors with `invalid-event-number`.
#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    text: String,
    code: Option<u32>,
    #[serde(rename = "invalid-event-number")]
    invalid_event: Option<usize>,
}

impl Endpoint for Hec {
    fn kind(&self) -> &'static str {
        "splunk_hec"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: b"",
            separator: b"\n",
            close: b"",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        record.len()
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        body.extend_from_slice(record);
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        let request = client
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json");
        match &self.ack {
            Some(ack) => request.header(CHANNEL_HEADER, &ack.channel),
            None => request,
        }
    }

    fn confirm<'a>(&'a self, client: &'a Client, reply: &'a [u8]) -> Option<Confirmation<'a>> {
        let ack = self.ack.as_ref()?;
        // A token without acknowledgement answers no ackId: there is nothing to wait for.
        let id = serde_json::from_slice::<AckId>(reply).ok()?.ack_id?;
        Some(Box::pin(self.indexed(ack, client, id)))
    }

    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        let Ok(reply) = serde_json::from_slice::<Reply>(body) else {
            return Verdict::All(by_status(status, headers, body));
        };
        let Some(code) = reply.code else {
            return Verdict::All(by_status(status, headers, body));
        };
        let reason = format!("HEC code {code} (HTTP {}): {}", status.as_u16(), reply.text);
        match code {
            0 if status.is_success() => Verdict::All(Outcome::Delivered),
            8 | 9 | 18 | 19 => Verdict::All(Outcome::Retry {
                reason,
                after: retry_after(headers),
            }),
            6 | 12 | 13 | 15 => match reply.invalid_event {
                Some(bad) if bad < records => Verdict::Each(
                    (0..records)
                        .map(|i| match i.cmp(&bad) {
                            std::cmp::Ordering::Less => Outcome::Delivered,
                            std::cmp::Ordering::Equal => Outcome::Reject {
                                status: Some(status.as_u16()),
                                reason: reason.clone(),
                            },
                            std::cmp::Ordering::Greater => Outcome::Retry {
                                reason: format!("after an invalid event: {reason}"),
                                after: None,
                            },
                        })
                        .collect(),
                ),
                _ => Verdict::All(Outcome::Reject {
                    status: Some(status.as_u16()),
                    reason,
                }),
            },
            _ => match by_status(status, headers, body) {
                Outcome::Reject { status, .. } => Verdict::All(Outcome::Reject { status, reason }),
                Outcome::Retry { after, .. } => Verdict::All(Outcome::Retry { reason, after }),
                other => Verdict::All(other),
            },
        }
    }
}
