//! HTTP middleware (feature `middleware`): a `tower::Layer` that reports what HTTP responses
//! say about security — failed authentication, denied access, rate limiting — and seed 003's
//! test-event endpoint. Works with any tower-based server: axum, tonic, hyper.
//!
//! ```
//! use tracing_siem::middleware::{SecurityEventsLayer, TestEventEndpoint};
//!
//! let events = SecurityEventsLayer::new().access_events(false);
//! let test_endpoint = TestEventEndpoint::new("admin-token");
//! // axum:
//! //   Router::new()
//! //       .route_service("/api/v1/security/test-event", test_endpoint)
//! //       .route("/login", post(login))
//! //       .layer(events)
//! # let _ = (events, test_endpoint);
//! ```

mod client_ip;
mod layer;
mod test_event;

pub use layer::{Audited, AuthenticatedUser, ResponseFuture, SecurityEvents, SecurityEventsLayer};
pub use test_event::TestEventEndpoint;
