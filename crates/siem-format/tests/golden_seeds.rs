//! The seeds' examples: seed 000's CEF, LEEF, syslog and JSON for its sample event, and seed
//! 003's JSON structure.
//!
//! Each example is parsed with the same strict parser as our output, and every field of the
//! example must appear in ours with the same value, except where the example breaks its own
//! format's specification (listed per test). Fields we add are listed too.

mod common;

use std::sync::Arc;

use siem_event::{EventType, SecurityEvent, Severity, Timestamp};
use siem_format::{build_encoder, FacilitySetting, Format, FormatOptions, SignatureName};

use common::{parse_cef, parse_leef};

/// Seed 000's sample: an authentication failure from agent-456 of tenant-123 on server-01.
fn sample(timestamp: Timestamp) -> SecurityEvent {
    let mut e = SecurityEvent::new(
        EventType::parse("authentication_failure"),
        "Failed login attempt",
    );
    e.timestamp = timestamp;
    e.severity = Severity::High;
    e.source = Some("runtime_security_scanner".into());
    e.tenant_id = Some("tenant-123".into());
    e.agent_id = Some("agent-456".into());
    e.host = Arc::from("server-01");
    e.app = Arc::from("EnhancedAgentBus");
    e.labels = Arc::from(vec![(
        "constitutional_hash".to_owned(),
        "cdd01ef066bc6cf2".to_owned(),
    )]);
    e
}

fn seed_options() -> FormatOptions {
    FormatOptions::default()
        .vendor("ACGS-2")
        .product("EnhancedAgentBus")
        .version("2.4.0")
        .facility(FacilitySetting::Name("daemon".into()))
        .sd_id("acgs2@12345")
        .leef_delimiter("x09")
}

fn encode(format: Format, event: &SecurityEvent) -> String {
    encode_with(&seed_options(), format, event)
}

/// Seed 000's own choice of signature: the type as the application named it.
fn encode_seed_signature(format: Format, event: &SecurityEvent) -> String {
    let options = seed_options().signature(SignatureName::Original);
    encode_with(&options, format, event)
}

fn encode_with(options: &FormatOptions, format: Format, event: &SecurityEvent) -> String {
    let mut out = Vec::new();
    build_encoder(format, options)
        .unwrap()
        .encode(event, &mut out);
    String::from_utf8(out).unwrap()
}

const SEED_CEF: &str = "CEF:0|ACGS-2|EnhancedAgentBus|2.4.0|authentication_failure|Security Event: authentication_failure|7|msg=Failed login attempt src=server-01 rt=1704110400000 cat=authentication_failure cs1=tenant-123 cs1Label=TenantID cs2=agent-456 cs2Label=AgentID cs4=cdd01ef066bc6cf2 cs4Label=ConstitutionalHash";

/// Differences from the seed: Signature ID and Name hold the canonical type (`auth.failure`),
/// so that success and failure are two signatures; with `signature: original` they are the
/// seed's. `src` holds an IP address per the CEF dictionary (sourceAddress), so the host name
/// `server-01` goes to `dvchost` (deviceHostName). Added: `deviceProcessName` (app),
/// `deviceFacility` (source) and `externalId` (event id).
#[test]
fn cef_example() {
    let event = sample(Timestamp::from_unix_millis(1_704_110_400_000));
    let ours = parse_cef(&encode(Format::Cef, &event)).unwrap();
    let seed = parse_cef(SEED_CEF).unwrap();
    let mut expected_header = seed.header.clone();
    expected_header[4] = "auth.failure".into();
    expected_header[5] = "Security Event: auth.failure".into();
    assert_eq!(ours.header, expected_header);
    let seed_signature = parse_cef(&encode_seed_signature(Format::Cef, &event)).unwrap();
    assert_eq!(seed_signature.header, seed.header);
    assert_eq!(seed_signature.get("cat"), Some("auth.failure"));
    for (key, value) in &seed.extension {
        match key.as_str() {
            "src" => {
                assert_eq!(ours.get("src"), None);
                assert_eq!(ours.get("dvchost"), Some(value.as_str()));
            }
            _ => assert_eq!(ours.get(key), Some(value.as_str()), "{key}"),
        }
    }
    let mut added: Vec<&str> = ours
        .extension
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| seed.get(k).is_none())
        .collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            "deviceFacility",
            "deviceProcessName",
            "dvchost",
            "externalId"
        ]
    );
    assert_eq!(ours.get("externalId"), Some(event.id.to_string().as_str()));
}

