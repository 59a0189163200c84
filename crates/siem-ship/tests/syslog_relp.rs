//! Syslog over RELP to a real rsyslog `imrelp`, plain and in TLS: every record acknowledged,
//! and a collector killed (SIGKILL) in the middle of a stream and started again on the same
//! port loses nothing, with exact accounting.

mod syslog_support;

use std::time::Duration;

use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::sink::SinkConfig;
use siem_ship::Sink;
use syslog_support::{
    assert_each_at_least_once, assert_received, batch_of, numbered, rfc5424, ship_numbered, Input,
    Pace, Rsyslog,
};

fn messages(range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| rfc5424(i, &format!(r#"[siem@32473 seq="{i}"]"#), "relp"))
        .collect()
}

fn relp_input(pki: Option<&syslog_support::Pki>) -> Input {
    Input::Relp {
        tls: pki.map(|p| (p.ca.clone(), p.server_cert.clone(), p.server_key.clone())),
    }
}

/// Sends 1 000 records in batches of 250 with a window of 7, and checks that rsyslog holds
/// exactly them, in order, once each.
fn delivers_every_record(rsyslog: &Rsyslog, config: SyslogConfig) {
    let mut sink = SyslogSink::new(config).unwrap();
    let expected = messages(0..1_000);
    for chunk in expected.chunks(250) {
        sink.send(&batch_of(chunk)).unwrap();
    }
    sink.close().unwrap();
    assert_received(&rsyslog.messages(1_000), &expected);
}

#[test]
fn relp_delivers_every_record_once_in_order() {
    let Some(rsyslog) = Rsyslog::start(relp_input(None)) else {
        return;
    };
    let config = SyslogConfig::relp("127.0.0.1")
        .port(rsyslog.port())
        .relp_window(7);
    delivers_every_record(&rsyslog, config);
}

#[cfg(feature = "tls")]
#[test]
fn relp_in_tls_delivers_every_record_once_in_order() {
    let pki = syslog_support::Pki::generate();
    let Some(rsyslog) = Rsyslog::start(relp_input(Some(&pki))) else {
        return;
    };
    let config = SyslogConfig::relp("localhost")
        .port(rsyslog.port())
        .ca_file(&pki.ca)
        .client_cert(&pki.client_cert, &pki.client_key)
        .relp_window(7);
    assert_eq!(
        SyslogSink::new(config.clone()).unwrap().kind(),
        "syslog-relp-tls"
    );
    delivers_every_record(&rsyslog, config);
}

#[test]
fn relp_probe_opens_a_session() {
    let Some(rsyslog) = Rsyslog::start(relp_input(None)) else {
        return;
    };
    let config = SyslogConfig::relp("127.0.0.1").port(rsyslog.port());
    let reached = config.probe(Duration::from_secs(5)).unwrap();
    assert!(reached.starts_with("syslog-relp 127.0.0.1:"), "{reached}");
}

/// Ships `total` numbered events through a pipeline to rsyslog over RELP, kills rsyslog with
/// SIGKILL after `kill_after` and starts it again on the same port: every event must arrive at
/// least once and count as shipped, none as dropped.
fn killed_mid_stream(mut rsyslog: Rsyslog, config: SyslogConfig) {
    let total = 6_000usize;
    let kill_after = 2_000usize;
    let sink = SyslogSink::new(config).unwrap();
    // Flat out: the sink sends batch after batch, so the kill lands in the middle of the
    // stream, not between two quiet batches.
    let d = ship_numbered(Box::new(sink), total, Pace::Flat, |i| {
        if i == kill_after {
            // The session is open and in use when the collector dies, so the sink must notice
            // the break and open a new one.
            rsyslog.messages(1);
            rsyslog.kill();
        }
        if i == kill_after + 1_000 {
            rsyslog.start_again();
        }
    });
    assert_eq!(d.shipped, total as u64, "{d}");
    assert_eq!(d.dropped_total(), 0, "{d}");

    let expected: Vec<String> = (0..total).map(numbered).collect();
    let twice = assert_each_at_least_once(&rsyslog.messages(total), &expected);
    // Only records awaiting their acknowledgement when rsyslog died can come twice: at most a
    // window's worth (here the default, 128) per broken session.
    assert!(twice.len() <= 128, "{} records came twice", twice.len());
}

#[test]
fn relp_collector_killed_mid_stream_loses_nothing() {
    let Some(rsyslog) = Rsyslog::start(relp_input(None)) else {
        return;
    };
    let config = SyslogConfig::relp("127.0.0.1")
        .port(rsyslog.port())
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    killed_mid_stream(rsyslog, config);
}

#[cfg(feature = "tls")]
#[test]
fn relp_in_tls_collector_killed_mid_stream_loses_nothing() {
    let pki = syslog_support::Pki::generate();
    let Some(rsyslog) = Rsyslog::start(relp_input(Some(&pki))) else {
        return;
    };
    let config = SyslogConfig::relp("localhost")
        .port(rsyslog.port())
        .ca_file(&pki.ca)
        .client_cert(&pki.client_cert, &pki.client_key)
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    killed_mid_stream(rsyslog, config);
}
