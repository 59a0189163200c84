//! The demo connector's HTTP service (seed 004's Task 2 in Rust): login, MFA and logout,
//! permission checks, configuration changes, data sources, an upstream connection behind a
//! circuit breaker, credentials and network discovery — each security-relevant operation
//! logged the idiomatic way: `#[security_audit]` on the operation, the HTTP middleware for
//! what only the status says, a `warn!` where the event needs fields of its own.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use tracing_siem::middleware::{
    Audited, AuthenticatedUser, SecurityEventsLayer, TestEventEndpoint,
};
use tracing_siem::security_audit;

/// Failures of the upstream connection that open the circuit breaker.
const BREAKER_THRESHOLD: u32 = 3;

/// A user of the connector's console.
struct Account {
    password: &'static str,
    role: Role,
    mfa_code: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Viewer,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// What the connector knows and holds: accounts, sessions, sources, credentials, and the
/// upstream it ships to.
pub struct Connector {
    accounts: HashMap<&'static str, Account>,
    sessions: Mutex<HashMap<String, String>>,
    sources: Mutex<HashMap<String, String>>,
    credentials: Mutex<HashMap<String, String>>,
    upstream: SocketAddr,
    breaker: Mutex<u32>,
    admin_token: String,
}

impl Connector {
    /// A connector with two accounts (`alice`, an admin, and `bob`, a viewer; demo
    /// passwords), shipping to `upstream`, whose test-event endpoint takes `admin_token`.
    pub fn new(upstream: SocketAddr, admin_token: impl Into<String>) -> Arc<Connector> {
        let accounts = HashMap::from([
            (
                "alice@example.com",
                Account {
                    password: "correct horse battery",
                    role: Role::Admin,
                    mfa_code: "424242",
                },
            ),
            (
                "bob@example.com",
                Account {
                    password: "tr0ub4dor&3",
                    role: Role::Viewer,
                    mfa_code: "171717",
                },
            ),
        ]);
        Arc::new(Connector {
            accounts,
            sessions: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::from([(
                "zerobus_client_secret".to_owned(),
                "demo-secret".to_owned(),
            )])),
            upstream,
            breaker: Mutex::new(0),
            admin_token: admin_token.into(),
        })
    }

    /// The user of the request's bearer session, if any.
    fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        let token = headers
            .get("authorization")?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        self.sessions.lock().get(token).cloned()
    }
}

/// The connector's routes, with the security middleware around them.
pub fn router(connector: Arc<Connector>) -> Router {
    let for_user = Arc::clone(&connector);
    let events = SecurityEventsLayer::new()
        .peer(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
        .route(|ext| ext.get::<MatchedPath>().map(|p| p.as_str().to_owned()))
        .user(move |headers, _| for_user.session_user(headers));
    Router::new()
        .route("/login", post(login))
        .route("/mfa/verify", post(verify_mfa))
        .route("/logout", post(logout))
        .route("/config", put(modify_config))
        .route(
            "/sources/{name}",
            post(add_source).put(modify_source).delete(delete_source),
        )
        .route("/zerobus/connect", post(connect_upstream))
        .route(
            "/credentials/{key}",
            get(read_credential).put(update_credential),
        )
        .route("/discovery/scan", post(network_scan))
        .route_service(
            "/api/v1/security/test-event",
            TestEventEndpoint::new(connector.admin_token.clone()),
        )
        .layer(events)
        .with_state(connector)
}

// ---- authentication ----

#[derive(Deserialize)]
struct LoginRequest {
    user: String,
    password: String,
}

#[derive(Debug)]
enum LoginError {
    InvalidCredentials,
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid_credentials")
    }
}

async fn login(
    State(app): State<Arc<Connector>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<LoginRequest>,
) -> Response {
    match authenticate(&app, &request.user, &request.password, peer.ip()) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        // The attribute logged the failure; the middleware need not.
        Err(error) => (
            StatusCode::UNAUTHORIZED,
            Extension(Audited),
            Json(json!({ "error": error.to_string() })),
        )
            .into_response(),
    }
}

#[security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip), skip(app))]
fn authenticate(
    app: &Connector,
    user: &str,
    password: &str,
    ip: IpAddr,
) -> Result<String, LoginError> {
    let account = app
        .accounts
        .get(user)
        .ok_or(LoginError::InvalidCredentials)?;
    if account.password != password {
        return Err(LoginError::InvalidCredentials);
    }
    let token = uuid::Uuid::new_v4().to_string();
    app.sessions.lock().insert(token.clone(), user.to_owned());
    Ok(token)
}

#[derive(Deserialize)]
struct MfaRequest {
    code: String,
}