const SEED_LEEF: &str = "LEEF:2.0|ACGS-2|EnhancedAgentBus|2.4.0|authentication_failure|devTime=Jan 01 2025 12:00:00\tcat=authentication_failure\tsev=7\tmsg=Failed login attempt\tsrc=server-01\ttenantId=tenant-123\tagentId=agent-456\tconstitutionalHash=cdd01ef066bc6cf2";

/// Differences from the seed: EventID is the canonical type (`auth.failure`; the seed's with
/// `signature: original`); LEEF 2.0 requires the delimiter header field, absent from the
/// seed (its attributes are TAB-separated, so we configure `x09`); `devTime` in a format other
/// than epoch needs `devTimeFormat`, and we add milliseconds and the zone; `src` holds an IP
/// address, so the host name goes to `hostName`.
#[test]
fn leef_example() {
    let event = sample(Timestamp::from_unix_secs(1_735_732_800));
    let line = encode(Format::Leef2, &event);
    assert!(line.starts_with(
        "LEEF:2.0|ACGS-2|EnhancedAgentBus|2.4.0|auth.failure|x09|devTime=Jan 01 2025 12:00:00.000 UTC\tdevTimeFormat=MMM dd yyyy HH:mm:ss.SSS z\tcat=authentication_failure\tsev=7\tmsg=Failed login attempt\t"
    ), "{line}");
    let ours = parse_leef(&line).unwrap();
    let seed_with_delimiter =
        SEED_LEEF.replacen("authentication_failure|", "authentication_failure|x09|", 1);
    let seed = parse_leef(&seed_with_delimiter).unwrap();
    let seed_signature = parse_leef(&encode_seed_signature(Format::Leef2, &event)).unwrap();
    assert_eq!(seed_signature.header, seed.header);
    let mut expected_header = seed.header.clone();
    expected_header[4] = "auth.failure".into();
    assert_eq!(ours.header, expected_header);
    assert_eq!(ours.get("eventType"), Some("auth.failure"));
    for (key, value) in &seed.attributes {
        match key.as_str() {
            "devTime" => assert_eq!(ours.get(key), Some("Jan 01 2025 12:00:00.000 UTC")),
            "src" => {
                assert_eq!(ours.get("src"), None);
                assert_eq!(ours.get("hostName"), Some(value.as_str()));
            }
            _ => assert_eq!(ours.get(key), Some(value.as_str()), "{key}"),
        }
    }
    // As written, the seed's line is not LEEF 2.0: its first attribute stands where the
    // delimiter field must be.
    assert!(parse_leef(SEED_LEEF).is_err());
}

const SEED_SYSLOG: &str = "<27>1 2025-01-01T12:00:00.000000Z server-01 EnhancedAgentBus - authentication_failure [acgs2@12345 severity=\"high\" constitutionalHash=\"cdd01ef066bc6cf2\" tenantId=\"tenant-123\"] Failed login attempt";

/// Difference: MSGID is the canonical type (`auth.failure`; the seed's with `signature:
/// original`). We add params (`eventType`, `eventTypeOriginal`, `eventId`, `outcome`,
/// `agentId`, `source`).
#[test]
fn syslog_example() {
    let event = sample(Timestamp::from_unix_secs(1_735_732_800));
    let line = encode(Format::Rfc5424, &event);
    assert!(
        line.starts_with("<27>1 2025-01-01T12:00:00.000000Z server-01 EnhancedAgentBus - auth.failure [acgs2@12345 severity=\"high\" eventType=\"auth.failure\" eventTypeOriginal=\"authentication_failure\" "),
        "{line}"
    );
    let line = encode_seed_signature(Format::Rfc5424, &event);
    assert!(line.ends_with("\"] Failed login attempt"), "{line}");
    let ours = syslog_rfc5424::parse_message(&line).unwrap();
    let seed = syslog_rfc5424::parse_message(SEED_SYSLOG).unwrap();
    assert_eq!(ours.severity, seed.severity);
    assert_eq!(ours.facility, seed.facility);
    assert_eq!(ours.timestamp, seed.timestamp);
    assert_eq!(ours.hostname, seed.hostname);
    assert_eq!(ours.appname, seed.appname);
    assert_eq!(ours.procid, seed.procid);
    assert_eq!(ours.msgid, seed.msgid);
    assert_eq!(ours.msg, seed.msg);
    let ours_sd = ours.sd.find_sdid("acgs2@12345").unwrap();
    for (k, v) in seed.sd.find_sdid("acgs2@12345").unwrap() {
        assert_eq!(ours_sd.get(k), Some(v), "{k}");
    }
    assert_eq!(
        ours_sd.get("agentId").map(String::as_str),
        Some("agent-456")
    );
}

