//! Memory of the layer and its pipeline (goal G7 of `shared/reference/performance.md`), measured
//! with a counting global allocator, against tracing-appender's `non_blocking` in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-layerbench cargo bench -p tracing-siem --bench memory
//! ```
//!
//! - idle: heap bytes live after building (and letting the threads start) minus before, at the
//!   default queue capacity 10 000; the resident set growth is printed too (includes the new
//!   threads' touched stack pages, which the allocator does not see).
//! - filtered event (G3): allocation calls made by ordinary `info!` events (no `event_type`,
//!   below WARN) through Registry + SiemLayer; must be zero.
//! - per queued event, application side: heap bytes that the logging thread allocates per
//!   security event and does not free itself (what sits in the queue until the pipeline takes
//!   it), plus the queue slot. Measured per thread, so the pipeline draining concurrently on its
//!   own thread does not disturb it.
//! - per buffered event, whole pipeline: a destination whose batch never fills nor times out
//!   keeps every event; live heap growth divided by the events buffered.
//! - baseline per queued line: tracing-appender's worker is held inside a blocked writer so every
//!   line stays in its channel; live heap growth divided by the lines.
//! - dead destination: one thread logs flat out for 8 s into a layer (default capacities: queue
//!   10 000, destination queue 10 000) whose syslog TCP collector is at a closed port (drop-newest)
//!   or accepts and never reads (block); live heap and RSS sampled every 10 ms, highest value
//!   after 1 s, 4 s and 8 s. Bounded memory shows as flat columns (`docs/delivery.md`, Limits).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::security_event;
use tracing::Dispatch;
use tracing_siem::BatchConfig;
use tracing_siem::SyslogConfig;
use tracing_siem::{DestinationConfig, Overflow, SiemLayer};
use tracing_subscriber::prelude::*;

/// Bytes currently allocated, all threads.
static LIVE: AtomicI64 = AtomicI64::new(0);

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static THREAD_NET: Cell<i64> = const { Cell::new(0) };
    /// Allocation calls made by this thread.
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn account(grown: i64, calls: u64) {
    LIVE.fetch_add(grown, Ordering::Relaxed);
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = THREAD_NET.try_with(|c| c.set(c.get() + grown));
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + calls));
}

/// `System`, counting what it hands out.
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as i64, 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as i64, 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as i64), 0);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as i64 - layout.size() as i64, 1);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

fn thread_net() -> i64 {
    THREAD_NET.with(Cell::get)
}

fn thread_allocs() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

/// Resident set size in bytes (Linux), 0 elsewhere.
fn rss() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Heap and RSS growth while `build` runs and its threads start (measured 200 ms later).
fn idle<T>(what: &str, build: impl FnOnce() -> T) -> (T, i64) {
    let (heap0, rss0) = (live(), rss());
    let built = build();
    std::thread::sleep(Duration::from_millis(200));
    let heap = live() - heap0;
    println!(
        "| idle | {what} | {heap} B ({:.1} KiB) | {:.1} KiB |",
        heap as f64 / 1024.0,
        (rss() - rss0) as f64 / 1024.0
    );
    (built, heap)
}

/// An ordinary event: no `event_type`, below the minimum level (WARN).
#[inline(never)]
fn ordinary_event() {
    tracing::info!(path = "/x", "request handled");
}

/// A writer that blocks every write until opened: tracing-appender's worker stops inside it,
/// and the lines logged meanwhile stay in the channel.
#[derive(Clone, Default)]
struct Gate {
    state: Arc<(Mutex<bool>, Condvar)>,
    entered: Arc<AtomicBool>,
}

impl Gate {
    fn open(&self) {
        *self.state.0.lock().unwrap() = true;
        self.state.1.notify_all();
    }
}

