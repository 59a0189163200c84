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
//! Also printed: the CPU time per event of each pipeline thread (from
//! `/proc/self/task/*/schedstat`), which shows which stage bounds the rate.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/syslog_support/mod.rs"]
mod syslog_support;

use siem_event::SecurityEvent;
use siem_format::{build_encoder, Encoder, Format, FormatOptions};
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::{
    Batch, BatchConfig, Destination, Pipeline, PipelineConfig, Processor, Sink, SinkError,
};

const EVENTS: usize = 200_000;
const BATCH: usize = 1000;

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

/// CPU nanoseconds so far of this process's threads named `name`.
fn thread_cpu_ns(name: &str) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
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
    fn start(events: &Arc<Vec<SecurityEvent>>, port: Option<u16>, timing: Timing) -> Harness {
        let gate = Gate::default();
        gate.set(true);
        let sink: Box<dyn Sink> = match port {
            Some(port) => {
                Box::new(SyslogSink::new(SyslogConfig::tcp("127.0.0.1").with_port(port)).unwrap())
            }
            None => Box::new(Discard),
        };
        let sink = Box::new(Gated {
            gate: gate.clone(),
            sink,
        });
        let dest = Destination::new("g8", encoder(), sink)
            .with_batch(BatchConfig {
                max_events: BATCH,
                max_bytes: 1 << 20,
                interval: Duration::from_secs(3600),
            })
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
        // Events the clock does not cover: with the sink shut, the batching thread encodes the
        // batch the delivery thread holds and the two queued between them before it waits.
        let mut untimed = 0;
        if let Timing::Shipper = self.timing {
            self.gate.set(false);
            untimed = 3 * BATCH;
        }
        for i in 0..self.events as u32 {
            assert!(self.pipeline.queue().push(i, false));
        }
        if let Timing::Shipper = self.timing {
            while self.pipeline.metrics().events_routed < routed_before + n {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let start = Instant::now();
        self.gate.set(true);
        let report = self.pipeline.flush(Duration::from_secs(120));
        let elapsed = start.elapsed();
        assert!(report.completed, "{report:?}");
        assert_eq!(self.pipeline.metrics().shipped(), shipped_before + n);
        let cpu_after = THREADS.map(thread_cpu_ns);
        Round {
            events_per_sec: (self.events - untimed) as f64 / elapsed.as_secs_f64(),
            cpu: [0, 1, 2].map(|k| (cpu_after[k] - cpu_before[k]) as f64 / n as f64),
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
    let port = syslog_support::tcp_blackhole();
    let sides: Vec<(&str, Option<u16>, Timing)> = [
        ("shipper_tcp", Some(port), Timing::Shipper),
        ("shipper_discard", None, Timing::Shipper),
        ("pipeline_tcp", Some(port), Timing::Pipeline),
        ("pipeline_discard", None, Timing::Pipeline),
    ]
    .into_iter()
    .filter(|(name, ..)| picks.is_empty() || picks.iter().any(|p| name.contains(p.as_str())))
    .collect();
    let mut base = Vec::new();
    let mut rounds: Vec<Vec<Round>> = sides.iter().map(|_| Vec::new()).collect();
    // One side at a time owns the pipeline threads (others would compete for the cores).
    for _ in 0..7 {
        base.push(format_only(&events));
        for (i, &(_, port, timing)) in sides.iter().enumerate() {
            let harness = Harness::start(&events, port, timing);
            rounds[i].push(harness.round());
            rounds[i].push(harness.round());
            harness.pipeline.shutdown(Duration::from_secs(10));
        }
    }
    let b = median(base);
    println!("route_throughput/format_only       {b:>12.0} events/s");
    for ((name, ..), rounds) in sides.iter().zip(&rounds) {
        let rate = median(rounds.iter().map(|r| r.events_per_sec).collect());
        let cpu = |k: usize| median(rounds.iter().map(|r| r.cpu[k]).collect());
        println!(
            "route_throughput/{name:<17} {rate:>12.0} events/s  ratio {:.2}  \
             CPU ns/event: pipeline {:.0}, batching {:.0}, delivery {:.0}",
            rate / b,
            cpu(0),
            cpu(1),
            cpu(2),
        );
    }
    println!("(G8 target: shipper_tcp ratio >= 0.9)");
}
