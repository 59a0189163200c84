//! Per-event latency of the six-field security event on the application thread (goals G1's
//! p99 and G2 "hot-path tail" of `shared/reference/performance.md`): ours vs
//! Registry + `fmt().json()` + `tracing_appender::non_blocking`, interleaved in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-layerbench cargo bench -p tracing-siem --bench latency
//! LAYERBENCH_SAMPLES=10000 …   # samples per configuration and mode (default 5000)
//! LAYERBENCH_MODE=intermittent-spin …   # one mode only (e.g. under `perf record`)
//! ```
//!
//! Modes:
//! - `intermittent-sleep`: one event per millisecond, the thread sleeping in between (the load of
//!   tracing issue #3446: caches go cold and the consumer is parked).
//! - `intermittent-spin`: one event per millisecond, the thread spinning in between (warm caches;
//!   isolates what the queue and the consumer's wake-up cost).
//! - `continuous`: events back to back in batches of `BATCH`, the queue emptied between batches
//!   untimed, so no event meets a full queue.
//! - `overload` (G4): events back to back into a layer whose only destination takes 10 ms per
//!   batch of 100 events (10 000 events/s), the queue never emptied: nearly every event meets
//!   a full queue and is dropped. Its p99 is compared with `continuous` of the same run, and
//!   `shipped + dropped == emitted + drop reports` is checked after shutdown.
//!
//! Each event is timed with a pair of `Instant::now()` calls; the pair's own cost is reported
//! (`timer`) and not subtracted.

mod common;

use std::time::{Duration, Instant};

use common::{security_event, Appender, BATCH};
use tracing_siem::{Batch, Config, DestinationConfig, SiemBuilder, Sink, SinkError};
use tracing_subscriber::prelude::*;

/// A destination that takes 10 ms per batch: 10 000 events/s at batches of 100.
struct Slow;

impl Sink for Slow {
    fn kind(&self) -> &'static str {
        "slow"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        std::hint::black_box(batch.len());
        std::thread::sleep(Duration::from_millis(10));
        Ok(())
    }
}

/// G4: the hot path under overload, against the unloaded continuous p99 of the same run.
fn overload(samples: u64, unloaded_p99: u64) {
    let config = Config::from_yaml_str("rules: { enabled: false }").expect("valid configuration");
    let (layer, guard) = SiemBuilder::from_config(config)
        .app("layerbench")
        .host("bench-host")
        .stderr_notices(false)
        .destination_with_sink(DestinationConfig::stdout().name("slow"), Box::new(Slow))
        .build()
        .expect("valid configuration");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let handle = guard.handle();
    let mut times = Vec::with_capacity(samples as usize);
    let started = Instant::now();
    run(
        security_event,
        Mode::Continuous,
        &dispatch,
        samples,
        0,
        &mut times,
        |_| {},
    );
    let rate = samples as f64 / started.elapsed().as_secs_f64();
    let s = summarize(times);
    println!(
        "| overload | Registry + SiemLayer, producer {:.0} k ev/s vs shipper 10 k ev/s ({:.0}×) | {} | {:.0} | {} | {} | {} | {} |",
        rate / 1e3,
        rate / 1e4,
        s.samples,
        s.mean,
        s.p50,
        s.p99,
        s.p999,
        s.max
    );
    println!(
        "| overload | p99 overload / p99 continuous (G4: ≤ 1.5) | | | | {:.2} | | |",
        s.p99 as f64 / unloaded_p99 as f64
    );
    drop(dispatch);
    let report = guard.shutdown(Duration::from_secs(60));
    let m = handle.metrics();
    println!(
        "\noverload: emitted {samples}, shipped {}, dropped {} ({:?}), drop reports {}, complete {}",
        m.events_shipped, m.events_dropped, m.drops_by_reason, m.drop_reports, report.completed
    );
    assert_eq!(
        m.events_shipped + m.events_dropped,
        samples + m.drop_reports,
        "every event shipped or dropped, exactly once"
    );
}

/// Order statistics of a set of per-event times, in nanoseconds.
struct Summary {
    samples: usize,
    mean: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

fn summarize(mut ns: Vec<u64>) -> Summary {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    Summary {
        samples: ns.len(),
        mean: ns.iter().sum::<u64>() as f64 / ns.len() as f64,
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: *ns.last().unwrap_or(&0),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    IntermittentSleep,
    IntermittentSpin,
    Continuous,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::IntermittentSleep => "intermittent-sleep",
            Mode::IntermittentSpin => "intermittent-spin",
            Mode::Continuous => "continuous",
        }
    }
}

/// Waits until `deadline` (sleeping or spinning), then returns the next deadline 1 ms later.
fn pace(mode: Mode, deadline: Instant) -> Instant {
    match mode {
        Mode::IntermittentSleep => {
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline - now);
            }
        }
        Mode::IntermittentSpin => {
            while Instant::now() < deadline {
                std::hint::spin_loop();
            }
        }
        Mode::Continuous => return deadline,
    }
    deadline.max(Instant::now()) + Duration::from_millis(1)
}

/// Control: the timer alone, under the same pacing (the machine's noise floor).
#[inline(never)]
fn nothing(i: u64) {
    std::hint::black_box(i);
}

