//! `siem check` refuses what startup would refuse, keyed by one path, and `siem check
//! --connect` opens each destination once and says whether it is reachable.

use std::net::TcpListener;
use std::process::{Command, Output};

fn check(dir: &tempfile::TempDir, yaml: &str, extra: &[&str]) -> Output {
    let path = dir.path().join("siem.yaml");
    std::fs::write(&path, yaml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_siem"))
        .arg("check")
        .arg(&path)
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_refuses_what_startup_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken");
    std::fs::write(&taken, b"a file").unwrap();
    let under_a_file = taken.join("e.jsonl");
    let cases = [
        (
            "type: syslog, transport: tcp, host: 127.0.0.1, port: 0".to_owned(),
            "port",
        ),
        (
            "type: syslog, transport: udp, host: 127.0.0.1, framing: lf".to_owned(),
            "framing",
        ),
        (
            "type: syslog, transport: tls, host: localhost, tls: { ca_file: /nonexistent/ca.pem }"
                .to_owned(),
            "tls.ca_file",
        ),
        (
            format!(
                "type: file, path: {}, rotation: {{ max_files: 0 }}",
                dir.path().join("e.jsonl").display()
            ),
            "rotation.max_files",
        ),
        (
            format!("type: file, path: {}", under_a_file.display()),
            "path",
        ),
        (
            "type: syslog, transport: udp, host: 127.0.0.1, backup: [ { host: 127.0.0.2 } ]"
                .to_owned(),
            "backup",
        ),
        (
            "type: syslog, transport: udp, host: 127.0.0.1, max_datagram_size: 10".to_owned(),
            "max_datagram_size",
        ),
        (
            "type: syslog, transport: tcp, host: \"127.0.0.1:514\"".to_owned(),
            "host",
        ),
        (
            "type: syslog, transport: tcp, host: 127.0.0.1, format: cef".to_owned(),
            "format",
        ),
        (
            "type: syslog, transport: tcp, host: 127.0.0.1, format: rfc3164".to_owned(),
            "format",
        ),
        (
            "type: stdout, format: json, format_options: { body: cef }".to_owned(),
            "format_options.body",
        ),
    ];
    for (destination, key) in cases {
        let out = check(
            &dir,
            &format!("destinations:\n  - {{ {destination} }}\n"),
            &[],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{destination}: {stderr}");
        assert!(
            stderr.contains(&format!("destinations[0].{key}: ")),
            "{destination}: {stderr}"
        );
    }
    assert!(!dir.path().join("taken").is_dir());
}

#[test]
fn check_connect_reports_each_destination_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = collector.local_addr().unwrap().port();
    let file = dir.path().join("events.jsonl");
    let yaml = format!(
        "destinations:\n  - {{ name: collector, type: syslog, transport: tcp, host: 127.0.0.1, port: {port} }}\n  - {{ name: audit, type: file, path: {} }}\n",
        file.display()
    );
    let out = check(&dir, &yaml, &["--connect", "--timeout", "5s"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "# connect collector: reachable: syslog-tcp 127.0.0.1:{port}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("# connect audit: reachable: would create"),
        "{stdout}"
    );
    // The probe connected (the connection waits in the backlog) and created no file.
    collector.set_nonblocking(true).unwrap();
    assert!(
        collector.accept().is_ok(),
        "no connection reached the collector"
    );
    assert!(!file.exists());
}

#[test]
fn check_connect_fails_on_a_closed_port() {
    let dir = tempfile::tempdir().unwrap();
    // A loopback port nothing listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!(
        "destinations:\n  - {{ type: syslog, transport: tcp, host: 127.0.0.1, port: {port} }}\n  - {{ type: stdout }}\n"
    );
    let out = check(&dir, &yaml, &["--connect", "--timeout", "2s"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("# connect syslog: unreachable: syslog-tcp: cannot connect to 127.0.0.1"),
        "{stdout}"
    );
    assert!(stdout.contains("# connect stdout: reachable"), "{stdout}");
    assert!(text(&out.stderr).contains("1 destination(s) unreachable"));
}
