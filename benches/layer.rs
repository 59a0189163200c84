//! Hot-path cost of the layer on the application thread (goals G1, G2, G3 of
//! `shared/reference/performance.md`), each against its baseline in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-layerbench cargo bench -p tracing-siem --bench layer -- \
//!     --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - G3 `filtered`: an ordinary `info!` (no `event_type`, below WARN) through Registry + SiemLayer
//!   vs the same event with no subscriber at all (run first, before any dispatcher exists).
//! - G2 `non_security`: the same kind of event through Registry + SiemLayer vs Registry alone,
//!   and composed with a `fmt().json()` layer (the layer's filter is then asked per event).
//! - G1 `security_event`: a six-field security event through Registry + SiemLayer vs
//!   Registry + `fmt().json()` + `tracing_appender::non_blocking`, plus the floor (a layer that
//!   only visits the fields into a stack record).
//!
//! Queues are never timed full: G1 times batches of `BATCH` events and empties the queue between
//! batches, untimed (`flush` for ours; waiting for the writer to have seen every line for
//! tracing-appender).

mod common;

use std::fmt;
use std::time::{Duration, Instant};

use common::{security_event, Appender, BATCH};
use criterion::{criterion_group, criterion_main, Criterion};
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// One `info!` callsite per configuration: a callsite's interest is cached across dispatchers,
/// so sharing one between configurations would let one configuration's interest leak into another.
macro_rules! ordinary_event {
    ($name:ident) => {
        #[inline(never)]
        fn $name() {
            tracing::info!(path = "/x", "request handled");
        }
    };
}
ordinary_event!(ordinary_no_subscriber);
ordinary_event!(ordinary_siem_filtered);
ordinary_event!(ordinary_registry);
ordinary_event!(ordinary_registry_siem);
ordinary_event!(ordinary_fmt);
ordinary_event!(ordinary_fmt_siem);

/// A `fmt().json()` layer writing to `std::io::sink()` synchronously (G2 composition case).
fn fmt_json<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_writer(std::io::sink)
}

fn bench_in(c: &mut Criterion, group: &str, id: &str, dispatch: &Dispatch, event: fn()) {
    let mut g = c.benchmark_group(group);
    tracing::dispatcher::with_default(dispatch, || g.bench_function(id, |b| b.iter(event)));
    g.finish();
}

fn g3_filtered(c: &mut Criterion) {
    // First benchmark of the binary: no dispatcher has been created yet, as in tracing's own
    // `no_subscriber` benchmark (the global max level is still OFF).
    let mut g = c.benchmark_group("g3_filtered");
    g.bench_function("no_subscriber", |b| b.iter(ordinary_no_subscriber));
    g.finish();
    let (dispatch, guard) = common::siem_dispatch();
    bench_in(
        c,
        "g3_filtered",
        "registry_siem",
        &dispatch,
        ordinary_siem_filtered,
    );
    drop(dispatch);
    drop(guard);
}

fn g2_non_security(c: &mut Criterion) {
    let registry = Dispatch::new(tracing_subscriber::registry());
    bench_in(
        c,
        "g2_non_security",
        "registry",
        &registry,
        ordinary_registry,
    );
    drop(registry);

    let (siem, guard) = common::siem_dispatch();
    bench_in(
        c,
        "g2_non_security",
        "registry_siem",
        &siem,
        ordinary_registry_siem,
    );
    drop(siem);
    drop(guard);

    let fmt = Dispatch::new(tracing_subscriber::registry().with(fmt_json()));
    bench_in(
        c,
        "g2_non_security",
        "registry_fmt_json",
        &fmt,
        ordinary_fmt,
    );
    drop(fmt);

    let (layer, guard) = tracing_siem::SiemLayer::builder()
        .app("layerbench")
        .host("bench-host")
        .destination_with_sink(
            tracing_siem::DestinationConfig::stdout().name("discard"),
            Box::new(common::Discard),
        )
        .build()
        .expect("valid configuration");
    let both = Dispatch::new(tracing_subscriber::registry().with(fmt_json()).with(layer));
    bench_in(
        c,
        "g2_non_security",
        "registry_fmt_json_siem",
        &both,
        ordinary_fmt_siem,
    );
    drop(both);
    drop(guard);
}

/// Times `iters` calls of `event` in batches of `BATCH`, calling `drain` untimed after each
/// batch.
fn timed_batches(iters: u64, event: fn(u64), mut drain: impl FnMut(u64)) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = BATCH.min(iters - done);
        let start = Instant::now();
        for i in done..done + n {
            event(i);
        }
        total += start.elapsed();
        done += n;
        drain(n);
    }
    total
}

/// The floor: visits the event's fields into a record on the stack and drops it.
struct VisitOnly;

