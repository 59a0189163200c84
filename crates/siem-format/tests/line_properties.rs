//! Proof that nothing can be forged: for arbitrary field values (`|`, `=`, `\`, `"`, `]`, CR,
//! LF, NUL, tabs, lossy-decoded invalid UTF-8, long text), each output parses with an
//! independent parser into exactly one record whose fields equal the input after the format's
//! documented escaping, cleaning and truncation.

mod common;

use std::net::IpAddr;

use proptest::prelude::*;
use siem_event::{Outcome, SecurityEvent};
use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};

use common::{any_event, cut, is_unsafe, parse_cef, parse_leef, spaced};

fn encode(format: Format, options: &FormatOptions, e: &SecurityEvent) -> String {
    let mut out = Vec::new();
    build_encoder(format, options).unwrap().encode(e, &mut out);
    String::from_utf8(out).expect("every encoder writes UTF-8")
}

/// What a CEF extension value reads back as: cut, then controls other than CR/LF as spaces.
fn cef_value(s: &str, max: usize) -> String {
    spaced(cut(s, max), &['\r', '\n'], &[])
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|v| !v.is_empty())
}

fn is_ip(s: &str) -> bool {
    s.trim().parse::<IpAddr>().is_ok()
}

fn check_cef(e: &SecurityEvent, line: &str) -> Result<(), TestCaseError> {
    let cef = parse_cef(line).map_err(|err| TestCaseError::fail(format!("{err}: {line:?}")))?;
    let original = e.event_type.original();
    prop_assert_eq!(&cef.header[4], &spaced(cut(original, 1023), &[], &[]));
    prop_assert_eq!(
        &cef.header[5],
        &format!("Security Event: {}", spaced(cut(original, 496), &[], &[]))
    );
    prop_assert_eq!(&cef.header[6], &e.severity.cef().to_string());
    let rt = e.timestamp.unix_millis().to_string();
    prop_assert_eq!(cef.get("rt"), Some(rt.as_str()));
    let expect = |key: &str, value: Option<&str>, max: usize| -> Result<(), TestCaseError> {
        let want = non_empty(value).map(|v| cef_value(v, max));
        prop_assert_eq!(cef.get(key), want.as_deref(), "key {}", key);
        Ok(())
    };
    expect("msg", Some(&e.message), 1023)?;
    expect("cat", Some(original), 1023)?;
    expect("act", e.action.as_deref(), 63)?;
    expect("reason", e.reason.as_deref(), 1023)?;
    expect("suser", e.actor.user.as_deref(), 1023)?;
    expect("suid", e.actor.user_id.as_deref(), 1023)?;
    let src = e.actor.source_ip.as_deref();
    expect("src", src.filter(|s| is_ip(s)), 1023)?;
    expect("shost", src.filter(|s| !is_ip(s)), 1023)?;
    let dst = e.target.destination_ip.as_deref();
    expect("dst", dst.filter(|s| is_ip(s)), 1023)?;
    expect("dhost", dst.filter(|s| !is_ip(s)), 1023)?;
    expect(
        "requestClientApplication",
        e.actor.user_agent.as_deref(),
        1023,
    )?;
    expect("request", e.target.resource.as_deref(), 1023)?;
    expect("requestMethod", e.target.method.as_deref(), 1023)?;
    expect("dvchost", Some(&e.host), 100)?;
    expect("deviceProcessName", Some(&e.app), 1023)?;
    expect("deviceFacility", e.source.as_deref(), 1023)?;
    expect("cs1", e.tenant_id.as_deref(), 4000)?;
    expect("cs2", e.agent_id.as_deref(), 4000)?;
    expect("cs3", e.correlation_id.as_deref(), 4000)?;
    let outcome = match e.outcome {
        Outcome::Success => Some("success"),
        Outcome::Failure | Outcome::Denied => Some("failure"),
        Outcome::Unknown => None,
    };
    expect("outcome", outcome, 63)?;
    let labels: Vec<&str> = e
        .labels
        .iter()
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
        .collect();
    for (slot, value) in ["cs4", "cs5", "cs6"].iter().zip(labels.iter()) {
        expect(slot, Some(value), 4000)?;
    }
    let id = e.id.to_string();
    prop_assert_eq!(cef.get("externalId"), Some(id.as_str()));
    prop_assert_eq!(&cef.extension.last().unwrap().0, "externalId");
    Ok(())
}

