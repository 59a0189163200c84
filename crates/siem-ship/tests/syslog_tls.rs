//! Syslog over TLS (RFC 5425) to a real rsyslog (gtls driver) with a CA made at test time:
//! delivery with verification, mutual TLS, and clear refusals of a wrong CA or host name.
#![cfg(feature = "tls")]

mod syslog_support;

use serde_json::json;
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::Sink;
use syslog_support::{assert_received, batch_of, rfc5424, Pki, Rsyslog};

fn start(require_client_cert: bool) -> Option<(Rsyslog, Pki)> {
    let pki = Pki::generate();
    Rsyslog::start(pki.input(require_client_cert)).map(|r| (r, pki))
}

#[test]
fn verified_tls_delivers_every_message_byte_for_byte() {
    let Some((rsyslog, pki)) = start(false) else {
        return;
    };
    // The certificate names `localhost` and 127.0.0.1; connect by name.
    let config = SyslogConfig::tls("localhost")
        .port(rsyslog.port())
        .ca_file(&pki.ca);
    let mut sink = SyslogSink::new(config).unwrap();
    assert!(sink.warnings().is_empty());
    let messages: Vec<String> = (0..300)
        .map(|i| {
            rfc5424(
                i,
                &format!(r#"[siem@32473 user="u{i}"]"#),
                "over TLS\nwith a line break",
            )
        })
        .collect();
    sink.send(&batch_of(&messages[..100])).unwrap();
    sink.send(&batch_of(&messages[100..])).unwrap();
    sink.close().unwrap();
    assert_received(&rsyslog.messages(300), &messages);
    assert_eq!(
        rsyslog.structured_data(300)[299],
        json!({"siem@32473": {"user": "u299"}})
    );
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let Some((rsyslog, pki)) = start(true) else {
        return;
    };
    let config = SyslogConfig::tls("127.0.0.1")
        .port(rsyslog.port())
        .ca_file(&pki.ca)
        .client_cert(&pki.client_cert, &pki.client_key);
    let mut sink = SyslogSink::new(config).unwrap();
    let debug = format!("{sink:?}");
    assert!(
        !debug.contains("PRIVATE"),
        "no key material in Debug: {debug}"
    );
    let messages = vec![rfc5424(1, "-", "mutually authenticated")];
    sink.send(&batch_of(&messages)).unwrap();
    sink.close().unwrap();
    assert_received(&rsyslog.messages(1), &messages);
}

#[test]
fn a_certificate_from_another_ca_is_refused_with_a_clear_error() {
    let Some((rsyslog, pki)) = start(false) else {
        return;
    };
    let config = SyslogConfig::tls("localhost")
        .port(rsyslog.port())
        .ca_file(&pki.other_ca);
    let mut sink = SyslogSink::new(config).unwrap();
    let err = sink
        .send(&batch_of(&[rfc5424(1, "-", "secret")]))
        .unwrap_err();
    assert!(
        err.message().contains("not signed by a trusted CA"),
        "{err}"
    );
    assert!(err.message().contains("tls.ca_file"), "{err}");
    assert_eq!(sink.peer(), None);
    assert!(rsyslog.messages(0).is_empty());
}

#[test]
fn a_certificate_for_another_name_is_refused_with_a_clear_error() {
    let Some((rsyslog, pki)) = start(false) else {
        return;
    };
    let config = SyslogConfig::tls("127.0.0.1")
        .port(rsyslog.port())
        .ca_file(&pki.ca)
        .server_name("siem.example.com");
    let mut sink = SyslogSink::new(config).unwrap();
    let err = sink
        .send(&batch_of(&[rfc5424(1, "-", "secret")]))
        .unwrap_err();
    assert!(
        err.message()
            .contains("not valid for the name \"siem.example.com\""),
        "{err}"
    );
    assert!(rsyslog.messages(0).is_empty());
}

#[test]
fn disabling_verification_takes_a_named_option_and_warns() {
    let Some((rsyslog, _pki)) = start(false) else {
        return;
    };
    let config = SyslogConfig::tls("127.0.0.1")
        .port(rsyslog.port())
        .dangerous_disable_verification();
    let mut sink = SyslogSink::new(config).unwrap();
    assert_eq!(sink.warnings().len(), 1);
    assert!(sink.warnings()[0].contains("NOT verified"));
    let messages = vec![rfc5424(1, "-", "unverified")];
    sink.send(&batch_of(&messages)).unwrap();
    sink.close().unwrap();
    assert_received(&rsyslog.messages(1), &messages);
}

#[test]
fn unreadable_or_malformed_tls_files_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let err = SyslogSink::new(SyslogConfig::tls("localhost").ca_file(&garbage)).unwrap_err();
    assert_eq!(err.key(), "tls.ca_file");

    let pki = Pki::generate();
    // The key of another certificate does not fit.
    let mismatched = SyslogConfig::tls("localhost")
        .ca_file(&pki.ca)
        .client_cert(&pki.client_cert, &pki.server_key);
    let err = SyslogSink::new(mismatched).unwrap_err();
    assert_eq!(err.key(), "tls.client_key");
    let text = err.to_string();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let key_pem = std::fs::read_to_string(&pki.server_key).unwrap();
    let key_body = key_pem.lines().nth(1).unwrap();
    assert!(!text.contains(key_body), "the key never appears in errors");

    let missing = SyslogConfig::tls("localhost")
        .ca_file(&pki.ca)
        .client_cert(&pki.client_cert, dir.path().join("nope.pem"));
    let err = SyslogSink::new(missing).unwrap_err();
    assert_eq!(err.key(), "tls.client_key");
    assert!(err.to_string().contains("nope.pem"));
}

#[test]
fn each_backup_is_verified_against_its_own_name() {
    let Some((rsyslog, pki)) = start(false) else {
        return;
    };
    // The primary is down and names a certificate nobody has; the backup (the real collector,
    // whose certificate covers 127.0.0.1) must be checked against its own address, not the
    // primary's name.
    let down = syslog_support::free_port(false);
    let config = SyslogConfig::tls("localhost")
        .port(down)
        .server_name("primary.example.com")
        .ca_file(&pki.ca)
        .backup("127.0.0.1", Some(rsyslog.port()));
    let mut sink = SyslogSink::new(config).unwrap();
    let messages = vec![rfc5424(1, "-", "via the backup")];
    sink.send(&batch_of(&messages)).unwrap();
    assert_eq!(sink.peer().unwrap().port(), rsyslog.port());
    sink.close().unwrap();
    assert_received(&rsyslog.messages(1), &messages);
}

#[test]
fn a_collector_that_refuses_the_client_is_an_error_not_a_silent_loss() {
    // rsyslog requires a client certificate but checks it only after the handshake, then
    // closes the connection: a sender that wrote at once would lose the batch unnoticed.
    let Some((rsyslog, pki)) = start(true) else {
        return;
    };
    let config = SyslogConfig::tls("127.0.0.1")
        .port(rsyslog.port())
        .ca_file(&pki.ca);
    let mut sink = SyslogSink::new(config).unwrap();
    for _ in 0..2 {
        let err = sink
            .send(&batch_of(&[rfc5424(1, "-", "must not vanish")]))
            .unwrap_err();
        assert!(err.is_retryable());
        assert!(
            err.message().contains("just after accepting it")
                && err.message().contains("tls.client_cert"),
            "{err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
    assert!(rsyslog.stderr().contains("did not provide a certificate"));
    assert!(rsyslog.messages(0).is_empty());
}
