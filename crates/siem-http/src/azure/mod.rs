//! `type: azure_monitor` — the Azure Monitor Logs Ingestion API
//! (`POST {endpoint}/dataCollectionRules/{dcr_immutable_id}/streams/{stream}?api-version=2023-01-01`),
//! authenticated with an Entra ID application's client credentials.
//!
//! ```yaml
//! - type: azure_monitor
//!   endpoint: https://appshield-dce-a1b2.westeurope-1.ingest.monitor.azure.com
//!   dcr_immutable_id: dcr-00000000000000000000000000000000
//!   stream: Custom-AppShieldSecurity_CL
//!   tenant_id: ${AZURE_TENANT_ID}
//!   client_id: ${AZURE_CLIENT_ID}
//!   client_secret: ${AZURE_CLIENT_SECRET}
//!   format: json
//! ```
//!
//! The token comes from `{authority}/{tenant_id}/oauth2/v2.0/token` (client credentials, scope
//! `https://monitor.azure.com//.default`), reused until five minutes before it expires and
//! fetched again after a 401. The body is a JSON array with one object per record: a JSON
//! record as it is, with `TimeGenerated` (the record's own time, else the time its batch is
//! framed) added when missing; another record as `{"TimeGenerated": …, "RawData": <record>}`.
//! Batches are split before sending at 1,000,000 bytes per call (the API's 1 MB limit holds
//! for compressed and uncompressed bodies alike) and gzip-compressed. 204 is delivered; 408,
//! 429 and 5xx are retried after `Retry-After`; 413 splits the call; other errors (400 schema
//! mismatch, 403 missing role, 404 unknown rule or stream) dead-letter its records.
//!
//! The legacy HTTP Data Collector API (`workspace_id` + `shared_key`) was retired on
//! 2026-09-14; docs/http-destinations.md says how its settings map to these.

use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};
use siem_event::Timestamp;
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::{Envelope, Limits};
use crate::oauth::{Bearer, Grant, TokenCache};
use crate::options::{check_url, Compression, HttpOptions};
use crate::record;
use crate::reply::{by_status, Verdict};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use crate::Secret;

/// The API version of the calls.
pub const API_VERSION: &str = "2023-01-01";

/// Entra ID's authority in Azure's public cloud.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The scope of an ingestion token in Azure's public cloud (the double slash is Microsoft's).
pub const DEFAULT_SCOPE: &str = "https://monitor.azure.com//.default";

/// The Logs Ingestion API's limit of 1 MB per call; no documented count limit, so one that
/// keeps a call's records countable.
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 1_000_000,
    max_entries: 10_000,
    max_entry_bytes: 1_000_000,
};

/// Settings of an Azure Monitor Logs Ingestion destination (`type: azure_monitor`).
///
/// ```
/// use siem_http::azure::AzureMonitorConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: AzureMonitorConfig = serde_json::from_str(r#"{
///     "endpoint": "https://dce-1.westeurope-1.ingest.monitor.azure.com",
///     "dcr_immutable_id": "dcr-0123456789abcdef0123456789abcdef",
///     "stream": "Custom-AppShieldSecurity_CL",
///     "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
///     "client_id": "00000000-0000-0000-0000-000000000001",
///     "client_secret": "s3cr3t~value"
/// }"#).unwrap();
/// assert!(c.validate().is_ok());
/// assert!(!format!("{c:?}").contains("s3cr3t"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AzureMonitorConfig {
    /// The data collection endpoint's logs ingestion URL (or the rule's own, for a `Direct`
    /// rule): `https://<name>.<region>-1.ingest.monitor.azure.com`.
    pub endpoint: String,
    /// The data collection rule's immutable id (`dcr-` and 32 hex digits; its JSON view's
    /// `properties.immutableId`, not its resource id).
    pub dcr_immutable_id: String,
    /// The input stream the rule declares (`Custom-<table>_CL`, or a `Microsoft-…` one).
    pub stream: String,
    /// The Entra ID tenant (directory) id or domain.
    pub tenant_id: String,
    /// The application (client) id of the app registration.
    pub client_id: String,
    /// A client secret of that app registration.
    pub client_secret: Secret,
    /// Entra ID's authority (default [`DEFAULT_AUTHORITY`]; `https://login.microsoftonline.us`
    /// for US Government, `https://login.chinacloudapi.cn` for China).
    #[serde(default)]
    pub authority: Option<String>,
    /// The token scope (default [`DEFAULT_SCOPE`]; `https://monitor.azure.us//.default`,
    /// `https://monitor.azure.cn//.default` in the other clouds).
    #[serde(default)]
    pub scope: Option<String>,
    /// Timeouts, requests in flight, compression (default gzip), limits, the dead-letter file
    /// and `allow_insecure_http` (which also covers `authority`).
    #[serde(default)]
    pub http: HttpOptions,
}