impl io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.entered.store(true, Ordering::Release);
        let mut open = self.state.0.lock().unwrap();
        while !*open {
            open = self.state.1.wait(open).unwrap();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Logs flat out for 8 s into a layer whose only destination is `syslog`, and prints the highest
/// live heap and RSS growth seen by 1 s, 4 s and 8 s.
fn dead_destination(what: &str, syslog: SyslogConfig, overflow: Overflow) {
    let (heap0, rss0) = (live(), rss());
    let (layer, guard) = SiemLayer::builder()
        .app("layerbench")
        .host("bench-host")
        .overflow(overflow)
        .destination(DestinationConfig::syslog(syslog).name("dead"))
        .build()
        .expect("valid configuration");
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
    let handle = guard.handle();
    let stop = Arc::new(AtomicBool::new(false));
    let logger = {
        let (stop, dispatch) = (Arc::clone(&stop), dispatch.clone());
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    security_event(n);
                    n += 1;
                }
                n
            })
        })
    };
    let started = Instant::now();
    let (mut heap_peak, mut rss_peak) = (0i64, 0i64);
    let mut marks = Vec::new();
    for mark in [1u64, 4, 8] {
        while started.elapsed() < Duration::from_secs(mark) {
            heap_peak = heap_peak.max(live() - heap0);
            rss_peak = rss_peak.max(rss() - rss0);
            std::thread::sleep(Duration::from_millis(10));
        }
        marks.push((heap_peak, rss_peak));
    }
    stop.store(true, Ordering::Relaxed);
    let logged = logger.join().expect("logger");
    let m = handle.metrics();
    let mib = |b: i64| b as f64 / (1 << 20) as f64;
    let cells: Vec<String> = marks
        .iter()
        .map(|(h, r)| format!("{:.1} / {:.1}", mib(*h), mib(*r)))
        .collect();
    println!(
        "| dead destination: {what} | {logged} events logged, {} dropped | heap / RSS MiB at 1 s, 4 s, 8 s: {} | |",
        m.events_dropped,
        cells.join(" · ")
    );
    drop(dispatch);
    drop(guard.shutdown(Duration::from_secs(2)));
}

/// A collector that accepts connections and never reads from them, while the process runs.
fn never_reading_collector() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

