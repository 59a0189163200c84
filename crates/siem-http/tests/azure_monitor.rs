//! The Azure Monitor Logs Ingestion API against a local server implementing the documented
//! contract: an Entra ID token endpoint checking the client-credentials form (client id,
//! secret, scope), and the ingestion endpoint checking the bearer token, the rule, stream and
//! API version, the 1 MB limit, and answering 204, 413, 429, 5xx and errors.

#![cfg(feature = "azure")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use siem_http::azure::AzureMonitorConfig;
use siem_http::Secret;
use siem_ship::sink::SinkConfig;
use support::{
    batch, dead_letters, field, form, respond, respond_with, Reply, Request, Server, Tokens,
};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "00000000-0000-0000-0000-000000000001";
const SECRET: &str = "Qx8~s3cr3t.value_for-tests";
const RULE: &str = "dcr-0123456789abcdef0123456789abcdef";
const STREAM: &str = "Custom-AppShieldSecurity_CL";
const INGEST: &str = "/dataCollectionRules/dcr-0123456789abcdef0123456789abcdef/streams/Custom-AppShieldSecurity_CL?api-version=2023-01-01";

type TokenAnswer = dyn Fn(usize) -> Reply + Send + Sync;

/// The server: `POST /<tenant>/oauth2/v2.0/token` and the ingestion endpoint.
struct Azure {
    server: Server,
    tokens: Tokens,
}

impl Azure {
    fn start(
        token_answer: impl Fn(usize) -> Reply + Send + Sync + 'static,
        ingest_answer: impl Fn(&[Value], usize) -> Reply + Send + Sync + 'static,
    ) -> Azure {
        let tokens = Tokens::default();
        let token_answer: Arc<TokenAnswer> = Arc::new(token_answer);
        let calls = Arc::new(AtomicUsize::new(0));
        let book = tokens.clone();
        let token_path = format!("/{TENANT}/oauth2/v2.0/token");
        let server = Server::start(move |r, _| {
            if r.target == token_path {
                let form = form(&r.body);
                if field(&form, "grant_type") != Some("client_credentials")
                    || field(&form, "scope") != Some("https://monitor.azure.com//.default")
                {
                    return respond(400, r#"{"error":"invalid_request"}"#);
                }
                if field(&form, "client_id") != Some(CLIENT)
                    || field(&form, "client_secret") != Some(SECRET)
                {
                    return respond(
                        401,
                        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
                    );
                }
                return book.issue(&*token_answer);
            }
            if r.target != INGEST {
                return respond(404, r#"{"error":{"code":"NotFound"}}"#);
            }
            let authorized = book.accepts(r.header("authorization"));
            if !authorized {
                return respond(
                    401,
                    r#"{"error":{"code":"InvalidToken","message":"The provided token is invalid"}}"#,
                );
            }
            if r.raw_body.len() > 1_048_576 || r.body.len() > 1_048_576 {
                return respond(413, r#"{"error":{"code":"ContentLengthLimitExceeded"}}"#);
            }
            let records: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
            ingest_answer(&records, calls.fetch_add(1, Ordering::SeqCst))
        });
        Azure { server, tokens }
    }

    fn ingested(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.target == INGEST)
            .collect()
    }

    fn token_requests(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.target.ends_with("/token"))
            .collect()
    }

    fn tokens_issued(&self) -> usize {
        self.tokens.issued()
    }
}

fn token(n: usize) -> Reply {
    respond(
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
               "access_token": format!("eyJ0eXAi.test-{n}")})
        .to_string(),
    )
}

fn accepted(_: &[Value], _: usize) -> Reply {
    respond(204, "")
}

fn config(azure: &Azure, dir: &tempfile::TempDir) -> AzureMonitorConfig {
    let mut c = AzureMonitorConfig::new(
        azure.server.url(""),
        RULE,
        STREAM,
        TENANT,
        CLIENT,
        Secret::new(SECRET),
    )
    .authority(azure.server.url(""));
    c.http.allow_insecure_http = true;
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c
}

const RECORD: &str = r#"{"id":"evt-1","timestamp":"2024-06-20T10:40:00.123Z","event_type":"auth.failure","severity":"medium","actor":{"username":"alice"}}"#;
const CEF_RECORD: &str = "CEF:0|Acme|AppShield|1.0|sqli|SQL injection blocked|9|src=203.0.113.7";

