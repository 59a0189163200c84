//! The CloudWatch Logs API as the HTTP machinery sees it: JSON 1.1 calls signed with SigV4,
//! `PutLogEvents` bodies, and what its answers mean.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::Deserialize;

use crate::chunk::Envelope;
use crate::record::time_millis;
use crate::reply::{by_status, quote, retry_after, Outcome, Verdict};
use crate::sink::Endpoint;

/// The JSON 1.1 content type of every call.
pub(crate) const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";

/// CloudWatch counts this many bytes per event on top of its message.
pub(crate) const EVENT_OVERHEAD: usize = 26;

/// The longest time one `PutLogEvents` call may span, in milliseconds.
pub(crate) const MAX_SPAN_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// Error types worth another attempt (besides 5xx, 408 and 429), which CloudWatch may send
/// with a 400 status.
pub(crate) const RETRYABLE: &[&str] = &["ThrottlingException", "ServiceUnavailableException"];

/// One CloudWatch Logs API: where it is, who signs, and which group and stream it writes.
pub(crate) struct LogsApi {
    pub url: Url,
    pub region: String,
    pub credentials: Credentials,
    pub open: Vec<u8>,
    /// Whether the sink creates the group and stream (`create_group`).
    pub create: bool,
    /// The time given to records whose own cannot be read: the time their batch is sent,
    /// set before the batch is sorted so that sorting and framing agree.
    pub batch_time: Arc<AtomicI64>,
    /// Cleared when CloudWatch says the group or stream is missing, so that the sink creates
    /// them again before the next batch.
    pub ready: Arc<AtomicBool>,
}

impl LogsApi {
    /// A signed `POST /` of the `Logs_20140328.<action>` call with `body`.
    pub fn call(&self, client: &Client, action: &str, body: Vec<u8>) -> RequestBuilder {
        self.sign(self.unsigned(client, action), action, &body)
            .body(body)
    }

    /// The `action` call's request before its body and signature.
    fn unsigned(&self, client: &Client, action: &str) -> RequestBuilder {
        client
            .post(self.url.clone())
            .header("x-amz-target", target(action))
            .header(CONTENT_TYPE, CONTENT_TYPE_JSON)
    }

    /// `request` with SigV4 headers (`x-amz-date`, `x-amz-security-token` for temporary
    /// credentials, `authorization`) over its host, content type, target and `body`.
    fn sign(&self, request: RequestBuilder, action: &str, body: &[u8]) -> RequestBuilder {
        let target = target(action);
        let headers = [
            ("content-type", CONTENT_TYPE_JSON),
            ("x-amz-target", target.as_str()),
        ];
        match signing_headers(
            &self.credentials,
            &self.region,
            self.url.as_str(),
            &headers,
            body,
            SystemTime::now(),
        ) {
            Ok(signed) => signed.into_iter().fold(request, |request, (name, value)| {
                request.header(name, value)
            }),
            // Unsigned, the request is refused by the server with a reason of its own.
            Err(_) => request,
        }
    }
}

/// The `X-Amz-Target` of an action.
fn target(action: &str) -> String {
    format!("Logs_20140328.{action}")
}

/// The SigV4 headers for a `POST` of `body` to `url` carrying `headers`, signed at `time`
/// for the `logs` service in `region`.
pub(crate) fn signing_headers(
    credentials: &Credentials,
    region: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("logs")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .map(|header| {
            let name =
                HeaderName::from_bytes(header.name().as_bytes()).map_err(|e| e.to_string())?;
            let mut value = HeaderValue::from_str(header.value()).map_err(|e| e.to_string())?;
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            Ok((name, value))
        })
        .collect()
}

/// What `PutLogEvents` says about events it refused while taking the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rejected {
    too_new_log_event_start_index: Option<usize>,
    too_old_log_event_end_index: Option<usize>,
    expired_log_event_end_index: Option<usize>,
}

impl Rejected {
    /// Why event `i` of the call was refused, if it was.
    fn reason(&self, i: usize) -> Option<&'static str> {
        if self.too_new_log_event_start_index.is_some_and(|n| i >= n) {
            Some("CloudWatch rejected the event as too new (more than 2 hours ahead)")
        } else if self.too_old_log_event_end_index.is_some_and(|m| i < m) {
            Some("CloudWatch rejected the event as too old (more than 14 days ago)")
        } else if self.expired_log_event_end_index.is_some_and(|k| i < k) {
            Some("CloudWatch rejected the event as older than the log group's retention")
        } else {
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutReply {
    rejected_log_events_info: Option<Rejected>,
}

/// An error answer: `{"__type": "…#ThrottlingException", "message": "…"}`.
#[derive(Deserialize)]
struct ErrorReply {
    #[serde(rename = "__type")]
    kind: Option<String>,
}

/// The error type of an answer, from its `x-amzn-ErrorType` header or its `__type`, without
/// the namespace (`com.amazonaws.logs#`) or the header's `:<url>` suffix.
pub(crate) fn error_type(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let from_header = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let kind = from_header.or_else(|| serde_json::from_slice::<ErrorReply>(body).ok()?.kind)?;
    let kind = kind.split(':').next().unwrap_or_default();
    Some(kind.rsplit('#').next().unwrap_or_default().to_owned())
}

impl Endpoint for LogsApi {
    fn kind(&self) -> &'static str {
        "cloudwatch"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: &self.open,
            separator: b",",
            close: b"]}",
        }
    }

