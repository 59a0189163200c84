//! The JSON decoder never panics; what it accepts re-encodes and decodes to the same event.
#![no_main]

use siem_format::{decode_json, Encoder, JsonEncoder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(event) = decode_json(data) {
        let mut out = Vec::new();
        JsonEncoder::default().encode(&event, &mut out);
        let again = decode_json(&out).expect("our own JSON decodes");
        assert_eq!(again.id, event.id);
        assert_eq!(again.timestamp, event.timestamp);
        assert_eq!(again.event_type.as_str(), event.event_type.as_str());
        assert_eq!(again.message, event.message);
        assert_eq!(again.actor, event.actor);
    }
});
