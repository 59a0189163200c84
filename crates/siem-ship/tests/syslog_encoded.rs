//! Real events through the real encoders (siem-format's RFC 5424, with a plain, CEF or LEEF
//! body) and the syslog sink into a real rsyslog: hostile field values arrive as exactly one
//! message each, and rsyslog's structured-data parser sees the values the event had.

mod syslog_support;

use serde_json::Value;
use siem_event::{EventType, Outcome, SecurityEvent, Severity};
use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};
use siem_ship::sink::syslog::{Framing, SyslogConfig, SyslogSink};
use siem_ship::{Batch, Sink};
use syslog_support::{assert_received, Input, Rsyslog};

/// Values that have broken syslog, CEF and LEEF pipelines elsewhere.
const HOSTILE: &[&str] = &[
    r#"eve"] [forged@1 admin="true"]"#,
    "line\nbreak\r\nand\0nul",
    "tab\there|pipe=equals\\backslash",
    "<34>1 2026-01-01T00:00:00Z forged host - - - second message",
    "ünïcödé ✓",
];

fn events() -> Vec<SecurityEvent> {
    HOSTILE
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let mut e = SecurityEvent::new(EventType::parse("auth.failure"), *value);
            e.severity = Severity::High;
            e.outcome = Outcome::Failure;
            e.actor.user = Some((*value).to_string());
            e.actor.source_ip = Some(format!("10.0.0.{i}"));
            e.push_metadata("note", *value);
            e
        })
        .collect()
}

fn encode(body: BodyFormat, events: &[SecurityEvent]) -> (Batch, Vec<String>) {
    let options = FormatOptions::default().body(body);
    let encoder = build_encoder(Format::Rfc5424, &options).unwrap();
    let mut batch = Batch::default();
    for e in events {
        batch.push_with(|out| encoder.encode(e, out));
    }
    let texts = batch
        .records()
        .map(|r| String::from_utf8(r.to_vec()).unwrap())
        .collect();
    (batch, texts)
}

/// What rsyslog's mmpstrucdata found in the one SD element of a message.
fn params(sd: &Value) -> &serde_json::Map<String, Value> {
    let elements = sd.as_object().expect("structured data");
    assert_eq!(elements.len(), 1, "one SD element, nothing forged: {sd}");
    elements.values().next().unwrap().as_object().unwrap()
}

fn control_as_space(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn check(rsyslog: &Rsyslog, expected: &[String]) {
    assert_received(&rsyslog.messages(expected.len()), expected);
    let sd = rsyslog.structured_data(expected.len());
    for (i, value) in HOSTILE.iter().enumerate() {
        let p = params(&sd[i]);
        // The encoder turns control characters into spaces; everything else is kept.
        assert_eq!(p["user"], control_as_space(value), "message {i}");
        assert_eq!(p["note"], control_as_space(value), "message {i}");
        assert_eq!(p["srcIp"], format!("10.0.0.{i}"));
        assert_eq!(p["severity"], "high");
    }
}

#[test]
fn rfc5424_events_over_tcp_keep_every_field_intact() {
    let Some(rsyslog) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let (batch, expected) = encode(BodyFormat::Message, &events());
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(rsyslog.port())).unwrap();
    sink.send(&batch).unwrap();
    sink.close().unwrap();
    check(&rsyslog, &expected);
}

#[test]
fn cef_over_syslog_lf_framed_stays_one_message_per_event() {
    let Some(rsyslog) = Rsyslog::start(Input::Tcp) else {
        return;
    };
    let (batch, expected) = encode(BodyFormat::Cef, &events());
    assert!(expected.iter().all(|m| m.contains(" CEF:0|")));
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(rsyslog.port())
        .framing(Framing::Lf);
    let mut sink = SyslogSink::new(config).unwrap();
    sink.send(&batch).unwrap();
    sink.close().unwrap();
    // The encoders leave no raw line break, so LF framing changes nothing.
    check(&rsyslog, &expected);
}

#[test]
fn leef_over_syslog_udp() {
    let Some(rsyslog) = Rsyslog::start(Input::Udp) else {
        return;
    };
    let (batch, expected) = encode(BodyFormat::Leef2, &events());
    assert!(expected.iter().all(|m| m.contains(" LEEF:2.0|")));
    let config = SyslogConfig::udp("127.0.0.1")
        .port(rsyslog.port())
        .max_datagram_size(8192);
    let mut sink = SyslogSink::new(config).unwrap();
    sink.send(&batch).unwrap();
    check(&rsyslog, &expected);
}
