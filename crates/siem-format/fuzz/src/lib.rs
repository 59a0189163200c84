//! Shared by the fuzz targets: an event built from the fuzzer's bytes, and the checks every
//! encoder's output must pass (no panic, one line, no raw unsafe character, parses back with an
//! independent parser).

use std::sync::Arc;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp, Value};
use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};

#[path = "../../tests/common/parsers.rs"]
pub mod parsers;

fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let bytes: &[u8] = u.arbitrary()?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

fn opt_text(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(if u.arbitrary()? { Some(text(u)?) } else { None })
}

/// An event whose every field comes from the fuzzer (invalid UTF-8 arrives as lossy text).
pub fn event(u: &mut Unstructured<'_>) -> Result<SecurityEvent> {
    let mut e = SecurityEvent::new(EventType::parse(&text(u)?), text(u)?);
    e.timestamp = Timestamp::from_unix_nanos(u.arbitrary()?);
    e.severity = *u.choose(&Severity::ALL)?;
    e.outcome = *u.choose(&[
        Outcome::Success,
        Outcome::Failure,
        Outcome::Denied,
        Outcome::Unknown,
    ])?;
    e.action = opt_text(u)?;
    e.reason = opt_text(u)?;
    e.actor.user = opt_text(u)?;
    e.actor.user_id = opt_text(u)?;
    e.actor.source_ip = opt_text(u)?;
    e.actor.user_agent = opt_text(u)?;
    e.target.resource = opt_text(u)?;
    e.target.method = opt_text(u)?;
    e.target.destination_ip = opt_text(u)?;
    e.tenant_id = opt_text(u)?;
    e.agent_id = opt_text(u)?;
    e.correlation_id = opt_text(u)?;
    e.source = opt_text(u)?;
    e.host = Arc::from(text(u)?.as_str());
    e.app = Arc::from(text(u)?.as_str());
    let mut labels = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        labels.push((text(u)?, text(u)?));
    }
    e.labels = Arc::from(labels);
    for _ in 0..u.int_in_range(0..=4)? {
        let name = text(u)?;
        let value = match u.int_in_range(0..=4)? {
            0 => Value::Str(text(u)?),
            1 => Value::I64(u.arbitrary()?),
            2 => Value::U64(u.arbitrary()?),
            3 => Value::F64(u.arbitrary()?),
            _ => Value::Bool(u.arbitrary()?),
        };
        e.push_metadata(name, value);
    }
    Ok(e)
}

fn encode(format: Format, options: &FormatOptions, e: &SecurityEvent) -> String {
    let mut out = Vec::new();
    build_encoder(format, options)
        .expect("valid options")
        .encode(e, &mut out);
    let line = String::from_utf8(out).expect("encoders write UTF-8");
    assert!(
        !line.contains(['\n', '\r']),
        "{format}: more than one line: {line:?}"
    );
    // TAB may separate LEEF attributes; no other control, Unicode line break or bidi control
    // may pass raw.
    assert!(
        !line.chars().any(|c| c != '\t' && parsers::is_unsafe(c)),
        "{format}: an unsafe character passed raw: {line:?}"
    );
    line
}

fn check_json(line: &str, e: &SecurityEvent, hec: bool) {
    let mut values = serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>();
    let v = values.next().expect("a value").expect("valid JSON");
    assert!(values.next().is_none(), "more than one JSON value");
    let message = if hec {
        &v["event"]["message"]
    } else {
        &v["message"]
    };
    assert_eq!(message.as_str(), Some(e.message.as_str()));
}

fn check_cef(line: &str, e: &SecurityEvent) {
    let cef = parsers::parse_cef(line).unwrap_or_else(|err| panic!("{err}: {line:?}"));
    let id = e.id.to_string();
    assert_eq!(cef.get("externalId"), Some(id.as_str()));
    let msg = (!e.message.is_empty())
        .then(|| parsers::spaced(parsers::cut(&e.message, 1023), &['\r', '\n'], &[]));
    assert_eq!(cef.get("msg"), msg.as_deref());
}

fn check_leef(line: &str, e: &SecurityEvent, delimiter: char) {
    let leef = parsers::parse_leef(line).unwrap_or_else(|err| panic!("{err}: {line:?}"));
    assert_eq!(leef.delimiter, delimiter);
    let id = e.id.to_string();
    assert_eq!(leef.get("eventId"), Some(id.as_str()));
    let msg = (!e.message.is_empty()).then(|| parsers::spaced(&e.message, &[], &[delimiter]));
    assert_eq!(leef.get("msg"), msg.as_deref());
}

/// Encodes the fuzzer's event in `format` (with option variants the fuzzer picks) and checks it.
pub fn check(format: Format, data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(e) = event(&mut u) else { return };
    let mut options = FormatOptions::default();
    match format {
        Format::Json | Format::Ecs | Format::Ocsf => {
            check_json(&encode(format, &options, &e), &e, false)
        }
        Format::Hec => check_json(&encode(format, &options, &e), &e, true),
        Format::Cef => check_cef(&encode(format, &options, &e), &e),
        Format::Leef1 => check_leef(&encode(format, &options, &e), &e, '\t'),
        Format::Leef2 => {
            let Ok(&(setting, delimiter)) =
                u.choose(&[("^", '^'), ("x09", '\t'), ("x7C", '|'), ("xA6", '¦')])
            else {
                return;
            };
            options.leef_delimiter = setting.into();
            check_leef(&encode(format, &options, &e), &e, delimiter);
        }
        Format::Rfc5424 => {
            options.bom = u.arbitrary().unwrap_or(false);
            options.body = *u
                .choose(&[
                    BodyFormat::Message,
                    BodyFormat::Cef,
                    BodyFormat::Leef2,
                    BodyFormat::Json,
                ])
                .unwrap_or(&BodyFormat::Message);
            let line = encode(format, &options, &e);
            let m = syslog_rfc5424::parse_message(&line)
                .unwrap_or_else(|err| panic!("{err:?}: {line:?}"));
            let id = e.id.to_string();
            assert_eq!(m.sd.find_tuple(&options.sd_id, "eventId"), Some(&id));
            match options.body {
                BodyFormat::Cef => check_cef(m.msg.trim_start_matches('\u{feff}'), &e),
                BodyFormat::Leef2 => check_leef(m.msg.trim_start_matches('\u{feff}'), &e, '^'),
                BodyFormat::Json => check_json(m.msg.trim_start_matches('\u{feff}'), &e, false),
                _ => {}
            }
        }
        Format::Rfc3164 => {
            let line = encode(format, &options, &e);
            assert!(line.starts_with('<'));
        }
        // A format added later has no target of its own yet: encoding it must still not panic.
        _ => {
            encode(format, &options, &e);
        }
    }
}
