//! Configuration from YAML: every error names the key and the reason; seeds' forms are expressible.

use tracing_siem::{Config, SiemBuilder};

fn parse(yaml: &str) -> Result<Config, tracing_siem::ConfigError> {
    Config::from_yaml_with_env(
        yaml,
        &|k| (k == "TOKEN").then(|| "t0k3n".to_owned()),
        Vec::new(),
    )
}

fn err(yaml: &str) -> tracing_siem::ConfigError {
    match parse(yaml) {
        Ok(c) => panic!("accepted {yaml:?}: {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn empty_and_minimal_documents_are_valid() {
    assert!(parse("").unwrap().destinations.is_empty());
    assert!(parse("{}").is_ok());
    assert_eq!(parse("app: svc").unwrap().app.as_deref(), Some("svc"));
}

#[test]
fn every_error_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("- a\n- b", "", "mapping"),
        ("app: [unclosed", "", "invalid YAML"),
        ("appp: svc", "", "appp"),
        ("queue: { capacity: 0 }", "queue.capacity", "at least 1"),
        ("queue: { capacity: -5 }", "queue.capacity", ""),
        (
            "queue: { capacity: 99999999999 }",
            "queue.capacity",
            "at most",
        ),
        (
            "queue: { overflow: sometimes }",
            "queue.overflow",
            "unknown variant `sometimes`",
        ),
        (
            "queue: { block_timeout: soon }",
            "queue.block_timeout",
            "invalid duration",
        ),
        (
            "queue: { poll_interval: 0s }",
            "queue.poll_interval",
            "more than 0",
        ),
        ("shutdown_timeout: -1", "shutdown_timeout", ""),
        (
            "drop_report_interval: 0",
            "drop_report_interval",
            "more than 0",
        ),
        (
            "classify: { min_level: loud }",
            "classify.min_level",
            "unknown level",
        ),
        (
            "classify: { rules: [ { event_type: x } ] }",
            "classify.rules[0].message_contains",
            "every event",
        ),
        ("classify: { keyword: true }", "classify", "keyword"),
        ("redact: { mode: shred }", "redact.mode", "shred"),
        ("static_fields: { '': x }", "static_fields", "empty"),
        (
            "destinations: [ { format: json } ]",
            "destinations[0]",
            "type: missing",
        ),
        (
            "destinations: [ { type: pigeon } ]",
            "destinations[0]",
            "pigeon",
        ),
        (
            "destinations: [ { type: stdout, format: morse } ]",
            "destinations[0]",
            "format",
        ),
        (
            "destinations: [ { type: stdout, colour: red } ]",
            "destinations[0]",
            "colour",
        ),
        (
            "destinations: [ { type: file } ]",
            "destinations[0]",
            "path",
        ),
        (
            "destinations: [ { type: file, path: x, rotation: { max_size: 10 parsecs } } ]",
            "destinations[0]",
            "rotation.max_size",
        ),
        (
            "destinations: [ { type: stdout, batch: { max_events: 0 } } ]",
            "destinations[0].batch.max_events",
            "at least 1",
        ),
        (
            "destinations: [ { type: stdout, batch: { interval: forever } } ]",
            "destinations[0]",
            "batch.interval",
        ),
        (
            "destinations: [ { type: stdout, retry: { max_attempts: many } } ]",
            "destinations[0]",
            "retry.max_attempts",
        ),
        (
            "destinations: [ { type: stdout, queue_capacity: 0 } ]",
            "destinations[0].queue_capacity",
            "at least 1",
        ),
        (
            "destinations: [ { type: stdout, filter: { include: ['a['] } } ]",
            "destinations[0].filter.include[0]",
            "invalid pattern",
        ),
        (
            "destinations: [ { type: stdout, filter: { min_severity: dire } } ]",
            "destinations[0]",
            "dire",
        ),
        (
            "destinations: [ { type: stdout }, { type: stdout, name: stdout } ]",
            "destinations[1].name",
            "duplicate",
        ),
        (
            "destinations: [ { type: syslog, transport: carrier } ]",
            "destinations[0]",
            "carrier",
        ),
        (
            "destinations: [ { type: stdout, spool: { path: /tmp/s, max_size: 1KB } } ]",
            "destinations[0].spool.max_size",
            "at least",
        ),
        (
            "destinations: [ { type: stdout, spool: { path: /tmp/s, when_full: sometimes } } ]",
            "destinations[0].spool.when_full",
            "unknown variant `sometimes`",
        ),
        (
            "destinations: [ { type: stdout, spool: { max_size: 1MB } } ]",
            "destinations[0].spool",
            "path",
        ),
        (
            "destinations: [ { type: stdout, spool: { path: /tmp/s, fsync: interval, fsync_interval: 0s } } ]",
            "destinations[0].spool.fsync_interval",
            "more than 0",
        ),
        (
            "destinations: [ { type: stdout, spool: { path: /tmp/s } }, { type: stderr, spool: { path: /tmp/s } } ]",
            "destinations[1].spool.path",
            "another destination",
        ),
        ("app: ${UNSET_FOR_TEST}", "app", "UNSET_FOR_TEST"),
        ("app: ${BAD NAME}", "app", "invalid variable name"),
        (
            "rules: { alerts: [ { name: x, conditon: y } ] }",
            "rules",
            "conditon",
        ),
    ];
    for (yaml, key, reason) in cases {
        let e = err(yaml);
        assert!(
            e.key().starts_with(key),
            "{yaml:?}: key {:?} does not start with {key:?} ({e})",
            e.key()
        );
        assert!(
            e.to_string().contains(reason),
            "{yaml:?}: {e} lacks {reason:?}"
        );
    }
}

