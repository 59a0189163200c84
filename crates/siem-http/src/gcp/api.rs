//! `entries.write` as the HTTP machinery sees it: the request around the entries, one entry per
//! record, and what an answer (a partial success included) means for each entry.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use siem_event::{Severity, Timestamp};

use super::key::ServiceAccount;
use crate::chunk::Envelope;
use crate::oauth::{Bearer, TokenCache};
use crate::record;
use crate::reply::{by_status, quote, retry_after, Outcome, Verdict};
use crate::sink::Endpoint;

/// The `@type` of the error detail listing the entries a partial success did not write.
const PARTIAL_ERRORS: &str = "type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors";

/// `google.rpc.Code`s worth another attempt for an entry: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
/// ABORTED, INTERNAL, UNAVAILABLE.
const RETRYABLE_CODES: &[i32] = &[4, 8, 10, 13, 14];

/// Cloud Logging's `LogSeverity` name for ours.
pub(crate) fn log_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "INFO",
        Severity::Low => "NOTICE",
        Severity::Medium => "WARNING",
        Severity::High => "ERROR",
        Severity::Critical => "CRITICAL",
        // A severity added later is sent as WARNING until it is given its own name.
        _ => "WARNING",
    }
}

/// The `entries.write` API of one log.
pub(crate) struct EntriesApi {
    pub url: Url,
    /// The request up to its first entry: `logName`, `resource`, `labels`, `partialSuccess`.
    pub open: Vec<u8>,
    pub tokens: TokenCache<ServiceAccount>,
}

impl EntriesApi {
    /// The request before its body.
    pub fn post(&self, client: &Client) -> RequestBuilder {
        client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
    }
}

/// The error answer of a failed or partly failed call.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

/// A `google.rpc.Status` of one entry.
#[derive(Deserialize)]
struct EntryStatus {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    message: String,
}

/// The per-entry errors of a partial success, by index in the request, if the answer has them.
fn partial_errors(body: &[u8]) -> Option<HashMap<usize, EntryStatus>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Partial {
        log_entry_errors: HashMap<String, EntryStatus>,
    }
    let answer: ErrorAnswer = serde_json::from_slice(body).ok()?;
    let detail = answer
        .error
        .details
        .into_iter()
        .find(|d| d.get("@type").and_then(|t| t.as_str()) == Some(PARTIAL_ERRORS))?;
    let partial: Partial = serde_json::from_value(detail).ok()?;
    let mut errors = HashMap::with_capacity(partial.log_entry_errors.len());
    for (index, status) in partial.log_entry_errors {
        errors.insert(index.parse().ok()?, status);
    }
    Some(errors)
}

impl Endpoint for EntriesApi {
    fn kind(&self) -> &'static str {
        "gcp_logging"
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            open: &self.open,
            separator: b",",
            close: b"]}",
        }
    }

    fn framed_len(&self, record: &[u8]) -> usize {
        let mut framed = Vec::with_capacity(record.len() + 160);
        self.frame(record, &mut framed);
        framed.len()
    }

    /// `{"severity":…,"timestamp":…,"insertId":…,"jsonPayload":<record>}` for a JSON record
    /// (what it lacks left out, for Cloud Logging to default), `{"textPayload":…}` for others.
    fn frame(&self, record: &[u8], body: &mut Vec<u8>) {
        body.push(b'{');
        // Writing strings into a Vec cannot fail.
        match record::read(record) {
            Some(marks) => {
                if let Some(severity) = marks.severity {
                    body.extend_from_slice(b"\"severity\":\"");
                    body.extend_from_slice(log_severity(severity).as_bytes());
                    body.extend_from_slice(b"\",");
                }
                if let Some(millis) = marks.time_millis {
                    body.extend_from_slice(b"\"timestamp\":\"");
                    Timestamp::from_unix_millis(millis).write_rfc3339_millis(body);
                    body.extend_from_slice(b"\",");
                }
                if let Some(id) = &marks.id {
                    body.extend_from_slice(b"\"insertId\":");
                    let _ = serde_json::to_writer(&mut *body, id);
                    body.push(b',');
                }
                body.extend_from_slice(b"\"jsonPayload\":");
                body.extend_from_slice(record.trim_ascii());
            }
            None => {
                body.extend_from_slice(b"\"textPayload\":");
                let _ = serde_json::to_writer(&mut *body, &String::from_utf8_lossy(record));
            }
        }
        body.push(b'}');
    }

    fn request(&self, client: &Client) -> RequestBuilder {
        self.post(client)
    }

    fn bearer(&self) -> Option<&dyn Bearer> {
        Some(&self.tokens)
    }

    /// 2xx: every entry written. A partial success names the entries it did not write, each
    /// with a `google.rpc.Status`: unavailable, exhausted and internal ones are retried, the
    /// others dead-lettered, the rest delivered. Otherwise the status decides for all.
    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        if status.is_success() {
            return Verdict::All(Outcome::Delivered);
        }
        let Some(errors) = partial_errors(body) else {
            return Verdict::All(by_status(status, headers, body));
        };
        Verdict::Each(
            (0..records)
                .map(|i| match errors.get(&i) {
                    None => Outcome::Delivered,
                    Some(e) => {
                        let reason = format!(
                            "Cloud Logging did not write the entry: code {}: {}",
                            e.code,
                            quote(e.message.as_bytes())
                        );
                        if RETRYABLE_CODES.contains(&e.code) {
                            Outcome::Retry {
                                reason,
                                after: retry_after(headers),
                            }
                        } else {
                            Outcome::Reject {
                                status: Some(status.as_u16()),
                                reason,
                            }
                        }
                    }
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_errors_are_read_by_index() {
        let body = br#"{"error":{"code":400,"message":"Log entry with size 300K exceeds maximum size","status":"INVALID_ARGUMENT","details":[
            {"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"x"},
            {"@type":"type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors",
             "logEntryErrors":{"1":{"code":3,"message":"too large"},"3":{"code":14}}}]}}"#;
        let errors = partial_errors(body).unwrap();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            (errors[&1].code, errors[&1].message.as_str()),
            (3, "too large")
        );
        assert_eq!(errors[&3].code, 14);
        assert!(partial_errors(br#"{"error":{"code":403,"message":"denied"}}"#).is_none());
        assert!(partial_errors(b"<html>").is_none());
        let bad_index = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors","logEntryErrors":{"x":{"code":3}}}]}}"#;
        assert!(partial_errors(bad_index).is_none());
    }

    #[test]
    fn every_severity_has_a_log_severity() {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| log_severity(*s)).collect();
        assert_eq!(names, ["INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]);
    }
}
