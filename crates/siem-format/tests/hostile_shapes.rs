//! Hostile shapes cost linear time: events with thousands of metadata fields, and JSON input
//! with tens of thousands of members. The sizes are chosen so that the quadratic code these
//! tests replace takes many seconds on them (debug build) and the current code well under one;
//! the tests assert on results only.

mod common;

use siem_event::{EventType, SecurityEvent, Value};
use siem_format::{build_encoder, decode_json, DecodeError, Format, FormatOptions};

use common::{parse_cef, parse_leef};

const FIELDS: usize = 10_000;

/// An event with `FIELDS` distinct metadata names, then each of them again with another value.
fn many_fields() -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "many fields");
    for round in 0..2 {
        for i in 0..FIELDS {
            e.push_metadata(format!("field_{i}"), format!("v{round}"));
        }
    }
    e
}

fn encode(format: Format, e: &SecurityEvent) -> String {
    let mut out = Vec::new();
    build_encoder(format, &FormatOptions::default())
        .unwrap()
        .encode(e, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn thousands_of_metadata_fields_are_written_once_each_in_every_format() {
    let e = many_fields();
    let first_value = |key: &str, pairs: &[(String, String)]| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };

    let cef = parse_cef(&encode(Format::Cef, &e)).unwrap();
    let custom = cef
        .extension
        .iter()
        .filter(|(k, _)| k.starts_with("field"))
        .count();
    assert_eq!(custom, FIELDS);
    assert_eq!(first_value("field9999", &cef.extension), ["v0"]);

    let leef = parse_leef(&encode(Format::Leef2, &e)).unwrap();
    let custom = leef
        .attributes
        .iter()
        .filter(|(k, _)| k.starts_with("field"))
        .count();
    assert_eq!(custom, FIELDS);
    assert_eq!(first_value("field0", &leef.attributes), ["v0"]);

    let syslog = encode(Format::Rfc5424, &e);
    let message = syslog_rfc5424::parse_message(&syslog).unwrap();
    let (_, params) = message.sd.iter().next().unwrap();
    let custom = params.keys().filter(|k| k.starts_with("field")).count();
    assert_eq!(custom, FIELDS);
    assert_eq!(params.get("field5000").map(String::as_str), Some("v0"));

    for format in [Format::Json, Format::Ecs, Format::Ocsf] {
        let v: serde_json::Value = serde_json::from_str(&encode(format, &e)).unwrap();
        let metadata = match format {
            Format::Json => &v["metadata"],
            Format::Ecs => &v["tracing_siem"]["metadata"],
            _ => &v["unmapped"]["metadata"],
        };
        let metadata = metadata
            .as_object()
            .unwrap_or_else(|| panic!("{format}: {v}"));
        assert_eq!(metadata.len(), FIELDS, "{format}");
        assert_eq!(metadata["field_1"], "v0", "{format}");
    }
}

#[test]
fn a_json_line_with_thirty_thousand_members_decodes_and_encodes() {
    let members: Vec<String> = (0..30_000).map(|i| format!("\"m{i}\":{i}")).collect();
    let line = format!("{{\"event_type\":\"auth.failure\",{}}}", members.join(","));
    let e = decode_json(line.as_bytes()).unwrap();
    assert_eq!(e.metadata.len(), 30_000);
    assert_eq!(e.metadata("m29999"), Some(&Value::I64(29_999)));
    let v: serde_json::Value = serde_json::from_str(&encode(Format::Json, &e)).unwrap();
    assert_eq!(v["metadata"].as_object().unwrap().len(), 30_000);

    // A repeated member is still found, however late it comes.
    let repeated = format!("{},\"m7\":1}}", line.trim_end_matches('}'));
    assert_eq!(
        decode_json(repeated.as_bytes()).unwrap_err(),
        DecodeError::Field {
            field: "m7".into(),
            reason: "given more than once".into(),
        }
    );
}
