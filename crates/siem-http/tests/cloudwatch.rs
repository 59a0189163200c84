//! CloudWatch Logs against moto's server (PyPI `moto[server]`, started here on loopback) and
//! against a local server answering with the documented partial failures and errors.

#![cfg(feature = "cloudwatch")]

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use siem_event::Timestamp;
use siem_http::cloudwatch::CloudWatchConfig;
use siem_http::{HttpOptions, Secret};
use siem_ship::sink::SinkConfig;
use support::{batch, dead_letters, respond, respond_with, Request, Server};

const HOUR: i64 = 60 * 60 * 1000;

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto, or says why it cannot and returns `None` (a failure instead when
    /// `SIEM_REQUIRE_PEERS=1`). `env` is passed to the server.
    fn start(env: &[(&str, &str)]) -> Option<Moto> {
        let installed = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            let reason = "moto is not installed (python3 -m pip install 'moto[server]')";
            assert!(
                std::env::var("SIEM_REQUIRE_PEERS").as_deref() != Ok("1"),
                "SIEM_REQUIRE_PEERS=1 but {reason}"
            );
            eprintln!("skipped: {reason}");
            return None;
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start listening");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Calls `service` (`logs` with an `X-Amz-Target`, `iam` with a form body) without a
    /// valid signature: moto routes by the credential scope and, unless authentication is
    /// on, checks nothing else.
    fn call(
        &self,
        service: &str,
        target: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).unwrap();
        let target = target.map_or(String::new(), |t| format!("X-Amz-Target: {t}\r\n"));
        let region = if service == "iam" {
            "us-east-1"
        } else {
            "eu-west-1"
        };
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\n{target}\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20240620/{region}/{service}/aws4_request, \
             SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn logs(&self, action: &str, body: Value) -> Value {
        let (status, reply) = self.call(
            "logs",
            Some(&format!("Logs_20140328.{action}")),
            "application/x-amz-json-1.1",
            &body.to_string(),
        );
        assert_eq!(status, 200, "{action}: {reply}");
        // Some calls (DeleteLogGroup) answer with an empty body.
        if reply.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&reply).unwrap()
    }

    /// The messages of a stream, as GetLogEvents returns them.
    fn messages(&self, group: &str, stream: &str) -> Vec<(i64, String)> {
        let reply = self.logs(
            "GetLogEvents",
            json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true}),
        );
        reply["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["timestamp"].as_i64().unwrap(),
                    e["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON record at `millis` since the epoch.
fn record(millis: i64, n: usize) -> String {
    format!(
        r#"{{"timestamp":"{}","n":{n}}}"#,
        Timestamp::from_unix_millis(millis).to_rfc3339()
    )
}

fn now() -> i64 {
    Timestamp::now().unix_millis()
}

fn config(endpoint: &str, dir: &tempfile::TempDir, group: &str) -> CloudWatchConfig {
    CloudWatchConfig::new("eu-west-1", group, "web01")
        .endpoint(endpoint)
        .access_key_id(Secret::new("AKIDTESTTESTTEST"))
        .secret_access_key(Secret::new("testtesttesttesttesttesttesttest"))
        .http(
            HttpOptions::default()
                .allow_insecure_http(true)
                .dead_letter(dir.path().join("dead.jsonl")),
        )
}

#[test]
fn events_arrive_in_timestamp_order() {
    let Some(moto) = Moto::start(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = config(&moto.url(), &dir, "/acme/security").create_group(true);
    c.validate().unwrap();
    let t = now() - 60_000;
    let offsets = [300, 0, 200, 100];
    let records: Vec<String> = offsets
        .iter()
        .enumerate()
        .map(|(n, &o)| record(t + o, n))
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let expected: Vec<(i64, String)> = [1, 3, 2, 0]
        .map(|n| (t + offsets[n], records[n].clone()))
        .to_vec();
    assert_eq!(moto.messages("/acme/security", "web01"), expected);
    assert!(dead_letters(&dir.path().join("dead.jsonl")).is_empty());
}

#[test]
fn group_and_stream_are_created_and_existing_ones_are_fine() {
    let Some(moto) = Moto::start(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&moto.url(), &dir, "/acme/created");
    // Without creation, a missing group refuses the batch for good.
    let e = c
        .open()
        .unwrap()
        .send(&batch(&[&record(now(), 0)]))
        .unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.message().contains("ResourceNotFoundException"), "{e}");
    assert!(c.probe(Duration::from_secs(10)).is_err());
    c.create_group = true;
    c.open()
        .unwrap()
        .send(&batch(&[&record(now(), 1)]))
        .unwrap();
    // A second sink finds both existing.
    c.open()
        .unwrap()
        .send(&batch(&[&record(now(), 2)]))
        .unwrap();
    let streams = moto.logs(
        "DescribeLogStreams",
        json!({"logGroupName": "/acme/created"}),
    );
    assert_eq!(streams["logStreams"][0]["logStreamName"], "web01");
    assert_eq!(moto.messages("/acme/created", "web01").len(), 2);
    let answer = c.probe(Duration::from_secs(10)).unwrap();
    assert!(answer.contains("web01"), "{answer}");

    // A group deleted under a running sink: the batch is retried, and the next attempt
    // creates the group and stream again.
    let mut sink = c.open().unwrap();
    sink.send(&batch(&[&record(now(), 3)])).unwrap();
    moto.logs("DeleteLogGroup", json!({"logGroupName": "/acme/created"}));
    let again = batch(&[&record(now(), 4)]);
    let e = sink.send(&again).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    sink.send(&again).unwrap();
    let messages = moto.messages("/acme/created", "web01");
    assert_eq!(messages.len(), 1);
    assert!(messages[0].1.ends_with(r#""n":4}"#), "{messages:?}");
}

/// Moto with IAM authentication on: it checks each request's SigV4 signature against the
/// access keys it issued, after the first `INITIAL_NO_AUTH_ACTION_COUNT` requests (which
/// create the user and its key).
#[test]
fn signed_requests_are_accepted_and_a_wrong_secret_is_not() {
    let Some(moto) = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]) else {
        return;
    };
    let iam = |body: &str| {
        let (status, reply) = moto.call("iam", None, "application/x-www-form-urlencoded", body);
        assert_eq!(status, 200, "{reply}");
        reply
    };
    iam("Action=CreateUser&UserName=shipper&Version=2010-05-08");
    let policy = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22logs%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
    iam(&format!(
        "Action=PutUserPolicy&UserName=shipper&PolicyName=logs&PolicyDocument={policy}&Version=2010-05-08"
    ));
    let key = iam("Action=CreateAccessKey&UserName=shipper&Version=2010-05-08");
    let between = |open: &str, close: &str| {
        let start = key.find(open).unwrap() + open.len();
        key[start..start + key[start..].find(close).unwrap()].to_owned()
    };
    let id = between("<AccessKeyId>", "</AccessKeyId>");
    let secret = between("<SecretAccessKey>", "</SecretAccessKey>");

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&moto.url(), &dir, "/acme/signed").create_group(true);
    c.access_key_id = Some(Secret::new(id));
    c.secret_access_key = Some(Secret::new(secret));
    c.open()
        .unwrap()
        .send(&batch(&[&record(now(), 0)]))
        .unwrap();

    c.secret_access_key = Some(Secret::new("wrong-wrong-wrong-wrong-wrong-wrong"));
    let e = c
        .open()
        .unwrap()
        .send(&batch(&[&record(now(), 1)]))
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert!(e.message().contains("Signature"), "{e}");
    assert!(!e.message().contains("wrong-wrong"), "{e}");
}

/// A local PutLogEvents that answers with `answer` and records each call's events.
fn logs_server(
    answer: impl Fn(&Request, usize) -> support::Reply + Send + Sync + 'static,
) -> Server {
    Server::start(move |r, n| {
        if r.header("x-amz-target") != Some("Logs_20140328.PutLogEvents") {
            return respond(400, r#"{"__type":"UnknownOperationException"}"#);
        }
        answer(r, n)
    })
}

/// The events of each PutLogEvents call the server received.
fn calls(server: &Server) -> Vec<Vec<(i64, String)>> {
    server
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["logGroupName"], "/acme/security");
            assert_eq!(body["logStreamName"], "web01");
            body["logEvents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["timestamp"].as_i64().unwrap(),
                        e["message"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn requests_are_signed_json_calls() {
    let server = logs_server(|_, _| respond(200, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server.url("/"), &dir, "/acme/security");
    c.open()
        .unwrap()
        .send(&batch(&["CEF:0|Acme|AppShield|1|x|y|5|"]))
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/"));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let authorization = r.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/"),
        "{authorization}"
    );
    assert!(authorization.contains(
        "/eu-west-1/logs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
    ));
    assert!(r.header("x-amz-date").is_some());
    // A text record is the message as it is, stamped with the time it was sent.
    let events = &calls(&server)[0];
    assert_eq!(events[0].1, "CEF:0|Acme|AppShield|1|x|y|5|");
    assert!((now() - events[0].0).abs() < HOUR);
}

#[test]
fn rejected_events_are_dead_lettered_and_the_rest_delivered() {
    // Of the sorted events, the first is too old and the last too new.
    let server = logs_server(|_, _| {
        respond(
            200,
            r#"{"nextSequenceToken":"1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":1,"tooNewLogEventStartIndex":3}}"#,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server.url("/"), &dir, "/acme/security");
    let t = now();
    // Batch order: newest, oldest, two in between.
    let records = [
        record(t + 3, 0),
        record(t, 1),
        record(t + 1, 2),
        record(t + 2, 3),
    ];
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let e = c.open().unwrap().send(&batch(&refs)).unwrap_err();
    assert!(!e.is_retryable());
    assert_eq!(e.failed_records(), Some(&[0usize, 1][..]));
    let dead = dead_letters(&dir.path().join("dead.jsonl"));
    let dead_n: Vec<i64> = dead
        .iter()
        .map(|d| d["record"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(dead_n, vec![1, 0]);
    assert!(dead[0]["reason"].as_str().unwrap().contains("too old"));
    assert!(dead[1]["reason"].as_str().unwrap().contains("too new"));
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let server = logs_server(|_, n| match n {
        0 => respond_with(
            400,
            vec![("Retry-After", "3".into())],
            r#"{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}"#,
        ),
        1 => respond(503, r#"{"__type":"ServiceUnavailableException"}"#),
        _ => respond(
            400,
            r#"{"__type":"InvalidParameterException","message":"bad"}"#,
        ),
    });
    let dir = tempfile::tempdir().unwrap();
    let c = config(&server.url("/"), &dir, "/acme/security");
    let mut sink = c.open().unwrap();
    let e = sink.send(&batch(&[&record(now(), 0)])).unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(sink
        .send(&batch(&[&record(now(), 0)]))
        .unwrap_err()
        .is_retryable());
    let e = sink.send(&batch(&[&record(now(), 0)])).unwrap_err();
    assert!(!e.is_retryable());
    assert_eq!(dead_letters(&dir.path().join("dead.jsonl")).len(), 1);
}

#[test]
fn batches_split_by_count_bytes_and_a_24_hour_span() {
    let dir = tempfile::tempdir().unwrap();
    let t = now() - 3 * 24 * HOUR;

    // Count: at most 2 events a call.
    let server = logs_server(|_, _| respond(200, "{}"));
    let mut c = config(&server.url("/"), &dir, "/acme/security");
    c.http.max_in_flight = 1;
    c.http.max_entries = Some(2);
    let records: Vec<String> = (0..5).map(|i| record(t + i as i64, i)).collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let sizes: Vec<usize> = calls(&server).iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 1]);

    // Bytes: each event counts its message and 26 bytes; the envelope counts too.
    let server = logs_server(|_, _| respond(200, "{}"));
    let mut c = config(&server.url("/"), &dir, "/acme/security");
    c.http.max_in_flight = 1;
    let one = records[0].len() + 26;
    let envelope =
        r#"{"logGroupName":"/acme/security","logStreamName":"web01","logEvents":[]}"#.len();
    c.http.max_bytes = Some(envelope + 2 * one + 1);
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let sizes: Vec<usize> = calls(&server).iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 1]);

    // A message over 256 KiB with its 26 bytes is dead-lettered, not sent.
    let server = logs_server(|_, _| respond(200, "{}"));
    let c = config(&server.url("/"), &dir, "/acme/security");
    let big = format!("{{\"n\":\"{}\"}}", "x".repeat(262_144 - 26 - 8 + 1));
    assert_eq!(big.len(), 262_144 - 26 + 1);
    let e = c
        .open()
        .unwrap()
        .send(&batch(&[&records[0], &big]))
        .unwrap_err();
    assert_eq!(e.failed_records(), Some(&[1usize][..]));
    assert_eq!(calls(&server), vec![vec![(t, records[0].clone())]]);

    // Span: no call holds events more than 24 hours apart, and each is in order.
    let server = logs_server(|_, _| respond(200, "{}"));
    let c = config(&server.url("/"), &dir, "/acme/security");
    let spread = [t + 30 * HOUR, t, t + 24 * HOUR, t + 25 * HOUR, t + 2 * HOUR];
    let records: Vec<String> = spread
        .iter()
        .enumerate()
        .map(|(i, &m)| record(m, i))
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    c.open().unwrap().send(&batch(&refs)).unwrap();
    let mut times: Vec<Vec<i64>> = calls(&server)
        .iter()
        .map(|call| call.iter().map(|(time, _)| time - t).collect())
        .collect();
    times.sort();
    assert_eq!(
        times,
        vec![vec![0, 2 * HOUR, 24 * HOUR], vec![25 * HOUR, 30 * HOUR]]
    );
}
