//! Seed 003's test-event endpoint: `POST /api/v1/security/test-event` with a bearer token sends
//! one security event flagged `test = true` through the SIEM layer, so an operator can check the
//! whole path to the SIEM from outside the service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The largest request body read; larger ones are refused with 413.
const MAX_BODY: usize = 16 * 1024;
/// The longest `event_type` and `message` accepted.
const MAX_EVENT_TYPE: usize = 128;
const MAX_MESSAGE: usize = 1024;

/// A `tower::Service` answering seed 003's `POST /api/v1/security/test-event`: with
/// `Authorization: Bearer <token>` (compared in constant time) and a JSON body
/// `{"event_type": "auth.failure", "severity": "medium", "message": "…"}` (all optional), it
/// emits one event with those values and `test = true`, and answers `202` with
/// `{"status":"accepted","event_type":…}`. A wrong or missing token gets `401`, another method
/// `405`, a body that is not such JSON `400`, one over 16 KiB `413`.
///
/// Mount it at the seed's path (axum: `Router::new().route_service("/api/v1/security/test-event",
/// TestEventEndpoint::new(token))`), behind [`SecurityEventsLayer`](super::SecurityEventsLayer)
/// so that wrong tokens are reported as `auth.failure`.
///
/// ```
/// use tracing_siem::middleware::TestEventEndpoint;
/// let endpoint = TestEventEndpoint::new(std::env::var("ADMIN_TOKEN").unwrap_or_default());
/// # let _ = endpoint;
/// ```
#[derive(Clone)]
pub struct TestEventEndpoint {
    token: Arc<[u8]>,
}

impl std::fmt::Debug for TestEventEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEventEndpoint")
            .field("token", &"***")
            .finish()
    }
}

impl TestEventEndpoint {
    /// An endpoint that accepts `token`. An empty token accepts no request.
    ///
    /// ```
    /// let endpoint = tracing_siem::middleware::TestEventEndpoint::new("s3cret");
    /// # let _ = endpoint;
    /// ```
    pub fn new(token: impl Into<String>) -> TestEventEndpoint {
        TestEventEndpoint {
            token: token.into().into_bytes().into(),
        }
    }

    fn authorized(&self, request_headers: &http::HeaderMap) -> bool {
        if self.token.is_empty() {
            return false;
        }
        let Some(given) = request_headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        else {
            return false;
        };
        given.ct_eq(&self.token).into()
    }
}

/// The body's keys; `test` is accepted (the seed's example sends it) and ignored, since every
/// event from this endpoint is a test.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestEventRequest {
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "test")]
    _test: Option<bool>,
}

impl<B> tower_service::Service<Request<B>> for TestEventEndpoint
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let refusal = if request.method() != Method::POST {
            Some(answer(StatusCode::METHOD_NOT_ALLOWED, "use POST"))
        } else if !self.authorized(request.headers()) {
            let mut response = answer(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            Some(response)
        } else {
            None
        };
        Box::pin(async move {
            if let Some(response) = refusal {
                return Ok(response);
            }
            let body = match http_body_util::Limited::new(request.into_body(), MAX_BODY)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    return Ok(answer(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the body is over 16 KiB",
                    ))
                }
                Err(_) => {
                    return Ok(answer(
                        StatusCode::BAD_REQUEST,
                        "the body could not be read",
                    ))
                }
            };
            Ok(match parse(&body) {
                Ok(test) => emit(test),
                Err(reason) => answer(StatusCode::BAD_REQUEST, &reason),
            })
        })
    }
}

/// The request body as a test event, or why not. An empty body asks for the defaults.
fn parse(body: &[u8]) -> Result<TestEventRequest, String> {
    let request: TestEventRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TestEventRequest {
            event_type: None,
            severity: None,
            message: None,
            _test: None,
        }
    } else {
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?
    };
    if let Some(event_type) = &request.event_type {
        let well_formed = !event_type.is_empty()
            && event_type.len() <= MAX_EVENT_TYPE
            && event_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !well_formed {
            return Err(format!(
                "event_type must be 1 to {MAX_EVENT_TYPE} letters, digits, '.', '_' or '-'"
            ));
        }
    }
    if let Some(severity) = &request.severity {
        // The layer's own reading of a `severity` field, so that what is accepted here is what
        // the event will carry.
        severity
            .parse::<siem_event::Severity>()
            .map_err(|e| e.to_string())?;
    }
    if request
        .message
        .as_ref()
        .is_some_and(|m| m.len() > MAX_MESSAGE)
    {
        return Err(format!("message must be at most {MAX_MESSAGE} bytes"));
    }
    Ok(request)
}

fn emit(test: TestEventRequest) -> Response<String> {
    let event_type = test.event_type.as_deref().unwrap_or("security.test");
    let severity = test.severity.as_deref().unwrap_or("low");
    let message = test
        .message
        .as_deref()
        .unwrap_or("SIEM integration test event");
    tracing::warn!(
        target: "http_security",
        event_type,
        severity,
        test = true,
        action = "test_event",
        "{message}"
    );
    let body = serde_json::json!({ "status": "accepted", "event_type": event_type }).to_string();
    with_json(StatusCode::ACCEPTED, body)
}

fn answer(status: StatusCode, reason: &str) -> Response<String> {
    with_json(status, serde_json::json!({ "error": reason }).to_string())
}

fn with_json(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
