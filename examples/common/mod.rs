//! What the SIEM examples share: a service that logs a few security events through one
//! destination, then reports what the destination did with them.

use std::time::Duration;

use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

/// Installs `SiemLayer` with `destination`, logs a failed login and a permission denial, shuts
/// down within five seconds and prints one line per destination.
pub fn run(destination: DestinationConfig) {
    let (siem, guard) = SiemLayer::builder()
        .app("payments")
        .destination(destination)
        .build()
        .expect("valid configuration");
    tracing_subscriber::registry().with(siem).init();

    tracing::warn!(
        event_type = "authentication",
        user = "alice",
        action = "login",
        result = "failure",
        source_ip = "203.0.113.7",
        "Failed login"
    );
    tracing::warn!(
        event_type = "authz.access_denied",
        user = "mallory",
        resource = "/admin",
        "Permission denied"
    );

    let handle = guard.handle();
    let report = guard.shutdown(Duration::from_secs(5));
    for d in handle.metrics().destinations {
        println!("{d}");
    }
    if !report.completed {
        println!("not delivered: {:?}", report.undelivered);
    }
}
