//! `type: alert_webhook` — each alert as one notification to a chat or paging service: a
//! Slack incoming webhook, a Teams Workflows webhook, PagerDuty's Events API v2, or any
//! service through a JSON body template of the user's.
//!
//! ```yaml
//! - name: security-alerts
//!   type: alert_webhook
//!   template: slack                  # slack | teams | pagerduty | custom
//!   webhook_url: ${SLACK_WEBHOOK_URL}   # a secret: the URL is the credential
//! - name: on-call
//!   type: alert_webhook
//!   template: pagerduty              # webhook_url defaults to https://events.pagerduty.com/v2/enqueue
//!   routing_key: ${PAGERDUTY_ROUTING_KEY}
//! - name: ticketing
//!   type: alert_webhook
//!   template: custom
//!   webhook_url: https://tickets.example.com/api/issues
//!   headers: { Authorization: "Bearer ${TICKETS_TOKEN}" }
//!   custom_template: '{"title": "{{rule}} on {{host}}", "body": "{{message}}"}'
//! ```
//!
//! Only alert events (`alert.*`) reach it, one request per alert, never batched; the records
//! are the canonical JSON events (`format: json`), read back to fill the template.

mod builtin;
mod facts;
mod template;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Url};
use serde::{Deserialize, Serialize};
use siem_event::{EventType, SecurityEvent};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;
use facts::AlertFacts;
use template::Template;

/// One alert per request; Slack and PagerDuty refuse bodies much over 512 KiB.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 512 << 10,
    max_entries: 1,
    max_entry_bytes: 512 << 10,
};

/// Where PagerDuty's Events API v2 takes events.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// The body an alert webhook sends for each alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertTemplate {
    /// A Slack incoming-webhook message: `{"text": …, "blocks": [header, message, fields]}`,
    /// values escaped for Slack's `mrkdwn` (`<!channel>` cannot ping anyone).
    Slack,
    /// A Teams message holding an Adaptive Card (title, message, a line per fact, all rich
    /// text runs, where Teams reads no Markdown), as Teams' Workflows incoming webhooks take it.
    Teams,
    /// A PagerDuty Events API v2 `trigger`: `routing_key`, `dedup_key` (the alert's id),
    /// `payload.summary`, `severity` (critical, error, warning, info), `source` (the host),
    /// `custom_details` (the alert's facts).
    Pagerduty,
    /// `custom_template`: a JSON document with `{{field}}` placeholders in its strings.
    Custom,
}

/// Settings of an alert notification destination (`type: alert_webhook`).
///
/// ```
/// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
/// use siem_ship::sink::SinkConfig;
/// let c: AlertWebhookConfig = serde_json::from_str(r#"{
///     "template": "slack", "webhook_url": "https://hooks.slack.com/services/T0/B0/s3cr3t"
/// }"#).unwrap();
/// assert_eq!(c.template, AlertTemplate::Slack);
/// assert!(c.validate().is_ok());
/// assert!(!format!("{c:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AlertWebhookConfig {
    /// The body sent per alert.
    pub template: AlertTemplate,
    /// Where to send; a secret, since a Slack or Teams webhook URL is its own credential.
    /// Required except for `pagerduty` (default [`PAGERDUTY_EVENTS_URL`]).
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// PagerDuty's integration (routing) key, 32 letters and digits; `pagerduty` only, and
    /// required there.
    #[serde(default)]
    pub routing_key: Option<Secret>,
    /// The body of `template: custom`: a JSON document whose strings may hold `{{field}}`
    /// placeholders (`rule`, `message`, `severity`, `alert_level`, `user`, `source_ip`, `host`,
    /// `id`, `timestamp`, any field a rule can name).
    #[serde(default)]
    pub custom_template: Option<String>,
    /// Extra headers; values may hold secrets (`${VAR}`) and are never shown.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Timeouts, compression (default none), the dead-letter file and `allow_insecure_http`.
    /// `max_entries` can only be 1: each alert is its own request.
    #[serde(default)]
    pub http: HttpOptions,
}

impl AlertWebhookConfig {
    /// Alerts sent with `template`; set the URL with [`webhook_url`](AlertWebhookConfig::webhook_url).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// let c = AlertWebhookConfig::new(AlertTemplate::Teams).webhook_url(Secret::new("https://example.webhook.office.com/x"));
    /// assert_eq!(c.webhook_url.unwrap().expose(), "https://example.webhook.office.com/x");
    /// ```
    pub fn new(template: AlertTemplate) -> AlertWebhookConfig {
        AlertWebhookConfig {
            template,
            webhook_url: None,
            routing_key: None,
            custom_template: None,
            headers: BTreeMap::new(),
            http: HttpOptions::default(),
        }
    }

    /// Sets `webhook_url`: where to send (a secret).
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// let c = AlertWebhookConfig::new(AlertTemplate::Slack).webhook_url(Secret::new("https://hooks.slack.com/services/T0/B0/x"));
    /// assert!(c.webhook_url.is_some());
    /// ```
    pub fn webhook_url(mut self, webhook_url: Secret) -> AlertWebhookConfig {
        self.webhook_url = Some(webhook_url);
        self
    }

    /// Sets `routing_key`: PagerDuty's integration key.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// let c = AlertWebhookConfig::new(AlertTemplate::Pagerduty)
    ///     .routing_key(Secret::new("0123456789abcdef0123456789abcdef"));
    /// assert_eq!(c.routing_key.unwrap().expose(), "0123456789abcdef0123456789abcdef");
    /// ```
    pub fn routing_key(mut self, routing_key: Secret) -> AlertWebhookConfig {
        self.routing_key = Some(routing_key);
        self
    }

