//! Where a SIEM keys its signatures (CEF Signature ID and Name, LEEF EventID, RFC 5424 MSGID):
//! the canonical type by default, so that seed 004's `authentication` success and failure are
//! two signatures, with the application's spelling kept in the record.

mod common;

use siem_event::{EventType, Outcome, SecurityEvent};
use siem_format::{build_encoder, Format, FormatOptions, SignatureName};

use common::{parse_cef, parse_leef};

fn login(outcome: Outcome) -> SecurityEvent {
    let mut e = SecurityEvent::new(
        EventType::parse_with_outcome("authentication", outcome),
        "login",
    );
    e.outcome = outcome;
    e
}

fn encode(options: &FormatOptions, format: Format, event: &SecurityEvent) -> String {
    let mut out = Vec::new();
    build_encoder(format, options)
        .unwrap()
        .encode(event, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn cef_signature_is_the_canonical_type_and_cat_the_given_name() {
    let options = FormatOptions::default();
    let failure = parse_cef(&encode(&options, Format::Cef, &login(Outcome::Failure))).unwrap();
    let success = parse_cef(&encode(&options, Format::Cef, &login(Outcome::Success))).unwrap();
    assert_eq!(failure.header[4], "auth.failure");
    assert_eq!(failure.header[5], "Security Event: auth.failure");
    assert_eq!(success.header[4], "auth.success");
    assert_eq!(failure.get("cat"), Some("authentication"));
    assert_eq!(success.get("cat"), Some("authentication"));
    assert_eq!(failure.get("outcome"), Some("failure"));
}

#[test]
fn cef_original_signature_keeps_the_canonical_type_in_cat() {
    let options = FormatOptions::default().signature(SignatureName::Original);
    let cef = parse_cef(&encode(&options, Format::Cef, &login(Outcome::Failure))).unwrap();
    assert_eq!(cef.header[4], "authentication");
    assert_eq!(cef.header[5], "Security Event: authentication");
    assert_eq!(cef.get("cat"), Some("auth.failure"));
}

#[test]
fn leef_event_id_is_the_canonical_type() {
    for (version, format) in [("1.0", Format::Leef1), ("2.0", Format::Leef2)] {
        let options = FormatOptions::default();
        let failure = parse_leef(&encode(&options, format, &login(Outcome::Failure))).unwrap();
        let success = parse_leef(&encode(&options, format, &login(Outcome::Success))).unwrap();
        assert_eq!(failure.header[0], version);
        assert_eq!(failure.header[4], "auth.failure");
        assert_eq!(success.header[4], "auth.success");
        assert_eq!(failure.get("cat"), Some("authentication"));
        assert_eq!(failure.get("eventType"), Some("auth.failure"));

        let original = FormatOptions::default().signature(SignatureName::Original);
        let leef = parse_leef(&encode(&original, format, &login(Outcome::Failure))).unwrap();
        assert_eq!(leef.header[4], "authentication");
        assert_eq!(leef.get("eventType"), Some("auth.failure"));
    }
}

#[test]
fn rfc5424_msgid_is_the_canonical_type_with_the_original_in_structured_data() {
    let options = FormatOptions::default();
    let line = encode(&options, Format::Rfc5424, &login(Outcome::Failure));
    let msg = syslog_rfc5424::parse_message(&line).unwrap();
    assert_eq!(msg.msgid.as_deref(), Some("auth.failure"));
    let sd = msg.sd.find_sdid("tracingSiem@32473").unwrap();
    assert_eq!(
        sd.get("eventType").map(String::as_str),
        Some("auth.failure")
    );
    assert_eq!(
        sd.get("eventTypeOriginal").map(String::as_str),
        Some("authentication")
    );

    let original = FormatOptions::default().signature(SignatureName::Original);
    let line = encode(&original, Format::Rfc5424, &login(Outcome::Success));
    let msg = syslog_rfc5424::parse_message(&line).unwrap();
    assert_eq!(msg.msgid.as_deref(), Some("authentication"));
}