struct StackRecord {
    names: [&'static str; 8],
    numbers: [i64; 8],
    text: [u8; 256],
    fields: usize,
    text_len: usize,
}

impl StackRecord {
    fn new() -> StackRecord {
        StackRecord {
            names: [""; 8],
            numbers: [0; 8],
            text: [0; 256],
            fields: 0,
            text_len: 0,
        }
    }

    fn push(&mut self, field: &Field, number: i64) {
        if self.fields < 8 {
            self.names[self.fields] = field.name();
            self.numbers[self.fields] = number;
            self.fields += 1;
        }
    }
}

impl fmt::Write for StackRecord {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.text.len() - self.text_len);
        self.text[self.text_len..self.text_len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.text_len += n;
        Ok(())
    }
}

impl Visit for StackRecord {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = fmt::Write::write_str(self, value);
        self.push(field, self.text_len as i64);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = fmt::write(self, format_args!("{value:?}"));
        self.push(field, self.text_len as i64);
    }
}

impl<S: Subscriber> Layer<S> for VisitOnly {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut record = StackRecord::new();
        event.record(&mut record);
        std::hint::black_box(&record);
    }
}

fn g1_security_event(c: &mut Criterion) {
    let mut g = c.benchmark_group("g1_security_event");

    let (siem, guard) = common::siem_dispatch();
    let handle = guard.handle();
    tracing::dispatcher::with_default(&siem, || {
        g.bench_function("registry_siem", |b| {
            b.iter_custom(|iters| {
                timed_batches(iters, security_event, |_| common::drain_siem(&handle))
            })
        });
    });
    let m = handle.metrics();
    drop(siem);
    drop(guard);
    // Fairness check: every timed event was queued, none took the drop path.
    assert_eq!(
        m.events_dropped, 0,
        "events dropped: {:?}",
        m.drops_by_reason
    );
    eprintln!(
        "registry_siem: logged {}, shipped {}, dropped {}",
        m.events_logged, m.events_shipped, m.events_dropped
    );

    let mut appender = Appender::new();
    let dispatch = appender.dispatch.clone();
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("registry_fmt_json_non_blocking", |b| {
            b.iter_custom(|iters| {
                timed_batches(iters, security_event, |n| {
                    appender.emitted += n;
                    appender.drain();
                })
            })
        });
    });
    drop(dispatch);
    drop(appender);

    let floor = Dispatch::new(tracing_subscriber::registry().with(VisitOnly));
    tracing::dispatcher::with_default(&floor, || {
        g.bench_function("registry_visit_floor", |b| {
            b.iter_custom(|iters| timed_batches(iters, security_event, |_| {}))
        });
    });
    g.finish();
}

/// Why the audited login below fails.
struct LoginError;

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad password")
    }
}

/// A failing login audited by the attribute.
#[inline(never)]
#[tracing_siem::security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip))]
fn login_audited(user: &str, ip: std::net::IpAddr) -> Result<(), LoginError> {
    std::hint::black_box((user, ip));
    Err(LoginError)
}

/// The same login with the event the attribute emits written by hand: the same fields, level,
/// message and clock reads.
#[inline(never)]
fn login_by_hand(user: &str, ip: std::net::IpAddr) -> Result<(), LoginError> {
    let start = Instant::now();
    std::hint::black_box((user, ip));
    let returned = Err(LoginError);
    if let Err(reason) = &returned {
        tracing::warn!(
            outcome = "failure",
            reason = %reason,
            event_type = "authentication",
            action = "login",
            duration_ms = start.elapsed().as_secs_f64() * 1000.0,
            function = "login_audited",
            source_ip = %ip,
            user = %user,
            "login failed"
        );
    }
    returned
}

fn audited_event(i: u64) {
    let _ = login_audited(common::USERS[(i % 4) as usize], common::SOURCE);
}

fn hand_written_event(i: u64) {
    let _ = login_by_hand(common::USERS[(i % 4) as usize], common::SOURCE);
}

/// Issue 14: `#[security_audit]` costs no more than the `warn!` it stands for.
fn g1_security_audit(c: &mut Criterion) {
    let mut g = c.benchmark_group("g1_security_audit");
    let (siem, guard) = common::siem_dispatch();
    let handle = guard.handle();
    tracing::dispatcher::with_default(&siem, || {
        for (id, event) in [
            ("security_audit_macro", audited_event as fn(u64)),
            ("hand_written_warn", hand_written_event),
        ] {
            g.bench_function(id, |b| {
                b.iter_custom(|iters| timed_batches(iters, event, |_| common::drain_siem(&handle)))
            });
        }
    });
    let m = handle.metrics();
    assert_eq!(
        m.events_dropped, 0,
        "events dropped: {:?}",
        m.drops_by_reason
    );
    g.finish();
}

criterion_group!(
    benches,
    g3_filtered,
    g2_non_security,
    g1_security_event,
    g1_security_audit
);
criterion_main!(benches);