impl AzureMonitorConfig {
    /// A destination sending to `stream` of the rule `dcr_immutable_id` through `endpoint`,
    /// as the app `client_id` of `tenant_id`.
    ///
    /// ```
    /// use siem_http::{azure::AzureMonitorConfig, Secret};
    /// let c = AzureMonitorConfig::new(
    ///     "https://dce-1.westeurope-1.ingest.monitor.azure.com",
    ///     "dcr-0123456789abcdef0123456789abcdef",
    ///     "Custom-AppShieldSecurity_CL",
    ///     "contoso.onmicrosoft.com",
    ///     "00000000-0000-0000-0000-000000000001",
    ///     Secret::new("s3cr3t"),
    /// );
    /// assert_eq!(c.stream, "Custom-AppShieldSecurity_CL");
    /// ```
    pub fn new(
        endpoint: impl Into<String>,
        dcr_immutable_id: impl Into<String>,
        stream: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> AzureMonitorConfig {
        AzureMonitorConfig {
            endpoint: endpoint.into(),
            dcr_immutable_id: dcr_immutable_id.into(),
            stream: stream.into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret,
            authority: None,
            scope: None,
            http: HttpOptions::default(),
        }
    }

    /// Sets `authority`: Entra ID's authority (default [`DEFAULT_AUTHORITY`]).
    ///
    /// ```
    /// use siem_http::{azure::AzureMonitorConfig, Secret};
    /// let c = AzureMonitorConfig::new("https://d", "dcr-0", "Custom-T_CL", "t", "c", Secret::new("s"))
    ///     .authority("https://login.microsoftonline.us");
    /// assert_eq!(c.authority.as_deref(), Some("https://login.microsoftonline.us"));
    /// ```
    pub fn authority(mut self, authority: impl Into<String>) -> AzureMonitorConfig {
        self.authority = Some(authority.into());
        self
    }

    /// Sets `scope`: the token scope (default [`DEFAULT_SCOPE`]).
    ///
    /// ```
    /// use siem_http::{azure::AzureMonitorConfig, Secret};
    /// let c = AzureMonitorConfig::new("https://d", "dcr-0", "Custom-T_CL", "t", "c", Secret::new("s"))
    ///     .scope("https://monitor.azure.us//.default");
    /// assert_eq!(c.scope.as_deref(), Some("https://monitor.azure.us//.default"));
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> AzureMonitorConfig {
        self.scope = Some(scope.into());
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression, limits, the dead-letter file
    /// and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::{azure::AzureMonitorConfig, HttpOptions, Secret};
    /// let c = AzureMonitorConfig::new("https://d", "dcr-0", "Custom-T_CL", "t", "c", Secret::new("s"))
    ///     .http(HttpOptions::default().max_in_flight(2));
    /// assert_eq!(c.http.max_in_flight, 2);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> AzureMonitorConfig {
        self.http = http;
        self
    }

    /// Checks every key.
    fn api(&self) -> Result<IngestionApi, ConfigError> {
        self.http.validate()?;
        let insecure = self.http.allow_insecure_http;
        let mut url = check_url(&self.endpoint, true, insecure)
            .map_err(|e| ConfigError::invalid("endpoint", e.reason()))?;
        let rule = &self.dcr_immutable_id;
        let hex = rule.strip_prefix("dcr-").unwrap_or_default();
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::invalid(
                "dcr_immutable_id",
                "expected `dcr-` and 32 hex digits (the rule's properties.immutableId, not its \
                 resource id)",
            ));
        }
        let stream = &self.stream;
        if stream.is_empty()
            || stream.len() > 256
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(ConfigError::invalid(
                "stream",
                "expected a stream the rule declares, such as Custom-MyTable_CL",
            ));
        }
        check_directory_name("tenant_id", &self.tenant_id)?;
        check_directory_name("client_id", &self.client_id)?;
        if self.client_secret.expose().trim().is_empty() {
            return Err(ConfigError::invalid("client_secret", "must not be empty"));
        }
        let authority = self.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY);
        let mut token_url = check_url(authority, true, insecure)
            .map_err(|e| ConfigError::invalid("authority", e.reason()))?;
        token_url
            .path_segments_mut()
            .map_err(|_| ConfigError::invalid("authority", "cannot take a path"))?
            .pop_if_empty()
            .extend([self.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        let scope = self.scope.as_deref().unwrap_or(DEFAULT_SCOPE);
        if scope.trim().is_empty() || scope.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                "scope",
                "expected one scope such as https://monitor.azure.com//.default",
            ));
        }
        url.path_segments_mut()
            .map_err(|_| ConfigError::invalid("endpoint", "cannot take a path"))?
            .pop_if_empty()
            .extend(["dataCollectionRules", rule, "streams", stream]);
        url.set_query(Some(&format!("api-version={API_VERSION}")));
        Ok(IngestionApi {
            url,
            tokens: TokenCache::new(ClientCredentials {
                token_url,
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                scope: scope.to_owned(),
            }),
        })
    }
}

