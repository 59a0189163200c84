//! G8 through a whole destination route: a `Pipeline` whose destination encodes RFC 5424 and
//! sends over TCP to a local blackhole, against the encode-only rate of the same events in the
//! same run.
//!
//! ```text
//! cargo bench -p siem-ship --bench route_throughput
//! ```
//!
//! Two timings per round, each against the encode-only baseline:
//! - **shipper**: the destination's own work. The pipeline first hands every event to the
//!   destination, whose sink is held shut; the clock then runs from opening the sink until
//!   every event is shipped. This is what G8 asks about: can shipping keep up with encoding.
//! - **pipeline**: everything after the application's queue. Events are queued (untimed),
//!   then the clock runs from the flush request until every event is shipped: the pipeline
//!   thread builds each event (a clone of a prepared one, the least a real processor does),
//!   the destination encodes, batches and sends.
//!
//! `shipper_tls` is the same over TLS (G11 compares it with `shipper_tcp`).
//!
//! Also printed: the CPU time per event of each pipeline thread (from
//! `/proc/self/task/*/schedstat`), which shows which stage bounds the rate, and the share
//! of the timed window that the batching thread spent on a CPU and waiting
//! for one (runnable but not running): what is left of the window, it slept (waited for the
//! delivery thread or for events).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use thread_cpu::{thread_cpu_ns, thread_sched_ns};

#[path = "../tests/syslog_support/mod.rs"]
mod syslog_support;
#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use siem_event::SecurityEvent;
use siem_format::{build_encoder, Encoder, Format, FormatOptions};
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::{
    Batch, BatchConfig, Destination, Pipeline, PipelineConfig, Processor, Sink, SinkError,
};

const EVENTS: usize = 200_000;
const BATCH: usize = 1000;
const ROUNDS: usize = 9;

/// Builds each event on the pipeline thread, as the layer's processor does, by cloning a
/// prepared one (the queue holds its index): the least a real processor does — its
/// normalisation and rules stay out of G8 — and the events' memory is then allocated and freed
/// on the pipeline thread, as in the layer.
struct Build(Arc<Vec<SecurityEvent>>);
impl Processor<u32> for Build {
    fn process(&mut self, item: u32, out: &mut Vec<SecurityEvent>) {
        out.push(self.0[item as usize].clone());
    }
}

fn encoder() -> Box<dyn Encoder> {
    build_encoder(Format::Rfc5424, &FormatOptions::default()).unwrap()
}

/// Encode-only events/s.
fn format_only(events: &[SecurityEvent]) -> f64 {
    let enc = encoder();
    let mut out = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    for e in events {
        enc.encode(e, &mut out);
        if out.len() > (1 << 20) - 1024 {
            out.clear();
        }
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// A gate in front of a sink: sends wait while it is shut.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);
impl Gate {
    fn set(&self, open: bool) {
        *self.0 .0.lock().unwrap() = open;
        self.0 .1.notify_all();
    }
    fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }
}

struct Gated {
    gate: Gate,
    sink: Box<dyn Sink>,
}
impl Sink for Gated {
    fn kind(&self) -> &'static str {
        self.sink.kind()
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.gate.wait();
        self.sink.send(batch)
    }
}

