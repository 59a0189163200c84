//! Shipping to IBM QRadar: LEEF 2.0 inside RFC 5424 syslog over TLS (port 6514).
//!
//! ```text
//! QRADAR_HOST=qradar.example.com QRADAR_CA=/etc/ssl/qradar-ca.pem cargo run --example qradar
//! ```
//!
//! Without `QRADAR_HOST` it sends to 127.0.0.1 over TCP port 514 (e.g. a local rsyslog), so the
//! example runs anywhere; `send-test`-style counts are printed at the end.

use std::time::Duration;

use tracing_siem::format::{BodyFormat, Format, FormatOptions};
use tracing_siem::ship::sink::syslog::SyslogConfig;
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

fn main() {
    let syslog = match std::env::var("QRADAR_HOST") {
        Ok(host) => {
            let mut c = SyslogConfig::tls(host);
            if let Ok(ca) = std::env::var("QRADAR_CA") {
                c = c.with_ca_file(ca);
            }
            c
        }
        Err(_) => SyslogConfig::tcp("127.0.0.1").with_port(514),
    };
    let options = FormatOptions {
        vendor: "Acme".into(),
        product: "Payments".into(),
        body: BodyFormat::Leef2,
        ..FormatOptions::default()
    };
    let (siem, guard) = SiemLayer::builder()
        .app("payments")
        .destination(
            DestinationConfig::syslog(syslog)
                .name("qradar")
                .format(Format::Rfc5424)
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