fn check_leef(e: &SecurityEvent, line: &str, delimiter: char) -> Result<(), TestCaseError> {
    let leef = parse_leef(line).map_err(|err| TestCaseError::fail(format!("{err}: {line:?}")))?;
    prop_assert_eq!(leef.delimiter, delimiter);
    let clean = |s: &str| spaced(s, &[], &[delimiter]);
    prop_assert_eq!(
        &leef.header[4],
        &spaced(cut(e.event_type.original(), 255), &[], &[delimiter, '|'])
    );
    let expect = |key: &str, value: Option<&str>| -> Result<(), TestCaseError> {
        let want = non_empty(value).map(clean);
        prop_assert_eq!(leef.get(key), want.as_deref(), "key {}", key);
        Ok(())
    };
    let sev = e.severity.leef().to_string();
    prop_assert_eq!(leef.get("sev"), Some(sev.as_str()));
    expect("msg", Some(&e.message))?;
    expect("cat", Some(e.event_type.original()))?;
    expect("usrName", e.actor.user.as_deref().map(|u| cut(u, 255)))?;
    let src = e.actor.source_ip.as_deref();
    expect("src", src.filter(|s| is_ip(s)))?;
    expect("srcHost", src.filter(|s| !is_ip(s)))?;
    expect(
        "identSrc",
        src.filter(|s| is_ip(s) && e.actor.user.is_some()),
    )?;
    let dst = e.target.destination_ip.as_deref();
    expect("dst", dst.filter(|s| is_ip(s)))?;
    expect("dstHost", dst.filter(|s| !is_ip(s)))?;
    expect("resource", e.target.resource.as_deref())?;
    expect("eventType", Some(e.event_type.as_str()))?;
    expect("outcome", Some(e.outcome.as_str()))?;
    expect("action", e.action.as_deref())?;
    expect("reason", e.reason.as_deref())?;
    expect("userId", e.actor.user_id.as_deref())?;
    expect("userAgent", e.actor.user_agent.as_deref())?;
    expect("method", e.target.method.as_deref())?;
    expect("tenantId", e.tenant_id.as_deref())?;
    expect("agentId", e.agent_id.as_deref())?;
    expect("correlationId", e.correlation_id.as_deref())?;
    expect("source", e.source.as_deref())?;
    expect("hostName", Some(&e.host))?;
    expect("app", Some(&e.app))?;
    let id = e.id.to_string();
    prop_assert_eq!(leef.get("eventId"), Some(id.as_str()));
    Ok(())
}

fn printable(s: &str, max: usize) -> Option<String> {
    let mut kept: String = s
        .bytes()
        .filter(|b| (33..=126).contains(b))
        .take(max)
        .map(char::from)
        .collect();
    if kept.parse::<IpAddr>().is_err() {
        kept = kept.trim_end_matches(':').to_owned();
    }
    (!kept.is_empty() && kept != "-").then_some(kept)
}

