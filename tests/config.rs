//! Configuration from YAML: every error names the key and the reason; seeds' forms are expressible.

use tracing_siem::{Config, SiemBuilder, SinkConfig};

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
    let c = parse("destinations: [ { type: file, path: /proc/forbidden/x.jsonl } ]").unwrap();
    let e = SiemBuilder::from_config(c).build().err().unwrap();
    assert!(e.key().starts_with("destinations[0]"), "{e}");
    assert!(e.to_string().contains("/proc/forbidden"), "{e}");
    // A syslog setting refused when the sink is opened keeps its own key under the destination.
    let c = parse(
        "destinations: [ { type: syslog, transport: tls, host: localhost, tls: { ca_file: /nonexistent/ca.pem } } ]",
    )
    .unwrap();
    let e = SiemBuilder::from_config(c).build().err().unwrap();
    assert_eq!(e.key(), "destinations[0].tls.ca_file", "{e}");
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
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

#[test]
fn interpolation_and_overrides() {
    let c = Config::from_yaml_with_env(
        "app: \"${TOKEN}-svc\"\nqueue: { capacity: 100 }\ndestinations: [ { type: stdout } ]",
        &|k| (k == "TOKEN").then(|| "t0k3n".to_owned()),
        vec![
            ("SIEM_QUEUE__CAPACITY".to_owned(), "5000".to_owned()),
            ("SIEM_DESTINATIONS__0__FORMAT".to_owned(), "cef".to_owned()),
            ("SIEM_API_KEY".to_owned(), "not-a-config-key".to_owned()),
        ],
    )
    .unwrap();
    assert_eq!(c.app.as_deref(), Some("t0k3n-svc"));
    assert_eq!(c.queue.capacity, 5000);
    assert_eq!(c.destinations[0].format.to_string(), "cef");
    let e = Config::from_yaml_with_env(
        "{}",
        &|_| None,
        vec![("SIEM_QUEUE__CAPACITY".to_owned(), "zero".to_owned())],
    )
    .unwrap_err();
    assert_eq!(e.key(), "queue.capacity");
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
    format: leef2
    batch: { max_events: 100, interval: 5s }
rules:
  enabled: true
  correlation: { enabled: true, window: 300s }
"#,
    )
    .unwrap();
    assert_eq!(c.destinations[0].batch.max_events, 100);
    assert!(matches!(c.destinations[0].sink, SinkConfig::Syslog(_)));
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
