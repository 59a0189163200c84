//! The HTTP middleware through the public API: a tower service answering with 401, 403, 429 or
//! 200 gives the events the SIEM expects, the client address is the peer unless a trusted proxy
//! says otherwise, and the test-event endpoint refuses what it should.
#![cfg(feature = "middleware")]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Request, Response, StatusCode};
use serde_json::Value;
use support::json_text as text;
use tower::{service_fn, ServiceExt};
use tower_layer::Layer;
use tracing_siem::middleware::{
    Audited, AuthenticatedUser, SecurityEventsLayer, TestEventEndpoint,
};
use tracing_siem::SiemLayer;

/// The JSON events the SIEM layer ships while `f` runs on a current-thread runtime.
fn events<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F) -> Vec<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    support::run(SiemLayer::builder(), || runtime.block_on(f()))
        .0
        .json()
}

/// A request from `peer` to `path`, as a server would hand it to the service.
fn request(path: &str, peer: &str) -> Request<String> {
    let mut request = Request::get(path)
        .header("user-agent", "curl/8.5")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(peer.parse::<SocketAddr>().unwrap());
    request
}

/// An application that answers the status named by the path (`/status/401`).
async fn app(request: Request<String>) -> Result<Response<String>, Infallible> {
    let status: u16 = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if status == 403 {
        response
            .extensions_mut()
            .insert(AuthenticatedUser("bob".into()));
    }
    if request.headers().contains_key("x-audited") {
        response.extensions_mut().insert(Audited);
    }
    Ok(response)
}

#[test]
fn statuses_become_the_security_events_a_siem_expects() {
    let shipped = events(|| async {
        let service = SecurityEventsLayer::new()
            .user(|headers, _| headers.get("x-user")?.to_str().ok().map(str::to_owned))
            .layer(service_fn(app));
        for status in [401, 403, 429, 200, 404] {
            let mut req = request(&format!("/status/{status}"), "203.0.113.7:5122");
            req.headers_mut().insert("x-user", "alice".parse().unwrap());
            service.clone().oneshot(req).await.unwrap();
        }
        // A handler that logged the failure itself marks its response: no second event.
        let mut audited = request("/status/401", "203.0.113.7:5122");
        audited
            .headers_mut()
            .insert("x-audited", "1".parse().unwrap());
        service.clone().oneshot(audited).await.unwrap();
    });
    let types: Vec<&str> = shipped.iter().map(|e| text(e, "event_type")).collect();
    assert_eq!(
        types,
        [
            "auth.failure",
            "authz.access_denied",
            "security.rate_limit_exceeded"
        ],
        "200 and 404 give nothing without access events, nor an Audited response"
    );
    let failure = &shipped[0];
    assert_eq!(text(failure, "ip_address"), "203.0.113.7", "{failure}");
    assert_eq!(text(failure, "username"), "alice", "{failure}");
    assert_eq!(text(failure, "message"), "HTTP 401 on GET /status/401");
    assert!(failure.to_string().contains("curl/8.5"), "{failure}");
    assert_eq!(
        text(&shipped[1], "username"),
        "bob",
        "the response's AuthenticatedUser wins"
    );
}

#[test]
fn access_events_cover_every_other_response() {
    let shipped = events(|| async {
        let service = SecurityEventsLayer::new()
            .access_events(true)
            .layer(service_fn(app));
        service
            .oneshot(request("/status/200", "198.51.100.1:1"))
            .await
            .unwrap();
    });
    assert_eq!(shipped.len(), 1);
    assert_eq!(text(&shipped[0], "event_type"), "access.http_request");
}

