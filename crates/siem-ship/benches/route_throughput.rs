//! G8 through a whole destination route: events handed to a `Pipeline` whose destination
//! encodes RFC 5424 and sends over TCP to a local blackhole, against the encode-only rate of
//! the same events in the same run.
//!
//! ```text
//! cargo bench -p siem-ship --bench route_throughput
//! ```
//!
//! Prints events/s for both sides over several alternating rounds and the ratio of medians.

use std::sync::Arc;
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

/// Hands prepared events through unchanged: the processor's own cost stays out of G8. The
/// queue holds boxes, as the layer's queue does.
struct Pass;
impl Processor<Box<SecurityEvent>> for Pass {
    fn process(&mut self, item: Box<SecurityEvent>, out: &mut Vec<SecurityEvent>) {
        out.push(*item);
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

/// Events/s through the route: from the queue to bytes written to the socket. The events are
/// queued first (untimed), then the clock runs from the flush request until every event is
/// shipped.
fn through_route(events: &[SecurityEvent], port: Option<u16>) -> f64 {
    let sink: Box<dyn Sink> = match port {
        Some(port) => {
            Box::new(SyslogSink::new(SyslogConfig::tcp("127.0.0.1").with_port(port)).unwrap())
        }
        None => Box::new(Discard),
    };
    let dest = Destination::new("tcp", encoder(), sink)
        .with_batch(BatchConfig {
            max_events: 1000,
            max_bytes: 1 << 20,
            interval: Duration::from_secs(3600),
        })
        .with_queue_capacity(EVENTS);
    let config = PipelineConfig {
        queue_capacity: EVENTS,
        wake_mark: EVENTS,
        tick: Duration::from_secs(3600),
        ..PipelineConfig::default()
    };
    let pipeline: Pipeline<Box<SecurityEvent>> = Pipeline::start(config, Pass, vec![dest]).unwrap();
    for e in events {
        assert!(pipeline.queue().push(Box::new(e.clone()), false));
    }
    let start = Instant::now();
    let report = pipeline.flush(Duration::from_secs(120));
    let elapsed = start.elapsed();
    assert!(report.completed, "{report:?}");
    assert_eq!(pipeline.metrics().shipped(), events.len() as u64);
    pipeline.shutdown(Duration::from_secs(10));
    events.len() as f64 / elapsed.as_secs_f64()
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("route_throughput: bench");
        return;
    }
    let events = syslog_support::sample_events(EVENTS);
    let events = Arc::new(events);
    let port = syslog_support::tcp_blackhole();
    let (mut ours, mut base, mut null) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        base.push(format_only(&events));
        ours.push(through_route(&events, Some(port)));
        null.push(through_route(&events, None));
    }
    let (o, b, n) = (median(ours), median(base), median(null));
    println!("route_throughput/format_only      {:>12.0} events/s", b);
    println!("route_throughput/route_discard    {:>12.0} events/s", n);
    println!("route_throughput/route_tcp        {:>12.0} events/s", o);
    println!(
        "route_throughput/ratio            {:>12.2} (G8 target >= 0.9)",
        o / b
    );
}
