//! Alert notifications (Slack, Teams, PagerDuty, a user's template) against a local server:
//! the exact bytes of each body, hostile field values, one request per alert, 429 with
//! `Retry-After`, and 400 dead-lettered.

#![cfg(feature = "alert_webhook")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use siem_event::{EventId, EventType, SecurityEvent, Severity, Timestamp};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_http::alert_webhook::{AlertTemplate, AlertWebhookConfig};
use siem_http::{HttpOptions, Secret};
use siem_ship::sink::SinkConfig;
use siem_ship::Batch;
use support::{dead_letters, respond, respond_with, Server};

/// A PagerDuty integration key (32 letters and digits).
const KEY: &str = "0123456789abcdef0123456789abcdef";

/// An alert event as the rules engine makes it (`Alert::to_event`).
fn alert(message: &str, user: &str) -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse("alert.threshold"), message);
    e.id = EventId::from_u128(0x0192_3f1e_aaaa_7bbb_8ccc_0000_0000_0001);
    e.timestamp = Timestamp::from_unix_millis(1_718_880_000_123);
    e.severity = Severity::High;
    e.host = Arc::from("web01");
    e.app = Arc::from("appshield");
    e.action = Some("notify_security_team".into());
    e.actor.user = Some(user.into());
    e.push_metadata("rule", "Multiple Auth Failures");
    e.push_metadata("alert_level", "PAGE");
    e.push_metadata("count", 6u64);
    e.push_metadata("threshold", 5u64);
    e
}

fn batch_of(events: &[SecurityEvent]) -> Batch {
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::default();
    for e in events {
        batch.push_with(|out| encoder.encode(e, out));
    }
    batch
}

fn config(template: AlertTemplate, server: &Server) -> AlertWebhookConfig {
    AlertWebhookConfig::new(template)
        .webhook_url(Secret::new(server.url("/hook")))
        .http(HttpOptions::default().allow_insecure_http(true))
}

/// The one body the server received for `event` through `config`.
fn sent(config: &AlertWebhookConfig, server: &Server, event: &SecurityEvent) -> String {
    config.validate().unwrap();
    config
        .open()
        .unwrap()
        .send(&batch_of(std::slice::from_ref(event)))
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].target, "/hook");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    requests[0].text()
}

#[test]
fn slack_gets_an_incoming_webhook_message_with_blocks() {
    let server = Server::start(|_, _| respond(200, "ok"));
    let body = sent(
        &config(AlertTemplate::Slack, &server),
        &server,
        &alert("6 failed logins in 5m", "alice"),
    );
    assert_eq!(
        body,
        concat!(
            r#"{"text":"[HIGH] Multiple Auth Failures: 6 failed logins in 5m","blocks":["#,
            r#"{"type":"header","text":{"type":"plain_text","text":"[HIGH] Multiple Auth Failures"}},"#,
            r#"{"type":"section","text":{"type":"mrkdwn","text":"6 failed logins in 5m"}},"#,
            r#"{"type":"section","fields":["#,
            r#"{"type":"mrkdwn","text":"*Rule*\nMultiple Auth Failures"},"#,
            r#"{"type":"mrkdwn","text":"*Level*\nPAGE"},"#,
            r#"{"type":"mrkdwn","text":"*Severity*\nhigh"},"#,
            r#"{"type":"mrkdwn","text":"*Type*\nalert.threshold"},"#,
            r#"{"type":"mrkdwn","text":"*Count*\n6"},"#,
            r#"{"type":"mrkdwn","text":"*Threshold*\n5"},"#,
            r#"{"type":"mrkdwn","text":"*User*\nalice"},"#,
            r#"{"type":"mrkdwn","text":"*Host*\nweb01"},"#,
            r#"{"type":"mrkdwn","text":"*App*\nappshield"},"#,
            r#"{"type":"mrkdwn","text":"*Action*\nnotify_security_team"}]},"#,
            r#"{"type":"section","fields":["#,
            r#"{"type":"mrkdwn","text":"*Time*\n2024-06-20T10:40:00.123000Z"},"#,
            r#"{"type":"mrkdwn","text":"*Alert id*\n01923f1e-aaaa-7bbb-8ccc-000000000001"}]}]}"#,
        )
    );
}

#[test]
fn teams_gets_an_adaptive_card_message() {
    let server = Server::start(|_, _| respond(202, ""));
    let body = sent(
        &config(AlertTemplate::Teams, &server),
        &server,
        &alert("6 failed logins in 5m", "alice"),
    );
    let facts = [
        ("Rule", "Multiple Auth Failures"),
        ("Level", "PAGE"),
        ("Severity", "high"),
        ("Type", "alert.threshold"),
        ("Count", "6"),
        ("Threshold", "5"),
        ("User", "alice"),
        ("Host", "web01"),
        ("App", "appshield"),
        ("Action", "notify_security_team"),
        ("Time", "2024-06-20T10:40:00.123000Z"),
        ("Alert id", "01923f1e-aaaa-7bbb-8ccc-000000000001"),
    ]
    .iter()
    .map(|(label, value)| {
        format!(
            r#"{{"type":"RichTextBlock","inlines":[{{"type":"TextRun","text":"{label}: ","weight":"Bolder"}},{{"type":"TextRun","text":"{value}"}}]}}"#
        )
    })
    .collect::<Vec<_>>()
    .join(",");
    assert_eq!(
        body,
        format!(
            concat!(
                r#"{{"type":"message","attachments":[{{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"#,
                r#""content":{{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":["#,
                r#"{{"type":"RichTextBlock","inlines":[{{"type":"TextRun","text":"[HIGH] Multiple Auth Failures","weight":"Bolder","size":"Medium","color":"Attention"}}]}},"#,
                r#"{{"type":"RichTextBlock","inlines":[{{"type":"TextRun","text":"6 failed logins in 5m"}}]}},"#,
                r#"{}]}}}}]}}"#,
            ),
            facts
        )
    );
}

