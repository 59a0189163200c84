//! What a response means for the records of a request: delivered, worth retrying (and after
//! how long), or refused for good.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// The longest `Retry-After` honoured: a server asking for more is waited on this long, then
/// asked again, so that a misconfigured proxy cannot park a destination for hours.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The most of a response body quoted in an error or a dead-letter record.
const REASON_CHARS: usize = 300;

/// What became of one record, or of every record of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted.
    Delivered,
    /// Not accepted now; may be on a later attempt, not before `after` when given.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Refused for good: dead-lettered with the status (if any) and reason.
    Reject { status: Option<u16>, reason: String },
    /// The request was too large for the server (413): split it and send the halves.
    TooLarge,
}

/// The outcome of a request: one for all its records, or one per record.
#[derive(Debug)]
pub(crate) enum Verdict {
    All(Outcome),
    // Only APIs that answer record by record build this.
    #[cfg_attr(
        not(any(feature = "splunk", feature = "elasticsearch", feature = "cloudwatch")),
        allow(dead_code)
    )]
    Each(Vec<Outcome>),
}

/// The outcome of a response by its status alone, the rule for APIs without per-record
/// results: 2xx delivered; 408, 429 and 5xx retried (after `Retry-After` if given); 413 split;
/// every other status refused.
pub(crate) fn by_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        Outcome::Delivered
    } else if code == 413 {
        Outcome::TooLarge
    } else if code == 408 || code == 429 || status.is_server_error() {
        Outcome::Retry {
            reason: status_reason(status, body),
            after: retry_after(headers),
        }
    } else {
        Outcome::Reject {
            status: Some(code),
            reason: status_reason(status, body),
        }
    }
}

/// `HTTP 503 Service Unavailable: <start of the body>`.
pub(crate) fn status_reason(status: StatusCode, body: &[u8]) -> String {
    let mut reason = format!("HTTP {status}");
    let text = quote(body);
    if !text.is_empty() {
        reason.push_str(": ");
        reason.push_str(&text);
    }
    reason
}

/// The start of a response body as one printable line.
pub(crate) fn quote(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(REASON_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The wait a `Retry-After` header asks for (seconds or an HTTP date), at most
/// [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let none = HeaderMap::new();
        assert_eq!(by_status(StatusCode::OK, &none, b""), Outcome::Delivered);
        assert_eq!(
            by_status(StatusCode::ACCEPTED, &none, b""),
            Outcome::Delivered
        );
        assert_eq!(
            by_status(StatusCode::PAYLOAD_TOO_LARGE, &none, b""),
            Outcome::TooLarge
        );
        for code in [408, 429, 500, 502, 503, 504] {
            let s = StatusCode::from_u16(code).unwrap();
            assert!(
                matches!(by_status(s, &none, b""), Outcome::Retry { .. }),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 422] {
            let s = StatusCode::from_u16(code).unwrap();
            assert!(
                matches!(by_status(s, &none, b""), Outcome::Reject { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers("999999")), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&headers(&later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn reasons_quote_a_bounded_printable_body() {
        let r = status_reason(StatusCode::BAD_REQUEST, b"{\"text\":\"bad\"}\n\x07");
        assert_eq!(r, "HTTP 400 Bad Request: {\"text\":\"bad\"}");
        assert_eq!(quote(&[b'a'; 1000]).len(), REASON_CHARS);
    }
}
