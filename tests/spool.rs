//! The disk spool through the layer and its YAML: a syslog collector that is down when the
//! program exits leaves the events in the spool, and the next program over the same spool
//! delivers them first, in order, before its own.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use tracing::warn;
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

/// A layer from YAML shipping to a TCP syslog collector on `port` with a spool in `spool`;
/// logs `events` numbered security events, then shuts down within `timeout`.
fn run_program(
    port: u16,
    spool: &std::path::Path,
    events: std::ops::Range<u64>,
    timeout: Duration,
) -> tracing_siem::Metrics {
    let yaml = format!(
        "app: spool-test
rules: {{ enabled: false }}
destinations:
  - name: collector
    type: syslog
    transport: tcp
    framing: lf
    host: 127.0.0.1
    port: {port}
    batch: {{ max_events: 50, interval: 20ms }}
    retry: {{ initial_backoff: 10ms, max_backoff: 50ms }}
    spool: {{ path: {}, max_size: 16MiB, fsync: batch }}
",
        spool.display()
    );
    let config = Config::from_yaml_with_env(&yaml, &|_| None, []).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for n in events {
            warn!(event_type = "auth.failure", "failed login number {n:06}");
        }
    });
    guard.shutdown(timeout);
    handle.metrics()
}

/// The event numbers in the lines a collector received.
fn numbers(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let at = l.find("failed login number ")? + "failed login number ".len();
            l.get(at..at + 6)?.parse().ok()
        })
        .collect()
}

#[test]
fn a_program_restarted_over_the_same_spool_delivers_what_the_last_one_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("collector-spool");
    // A port nobody listens on: the collector is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let first = run_program(port, &spool, 0..300, Duration::from_millis(800));
    assert_eq!(
        (
            first.events_shipped,
            first.events_spooled,
            first.events_dropped
        ),
        (0, 300, 0),
        "{first:?}"
    );

    let collector = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let received = Arc::clone(&lines);
    let reader = thread::spawn(move || {
        let (conn, _) = collector.accept().unwrap();
        for line in BufReader::new(conn).lines() {
            let Ok(line) = line else { break };
            received.lock().unwrap().push(line);
        }
    });
    let second = run_program(port, &spool, 300..400, Duration::from_secs(20));
    reader.join().unwrap();
    let d = &second.destinations[0];
    assert_eq!(
        (d.shipped, d.recovered, d.spooled, second.events_dropped),
        (400, 300, 0, 0),
        "{second:?}"
    );
    assert_eq!(
        numbers(&lines.lock().unwrap()),
        (0..400).collect::<Vec<_>>(),
        "the first program's events first, in order"
    );
    assert_eq!(
        tracing_siem::ship::spool::inspect(&spool)
            .unwrap()
            .records(),
        0
    );
}
