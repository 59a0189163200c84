//! The tower layer: what each request was (method, route, client, user) is noted before the
//! inner service runs, and the response's status decides the event.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode};
use ipnet::IpNet;

use super::client_ip::client_ip;

/// The target of the middleware's events: not this crate's own module path, which the layer
/// ignores to avoid loops.
const TARGET: &str = "http_security";

/// How long a logged `User-Agent` or route may be; longer ones are cut at a character boundary.
const MAX_TEXT: usize = 256;

type UserFn = dyn Fn(&HeaderMap, &Extensions) -> Option<String> + Send + Sync;
type RouteFn = dyn Fn(&Extensions) -> Option<String> + Send + Sync;
type PeerFn = dyn Fn(&Extensions) -> Option<IpAddr> + Send + Sync;

/// The user a request was made as, put in the response's extensions by a handler or an inner
/// authentication layer; the middleware's event names it (it wins over
/// [`SecurityEventsLayer::user`]).
///
/// ```
/// use tracing_siem::middleware::AuthenticatedUser;
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(AuthenticatedUser("alice".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser(pub String);

/// A marker a handler puts in its response's extensions when it has logged the security event
/// itself (a login handler with `#[security_audit]` answering 401): the middleware then emits
/// nothing for that response, so one failed login is one event.
///
/// ```
/// use tracing_siem::middleware::Audited;
/// let mut response = http::Response::new(());
/// *response.status_mut() = http::StatusCode::UNAUTHORIZED;
/// response.extensions_mut().insert(Audited);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audited;

/// A `tower::Layer` that turns HTTP responses into security events: `auth.failure` on 401,
/// `authz.access_denied` on 403, `security.rate_limit_exceeded` on 429, and — when
/// [`access_events`](SecurityEventsLayer::access_events) is on — `access.http_request` for
/// every other response. Each carries `method`, `route`, `status`, `source_ip`, `user` and
/// `user_agent`; the SIEM layer redacts, classifies and ships them like any event.
///
/// The client address is the connection's peer, found in the request's extensions by the
/// [`peer`](SecurityEventsLayer::peer) function (by default a `SocketAddr` extension).
/// `X-Forwarded-For` is believed only for peers in
/// [`trusted_proxies`](SecurityEventsLayer::trusted_proxies) — never by default.
///
/// ```
/// use tracing_siem::middleware::SecurityEventsLayer;
///
/// let layer = SecurityEventsLayer::new()
///     .trusted_proxies(["10.0.0.0/8".parse().unwrap()])
///     .user(|headers, _| {
///         headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
///     })
///     .access_events(true);
/// // axum: Router::new().route(…).layer(layer); with axum's client address:
/// //   .peer(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
/// //   .route(|ext| ext.get::<MatchedPath>().map(|p| p.as_str().to_owned()))
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct SecurityEventsLayer {
    settings: Arc<Settings>,
}

#[derive(Clone)]
struct Settings {
    trusted_proxies: Vec<IpNet>,
    access_events: bool,
    user: Option<Arc<UserFn>>,
    route: Option<Arc<RouteFn>>,
    peer: Arc<PeerFn>,
}

impl Default for SecurityEventsLayer {
    fn default() -> Self {
        SecurityEventsLayer::new()
    }
}

impl std::fmt::Debug for SecurityEventsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityEventsLayer")
            .field("trusted_proxies", &self.settings.trusted_proxies)
            .field("access_events", &self.settings.access_events)
            .finish_non_exhaustive()
    }
}

