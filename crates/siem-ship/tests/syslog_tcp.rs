//! Syslog over plain TCP to a real rsyslog: octet-counted and LF-framed, exact bytes and
//! structured data as rsyslog parsed them, hostile message content, failover to a backup.

mod syslog_support;

use std::time::Duration;

use serde_json::json;
use siem_ship::sink::syslog::{Framing, SyslogConfig, SyslogSink};
use siem_ship::Sink;
use syslog_support::{assert_received, batch_of, free_port, rfc5424, Input, Rsyslog};

#[test]
fn octet_counted_messages_arrive_byte_for_byte_with_their_structured_data() {
    let Some(rsyslog) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(rsyslog.port())).unwrap();
    let messages: Vec<String> = (0..500)
        .map(|i| {
            rfc5424(
                i,
                &format!(
                    r#"[siem@32473 user="user{i}" src="10.0.{}.{}"]"#,
                    i / 256,
                    i % 256
                ),
                "Failed login",
            )
        })
        .collect();
    // Two batches: the second goes over the connection the first one opened.
    sink.send(&batch_of(&messages[..250])).unwrap();
    sink.send(&batch_of(&messages[250..])).unwrap();
    sink.close().unwrap();

    assert_received(&rsyslog.messages(500), &messages);
    let sd = rsyslog.structured_data(500);
    assert_eq!(sd.len(), 500);
    assert_eq!(
        sd[7],
        json!({"siem@32473": {"user": "user7", "src": "10.0.0.7"}})
    );
    assert_eq!(
        sd[300],
        json!({"siem@32473": {"user": "user300", "src": "10.0.1.44"}})
    );
}

#[test]
fn hostile_content_cannot_forge_a_message_or_a_field() {
    let Some(rsyslog) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(rsyslog.port())).unwrap();
    // SD values escaped as RFC 5424 §6.3.3 says (`"`, `\` and `]`); MSG carries raw bytes that
    // would end a frame or look like one: LF, CR, tab, a second octet-counted header, `|`, `=`.
    let evil_sd_escaped =
        r#"[siem@32473 user="eve\"\] [forged@1 x=\"y\"\]" path="C:\\temp\\x" note="a\]b"]"#;
    let messages = vec![
        rfc5424(
            1,
            evil_sd_escaped,
            "line one\n 40 <34>1 - forged - - - - injected\r\tCEF:0|a\\|b|c=d",
        ),
        rfc5424(2, "-", &"A".repeat(1_000_000)),
        rfc5424(3, "-", "after the big one"),
    ];
    sink.send(&batch_of(&messages)).unwrap();
    sink.close().unwrap();

    assert_received(&rsyslog.messages(3), &messages);
    let sd = rsyslog.structured_data(3);
    assert_eq!(
        sd[0],
        json!({"siem@32473": {"user": "eve\"] [forged@1 x=\"y\"]", "path": "C:\\temp\\x", "note": "a]b"}})
    );
}

#[test]
fn lf_framing_sends_embedded_line_breaks_as_spaces() {
    let Some(rsyslog) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(rsyslog.port())
        .framing(Framing::Lf);
    let mut sink = SyslogSink::new(config).unwrap();
    let messages: Vec<String> = (0..100)
        .map(|i| rfc5424(i, r#"[siem@32473 n="1"]"#, "two\nlines and a NUL\0here"))
        .collect();
    sink.send(&batch_of(&messages)).unwrap();
    sink.close().unwrap();

    let expected: Vec<String> = messages
        .iter()
        .map(|m| m.replace(['\n', '\0'], " "))
        .collect();
    assert_received(&rsyslog.messages(100), &expected);
}

#[test]
fn an_unreachable_primary_fails_over_to_the_backup_and_back() {
    let Some(backup) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let primary_port = free_port(false);
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(primary_port)
        .backup("127.0.0.1", Some(backup.port()))
        .failback_after(Duration::from_millis(200));
    let mut sink = SyslogSink::new(config).unwrap();

    let first = vec![rfc5424(1, "-", "to the backup")];
    sink.send(&batch_of(&first)).unwrap();
    assert_eq!(sink.peer().unwrap().port(), backup.port());
    assert_received(&backup.messages(1), &first);

    // The primary comes up; after `failback_after` the sink moves back to it.
    let Some(primary) = Rsyslog::start_on(Input::Tcp, Some(primary_port)) else {
        return;
    };
    std::thread::sleep(Duration::from_millis(300));
    let second = vec![rfc5424(2, "-", "to the primary")];
    sink.send(&batch_of(&second)).unwrap();
    assert_eq!(sink.peer().unwrap().port(), primary_port);
    sink.close().unwrap();
    assert_received(&primary.messages(1), &second);
    assert_received(&backup.messages(1), &first);
}

#[test]
fn no_collector_at_all_is_a_retryable_error_naming_every_host() {
    let primary = free_port(false);
    let backup = free_port(false);
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(primary)
        .backup("127.0.0.1", Some(backup));
    let mut sink = SyslogSink::new(config).unwrap();
    let err = sink.send(&batch_of(&[rfc5424(1, "-", "x")])).unwrap_err();
    assert!(err.is_retryable());
    assert!(
        err.message().contains(&format!("127.0.0.1:{primary}")),
        "{err}"
    );
    assert!(
        err.message().contains(&format!("127.0.0.1:{backup}")),
        "{err}"
    );
    // Straight away again: the backoff gate answers without touching the network.
    let again = sink.send(&batch_of(&[rfc5424(1, "-", "x")])).unwrap_err();
    assert!(
        again.message().contains("next connection attempt in"),
        "{again}"
    );
}
