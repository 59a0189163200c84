//! `type: cloudwatch` — AWS CloudWatch Logs `PutLogEvents`, signed with SigV4.
//!
//! ```yaml
//! - type: cloudwatch
//!   region: eu-west-1
//!   log_group: /acme/appshield/security
//!   log_stream: web01
//!   create_group: true            # CreateLogGroup + CreateLogStream before the first batch
//!   # credentials: these keys, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
//!   # else the profile AWS_PROFILE (or `profile:`, or `default`) of ~/.aws/credentials
//!   access_key_id: ${AWS_ACCESS_KEY_ID}
//!   secret_access_key: ${AWS_SECRET_ACCESS_KEY}
//!   format: json
//! ```
//!
//! Each record becomes one log event whose `message` is the record in the destination's
//! format and whose `timestamp` is the record's own (`timestamp`/`@timestamp` of the JSON and
//! ECS formats, `time` of OCSF), or the time its batch is sent for the text formats. A batch
//! is sorted by timestamp and split before sending within CloudWatch's limits: 1,048,576 bytes
//! counting 26 bytes per event on top of its message, 10,000 events, 262,118 bytes of message
//! (256 KiB with the 26), and 24 hours between the first and last event of a call. Events
//! CloudWatch refuses (`rejectedLogEventsInfo`: too new, too old, expired) are dead-lettered
//! and the rest count as delivered; `ThrottlingException`, `ServiceUnavailableException`,
//! 408, 429 and 5xx are retried; other errors dead-letter the call's events.

mod api;
mod credentials;
mod stream;

use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use siem_format::{Format, FormatOptions};
use siem_ship::sink::{Sink, SinkConfig};
use siem_ship::ConfigError;

use crate::chunk::Limits;
use crate::options::{check_url, Compression, HttpOptions};
use crate::sink::{HttpSink, SinkSettings};
use crate::Secret;
use api::{LogsApi, EVENT_OVERHEAD};
use credentials::Environment;
use stream::LogStreamSink;

/// CloudWatch's documented limits for one `PutLogEvents` call (an event's 26 bytes of
/// overhead included in `max_bytes`, not in `max_entry_bytes`).
const DEFAULT_LIMITS: Limits = Limits {
    max_bytes: 1_048_576,
    max_entries: 10_000,
    max_entry_bytes: 262_144 - EVENT_OVERHEAD,
};

/// The longest log group and log stream names.
const MAX_NAME_CHARS: usize = 512;

/// Settings of a CloudWatch Logs destination (`type: cloudwatch`).
///
/// ```
/// use siem_http::cloudwatch::CloudWatchConfig;
/// use siem_ship::sink::SinkConfig;
/// let c: CloudWatchConfig = serde_json::from_str(r#"{
///     "region": "eu-west-1", "log_group": "/acme/security", "log_stream": "web01",
///     "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI"
/// }"#).unwrap();
/// assert!(c.validate().is_ok());
/// assert!(!format!("{c:?}").contains("wJalrXUtnFEMI"));
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CloudWatchConfig {
    /// The AWS region (`eu-west-1`).
    pub region: String,
    /// Sends to this URL instead of `https://logs.<region>.amazonaws.com` (a VPC endpoint, a
    /// local emulator).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The log group (1 to 512 of `A-Z a-z 0-9 . - _ / #`).
    pub log_group: String,
    /// The log stream (1 to 512 characters, no `:` or `*`).
    pub log_stream: String,
    /// Creates the log group and the log stream before the first batch, and again when
    /// CloudWatch says they are missing (existing ones are fine).
    #[serde(default)]
    pub create_group: bool,
    /// The access key id; with `secret_access_key`, overrides the environment and the file.
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    /// The secret access key.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// The session token of temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// The profile of the shared credentials file to use (default `AWS_PROFILE`, else
    /// `default`); set, it is used rather than the environment's keys.
    #[serde(default)]
    pub profile: Option<String>,
    /// Timeouts, requests in flight, limits, the dead-letter file and `allow_insecure_http`
    /// (compression: none; CloudWatch takes none).
    #[serde(default)]
    pub http: HttpOptions,
}

impl CloudWatchConfig {
    /// A destination writing `log_stream` of `log_group` in `region`, with credentials from
    /// the environment or the shared credentials file.
    ///
    /// ```
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01");
    /// assert!(!c.create_group);
    /// ```
    pub fn new(
        region: impl Into<String>,
        log_group: impl Into<String>,
        log_stream: impl Into<String>,
    ) -> CloudWatchConfig {
        CloudWatchConfig {
            region: region.into(),
            endpoint: None,
            log_group: log_group.into(),
            log_stream: log_stream.into(),
            create_group: false,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            profile: None,
            http: HttpOptions::default(),
        }
    }