/// Checks a tenant or client id: a GUID, or for a tenant a domain name.
fn check_directory_name(key: &str, value: &str) -> Result<(), ConfigError> {
    let well_formed = !value.is_empty()
        && value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    if well_formed {
        Ok(())
    } else if value.is_empty() {
        Err(ConfigError::invalid(key, "must not be empty"))
    } else {
        Err(ConfigError::invalid(
            key,
            "expected a GUID (or, for the tenant, a domain such as contoso.onmicrosoft.com)",
        ))
    }
}

impl SinkConfig for AzureMonitorConfig {
    fn type_name(&self) -> &'static str {
        "azure_monitor"
    }

    fn settings(&self) -> serde_json::Value {
        siem_ship::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.api().map(drop)
    }

    fn accepts(&self, _: Format, _: &FormatOptions) -> Result<(), String> {
        Ok(())
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        let sink = HttpSink::new(
            self.api()?,
            SinkSettings {
                http: &self.http,
                default_limits: DEFAULT_LIMITS,
                default_compression: Compression::Gzip,
            },
        )?;
        Ok(Box::new(sink))
    }

    /// Fetches a token, then sends an empty array to the stream: a refused secret, a missing
    /// role (403) or an unknown rule fails.
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let api = self.api().map_err(|e| e.to_string())?;
        let answer = crate::oauth::probe(&self.http, timeout, &api.tokens, |client| {
            api.request(client).body("[]")
        })?;
        if answer.starts_with("HTTP 4") && !answer.starts_with("HTTP 400") {
            Err(answer)
        } else {
            Ok(answer)
        }
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

/// The OAuth client-credentials grant of an app registration.
struct ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    scope: String,
}

impl Grant for ClientCredentials {
    fn issuer(&self) -> &'static str {
        "the Entra ID token endpoint"
    }

    fn token_request(&self, client: &Client) -> Result<RequestBuilder, String> {
        Ok(client.post(self.token_url.clone()).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("scope", self.scope.as_str()),
        ]))
    }
}

/// One stream of one data collection rule.
struct IngestionApi {
    url: Url,
    tokens: TokenCache<ClientCredentials>,
}

impl Endpoint for IngestionApi {
    fn kind(&self) -> &'static str {
        "azure_monitor"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: b"[",
            separator: b",",
            close: b"]",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut framed = Vec::with_capacity(record.len() + 48);
        self.frame(record, &mut framed);
        framed.len()
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let marks = record::read(record);
        let has_time = marks.is_some() && has_member(record, "TimeGenerated");
        body.extend_from_slice(b"{");
        if !has_time {
            let millis = marks.as_ref().and_then(|m| m.time_millis);
            let time = millis.map_or_else(Timestamp::now, Timestamp::from_unix_millis);
            body.extend_from_slice(b"\"TimeGenerated\":\"");
            time.write_rfc3339_millis(body);
            body.push(b'"');
        }
        match marks {
            Some(_) => {
                let trimmed = record.trim_ascii();
                let inner = trimmed[1..trimmed.len() - 1].trim_ascii();
                if !has_time && !inner.is_empty() {
                    body.push(b',');
                }
                body.extend_from_slice(inner);
            }
            None => {
                body.extend_from_slice(b",\"RawData\":");
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *body, &String::from_utf8_lossy(record));
            }
        }
        body.push(b'}');
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
    }

    fn bearer(&self) -> Option<&dyn Bearer> {
        Some(&self.tokens)
    }

    fn judge(&self, status: StatusCode, headers: &HeaderMap, body: &[u8], _: usize) -> Verdict {
        Verdict::All(by_status(status, headers, body))
    }
}