#[test]
fn errors_found_only_when_building_name_the_destination() {
    let c = parse("destinations: [ { type: stdout, format: rfc5424, format_options: { facility: local99 } } ]");
    let e = match c {
        Err(e) => e,
        Ok(c) => SiemBuilder::from_config(c)
            .build()
            .err()
            .expect("facility local99 must be refused"),
    };
    assert!(e.to_string().contains("destinations[0]"), "{e}");
    // Settings refused when a sink is opened are refused by `validate` too: see
    // tests/destinations.rs.
}

#[test]
fn hostile_yaml_is_refused_cleanly() {
    let deep = format!("app: {}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse(&deep).is_err());
    assert!(parse("app: !custom { a: 1 }").is_err());
    assert!(parse("\u{0}").is_err());
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    assert!(parse(bomb).is_err());
}

fn with_vars(yaml: &str, vars: &[(&str, &str)]) -> Result<Config, tracing_siem::ConfigError> {
    let env: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = env.clone();
    Config::from_yaml_with_env(
        yaml,
        &move |k| lookup.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
        env,
    )
}

/// The syslog settings of a destination, as `Debug` shows them.
fn sink(c: &Config, i: usize) -> String {
    format!("{:?}", c.destinations[i].sink)
}

#[test]
fn interpolation_and_overrides() {
    let c = with_vars(
        "app: \"${TOKEN}-svc\"\nqueue: { capacity: 100 }\ndestinations: [ { type: stdout } ]",
        &[
            ("TOKEN", "t0k3n"),
            ("SIEM__QUEUE__CAPACITY", "5000"),
            ("SIEM__DESTINATIONS__0__FORMAT", "cef"),
            ("SIEM_API_KEY", "not-a-config-key"),
        ],
    )
    .unwrap();
    assert_eq!(c.app.as_deref(), Some("t0k3n-svc"));
    assert_eq!(c.queue.capacity, 5000);
    assert_eq!(c.destinations[0].format.to_string(), "cef");
    for (value, reason) in [("zero", "invalid type"), ("0", "at least 1")] {
        let e = with_vars("{}", &[("SIEM__QUEUE__CAPACITY", value)]).unwrap_err();
        assert_eq!(e.key(), "queue.capacity");
        assert!(e.reason().contains(reason), "{e}");
        assert!(e.reason().contains("SIEM__QUEUE__CAPACITY"), "{e}");
    }
}

#[test]
fn seed_004_collector_variables_reach_the_syslog_destination() {
    let yaml = "host: web-01\ndestinations:\n  - { type: stdout }\n  - { type: syslog, transport: udp, host: localhost }\n";
    let c = with_vars(
        yaml,
        &[("SIEM_HOST", "siem.company.com"), ("SIEM_PORT", "514")],
    )
    .unwrap();
    assert_eq!(
        c.host.as_deref(),
        Some("web-01"),
        "SIEM_HOST never renames events' host"
    );
    let syslog = sink(&c, 1);
    assert!(
        syslog.contains("\"siem.company.com\"") && syslog.contains("514"),
        "{syslog}"
    );
    let e = with_vars(yaml, &[("SIEM_PORT", "high")]).unwrap_err();
    assert_eq!(e.key(), "destinations[1].port", "{e}");
    assert!(e.reason().contains("SIEM_PORT"), "{e}");
    let e = with_vars("destinations: [ { type: stdout } ]", &[("SIEM_HOST", "x")]).unwrap_err();
    assert!(
        e.to_string().contains("SIEM_HOST") && e.to_string().contains("no syslog destination"),
        "{e}"
    );
    let two = "destinations:\n  - { type: syslog, host: a }\n  - { type: syslog, host: b }\n";
    let e = with_vars(two, &[("SIEM_HOST", "x")]).unwrap_err();
    assert!(e.to_string().contains("2 syslog destinations"), "{e}");
    // Where the configuration reads the variable itself, that is where it goes.
    let reads = "destinations:\n  - { type: syslog, host: a }\n  - { type: syslog, host: \"${SIEM_HOST}\" }\n";
    let c = with_vars(reads, &[("SIEM_HOST", "collector")]).unwrap();
    assert!(sink(&c, 0).contains("\"a\""), "{}", sink(&c, 0));
    assert!(sink(&c, 1).contains("\"collector\""), "{}", sink(&c, 1));
}

#[test]
fn an_override_that_reaches_no_key_is_an_error_naming_it() {
    let yaml = "destinations: [ { type: syslog, host: a } ]";
    for (name, says) in [
        (
            "SIEM__DESTINATION__0__HOST",
            "did you mean SIEM__DESTINATIONS__0__HOST?",
        ),
        ("SIEM_DESTINATIONS__0__HOST", "SIEM__DESTINATIONS__0__HOST"),
        ("SIEM__DESTINATIONS__1__HOST", "no item 1"),
        ("SIEM__QUEUE__CAPCITY", "did you mean `capacity`?"),
        ("SIEM__COLOUR", "unknown field `colour`"),
    ] {
        let e = with_vars(yaml, &[(name, "x")]).unwrap_err();
        assert!(e.to_string().contains(name), "{name}: {e}");
        assert!(e.to_string().contains(says), "{name}: {e}");
    }
}

#[test]
fn interpolated_scalars_take_the_type_their_key_expects() {
    let c = with_vars(
        "app: \"${APP}\"\nstderr_notices: \"${NOTICES:-false}\"\nredact: { mode: hash, hash_key: \"${KEY}\" }\n\
         destinations:\n  - { type: syslog, transport: udp, host: localhost, port: \"${P:-5514}\" }\n  \
         - { type: stdout, retry: { max_attempts: \"${TRIES:-}\" } }\n",
        &[("APP", "1234"), ("KEY", "987654321")],
    )
    .unwrap();
    assert_eq!(c.app.as_deref(), Some("1234"), "text stays text");
    assert!(!c.stderr_notices);
    assert_eq!(
        c.redact.hash_key.as_deref(),
        Some("987654321"),
        "a secret is never a number"
    );
    assert!(sink(&c, 0).contains("5514"), "{}", sink(&c, 0));
    assert_eq!(c.destinations[1].retry.max_attempts, None);
    // Only a whole `${…}` is retyped: text around it keeps it text, and the key says why.
    let e = with_vars(
        "destinations: [ { type: syslog, host: localhost, port: \"${P:-5514}0\" } ]",
        &[],
    )
    .unwrap_err();
    assert_eq!(e.key(), "destinations[0].port", "{e}");
}

#[test]
fn error_keys_read_as_one_path() {
    for (yaml, key) in [
        (
            "destinations: [ { type: file, path: x, rotation: { max_size: huge } } ]",
            "destinations[0].rotation.max_size",
        ),
        ("destinations: [ { type: syslog } ]", "destinations[0]"),
        (
            "rules: { rules_dir: /nonexistent/rules }",
            "rules.rules_dir",
        ),
        ("queue: { capacity: lots }", "queue.capacity"),
    ] {
        let e = err(yaml);
        assert_eq!(e.key(), key, "{yaml}: {e}");
        let shown = e.to_string();
        assert!(
            !shown.contains(": :") && !shown.contains("]: rotation"),
            "{shown}"
        );
    }
    assert!(err("destinations: [ { type: syslog } ]")
        .to_string()
        .starts_with("destinations[0]: missing field `host`"));
}

#[test]
fn unknown_keys_get_a_did_you_mean() {
    for (yaml, says) in [
        (
            "destinations: [ { type: syslog, host: a, protocol: tls } ]",
            "`protocol` is `transport: udp | tcp | tls` here",
        ),
        (
            "destinations: [ { type: syslog, host: a, tls_verify: false } ]",
            "dangerous_disable_verification",
        ),
        (
            "destinations: [ { type: syslog, host: a, tls_ca_cert: /ca.pem } ]",
            "ca_file",
        ),
        ("destination: []", "did you mean `destinations`?"),
        ("queue: { capcity: 5 }", "did you mean `capacity`?"),
        ("max_queue_size: 5", "queue: { capacity: … }"),
        (
            "buffer_file: ~/.siem/buffer.json",
            "`spool: { path: <directory> }`",
        ),
        ("monitoring: { siem: { enabled: true } }", "seed 004"),
        (
            "queue: { overflow: drop-neweset }",
            "did you mean `drop-newest`?",
        ),
    ] {
        let e = err(yaml);
        assert!(e.to_string().contains(says), "{yaml}: {e}");
    }
}

#[test]
fn seed_000_siemconfig_is_expressible() {
    // format, syslog_host/port, batch_size, flush_interval_seconds, max_queue_size,
    // drop_on_overflow, enable_alerting, correlation_window_seconds, enable_anomaly_detection.
    let c = parse(
        r#"
queue: { capacity: 10000, overflow: drop-newest }
destinations:
  - type: syslog
    transport: udp
    host: 127.0.0.1
    port: 514
    format: rfc5424
    format_options: { body: leef2 }
    batch: { max_events: 100, interval: 5s }
rules:
  enabled: true
  correlation: { enabled: true, window: 300s }
"#,
    )
    .unwrap();
    assert_eq!(c.destinations[0].batch.max_events, 100);
    assert_eq!(c.destinations[0].sink.type_name(), "syslog");
}

#[test]
fn seed_003_destinations_and_filters_are_expressible() {
    let c = parse(
        r#"
destinations:
  - type: syslog
    transport: udp
    host: 127.0.0.1
    port: 514
    format: rfc5424
    format_options: { facility: local0, app_name: mockforge }
  - type: file
    path: /tmp/tracing-siem-test/siem-events.jsonl
    format: json
    rotation: { max_size: 100MB, max_files: 10, compress: true }
    filter:
      include: ["auth.*", "authz.*", "security.*"]
      exclude: ["severity:low"]
"#,
    )
    .unwrap();
    assert_eq!(c.destinations.len(), 2);
    assert_eq!(c.destination_names(), ["syslog", "file"]);
}

#[test]
fn errors_keep_their_underlying_cause_without_changing_the_message() {
    use std::error::Error as _;

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.yaml");
    let e = Config::from_yaml_file(&missing).unwrap_err();
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    let io = e
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("an unreadable file keeps its I/O error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

    let e = err("app: [unclosed");
    assert!(e.to_string().starts_with("invalid YAML"), "{e}");
    let yaml = e
        .source()
        .expect("a YAML syntax error keeps the parser's error");
    assert!(e.to_string().ends_with(&yaml.to_string()), "{e} / {yaml}");

    // serde quotes the refused value, so an error about a secret keeps no cause to print.
    let e = err("redact: { hash_key: [987654321] }");
    assert_eq!(e.key(), "redact.hash_key");
    assert!(e.source().is_none(), "{:?}", e.source());
    let e = err("queue: { capacity: [987654321] }");
    assert!(e.source().is_some(), "{e}");
}

/// A Google service-account key file with the test-only key of crates/siem-http/tests/fixtures.
#[cfg(feature = "gcp")]
fn gcp_key_file(dir: &tempfile::TempDir, private_key: &str) -> String {
    let path = dir.path().join("key.json");
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "acme-sec",
        "private_key": private_key,
        "client_email": "shipper@acme-sec.iam.gserviceaccount.com",
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path.display().to_string()
}

#[cfg(feature = "gcp")]
#[test]
fn check_validates_every_gcp_logging_key() {
    let key = include_str!("../crates/siem-http/tests/fixtures/test-only-rsa-key.pem");
    let dir = tempfile::tempdir().unwrap();
    let good = gcp_key_file(&dir, key);
    let ok = format!("destinations: [ {{ type: gcp_logging, log_name: appshield/security, credentials_path: {good} }} ]");
    parse(&ok).unwrap();
    let other = tempfile::tempdir().unwrap();
    let bad_key = gcp_key_file(
        &other,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let cases = [
        (
            "destinations: [ { type: gcp_logging, log_name: sec, credentials_path: /nonexistent/key.json } ]".to_owned(),
            "destinations[0].credentials_path",
            "cannot be read",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, log_name: sec, credentials_path: {bad_key} }} ]"),
            "destinations[0].credentials_path",
            "private_key",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, log_name: 'a log', credentials_path: {good} }} ]"),
            "destinations[0].log_name",
            "not allowed",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, log_name: sec, credentials_path: {good}, endpoint: 'not a url' }} ]"),
            "destinations[0].endpoint",
            "not a URL",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, log_name: sec, credentials_path: {good}, endpoint: 'http://127.0.0.1:9/v2/entries:write' }} ]"),
            "destinations[0].endpoint",
            "allow_insecure_http",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, credentials_path: {good} }} ]"),
            "destinations[0]",
            "missing field `log_name`",
        ),
        (
            format!("destinations: [ {{ type: gcp_logging, log_name: sec, credentials_path: {good}, log_type: x }} ]"),
            "destinations[0].log_type",
            "unknown field `log_type`",
        ),
    ];
    for (yaml, key, reason) in cases {
        let e = err(&yaml);
        assert_eq!(e.key(), key, "{yaml}: {e}");
        assert!(e.to_string().contains(reason), "{yaml}: {e}");
        assert!(!e.to_string().contains("AAAA"), "{e}");
    }
}