    /// Sets `endpoint`: sends to this URL instead of `https://logs.<region>.amazonaws.com`
    /// (a VPC endpoint, a local emulator).
    ///
    /// ```
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01")
    ///     .endpoint("https://vpce-0123.logs.eu-west-1.vpce.amazonaws.com");
    /// assert_eq!(c.endpoint.as_deref(), Some("https://vpce-0123.logs.eu-west-1.vpce.amazonaws.com"));
    /// ```
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> CloudWatchConfig {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets `create_group`: creates the log group and stream before the first batch, and
    /// again when CloudWatch says they are missing.
    ///
    /// ```
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01").create_group(true);
    /// assert!(c.create_group);
    /// ```
    pub fn create_group(mut self, create_group: bool) -> CloudWatchConfig {
        self.create_group = create_group;
        self
    }

    /// Sets `access_key_id`: with `secret_access_key`, overrides the environment and the file.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01")
    ///     .access_key_id(Secret::new("AKIDEXAMPLE"));
    /// assert_eq!(c.access_key_id.unwrap().expose(), "AKIDEXAMPLE");
    /// ```
    pub fn access_key_id(mut self, access_key_id: Secret) -> CloudWatchConfig {
        self.access_key_id = Some(access_key_id);
        self
    }

    /// Sets `secret_access_key`: the secret access key.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01")
    ///     .secret_access_key(Secret::new("wJalrXUtnFEMI"));
    /// assert_eq!(c.secret_access_key.unwrap().expose(), "wJalrXUtnFEMI");
    /// ```
    pub fn secret_access_key(mut self, secret_access_key: Secret) -> CloudWatchConfig {
        self.secret_access_key = Some(secret_access_key);
        self
    }

    /// Sets `session_token`: the session token of temporary credentials.
    ///
    /// ```
    /// use siem_http::Secret;
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01")
    ///     .session_token(Secret::new("FwoGZXIvYXdzE"));
    /// assert_eq!(c.session_token.unwrap().expose(), "FwoGZXIvYXdzE");
    /// ```
    pub fn session_token(mut self, session_token: Secret) -> CloudWatchConfig {
        self.session_token = Some(session_token);
        self
    }

    /// Sets `profile`: the profile of the shared credentials file to use.
    ///
    /// ```
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01").profile("ops");
    /// assert_eq!(c.profile.as_deref(), Some("ops"));
    /// ```
    pub fn profile(mut self, profile: impl Into<String>) -> CloudWatchConfig {
        self.profile = Some(profile.into());
        self
    }

    /// Sets `http`: timeouts, requests in flight, limits, the dead-letter file and
    /// `allow_insecure_http` (compression: none).
    ///
    /// ```
    /// use siem_http::HttpOptions;
    /// use siem_http::cloudwatch::CloudWatchConfig;
    /// let c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01")
    ///     .http(HttpOptions::default().max_in_flight(1));
    /// assert_eq!(c.http.max_in_flight, 1);
    /// ```
    pub fn http(mut self, http: HttpOptions) -> CloudWatchConfig {
        self.http = http;
        self
    }

    /// Checks every key but the credentials.
    fn check_keys(&self) -> Result<Url, ConfigError> {
        self.http.validate()?;
        if self.http.compression == Some(Compression::Gzip) {
            return Err(ConfigError::invalid(
                "http.compression",
                "CloudWatch Logs takes uncompressed bodies; use none",
            ));
        }
        check_region(&self.region)?;
        check_name("log_group", &self.log_group, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
        })?;
        check_name("log_stream", &self.log_stream, |c| !matches!(c, ':' | '*'))?;
        match &self.endpoint {
            Some(url) => check_url(url, true, self.http.allow_insecure_http)
                .map_err(|e| ConfigError::invalid("endpoint", e.reason())),
            None => {
                let domain = if self.region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                Url::parse(&format!("https://logs.{}.{domain}/", self.region))
                    .map_err(|e| ConfigError::invalid("region", e.to_string()))
            }
        }
    }

    fn api(&self) -> Result<LogsApi, ConfigError> {
        let url = self.check_keys()?;
        let credentials = credentials::resolve(self, &Environment::process())?;
        let mut open = b"{\"logGroupName\":".to_vec();
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut open, &self.log_group);
        open.extend_from_slice(b",\"logStreamName\":");
        let _ = serde_json::to_writer(&mut open, &self.log_stream);
        open.extend_from_slice(b",\"logEvents\":[");
        Ok(LogsApi {
            url,
            region: self.region.clone(),
            credentials,
            open,
            create: self.create_group,
            batch_time: Arc::new(AtomicI64::new(0)),
            ready: Arc::new(AtomicBool::new(!self.create_group)),
        })
    }
}

