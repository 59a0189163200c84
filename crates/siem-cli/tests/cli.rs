//! The `siem` command's behaviour and exit codes, as a script sees them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn siem(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts that `shown` (what `siem check` printed) has each of `lines` as a whole line.
fn assert_shows(shown: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            shown.lines().any(|l| l == *line),
            "{line:?} missing:\n{shown}"
        );
    }
}

/// What `siem check` printed is itself a configuration that `siem check` accepts.
fn passes_check_again(dir: &tempfile::TempDir, shown: &str) {
    let again = write_config(dir, shown);
    let out = siem(&["check", &again], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn write_config(dir: &tempfile::TempDir, yaml: &str) -> String {
    let path = dir.path().join("siem.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn check_prints_the_resolved_config_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        "app: svc\nredact: { mode: hash, hash_key: \"${SIEM_TEST_KEY}\" }\ndestinations:\n  - type: stdout\n    format: cef\n",
    );
    let out = siem(
        &["check", &cfg],
        "",
        &[("SIEM_TEST_KEY", "very-secret-value")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("valid"));
    assert!(
        stdout.contains("destination stdout: type stdout, format cef"),
        "{stdout}"
    );
    assert!(!stdout.contains("very-secret-value"), "{stdout}");
    assert!(stdout.contains("[REDACTED]"));
}

#[test]
fn check_names_the_key_of_an_invalid_value() {
    let dir = tempfile::tempdir().unwrap();
    for (yaml, key) in [
        ("queue: { capacity: 0 }", "queue.capacity"),
        ("queue: { capacity: lots }", "queue.capacity"),
        (
            "destinations:\n  - type: file\n    path: x.jsonl\n    rotation: { max_size: huge }",
            "destinations[0]",
        ),
        ("destinations:\n  - type: carrier-pigeon", "destinations[0]"),
        ("unknown_key: 1", "unknown_key"),
        ("app: ${SIEM_TEST_UNSET_VARIABLE}", "app"),
    ] {
        let cfg = write_config(&dir, yaml);
        let out = siem(&["check", &cfg], "", &[]);
        assert_eq!(out.status.code(), Some(3), "{yaml}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn send_test_goes_through_the_real_pipeline_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let cfg = write_config(
        &dir,
        &format!(
            "destinations:\n  - type: file\n    path: {}\n",
            file.display()
        ),
    );
    let out = siem(
        &[
            "send-test",
            "--config",
            &cfg,
            "--type",
            "auth.failure",
            "--severity",
            "high",
            "--count",
            "3",
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("file: shipped 3 of 3,"),
        "{}",
        text(&out.stdout)
    );
    let written = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["event_type"], "auth.failure");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["metadata"]["test"], true);
    }
}

#[test]
fn send_test_counts_what_a_full_queue_dropped_before_the_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let cfg = write_config(
        &dir,
        &format!(
            "queue: {{ capacity: 16 }}\ndestinations:\n  - type: file\n    path: {}\n",
            file.display()
        ),
    );
    let out = siem(&["send-test", &cfg, "--count", "20000"], "", &[]);
    let shown = text(&out.stdout);
    let dropped: u64 = shown
        .strip_prefix("sent 20000 test events; ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{shown}"));
    // The file also holds the drop reports and alerts; the test events are flagged.
    let written = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"test\":true"))
        .count() as u64;
    assert_eq!(written + dropped, 20_000, "{shown}");
    if dropped > 0 {
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(shown.contains("queue full"), "{shown}");
    }
}

#[test]
fn send_test_reports_failure_when_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    // A TCP port on loopback that nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = write_config(
        &dir,
        &format!("destinations:\n  - type: syslog\n    transport: tcp\n    host: 127.0.0.1\n    port: {port}\n"),
    );
    let out = siem(&["send-test", "--config", &cfg, "--timeout", "1s"], "", &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("not every test event was delivered"));
}

