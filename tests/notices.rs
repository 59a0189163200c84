//! What a person watching standard error is told: a destination that fails and recovers, events
//! logged after the guard was dropped, a global level filter that hides WARN events. Each case
//! runs this test binary again as a child process (the ignored `child_*` tests), so that its
//! standard error can be read and global state (the maximum level) stays its own.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use tracing::warn;
use tracing_siem::SyslogConfig;
use tracing_siem::{DestinationConfig, SiemLayer};
use tracing_subscriber::prelude::*;

const CHILD: &str = "SIEM_NOTICES_CHILD";

/// Runs the ignored test `name` as a child and returns its standard error.
fn stderr_of(name: &str, quiet: bool) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            name,
        ])
        .env(CHILD, if quiet { "quiet" } else { "loud" })
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{name}: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn builder() -> tracing_siem::SiemBuilder {
    let quiet = std::env::var(CHILD).as_deref() == Ok("quiet");
    SiemLayer::builder()
        .app("notices")
        .stderr_notices(!quiet)
        .rules(tracing_siem::rules::RulesConfig::default().enabled(false))
}

#[test]
#[ignore = "run as a child process by a_failing_destination_is_told_once_and_its_recovery_too"]
fn child_failing_then_recovering() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let syslog = SyslogConfig::tcp("127.0.0.1")
        .port(port)
        .backoff(Duration::from_millis(20), Duration::from_millis(50));
    let batch = tracing_siem::BatchConfig::default().interval(Duration::from_millis(10));
    let (layer, guard) = builder()
        .destination(
            DestinationConfig::syslog(syslog)
                .name("collector")
                .batch(batch),
        )
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        warn!(event_type = "auth.failure", "Failed login");
        // Several failed attempts, then the collector comes up on the same port.
        while handle.metrics().ship_failures < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let collector = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let report = handle.flush(Duration::from_secs(10));
        assert!(report.completed, "{report:?}");
        drop(collector);
    });
    drop(guard.shutdown(Duration::from_secs(2)));
}

#[test]
fn a_failing_destination_is_told_once_and_its_recovery_too() {
    let err = stderr_of("child_failing_then_recovering", false);
    let failing = err.matches("destination \"collector\" is failing").count();
    assert_eq!(failing, 1, "{err}");
    assert!(
        err.contains("destination \"collector\" is delivering again"),
        "{err}"
    );
    let quiet = stderr_of("child_failing_then_recovering", true);
    assert!(!quiet.contains("tracing-siem:"), "{quiet}");
}

#[test]
#[ignore = "run as a child process by a_guard_dropped_at_once_is_told"]
fn child_guard_dropped_at_once() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let (layer, _) = builder().build().unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..3 {
            warn!(event_type = "auth.failure", "Failed login");
        }
    });
}

#[test]
fn a_guard_dropped_at_once_is_told() {
    let err = stderr_of("child_guard_dropped_at_once", false);
    assert_eq!(
        err.matches("Was the SiemGuard dropped early?").count(),
        1,
        "{err}"
    );
    assert!(!stderr_of("child_guard_dropped_at_once", true).contains("tracing-siem:"));
}

#[test]
#[ignore = "run as a child process by a_global_filter_hiding_warn_events_is_told"]
fn child_global_env_filter_without_rust_log() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let (layer, guard) = builder().build().unwrap();
    // The most common setup, with RUST_LOG unset: the global filter keeps only ERROR.
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("error"))
        .with(layer);
    tracing::subscriber::with_default(subscriber, || {
        warn!(event_type = "auth.failure", "Failed login");
        std::thread::sleep(Duration::from_millis(1_500));
    });
    drop(guard);
}

#[test]
fn a_global_filter_hiding_warn_events_is_told() {
    let err = stderr_of("child_global_env_filter_without_rust_log", false);
    assert!(err.contains("maximum level is error"), "{err}");
    assert!(!stderr_of("child_global_env_filter_without_rust_log", true).contains("tracing-siem:"));
}
