//! `SinkConfig::probe` for syslog (what `siem check --connect` runs): one connection, with the
//! TLS handshake, to a real peer on loopback; a failure says why.
#![cfg(feature = "tls")]

mod syslog_support;

use std::net::TcpListener;
use std::time::Duration;

use siem_ship::sink::syslog::SyslogConfig;
use siem_ship::sink::SinkConfig;
use syslog_support::{tcp_blackhole, tls_blackhole};

const TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn a_verified_tls_handshake_is_reachable_and_a_wrong_ca_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = tls_blackhole(dir.path());
    let config = SyslogConfig::tls("localhost").port(port).ca_file(&ca);
    let reached = config.probe(TIMEOUT).unwrap();
    assert!(
        reached.starts_with(&format!("syslog-tls localhost:{port} reachable at")),
        "{reached}"
    );

    let other = tempfile::tempdir().unwrap();
    let (_, wrong_ca) = tls_blackhole(other.path());
    let why = SyslogConfig::tls("localhost")
        .port(port)
        .ca_file(&wrong_ca)
        .probe(TIMEOUT)
        .unwrap_err();
    assert!(
        why.contains("syslog-tls: cannot connect to localhost"),
        "{why}"
    );
    assert!(why.to_lowercase().contains("certificate"), "{why}");
}

#[test]
fn a_backup_answers_when_the_primary_does_not() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let backup = tcp_blackhole();
    let reached = SyslogConfig::tcp("127.0.0.1")
        .port(closed)
        .backup("127.0.0.1", Some(backup))
        .probe(TIMEOUT)
        .unwrap();
    assert!(reached.ends_with("(a backup)"), "{reached}");
    assert!(
        reached.contains(&format!("127.0.0.1:{backup}")),
        "{reached}"
    );
}

#[test]
fn an_invalid_configuration_is_not_probed() {
    let why = SyslogConfig::udp("127.0.0.1")
        .max_datagram_size(10)
        .probe(TIMEOUT)
        .unwrap_err();
    assert!(why.starts_with("max_datagram_size:"), "{why}");
    let udp = SyslogConfig::udp("127.0.0.1")
        .port(5514)
        .probe(TIMEOUT)
        .unwrap();
    assert!(udp.contains("resolves to 127.0.0.1:5514"), "{udp}");
}