fn check_rfc5424(
    e: &SecurityEvent,
    line: &str,
    options: &FormatOptions,
) -> Result<String, TestCaseError> {
    prop_assert!(!line.contains(['\n', '\r']));
    let m = syslog_rfc5424::parse_message(line)
        .map_err(|err| TestCaseError::fail(format!("{err:?}: {line:?}")))?;
    prop_assert_eq!(m.severity as u8, e.severity.syslog());
    prop_assert_eq!(m.facility as u8, options.facility.code().unwrap());
    prop_assert_eq!(m.timestamp, Some(e.timestamp.unix_secs()));
    prop_assert_eq!(
        m.timestamp_nanos,
        Some(e.timestamp.subsec_nanos() / 1000 * 1000)
    );
    prop_assert_eq!(m.hostname, printable(&e.host, 255));
    let app = if e.app.is_empty() {
        options.product.as_str()
    } else {
        &e.app
    };
    prop_assert_eq!(m.appname, printable(app, 48));
    prop_assert_eq!(m.msgid, printable(e.event_type.original(), 32));
    prop_assert!(m.procid.is_none());
    prop_assert_eq!(m.sd.len(), 1);
    let sd = m.sd.find_sdid(&options.sd_id).unwrap();
    let clean = |s: &str| spaced(s, &[], &[]);
    let expect = |key: &str, value: Option<&str>| -> Result<(), TestCaseError> {
        let want = value.map(clean);
        prop_assert_eq!(
            sd.get(key).map(String::as_str),
            want.as_deref(),
            "param {}",
            key
        );
        Ok(())
    };
    expect("severity", Some(e.severity.as_str()))?;
    expect("eventType", Some(e.event_type.as_str()))?;
    expect("outcome", Some(e.outcome.as_str()))?;
    expect("user", e.actor.user.as_deref())?;
    expect("userId", e.actor.user_id.as_deref())?;
    expect("srcIp", e.actor.source_ip.as_deref())?;
    expect("userAgent", e.actor.user_agent.as_deref())?;
    expect("resource", e.target.resource.as_deref())?;
    expect("method", e.target.method.as_deref())?;
    expect("dstIp", e.target.destination_ip.as_deref())?;
    expect("tenantId", e.tenant_id.as_deref())?;
    expect("agentId", e.agent_id.as_deref())?;
    expect("correlationId", e.correlation_id.as_deref())?;
    expect("action", e.action.as_deref())?;
    expect("reason", e.reason.as_deref())?;
    expect("source", e.source.as_deref())?;
    let id = e.id.to_string();
    expect("eventId", Some(&id))?;

    let loose = syslog_loose::parse_message(line, syslog_loose::Variant::RFC5424);
    prop_assert_eq!(
        loose.protocol,
        syslog_loose::Protocol::RFC5424(1),
        "{:?}",
        line
    );
    prop_assert_eq!(loose.structured_data.len(), 1);
    Ok(m.msg)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cef_fields_round_trip(e in any_event()) {
        let line = encode(Format::Cef, &FormatOptions::default(), &e);
        check_cef(&e, &line)?;
    }

    #[test]
    fn leef1_fields_round_trip(e in any_event()) {
        let line = encode(Format::Leef1, &FormatOptions::default(), &e);
        check_leef(&e, &line, '\t')?;
    }

    #[test]
    fn leef2_fields_round_trip(
        e in any_event(),
        (setting, delimiter) in prop::sample::select(vec![("^", '^'), ("x09", '\t'), ("0x7C", '|'), ("xA6", '¦'), ("~", '~')]),
    ) {
        let options = FormatOptions::default().leef_delimiter(setting);
        let line = encode(Format::Leef2, &options, &e);
        check_leef(&e, &line, delimiter)?;
    }

    #[test]
    fn rfc5424_fields_round_trip(e in any_event(), bom in any::<bool>()) {
        let options = FormatOptions::default().bom(bom);
        let line = encode(Format::Rfc5424, &options, &e);
        let msg = check_rfc5424(&e, &line, &options)?;
        let expected = if e.message.is_empty() {
            String::new()
        } else {
            format!("{}{}", if bom { "\u{feff}" } else { "" }, spaced(&e.message, &[], &[]))
        };
        prop_assert_eq!(msg, expected);
    }

    #[test]
    fn cef_and_leef_and_json_over_rfc5424(e in any_event(), body in prop::sample::select(vec![BodyFormat::Cef, BodyFormat::Leef2, BodyFormat::Json])) {
        let options = FormatOptions::default().body(body);
        let line = encode(Format::Rfc5424, &options, &e);
        let msg = check_rfc5424(&e, &line, &options)?;
        match body {
            BodyFormat::Cef => check_cef(&e, &msg)?,
            BodyFormat::Leef2 => check_leef(&e, &msg, '^')?,
            _ => {
                let v: serde_json::Value = serde_json::from_str(&msg).unwrap();
                prop_assert_eq!(v["message"].as_str(), Some(e.message.as_str()));
            }
        }
    }

    #[test]
    fn rfc3164_is_one_line_with_the_message(e in any_event()) {
        let line = encode(Format::Rfc3164, &FormatOptions::default(), &e);
        prop_assert!(!line.contains(['\n', '\r']));
        let pri = format!("<{}>", 16 * 8 + u32::from(e.severity.syslog()));
        prop_assert!(line.starts_with(&pri));
        // The header has no year; tell the parser the event's (Feb 29 exists only in some).
        let year = chrono::Datelike::year(
            &chrono::DateTime::from_timestamp_nanos(e.timestamp.unix_nanos()),
        );
        let m = syslog_loose::parse_message_with_year(&line, |_| year, syslog_loose::Variant::RFC3164);
        prop_assert_eq!(m.protocol, syslog_loose::Protocol::RFC3164);
        let cleaned = spaced(&e.message, &[], &[]);
        let app: String = e.app.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
        let tag = if app.is_empty() { "tracingsiem".to_owned() } else { app };
        prop_assert!(line.ends_with(&format!(" {tag}: {cleaned}")), "{line:?}");
        let host = if e.host.trim().parse::<IpAddr>().is_ok() {
            e.host.to_string()
        } else {
            e.host.split('.').next().unwrap().chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .collect()
        };
        let host = if host.is_empty() { "-".to_owned() } else { host };
        prop_assert!(line.contains(&format!(" {host} {tag}: ")), "{line:?}");
        if host != "-" {
            prop_assert_eq!(m.hostname, Some(host.as_str()));
        }
        // (syslog_loose trims the line, and then reads a bare "tag:" at its end as no tag.)
        if !cleaned.trim().is_empty() {
            prop_assert_eq!(m.appname, Some(tag.as_str()));
        }
        let ts = m.timestamp.unwrap();
        // The header has no zone or year: compare the wall-clock time of day as written.
        let written = chrono::Timelike::num_seconds_from_midnight(&ts.naive_local().time());
        prop_assert_eq!(i64::from(written), e.timestamp.unix_secs().rem_euclid(86_400));
    }

    #[test]
    fn no_format_passes_an_unsafe_character_raw(e in any_event(), body in prop::sample::select(vec![BodyFormat::Message, BodyFormat::Cef, BodyFormat::Leef2, BodyFormat::Json])) {
        // Controls, NEL, U+2028/U+2029 and bidi controls: TAB alone may separate LEEF 1.0
        // attributes, as the format requires.
        let options = FormatOptions::default().body(body);
        for format in Format::ALL {
            let line = encode(format, &options, &e);
            let allowed = |c: char| format == Format::Leef1 && c == '\t';
            let raw: Vec<char> = line.chars().filter(|&c| is_unsafe(c) && !allowed(c)).collect();
            prop_assert!(raw.is_empty(), "{} lets {:?} through: {:?}", format, raw, line);
        }
    }

    #[test]
    fn json_family_is_one_value(e in any_event(), format in prop::sample::select(vec![Format::Json, Format::Ecs, Format::Ocsf, Format::Hec])) {
        let line = encode(format, &FormatOptions::default(), &e);
        let one_line = !line.contains(['\n', '\r', '\u{2028}', '\u{2029}']);
        prop_assert!(one_line);
        let mut values = serde_json::Deserializer::from_str(&line).into_iter::<serde_json::Value>();
        let v = values.next().unwrap().unwrap();
        prop_assert!(values.next().is_none());
        let message = match format {
            Format::Hec => &v["event"]["message"],
            _ => &v["message"],
        };
        prop_assert_eq!(message.as_str(), Some(e.message.as_str()));
        if format == Format::Hec {
            prop_assert!(v["fields"].as_object().unwrap().values().all(|f| f.is_string()));
            prop_assert!(v["time"].is_number());
        }
    }
}

#[test]
fn one_megabyte_fields_in_every_format() {
    let big = "|=\\\"]\r\n\u{0}\té😀 x=y ".repeat(60_000);
    assert!(big.len() > 1_000_000);
    let mut e = SecurityEvent::new(siem_event::EventType::parse(&big), big.clone());
    e.actor.user = Some(big.clone());
    e.tenant_id = Some(big.clone());
    e.push_metadata(big.clone(), big.clone());
    e.labels = std::sync::Arc::from(vec![(big.clone(), big.clone())]);
    for format in Format::ALL {
        let line = encode(format, &FormatOptions::default(), &e);
        assert!(!line.contains(['\n', '\r']), "{format}");
        match format {
            Format::Cef => check_cef(&e, &line).unwrap(),
            Format::Leef1 => check_leef(&e, &line, '\t').unwrap(),
            Format::Leef2 => check_leef(&e, &line, '^').unwrap(),
            Format::Rfc5424 => {
                check_rfc5424(&e, &line, &FormatOptions::default()).unwrap();
            }
            Format::Rfc3164 => assert!(line.ends_with(&spaced(&big, &[], &[]))),
            _ => {
                serde_json::from_str::<serde_json::Value>(&line).unwrap();
            }
        }
    }
}