/// A sink that accepts and discards: the route's own cost without the socket.
struct Discard;
impl Sink for Discard {
    fn kind(&self) -> &'static str {
        "discard"
    }
    fn send(&mut self, _: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Where the destination sends.
enum Peer {
    /// Syslog over TCP to a blackhole on this port.
    Tcp(u16),
    /// Syslog over TLS to a blackhole on this port, verified with this CA file.
    Tls(u16, std::path::PathBuf),
    /// Nowhere: a sink that discards.
    Discard,
}

#[derive(Clone, Copy)]
enum Timing {
    /// From opening the sink, with every event already at the destination.
    Shipper,
    /// From the flush request, with every event in the application queue.
    Pipeline,
}

struct Round {
    events_per_sec: f64,
    /// CPU ns per event of the pipeline, batching and delivery threads.
    cpu: [f64; 3],
    /// Shares of the timed window the batching thread spent on a CPU and waiting for one.
    batching_window: [f64; 2],
}

const THREADS: [&str; 3] = ["siem-pipe-g8", "siem-dest-g8", "siem-send-g8"];

/// One pipeline kept across rounds, so that its connection and buffers are warm, as in a
/// long-running service.
struct Harness {
    pipeline: Pipeline<u32>,
    gate: Gate,
    timing: Timing,
    events: usize,
}

impl Harness {
    fn start(events: &Arc<Vec<SecurityEvent>>, peer: &Peer, timing: Timing) -> Harness {
        let gate = Gate::default();
        gate.set(true);
        let syslog =
            |config: SyslogConfig| -> Box<dyn Sink> { Box::new(SyslogSink::new(config).unwrap()) };
        let sink = match peer {
            Peer::Tcp(port) => syslog(SyslogConfig::tcp("127.0.0.1").port(*port)),
            Peer::Tls(port, ca) => syslog(SyslogConfig::tls("localhost").port(*port).ca_file(ca)),
            Peer::Discard => Box::new(Discard),
        };
        let sink = Box::new(Gated {
            gate: gate.clone(),
            sink,
        });
        let dest = Destination::new("g8", encoder(), sink)
            .with_batch(
                BatchConfig::default()
                    .max_events(BATCH)
                    .max_bytes(1 << 20)
                    .interval(Duration::from_secs(3600)),
            )
            .with_queue_capacity(EVENTS);
        let config = PipelineConfig {
            queue_capacity: EVENTS,
            wake_mark: EVENTS,
            tick: Duration::from_secs(3600),
            thread_name: THREADS[0].to_owned(),
            ..PipelineConfig::default()
        };
        let pipeline = Pipeline::start(config, Build(Arc::clone(events)), vec![dest]).unwrap();
        let harness = Harness {
            pipeline,
            gate,
            timing,
            events: events.len(),
        };
        harness.round(); // warm-up
        harness
    }

    fn round(&self) -> Round {
        let n = self.events as u64;
        let shipped_before = self.pipeline.metrics().shipped();
        let routed_before = self.pipeline.metrics().events_routed;
        let cpu_before = THREADS.map(thread_cpu_ns);
        let mut untimed = 0;
        if let Timing::Shipper = self.timing {
            self.gate.set(false);
        }
        for i in 0..self.events as u32 {
            assert!(self.pipeline.queue().push(i, false));
        }
        if let Timing::Shipper = self.timing {
            while self.pipeline.metrics().events_routed < routed_before + n {
                std::thread::sleep(Duration::from_millis(1));
            }
            // With the sink shut, the batching thread still encodes a few batches (the one the
            // delivery thread holds, those queued between them, one it waits to hand over).
            // Those events are left out of the count (their sending is timed), counting the
            // chunk it stopped in as encoded: the destination's queue count drops a whole
            // chunk (up to 256 events) at a time.
            let waiting = || self.pipeline.metrics().destinations[0].queue_size;
            let mut last = waiting();
            loop {
                std::thread::sleep(Duration::from_millis(20));
                let now = waiting();
                if now == last {
                    break;
                }
                last = now;
            }
            untimed = (self.events - last + 256).min(self.events);
        }
        let sched_before = thread_sched_ns(THREADS[1]);
        let start = Instant::now();
        self.gate.set(true);
        let report = self.pipeline.flush(Duration::from_secs(120));
        let elapsed = start.elapsed();
        let sched_after = thread_sched_ns(THREADS[1]);
        assert!(report.completed, "{report:?}");
        assert_eq!(self.pipeline.metrics().shipped(), shipped_before + n);
        let cpu_after = THREADS.map(thread_cpu_ns);
        Round {
            events_per_sec: (self.events - untimed) as f64 / elapsed.as_secs_f64(),
            cpu: [0, 1, 2].map(|k| (cpu_after[k] - cpu_before[k]) as f64 / n as f64),
            batching_window: [0, 1]
                .map(|k| (sched_after[k] - sched_before[k]) as f64 / elapsed.as_nanos() as f64),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("route_throughput: bench");
        return;
    }
    // Arguments that are not options pick sides by name (`-- shipper_tcp`).
    let picks: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let events = Arc::new(syslog_support::sample_events(EVENTS));
    let tcp = syslog_support::tcp_blackhole();
    let dir = tempfile::tempdir().unwrap();
    let (tls, ca) = syslog_support::tls_blackhole(dir.path());
    let sides: Vec<(&str, Peer, Timing)> = [
        ("shipper_tcp", Peer::Tcp(tcp), Timing::Shipper),
        ("shipper_tls", Peer::Tls(tls, ca.clone()), Timing::Shipper),
        ("shipper_discard", Peer::Discard, Timing::Shipper),
        ("pipeline_tcp", Peer::Tcp(tcp), Timing::Pipeline),
        ("pipeline_discard", Peer::Discard, Timing::Pipeline),
    ]
    .into_iter()
    .filter(|(name, ..)| picks.is_empty() || picks.iter().any(|p| name.contains(p.as_str())))
    .collect();
    let mut base = Vec::new();
    let mut rounds: Vec<Vec<Round>> = sides.iter().map(|_| Vec::new()).collect();
    // One side at a time owns the pipeline threads (others would compete for the cores).
    for _ in 0..ROUNDS {
        base.push(format_only(&events));
        for (i, (_, peer, timing)) in sides.iter().enumerate() {
            let harness = Harness::start(&events, peer, *timing);
            rounds[i].push(harness.round());
            rounds[i].push(harness.round());
            harness.pipeline.shutdown(Duration::from_secs(10));
        }
    }
    println!(
        "route_throughput/format_only       {:>12.0} events/s",
        median(base.clone())
    );
    for ((name, ..), rounds) in sides.iter().zip(&rounds) {
        let rate = median(rounds.iter().map(|r| r.events_per_sec).collect());
        // Each round's two timings are set against the baseline measured just before them,
        // so that both sides of a ratio saw the same machine.
        let ratio = median(
            rounds
                .iter()
                .enumerate()
                .map(|(i, r)| r.events_per_sec / base[i / 2])
                .collect(),
        );
        let cpu = |k: usize| median(rounds.iter().map(|r| r.cpu[k]).collect());
        let window = |k: usize| median(rounds.iter().map(|r| r.batching_window[k]).collect());
        println!(
            "route_throughput/{name:<17} {rate:>12.0} events/s  ratio {ratio:.2}  \
             CPU ns/event: pipeline {:.0}, batching {:.0}, delivery {:.0}; \
             batching thread in the timed window: on a CPU {:.0} %, waiting for one {:.0} %",
            cpu(0),
            cpu(1),
            cpu(2),
            window(0) * 100.0,
            window(1) * 100.0,
        );
    }
    let side = |name: &str| sides.iter().position(|(n, ..)| *n == name);
    if let (Some(tls), Some(tcp)) = (side("shipper_tls"), side("shipper_tcp")) {
        let ratio = median(
            rounds[tls]
                .iter()
                .zip(&rounds[tcp])
                .map(|(tls, tcp)| tls.events_per_sec / tcp.events_per_sec)
                .collect(),
        );
        println!("route_throughput/shipper_tls_vs_tcp  ratio {ratio:.2}");
    }
    println!("(G8 target: shipper_tcp ratio >= 0.9; G11: shipper_tls_vs_tcp >= 0.7)");
}
