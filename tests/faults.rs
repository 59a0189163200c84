//! The pipeline's promises under faults, through the public API: a collector that accepts and
//! never reads, a full queue at shutdown, drop reports past full queues, own-crate events.
//! Every test is bounded in time; none asserts on timing.

mod support;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use support::Collect;
use tracing::warn;
use tracing_siem::BatchConfig;
use tracing_siem::SyslogConfig;
use tracing_siem::{DestinationConfig, Metrics, SiemLayer};
use tracing_subscriber::prelude::*;

/// A collector that accepts every connection and never reads from it, until dropped.
struct Stalled {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Stalled {
    fn start() -> Stalled {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                if let Ok((conn, _)) = listener.accept() {
                    held.push(conn);
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        Stalled {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stalled {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn no_rules() -> tracing_siem::rules::RulesConfig {
    tracing_siem::rules::RulesConfig::default().enabled(false)
}

/// Polls `metrics` until `done` holds, for at most `limit`.
fn wait_for(
    limit: Duration,
    metrics: impl Fn() -> Metrics,
    done: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let end = Instant::now() + limit;
    loop {
        let m = metrics();
        if done(&m) || Instant::now() >= end {
            return m;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Every event the application emitted is shipped or dropped with a reason, exactly once:
/// at the queue (refused, or still queued at the deadline) or at the destination.
fn assert_every_event_accounted_for(m: &Metrics, emitted: u64) {
    for d in &m.destinations {
        assert_eq!(d.in_flight(), 0, "nothing may be left in flight: {d:?}");
    }
    assert_eq!(
        m.events_shipped + m.events_dropped,
        emitted + m.drop_reports,
        "shipped + dropped must equal emitted + drop reports: {m:?}"
    );
    assert_eq!(
        m.drops_by_reason.iter().map(|(_, n)| n).sum::<u64>(),
        m.events_dropped
    );
}

#[test]
fn a_collector_that_never_reads_is_a_failure_in_metrics_and_every_event_is_accounted_for() {
    let collector = Stalled::start();
    let syslog = SyslogConfig::tcp("127.0.0.1")
        .port(collector.port)
        .write_timeout(Duration::from_millis(300))
        .backoff(Duration::from_millis(50), Duration::from_millis(200));
    let (layer, guard) = SiemLayer::builder()
        .app("faults")
        .rules(no_rules())
        .queue_capacity(2_000)
        .destination(DestinationConfig::syslog(syslog).name("stalled"))
        .build()
        .unwrap();
    let handle = guard.handle();
    // Enough text to fill the kernel's socket buffers on both sides many times over.
    let padding = "x".repeat(600);
    let emitted = 40_000u64;
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..emitted {
            warn!(event_type = "auth.failure", n = i, padding = %padding, "Failed login");
        }
    });
    let m = wait_for(
        Duration::from_secs(30),
        || handle.metrics(),
        |m| m.destinations[0].failing,
    );
    let d = &m.destinations[0];
    assert!(d.failing, "a stalled write must show as a failure: {d:?}");
    assert!(d.ship_failures > 0, "{d:?}");
    let err = d.last_error.as_deref().unwrap_or_default();
    assert!(err.contains("write_timeout"), "{err}");

    let report = guard.shutdown(Duration::from_secs(2));
    let m = handle.metrics();
    assert_every_event_accounted_for(&m, emitted);
    let deadline = m
        .drops_by_reason
        .iter()
        .find(|(r, _)| r.as_str() == "shutdown_deadline")
        .map_or(0, |(_, n)| *n);
    // Retries open new connections, whose buffers may take the rest in time; when they do not,
    // what was still in flight is counted at the deadline.
    if !report.completed {
        assert!(
            deadline > 0,
            "what was in flight is counted at the deadline: {m:?}"
        );
    }
    // The figures are final: the abandoned threads change nothing later.
    thread::sleep(Duration::from_millis(700));
    let later = handle.metrics();
    assert_eq!(
        (later.events_shipped, later.events_dropped),
        (m.events_shipped, m.events_dropped)
    );
    drop(collector);
}

#[test]
fn events_still_queued_at_the_deadline_are_counted_at_the_queue() {
    // A destination that takes a long time per batch, behind a large queue: shutdown gives
    // up with most events still queued.
    let sink = Collect {
        delay: Duration::from_millis(200),
        ..Collect::default()
    };
    let mut dest = DestinationConfig::stdout()
        .name("slow")
        .batch(BatchConfig::default().max_events(10));
    dest.queue_capacity = 20;
    let (layer, guard) = SiemLayer::builder()
        .rules(no_rules())
        .queue_capacity(5_000)
        .overflow(tracing_siem::Overflow::Block)
        .block_timeout(Duration::from_secs(5))
        .destination_with_sink(dest, Box::new(sink.clone()))
        .build()
        .unwrap();
    let handle = guard.handle();
    let emitted = 3_000u64;
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..emitted {
            warn!(event_type = "config.changed", n = i, "Changed");
        }
    });
    let report = guard.shutdown(Duration::from_millis(800));
    assert!(!report.completed);
    let m = handle.metrics();
    assert_every_event_accounted_for(&m, emitted);
    assert_eq!(
        m.destinations[0].shipped,
        sink.records.lock().unwrap().len() as u64
    );
}

#[test]
fn the_drop_report_reaches_a_full_destination_and_carries_the_static_fields() {
    let emitted = 20_000u64;
    let (sink, m, completed) = support::Overflow {
        delay: Duration::from_millis(5),
        batch_events: 5,
        destination_queue: 5,
        emitted,
    }
    .run(
        SiemLayer::builder()
            .app("payments")
            .host("node-1")
            .static_field("constitutional_hash", "cdd01ef066bc6cf2")
            .rules(no_rules())
            .queue_capacity(50_000),
    );
    assert!(completed, "{m:?}");
    assert!(m.events_dropped > 0, "the destination queue must overflow");
    assert_every_event_accounted_for(&m, emitted);
    let reports: Vec<_> = sink
        .json()
        .into_iter()
        .filter(|e| e["event_type"] == "siem.events_dropped")
        .collect();
    assert!(
        !reports.is_empty(),
        "no drop report reached the full destination"
    );
    let last = reports.last().unwrap().to_string();
    for expected in [
        "\"payments\"",
        "\"node-1\"",
        "\"constitutional_hash\":\"cdd01ef066bc6cf2\"",
    ] {
        assert!(last.contains(expected), "{expected} missing from {last}");
    }
}

#[test]
fn own_crate_events_are_ignored_and_counted_and_look_alike_crates_are_not() {
    let (sink, m) = support::run(SiemLayer::builder().rules(no_rules()), || {
        warn!(target: "siem_ship::route", event_type = "auth.failure", "from the library itself");
        warn!(target: "tracing_siem", event_type = "auth.failure", "from the library itself");
        warn!(target: "siem_shipping::orders", event_type = "auth.failure", "a user crate");
        warn!(target: "tracing_siem_demo", event_type = "auth.failure", "a user crate");
    });
    let sources: Vec<_> = sink.events().into_iter().filter_map(|e| e.source).collect();
    assert_eq!(sources, ["siem_shipping::orders", "tracing_siem_demo"]);
    assert_eq!(m.events_ignored, 2, "{m:?}");
}

#[test]
fn the_blocking_timeout_is_read_from_yaml() {
    let config =
        tracing_siem::Config::from_yaml_str("queue: { overflow: block, block_timeout: 3s }")
            .unwrap();
    assert_eq!(
        config.queue.policy(),
        tracing_siem::OverflowPolicy::Block {
            timeout: Duration::from_secs(3)
        }
    );
    let err = tracing_siem::Config::from_yaml_str("queue: { overflow: block, block_timeout: 0s }")
        .unwrap_err();
    assert!(err.to_string().contains("queue.block_timeout"), "{err}");
}

/// A sink whose `send` blocks until the test lets it go (a write stuck in the kernel).
struct Stuck(std::sync::mpsc::Receiver<()>);

impl tracing_siem::Sink for Stuck {
    fn kind(&self) -> &'static str {
        "stuck"
    }
    fn send(&mut self, _: &tracing_siem::Batch) -> Result<(), tracing_siem::SinkError> {
        let _ = self.0.recv();
        Ok(())
    }
}

#[test]
fn a_stuck_destination_does_not_hold_the_pipeline_past_a_flush_timeout() {
    let (release, stuck) = std::sync::mpsc::channel();
    let healthy = Collect::default();
    let fast = BatchConfig::default().interval(Duration::from_millis(10));
    let (layer, guard) = SiemLayer::builder()
        .rules(no_rules())
        .destination_with_sink(
            DestinationConfig::stdout().name("stuck").batch(fast),
            Box::new(Stuck(stuck)),
        )
        .destination_with_sink(
            DestinationConfig::stdout().name("healthy").batch(fast),
            Box::new(healthy.clone()),
        )
        .build()
        .unwrap();
    let handle = guard.handle();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        warn!(event_type = "auth.failure", n = 0, "before the flush");
        let report = handle.flush(Duration::from_millis(300));
        assert!(
            !report.completed,
            "the stuck destination holds an event: {report:?}"
        );
        // The pipeline thread must be free again: later events still reach the healthy
        // destination.
        for n in 1..=10 {
            warn!(event_type = "auth.failure", n, "after the flush");
        }
        let delivered = || healthy.records.lock().unwrap().len();
        let end = Instant::now() + Duration::from_secs(10);
        while delivered() < 11 && Instant::now() < end {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            delivered(),
            11,
            "the pipeline thread is held by the stuck destination"
        );
    });
    drop(release);
    let report = guard.shutdown(Duration::from_secs(5));
    assert!(report.completed, "{report:?}");
}
