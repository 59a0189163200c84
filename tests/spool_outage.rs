//! A long collector outage (time-compressed: a flood many times the spool's size) with a disk
//! spool: the heap stays within the bound of `docs/delivery.md` and the spool within its
//! `max_size`, every event is accounted for (shipped, spooled or dropped with its reason), and
//! once the collector is back everything the spool held arrives, in order.

mod counting_alloc;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tracing::warn;
use tracing_siem::{Config, DestinationConfig, Framing, QueueConfig, SiemBuilder, SyslogConfig};
use tracing_siem::{DropReason, SpoolConfig, WhenFull};
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// Bytes the spool's segment files hold now.
fn spool_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The process's resident set size, in bytes (0 where `/proc` is not there).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// The event numbers in the lines the collector received.
fn numbers(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let at = l.find("failed login number ")? + "failed login number ".len();
            l.get(at..at + 8)?.parse().ok()
        })
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_long_outage_keeps_memory_and_the_spool_bounded_and_the_spool_arrives_in_order() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let max_spool = 2 << 20;
    let (queue, destination_queue, max_event_bytes, batch_bytes) = (1_000, 1_000, 1_024, 64 * 1024);
    let syslog = SyslogConfig::tcp("127.0.0.1")
        .port(port)
        .framing(Framing::Lf)
        .backoff(Duration::from_millis(10), Duration::from_millis(50));
    let mut dest = DestinationConfig::syslog(syslog)
        .name("collector")
        .batch(
            tracing_siem::BatchConfig::default()
                .max_events(200)
                .max_bytes(batch_bytes),
        )
        .spool(
            SpoolConfig::new(&spool_dir)
                .max_size(max_spool)
                .when_full(WhenFull::DropOldest),
        );
    dest.queue_capacity = destination_queue;
    let before = counting_alloc::live();
    let (layer, guard) =
        SiemBuilder::from_config(Config::default().queue(QueueConfig::default().capacity(queue)))
            .app("outage")
            .rules(tracing_siem::rules::RulesConfig::default().enabled(false))
            .text_limits(512, max_event_bytes)
            .destination(dest)
            .build()
            .unwrap();
    let handle = guard.handle();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));

    // The outage: one thread logs flat out while the collector is down; the spool's size is
    // sampled throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let largest_spool = Arc::new(AtomicU64::new(0));
    let largest_rss = Arc::new(AtomicU64::new(0));
    let rss_before = rss();
    let sampler = {
        let (stop, largest, dir) = (
            Arc::clone(&stop),
            Arc::clone(&largest_spool),
            spool_dir.clone(),
        );
        let largest_rss = Arc::clone(&largest_rss);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                largest.fetch_max(spool_bytes(&dir), Ordering::Relaxed);
                largest_rss.fetch_max(rss(), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let logger = {
        let (stop, dispatch) = (Arc::clone(&stop), dispatch.clone());
        thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    warn!(
                        event_type = "auth.failure",
                        user = "alice",
                        "failed login number {n:08}"
                    );
                    n += 1;
                }
                n
            })
        })
    };
    thread::sleep(Duration::from_secs(1));
    counting_alloc::reset_peak();
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let logged = logger.join().unwrap();
    sampler.join().unwrap();
    let peak = counting_alloc::peak().saturating_sub(before);

    // Quiet: nothing left between the queue and the spool.
    wait_for(
        "the queues to settle into the spool",
        Duration::from_secs(20),
        || {
            let m = handle.metrics();
            m.queue_size == 0 && m.destinations[0].in_flight() == 0
        },
    );
    let m = handle.metrics();
    let d = m.destinations[0].clone();
    let dropped = |reason| {
        m.drops_by_reason
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    };
    let queue_full = dropped(DropReason::QueueFull);
    assert_eq!(
        logged,
        m.events_logged + queue_full,
        "every event logged was queued or dropped at the queue: {m:?}"
    );
    assert_eq!(m.events_logged, d.received, "{m:?}");
    assert_eq!(
        d.received,
        d.shipped + d.filtered + d.dropped_total() + d.spooled,
        "{d:?}"
    );
    assert_eq!(d.shipped, 0, "the collector was down: {d:?}");
    let evicted = dropped(DropReason::SpoolFull);
    assert_eq!(
        d.dropped_total(),
        evicted + dropped(DropReason::DestinationQueueFull),
        "the flood overflows the destination's queue and the spool, nothing else: {d:?}"
    );
    assert!(
        evicted > 0,
        "the flood must outgrow the spool to mean anything: {d:?}"
    );
    let largest = largest_spool.load(Ordering::Relaxed);
    assert!(
        largest <= max_spool,
        "the spool grew to {largest} bytes, over its max_size of {max_spool}"
    );
    let bound =
        counting_alloc::documented_bound(queue, destination_queue, max_event_bytes, batch_bytes);
    assert!(
        peak <= bound,
        "heap grew to {} MiB; the documented bound is {} MiB",
        peak >> 20,
        bound >> 20
    );

    // Resident memory: the heap's bound, plus the threads' stacks and the allocator's slack.
    let rss_growth = largest_rss
        .load(Ordering::Relaxed)
        .saturating_sub(rss_before);
    assert!(
        rss_growth <= (bound + (32 << 20)) as u64,
        "resident memory grew by {} MiB; the heap's bound is {} MiB",
        rss_growth >> 20,
        bound >> 20
    );

    // Recovery: the collector comes back, and what the spool holds arrives, in order.
    let spooled = d.spooled;
    let collector = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    {
        let lines = Arc::clone(&lines);
        thread::spawn(move || {
            let (conn, _) = collector.accept().unwrap();
            for line in BufReader::new(conn).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
    }
    wait_for("the spool to be delivered", Duration::from_secs(60), || {
        handle.metrics().destinations[0].spooled == 0
    });
    let after = handle.metrics().destinations[0].clone();
    assert_eq!(after.shipped, spooled, "{after:?}");
    wait_for(
        "the collector to read every line",
        Duration::from_secs(20),
        || lines.lock().unwrap().len() as u64 >= spooled,
    );
    let got = numbers(&lines.lock().unwrap());
    assert_eq!(got.len() as u64, spooled);
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "the spool's events arrive in the order they were logged"
    );
    drop(guard.shutdown(Duration::from_secs(5)));
    eprintln!(
        "outage: {logged} events logged, {queue_full} dropped at the queue, {} at the \
         destination's queue, {evicted} evicted from the spool, {spooled} delivered after \
         recovery; spool at most {largest} of {max_spool} bytes; peak heap {:.1} MiB (bound \
         {:.1} MiB), resident memory grew by {:.1} MiB",
        dropped(DropReason::DestinationQueueFull),
        peak as f64 / (1 << 20) as f64,
        bound as f64 / (1 << 20) as f64,
        rss_growth as f64 / (1 << 20) as f64
    );
}
