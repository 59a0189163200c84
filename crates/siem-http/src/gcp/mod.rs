//! `type: gcp_logging` — Google Cloud Logging `entries.write`
//! (`POST https://logging.googleapis.com/v2/entries:write`), authenticated with a
//! service-account key.
//!
//! ```yaml
//! - type: gcp_logging
//!   log_name: appshield/security              # the LOG_ID; sent URL-encoded in logName
//!   project_id: acme-prod                     # default: the key file's project_id
//!   credentials_path: /etc/siem/gcp-key.json  # default: GOOGLE_APPLICATION_CREDENTIALS
//!   labels: { env: prod }
//!   format: json
//! ```
//!
//! The key signs an RS256 JWT assertion (`iss` the account, `scope` logging.write, `aud` the
//! key's `token_uri`), exchanged for an access token that is reused until five minutes before
//! it expires, and fetched again after a 401. Each record is one `LogEntry`: a JSON record (the
//! JSON, ECS and OCSF formats) is its `jsonPayload`, with `severity`, `timestamp` and
//! `insertId` read from it; another is its `textPayload`. Requests set `partialSuccess`: the
//! entries an answer lists as not written are retried (UNAVAILABLE, RESOURCE_EXHAUSTED,
//! INTERNAL, ABORTED, DEADLINE_EXCEEDED) or dead-lettered (the other codes), the rest count as
//! delivered. Batches are split before sending at 10 MB per request, 1000 entries, and a record
//! of more than 250,000 bytes (an entry is limited to 256 KB with its own fields) is
//! dead-lettered, never sent.

mod api;
mod key;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::Limits;
use crate::oauth::TokenCache;
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{Endpoint, HttpSink, SinkSettings};
use api::EntriesApi;
use key::ServiceAccount;

/// Where entries go unless `endpoint` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://logging.googleapis.com/v2/entries:write";

/// The environment variable naming the key file when `credentials_path` is not set.
pub const CREDENTIALS_VARIABLE: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// Cloud Logging's limits: 10 MB per request; an entry of 256 KB with its own fields, so a
/// record of 250,000 bytes; 1000 entries, the client libraries' batch size (the API states
/// only the byte limits).
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 10_000_000,
    max_entries: 1000,
    max_entry_bytes: 250_000,
};

/// The longest log id (fewer than 512 characters).
const MAX_LOG_ID_CHARS: usize = 511;

/// The most labels on an entry.
const MAX_LABELS: usize = 64;

/// The monitored resource entries are written for (`{"type": "global"}` by default).
///
/// ```
/// use siem_http::gcp::MonitoredResource;
/// let r: MonitoredResource = serde_json::from_str(
///     r#"{"type": "generic_node", "labels": {"location": "europe-west1", "node_id": "web01"}}"#,
/// ).unwrap();
/// assert_eq!(r.kind, "generic_node");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MonitoredResource {
    /// The resource type (`global`, `generic_node`, `gce_instance`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's labels; `project_id` is added when missing.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl MonitoredResource {
    /// A resource of type `kind` without labels.
    ///
    /// ```
    /// use siem_http::gcp::MonitoredResource;
    /// assert!(MonitoredResource::new("global").labels.is_empty());
    /// ```
    pub fn new(kind: impl Into<String>) -> MonitoredResource {
        MonitoredResource {
            kind: kind.into(),
            labels: BTreeMap::new(),
        }
    }
}

