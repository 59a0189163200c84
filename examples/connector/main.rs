//! A demo service: seed 004's "unified connector" console in Rust, with security logging
//! throughout (see `app.rs`), CEF over syslog/TCP to a collector and JSON lines to a file, and
//! seed 004's alert rules (`siem.yaml` beside this file).
//!
//! ```sh
//! # a collector to receive the CEF records (or point SIEM_HOST/SIEM_PORT at your SIEM)
//! nc -lk 127.0.0.1 5514 &
//! cargo run --example connector --features middleware
//! curl -s -XPOST localhost:8080/login -H 'content-type: application/json' \
//!      -d '{"user":"alice@example.com","password":"wrong"}'
//! ```
//!
//! Settings from the environment: `CONNECTOR_LISTEN` (default `127.0.0.1:8080`),
//! `CONNECTOR_CONFIG` (default `examples/connector/siem.yaml`), `SIEM_HOST` / `SIEM_PORT` (the
//! collector), `CONNECTOR_EVENTS_FILE`, `CONNECTOR_UPSTREAM` (the ZeroBus endpoint the
//! connector ships to, default a closed port so the circuit breaker can be seen opening) and
//! `ADMIN_TOKEN` (the test-event endpoint's token; without it the endpoint accepts nothing).

mod app;

use std::net::SocketAddr;
use std::time::Duration;

use tracing_siem::Config;
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config_path = std::env::var("CONNECTOR_CONFIG")
        .unwrap_or_else(|_| "examples/connector/siem.yaml".to_owned());
    let config = Config::from_yaml_file(&config_path)?;
    let (siem, guard) = tracing_siem::SiemBuilder::from_config(config).build()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(siem)
        .init();

    let listen: SocketAddr = std::env::var("CONNECTOR_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
        .parse()?;
    let upstream: SocketAddr = std::env::var("CONNECTOR_UPSTREAM")
        .unwrap_or_else(|_| "127.0.0.1:9".to_owned())
        .parse()?;
    let connector = app::Connector::new(upstream, std::env::var("ADMIN_TOKEN").unwrap_or_default());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("connector listening on http://{listen}");
    axum::serve(
        listener,
        app::router(connector).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;

    let metrics = guard.handle().metrics();
    let report = guard.shutdown(Duration::from_secs(10));
    eprintln!(
        "security events: logged {}, shipped {}, alerts {}; undelivered at shutdown {}",
        metrics.events_logged,
        metrics.events_shipped,
        metrics.alerts_triggered,
        report.undelivered_total()
    );
    Ok(())
}