fn main() {
    const N: u64 = 5_000;
    // Queue slot of our application-side queue: an `ArrayQueue<Box<CapturedEvent>>` slot is a
    // stamp (usize) and a pointer.
    let our_slot = (2 * std::mem::size_of::<usize>()) as i64;
    // tracing-appender's channel slot: a stamp and a `Vec<u8>`.
    let their_slot = (std::mem::size_of::<usize>() + std::mem::size_of::<Vec<u8>>()) as i64;

    println!("| measure | what | heap | RSS growth |");
    println!("|---|---|---|---|");
    // Warm the process first (stdout buffers, thread-locals, the callsite's registration).
    let (warm, warm_guard) = common::siem_dispatch();
    tracing::dispatcher::with_default(&warm, || security_event(0));
    drop(warm);
    drop(warm_guard);

    let (registry, _) = idle("Registry alone", || {
        Dispatch::new(tracing_subscriber::registry())
    });
    drop(registry);
    let ((siem, guard), siem_idle) = idle(
        "Registry + SiemLayer + pipeline (queue 10 000, one destination)",
        common::siem_dispatch,
    );
    let (nb, nb_idle) = idle(
        "tracing_appender::non_blocking alone (128 000 lines)",
        || tracing_appender::non_blocking(io::sink()),
    );
    drop(nb);
    let (appender, _) = idle(
        "Registry + fmt().json() + non_blocking (the G1 baseline)",
        common::Appender::new,
    );
    drop(appender);

    // G3: an ordinary event (no `event_type`, below WARN) must not allocate.
    let (filtered_allocs, filtered_net) = tracing::dispatcher::with_default(&siem, || {
        ordinary_event();
        let (net0, allocs0) = (thread_net(), thread_allocs());
        for _ in 0..1_000 {
            ordinary_event();
        }
        (thread_allocs() - allocs0, thread_net() - net0)
    });
    println!(
        "| filtered event (G3) | allocation calls in 1 000 ordinary `info!` events | {filtered_allocs} calls, net {filtered_net} B | |"
    );

    // Application side, per queued event.
    let handle = guard.handle();
    let (net, allocs) = tracing::dispatcher::with_default(&siem, || {
        for i in 0..100 {
            security_event(i);
        }
        common::drain_siem(&handle);
        let (net0, allocs0) = (thread_net(), thread_allocs());
        for i in 0..1_000 {
            security_event(i);
        }
        (thread_net() - net0, thread_allocs() - allocs0)
    });
    common::drain_siem(&handle);
    // The hard cap per queued record: a security event carrying one large field.
    let big = "x".repeat(64 * 1024);
    let big_net = tracing::dispatcher::with_default(&siem, || {
        let net0 = thread_net();
        for _ in 0..10 {
            tracing::warn!(event_type = "authentication", payload = %big, "Failed login");
        }
        (thread_net() - net0) / 10
    });
    common::drain_siem(&handle);
    let per_event = net / 1_000;
    println!(
        "| per queued event (app side) | heap kept per event {per_event} B in {:.2} allocations + slot {our_slot} B | **{} B** | |",
        allocs as f64 / 1_000.0,
        per_event + our_slot
    );
    println!(
        "| per queued event with one 64 KiB field | heap kept per event on the app side (capped by limits.max_event_bytes, 16 KiB by default) | {big_net} B | |"
    );
    assert_eq!(handle.metrics().events_dropped, 0);
    drop(siem);
    drop(guard);

    // Whole pipeline, per buffered event: a batch that never fills and never times out.
    let mut destination = DestinationConfig::stdout().name("hold");
    destination.batch = BatchConfig::default()
        .max_events(1_000_000)
        .max_bytes(1 << 30)
        .interval(Duration::from_secs(3_600));
    let (layer, guard) = SiemLayer::builder()
        .app("layerbench")
        .host("bench-host")
        .destination_with_sink(destination, Box::new(common::Discard))
        .build()
        .expect("valid configuration");
    let hold = Dispatch::new(tracing_subscriber::registry().with(layer));
    let handle = guard.handle();
    tracing::dispatcher::with_default(&hold, || security_event(0));
    wait_until("the first event to be batched", || {
        handle.metrics().batch_size == 1
    });
    let before = live();
    tracing::dispatcher::with_default(&hold, || {
        for i in 0..N {
            security_event(i);
        }
    });
    // The rules engine may add alerts of its own to the batch (repeated failed logins): count
    // what the batch holds rather than what was logged.
    wait_until("every event to be batched", || {
        let m = handle.metrics();
        m.queue_size == 0 && m.batch_size > N as usize
    });
    std::thread::sleep(Duration::from_millis(100));
    let m = handle.metrics();
    let held = m.batch_size as i64 - 1;
    let buffered = (live() - before) / held;
    println!(
        "| per buffered event (whole pipeline, {held} records held in a destination batch, {} of them alerts) | live heap growth / records | {buffered} B | |",
        held - N as i64
    );
    assert_eq!(m.events_dropped, 0);
    drop(hold);
    drop(guard);

    // Baseline, per queued line: the worker is stuck in the writer.
    let gate = Gate::default();
    let (writer, worker) = tracing_appender::non_blocking(gate.clone());
    let fmt = tracing_subscriber::fmt::layer().json().with_writer(writer);
    let baseline = Dispatch::new(tracing_subscriber::registry().with(fmt));
    tracing::dispatcher::with_default(&baseline, || security_event(0));
    wait_until("the worker to block", || {
        gate.entered.load(Ordering::Acquire)
    });
    let before = live();
    let (their_net, their_allocs) = tracing::dispatcher::with_default(&baseline, || {
        let (net0, allocs0) = (thread_net(), thread_allocs());
        for i in 0..N {
            security_event(i);
        }
        (thread_net() - net0, thread_allocs() - allocs0)
    });
    let queued_line = (live() - before) / N as i64;
    println!(
        "| per queued line (baseline, worker blocked, {N} lines) | live heap growth / lines {queued_line} B (app thread: net {} B kept, {:.2} allocation calls per event) + slot {their_slot} B | **{} B** | |",
        their_net / N as i64,
        their_allocs as f64 / N as f64,
        queued_line + their_slot
    );
    gate.open();
    drop(baseline);
    drop(worker);

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    dead_destination(
        "TCP syslog at a closed port, drop-newest",
        SyslogConfig::tcp("127.0.0.1").port(closed_port),
        Overflow::DropNewest,
    );
    dead_destination(
        "TCP syslog collector that never reads, block",
        SyslogConfig::tcp("127.0.0.1").port(never_reading_collector()),
        Overflow::Block,
    );

    println!(
        "\nidle ratio ours / non_blocking alone: {:.3}",
        siem_idle as f64 / nb_idle as f64
    );
}
