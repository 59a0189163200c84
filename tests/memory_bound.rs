//! Resident memory stays within the bound `docs/delivery.md` gives (section "Limits"), whatever
//! the destination does: here a syslog collector at a closed port, while one thread logs flat
//! out. A counting allocator measures the heap; the test is bounded in time.

mod counting_alloc;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tracing::warn;
use tracing_siem::SyslogConfig;
use tracing_siem::{Config, DestinationConfig, QueueConfig, SiemBuilder};
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

#[test]
fn memory_stays_bounded_with_a_destination_at_a_closed_port_under_a_saturating_logger() {
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let queue = 1_000;
    let destination_queue = 1_000;
    let max_event_bytes = 1_024;
    let batch_bytes = 256 * 1024;
    let syslog = SyslogConfig::tcp("127.0.0.1")
        .port(closed_port)
        .backoff(Duration::from_millis(10), Duration::from_millis(50));
    let mut dest = DestinationConfig::syslog(syslog)
        .name("closed")
        .batch(tracing_siem::BatchConfig::default().max_bytes(batch_bytes));
    dest.queue_capacity = destination_queue;
    let rules = tracing_siem::rules::RulesConfig::default().enabled(false);
    let before = counting_alloc::live();
    // The pipeline thread looks at the queue only when woken (at half full) or every 200 ms, so
    // each drain hands the destination full chunks of 256 events, as under saturation in a
    // release build: chunks that outlived their use would then hold whole chunks' worth.
    let config = Config::default().queue(
        QueueConfig::default()
            .capacity(queue)
            .poll_interval(Duration::from_millis(200)),
    );
    let (layer, guard) = SiemBuilder::from_config(config)
        .app("memory")
        .rules(rules)
        .text_limits(512, max_event_bytes)
        .destination(dest)
        .build()
        .unwrap();
    let handle = guard.handle();
    let subscriber = tracing_subscriber::registry().with(layer);
    let dispatch = tracing::Dispatch::new(subscriber);

    let stop = Arc::new(AtomicBool::new(false));
    let logger = {
        let stop = Arc::clone(&stop);
        let dispatch = dispatch.clone();
        thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    warn!(
                        event_type = "auth.failure",
                        user = "alice",
                        source_ip = "203.0.113.7",
                        n,
                        "Failed login"
                    );
                    n += 1;
                }
                n
            })
        })
    };
    // Past the first second (threads, buffers and the queue fill up), the peak must not grow.
    let started = Instant::now();
    thread::sleep(Duration::from_secs(1));
    counting_alloc::reset_peak();
    while started.elapsed() < Duration::from_secs(4) {
        thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let logged = logger.join().unwrap();
    let peak = counting_alloc::peak().saturating_sub(before);
    let m = handle.metrics();
    drop(guard.shutdown(Duration::from_secs(1)));

    let bound =
        counting_alloc::documented_bound(queue, destination_queue, max_event_bytes, batch_bytes);
    assert!(
        m.events_dropped > 100_000 || logged < 200_000,
        "the destination must be saturated for the test to mean anything: {m:?}"
    );
    assert!(
        peak <= bound,
        "heap grew to {} MiB while logging {logged} events; the documented bound is {} MiB",
        peak >> 20,
        bound >> 20
    );
    eprintln!(
        "memory bound: peak heap {:.1} MiB for {logged} events logged ({} dropped), bound {:.1} MiB",
        peak as f64 / (1 << 20) as f64,
        m.events_dropped,
        bound as f64 / (1 << 20) as f64
    );
}
