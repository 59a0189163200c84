//! Exits that do not drop the guard: a panic with `flush_on_panic`, SIGTERM and SIGINT with
//! `shutdown_on_signals` — and, for contrast, the same exits without them, which lose what was
//! waiting in a batch. Each case runs this test binary again as a child process (the ignored
//! `child_*` tests) writing to a file destination whose batches would otherwise wait an hour.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tracing_siem::{BatchConfig, DestinationConfig, FileConfig, SiemLayer};
use tracing_subscriber::prelude::*;

const CHILD: &str = "SIEM_EXITS_CHILD";
const EVENTS: usize = 25;

/// Sets up the child's layer: a file destination at `$SIEM_EXITS_FILE` holding batches for an
/// hour, so only a flush or a shutdown writes them. Returns the guard, never dropped.
fn child_layer() -> tracing_siem::SiemGuard {
    let path = std::env::var("SIEM_EXITS_FILE").unwrap();
    let (layer, guard) = SiemLayer::builder()
        .app("exits")
        .stderr_notices(false)
        .without_default_rules()
        .destination(
            DestinationConfig::new(FileConfig::new(path)).batch(
                BatchConfig::default()
                    .max_events(10_000)
                    .interval(Duration::from_secs(3600)),
            ),
        )
        .build()
        .unwrap();
    tracing_subscriber::registry().with(layer).init();
    for n in 0..EVENTS {
        tracing::warn!(event_type = "auth.failure", n, "Failed login");
    }
    guard
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Runs the child test `name` with `mode`, returning its exit status and the file's lines.
fn run_child(name: &str, mode: &str, signal: Option<i32>) -> (std::process::ExitStatus, usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            name,
        ])
        .env(CHILD, mode)
        .env("SIEM_EXITS_FILE", &file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(signal) = signal {
        // Wait for the child to say its events are logged, then signal it.
        use std::io::BufRead;
        let stdout = child.stdout.take().unwrap();
        let ready = std::io::BufReader::new(stdout)
            .lines()
            .any(|line| line.is_ok_and(|l| l.contains("READY")));
        assert!(ready, "the child never got ready");
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    }
    let status = child.wait().unwrap();
    (status, lines_in(&file))
}

#[test]
#[ignore = "run as a child process by a_panic_flushes_with_flush_on_panic"]
fn child_panics() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let guard = child_layer();
    if mode == "hook" {
        guard.handle().flush_on_panic(Duration::from_secs(5));
    }
    // The guard is leaked: unwinding does not drop it, as with a guard in a static or a
    // panic = "abort" build.
    std::mem::forget(guard);
    panic!("the service failed");
}

#[test]
fn a_panic_flushes_with_flush_on_panic() {
    let (status, written) = run_child("child_panics", "hook", None);
    assert!(!status.success());
    assert_eq!(written, EVENTS, "flushed by the panic hook");
    let (status, written) = run_child("child_panics", "none", None);
    assert!(!status.success());
    assert_eq!(written, 0, "without the hook the batch is lost");
}

#[cfg(unix)]
#[test]
#[ignore = "run as a child process by sigterm_and_sigint_shut_down_with_shutdown_on_signals"]
fn child_waits_for_a_signal() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let guard = child_layer();
    if mode == "handler" {
        guard
            .handle()
            .shutdown_on_signals(Duration::from_secs(5))
            .unwrap();
    }
    std::mem::forget(guard);
    println!("READY");
    std::thread::sleep(Duration::from_secs(60));
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_shut_down_with_shutdown_on_signals() {
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let (status, written) = run_child("child_waits_for_a_signal", "handler", Some(signal));
        assert_eq!(
            status.signal(),
            Some(signal),
            "ends as the signal's default action"
        );
        assert_eq!(written, EVENTS, "shut down before ending (signal {signal})");
    }
    let (status, written) = run_child("child_waits_for_a_signal", "none", Some(libc::SIGTERM));
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(written, 0, "without the handler the batch is lost");
}
