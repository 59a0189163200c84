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
//! Responses: HEC's numeric codes decide. 8 (internal error), 9 (busy), 18 and 19 (unhealthy)
//! and HTTP 408/429/5xx are retried, after `Retry-After` when given. A per-event error (6, 12,
//! 13, 15) with `invalid-event-number` N refuses event N; HEC reads a body as a stream and has
//! taken the events before N, so those count as delivered and only the events after N are
//! retried. Every other code (bad token, unknown index, …) refuses the request's events, which
//! go to the dead-letter file.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::reply::{by_status, retry_after, Outcome, Verdict};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// The event endpoint, added to a URL that names no path.
const EVENT_PATH: &str = "/services/collector/event";
/// The health endpoint probed by `siem check --connect`.
const HEALTH_PATH: &str = "/services/collector/health";

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecConfig {
    /// The collector (`https://splunk:8088`); a URL without a path gets
    /// `/services/collector/event`.
    pub url: String,
    /// The HEC token (a GUID), sent as `Authorization: Splunk <token>`.
    pub token: Secret,
    /// Allows `http://` although the token would travel in clear.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The dead-letter file (default [`crate::DEFAULT_DEAD_LETTER_PATH`]).
    #[serde(default)]
    pub dead_letter: Option<PathBuf>,
    /// Timeouts, requests in flight, compression (default gzip) and limits.
    #[serde(default)]
    pub http: HttpOptions,
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
            allow_insecure_http: false,
            dead_letter: None,
            http: HttpOptions::default(),
        }
    }

    fn endpoint(&self) -> Result<Hec, ConfigError> {
        let mut url = check_url(&self.url, true, self.allow_insecure_http)?;
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
        Ok(Hec { url, authorization })
    }
}

impl SinkConfig for SplunkHecConfig {
    fn type_name(&self) -> &'static str {
        "splunk_hec"
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
                dead_letter: self.dead_letter.as_deref(),
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

    fn envelope(&self) -> Envelope {
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
        client
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
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