    /// Sets `custom_template`: the JSON body of `template: custom`.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// use siem_ship::sink::SinkConfig;
    /// let c = AlertWebhookConfig::new(AlertTemplate::Custom)
    ///     .webhook_url(Secret::new("https://tickets.example.com/api"))
    ///     .custom_template(r#"{"title": "{{rule}}", "text": "{{message}}"}"#);
    /// assert!(c.validate().is_ok());
    /// ```
    pub fn custom_template(mut self, custom_template: impl Into<String>) -> AlertWebhookConfig {
        self.custom_template = Some(custom_template.into());
        self
    }

    /// Sets `headers`: extra headers, values treated as secrets.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// let c = AlertWebhookConfig::new(AlertTemplate::Custom).headers([("Authorization", Secret::new("Bearer t"))]);
    /// assert_eq!(c.headers["Authorization"].expose(), "Bearer t");
    /// ```
    pub fn headers(
        mut self,
        headers: impl IntoIterator<Item = (impl Into<String>, Secret)>,
    ) -> AlertWebhookConfig {
        self.headers = headers.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self
    }

    /// Sets `http`: timeouts, compression, the dead-letter file and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
    /// let c = AlertWebhookConfig::new(AlertTemplate::Slack).http(HttpOptions::default().max_in_flight(2));
    /// assert_eq!(c.http.max_in_flight, 2);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> AlertWebhookConfig {
        self.http = http;
        self
    }

    fn body(&self) -> Result<Body, ConfigError> {
        let refuse = |key: &str, what: &str| {
            ConfigError::invalid(
                key,
                format!("{what} (template: {})", template_name(self.template)),
            )
        };
        if self.routing_key.is_some() && self.template != AlertTemplate::Pagerduty {
            return Err(refuse("routing_key", "only template: pagerduty takes it"));
        }
        if self.custom_template.is_some() && self.template != AlertTemplate::Custom {
            return Err(refuse("custom_template", "only template: custom takes it"));
        }
        Ok(match self.template {
            AlertTemplate::Slack => Body::Slack,
            AlertTemplate::Teams => Body::Teams,
            AlertTemplate::Pagerduty => match &self.routing_key {
                Some(key) if is_routing_key(key.expose()) => Body::Pagerduty(key.clone()),
                Some(_) => {
                    return Err(refuse(
                        "routing_key",
                        "not an Events API v2 integration key (32 letters and digits)",
                    ))
                }
                None => {
                    return Err(refuse(
                        "routing_key",
                        "PagerDuty's integration key is required",
                    ))
                }
            },
            AlertTemplate::Custom => match &self.custom_template {
                Some(text) => Body::Custom(Template::parse(text, "custom_template")?),
                None => return Err(refuse("custom_template", "the JSON body is required")),
            },
        })
    }

    fn endpoint(&self) -> Result<Notifier, ConfigError> {
        if self.http.max_entries.is_some_and(|n| n != 1) {
            return Err(ConfigError::invalid(
                "http.max_entries",
                "an alert webhook sends one alert per request: leave it out or set 1",
            ));
        }
        let url = match (&self.webhook_url, self.template) {
            (Some(url), _) => url.expose(),
            (None, AlertTemplate::Pagerduty) => PAGERDUTY_EVENTS_URL,
            (None, other) => {
                return Err(ConfigError::invalid(
                    "webhook_url",
                    format!(
                        "the webhook URL is required (template: {})",
                        template_name(other)
                    ),
                ))
            }
        };
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
        Ok(Notifier {
            // The URL itself (Slack, Teams) or the routing key is a credential.
            url: check_url(url, true, self.http.allow_insecure_http)
                .map_err(|e| ConfigError::invalid("webhook_url", e.reason()))?,
            headers,
            body: self.body()?,
        })
    }
}

/// Whether `key` looks like an Events API v2 integration key, which PagerDuty refuses unless
/// it is 32 characters long (`400 Length of 'routing_key' is incorrect`).
fn is_routing_key(key: &str) -> bool {
    key.len() == ROUTING_KEY_CHARS && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

const ROUTING_KEY_CHARS: usize = 32;

fn template_name(template: AlertTemplate) -> &'static str {
    match template {
        AlertTemplate::Slack => "slack",
        AlertTemplate::Teams => "teams",
        AlertTemplate::Pagerduty => "pagerduty",
        AlertTemplate::Custom => "custom",
    }
}

impl SinkConfig for AlertWebhookConfig {
    fn type_name(&self) -> &'static str {
        "alert_webhook"
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
                "alert_webhook fills its template from the canonical JSON record, not {other}: \
                 use format: json"
            )),
        }
    }

    fn alerts_only(&self) -> bool {
        true
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

    /// Sends `HEAD` to the URL: a notification service would post a real message for
    /// anything else.
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

enum Body {
    Slack,
    Teams,
    Pagerduty(Secret),
    Custom(Template),
}

struct Notifier {
    url: Url,
    headers: HeaderMap,
    body: Body,
}

impl Endpoint for Notifier {
    fn kind(&self) -> &'static str {
        "alert_webhook"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: b"",
            separator: b"",
            close: b"",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut body = Vec::with_capacity(2048);
        self.frame(record, &mut body);
        body.len()
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let event = siem_format::decode_json(record).unwrap_or_else(|_| {
            // Only canonical JSON reaches this sink; anything else is still notified, as text.
            SecurityEvent::new(
                EventType::parse("alert.unknown"),
                String::from_utf8_lossy(record),
            )
        });
        let alert = AlertFacts { event: &event };
        match &self.body {
            Body::Slack => builtin::slack(&alert, body),
            Body::Teams => builtin::teams(&alert, body),
            Body::Pagerduty(key) => builtin::pagerduty(&alert, key.expose(), body),
            Body::Custom(template) => template.render(&alert, body),
        }
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
    }
}