fn check_region(region: &str) -> Result<(), ConfigError> {
    let well_formed = (1..=32).contains(&region.len())
        && region.contains('-')
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region.ends_with(|c: char| c.is_ascii_digit())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if well_formed {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "region",
            format!("{region:?} is not an AWS region name such as eu-west-1"),
        ))
    }
}

fn check_name(key: &str, name: &str, allowed: impl Fn(char) -> bool) -> Result<(), ConfigError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ConfigError::invalid(
            key,
            format!("must be 1 to {MAX_NAME_CHARS} characters long"),
        ));
    }
    match name.chars().find(|&c| !allowed(c) || c.is_control()) {
        Some(c) => Err(ConfigError::invalid(
            key,
            format!("{c:?} is not allowed in a CloudWatch name"),
        )),
        None => Ok(()),
    }
}

impl SinkConfig for CloudWatchConfig {
    fn type_name(&self) -> &'static str {
        "cloudwatch"
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
        let api = self.api()?;
        let batch_time = Arc::clone(&api.batch_time);
        let ready = Arc::clone(&api.ready);
        let inner = HttpSink::new(
            api,
            SinkSettings {
                http: &self.http,
                default_limits: DEFAULT_LIMITS,
                default_compression: Compression::None,
            },
        )?;
        Ok(Box::new(LogStreamSink::new(
            inner,
            batch_time,
            ready,
            self.log_group.clone(),
            self.log_stream.clone(),
        )))
    }

    /// Calls `DescribeLogStreams` for the stream once; refused credentials, a missing group
    /// and server errors are failures.
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        let api = self.api().map_err(|e| e.to_string())?;
        let body = serde_json::json!({
            "logGroupName": self.log_group,
            "logStreamNamePrefix": self.log_stream,
            "limit": 1,
        });
        let answer = crate::transport::probe(&self.http, timeout, |client| {
            api.call(client, "DescribeLogStreams", body.to_string().into_bytes())
        })?;
        if answer.starts_with("HTTP 4") {
            Err(answer)
        } else {
            Ok(answer)
        }
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CloudWatchConfig {
        let mut c = CloudWatchConfig::new("eu-west-1", "/acme/security", "web01");
        c.access_key_id = Some(Secret::new("AKIDEXAMPLE"));
        c.secret_access_key = Some(Secret::new("secret"));
        c
    }

    #[test]
    fn every_key_is_checked() {
        assert!(config().validate().is_ok());
        type Break = fn(&mut CloudWatchConfig);
        let cases: Vec<(&str, Break)> = vec![
            ("region", |c| c.region = "Europe".into()),
            ("region", |c| c.region = "eu-west-1; rm".into()),
            ("log_group", |c| c.log_group = String::new()),
            ("log_group", |c| c.log_group = "a group".into()),
            ("log_group", |c| c.log_group = "g".repeat(513)),
            ("log_stream", |c| c.log_stream = "web:01".into()),
            ("log_stream", |c| c.log_stream = "*".into()),
            ("endpoint", |c| c.endpoint = Some("not a url".into())),
            ("endpoint", |c| {
                c.endpoint = Some("http://127.0.0.1:4566".into())
            }),
            ("http.compression", |c| {
                c.http.compression = Some(Compression::Gzip)
            }),
            ("http.max_entries", |c| c.http.max_entries = Some(0)),
            ("secret_access_key", |c| c.secret_access_key = None),
            ("access_key_id", |c| c.access_key_id = None),
        ];
        for (key, break_it) in cases {
            let mut c = config();
            break_it(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(e.key(), key, "{e}");
        }
        let mut c = config();
        c.endpoint = Some("http://127.0.0.1:4566".into());
        c.http.allow_insecure_http = true;
        assert!(c.validate().is_ok());
        c.log_stream = "web 01/#x".into();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn the_default_endpoint_follows_the_region() {
        assert_eq!(
            config().check_keys().unwrap().as_str(),
            "https://logs.eu-west-1.amazonaws.com/"
        );
        let mut c = config();
        c.region = "cn-north-1".into();
        assert_eq!(
            c.check_keys().unwrap().as_str(),
            "https://logs.cn-north-1.amazonaws.com.cn/"
        );
    }
}
