//! Shipping to ArcSight: CEF in BSD (RFC 3164) syslog over TCP, newline-framed, as the ArcSight
//! syslog SmartConnector expects.
//!
//! ```text
//! ARCSIGHT_HOST=arcsight.example.com cargo run --example arcsight
//! ```
//!
//! Without `ARCSIGHT_HOST` it sends to 127.0.0.1 port 514 (e.g. a local rsyslog), so the
//! example runs anywhere and prints what was delivered.

mod common;

use tracing_siem::{BodyFormat, DestinationConfig, Format, FormatOptions, Framing, SyslogConfig};

fn main() {
    let host = std::env::var("ARCSIGHT_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let syslog = SyslogConfig::tcp(host).port(514).framing(Framing::Lf);
    let options = FormatOptions::default()
        .vendor("Acme")
        .product("Payments")
        .body(BodyFormat::Cef);
    common::run(
        DestinationConfig::syslog(syslog)
            .name("arcsight")
            .format(Format::Rfc3164)
            .format_options(options),
    );
}
