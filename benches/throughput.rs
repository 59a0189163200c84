//! How many security events per second one layer carries end to end: application threads log
//! with `warn!`, the pipeline thread normalises each event and runs the rules engine, the
//! destination encodes JSON and hands batches to a discarding sink.
//!
//! ```text
//! cargo bench -p tracing-siem --bench throughput
//! ```
//!
//! The queue blocks instead of dropping (`overflow: block`), so the rate is what the slowest
//! stage sustains and nothing is lost; the bench asserts that every event was shipped. Printed:
//! events/s for one and two logging threads, and the CPU time per event of each of the
//! layer's threads (from `/proc/self/task/*/schedstat`), which shows the bounding stage.

mod common;
#[path = "../crates/siem-ship/benches/support/thread_cpu.rs"]
mod thread_cpu;

use std::time::{Duration, Instant};

use thread_cpu::thread_cpu_ns;

use common::security_event;
use tracing_siem::SiemLayer;

const EVENTS: u64 = 400_000;
const ROUNDS: usize = 5;

const THREADS: [(&str, &str); 3] = [
    ("pipeline", "siem-pipeline"),
    ("batching", "siem-dest-"),
    ("delivery", "siem-send-"),
];

/// Events/s and CPU ns per event of each layer thread, for `loggers` logging threads.
fn round(loggers: u64) -> (f64, [f64; 3]) {
    let (dispatch, guard) = common::siem_dispatch_with(
        SiemLayer::builder()
            .app("throughput")
            .overflow(tracing_siem::Overflow::Block)
            .block_timeout(std::time::Duration::from_secs(10)),
    );
    let handle = guard.handle();
    let before = THREADS.map(|(_, t)| thread_cpu_ns(t));
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..loggers {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..EVENTS / loggers {
                        security_event(t + i);
                    }
                })
            });
        }
    });
    let report = handle.flush(Duration::from_secs(60));
    let elapsed = start.elapsed();
    assert!(report.completed, "{report:?}");
    let m = handle.metrics();
    assert_eq!(m.events_dropped, 0, "{m:?}");
    let after = THREADS.map(|(_, t)| thread_cpu_ns(t));
    let shipped = m.events_shipped;
    assert!(shipped >= EVENTS, "{m:?}");
    drop(guard);
    let cpu = [0, 1, 2].map(|k| (after[k] - before[k]) as f64 / shipped as f64);
    (shipped as f64 / elapsed.as_secs_f64(), cpu)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("throughput: bench");
        return;
    }
    for loggers in [1, 2] {
        round(loggers); // warm-up
        let rounds: Vec<_> = (0..ROUNDS).map(|_| round(loggers)).collect();
        let rate = median(rounds.iter().map(|r| r.0).collect());
        let cpu = |k: usize| median(rounds.iter().map(|r| r.1[k]).collect());
        println!(
            "throughput/{loggers}_logging_thread(s) {rate:>12.0} events/s  CPU ns/event: \
             {} {:.0}, {} {:.0}, {} {:.0}",
            THREADS[0].0,
            cpu(0),
            THREADS[1].0,
            cpu(1),
            THREADS[2].0,
            cpu(2),
        );
    }
}