#[test]
fn pagerduty_gets_an_events_v2_trigger_deduplicated_by_the_alert_id() {
    let server = Server::start(|_, _| {
        respond(
            202,
            r#"{"status":"success","message":"Event processed","dedup_key":"01923f1e-aaaa-7bbb-8ccc-000000000001"}"#,
        )
    });
    let c = config(AlertTemplate::Pagerduty, &server)
        .routing_key(Secret::new("R0UT1NGK3Y0000000000000000000000"));
    let body = sent(&c, &server, &alert("6 failed logins in 5m", "alice"));
    assert_eq!(
        body,
        concat!(
            r#"{"routing_key":"R0UT1NGK3Y0000000000000000000000","event_action":"trigger","#,
            r#""dedup_key":"01923f1e-aaaa-7bbb-8ccc-000000000001","client":"tracing-siem","#,
            r#""payload":{"summary":"[HIGH] Multiple Auth Failures: 6 failed logins in 5m","#,
            r#""severity":"error","source":"web01","timestamp":"2024-06-20T10:40:00.123000Z","#,
            r#""component":"appshield","group":"Multiple Auth Failures","class":"alert.threshold","#,
            r#""custom_details":{"message":"6 failed logins in 5m","rule":"Multiple Auth Failures","#,
            r#""alert_level":"PAGE","severity":"high","event_type":"alert.threshold","count":"6","#,
            r#""threshold":"5","user":"alice","host":"web01","app":"appshield","#,
            r#""action":"notify_security_team","timestamp":"2024-06-20T10:40:00.123000Z","#,
            r#""alert_id":"01923f1e-aaaa-7bbb-8ccc-000000000001"}}}"#,
        )
    );
    let mut critical = alert("x", "alice");
    critical.severity = Severity::Critical;
    c.open().unwrap().send(&batch_of(&[critical])).unwrap();
    let second: Value = serde_json::from_slice(&server.requests()[1].body).unwrap();
    assert_eq!(second["payload"]["severity"], "critical");
}

#[test]
fn a_custom_template_is_filled_with_the_alert_fields() {
    let server = Server::start(|_, _| respond(200, ""));
    let c = config(AlertTemplate::Custom, &server).custom_template(
        r#"{"title": "{{rule}} on {{host}}", "body": "{{message}}", "who": ["{{user}}"], "id": "{{id}}", "missing": "{{no_such_field}}"}"#,
    );
    let body = sent(&c, &server, &alert("6 failed logins", "alice"));
    assert_eq!(
        body,
        r#"{"title": "Multiple Auth Failures on web01", "body": "6 failed logins", "who": ["alice"], "id": "01923f1e-aaaa-7bbb-8ccc-000000000001", "missing": ""}"#
    );
}

#[test]
fn hostile_field_values_never_change_the_body_shape() {
    let hostile_message = "\", \"routing_key\": \"stolen\", \"x\": \"\\\"}]}\n<!channel> <https://evil.example|click>";
    let hostile_user = "\u{0}\u{1f}\"}\\";
    let e = alert(hostile_message, hostile_user);
    for template in [
        AlertTemplate::Slack,
        AlertTemplate::Teams,
        AlertTemplate::Pagerduty,
        AlertTemplate::Custom,
    ] {
        let server = Server::start(|_, _| respond(200, ""));
        let mut c = config(template, &server);
        match template {
            AlertTemplate::Pagerduty => c = c.routing_key(Secret::new(KEY)),
            AlertTemplate::Custom => {
                c = c.custom_template(r#"{"text": "{{message}}", "user": "{{user}}", "n": 1}"#)
            }
            _ => {}
        }
        let body: Value = serde_json::from_str(&sent(&c, &server, &e)).unwrap();
        match template {
            AlertTemplate::Slack => {
                let text = body["blocks"][1]["text"]["text"].as_str().unwrap();
                assert!(text.contains("&lt;!channel&gt;"), "{text}");
                assert!(!body.to_string().contains("<!channel>"), "{body}");
                assert_eq!(body.as_object().unwrap().len(), 2);
            }
            AlertTemplate::Teams => {
                // Rich text runs only: Teams reads no Markdown link in them.
                let card = body["attachments"][0]["content"]["body"]
                    .as_array()
                    .unwrap();
                assert!(card.iter().all(|b| b["type"] == "RichTextBlock"), "{body}");
                assert_eq!(card[1]["inlines"][0]["text"], hostile_message);
            }
            AlertTemplate::Pagerduty => {
                assert_eq!(body["routing_key"], KEY);
                assert_eq!(
                    body["payload"]["custom_details"]["message"],
                    hostile_message
                );
                assert_eq!(body["payload"]["custom_details"]["user"], hostile_user);
            }
            _ => {
                assert_eq!(
                    body,
                    json!({"text": hostile_message, "user": hostile_user, "n": 1})
                );
            }
        }
    }
}

#[test]
fn each_alert_is_its_own_request() {
    let server = Server::start(|_, _| respond(200, "ok"));
    let c = config(AlertTemplate::Slack, &server);
    let events = [alert("one", "a"), alert("two", "b"), alert("three", "c")];
    c.open().unwrap().send(&batch_of(&events)).unwrap();
    let mut texts: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    texts.sort();
    assert_eq!(texts, ["one", "three", "two"]);
}

#[test]
fn rate_limited_alerts_are_retried_after_retry_after() {
    let server = Server::start(|_, _| {
        respond_with(429, vec![("Retry-After", "7".to_owned())], "rate_limited")
    });
    let c = config(AlertTemplate::Slack, &server);
    let e = c
        .open()
        .unwrap()
        .send(&batch_of(&[alert("x", "a")]))
        .unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.failed_records(), Some(&[0][..]));
}