#[test]
fn records_arrive_gzipped_with_a_client_credentials_token() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    let c = config(&azure, &dir);
    c.validate().unwrap();
    c.open()
        .unwrap()
        .send(&batch(&[
            RECORD,
            r#"{"TimeGenerated":"2024-06-20T10:41:00Z","Action":"login"}"#,
        ]))
        .unwrap();
    let tokens = azure.token_requests();
    assert_eq!(tokens.len(), 1);
    let form = form(&tokens[0].body);
    assert_eq!(field(&form, "client_id"), Some(CLIENT));
    assert_eq!(
        tokens[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let ingested = azure.ingested();
    assert_eq!(ingested.len(), 1);
    let r = &ingested[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("authorization"), Some("Bearer eyJ0eXAi.test-0"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(
        r.text(),
        format!(
            r#"[{{"TimeGenerated":"2024-06-20T10:40:00.123Z",{}}},{{"TimeGenerated":"2024-06-20T10:41:00Z","Action":"login"}}]"#,
            &RECORD[1..RECORD.len() - 1]
        )
    );
}

#[test]
fn text_records_travel_as_raw_data() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    config(&azure, &dir)
        .open()
        .unwrap()
        .send(&batch(&[CEF_RECORD]))
        .unwrap();
    let records: Vec<Value> = serde_json::from_slice(&azure.ingested()[0].body).unwrap();
    assert_eq!(records[0]["RawData"], CEF_RECORD);
    assert!(records[0]["TimeGenerated"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn one_megabyte_per_call_is_split_before_sending() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(100_000)))
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let mut c = config(&azure, &dir);
    c.http.max_in_flight = 1;
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let ingested = azure.ingested();
    assert!(ingested.len() >= 3, "{}", ingested.len());
    let mut seen = Vec::new();
    for r in &ingested {
        assert!(r.body.len() <= 1_000_000, "{}", r.body.len());
        let records: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
        seen.extend(records.iter().map(|v| v["n"].as_u64().unwrap()));
    }
    assert_eq!(seen, (0..25).collect::<Vec<u64>>());
    assert_eq!(azure.tokens_issued(), 1);
}

#[test]
fn a_413_halves_the_call() {
    // This server takes at most two records a call; the destination believes more.
    let azure = Azure::start(token, |records, _| {
        if records.len() > 2 {
            respond(413, r#"{"error":{"code":"ContentLengthLimitExceeded"}}"#)
        } else {
            respond(204, "")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&azure, &dir);
    c.http.max_in_flight = 1;
    let records: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"TimeGenerated":"t","n":{i}}}"#))
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let delivered: Vec<usize> = azure
        .ingested()
        .iter()
        .map(|r| serde_json::from_slice::<Vec<Value>>(&r.body).unwrap().len())
        .collect();
    assert_eq!(delivered, [6, 3, 1, 2, 3, 1, 2]);
}

#[test]
fn throttling_and_unavailability_honour_retry_after_then_succeed() {
    let azure = Azure::start(token, |_, n| match n {
        0 => respond_with(
            429,
            vec![("Retry-After", "12".into())],
            r#"{"error":{"code":"TooManyRequests"}}"#,
        ),
        1 => respond_with(
            503,
            vec![("Retry-After", "3".into())],
            "Service Unavailable",
        ),
        2 => respond(500, "boom"),
        _ => respond(204, ""),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&azure, &dir).open().unwrap();
    let e = sink.send(&batch(&[RECORD])).unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
    let e = sink.send(&batch(&[RECORD])).unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    let e = sink.send(&batch(&[RECORD])).unwrap_err();
    assert!(e.is_retryable() && e.retry_after().is_none());
    sink.send(&batch(&[RECORD])).unwrap();
    assert!(!dir.path().join("dead.jsonl").exists());
    assert_eq!(azure.tokens_issued(), 1);
}

#[test]
fn a_400_dead_letters_the_exact_records() {
    let azure = Azure::start(token, |_, _| {
        respond_with(
            400,
            vec![("x-ms-error-code", "InvalidStream".into())],
            r#"{"error":{"code":"InvalidStream","message":"Stream Custom-AppShieldSecurity_CL is not defined in the rule"}}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&azure, &dir)
        .open()
        .unwrap()
        .send(&batch(&[RECORD, CEF_RECORD]))
        .unwrap_err();
    assert!(!e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    let text = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with(&format!(",\"record\":{RECORD}}}")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(&format!(
            ",\"record\":{}}}",
            serde_json::to_string(CEF_RECORD).unwrap()
        )),
        "{}",
        lines[1]
    );
    let dead = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dead[0]["destination"], "azure_monitor");
    assert_eq!(dead[0]["status"], 400);
    assert!(dead[0]["reason"]
        .as_str()
        .unwrap()
        .contains("is not defined in the rule"));
}

#[test]
fn a_refused_token_is_fetched_again_once() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&azure, &dir).open().unwrap();
    sink.send(&batch(&[RECORD])).unwrap();
    sink.send(&batch(&[RECORD])).unwrap();
    assert_eq!(azure.tokens_issued(), 1, "a fresh token is reused");
    azure.tokens.expire_all();
    sink.send(&batch(&[RECORD])).unwrap();
    assert_eq!(azure.tokens_issued(), 2);
    let used: Vec<String> = azure
        .ingested()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        used,
        [
            "Bearer eyJ0eXAi.test-0",
            "Bearer eyJ0eXAi.test-0",
            "Bearer eyJ0eXAi.test-0",
            "Bearer eyJ0eXAi.test-1"
        ]
    );
}

#[test]
fn a_token_about_to_expire_is_fetched_again() {
    // Tokens valid for no time at all (inside the refresh margin) are never reused.
    let azure = Azure::start(
        |n| {
            respond(
                200,
                json!({"access_token": format!("t{n}"), "expires_in": 0}).to_string(),
            )
        },
        accepted,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&azure, &dir).open().unwrap();
    sink.send(&batch(&[RECORD])).unwrap();
    sink.send(&batch(&[RECORD])).unwrap();
    assert_eq!(azure.tokens_issued(), 2);
}

#[test]
fn a_wrong_secret_is_refused_without_showing_it() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&azure, &dir);
    c.client_secret = Secret::new("wrong~secret-value");
    let e = c.open().unwrap().send(&batch(&[RECORD])).unwrap_err();
    assert!(!e.is_retryable());
    assert!(
        e.message()
            .contains("Entra ID token endpoint refused the credentials"),
        "{e}"
    );
    assert!(e.message().contains("invalid_client: AADSTS7000215"), "{e}");
    assert!(azure.ingested().is_empty());
    for text in [
        e.to_string(),
        format!("{e:?}"),
        format!("{c:?}"),
        c.settings().to_string(),
        std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap(),
    ] {
        assert!(!text.contains("wrong~secret"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn hostile_answers_are_clear_errors() {
    let cases: Vec<(Reply, &str)> = vec![
        (respond(200, "{\"access_token\": [1,2"), "not a token"),
        (respond(200, "z".repeat(300_000)), "not a token"),
        (
            respond(200, r#"{"access_token":"t","token_type":"pop"}"#),
            "not Bearer",
        ),
        (respond(502, "<html>Bad Gateway</html>"), "HTTP 502"),
    ];
    for (answer, says) in cases {
        let answer = Mutex::new(Some(answer));
        let azure = Azure::start(move |_| answer.lock().unwrap().take().unwrap(), accepted);
        let dir = tempfile::tempdir().unwrap();
        let e = config(&azure, &dir)
            .open()
            .unwrap()
            .send(&batch(&[RECORD]))
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert!(e.message().contains("Entra ID token endpoint"), "{e}");
        assert!(e.message().contains(says), "{says}: {e}");
        assert!(e.message().len() < 1000);
    }
    let azure = Azure::start(token, |_, n| match n {
        0 => respond(503, "y".repeat(17 << 20)),
        _ => respond(200, "unexpected body"),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&azure, &dir).open().unwrap();
    let e = sink.send(&batch(&[RECORD])).unwrap_err();
    assert!(e.is_retryable() && e.message().len() < 1000);
    sink.send(&batch(&[RECORD])).unwrap();
}

#[test]
fn the_probe_fetches_a_token_and_sends_an_empty_array() {
    let azure = Azure::start(token, accepted);
    let dir = tempfile::tempdir().unwrap();
    let answer = config(&azure, &dir).probe(Duration::from_secs(10)).unwrap();
    assert_eq!(answer, "HTTP 204 No Content");
    assert_eq!(azure.ingested()[0].text(), "[]");
    let mut wrong = config(&azure, &dir);
    wrong.client_secret = Secret::new("nope");
    let e = wrong.probe(Duration::from_secs(10)).unwrap_err();
    assert!(e.contains("invalid_client"), "{e}");
}

#[test]
fn a_hanging_token_endpoint_is_a_timeout_to_retry() {
    let azure = Azure::start(|_| Reply::Hang, accepted);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&azure, &dir);
    c.http.timeout = Duration::from_millis(500);
    let e = c.open().unwrap().send(&batch(&[RECORD])).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.message().contains("timed out"), "{e}");
    assert!(azure.ingested().is_empty());
}