const SEED_JSON: &str = r#"{"event_type":"authentication_failure","severity":"high","message":"Failed login attempt","timestamp":"2025-01-01T12:00:00.000000Z","source":"runtime_security_scanner","tenant_id":"tenant-123","agent_id":"agent-456","metadata":{"ip":"192.168.1.100"},"constitutional_hash":"cdd01ef066bc6cf2","correlation_id":"abc123def456","_siem":{"vendor":"ACGS-2","product":"EnhancedAgentBus","version":"2.4.0","hostname":"server-01"}}"#;

/// Difference: `event_type` is the canonical `auth.failure`; the seed's name is kept in
/// `event_type_original`. `_siem` adds `app`.
#[test]
fn json_example() {
    let mut event = sample(Timestamp::from_unix_secs(1_735_732_800));
    event.correlation_id = Some("abc123def456".into());
    event.push_metadata("ip", "192.168.1.100");
    let ours: serde_json::Value = serde_json::from_str(&encode(Format::Json, &event)).unwrap();
    let seed: serde_json::Value = serde_json::from_str(SEED_JSON).unwrap();
    for (key, value) in seed.as_object().unwrap() {
        match key.as_str() {
            "event_type" => {
                assert_eq!(ours["event_type"], "auth.failure");
                assert_eq!(&ours["event_type_original"], value);
            }
            "_siem" => {
                for (k, v) in value.as_object().unwrap() {
                    assert_eq!(&ours["_siem"][k], v, "_siem.{k}");
                }
            }
            _ => assert_eq!(&ours[key], value, "{key}"),
        }
    }
}

const SEED_003_JSON: &str = r#"{"timestamp":"2025-01-27T10:30:00Z","event_type":"auth.failure","severity":"medium","source":{"system":"mockforge","component":"auth","version":"1.0.0"},"actor":{"user_id":"user-123","username":"admin","ip_address":"192.168.1.100","user_agent":"Mozilla/5.0..."},"target":{"resource_type":"api","resource_id":"/api/v1/workspaces","method":"GET"},"outcome":{"success":false,"reason":"Invalid credentials"},"metadata":{"auth_method":"jwt","attempt_count":3,"lockout_triggered":false},"compliance":{"soc2_cc":["CC6"],"iso27001":["A.9.2"]}}"#;

/// Seed 003's JSON structure, read by `decode_json` and written back by the JSON encoder: every
/// object and member of the seed is present with the same value, except `source` (a string in
/// the canonical shape: the component; the system is `_siem.app`) and `compliance`, which is
/// derived from the category (auth events evidence CC4 and CC6, A.12.4 and A.9.4; the seed's
/// A.9.2 is its own mapping for access-management events).
#[test]
fn seed_003_json_structure() {
    let event = siem_format::decode_json(SEED_003_JSON.as_bytes()).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&encode(Format::Json, &event)).unwrap();
    let seed: serde_json::Value = serde_json::from_str(SEED_003_JSON).unwrap();
    for (key, value) in seed.as_object().unwrap() {
        match key.as_str() {
            "timestamp" => assert_eq!(ours["timestamp"], "2025-01-27T10:30:00.000000Z"),
            "source" => {
                assert_eq!(ours["source"], "auth");
                assert_eq!(ours["_siem"]["app"], "mockforge");
            }
            "outcome" => {
                assert_eq!(ours["outcome"]["success"], false);
                assert_eq!(ours["outcome"]["reason"], "Invalid credentials");
                assert_eq!(ours["outcome"]["result"], "failure");
            }
            "compliance" => {
                assert_eq!(
                    ours["compliance"]["soc2_cc"],
                    serde_json::json!(["CC4", "CC6"])
                );
                assert_eq!(
                    ours["compliance"]["iso27001"],
                    serde_json::json!(["A.12.4", "A.9.4"])
                );
            }
            _ => assert_eq!(&ours[key], value, "{key}"),
        }
    }
}