    /// CloudWatch's own count: the message's bytes and 26.
    fn framed_len(&self, record: &[u8]) -> usize {
        record.len() + EVENT_OVERHEAD
    }

    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        let time = time_millis(record, self.batch_time.load(Ordering::Relaxed));
        body.extend_from_slice(b"{\"timestamp\":");
        body.extend_from_slice(time.to_string().as_bytes());
        body.extend_from_slice(b",\"message\":");
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *body, &String::from_utf8_lossy(record));
        body.push(b'}');
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        self.unsigned(client, "PutLogEvents")
    }

    fn authorize(&self, request: RequestBuilder, body: &[u8]) -> RequestBuilder {
        self.sign(request, "PutLogEvents", body)
    }

    fn same_request(&self, first: &[u8], record: &[u8]) -> bool {
        let fallback = self.batch_time.load(Ordering::Relaxed);
        time_millis(record, fallback) - time_millis(first, fallback) <= MAX_SPAN_MILLIS
    }

    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        if status.is_success() {
            let rejected = serde_json::from_slice::<PutReply>(body)
                .ok()
                .and_then(|r| r.rejected_log_events_info);
            return match rejected {
                Some(rejected) => Verdict::Each(
                    (0..records)
                        .map(|i| match rejected.reason(i) {
                            Some(reason) => Outcome::Reject {
                                status: Some(status.as_u16()),
                                reason: reason.to_owned(),
                            },
                            None => Outcome::Delivered,
                        })
                        .collect(),
                ),
                None => Verdict::All(Outcome::Delivered),
            };
        }
        let kind = error_type(headers, body).unwrap_or_default();
        let missing = kind == "ResourceNotFoundException";
        if missing && self.create {
            self.ready.store(false, Ordering::Relaxed);
        }
        if RETRYABLE.contains(&kind.as_str()) || (missing && self.create) {
            return Verdict::All(Outcome::Retry {
                reason: format!("HTTP {status}: {}", quote(body)),
                after: retry_after(headers),
            });
        }
        Verdict::All(by_status(status, headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_ranges_follow_the_documented_bounds() {
        let r: Rejected = serde_json::from_str(
            r#"{"tooOldLogEventEndIndex":2,"tooNewLogEventStartIndex":4,"expiredLogEventEndIndex":1}"#,
        )
        .unwrap();
        let refused: Vec<bool> = (0..6).map(|i| r.reason(i).is_some()).collect();
        assert_eq!(refused, [true, true, false, false, true, true]);
    }

    #[test]
    fn error_types_drop_their_namespace() {
        let body =
            br#"{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}"#;
        assert_eq!(
            error_type(&HeaderMap::new(), body).as_deref(),
            Some("ThrottlingException")
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-amzn-errortype",
            HeaderValue::from_static("ResourceNotFoundException:http://internal.amazon.com/"),
        );
        assert_eq!(
            error_type(&h, b"").as_deref(),
            Some("ResourceNotFoundException")
        );
    }

    #[test]
    fn signatures_cover_host_content_type_date_and_target() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_718_880_000);
        let signed = signing_headers(
            &credentials,
            "eu-west-1",
            "https://logs.eu-west-1.amazonaws.com/",
            &[
                ("content-type", CONTENT_TYPE_JSON),
                ("x-amz-target", "Logs_20140328.PutLogEvents"),
            ],
            b"{}",
            time,
        )
        .unwrap();
        let get = |name: &str| {
            signed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("no {name} in {signed:?}"))
        };
        assert_eq!(get("x-amz-date"), "20240620T104000Z");
        assert_eq!(get("x-amz-security-token"), "session");
        let authorization = get("authorization");
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240620/eu-west-1/logs/aws4_request, \
                      SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
                      Signature=";
        assert!(authorization.starts_with(prefix), "{authorization}");
        let signature = &authorization[prefix.len()..];
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        // The signature covers the body.
        let other = signing_headers(
            &credentials,
            "eu-west-1",
            "https://logs.eu-west-1.amazonaws.com/",
            &[
                ("content-type", CONTENT_TYPE_JSON),
                ("x-amz-target", "Logs_20140328.PutLogEvents"),
            ],
            b"{ }",
            time,
        )
        .unwrap();
        assert!(other
            .iter()
            .all(|(_, v)| v.to_str().unwrap() != authorization));
    }
}
