//! Pieces shared by the benchmark binaries: the event under test, the two pipelines compared
//! (ours and tracing-appender's), and sinks that discard what they receive.
//!
//! Every benchmark builds its own `Dispatch` and uses it with `with_default`, never a global
//! subscriber, so the binaries' benchmarks do not see each other's layers.

#![allow(dead_code)] // each bench binary uses a different subset

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Dispatch;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_siem::{Batch, Sink, SinkError};
use tracing_siem::{DestinationConfig, SiemBuilder, SiemGuard, SiemHandle, SiemLayer};
use tracing_subscriber::prelude::*;

/// Events emitted between two drains: well below both queues' capacities (ours 10 000,
/// tracing-appender's 128 000), so no benchmark ever times the drop path of a full queue.
pub const BATCH: u64 = 1_000;

pub const USERS: [&str; 4] = ["alice", "bob", "carol", "mallory"];
pub const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// The G1 security event: six fields and a message, one callsite for every pipeline.
#[inline(never)]
pub fn security_event(i: u64) {
    let user = USERS[(i % 4) as usize];
    tracing::warn!(
        event_type = "authentication",
        user = %user,
        action = "login",
        result = "failure",
        source_ip = %SOURCE,
        attempts = 3,
        "Failed login"
    );
}

/// A sink that accepts every batch and keeps nothing: the cost measured is ours, not I/O.
pub struct Discard;

impl Sink for Discard {
    fn kind(&self) -> &'static str {
        "discard"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        std::hint::black_box(batch.records().count());
        Ok(())
    }
}

/// Registry + SiemLayer with a discarding destination (default settings otherwise:
/// queue capacity 10 000, JSON encoding on the pipeline thread).
pub fn siem_dispatch() -> (Dispatch, SiemGuard) {
    siem_dispatch_with(SiemLayer::builder().app("layerbench"))
}

/// Registry + the layer `builder` configures, with a discarding destination.
pub fn siem_dispatch_with(builder: SiemBuilder) -> (Dispatch, SiemGuard) {
    let (layer, guard) = builder
        .host("bench-host")
        .destination_with_sink(
            DestinationConfig::stdout().name("discard"),
            Box::new(Discard),
        )
        .build()
        .expect("valid configuration");
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

/// Waits (untimed by callers) until everything queued so far has been delivered.
pub fn drain_siem(handle: &SiemHandle) {
    let report = handle.flush(Duration::from_secs(30));
    assert!(report.completed, "flush did not complete: {report:?}");
}

/// `std::io::sink()` that counts the lines tracing-appender's worker writes, so a benchmark
/// can wait for its queue to be empty again (tracing-appender has no flush call).
#[derive(Clone, Default)]
pub struct CountingSink {
    pub lines: Arc<AtomicU64>,
}

impl io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The worker writes each line with one `write_all`, which is one `write` here.
        self.lines.fetch_add(1, Ordering::Relaxed);
        io::sink().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The baseline: Registry + `fmt().json()` layer writing through
/// `tracing_appender::non_blocking` (lossy, 128 000 lines, its defaults) to a discarding writer.
pub struct Appender {
    pub dispatch: Dispatch,
    pub lines: Arc<AtomicU64>,
    pub emitted: u64,
    _guard: WorkerGuard,
}

impl Appender {
    pub fn new() -> Appender {
        let sink = CountingSink::default();
        let lines = Arc::clone(&sink.lines);
        let (writer, guard) = tracing_appender::non_blocking(sink);
        let fmt = tracing_subscriber::fmt::layer().json().with_writer(writer);
        Appender {
            dispatch: Dispatch::new(tracing_subscriber::registry().with(fmt)),
            lines,
            emitted: 0,
            _guard: guard,
        }
    }

    /// Waits until the worker has written the `emitted` lines (the queue is empty again).
    pub fn drain(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.lines.load(Ordering::Relaxed) < self.emitted {
            assert!(Instant::now() < deadline, "tracing-appender did not drain");
            std::thread::yield_now();
        }
    }
}