async fn verify_mfa(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Json(request): Json<MfaRequest>,
) -> Response {
    let Some(user) = app.session_user(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let expected = app.accounts.get(user.as_str()).map_or("", |a| a.mfa_code);
    if mfa_matches(&user, expected, &request.code) {
        Json(json!({ "mfa_completed": true })).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, Extension(Audited)).into_response()
    }
}

#[security_audit(
    event_type = "authentication",
    action = "mfa_verify",
    skip(expected, code)
)]
fn mfa_matches(user: &str, expected: &str, code: &str) -> bool {
    !expected.is_empty() && expected == code
}

#[derive(Debug)]
struct NoSession;

impl fmt::Display for NoSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no such session")
    }
}

async fn logout(State(app): State<Arc<Connector>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let user = app.session_user(&headers).unwrap_or_default();
    match end_session(&app, token, &user) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => (StatusCode::UNAUTHORIZED, Extension(Audited)).into_response(),
    }
}

#[security_audit(event_type = "authentication", action = "logout", skip(app, token))]
fn end_session(app: &Connector, token: &str, user: &str) -> Result<(), NoSession> {
    app.sessions.lock().remove(token).map(drop).ok_or(NoSession)
}

// ---- authorization ----

/// The session's user when it holds `permission` (admins hold every permission). Without a
/// session: 401, which the middleware reports. Without the permission: the denial is logged
/// with the seed's fields and answered 403.
fn require(
    app: &Connector,
    headers: &HeaderMap,
    path: &str,
    permission: &str,
) -> Result<String, Refusal> {
    let Some(user) = app.session_user(headers) else {
        return Err(Refusal::NoSession);
    };
    let role = app
        .accounts
        .get(user.as_str())
        .map_or(Role::Viewer, |a| a.role);
    if role != Role::Admin {
        tracing::warn!(
            event_type = "authorization",
            user = %user,
            action = "access",
            result = "denied",
            target = path,
            required_permission = permission,
            user_role = role.as_str(),
            "Permission denied: {user} lacks {permission}"
        );
        return Err(Refusal::Denied(user));
    }
    tracing::info!(
        event_type = "authorization",
        user = %user,
        action = "privileged_operation",
        result = "success",
        target = path,
        permission,
        "User {user} performed privileged operation"
    );
    Ok(user)
}

/// Why [`require`] refused a request.
enum Refusal {
    /// No valid session: 401, reported by the middleware.
    NoSession,
    /// The user lacks the permission: 403, already logged by `require`.
    Denied(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NoSession => StatusCode::UNAUTHORIZED.into_response(),
            Refusal::Denied(user) => (
                StatusCode::FORBIDDEN,
                Extension(Audited),
                Extension(AuthenticatedUser(user)),
            )
                .into_response(),
        }
    }
}

// ---- configuration ----

async fn modify_config(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Json(changes): Json<serde_json::Value>,
) -> Response {
    let user = match require(&app, &headers, "/config", "config:write") {
        Ok(user) => user,
        Err(refused) => return refused.into_response(),
    };
    tracing::info!(
        event_type = "configuration",
        user = %user,
        action = "modify",
        result = "success",
        target = "zerobus_config",
        changes = %changes,
        "ZeroBus configuration modified by {user}"
    );
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug)]
enum SourceError {
    Exists,
    Missing,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceError::Exists => "source already exists",
            SourceError::Missing => "no such source",
        })
    }
}