/// Settings of a Google Cloud Logging destination (`type: gcp_logging`).
///
/// ```
/// use siem_http::gcp::GcpLoggingConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: GcpLoggingConfig = serde_json::from_str(
///     r#"{"log_name": "appshield/security", "credentials_path": "/nonexistent/key.json"}"#,
/// ).unwrap();
/// // `siem check` reads the key file.
/// assert_eq!(c.validate().unwrap_err().key(), "credentials_path");
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GcpLoggingConfig {
    /// The log id (`LOG_ID` of `projects/P/logs/LOG_ID`): fewer than 512 of `A-Z a-z 0-9 / _ - .`.
    pub log_name: String,
    /// The project written to (default: the key file's `project_id`).
    #[serde(default)]
    pub project_id: Option<String>,
    /// The service-account JSON key file (default: the file `GOOGLE_APPLICATION_CREDENTIALS`
    /// names).
    #[serde(default)]
    pub credentials_path: Option<PathBuf>,
    /// Sends to this URL instead of [`DEFAULT_ENDPOINT`] (a private endpoint, a proxy).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The monitored resource (default `global` with the project's `project_id`).
    #[serde(default)]
    pub resource: Option<MonitoredResource>,
    /// Labels of every entry.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Timeouts, requests in flight, compression (default none), limits, the dead-letter file
    /// and `allow_insecure_http` (which also covers the key's `token_uri`).
    #[serde(default)]
    pub http: HttpOptions,
}

impl GcpLoggingConfig {
    /// A destination writing the log `log_name`, with the key `GOOGLE_APPLICATION_CREDENTIALS`
    /// names and its project.
    ///
    /// ```
    /// use siem_http::gcp::GcpLoggingConfig;
    /// let c = GcpLoggingConfig::new("appshield/security");
    /// assert_eq!(c.log_name, "appshield/security");
    /// ```
    pub fn new(log_name: impl Into<String>) -> GcpLoggingConfig {
        GcpLoggingConfig {
            log_name: log_name.into(),
            project_id: None,
            credentials_path: None,
            endpoint: None,
            resource: None,
            labels: BTreeMap::new(),
            http: HttpOptions::default(),
        }
    }

    /// Sets `project_id`: the project written to (default: the key file's `project_id`).
    ///
    /// ```
    /// use siem_http::gcp::GcpLoggingConfig;
    /// let c = GcpLoggingConfig::new("security").project_id("acme-prod");
    /// assert_eq!(c.project_id.as_deref(), Some("acme-prod"));
    /// ```
    pub fn project_id(mut self, project_id: impl Into<String>) -> GcpLoggingConfig {
        self.project_id = Some(project_id.into());
        self
    }

    /// Sets `credentials_path`: the service-account JSON key file.
    ///
    /// ```
    /// use siem_http::gcp::GcpLoggingConfig;
    /// let c = GcpLoggingConfig::new("security").credentials_path("/etc/siem/key.json");
    /// assert_eq!(c.credentials_path, Some("/etc/siem/key.json".into()));
    /// ```
    pub fn credentials_path(mut self, path: impl Into<PathBuf>) -> GcpLoggingConfig {
        self.credentials_path = Some(path.into());
        self
    }

