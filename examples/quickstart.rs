//! The quickstart: a small service that logs as usual through `tracing`, with `SiemLayer`
//! beside an ordinary `fmt` layer. Security events are printed as JSON on standard output and
//! written to a rotated, gzip-compressed JSON-lines file; the ordinary log goes to standard
//! error, unchanged. No configuration and no server needed.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use tracing::{error, info, info_span, warn};
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

fn main() {
    let dir = std::path::Path::new("target/siem-quickstart");
    let _ = std::fs::remove_dir_all(dir);
    let file = dir.join("siem-events.jsonl");

    // Small files, so that this short run shows rotation and compression.
    let audit_file = tracing_siem::FileConfig::new(&file)
        .max_size(16 * 1024)
        .max_files(3)
        .compress(true);
    let (siem, guard) = SiemLayer::builder()
        .app("quickstart")
        .static_field("environment", "demo")
        .destination(DestinationConfig::stdout().name("console"))
        .destination(DestinationConfig::new(audit_file).name("audit-file"))
        .build()
        .expect("the defaults are valid");

    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(siem)
        .init();

    run_service();

    let handle = guard.handle();
    handle.flush(Duration::from_secs(5));
    let m = handle.metrics();
    drop(guard);
    eprintln!(
        "\nsecurity events: logged {}, shipped {} (over {} destinations), dropped {}",
        m.events_logged,
        m.events_shipped,
        m.destinations.len(),
        m.events_dropped
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        eprintln!("  {} ({size} bytes)", f.display());
    }
}

/// What a real service logs: requests in spans, logins, a permission denial, a config change.
fn run_service() {
    info!("service started");
    for i in 0..120 {
        let user = format!("user{}", i % 7);
        let request =
            info_span!("request", user = %user, source_ip = "203.0.113.7", request_id = i);
        let _enter = request.enter();
        if i % 5 == 0 {
            warn!(
                event_type = "authentication",
                action = "login",
                result = "failure",
                password = "what-the-user-typed",
                "Failed login"
            );
        } else {
            info!(
                event_type = "auth.success",
                action = "login",
                "Login succeeded"
            );
        }
        info!(path = "/api/orders", "request handled"); // an ordinary event: not shipped
    }
    let admin = info_span!("request", user = "mallory", source_ip = "198.51.100.23");
    admin.in_scope(|| {
        warn!(
            event_type = "authz.access_denied",
            resource = "/admin/users",
            method = "DELETE",
            "Permission denied"
        );
    });
    warn!(
        event_type = "config.changed",
        user = "ops",
        setting = "max_sessions",
        old = 10,
        new = 50,
        "Configuration changed"
    );
    error!("Connection to auth-db refused"); // classified by keyword: network failure
}