#[test]
fn send_test_refuses_a_bad_severity() {
    let out = siem(
        &[
            "send-test",
            "--config",
            "x.yaml",
            "--severity",
            "apocalyptic",
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn encode_previews_each_format_and_reports_bad_lines() {
    let input = concat!(
        r#"{"event_type":"authentication_failure","severity":"high","message":"Failed login attempt","tenant_id":"tenant-123","user":"alice","source_ip":"192.168.1.100"}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"event_type":"auth.success","severity":"low","message":"ok|pipe=eq"}"#,
        "\n"
    );
    let out = siem(
        &["encode", "--format", "cef", "--option", "vendor=Acme"],
        input,
        &[],
    );
    assert_eq!(out.status.code(), Some(4));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("CEF:0|Acme|"), "{}", lines[0]);
    assert!(lines[1].contains(r"msg=ok|pipe\=eq"), "{}", lines[1]);
    assert!(text(&out.stderr).contains("line 2"));

    for format in [
        "json", "ecs", "ocsf", "cef", "leef1", "leef2", "rfc5424", "rfc3164", "hec",
    ] {
        let out = siem(
            &["encode", "--format", format],
            &input.replace("not json\n", ""),
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout).lines().count(), 2, "{format}");
    }
    let out = siem(&["encode", "--format", "morse"], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = siem(
        &["encode", "--format", "cef", "--option", "no-equals-sign"],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = siem(
        &[
            "encode",
            "--format",
            "rfc5424",
            "--option",
            "facility=local99",
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(3));
}

/// An event without a host is given the one the layer would give it: the configuration's
/// `host`, else the `hostname` option, else this machine's name; an event's own host stays.
#[test]
fn encode_fills_the_host_like_the_layer() {
    let without_host = "{\"event_type\":\"auth.failure\",\"message\":\"m\"}\n";
    let json = |args: &[&str], input: &str| {
        let out = siem(args, input, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let machine = json(&["encode", "--format", "json"], without_host);
    let machine = machine["_siem"]["hostname"].as_str().unwrap().to_owned();
    assert!(!machine.is_empty());

    let out = siem(&["encode", "--format", "rfc3164"], without_host, &[]);
    let line = text(&out.stdout);
    // `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`: the host is the fourth word.
    let host = line.split_once('>').unwrap().1.split_whitespace().nth(3);
    assert_eq!(host, Some(machine.as_str()), "{line}");

    let option = json(
        &["encode", "--format", "json", "--option", "hostname=web09"],
        without_host,
    );
    assert_eq!(option["_siem"]["hostname"], "web09");

    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&dir, "host: web07\n");
    let configured = json(
        &["encode", "--format", "json", "--config", &cfg],
        without_host,
    );
    assert_eq!(configured["_siem"]["hostname"], "web07");
    let own = json(
        &["encode", "--format", "json", "--config", &cfg],
        "{\"event_type\":\"auth.failure\",\"message\":\"m\",\"host\":\"db01\"}\n",
    );
    assert_eq!(own["_siem"]["hostname"], "db01");
}

/// `siem encode` previews what the layer sends: a type that states its outcome gives it.
#[test]
fn encode_derives_the_outcome_from_the_type_like_the_layer() {
    let input = concat!(
        r#"{"event_type":"auth.failure","message":"m"}"#,
        "\n",
        r#"{"event_type":"authz.access_denied","message":"m"}"#,
        "\n",
        r#"{"event_type":"auth.failure","message":"m","outcome":"success"}"#,
        "\n"
    );
    let out = siem(&["encode", "--format", "ecs"], input, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outcomes: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event"]["outcome"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(outcomes, ["failure", "failure", "success"]);
}

/// An event as another program logs it: credentials in the spellings people use, at the top
/// level and under `metadata`, beside ordinary fields whose names contain a short entry.
const EVENT_WITH_CREDENTIALS: &str = concat!(
    r#"{"event_type":"auth.failure","message":"Failed login","user":"alice","#,
    r#""privateKey":"cli-private-key-1","X-Api-Key":"cli-api-key-2","#,
    r#""cardNumber":"4111111111111111","session-id":"cli-session-3","userPin":98765432101,"#,
    r#""metadata":{"password":"cli-password-4","shipping":"cli-express-ok"},"#,
    r#""author":"cli-author-ok"}"#,
    "\n"
);

const CLI_SECRETS: &[&str] = &[
    "cli-private-key-1",
    "cli-api-key-2",
    "4111111111111111",
    "cli-session-3",
    "98765432101",
    "cli-password-4",
];

#[test]
fn encode_redacts_sensitive_fields_in_every_format() {
    for format in [
        "json", "ecs", "ocsf", "cef", "leef1", "leef2", "rfc5424", "rfc3164", "hec",
    ] {
        let out = siem(&["encode", "--format", format], EVENT_WITH_CREDENTIALS, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        for secret in CLI_SECRETS {
            assert!(
                !stdout.contains(secret),
                "{format}: {secret} leaked: {stdout}"
            );
        }
        if format != "rfc3164" {
            // BSD syslog carries the message only; every other format carries the fields.
            assert!(stdout.contains("REDACTED"), "{format}: {stdout}");
            assert!(stdout.contains("cli-author-ok"), "{format}: {stdout}");
            assert!(stdout.contains("cli-express-ok"), "{format}: {stdout}");
        }
    }
}

#[test]
fn encode_hashes_with_the_configured_key_as_the_layer_does() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "redact:\n  mode: hash\n  hash_key: \"${SIEM_TEST_REDACT_KEY}\"\n  extra_fields: [member number]\n";
    let cfg = write_config(&dir, yaml);
    let key = "cli-test-hash-key";
    let line =
        r#"{"event_type":"auth.failure","cardNumber":"4111111111111111","member-number":"m-77"}"#;
    let out = siem(
        &["encode", "--format", "json", "--config", &cfg],
        line,
        &[("SIEM_TEST_REDACT_KEY", key)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers_redactor = tracing_siem::Config::from_yaml_with_env(
        yaml,
        &|k| (k == "SIEM_TEST_REDACT_KEY").then(|| key.to_owned()),
        [],
    )
    .unwrap()
    .redact
    .redactor();
    let text_of = |name: &str| {
        json.pointer(&format!("/metadata/{name}"))
            .or_else(|| json.get(name))
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{name} missing: {json}"))
            .to_owned()
    };
    assert_eq!(
        text_of("cardNumber"),
        layers_redactor.redact("4111111111111111")
    );
    assert_eq!(text_of("member-number"), layers_redactor.redact("m-77"));
    assert!(text_of("cardNumber").starts_with("hmac-sha256:"));
}

#[test]
fn check_never_prints_a_secrets_value_in_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (yaml, env, key) in [
        ("redact: { hash_key: 987654321 }", &[][..], "redact.hash_key"),
        (
            "redact: { hash_key: \"${SIEM_TEST_UNSET_KEY:-}\" }",
            &[("SIEM__REDACT__HASH_KEY__PART", "987654321")][..],
            "redact.hash_key",
        ),
        (
            "destinations:\n  - type: syslog\n    host: 127.0.0.1\n    tls: { client_key: [987654321] }",
            &[][..],
            "tls.client_key",
        ),
    ] {
        let cfg = write_config(&dir, yaml);
        let out = siem(&["check", &cfg], "", env);
        assert_eq!(out.status.code(), Some(3), "{yaml}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains(key), "{yaml}: {err}");
        assert!(err.contains("expected"), "{yaml}: {err}");
        assert!(!err.contains("987654321"), "{yaml}: {err}");
    }
}

/// A configuration that passes `check`, with a file destination in `dir`.
fn file_config(dir: &tempfile::TempDir) -> (String, std::path::PathBuf) {
    let events = dir.path().join("events.jsonl");
    let cfg = write_config(
        dir,
        &format!(
            "redact: {{ mode: hash, hash_key: k3y }}\ndestinations:\n  - type: file\n    path: {}\n",
            events.display()
        ),
    );
    (cfg, events)
}

#[test]
fn every_subcommand_takes_the_config_as_an_argument_or_with_config() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, events) = file_config(&dir);
    for args in [
        vec!["check", cfg.as_str()],
        vec!["check", "--config", cfg.as_str()],
        vec!["send-test", cfg.as_str()],
        vec!["send-test", "--config", cfg.as_str()],
    ] {
        let out = siem(&args, "", &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 2);
    // encode redacts with the configuration's key whichever way it is given.
    let input = "{\"event_type\":\"auth.failure\",\"password\":\"hunter2\"}\n";
    let positional = siem(&["encode", &cfg], input, &[]);
    let flagged = siem(&["encode", "--config", &cfg], input, &[]);
    let default = siem(&["encode"], input, &[]);
    assert_eq!(
        positional.status.code(),
        Some(0),
        "{}",
        text(&positional.stderr)
    );
    let password = |out: &Output| {
        let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        event["metadata"]["password"].as_str().unwrap().to_owned()
    };
    assert_eq!(password(&positional), password(&flagged));
    assert!(password(&positional).starts_with("hmac-sha256:"));
    assert_eq!(
        password(&default),
        "[REDACTED]",
        "masking without a configuration"
    );
    // Both forms at once, or neither where one is needed, is wrong usage.
    for args in [
        vec!["check", cfg.as_str(), "--config", cfg.as_str()],
        vec!["check"],
        vec!["send-test"],
    ] {
        let out = siem(&args, "", &[]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_missing_file_is_a_usage_error_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_config(&dir, "alerts: []\n");
    let missing = "/nonexistent/siem.yaml";
    for args in [
        vec!["check", missing],
        vec!["send-test", "--config", missing],
        vec!["encode", "--config", missing],
        vec!["rules", "test", missing, rules.as_str()],
        vec!["rules", "test", rules.as_str(), missing],
    ] {
        let out = siem(&args, "", &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("{missing}: no such file")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("invalid configuration"), "{args:?}: {err}");
    }
}

/// Runs `siem` with `stdin` written from another thread, reads a little of its output and
/// closes the pipe, as `| head -c 100` does; returns its exit status and standard error.
fn with_closed_output(args: &[&str], stdin: String) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The child may stop reading once its output is gone: a failed write here is expected.
    let writer = std::thread::spawn(move || drop(input.write_all(stdin.as_bytes())));
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // More output than a pipe holds, so that the writer is still writing when it closes.
    let fields: String = (0..4000)
        .map(|i| format!("  field_{i}: {}\n", "x".repeat(40)))
        .collect();
    let cfg = write_config(&dir, &format!("static_fields:\n{fields}"));
    let (code, err) = with_closed_output(&["check", &cfg], String::new());
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    let lines = "{\"event_type\":\"auth.failure\",\"user\":\"alice\"}\n".repeat(20_000);
    let (code, err) = with_closed_output(&["encode", "--format", "cef"], lines);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// `siem check FILE` run from the repository root, as the documentation says to, with no
/// `SIEM_…` variable of the test's own environment in the way.
fn check_from_repo_root(file: &std::path::Path) -> Output {
    check_from_repo_root_with(file, &[])
}

/// [`check_from_repo_root`] with these variables set (the credentials a snippet reads).
fn check_from_repo_root_with(file: &std::path::Path, vars: &[(&str, &str)]) -> Output {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(env!("CARGO_BIN_EXE_siem"));
    command.envs(vars.iter().copied());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SIEM_") {
            command.env_remove(name);
        }
    }
    command
        .arg("check")
        .arg(file)
        .current_dir(root)
        .output()
        .unwrap()
}

#[test]
fn the_shipped_example_passes_check_with_every_destination_type() {
    let out = check_from_repo_root("examples/siem.yaml".as_ref());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for kind in [
        "type stdout",
        "type stderr",
        "type file",
        "type syslog, format rfc5424",
        "type syslog, format rfc3164",
    ] {
        assert!(shown.contains(kind), "{kind}: {shown}");
    }
    for transport in ["transport: udp", "transport: tcp", "transport: tls"] {
        assert!(shown.contains(transport), "{transport}: {shown}");
    }
}

#[test]
fn the_reference_configuration_in_the_docs_passes_check_as_written() {
    let docs = include_str!("../../../docs/configuration.md");
    let yaml = docs
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/configuration.md opens with a yaml block");
    assert!(yaml.contains("rules_dir:") && yaml.contains("ca_file:"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reference.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = check_from_repo_root(&file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn the_readme_snippets_are_a_valid_destinations_list() {
    let readme = include_str!("../../../README.md");
    let yaml = readme
        .split("## One snippet per SIEM")
        .nth(1)
        .and_then(|section| section.split("```yaml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README has its snippets");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snippets.yaml");
    std::fs::write(&file, yaml).unwrap();
    let credentials = [
        ("ES_API_KEY", "ZXMtYXBpLWtleQ=="),
        ("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000"),
    ];
    let out = check_from_repo_root_with(&file, &credentials);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("# destination ").count(), 5);
    for (_, secret) in credentials {
        assert!(!text(&out.stdout).contains(secret), "a credential is shown");
    }
    // Printed with every type's defaults, it is itself a configuration check accepts.
    let again = dir.path().join("again.yaml");
    std::fs::write(&again, text(&out.stdout)).unwrap();
    let out = check_from_repo_root_with(&again, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn check_prints_the_defaults_of_what_was_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        "queue: { capacity: 5000 }\nredact: { mode: hash, hash_key: s3cr3t-k3y }\ndestinations:\n  - type: stdout\n    batch: { interval: 2s }\n",
    );
    let out = siem(&["check", &cfg], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert_shows(
        &shown,
        &[
            "  capacity: 5000",
            "  overflow: drop-newest",
            "  max_fields: 128",
            "shutdown_timeout: 10s",
            "  min_level: warn",
            "- name: stdout",
            "    max_events: 100",
            "    interval: 2s",
            "  queue_capacity: 10000",
        ],
    );
    assert!(!shown.contains("s3cr3t-k3y"), "{shown}");
    // What check prints is itself a configuration that check accepts.
    passes_check_again(&dir, &shown);
}

#[test]
fn check_prints_the_defaults_of_each_destination_types_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let cfg = write_config(
        &dir,
        &format!(
            "destinations:\n  - type: file\n    path: {}\n  - type: syslog\n    transport: tcp\n    host: 127.0.0.1\n  - type: syslog\n    transport: udp\n    host: 127.0.0.1\n  - type: syslog\n    transport: relp\n    host: 127.0.0.1\n  - type: splunk_hec\n    url: https://127.0.0.1:8088\n    token: hec-t0ken-value\n",
            events.display()
        ),
    );
    let out = siem(&["check", &cfg], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert_shows(
        &shown,
        &[
            // file
            "    max_size: 100000000",
            "    max_files: 10",
            "  fsync: on_flush",
            "  mode: '0600'",
            "  reopen_check: 1s",
            // syslog over TCP: the transport's port and framing
            "  port: 514",
            "  framing: octet-counting",
            "  write_timeout: 5s",
            "    initial: 100ms",
            "    interval: 2s",
            // syslog over RELP: its port and acknowledgement window
            "  port: 2514",
            "    window: 128",
            // HTTP
            "    timeout: 30s",
            "    allow_insecure_http: false",
        ],
    );
    assert!(!shown.contains("hec-t0ken-value"), "{shown}");
    // UDP refuses `framing`, so none is shown for it.
    let udp = shown.split("transport: udp").nth(1).unwrap();
    let udp = udp.split("- name:").next().unwrap();
    assert!(!udp.contains("framing: o"), "{udp}");
    passes_check_again(&dir, &shown);
}

#[test]
fn check_shows_values_from_the_environment_as_the_type_they_took() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        "destinations:\n  - type: syslog\n    transport: udp\n    host: localhost\n    port: \"${SIEM_TEST_PORT:-5514}\"\n",
    );
    let env = [("SIEM_HOST", "127.0.0.1"), ("SIEM__QUEUE__CAPACITY", "64")];
    let out = siem(&["check", &cfg], "", &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert_shows(
        &shown,
        &["  port: 5514", "  host: 127.0.0.1", "  capacity: 64"],
    );
    passes_check_again(&dir, &shown);
}

/// An HTTP/1.1 server on loopback that hands each request's first line and body to the test,
/// then answers 200, until the test drops the receiver.
fn http_server() -> (u16, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut head = String::new();
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        head.push_str(&line);
                        line.clear();
                    }
                    if head.is_empty() {
                        return;
                    }
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    // Handed over before the answer, so that a request the command saw
                    // answered is always there when it exits.
                    let first = head.lines().next().unwrap_or_default().to_owned();
                    if tx.send((first, body)).is_err()
                        || writer
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

#[test]
fn send_test_delivers_to_an_http_destination() {
    let (port, requests) = http_server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "destinations:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:{port}/in\n    body: ndjson\n"
        ),
    );
    let out = siem(&["send-test", "--config", &cfg, "--count", "3"], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("hook: shipped 3 of 3,"),
        "{}",
        text(&out.stdout)
    );
    let mut events = Vec::new();
    while let Ok((first, body)) = requests.try_recv() {
        assert_eq!(first, "POST /in HTTP/1.1");
        for line in text(&body).lines() {
            events.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["metadata"]["test"] == true));
}

#[test]
fn send_test_posts_test_alerts_to_an_alert_webhook() {
    let (port, requests) = http_server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            r#"destinations:
  - name: alerts
    type: alert_webhook
    template: custom
    webhook_url: http://127.0.0.1:{port}/notify
    http: {{ allow_insecure_http: true }}
    custom_template: '{{"title": "{{{{event_type}}}}", "text": "{{{{message}}}}"}}'
"#
        ),
    );
    let out = siem(
        &[
            "send-test",
            "--config",
            &cfg,
            "--type",
            "alert.test",
            "--count",
            "2",
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bodies: Vec<serde_json::Value> = requests
        .try_iter()
        .map(|(_, body)| serde_json::from_slice(&body).unwrap())
        .collect();
    let expected =
        serde_json::json!({"title": "alert.test", "text": "SIEM integration test event"});
    assert_eq!(
        bodies,
        [expected.clone(), expected],
        "one request per alert"
    );
}

#[test]
fn every_http_destination_example_in_the_docs_passes_check() {
    let docs = include_str!("../../../docs/http-destinations.md");
    let snippets: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    let credentials = [
        ("HOOK_TOKEN", "hook-t0ken"),
        ("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000"),
        ("ES_API_KEY", "ZXMtYXBpLWtleQ=="),
        ("DD_API_KEY", "dd-api-k3y"),
        ("OTEL_TOKEN", "0tel-t0ken"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/sl4ck",
        ),
        (
            "TEAMS_WORKFLOW_URL",
            "https://prod-00.westeurope.logic.azure.com/workflows/t3ams",
        ),
        ("PAGERDUTY_ROUTING_KEY", "R0UT1NGK3Y0000000000000000000000"),
        ("TICKETS_TOKEN", "t1ck3ts"),
        ("AZURE_CLIENT_SECRET", "az-cl1ent-s3cret"),
    ];
    // Identifiers, not credentials: shown like any setting.
    let identifiers = [
        ("AZURE_TENANT_ID", "00000000-0000-0000-0000-00000000aaaa"),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000bbbb"),
    ];
    let environment: Vec<(&str, &str)> = credentials.iter().chain(&identifiers).copied().collect();
    let dir = tempfile::tempdir().unwrap();
    let mut types = std::collections::BTreeSet::new();
    // The Google example names a service-account key file: a key file around siem-http's
    // test-only RSA key stands in for it.
    let pem = include_str!("../../siem-http/tests/fixtures/test-only-rsa-key.pem");
    let key = dir.path().join("gcp-key.json");
    let key_file = serde_json::json!({
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "shipper@acme-prod.iam.gserviceaccount.com",
    });
    std::fs::write(&key, key_file.to_string()).unwrap();
    for (i, yaml) in snippets.iter().enumerate() {
        let file = dir.path().join(format!("snippet{i}.yaml"));
        let yaml = yaml.replace("/etc/siem/gcp-key.json", key.to_str().unwrap());
        std::fs::write(&file, &yaml).unwrap();
        let out = check_from_repo_root_with(&file, &environment);
        assert_eq!(out.status.code(), Some(0), "{yaml}\n{}", text(&out.stderr));
        for (_, secret) in credentials {
            assert!(
                !text(&out.stdout).contains(secret),
                "a credential is shown: {yaml}"
            );
        }
        for line in yaml.lines() {
            if let Some(t) = line.trim().strip_prefix("type: ") {
                types.insert(t.split_whitespace().next().unwrap().to_owned());
            }
        }
    }
    let http_types = [
        "alert_webhook",
        "azure_monitor",
        "cloudwatch",
        "datadog",
        "elasticsearch",
        "gcp_logging",
        "otlp",
        "splunk_hec",
        "webhook",
    ];
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        http_types,
        "an example per HTTP destination"
    );
}

#[test]
fn every_streaming_destination_example_in_the_docs_passes_check() {
    let docs = include_str!("../../../docs/streaming.md");
    let credentials = [
        ("KAFKA_PASSWORD", "k4fka-pa55"),
        ("NATS_PASSWORD", "n4ts-pa55"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut types = std::collections::BTreeSet::new();
    for (i, yaml) in docs
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .enumerate()
    {
        let file = dir.path().join(format!("snippet{i}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        let out = check_from_repo_root_with(&file, &credentials);
        assert_eq!(out.status.code(), Some(0), "{yaml}\n{}", text(&out.stderr));
        for (_, secret) in credentials {
            assert!(
                !text(&out.stdout).contains(secret),
                "a credential is shown: {yaml}"
            );
        }
        for line in yaml.lines() {
            if let Some(t) = line.trim().strip_prefix("type: ") {
                types.insert(t.to_owned());
            }
            // Field names are settings, shown as written (a key named `key` would be masked).
            if let Some(fields) = line.trim().strip_prefix("keyed_by: ") {
                for field in fields.trim_matches(['[', ']']).split(", ") {
                    assert!(
                        text(&out.stdout).contains(&format!("- {field}\n")),
                        "{field} is not shown:\n{}",
                        text(&out.stdout)
                    );
                }
            }
        }
        // Printed with the type's defaults, it is itself a configuration check accepts.
        let again = dir.path().join(format!("again{i}.yaml"));
        std::fs::write(&again, text(&out.stdout)).unwrap();
        let out = check_from_repo_root_with(&again, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["kafka", "nats"],
        "an example per streaming destination"
    );
}

#[test]
fn spool_ls_replay_and_drop_act_on_a_spool_left_by_a_down_collector() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let spool_arg = spool.to_string_lossy().into_owned();
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = write_config(
        &dir,
        &format!(
            "destinations:\n  - name: collector\n    type: syslog\n    transport: tcp\n    framing: lf\n    host: 127.0.0.1\n    port: {port}\n    spool: {{ path: {spool_arg} }}\n"
        ),
    );
    let out = siem(
        &["send-test", &cfg, "--count", "40", "--timeout", "1s"],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("spooled 41"),
        "{}",
        text(&out.stdout)
    );

    let out = siem(&["spool", "ls", &spool_arg], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("41 records"),
        "{}",
        text(&out.stdout)
    );

    let out = siem(&["spool", "drop", &spool_arg], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(spool.is_dir(), "nothing deleted without --yes");

    let collector = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let reader = std::thread::spawn(move || {
        let (conn, _) = collector.accept().unwrap();
        BufReader::new(conn).lines().map_while(Result::ok).count()
    });
    let out = siem(&["spool", "replay", &spool_arg, "--config", &cfg], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("collector: shipped 41"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(reader.join().unwrap(), 41);

    let out = siem(&["spool", "ls", &spool_arg], "", &[]);
    assert!(
        text(&out.stdout).contains("0 records"),
        "{}",
        text(&out.stdout)
    );
    let out = siem(&["spool", "drop", &spool_arg, "--yes"], "", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!spool.exists());
}