#[test]
fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let shipped = events(|| async {
        let trusting = SecurityEventsLayer::new()
            .trusted_proxies(["10.0.0.0/8".parse().unwrap()])
            .layer(service_fn(app));
        // Through the trusted proxy: the client it names.
        let mut via_proxy = request("/status/401", "10.0.0.1:40000");
        via_proxy
            .headers_mut()
            .insert("x-forwarded-for", "198.51.100.23".parse().unwrap());
        trusting.clone().oneshot(via_proxy).await.unwrap();
        // Straight from a client that forges the header: the client itself.
        let mut forged = request("/status/401", "203.0.113.66:40000");
        forged
            .headers_mut()
            .insert("x-forwarded-for", "192.0.2.1".parse().unwrap());
        trusting.oneshot(forged).await.unwrap();
        // No trusted proxy configured: never believed.
        let default = SecurityEventsLayer::new().layer(service_fn(app));
        let mut ignored = request("/status/401", "10.0.0.1:40000");
        ignored
            .headers_mut()
            .insert("x-forwarded-for", "198.51.100.23".parse().unwrap());
        default.oneshot(ignored).await.unwrap();
    });
    let clients: Vec<&str> = shipped.iter().map(|e| text(e, "ip_address")).collect();
    assert_eq!(clients, ["198.51.100.23", "203.0.113.66", "10.0.0.1"]);
}

/// Sends `body` to the endpoint with `authorization`, returning the status and the answer.
async fn test_event(
    method: &str,
    authorization: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri("/api/v1/security/test-event");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    let request = builder
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = TestEventEndpoint::new("s3cret-admin-token")
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    (status, serde_json::from_str(response.body()).unwrap())
}

#[test]
fn the_test_event_endpoint_sends_a_flagged_event_for_the_right_token_only() {
    let seed_body = r#"{"event_type": "auth.failure", "severity": "medium", "test": true}"#;
    let shipped = events(|| async {
        let (status, answer) =
            test_event("POST", Some("Bearer s3cret-admin-token"), seed_body.into()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(answer["event_type"], "auth.failure");
        for wrong in [
            None,
            Some("Bearer s3cret-admin-tokeN"),
            Some("Bearer s3cret-admin-token "),
            Some("Basic czNjcmV0"),
            Some("Bearer "),
        ] {
            let (status, _) = test_event("POST", wrong, seed_body.into()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        }
        let (status, _) = test_event("GET", Some("Bearer s3cret-admin-token"), String::new()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    });
    assert_eq!(
        shipped.len(),
        1,
        "refused requests send nothing: {shipped:?}"
    );
    assert_eq!(text(&shipped[0], "event_type"), "auth.failure");
    assert!(
        shipped[0].to_string().contains("\"test\":true"),
        "{}",
        shipped[0]
    );
}

#[test]
fn the_test_event_endpoint_refuses_hostile_bodies() {
    let token = Some("Bearer s3cret-admin-token");
    let shipped = events(|| async {
        for (body, expected) in [
            ("{not json".to_owned(), StatusCode::BAD_REQUEST),
            (
                r#"{"event_type": "auth failure\n<script>"}"#.to_owned(),
                StatusCode::BAD_REQUEST,
            ),
            (
                format!(r#"{{"event_type": "{}"}}"#, "a".repeat(200)),
                StatusCode::BAD_REQUEST,
            ),
            (
                r#"{"severity": "apocalyptic"}"#.to_owned(),
                StatusCode::BAD_REQUEST,
            ),
            (
                r#"{"event_type": "x", "admin": true}"#.to_owned(),
                StatusCode::BAD_REQUEST,
            ),
            (
                format!(r#"{{"message": "{}"}}"#, "m".repeat(2000)),
                StatusCode::BAD_REQUEST,
            ),
            ("x".repeat(20_000), StatusCode::PAYLOAD_TOO_LARGE),
            ("[1, 2, 3]".to_owned(), StatusCode::BAD_REQUEST),
        ] {
            let (status, answer) = test_event("POST", token, body.clone()).await;
            assert_eq!(status, expected, "{body:.60}: {answer}");
            assert!(answer["error"].is_string(), "{answer}");
        }
        // An empty body asks for the defaults.
        let (status, answer) = test_event("POST", token, String::new()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    });
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(text(&shipped[0], "event_type"), "security.test");
}
