//! Events per second through a destination with its disk spool engaged, against the same
//! destination in memory, in one run.
//!
//! Each iteration starts a pipeline (untimed) with one destination — 20 000 JSON events of
//! about 330 bytes, batches of 100, a sink that discards — then times from the first event
//! queued until the sink has accepted all of them:
//!
//! - `spool/in_memory`: the sink accepts from the start; events go queue → batch → sink.
//! - `spool/spooled_fsync_per_batch`: the sink refuses until every event is in the spool
//!   (`fsync: batch`: every batch of 100 covered by an `fdatasync`, group-committed on the
//!   spool's sync thread) and a flush has waited for the last sync, then accepts; so every
//!   event is written to disk, synced, read back and sent. The spool lives in the system's
//!   temporary directory (run it on the disk the spool will use).
//! - `spool/spooled_fsync_never`: the same with `fsync: never` (no sync at all, not even at
//!   the flush), which separates the cost of the disk's `fdatasync` from the spool's own work.
//!
//! Run: `cargo bench -p siem-ship --bench spool_throughput -- --warm-up-time 1 --measurement-time 3`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use siem_event::{EventType, SecurityEvent, Severity};
use siem_format::{build_encoder, Format, FormatOptions};
use siem_ship::{
    Batch, BatchConfig, Destination, FsyncPolicy, Pipeline, PipelineConfig, Processor, RetryConfig,
    Sink, SinkError, SpoolConfig,
};

const EVENTS: usize = 20_000;

/// Builds each event by cloning a prepared one, the least a real processor does.
struct Build(Arc<Vec<SecurityEvent>>);
impl Processor<u32> for Build {
    fn process(&mut self, item: u32, out: &mut Vec<SecurityEvent>) {
        out.push(self.0[item as usize].clone());
    }
}

/// Discards what it accepts, counting it; refuses (retryably) while `up` is false.
#[derive(Clone, Default)]
struct Switch {
    up: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
}
impl Sink for Switch {
    fn kind(&self) -> &'static str {
        "switch"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if !self.up.load(Ordering::Acquire) {
            return Err(SinkError::retryable("down"));
        }
        self.accepted
            .fetch_add(batch.len() as u64, Ordering::Release);
        Ok(())
    }
}

fn events() -> Arc<Vec<SecurityEvent>> {
    Arc::new(
        (0..EVENTS)
            .map(|i| {
                let mut e = SecurityEvent::new(
                    EventType::parse("auth.failure"),
                    format!("Failed login for user{i:05} from 192.0.2.{}", i % 250),
                );
                e.severity = Severity::High;
                e.push_metadata("attempt", i as u64);
                e
            })
            .collect(),
    )
}

fn start(
    events: &Arc<Vec<SecurityEvent>>,
    sink: &Switch,
    spool: Option<SpoolConfig>,
) -> Pipeline<u32> {
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let dest = Destination::new("bench", encoder, Box::new(sink.clone()))
        .with_batch(BatchConfig::default().max_events(100))
        .with_retry(
            // The circuit breaker off: its `open_for` wait after the refusals would be timed
            // on the spooled side only.
            RetryConfig::default()
                .initial_backoff(Duration::from_micros(100))
                .max_backoff(Duration::from_micros(500))
                .open_after(0),
        )
        .with_queue_capacity(EVENTS);
    let dest = match spool {
        Some(s) => dest.with_spool(s),
        None => dest,
    };
    let config = PipelineConfig {
        queue_capacity: EVENTS,
        tick: Duration::from_millis(1),
        notices: false,
        ..PipelineConfig::default()
    };
    Pipeline::start(config, Build(Arc::clone(events)), vec![dest]).unwrap()
}

fn wait(until: impl Fn() -> bool) {
    while !until() {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// One timed pass of `EVENTS` events; with `spool`, through the disk.
fn pass(events: &Arc<Vec<SecurityEvent>>, spool: Option<SpoolConfig>) -> Duration {
    let sink = Switch::default();
    let spooled = spool.is_some();
    sink.up.store(!spooled, Ordering::Release);
    let p = start(events, &sink, spool);
    let begin = Instant::now();
    for i in 0..EVENTS as u32 {
        assert!(p.queue().push(i, false));
    }
    if spooled {
        p.flush(Duration::from_secs(60));
        wait(|| p.metrics().destinations[0].spooled == EVENTS as u64);
        sink.up.store(true, Ordering::Release);
    }
    wait(|| sink.accepted.load(Ordering::Acquire) == EVENTS as u64);
    let took = begin.elapsed();
    p.shutdown(Duration::from_secs(10));
    took
}

fn bench(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("spool");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("in_memory", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| pass(&events, None)).sum())
    });
    for (name, fsync) in [
        ("spooled_fsync_per_batch", FsyncPolicy::Batch),
        ("spooled_fsync_never", FsyncPolicy::Never),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let dir = tempfile::tempdir().unwrap();
                        let spool = SpoolConfig::new(dir.path().join("spool")).fsync(fsync);
                        pass(&events, Some(spool))
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