#[test]
fn a_refused_alert_goes_to_the_dead_letter_file_without_the_routing_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.jsonl");
    let server = Server::start(|_, _| {
        respond(
            400,
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["'payload.source' is missing or blank"]}"#,
        )
    });
    let c = config(AlertTemplate::Pagerduty, &server)
        .routing_key(Secret::new("sh0rtK3y000000000000000000000000"))
        .http(
            HttpOptions::default()
                .allow_insecure_http(true)
                .dead_letter(&path),
        );
    let e = c
        .open()
        .unwrap()
        .send(&batch_of(&[alert("x", "a")]))
        .unwrap_err();
    assert!(!e.is_retryable());
    let lines = dead_letters(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["destination"], "alert_webhook");
    assert_eq!(lines[0]["status"], 400);
    assert!(lines[0]["reason"]
        .as_str()
        .unwrap()
        .contains("Event object is invalid"));
    assert_eq!(lines[0]["record"]["message"], "x");
    assert!(!std::fs::read_to_string(&path).unwrap().contains("sh0rtK3y"));
}

#[test]
fn configurations_missing_what_their_template_needs_are_refused() {
    let key_of = |c: AlertWebhookConfig| c.validate().unwrap_err().key().to_owned();
    assert_eq!(
        key_of(AlertWebhookConfig::new(AlertTemplate::Slack)),
        "webhook_url"
    );
    assert_eq!(
        key_of(AlertWebhookConfig::new(AlertTemplate::Pagerduty)),
        "routing_key"
    );
    assert!(AlertWebhookConfig::new(AlertTemplate::Pagerduty)
        .routing_key(Secret::new(KEY))
        .validate()
        .is_ok());
    assert_eq!(
        key_of(AlertWebhookConfig::new(AlertTemplate::Pagerduty).routing_key(Secret::new("short"))),
        "routing_key"
    );
    assert_eq!(
        key_of(
            AlertWebhookConfig::new(AlertTemplate::Slack)
                .webhook_url(Secret::new("https://h/x"))
                .routing_key(Secret::new(KEY))
        ),
        "routing_key"
    );
    assert_eq!(
        key_of(
            AlertWebhookConfig::new(AlertTemplate::Custom).webhook_url(Secret::new("https://h/x"))
        ),
        "custom_template"
    );
    assert_eq!(
        key_of(
            AlertWebhookConfig::new(AlertTemplate::Custom)
                .webhook_url(Secret::new("https://h/x"))
                .custom_template(r#"{"a": {{rule}}}"#)
        ),
        "custom_template"
    );
    assert_eq!(
        key_of(
            AlertWebhookConfig::new(AlertTemplate::Slack)
                .webhook_url(Secret::new("http://hooks.example.com/x"))
        ),
        "webhook_url",
        "the URL is a credential: plain http needs consent"
    );
    assert_eq!(
        key_of(
            AlertWebhookConfig::new(AlertTemplate::Slack)
                .webhook_url(Secret::new("https://h/x"))
                .http(HttpOptions::default().max_entries(10))
        ),
        "http.max_entries"
    );
    let c = AlertWebhookConfig::new(AlertTemplate::Pagerduty)
        .webhook_url(Secret::new("https://h/s3cr3t-path"))
        .routing_key(Secret::new("r0ut1ng0000000000000000000000000"))
        .headers([("X-Token", Secret::new("t0k3n"))]);
    let shown = format!("{c:?} {}", c.settings());
    for secret in ["s3cr3t-path", "r0ut1ng", "t0k3n"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(c.alerts_only());
    assert!(c.accepts(Format::Cef, &FormatOptions::default()).is_err());
}
