//! Property tests: whatever the fields hold, the canonical JSON parses (serde_json) to exactly
//! one object whose fields equal the input, and decodes back to the same event.

use std::sync::Arc;

use proptest::prelude::*;
use siem_event::{EventType, SecurityEvent, Timestamp, Value};
use siem_format::{decode_json, Encoder, JsonEncoder};

/// Text that mixes every character an encoder must handle with arbitrary Unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "|", "=", "\\", "\"", "]", "\r", "\n", "\u{0}", "\t", "\u{2028}", "\u{2029}", "\u{7f}",
        "\u{fffd}", "é", "😀", " ", "{", "}", ",", ":", "\u{85}", "\u{9f}", "\u{202E}", "\u{202A}",
        "\u{2066}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}", "–", "€",
    ]);
    prop::collection::vec(
        prop_oneof![special.prop_map(str::to_owned), any::<String>()],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes that are not valid UTF-8 arrive as lossy text (U+FFFD), as the layer stores them.
fn lossy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![hostile_text(), lossy_text()]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_text().prop_map(Value::Str),
        any::<i64>().prop_map(Value::I64),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::U64),
        any::<f64>().prop_map(Value::F64),
        any::<bool>().prop_map(Value::Bool),
    ]
}

prop_compose! {
    fn any_event()(
        kind in any_text(), message in any_text(), user in proptest::option::of(any_text()),
        ip in proptest::option::of(any_text()), tenant in proptest::option::of(any_text()),
        host in any_text(), label in any_text(), nanos in any::<i64>(),
        meta in prop::collection::vec((any_text(), any_value()), 0..4),
    ) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse(&kind), message);
        e.timestamp = Timestamp::from_unix_nanos(nanos / 1000 * 1000);
        e.actor.user = user;
        e.actor.source_ip = ip;
        e.tenant_id = tenant;
        e.host = Arc::from(host.as_str());
        e.labels = Arc::from(vec![("constitutional_hash".to_owned(), label)]);
        for (k, v) in meta {
            e.push_metadata(k, v);
        }
        e
    }
}

/// Whether `c` must appear in JSON only as an escape: a control (C0, DEL, C1), the Unicode
/// line and paragraph separators, or a bidirectional control.
fn is_unsafe_raw(c: char) -> bool {
    let code = c as u32;
    code < 0x20
        || (0x7f..=0x9f).contains(&code)
        || matches!(code, 0x2028 | 0x2029 | 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
}

fn expected_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Str(s) => s.as_str().into(),
        Value::I64(n) => (*n).into(),
        Value::U64(n) => (*n).into(),
        Value::F64(f) if f.is_finite() => (*f).into(),
        Value::F64(f) if f.is_nan() => "NaN".into(),
        Value::F64(f) if *f > 0.0 => "Infinity".into(),
        Value::F64(_) => "-Infinity".into(),
        Value::Bool(b) => (*b).into(),
    }
}

proptest! {
    #[test]
    fn json_is_one_object_with_the_input_fields(e in any_event()) {
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        prop_assert!(!out.contains(&b'\n') && !out.contains(&b'\r'));
        let text = std::str::from_utf8(&out).unwrap();
        prop_assert!(!text.chars().any(is_unsafe_raw), "{}", text);
        let mut stream = serde_json::Deserializer::from_slice(&out).into_iter::<serde_json::Value>();
        let v = stream.next().unwrap().unwrap();
        prop_assert!(stream.next().is_none(), "more than one JSON value");
        prop_assert_eq!(&v["message"], &serde_json::Value::from(e.message.as_str()));
        prop_assert_eq!(&v["event_type"], &serde_json::Value::from(e.event_type.as_str()));
        prop_assert_eq!(&v["_siem"]["hostname"], &serde_json::Value::from(&*e.host));
        prop_assert_eq!(&v["constitutional_hash"], &serde_json::Value::from(e.labels[0].1.as_str()));
        prop_assert_eq!(v["actor"].get("username").and_then(|u| u.as_str()), e.actor.user.as_deref());
        prop_assert_eq!(v.get("tenant_id").and_then(|u| u.as_str()), e.tenant_id.as_deref());
        let meta = v["metadata"].as_object().unwrap();
        for (i, f) in e.metadata.iter().enumerate() {
            if e.metadata[..i].iter().any(|g| g.name == f.name) {
                continue;
            }
            prop_assert_eq!(&meta[f.name.as_ref()], &expected_value(&f.value));
        }
    }

    #[test]
    fn canonical_json_decodes_to_the_same_event(e in any_event()) {
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        let back = decode_json(&out).unwrap();
        prop_assert_eq!(back.id, e.id);
        prop_assert_eq!(back.timestamp, e.timestamp);
        prop_assert_eq!(back.event_type.as_str(), e.event_type.as_str());
        prop_assert_eq!(&back.message, &e.message);
        prop_assert_eq!(&back.actor, &e.actor);
        prop_assert_eq!(&back.host, &e.host);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_json(&bytes);
    }

    #[test]
    fn mutated_events_never_panic_the_decoder(e in any_event(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut out = Vec::new();
        JsonEncoder::default().encode(&e, &mut out);
        let i = cut.index(out.len());
        out[i] = byte;
        let _ = decode_json(&out);
        let _ = decode_json(&out[..i]);
    }
}

#[test]
fn one_megabyte_fields() {
    let big = "\"\\\n|=]".repeat(200_000);
    let mut e = SecurityEvent::new(EventType::parse("auth.failure"), big.clone());
    e.push_metadata("big", big.clone());
    let mut out = Vec::new();
    JsonEncoder::default().encode(&e, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["message"], big.as_str());
    assert_eq!(decode_json(&out).unwrap().message, big);
}
