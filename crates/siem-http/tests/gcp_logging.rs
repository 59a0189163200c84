//! Google Cloud Logging against a local server implementing the documented contract: a token
//! endpoint that verifies the JWT assertion's RS256 signature with the test key's public half
//! and its claims, and `entries.write` that checks the bearer token, the request's shape and
//! size, and answers partial successes, throttling and errors.

#![cfg(feature = "gcp")]

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use siem_http::gcp::GcpLoggingConfig;
use siem_ship::sink::SinkConfig;
use support::{
    batch, dead_letters, field, form, respond, respond_with, Reply, Request, Server, Tokens,
};

/// Test-only key material (tests/fixtures/README.md).
const KEY: &str = include_str!("fixtures/test-only-rsa-key.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("fixtures/test-only-rsa-public.der");
const EMAIL: &str = "shipper@acme-sec.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/logging.write";

/// What the token endpoint says after checking the assertion.
type TokenAnswer = dyn Fn(usize) -> Reply + Send + Sync;

/// The server: `POST /token` (JWT bearer grant) and `POST /v2/entries:write`.
struct Google {
    server: Server,
    tokens: Tokens,
}

impl Google {
    fn start(
        token_answer: impl Fn(usize) -> Reply + Send + Sync + 'static,
        write_answer: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static,
    ) -> Google {
        let tokens = Tokens::default();
        let token_answer: Arc<TokenAnswer> = Arc::new(token_answer);
        let writes = Arc::new(AtomicUsize::new(0));
        let book = tokens.clone();
        let server = Server::start(move |r, _| match r.target.as_str() {
            "/token" => {
                if let Err(why) = check_assertion(r) {
                    return respond(
                        400,
                        json!({"error": "invalid_grant", "error_description": why}).to_string(),
                    );
                }
                book.issue(&*token_answer)
            }
            "/v2/entries:write" => {
                let authorized = book.accepts(r.header("authorization"));
                if !authorized {
                    return respond(
                        401,
                        r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
                    );
                }
                if r.body.len() > 10_000_000 {
                    return respond(
                        400,
                        r#"{"error":{"code":400,"message":"Request payload size exceeds the limit"}}"#,
                    );
                }
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["partialSuccess"], true);
                for entry in body["entries"].as_array().unwrap() {
                    assert!(entry.to_string().len() <= 256_000, "an entry over 256 KB");
                }
                write_answer(&body, writes.fetch_add(1, Ordering::SeqCst))
            }
            other => respond(404, format!("no {other}")),
        });
        Google { server, tokens }
    }

    /// The `entries.write` requests received.
    fn writes(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.target == "/v2/entries:write")
            .collect()
    }

    fn tokens_issued(&self) -> usize {
        self.tokens.issued()
    }

    /// Makes every token issued so far invalid, as an expired one is.
    fn revoke_tokens(&self) {
        self.tokens.expire_all();
    }
}

