//! Destinations are checked by `Config::validate` (what `siem check` runs) exactly as `build()`
//! checks them before opening anything: each type's settings, and whether it can carry the
//! format without losing information. Errors name one key path under `destinations[i]`.

use tracing_siem::format::Format;
use tracing_siem::ship::sink::syslog::SyslogConfig;
use tracing_siem::{Config, ConfigError, DestinationConfig, SiemBuilder};

fn refused(yaml: &str) -> ConfigError {
    match Config::from_yaml_str(yaml) {
        Ok(c) => panic!("accepted {yaml:?}: {c:?}"),
        Err(e) => e,
    }
}

/// The key and reason of the error for one destination written as a flow mapping.
fn refused_destination(destination: &str) -> (String, String) {
    let e = refused(&format!("destinations:\n  - {destination}\n"));
    (e.key().to_owned(), e.reason().to_owned())
}

#[test]
fn syslog_settings_refused_at_startup_are_refused_by_validate() {
    let cases = [
        ("{ type: syslog, transport: tcp, host: 127.0.0.1, port: 0 }", "port", "0 is not a port"),
        ("{ type: syslog, transport: udp, host: 127.0.0.1, framing: lf }", "framing", "udp"),
        (
            "{ type: syslog, transport: udp, host: 127.0.0.1, backup: [ { host: 127.0.0.2 } ] }",
            "backup",
            "tcp or tls",
        ),
        (
            "{ type: syslog, transport: udp, host: 127.0.0.1, max_datagram_size: 10 }",
            "max_datagram_size",
            "out of range",
        ),
        ("{ type: syslog, transport: tcp, host: \"127.0.0.1:514\" }", "host", "port under `port`"),
        (
            "{ type: syslog, transport: tls, host: localhost, tls: { ca_file: /nonexistent/ca.pem } }",
            "tls.ca_file",
            "/nonexistent/ca.pem",
        ),
    ];
    for (destination, key, reason) in cases {
        let (k, r) = refused_destination(destination);
        assert_eq!(k, format!("destinations[0].{key}"), "{destination}: {r}");
        assert!(r.contains(reason), "{destination}: {r:?} lacks {reason:?}");
    }
}

#[test]
fn an_unreadable_ca_file_is_refused_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (key, reason) = refused_destination(&format!(
        "{{ type: syslog, transport: tls, host: localhost, tls: {{ ca_file: {} }} }}",
        dir.path().display()
    ));
    assert_eq!(key, "destinations[0].tls.ca_file");
    assert!(reason.contains("cannot read"), "{reason}");
}

#[test]
fn file_settings_refused_at_startup_are_refused_by_validate_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (key, reason) = refused_destination(&format!(
        "{{ type: file, path: {}, rotation: {{ max_files: 0 }} }}",
        dir.path().join("e.jsonl").display()
    ));
    assert_eq!(key, "destinations[0].rotation.max_files");
    assert!(reason.contains("at least 1"), "{reason}");

    // A parent that is a file: no directory can be created there, whoever runs the program.
    let taken = dir.path().join("taken");
    std::fs::write(&taken, b"not a directory").unwrap();
    let (key, reason) = refused_destination(&format!(
        "{{ type: file, path: {} }}",
        taken.join("logs/e.jsonl").display()
    ));
    assert_eq!(key, "destinations[0].path");
    assert!(reason.contains("not a directory"), "{reason}");

    // A symbolic link at the path is never followed.
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&taken, &link).unwrap();
    let (key, reason) = refused_destination(&format!("{{ type: file, path: {} }}", link.display()));
    assert_eq!(key, "destinations[0].path");
    assert!(reason.contains("symbolic link"), "{reason}");

    // A valid path in directories that do not exist yet passes, and nothing is created.
    let fresh = dir.path().join("a/b/e.jsonl");
    Config::from_yaml_str(&format!(
        "destinations: [ {{ type: file, path: {} }} ]",
        fresh.display()
    ))
    .unwrap();
    assert!(!dir.path().join("a").exists());
}