fn source_status(result: Result<(), SourceError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(SourceError::Exists) => StatusCode::CONFLICT.into_response(),
        Err(SourceError::Missing) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn add_source(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: String,
) -> Response {
    match require(&app, &headers, "/sources", "sources:write") {
        Ok(user) => source_status(insert_source(&app, &user, &name, body)),
        Err(refused) => refused.into_response(),
    }
}

#[security_audit(event_type = "configuration", action = "add", fields(target = %name), skip(app, name, settings))]
fn insert_source(
    app: &Connector,
    user: &str,
    name: &str,
    settings: String,
) -> Result<(), SourceError> {
    let mut sources = app.sources.lock();
    if sources.contains_key(name) {
        return Err(SourceError::Exists);
    }
    sources.insert(name.to_owned(), settings);
    Ok(())
}

async fn modify_source(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: String,
) -> Response {
    match require(&app, &headers, "/sources", "sources:write") {
        Ok(user) => source_status(replace_source(&app, &user, &name, body)),
        Err(refused) => refused.into_response(),
    }
}

#[security_audit(event_type = "configuration", action = "modify", fields(target = %name), skip(app, name, settings))]
fn replace_source(
    app: &Connector,
    user: &str,
    name: &str,
    settings: String,
) -> Result<(), SourceError> {
    match app.sources.lock().get_mut(name) {
        Some(current) => {
            *current = settings;
            Ok(())
        }
        None => Err(SourceError::Missing),
    }
}

async fn delete_source(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    match require(&app, &headers, "/sources", "sources:write") {
        Ok(user) => source_status(remove_source(&app, &user, &name)),
        Err(refused) => refused.into_response(),
    }
}

#[security_audit(event_type = "configuration", action = "delete", fields(target = %name), skip(app, name))]
fn remove_source(app: &Connector, user: &str, name: &str) -> Result<(), SourceError> {
    app.sources
        .lock()
        .remove(name)
        .map(drop)
        .ok_or(SourceError::Missing)
}

// ---- connectivity and the circuit breaker ----

async fn connect_upstream(State(app): State<Arc<Connector>>, headers: HeaderMap) -> Response {
    if let Err(refused) = require(&app, &headers, "/zerobus/connect", "connector:operate") {
        return refused.into_response();
    }
    if *app.breaker.lock() >= BREAKER_THRESHOLD {
        return (StatusCode::SERVICE_UNAVAILABLE, "circuit breaker open").into_response();
    }
    let target = app.upstream.to_string();
    let attempt = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(app.upstream),
    )
    .await;
    let failure = match attempt {
        Ok(Ok(_)) => {
            *app.breaker.lock() = 0;
            return StatusCode::NO_CONTENT.into_response();
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    tracing::error!(
        event_type = "network",
        action = "connect",
        result = "failure",
        target = %target,
        failure_reason = %failure,
        "Failed to connect to {target}"
    );
    let failures = {
        let mut count = app.breaker.lock();
        *count += 1;
        *count
    };
    if failures == BREAKER_THRESHOLD {
        tracing::warn!(
            event_type = "network",
            action = "connect",
            result = "repeated_failure",
            target = %target,
            failure_count = failures,
            "Repeated connection failures to {target}"
        );
        tracing::error!(
            event_type = "availability",
            action = "circuit_breaker_open",
            result = "degraded_service",
            target = %target,
            failure_count = failures,
            "Circuit breaker opened - potential service disruption"
        );
    }
    (StatusCode::BAD_GATEWAY, failure).into_response()
}

// ---- credentials ----

#[derive(Debug)]
enum CredentialError {
    Missing,
    DecryptionFailed,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialError::Missing => "no_such_credential",
            CredentialError::DecryptionFailed => "decryption_failed",
        })
    }
}

async fn read_credential(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Err(refused) = require(&app, &headers, "/credentials", "credentials:read") {
        return refused.into_response();
    }
    match decrypt_credential(&app, &key) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(CredentialError::Missing) => StatusCode::NOT_FOUND.into_response(),
        Err(CredentialError::DecryptionFailed) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The value is never returned over HTTP (the demo only proves it can be read); stored values
/// that are not valid are "corrupt".
#[security_audit(event_type = "credential_access", action = "credential_access", fields(target = %key), skip(app, key))]
fn decrypt_credential(app: &Connector, key: &str) -> Result<usize, CredentialError> {
    let credentials = app.credentials.lock();
    let value = credentials.get(key).ok_or(CredentialError::Missing)?;
    if value.is_empty() {
        return Err(CredentialError::DecryptionFailed);
    }
    Ok(value.len())
}

async fn update_credential(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    value: String,
) -> Response {
    if let Err(refused) = require(&app, &headers, "/credentials", "credentials:write") {
        return refused.into_response();
    }
    store_credential(&app, &key, value);
    StatusCode::NO_CONTENT.into_response()
}

#[security_audit(event_type = "credential_access", action = "credential_update", fields(target = %key), skip(app, key, value))]
fn store_credential(app: &Connector, key: &str, value: String) {
    app.credentials.lock().insert(key.to_owned(), value);
}

// ---- discovery ----

#[derive(Deserialize)]
struct ScanRequest {
    range: String,
}

async fn network_scan(
    State(app): State<Arc<Connector>>,
    headers: HeaderMap,
    Json(request): Json<ScanRequest>,
) -> Response {
    if let Err(refused) = require(&app, &headers, "/discovery/scan", "discovery:run") {
        return refused.into_response();
    }
    let Ok(range) = request.range.parse::<ipnet::IpNet>() else {
        return (StatusCode::BAD_REQUEST, "range must be a CIDR network").into_response();
    };
    tracing::info!(
        event_type = "operational",
        action = "network_scan",
        result = "initiated",
        target = %range,
        "Network discovery scan initiated: {range}"
    );
    StatusCode::ACCEPTED.into_response()
}