/// Checks a token request: the jwt-bearer grant, an RS256 signature by the test key, and the
/// claims Google requires.
fn check_assertion(r: &Request) -> Result<(), String> {
    if r.header("content-type") != Some("application/x-www-form-urlencoded") {
        return Err("not a form".into());
    }
    let form = form(&r.body);
    if field(&form, "grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return Err("wrong grant_type".into());
    }
    let jwt = field(&form, "assertion").ok_or("no assertion")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("not a JWT".into());
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_KEY,
    )
    .verify(format!("{header}.{claims}").as_bytes(), &signature)
    .map_err(|_| "bad signature".to_owned())?;
    let decode =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let (header, claims) = (decode(header), decode(claims));
    if header["alg"] != "RS256" || header["kid"] != "test-key-1" {
        return Err(format!("header {header}"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iat = claims["iat"].as_u64().ok_or("no iat")?;
    let exp = claims["exp"].as_u64().ok_or("no exp")?;
    let audience = format!("http://{}/token", r.header("host").unwrap_or_default());
    if claims["iss"] != EMAIL
        || claims["scope"] != SCOPE
        || claims["aud"] != audience.as_str()
        || iat > now + 60
        || iat + 600 < now
        || exp != iat + 3600
    {
        return Err(format!("claims {claims}"));
    }
    Ok(())
}

fn token(n: usize) -> Reply {
    respond(
        200,
        json!({"access_token": format!("ya29.test-{n}"), "expires_in": 3599, "token_type": "Bearer"})
            .to_string(),
    )
}

/// A key file whose `token_uri` is the server's.
fn key_file(dir: &tempfile::TempDir, google: &Google) -> PathBuf {
    let path = dir.path().join("key.json");
    let json = json!({
        "type": "service_account",
        "project_id": "acme-sec",
        "private_key_id": "test-key-1",
        "private_key": KEY,
        "client_email": EMAIL,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": google.server.url("/token"),
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn config(google: &Google, dir: &tempfile::TempDir) -> GcpLoggingConfig {
    let mut c = GcpLoggingConfig::new("appshield/security")
        .credentials_path(key_file(dir, google))
        .endpoint(google.server.url("/v2/entries:write"));
    c.http.allow_insecure_http = true;
    c.http.dead_letter = Some(dir.path().join("dead.jsonl"));
    c
}

fn ok(_: &Value, _: usize) -> Reply {
    respond(200, "{}")
}

const JSON_RECORD: &str = r#"{"id":"evt-000041","timestamp":"2024-06-20T10:40:00.123456Z","event_type":"auth.failure","severity":"medium","message":"Authentication failed","actor":{"username":"alice"}}"#;
const OCSF_RECORD: &str =
    r#"{"class_uid":2004,"severity_id":5,"time":1718880001000,"metadata":{"uid":"evt-000042"}}"#;
const CEF_RECORD: &str = "CEF:0|Acme|AppShield|1.0|sqli|SQL injection blocked|9|src=203.0.113.7";

#[test]
fn entries_arrive_with_a_verified_token_severity_and_log_name() {
    let google = Google::start(token, ok);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&google, &dir);
    c.labels.insert("env".into(), "prod".into());
    c.validate().unwrap();
    c.open()
        .unwrap()
        .send(&batch(&[JSON_RECORD, OCSF_RECORD, CEF_RECORD]))
        .unwrap();
    let writes = google.writes();
    assert_eq!(writes.len(), 1);
    let w = &writes[0];
    assert_eq!(w.header("authorization"), Some("Bearer ya29.test-0"));
    assert_eq!(w.header("content-type"), Some("application/json"));
    assert_eq!(
        w.text(),
        format!(
            concat!(
                r#"{{"logName":"projects/acme-sec/logs/appshield%2Fsecurity","#,
                r#""resource":{{"type":"global","labels":{{"project_id":"acme-sec"}}}},"#,
                r#""labels":{{"env":"prod"}},"partialSuccess":true,"entries":["#,
                r#"{{"severity":"WARNING","timestamp":"2024-06-20T10:40:00.123Z","insertId":"evt-000041","jsonPayload":{json}}},"#,
                r#"{{"severity":"CRITICAL","timestamp":"2024-06-20T10:40:01.000Z","insertId":"evt-000042","jsonPayload":{ocsf}}},"#,
                r#"{{"textPayload":"CEF:0|Acme|AppShield|1.0|sqli|SQL injection blocked|9|src=203.0.113.7"}}]}}"#
            ),
            json = JSON_RECORD,
            ocsf = OCSF_RECORD
        )
    );
    assert_eq!(google.tokens_issued(), 1);
}

#[test]
fn the_token_is_reused_and_fetched_again_after_a_401() {
    let google = Google::start(token, ok);
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&google, &dir).open().unwrap();
    sink.send(&batch(&[JSON_RECORD])).unwrap();
    sink.send(&batch(&[JSON_RECORD])).unwrap();
    assert_eq!(google.tokens_issued(), 1, "a fresh token is reused");
    google.revoke_tokens();
    sink.send(&batch(&[JSON_RECORD])).unwrap();
    assert_eq!(google.tokens_issued(), 2);
    let writes = google.writes();
    let used: Vec<&str> = writes
        .iter()
        .map(|w| w.header("authorization").unwrap())
        .collect();
    assert_eq!(
        used,
        [
            "Bearer ya29.test-0",
            "Bearer ya29.test-0",
            "Bearer ya29.test-0",
            "Bearer ya29.test-1"
        ]
    );
}

#[test]
fn requests_needing_a_token_at_once_share_one_fetch() {
    let google = Google::start(token, ok);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&google, &dir);
    c.http.max_entries = Some(1);
    c.http.max_in_flight = 4;
    c.open()
        .unwrap()
        .send(&batch(&[
            JSON_RECORD,
            JSON_RECORD,
            JSON_RECORD,
            JSON_RECORD,
        ]))
        .unwrap();
    assert_eq!(google.writes().len(), 4);
    assert_eq!(google.tokens_issued(), 1);
}

#[test]
fn partial_success_retries_and_dead_letters_entry_by_entry() {
    let google = Google::start(token, |_, _| {
        respond(
            400,
            json!({"error": {
                "code": 400,
                "message": "Log entry with size 1.2M exceeds maximum size of 256.0K",
                "status": "INVALID_ARGUMENT",
                "details": [{
                    "@type": "type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors",
                    "logEntryErrors": {
                        "1": {"code": 3, "message": "Log entry with size 1.2M exceeds maximum size"},
                        "2": {"code": 14, "message": "The service is currently unavailable."}
                    }
                }]
            }})
            .to_string(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&google, &dir)
        .open()
        .unwrap()
        .send(&batch(&[JSON_RECORD, OCSF_RECORD, CEF_RECORD]))
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.failed_records(), Some(&[2usize][..]));
    assert_eq!(e.rejected_records(), Some(&[1usize][..]));
    let dead = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["destination"], "gcp_logging");
    assert_eq!(dead[0]["status"], 400);
    let line = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap();
    assert!(
        line.ends_with(&format!(",\"record\":{OCSF_RECORD}}}\n")),
        "the record's exact bytes: {line}"
    );
    assert!(dead[0]["reason"]
        .as_str()
        .unwrap()
        .contains("code 3: Log entry with size 1.2M"));
}

#[test]
fn a_400_dead_letters_the_exact_records() {
    let google = Google::start(token, |_, _| {
        respond(
            400,
            r#"{"error":{"code":400,"message":"Invalid resource type","status":"INVALID_ARGUMENT"}}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = config(&google, &dir)
        .open()
        .unwrap()
        .send(&batch(&[JSON_RECORD, CEF_RECORD]))
        .unwrap_err();
    assert!(!e.is_retryable());
    let text = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].ends_with(&format!(",\"record\":{JSON_RECORD}}}")),
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
    assert!(dead[0]["reason"]
        .as_str()
        .unwrap()
        .contains("Invalid resource type"));
}

#[test]
fn limits_split_batches_before_sending() {
    let google = Google::start(token, ok);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&google, &dir);
    c.http.max_entries = Some(2);
    let big = format!(r#"{{"message":"{}"}}"#, "x".repeat(250_001));
    let e = c
        .open()
        .unwrap()
        .send(&batch(&[
            JSON_RECORD,
            JSON_RECORD,
            &big,
            JSON_RECORD,
            JSON_RECORD,
            JSON_RECORD,
        ]))
        .unwrap_err();
    assert_eq!(e.failed_records(), Some(&[2usize][..]));
    let sizes: Vec<usize> = google
        .writes()
        .iter()
        .map(|w| {
            serde_json::from_slice::<Value>(&w.body).unwrap()["entries"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, [1, 2, 2], "{sizes:?}");
    assert_eq!(dead_letters(&dir.path().join("dead.jsonl")).len(), 1);
}

#[test]
fn throttling_waits_and_server_errors_are_retried_until_success() {
    let google = Google::start(token, |_, n| match n {
        0 => respond_with(
            429,
            vec![("Retry-After", "7".into())],
            r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#,
        ),
        1 => respond(503, r#"{"error":{"code":503,"status":"UNAVAILABLE"}}"#),
        _ => respond(200, "{}"),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&google, &dir).open().unwrap();
    let e = sink.send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    let e = sink.send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(e.is_retryable() && e.message().contains("503"), "{e}");
    sink.send(&batch(&[JSON_RECORD])).unwrap();
    assert_eq!(google.writes().len(), 3);
    assert!(!dir.path().join("dead.jsonl").exists());
}

#[test]
fn hostile_token_answers_are_clear_errors() {
    let cases: Vec<(Reply, bool, &str)> = vec![
        (respond(200, "<html>not json</html>"), true, "not a token"),
        (respond(200, "a".repeat(1 << 20)), true, "not a token"),
        (
            respond(200, r#"{"access_token":"ya29.x","token_type":"MAC"}"#),
            true,
            "not Bearer",
        ),
        (
            respond(200, r#"{"id_token":"eyJ"}"#),
            true,
            "no access_token",
        ),
        (respond(503, "busy"), true, "HTTP 503"),
        (
            respond(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            ),
            false,
            "invalid_grant: Invalid JWT Signature.",
        ),
    ];
    for (answer, retryable, says) in cases {
        let answer = Mutex::new(Some(answer));
        let google = Google::start(move |_| answer.lock().unwrap().take().unwrap(), ok);
        let dir = tempfile::tempdir().unwrap();
        let e = config(&google, &dir)
            .open()
            .unwrap()
            .send(&batch(&[JSON_RECORD]))
            .unwrap_err();
        assert_eq!(e.is_retryable(), retryable, "{e}");
        assert!(e.message().contains("Google token endpoint"), "{e}");
        assert!(e.message().contains(says), "{says}: {e}");
        assert!(!e.message().contains("PRIVATE KEY"), "{e}");
        assert!(google.writes().is_empty());
    }
}

#[test]
fn hostile_write_answers_are_clear_errors() {
    let google = Google::start(token, |_, n| match n {
        0 => respond(500, "x".repeat(17 << 20)),
        1 => respond(400, "{\"error\": garbage"),
        _ => respond(200, "not json at all"),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sink = config(&google, &dir).open().unwrap();
    let e = sink.send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(
        e.is_retryable() && e.message().len() < 1000,
        "{}",
        e.message().len()
    );
    let e = sink.send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(!e.is_retryable() && e.message().contains("garbage"), "{e}");
    // A 2xx is a write, whatever its body says.
    sink.send(&batch(&[JSON_RECORD])).unwrap();
}

#[test]
fn tokens_never_appear_in_errors_debug_or_settings() {
    let google = Google::start(token, |_, _| {
        respond(
            403,
            r#"{"error":{"code":403,"message":"Permission 'logging.logEntries.create' denied"}}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let c = config(&google, &dir);
    let e = c.open().unwrap().send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(e.message().contains("logging.logEntries.create"), "{e}");
    for text in [
        e.to_string(),
        format!("{e:?}"),
        format!("{c:?}"),
        c.settings().to_string(),
        std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap(),
    ] {
        assert!(!text.contains("ya29"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}

#[test]
fn the_probe_fetches_a_token_and_writes_a_dry_run() {
    let google = Google::start(token, |body, _| {
        assert_eq!(body["dryRun"], true);
        respond(200, "{}")
    });
    let dir = tempfile::tempdir().unwrap();
    let answer = config(&google, &dir)
        .probe(Duration::from_secs(10))
        .unwrap();
    assert_eq!(answer, "HTTP 200 OK: {}");
    let writes = google.writes();
    assert_eq!(writes.len(), 1);
    let body: Value = serde_json::from_slice(&writes[0].body).unwrap();
    assert_eq!(body["entries"][0]["textPayload"], "tracing-siem probe");
}

#[test]
fn an_assertion_the_token_endpoint_rejects_dead_letters_with_its_reason() {
    let google = Google::start(token, ok);
    let dir = tempfile::tempdir().unwrap();
    let c = config(&google, &dir);
    // The same key under another account's name: the claims no longer match.
    let path = c.credentials_path.clone().unwrap();
    let mut key: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    key["client_email"] = "intruder@elsewhere.iam.gserviceaccount.com".into();
    std::fs::write(&path, key.to_string()).unwrap();
    let e = c.open().unwrap().send(&batch(&[JSON_RECORD])).unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert!(e.message().contains("invalid_grant"), "{e}");
    assert_eq!(google.tokens_issued(), 0);
    assert!(google.writes().is_empty());
    assert_eq!(dead_letters(&dir.path().join("dead.jsonl")).len(), 1);
}
