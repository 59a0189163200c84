//! Syslog over UDP to a real rsyslog: one message per datagram (sent with sendmmsg in
//! groups), exact bytes, format-aware truncation that rsyslog still parses, and IPv6.

mod syslog_support;

use serde_json::json;
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::Sink;
use syslog_support::{assert_received, batch_of, rfc5424, Input, Rsyslog};

#[test]
fn each_message_is_one_datagram_byte_for_byte() {
    let Some(rsyslog) = Rsyslog::start(Input::Udp) else {
        return;
    };
    let mut sink = SyslogSink::new(SyslogConfig::udp("127.0.0.1").port(rsyslog.port())).unwrap();
    // 150 messages: more than two sendmmsg groups of 64. A line feed inside a message stays
    // inside its datagram: it cannot split it in two.
    let messages: Vec<String> = (0..150)
        .map(|i| rfc5424(i, &format!(r#"[siem@32473 n="{i}"]"#), "udp\nline"))
        .collect();
    sink.send(&batch_of(&messages)).unwrap();
    assert_received(&rsyslog.messages(150), &messages);
    assert_eq!(
        rsyslog.structured_data(150)[149],
        json!({"siem@32473": {"n": "149"}})
    );
}

#[test]
fn long_messages_are_truncated_and_still_parse() {
    let Some(rsyslog) = Rsyslog::start(Input::Udp) else {
        return;
    };
    let config = SyslogConfig::udp("127.0.0.1")
        .port(rsyslog.port())
        .max_datagram_size(480);
    let mut sink = SyslogSink::new(config).unwrap();
    let long_value = "v".repeat(500);
    let header = rfc5424(0, "", "");
    let header = &header[..header.find(" auth.failure ").unwrap() + " auth.failure ".len()];
    let messages = vec![
        // Fits: unchanged.
        format!(r#"{header}[siem@32473 user="alice"] short"#),
        // Structured data fits, MSG is cut on a character boundary (é is two bytes).
        format!(r#"{header}[siem@32473 user="alice"] {}"#, "é".repeat(400)),
        // The long param does not fit: it is dropped whole and the element closed.
        format!(r#"{header}[siem@32473 user="bob" note="{long_value}" more="x\]"] text"#),
    ];
    sink.send(&batch_of(&messages)).unwrap();
    let received = rsyslog.messages(3);
    assert_eq!(received.len(), 3);
    assert_eq!(received[0], messages[0]);
    let sd_part = format!(r#"{header}[siem@32473 user="alice"] "#);
    let room = (480 - sd_part.len()) / 2;
    assert_eq!(received[1], format!("{sd_part}{}", "é".repeat(room)));
    assert!(received[1].len() <= 480);
    assert_eq!(received[2], format!(r#"{header}[siem@32473 user="bob"]"#));
    let sd = rsyslog.structured_data(3);
    assert_eq!(sd[1], json!({"siem@32473": {"user": "alice"}}));
    assert_eq!(sd[2], json!({"siem@32473": {"user": "bob"}}));
}

#[test]
fn ipv6_loopback() {
    let collector = match std::net::UdpSocket::bind("[::1]:0") {
        Ok(socket) => socket,
        Err(e) => {
            syslog_support::skips::skip("no IPv6 loopback", &e.to_string());
            return;
        }
    };
    let port = collector.local_addr().unwrap().port();
    let mut sink = SyslogSink::new(SyslogConfig::udp("::1").port(port)).unwrap();
    let messages = vec![rfc5424(1, "-", "over IPv6"), rfc5424(2, "-", "second")];
    sink.send(&batch_of(&messages)).unwrap();
    assert!(sink.peer().unwrap().is_ipv6());
    let mut buf = [0u8; 2048];
    for m in &messages {
        let n = collector.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], m.as_bytes());
    }
}