/// Control: one heap allocation of a record the size of ours (424 B), filled and freed.
#[inline(never)]
fn boxed_record(i: u64) {
    let mut record = Box::new([0u64; 53]);
    for (j, word) in record.iter_mut().enumerate() {
        *word = i + j as u64;
    }
    std::hint::black_box(&mut record);
}

/// Emits `n` events under `dispatch`, timing each one; `drain` runs untimed after every
/// `BATCH` events in continuous mode (and once at the end in the others).
fn run(
    emit: fn(u64),
    mode: Mode,
    dispatch: &tracing::Dispatch,
    n: u64,
    first: u64,
    out: &mut Vec<u64>,
    mut drain: impl FnMut(u64),
) {
    tracing::dispatcher::with_default(dispatch, || {
        let mut deadline = Instant::now() + Duration::from_millis(1);
        let mut since_drain = 0;
        for i in first..first + n {
            deadline = pace(mode, deadline);
            let start = Instant::now();
            emit(i);
            out.push(start.elapsed().as_nanos() as u64);
            since_drain += 1;
            if mode == Mode::Continuous && since_drain == BATCH {
                drain(since_drain);
                since_drain = 0;
            }
        }
        drain(since_drain);
    });
}

fn timer_cost(samples: usize) -> Summary {
    let mut ns = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        ns.push(start.elapsed().as_nanos() as u64);
    }
    summarize(ns)
}

fn row(config: &str, mode: Mode, s: &Summary) {
    println!(
        "| {} | {config} | {} | {:.0} | {} | {} | {} | {} |",
        mode.name(),
        s.samples,
        s.mean,
        s.p50,
        s.p99,
        s.p999,
        s.max
    );
}

fn main() {
    let samples: u64 = std::env::var("LAYERBENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    // Ours and the baseline alternate in rounds, so a burst of load from other processes on
    // the shared machine falls on both.
    let rounds = 5;
    let per_round = (samples / rounds).max(1);

    let (siem, guard) = common::siem_dispatch();
    let handle = guard.handle();
    let mut appender = Appender::new();
    let baseline = appender.dispatch.clone();

    println!("| mode | pipeline | samples | mean ns | p50 ns | p99 ns | p99.9 ns | max ns |");
    println!("|---|---|---|---|---|---|---|---|");
    let t = timer_cost(100_000);
    println!(
        "| timer | `Instant` pair, nothing between | {} | {:.0} | {} | {} | {} | {} |",
        t.samples, t.mean, t.p50, t.p99, t.p999, t.max
    );

    let mut emitted = 0;
    let only = std::env::var("LAYERBENCH_MODE").ok();
    let mut unloaded_p99 = None;
    for mode in [
        Mode::IntermittentSleep,
        Mode::IntermittentSpin,
        Mode::Continuous,
    ] {
        if only.as_deref().is_some_and(|m| m != mode.name()) {
            continue;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        // Warm-up: first use of each callsite, thread-locals, the queues' first slots.
        let mut scratch = Vec::new();
        run(
            security_event,
            Mode::Continuous,
            &siem,
            200,
            emitted,
            &mut scratch,
            |_| common::drain_siem(&handle),
        );
        run(
            security_event,
            Mode::Continuous,
            &baseline,
            200,
            emitted,
            &mut scratch,
            |n| {
                appender.emitted += n;
                appender.drain();
            },
        );
        emitted += 200;
        for _ in 0..rounds {
            run(
                security_event,
                mode,
                &siem,
                per_round,
                emitted,
                &mut ours,
                |_| common::drain_siem(&handle),
            );
            run(
                security_event,
                mode,
                &baseline,
                per_round,
                emitted,
                &mut theirs,
                |n| {
                    appender.emitted += n;
                    appender.drain();
                },
            );
            emitted += per_round;
        }
        let none = tracing::Dispatch::none();
        let mut controls = [(nothing as fn(u64), Vec::new()), (boxed_record, Vec::new())];
        for (emit, out) in &mut controls {
            run(*emit, mode, &none, samples, 0, out, |_| {});
        }
        let [(_, timer), (_, boxed)] = controls;
        row("control: timer only", mode, &summarize(timer));
        row(
            "control: one 424 B allocation, filled, freed",
            mode,
            &summarize(boxed),
        );
        let (o, b) = (summarize(ours), summarize(theirs));
        row("Registry + SiemLayer", mode, &o);
        if mode == Mode::Continuous {
            unloaded_p99 = Some(o.p99);
        }
        row("Registry + fmt().json() + non_blocking", mode, &b);
        println!(
            "| {} | ratio ours / baseline | | {:.2} | {:.2} | {:.2} | {:.2} | |",
            mode.name(),
            o.mean / b.mean,
            o.p50 as f64 / b.p50 as f64,
            o.p99 as f64 / b.p99 as f64,
            o.p999 as f64 / b.p999 as f64
        );
    }

    let m = handle.metrics();
    println!(
        "\nours: logged {}, shipped {}, dropped {} (must be 0: no timed event took the drop path)",
        m.events_logged, m.events_shipped, m.events_dropped
    );
    assert_eq!(m.events_dropped, 0, "{:?}", m.drops_by_reason);
    drop(siem);
    drop(guard);
    if let Some(p99) = unloaded_p99 {
        overload(samples * 20, p99);
    }
}
