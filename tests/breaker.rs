//! The per-destination circuit breaker through the public API: failures in a row open it, the
//! destination is then left alone (no attempts) until the probe, a delivered probe closes it,
//! and its state shows in the metrics and in the one-line summary.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing_siem::{
    Batch, BatchConfig, Breaker, DestinationConfig, DestinationMetrics, RetryConfig, SiemBuilder,
    SiemHandle, Sink, SinkError,
};
use tracing_subscriber::prelude::*;

/// A destination that refuses every batch until it is healed, counting attempts.
#[derive(Clone, Default)]
struct Flaky {
    healed: Arc<AtomicBool>,
    attempts: Arc<AtomicU64>,
}

impl Sink for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    fn send(&mut self, _: &Batch) -> Result<(), SinkError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.healed.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(SinkError::retryable("connection refused"))
        }
    }
}

fn destination(handle: &SiemHandle) -> DestinationMetrics {
    handle.metrics().destinations.remove(0)
}

/// Waits (up to 20 s) until `done` holds for the destination's figures.
fn wait_until(
    handle: &SiemHandle,
    done: impl Fn(&DestinationMetrics) -> bool,
) -> DestinationMetrics {
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let d = destination(handle);
        if done(&d) || Instant::now() > give_up {
            return d;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run(open_for: Duration) -> (Flaky, SiemHandle, tracing_siem::SiemGuard) {
    let flaky = Flaky::default();
    let retry = RetryConfig::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(2))
        .open_after(3)
        .open_for(open_for);
    let config = DestinationConfig::stdout()
        .name("flaky")
        .retry(retry)
        .batch(
            BatchConfig::default()
                .max_events(1)
                .interval(Duration::from_millis(5)),
        );
    let (layer, guard) = SiemBuilder::default()
        .without_default_rules()
        .stderr_notices(false)
        .destination_with_sink(config, Box::new(flaky.clone()))
        .build()
        .unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::warn!(event_type = "auth.failure", "one");
    });
    (flaky, handle, guard)
}

#[test]
fn failures_in_a_row_open_the_breaker_and_nothing_is_attempted_while_it_is_open() {
    let (flaky, handle, guard) = run(Duration::from_secs(3600));
    let open = wait_until(&handle, |d| d.breaker == Breaker::Open);
    assert_eq!(open.breaker, Breaker::Open, "{open}");
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    assert!(open.to_string().contains("circuit breaker open"), "{open}");
    // With a 1 ms backoff and no breaker, this pause would hold a hundred more attempts.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        flaky.attempts.load(Ordering::SeqCst),
        3,
        "left alone while open"
    );
    // At shutdown an open breaker is not waited out: the event is counted at the deadline.
    let report = guard.shutdown(Duration::from_millis(300));
    assert_eq!(
        report.dropped,
        [(tracing_siem::DropReason::ShutdownDeadline, 1)],
        "{report:?}"
    );
}

#[test]
fn a_delivered_probe_closes_the_breaker() {
    let (flaky, handle, guard) = run(Duration::from_millis(100));
    let open = wait_until(&handle, |d| d.breaker != Breaker::Closed);
    assert_ne!(open.breaker, Breaker::Closed, "{open}");
    flaky.healed.store(true, Ordering::SeqCst);
    let closed = wait_until(&handle, |d| d.shipped == 1);
    assert_eq!(closed.breaker, Breaker::Closed, "{closed}");
    assert!(guard.shutdown(Duration::from_secs(5)).completed);
}
