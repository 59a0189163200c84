//! Shipping to ArcSight: CEF in BSD (RFC 3164) syslog over TCP, LF-framed, as the ArcSight syslog SmartConnector expects.
//!
//! ```text
//! ARCSIGHT_HOST=arcsight.example.com cargo run --example arcsight
//! ```
//!
//! Without `ARCSIGHT_HOST` it sends to 127.0.0.1 over TCP port 514 (e.g. a local rsyslog), so the
//! example runs anywhere; `send-test`-style counts are printed at the end.

use std::time::Duration;

use tracing_siem::format::{BodyFormat, Format, FormatOptions};
use tracing_siem::ship::sink::syslog::{Framing, SyslogConfig};
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

fn main() {
    let syslog = match std::env::var("ARCSIGHT_HOST") {
        Ok(host) => SyslogConfig::tcp(host).with_framing(Framing::Lf),
        Err(_) => SyslogConfig::tcp("127.0.0.1")
            .with_port(514)
            .with_framing(Framing::Lf),
    };
    let options = FormatOptions {
        vendor: "Acme".into(),
        product: "Payments".into(),
        body: BodyFormat::Cef,
        ..FormatOptions::default()
    };
    let (siem, guard) = SiemLayer::builder()
        .app("payments")
        .destination(
            DestinationConfig::syslog(syslog)
                .name("arcsight")
                .format(Format::Rfc3164)
                .format_options(options),
        )
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