#[test]
fn format_and_destination_combinations_that_lose_information_are_refused() {
    let (key, reason) =
        refused_destination("{ type: syslog, transport: tcp, host: 127.0.0.1, format: cef }");
    assert_eq!(key, "destinations[0].format");
    assert!(
        reason.contains("format: rfc5424") && reason.contains("body: cef"),
        "{reason}"
    );
    let (key, reason) =
        refused_destination("{ type: syslog, transport: tcp, host: 127.0.0.1, format: leef2 }");
    assert_eq!(key, "destinations[0].format");
    assert!(reason.contains("body: leef2"), "{reason}");

    let (key, reason) =
        refused_destination("{ type: syslog, transport: tcp, host: 127.0.0.1, format: rfc3164 }");
    assert_eq!(key, "destinations[0].format");
    assert!(reason.contains("user, source IP"), "{reason}");
    let c = Config::from_yaml_str(
        "destinations: [ { type: syslog, transport: tcp, host: 127.0.0.1, format: rfc3164, format_options: { body: cef } } ]",
    )
    .unwrap();
    assert_eq!(c.destinations[0].format, Format::Rfc3164);

    let (key, reason) =
        refused_destination("{ type: stdout, format: json, format_options: { body: cef } }");
    assert_eq!(key, "destinations[0].format_options.body");
    assert!(reason.contains("ignored"), "{reason}");

    // Without a format, syslog gets its own default (RFC 5424), other types JSON.
    let c = Config::from_yaml_str(
        "destinations: [ { type: syslog, transport: udp, host: 127.0.0.1 }, { type: stdout } ]",
    )
    .unwrap();
    assert_eq!(c.destinations[0].format, Format::Rfc5424);
    assert_eq!(c.destinations[1].format, Format::Json);
}

#[test]
fn errors_name_one_key_path() {
    let e = refused(
        "destinations: [ { type: stdout }, { type: file, path: x.jsonl, rotation: { max_size: 10 parsecs } } ]",
    );
    assert_eq!(e.key(), "destinations[1].rotation.max_size", "{e}");
    assert!(
        e.to_string()
            .starts_with("destinations[1].rotation.max_size: "),
        "{e}"
    );

    let e = refused("destinations: [ { type: syslog, transport: tcp } ]");
    assert_eq!(e.to_string(), "destinations[0]: missing field `host`");

    let e = refused("destinations: [ { type: stdout, batch: { max_events: lots } } ]");
    assert_eq!(e.key(), "destinations[0].batch.max_events", "{e}");

    let e = refused("destinations: [ { type: pigeon } ]");
    assert_eq!(e.key(), "destinations[0].type");
    for name in ["stdout", "stderr", "file", "syslog"] {
        assert!(e.reason().contains(name), "{e}");
    }
}

#[test]
fn build_refuses_what_validate_refuses_before_opening_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config
        .destinations
        .push(DestinationConfig::file(dir.path().join("ok/e.jsonl")));
    config.destinations.push(DestinationConfig::syslog(
        SyslogConfig::udp("127.0.0.1").max_datagram_size(10),
    ));
    let by_validate = config.validate().unwrap_err();
    assert_eq!(by_validate.key(), "destinations[1].max_datagram_size");
    let by_build = SiemBuilder::from_config(config).build().err().unwrap();
    assert_eq!(by_build, by_validate);
    assert!(
        !dir.path().join("ok").exists(),
        "the file destination must not be opened when another one is refused"
    );

    let cef = DestinationConfig::syslog(SyslogConfig::tcp("127.0.0.1")).format(Format::Cef);
    let e = SiemBuilder::default()
        .destination(cef)
        .build()
        .err()
        .unwrap();
    assert_eq!(e.key(), "destinations[0].format");
}