#[cfg(feature = "azure")]
#[test]
fn check_validates_every_azure_monitor_key_and_explains_the_retired_api() {
    let valid = "type: azure_monitor, endpoint: 'https://dce-1.westeurope-1.ingest.monitor.azure.com', \
                 dcr_immutable_id: dcr-0123456789abcdef0123456789abcdef, stream: Custom-AppShield_CL, \
                 tenant_id: contoso.onmicrosoft.com, client_id: 00000000-0000-0000-0000-000000000001, \
                 client_secret: '${TOKEN}'";
    parse(&format!("destinations: [ {{ {valid} }} ]")).unwrap();
    let with = |extra: &str| format!("destinations: [ {{ {valid}, {extra} }} ]");
    let cases = [
        (
            "destinations: [ { type: azure_monitor, endpoint: 'https://d', dcr_immutable_id: dcr-0, stream: s, client_id: c, client_secret: x } ]".to_owned(),
            "destinations[0]",
            "missing field `tenant_id`",
        ),
        (
            valid.replace("https://dce-1.westeurope-1.ingest.monitor.azure.com", "dce-1 westeurope"),
            "destinations[0].endpoint",
            "not a URL",
        ),
        (
            valid.replace("tenant_id: contoso.onmicrosoft.com", "tenant_id: ''"),
            "destinations[0].tenant_id",
            "must not be empty",
        ),
        (
            valid.replace("dcr-0123456789abcdef0123456789abcdef", "/subscriptions/1/dcr"),
            "destinations[0].dcr_immutable_id",
            "immutableId",
        ),
        (
            with("authority: 'http://127.0.0.1:9'"),
            "destinations[0].authority",
            "allow_insecure_http",
        ),
        (
            with("workspace_id: 0f9a"),
            "destinations[0].workspace_id",
            "retired on 2026-09-14",
        ),
        (
            with("shared_key: c2VjcmV0"),
            "destinations[0].shared_key",
            "`client_secret`",
        ),
        (
            with("log_type: AppShield"),
            "destinations[0].log_type",
            "`stream: Custom-X_CL`",
        ),
    ];
    for (yaml, key, reason) in cases {
        let yaml = if yaml.starts_with("destinations") {
            yaml
        } else {
            format!("destinations: [ {{ {yaml} }} ]")
        };
        let e = err(&yaml);
        assert_eq!(e.key(), key, "{yaml}: {e}");
        assert!(e.to_string().contains(reason), "{yaml}: {e}");
        assert!(!e.to_string().contains("t0k3n"), "{e}");
        assert!(
            e.to_string().matches("docs/http-destinations.md").count() <= 1,
            "a hint given twice: {e}"
        );
    }
}