/// Whether the JSON object `record` has a top-level member `name`.
fn has_member(record: &[u8], name: &str) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(record)
        .is_ok_and(|object| object.contains_key(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AzureMonitorConfig {
        AzureMonitorConfig::new(
            "https://dce-1.westeurope-1.ingest.monitor.azure.com",
            "dcr-0123456789abcdef0123456789abcdef",
            "Custom-AppShieldSecurity_CL",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "00000000-0000-0000-0000-000000000001",
            Secret::new("s3cr3t~value"),
        )
    }

    #[test]
    fn urls_follow_the_documented_shapes() {
        let api = config().api().unwrap();
        assert_eq!(
            api.url.as_str(),
            "https://dce-1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/\
             dcr-0123456789abcdef0123456789abcdef/streams/Custom-AppShieldSecurity_CL\
             ?api-version=2023-01-01"
        );
        assert_eq!(
            api.tokens.grant.token_url.as_str(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        );
    }

    #[test]
    fn every_key_is_checked() {
        type Break = fn(&mut AzureMonitorConfig);
        let cases: Vec<(&str, Break)> = vec![
            ("endpoint", |c| c.endpoint = "not a url".into()),
            ("endpoint", |c| c.endpoint = "http://127.0.0.1:9".into()),
            ("dcr_immutable_id", |c| {
                c.dcr_immutable_id = "/subscriptions/x/dataCollectionRules/r".into()
            }),
            ("dcr_immutable_id", |c| {
                c.dcr_immutable_id = "dcr-123".into()
            }),
            ("stream", |c| c.stream = String::new()),
            ("stream", |c| c.stream = "Custom-My Table".into()),
            ("tenant_id", |c| c.tenant_id = String::new()),
            ("tenant_id", |c| c.tenant_id = "a/b".into()),
            ("client_id", |c| c.client_id = String::new()),
            ("client_secret", |c| c.client_secret = Secret::new(" ")),
            ("authority", |c| c.authority = Some("login".into())),
            ("authority", |c| {
                c.authority = Some("http://127.0.0.1:9".into())
            }),
            ("scope", |c| c.scope = Some("a b".into())),
            ("http.max_bytes", |c| c.http.max_bytes = Some(0)),
        ];
        for (key, break_it) in cases {
            let mut c = config();
            break_it(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(e.key(), key, "{e}");
            assert!(!e.to_string().contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn records_gain_time_generated_and_text_becomes_raw_data() {
        let api = config().api().unwrap();
        let framed = |record: &[u8]| {
            let mut out = Vec::new();
            api.frame(record, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            framed(br#"{"timestamp":"2024-06-20T10:40:00.123456Z","severity":"high"}"#),
            r#"{"TimeGenerated":"2024-06-20T10:40:00.123Z","timestamp":"2024-06-20T10:40:00.123456Z","severity":"high"}"#
        );
        assert_eq!(
            framed(br#"{"TimeGenerated":"2024-06-20T10:40:00Z","x":1}"#),
            r#"{"TimeGenerated":"2024-06-20T10:40:00Z","x":1}"#
        );
        let text = framed(b"CEF:0|Acme|AppShield|1|auth.failure|Failed login|7|");
        assert!(text.starts_with(r#"{"TimeGenerated":""#), "{text}");
        assert!(
            text.ends_with(r#"","RawData":"CEF:0|Acme|AppShield|1|auth.failure|Failed login|7|"}"#),
            "{text}"
        );
        assert_eq!(
            framed(b"{}").len(),
            r#"{"TimeGenerated":"2024-06-20T10:40:00.123Z"}"#.len()
        );
    }
}
