//! Adding the SiemLayer must not change a byte of what other layers print, with or without
//! per-layer filters on either side.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_siem::SiemLayer;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A workload with spans, security events, classified warnings and ordinary events at every level.
fn workload() {
    let span = tracing::info_span!("request", user = "alice", source_ip = "203.0.113.7");
    let _g = span.enter();
    tracing::trace!("trace detail");
    tracing::debug!(cache = "miss", "debug detail");
    tracing::info!(event_type = "auth.success", action = "login", "Login ok");
    tracing::info!("ordinary info");
    tracing::warn!(
        event_type = "authentication",
        result = "failure",
        "Failed login"
    );
    tracing::warn!("Permission denied on /admin");
    tracing::warn!("disk almost full");
    tracing::error!(password = "hunter2", "Config reload failed");
    let inner = tracing::debug_span!("inner", step = 2);
    inner.in_scope(|| tracing::info!(n = 1, "inside inner"));
}

fn fmt_layer<S>(buf: &Buffer) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(buf.clone())
        .without_time()
        .with_ansi(false)
        .with_thread_ids(false)
}

fn run(with_siem: bool, fmt_filtered: bool, siem_filtered: bool) -> Vec<u8> {
    let buf = Buffer::default();
    let (siem, guard) = SiemLayer::builder()
        .destination_with_sink(
            tracing_siem::DestinationConfig::stdout(),
            Box::new(NullSink),
        )
        .build()
        .unwrap();
    let fmt_part = if fmt_filtered {
        fmt_layer(&buf).with_filter(LevelFilter::DEBUG).boxed()
    } else {
        fmt_layer(&buf).boxed()
    };
    let siem_part = match (with_siem, siem_filtered) {
        (false, _) => None,
        (true, false) => Some(siem.boxed()),
        (true, true) => Some(
            siem.with_filter(filter_fn(|m| m.target() != "excluded"))
                .boxed(),
        ),
    };
    let subscriber = tracing_subscriber::registry()
        .with(fmt_part)
        .with(siem_part);
    tracing::subscriber::with_default(subscriber, workload);
    drop(guard);
    let out = buf.0.lock().unwrap().clone();
    out
}

struct NullSink;
impl tracing_siem::Sink for NullSink {
    fn kind(&self) -> &'static str {
        "null"
    }
    fn send(&mut self, _: &tracing_siem::Batch) -> Result<(), tracing_siem::SinkError> {
        Ok(())
    }
}

#[test]
fn fmt_output_is_byte_identical_with_and_without_the_siem_layer() {
    for fmt_filtered in [false, true] {
        let baseline = run(false, fmt_filtered, false);
        assert!(!baseline.is_empty());
        for siem_filtered in [false, true] {
            let with = run(true, fmt_filtered, siem_filtered);
            assert_eq!(
                String::from_utf8_lossy(&with),
                String::from_utf8_lossy(&baseline),
                "fmt_filtered={fmt_filtered} siem_filtered={siem_filtered}"
            );
        }
    }
}

/// `fmt.and_then(siem)` asks the SIEM layer whether it holds a per-layer filter before the
/// layer has joined a stack; a wrong "no" would let its interest disable callsites for `fmt`.
#[test]
fn fmt_output_is_unchanged_when_the_layer_is_joined_with_and_then() {
    let baseline = run(false, false, false);
    let buf = Buffer::default();
    let (siem, guard) = SiemLayer::builder()
        .destination_with_sink(
            tracing_siem::DestinationConfig::stdout(),
            Box::new(NullSink),
        )
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(fmt_layer(&buf).and_then(siem));
    tracing::subscriber::with_default(subscriber, workload);
    drop(guard);
    let with = buf.0.lock().unwrap().clone();
    assert_eq!(
        String::from_utf8_lossy(&with),
        String::from_utf8_lossy(&baseline)
    );
}

/// The layer's type names no subscriber, so one layer, built once, goes into whichever of two
/// differently typed stacks a branch picks, and captures in each.
#[test]
fn one_layer_fits_either_branch_of_an_if() {
    for print_too in [false, true] {
        let sink = support::Collect::default();
        let buf = Buffer::default();
        let (siem, guard) = SiemLayer::builder()
            .destination_with_sink(
                tracing_siem::DestinationConfig::stdout(),
                Box::new(sink.clone()),
            )
            .build()
            .unwrap();
        let default = if print_too {
            tracing::subscriber::set_default(
                tracing_subscriber::registry()
                    .with(fmt_layer(&buf))
                    .with(siem),
            )
        } else {
            tracing::subscriber::set_default(tracing_subscriber::registry().with(Some(siem)))
        };
        workload();
        drop(default);
        assert!(guard.shutdown(std::time::Duration::from_secs(10)).completed);
        assert_eq!(
            sink.event_types(),
            [
                "auth.success",
                "auth.failure",
                "authz.check",
                "config.changed"
            ],
            "print_too={print_too}"
        );
        let printed = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(printed.contains("ordinary info"), print_too, "{printed}");
    }
}

#[test]
fn the_baseline_really_contains_every_level() {
    let out = String::from_utf8(run(false, false, false)).unwrap();
    for needle in [
        "trace detail",
        "debug detail",
        "ordinary info",
        "disk almost full",
        "inside inner",
    ] {
        assert!(out.contains(needle), "{needle} missing from {out}");
    }
}
