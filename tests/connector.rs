//! The demo service end to end: the connector of `examples/connector` runs on a loopback port
//! with its own `siem.yaml`; real HTTP requests log in, fail, get denied, change configuration
//! and trip the circuit breaker; a local TCP collector receives the CEF records and the JSON
//! file holds every event, with seed 004's four alerts among them.
#![cfg(feature = "middleware")]

#[path = "../examples/connector/app.rs"]
#[allow(dead_code)]
mod app;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

/// A syslog collector on a loopback port: every octet-counted frame received until the sender
/// closes its connections.
struct Collector {
    address: SocketAddr,
    frames: std::thread::JoinHandle<Vec<String>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let frames = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).unwrap();
            octet_counted_frames(&bytes)
        });
        Collector { address, frames }
    }
}

/// RFC 6587 octet counting: `LEN SP MSG`, repeated.
fn octet_counted_frames(mut bytes: &[u8]) -> Vec<String> {
    let mut frames = Vec::new();
    while let Some(space) = bytes.iter().position(|b| *b == b' ') {
        let len: usize = std::str::from_utf8(&bytes[..space])
            .unwrap()
            .parse()
            .unwrap();
        let frame = &bytes[space + 1..space + 1 + len];
        frames.push(String::from_utf8_lossy(frame).into_owned());
        bytes = &bytes[space + 1 + len..];
    }
    frames
}

/// One HTTP/1.1 request over a fresh connection; the status and body of the answer.
async fn request(
    server: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(server).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: connector\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn login(server: SocketAddr, user: &str, password: &str) -> (u16, String) {
    let body = format!(r#"{{"user":"{user}","password":"{password}"}}"#);
    request(server, "POST", "/login", None, &body).await
}

#[test]
fn the_connector_logs_every_security_operation_and_raises_seed_004s_alerts() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let events_file = dir.path().join("events.jsonl");
    let yaml = std::fs::read_to_string("examples/connector/siem.yaml").unwrap();
    let port = collector.address.port().to_string();
    let file = events_file.display().to_string();
    let lookup = |name: &str| match name {
        "SIEM_HOST" => Some("127.0.0.1".to_owned()),
        "SIEM_PORT" => Some(port.clone()),
        "CONNECTOR_EVENTS_FILE" => Some(file.clone()),
        _ => None,
    };
    let config = Config::from_yaml_with_env(&yaml, &lookup, []).unwrap();
    let (siem, guard) = SiemBuilder::from_config(config).build().unwrap();

    // The upstream the connector ships to: a port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = closed.local_addr().unwrap();
    drop(closed);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(siem), || {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let server = listener.local_addr().unwrap();
            let service = app::router(app::Connector::new(upstream, "admin-token-0123"))
                .into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });

            // Authentication: five failures trip "Multiple failed logins"; then success, MFA.
            for _ in 0..5 {
                let (status, _) = login(server, "alice@example.com", "guess").await;
                assert_eq!(status, 401);
            }
            let (status, body) = login(server, "alice@example.com", "correct horse battery").await;
            assert_eq!(status, 200, "{body}");
            let admin: Value = serde_json::from_str(&body).unwrap();
            let admin = admin["token"].as_str().unwrap().to_owned();
            let (status, _) = request(
                server,
                "POST",
                "/mfa/verify",
                Some(&admin),
                r#"{"code":"424242"}"#,
            )
            .await;
            assert_eq!(status, 200);
            let (_, body) = login(server, "bob@example.com", "tr0ub4dor&3").await;
            let viewer: Value = serde_json::from_str(&body).unwrap();
            let viewer = viewer["token"].as_str().unwrap().to_owned();

            // Authorization: a viewer denied three times trips "Unauthorized access attempts";
            // no session at all is a 401 the middleware reports.
            for path in ["/config", "/credentials/zerobus_client_secret", "/config"] {
                let (status, _) = request(server, "PUT", path, Some(&viewer), "{}").await;
                assert_eq!(status, 403, "{path}");
            }
            let (status, _) = request(server, "PUT", "/config", None, "{}").await;
            assert_eq!(status, 401);

            // Configuration: a modification trips "Configuration changes".
            let (status, _) = request(
                server,
                "PUT",
                "/config",
                Some(&admin),
                r#"{"batch_size":500}"#,
            )
            .await;
            assert_eq!(status, 204);
            for (method, expected) in [
                ("POST", 204),
                ("PUT", 204),
                ("DELETE", 204),
                ("DELETE", 404),
            ] {
                let (status, _) = request(
                    server,
                    method,
                    "/sources/plant-7",
                    Some(&admin),
                    "opc.tcp://plc",
                )
                .await;
                assert_eq!(status, expected, "{method}");
            }

            // Connectivity: three failures open the breaker ("Circuit breaker open").
            for expected in [502, 502, 502, 503] {
                let (status, _) =
                    request(server, "POST", "/zerobus/connect", Some(&admin), "").await;
                assert_eq!(status, expected);
            }

            // Credentials and discovery.
            let (status, _) = request(
                server,
                "GET",
                "/credentials/zerobus_client_secret",
                Some(&admin),
                "",
            )
            .await;
            assert_eq!(status, 204);
            let (status, _) = request(
                server,
                "PUT",
                "/credentials/zerobus_client_secret",
                Some(&admin),
                "rotated",
            )
            .await;
            assert_eq!(status, 204);
            let (status, _) = request(
                server,
                "POST",
                "/discovery/scan",
                Some(&admin),
                r#"{"range":"10.20.0.0/24"}"#,
            )
            .await;
            assert_eq!(status, 202);
            let (status, _) = request(server, "POST", "/logout", Some(&admin), "").await;
            assert_eq!(status, 204);
        });
    });
    let report = guard.shutdown(Duration::from_secs(10));
    assert!(
        report.completed && report.undelivered_total() == 0,
        "{report:?}"
    );

    let events: Vec<Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for expected in [
        "auth.failure",
        "auth.success",
        "authz.access_denied",
        "authz.access_granted",
        "config.changed",
        "network.connection_failed",
        "credential.access",
        "alert.threshold",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    // One failed login is one event: the attribute logged it, the middleware stayed quiet.
    assert_eq!(
        types.iter().filter(|t| **t == "auth.failure").count(),
        6,
        "{types:?}"
    );
    let alerts: Vec<&str> = events
        .iter()
        .filter(|e| e["event_type"] == "alert.threshold")
        .filter_map(|e| e["metadata"]["rule"].as_str())
        .collect();
    for rule in [
        "Multiple failed logins",
        "Unauthorized access attempts",
        "Configuration changes",
        "Circuit breaker open",
    ] {
        assert!(alerts.contains(&rule), "{rule} not raised: {alerts:?}");
    }

    // The collector got the same events as CEF inside RFC 5424.
    let frames = collector.frames.join().unwrap();
    assert_eq!(frames.len(), events.len(), "{frames:#?}");
    assert!(frames
        .iter()
        .all(|f| f.contains("CEF:0|Example|UnifiedConnector|")));
    assert!(frames.iter().any(|f| f.contains("Multiple failed logins")));
}
