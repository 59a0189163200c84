use std::sync::Arc;

use siem_event::{EventType, Severity, Timestamp};

use super::*;

fn encode(e: &SecurityEvent) -> String {
    let mut out = Vec::new();
    CefEncoder::new(&FormatOptions::default())
        .unwrap()
        .encode(e, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_and_extension_escaping_differ() {
    let mut e = SecurityEvent::new(EventType::parse("a|b\\c=d\ne"), "x|y\\z=w\r\nv\u{0}");
    e.severity = Severity::Critical;
    let line = encode(&e);
    assert!(
        line.contains(r"|a\|b\\c=d e|Security Event: a\|b\\c=d e|10|"),
        "{line}"
    );
    assert!(line.contains(r" msg=x|y\\z\=w\r\nv "), "{line}");
    assert!(line.contains(r" cat=a|b\\c\=d\ne "), "{line}");
}

#[test]
fn line_separators_and_bidi_controls_become_spaces() {
    let mut e = SecurityEvent::new(EventType::parse("a\u{2028}b"), "x\u{2029}y\u{85}z");
    e.actor.user = Some("user\u{202E}nimda".into());
    e.push_metadata("note", "\u{2066}a\u{2069}\u{200F}\u{061C}–€");
    let line = encode(&e);
    assert!(line.contains("|a b|Security Event: a b|"), "{line}");
    assert!(line.contains(" msg=x y z "), "{line}");
    assert!(line.contains(" suser=user nimda "), "{line}");
    assert!(line.contains(" note= a   –€ "), "{line}");
}

#[test]
fn fields_and_slots() {
    let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "m");
    e.timestamp = Timestamp::from_unix_millis(1_704_110_400_000);
    e.tenant_id = Some("t".into());
    e.correlation_id = Some("c".into());
    e.actor.source_ip = Some("server-01".into());
    e.target.destination_ip = Some("10.0.0.5".into());
    e.outcome = Outcome::Denied;
    e.labels = Arc::from(vec![
        ("constitutional_hash".to_owned(), "h".to_owned()),
        ("b".to_owned(), "2".to_owned()),
        ("c".to_owned(), "3".to_owned()),
        ("d_e".to_owned(), "4".to_owned()),
    ]);
    e.push_metadata("src", "forged");
    e.push_metadata("dE", "dup");
    e.push_metadata("count", 3i64);
    let line = encode(&e);
    assert!(
        line.contains("|1|rt=1704110400000 msg=m cat=auth.failure outcome=failure "),
        "{line}"
    );
    assert!(line.contains(" shost=server-01 dst=10.0.0.5 "), "{line}");
    assert!(
        line.contains(" cs1=t cs1Label=TenantID cs3=c cs3Label=CorrelationID "),
        "{line}"
    );
    assert!(line.contains(" cs4=h cs4Label=ConstitutionalHash cs5=2 cs5Label=B cs6=3 cs6Label=C dE=4 metaSrc=forged count=3 externalId="), "{line}");
    assert!(!line.contains("dup"), "{line}");
    assert!(line.ends_with(&e.id.to_string()));
}

#[test]
fn truncation_respects_characters_and_escapes() {
    let mut e = SecurityEvent::new(EventType::parse("t"), "é".repeat(600));
    e.action = Some(format!("{}=", "a".repeat(62)));
    e.host = Arc::from("\\".repeat(150).as_str());
    let line = encode(&e);
    let msg = line
        .split(" msg=")
        .nth(1)
        .unwrap()
        .split(" cat=")
        .next()
        .unwrap();
    assert_eq!(msg, "é".repeat(511));
    assert!(
        line.contains(&format!(" act={}\\= ", "a".repeat(62))),
        "{line}"
    );
    assert!(
        line.contains(&format!(" dvchost={} ", "\\\\".repeat(100))),
        "{line}"
    );
}
