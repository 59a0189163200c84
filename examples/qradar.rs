//! Shipping to IBM QRadar: LEEF 2.0 inside RFC 5424 syslog over TLS (port 6514).
//!
//! ```text
//! QRADAR_HOST=qradar.example.com QRADAR_CA=/etc/ssl/qradar-ca.pem cargo run --example qradar
//! ```
//!
//! Without `QRADAR_HOST` it sends to 127.0.0.1 over TCP port 514 (e.g. a local rsyslog), so the
//! example runs anywhere and prints what was delivered.

mod common;

use tracing_siem::{BodyFormat, DestinationConfig, Format, FormatOptions, SyslogConfig};

fn main() {
    let syslog = match std::env::var("QRADAR_HOST") {
        Ok(host) => {
            let c = SyslogConfig::tls(host);
            match std::env::var("QRADAR_CA") {
                Ok(ca) => c.ca_file(ca),
                Err(_) => c,
            }
        }
        Err(_) => SyslogConfig::tcp("127.0.0.1").port(514),
    };
    let options = FormatOptions::default()
        .vendor("Acme")
        .product("Payments")
        .body(BodyFormat::Leef2);
    common::run(
        DestinationConfig::syslog(syslog)
            .name("qradar")
            .format(Format::Rfc5424)
            .format_options(options),
    );
}