impl SecurityEventsLayer {
    /// Events for 401, 403 and 429, the client from the connection, no user.
    ///
    /// ```
    /// let layer = tracing_siem::middleware::SecurityEventsLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> SecurityEventsLayer {
        SecurityEventsLayer {
            settings: Arc::new(Settings {
                trusted_proxies: Vec::new(),
                access_events: false,
                user: None,
                route: None,
                peer: Arc::new(|extensions| extensions.get::<SocketAddr>().map(SocketAddr::ip)),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Settings)) -> SecurityEventsLayer {
        change(Arc::make_mut(&mut self.settings));
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed (CIDR networks). Empty by default: the
    /// header is then ignored, since any client can write it.
    ///
    /// ```
    /// use tracing_siem::middleware::SecurityEventsLayer;
    /// let layer = SecurityEventsLayer::new().trusted_proxies(["10.0.0.0/8".parse().unwrap()]);
    /// # let _ = layer;
    /// ```
    pub fn trusted_proxies(self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        let networks: Vec<IpNet> = networks.into_iter().collect();
        self.with(|s| s.trusted_proxies = networks)
    }

    /// Whether every other response also gives an `access.http_request` event (INFO). Off by
    /// default.
    ///
    /// ```
    /// let layer = tracing_siem::middleware::SecurityEventsLayer::new().access_events(true);
    /// # let _ = layer;
    /// ```
    pub fn access_events(self, on: bool) -> Self {
        self.with(|s| s.access_events = on)
    }

    /// How to name the request's user from its headers and extensions (a session, a verified
    /// token's subject). An [`AuthenticatedUser`] in the response's extensions wins over it.
    /// It runs for every request, before the inner service takes the request (the headers are
    /// gone once it has), so keep it cheap; the `route` and `peer` functions too.
    ///
    /// ```
    /// use tracing_siem::middleware::SecurityEventsLayer;
    /// let layer = SecurityEventsLayer::new()
    ///     .user(|headers, _| headers.get("x-user")?.to_str().ok().map(str::to_owned));
    /// # let _ = layer;
    /// ```
    pub fn user(
        self,
        user: impl Fn(&HeaderMap, &Extensions) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.with(|s| s.user = Some(Arc::new(user)))
    }

    /// How to find the route template (`/users/{id}`) in the request's extensions; without it,
    /// or when it finds none, the event has the request's path.
    ///
    /// ```
    /// use tracing_siem::middleware::SecurityEventsLayer;
    /// #[derive(Clone)]
    /// struct Template(&'static str);
    /// let layer = SecurityEventsLayer::new()
    ///     .route(|ext| ext.get::<Template>().map(|t| t.0.to_owned()));
    /// # let _ = layer;
    /// ```
    pub fn route(
        self,
        route: impl Fn(&Extensions) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.with(|s| s.route = Some(Arc::new(route)))
    }

    /// How to find the connection's peer address in the request's extensions (by default a
    /// `std::net::SocketAddr` extension).
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use tracing_siem::middleware::SecurityEventsLayer;
    /// #[derive(Clone)]
    /// struct Peer(IpAddr);
    /// let layer = SecurityEventsLayer::new().peer(|ext| ext.get::<Peer>().map(|p| p.0));
    /// # let _ = layer;
    /// ```
    pub fn peer(
        self,
        peer: impl Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.with(|s| s.peer = Arc::new(peer))
    }
}

impl<S> tower_layer::Layer<S> for SecurityEventsLayer {
    type Service = SecurityEvents<S>;

    fn layer(&self, inner: S) -> SecurityEvents<S> {
        SecurityEvents {
            inner,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// The service [`SecurityEventsLayer`] wraps around an inner service.
///
/// ```
/// use tower_layer::Layer;
/// use tracing_siem::middleware::{SecurityEvents, SecurityEventsLayer};
/// let service: SecurityEvents<()> = SecurityEventsLayer::new().layer(());
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct SecurityEvents<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for SecurityEvents<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityEvents")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// What the event will say about the request, noted before the inner service takes it.
struct RequestFacts {
    method: Method,
    /// The request's URI (a cheap clone): its path is the route when no template is found.
    uri: http::Uri,
    /// The route template the `route` function found, if any.
    template: Option<String>,
    source_ip: Option<IpAddr>,
    user: Option<String>,
    /// The `User-Agent` header (a cheap clone), turned into text only for an event.
    user_agent: Option<http::HeaderValue>,
}

impl RequestFacts {
    fn of<B>(request: &Request<B>, settings: &Settings) -> RequestFacts {
        let extensions = request.extensions();
        let headers = request.headers();
        RequestFacts {
            method: request.method().clone(),
            uri: request.uri().clone(),
            template: settings.route.as_ref().and_then(|route| route(extensions)),
            source_ip: client_ip(
                (settings.peer)(extensions),
                headers,
                &settings.trusted_proxies,
            ),
            user: settings
                .user
                .as_ref()
                .and_then(|user| user(headers, extensions))
                .map(bounded),
            user_agent: headers.get(http::header::USER_AGENT).cloned(),
        }
    }

    fn emit(self, status: StatusCode, response: &Extensions, access_events: bool) {
        if response.get::<Audited>().is_some() {
            return;
        }
        // What the status says about security is a warning; an access record is not.
        let (event_type, warning) = match status {
            StatusCode::UNAUTHORIZED => ("auth.failure", true),
            StatusCode::FORBIDDEN => ("authz.access_denied", true),
            StatusCode::TOO_MANY_REQUESTS => ("security.rate_limit_exceeded", true),
            _ if access_events => ("access.http_request", false),
            _ => return,
        };
        let user = response
            .get::<AuthenticatedUser>()
            .map(|u| u.0.as_str())
            .or(self.user.as_deref());
        let method = self.method.as_str();
        let route = bounded(self.template.unwrap_or_else(|| self.uri.path().to_owned()));
        let route = route.as_str();
        let source_ip = self.source_ip.map(tracing::field::display);
        let user_agent = self
            .user_agent
            .map(|v| bounded(String::from_utf8_lossy(v.as_bytes()).into_owned()));
        let user_agent = user_agent.as_deref();
        let code = status.as_u16();
        let reason = format_args!("HTTP {status}");
        macro_rules! security_event {
            ($level:expr) => {
                tracing::event!(
                    target: TARGET,
                    $level,
                    event_type,
                    action = "http_request",
                    method,
                    route,
                    status = code,
                    source_ip,
                    user,
                    user_agent,
                    reason = %reason,
                    "HTTP {code} on {method} {route}"
                )
            };
        }
        if warning {
            security_event!(tracing::Level::WARN)
        } else {
            security_event!(tracing::Level::INFO)
        }
    }
}

/// `text` cut to [`MAX_TEXT`] bytes at a character boundary.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for SecurityEvents<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let facts = RequestFacts::of(&request, &self.settings);
        ResponseFuture {
            inner: self.inner.call(request),
            facts: Some(facts),
            access_events: self.settings.access_events,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's response future; the event is emitted when it completes with a
    /// response (an error from the inner service is its caller's to report).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        facts: Option<RequestFacts>,
        access_events: bool,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(facts)) = (&result, this.facts.take()) {
            facts.emit(
                response.status(),
                response.extensions(),
                *this.access_events,
            );
        }
        Poll::Ready(result)
    }
}