    /// Sets `endpoint`: sends to this URL instead of [`DEFAULT_ENDPOINT`].
    ///
    /// ```
    /// use siem_http::gcp::GcpLoggingConfig;
    /// let c = GcpLoggingConfig::new("security").endpoint("https://logging.example.internal/v2/entries:write");
    /// assert!(c.endpoint.is_some());
    /// ```
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> GcpLoggingConfig {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets `resource`: the monitored resource (default `global`).
    ///
    /// ```
    /// use siem_http::gcp::{GcpLoggingConfig, MonitoredResource};
    /// let c = GcpLoggingConfig::new("security").resource(MonitoredResource::new("generic_node"));
    /// assert_eq!(c.resource.unwrap().kind, "generic_node");
    /// ```
    pub fn resource(mut self, resource: MonitoredResource) -> GcpLoggingConfig {
        self.resource = Some(resource);
        self
    }

    /// Sets `labels`: labels of every entry.
    ///
    /// ```
    /// use siem_http::gcp::GcpLoggingConfig;
    /// let c = GcpLoggingConfig::new("security").labels([("env", "prod")]);
    /// assert_eq!(c.labels["env"], "prod");
    /// ```
    pub fn labels(
        mut self,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> GcpLoggingConfig {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets `http`: timeouts, requests in flight, compression, limits, the dead-letter file
    /// and `allow_insecure_http`.
    ///
    /// ```
    /// use siem_http::{gcp::GcpLoggingConfig, HttpOptions};
    /// let c = GcpLoggingConfig::new("security").http(HttpOptions::default().max_in_flight(2));
    /// assert_eq!(c.http.max_in_flight, 2);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> GcpLoggingConfig {
        self.http = http;
        self
    }

    /// Checks every key and reads the key file, with `variable` reading the environment.
    fn api(&self, variable: impl Fn(&str) -> Option<OsString>) -> Result<EntriesApi, ConfigError> {
        self.http.validate()?;
        check_log_id(&self.log_name)?;
        let url = match &self.endpoint {
            Some(url) => check_url(url, true, self.http.allow_insecure_http)
                .map_err(|e| ConfigError::invalid("endpoint", e.reason()))?,
            None => Url::parse(DEFAULT_ENDPOINT)
                .map_err(|e| ConfigError::invalid("endpoint", e.to_string()))?,
        };
        for (key, value) in &self.labels {
            if key.is_empty() || key.len() > 512 || value.len() > 64 << 10 {
                return Err(ConfigError::invalid(
                    format!("labels.{key}"),
                    "a label key is 1 to 512 bytes, its value at most 64 KiB",
                ));
            }
        }
        if self.labels.len() > MAX_LABELS {
            return Err(ConfigError::invalid(
                "labels",
                format!("at most {MAX_LABELS} labels"),
            ));
        }
        if let Some(resource) = &self.resource {
            if resource.kind.trim().is_empty() {
                return Err(ConfigError::invalid("resource.type", "must not be empty"));
            }
        }
        let (path, key) = match &self.credentials_path {
            Some(path) => (path.clone(), "credentials_path"),
            None => match variable(CREDENTIALS_VARIABLE).filter(|v| !v.is_empty()) {
                Some(path) => (PathBuf::from(path), "credentials_path"),
                None => {
                    return Err(ConfigError::invalid(
                        "credentials_path",
                        format!(
                            "no service-account key: set credentials_path or \
                             {CREDENTIALS_VARIABLE} to the JSON key file"
                        ),
                    ))
                }
            },
        };
        let account = ServiceAccount::read(&path, key, self.http.allow_insecure_http)?;
        let project = match self.project_id.as_deref().or(account.project_id.as_deref()) {
            Some(p) => p.to_owned(),
            None => {
                return Err(ConfigError::invalid(
                    "project_id",
                    "not set, and the key file names no project_id",
                ))
            }
        };
        if project.is_empty()
            || !project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        {
            return Err(ConfigError::invalid(
                "project_id",
                format!("{project:?} is not a Google Cloud project id"),
            ));
        }
        Ok(EntriesApi {
            url,
            open: self.open(&project),
            tokens: TokenCache::new(account),
        })
    }

    /// The request up to its first entry.
    fn open(&self, project: &str) -> Vec<u8> {
        let mut resource = self
            .resource
            .clone()
            .unwrap_or_else(|| MonitoredResource::new("global"));
        resource
            .labels
            .entry("project_id".to_owned())
            .or_insert_with(|| project.to_owned());
        let log_name = format!(
            "projects/{project}/logs/{}",
            self.log_name.replace('/', "%2F")
        );
        // Writing into a Vec cannot fail.
        let mut open = b"{\"logName\":".to_vec();
        let _ = serde_json::to_writer(&mut open, &log_name);
        open.extend_from_slice(b",\"resource\":");
        let _ = serde_json::to_writer(&mut open, &resource);
        if !self.labels.is_empty() {
            open.extend_from_slice(b",\"labels\":");
            let _ = serde_json::to_writer(&mut open, &self.labels);
        }
        open.extend_from_slice(b",\"partialSuccess\":true,\"entries\":[");
        open
    }
}

/// Checks a log id: fewer than 512 of `A-Z a-z 0-9 / _ - .`.
fn check_log_id(id: &str) -> Result<(), ConfigError> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_LOG_ID_CHARS {
        return Err(ConfigError::invalid(
            "log_name",
            format!("must be 1 to {MAX_LOG_ID_CHARS} characters long"),
        ));
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.')))
    {
        Some(c) => Err(ConfigError::invalid(
            "log_name",
            format!("{c:?} is not allowed in a log id (A-Z a-z 0-9 / _ - .)"),
        )),
        None => Ok(()),
    }
}

impl SinkConfig for GcpLoggingConfig {
    fn type_name(&self) -> &'static str {
        "gcp_logging"
    }

    fn settings(&self) -> serde_json::Value {
        siem_ship::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.api(|name| std::env::var_os(name)).map(drop)
    }

    fn accepts(&self, _: Format, _: &FormatOptions) -> Result<(), String> {
        Ok(())
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        let sink = HttpSink::new(
            self.api(|name| std::env::var_os(name))?,
            SinkSettings {
                http: &self.http,
                default_limits: DEFAULT_LIMITS,
                default_compression: Compression::None,
            },
        )?;
        Ok(Box::new(sink))
    }

    /// Fetches a token, then writes one entry with `dryRun` (checked, not stored).
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let api = self
            .api(|name| std::env::var_os(name))
            .map_err(|e| e.to_string())?;
        let mut body = api.open.clone();
        api.frame(b"tracing-siem probe", &mut body);
        body.extend_from_slice(b"],\"dryRun\":true}");
        crate::oauth::probe(&self.http, timeout, &api.tokens, |client| {
            api.post(client).body(body)
        })
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/test-only-rsa-key.pem");

    fn key_file(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("key.json");
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "acme-sec",
            "private_key": KEY,
            "client_email": "shipper@acme-sec.iam.gserviceaccount.com",
        });
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    #[test]
    fn every_key_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = GcpLoggingConfig::new("appshield/security").credentials_path(key_file(&dir));
        assert!(good.api(|_| None).is_ok());
        type Break = fn(&mut GcpLoggingConfig);
        let cases: Vec<(&str, Break)> = vec![
            ("log_name", |c| c.log_name = String::new()),
            ("log_name", |c| c.log_name = "a log".into()),
            ("log_name", |c| c.log_name = "x".repeat(512)),
            ("project_id", |c| c.project_id = Some("acme/prod".into())),
            ("endpoint", |c| c.endpoint = Some("not a url".into())),
            ("endpoint", |c| {
                c.endpoint = Some("http://127.0.0.1:9/v2/entries:write".into())
            }),
            ("credentials_path", |c| {
                c.credentials_path = Some("/nonexistent/key.json".into())
            }),
            ("credentials_path", |c| c.credentials_path = None),
            ("resource.type", |c| {
                c.resource = Some(MonitoredResource::new(" "))
            }),
            ("labels.", |c| {
                c.labels.insert(String::new(), "x".into());
            }),
            ("http.timeout", |c| c.http.timeout = Duration::ZERO),
        ];
        for (key, break_it) in cases {
            let mut c = good.clone();
            break_it(&mut c);
            let e = c.api(|_| None).err().unwrap();
            assert_eq!(e.key(), key, "{e}");
        }
    }

    #[test]
    fn the_key_file_comes_from_the_environment_when_not_configured() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file(&dir);
        let c = GcpLoggingConfig::new("security");
        let api = c
            .api(|name| (name == CREDENTIALS_VARIABLE).then(|| path.clone().into()))
            .unwrap();
        let open = String::from_utf8(api.open).unwrap();
        assert_eq!(
            open,
            r#"{"logName":"projects/acme-sec/logs/security","resource":{"type":"global","labels":{"project_id":"acme-sec"}},"partialSuccess":true,"entries":["#
        );
        let e = c.api(|_| None).err().unwrap();
        assert!(e.to_string().contains(CREDENTIALS_VARIABLE), "{e}");
    }

    #[test]
    fn log_ids_are_url_encoded_and_the_project_can_be_overridden() {
        let dir = tempfile::tempdir().unwrap();
        let c = GcpLoggingConfig::new("appshield/security")
            .credentials_path(key_file(&dir))
            .project_id("other-proj");
        let open = String::from_utf8(c.api(|_| None).unwrap().open).unwrap();
        assert!(
            open.contains(r#""logName":"projects/other-proj/logs/appshield%2Fsecurity""#),
            "{open}"
        );
        assert!(open.contains(r#""project_id":"other-proj""#), "{open}");
    }
}
