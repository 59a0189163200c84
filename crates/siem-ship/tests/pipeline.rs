//! The pipeline's promises: every event accounted for, flush and shutdown deliver, a slow or
//! failing destination harms no other, drops are reported.

mod gate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use siem_event::{EventType, SecurityEvent};
use siem_format::Encoder;
use siem_ship::{
    Batch, BatchConfig, Destination, DropReason, OverflowPolicy, Pipeline, PipelineConfig,
    Processor, RetryConfig, Sink, SinkError,
};

struct Messages;
impl Processor<String> for Messages {
    fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
        out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
    }
}

struct Plain;
impl Encoder for Plain {
    fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(e.event_type.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(e.message.as_bytes());
    }
}

/// Records every delivered record; optionally slow, failing a number of times, or rejecting.
#[derive(Clone, Default)]
struct Recorder {
    got: Arc<Mutex<Vec<String>>>,
    delay: Duration,
    fail_first: Arc<AtomicUsize>,
    reject_containing: Option<&'static str>,
}

impl Sink for Recorder {
    fn kind(&self) -> &'static str {
        "recorder"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        thread::sleep(self.delay);
        if self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SinkError::retryable("collector unavailable"));
        }
        let records: Vec<String> = batch
            .records()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        if let Some(bad) = self.reject_containing {
            let failed: Vec<usize> = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.contains(bad))
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                let mut got = self.got.lock().unwrap();
                for (i, r) in records.iter().enumerate() {
                    if !failed.contains(&i) {
                        got.push(r.clone());
                    }
                }
                return Err(SinkError::permanent("HTTP 400").with_failed_records(failed));
            }
        }
        self.got.lock().unwrap().extend(records);
        Ok(())
    }
}

impl Recorder {
    /// A collector that fails the first `n` sends (retryably), then accepts.
    fn failing_first(n: usize) -> Recorder {
        Recorder {
            fail_first: Arc::new(AtomicUsize::new(n)),
            ..Recorder::default()
        }
    }

    /// A collector that never accepts.
    fn dead() -> Recorder {
        Recorder::failing_first(usize::MAX)
    }
}

/// Backoff between `initial_ms` and `max_ms` milliseconds, giving up after `max_attempts`.
fn retry(initial_ms: u64, max_ms: u64, max_attempts: Option<u32>) -> RetryConfig {
    let mut retry = RetryConfig::default()
        .initial_backoff(Duration::from_millis(initial_ms))
        .max_backoff(Duration::from_millis(max_ms));
    retry.max_attempts = max_attempts;
    retry
}

fn config(capacity: usize, overflow: OverflowPolicy) -> PipelineConfig {
    PipelineConfig {
        queue_capacity: capacity,
        overflow,
        tick: Duration::from_millis(2),
        ..PipelineConfig::default()
    }
}

fn fast_batches() -> BatchConfig {
    BatchConfig::default()
        .max_events(10)
        .max_bytes(1 << 20)
        .interval(Duration::from_millis(20))
}

#[test]
fn shipped_plus_dropped_equals_emitted_with_a_slow_destination() {
    let slow = Recorder {
        delay: Duration::from_millis(5),
        ..Recorder::default()
    };
    let got = Arc::clone(&slow.got);
    let dest = Destination::new("slow", Box::new(Plain), Box::new(slow))
        .with_batch(fast_batches())
        .with_queue_capacity(20);
    let p = Pipeline::start(config(50, OverflowPolicy::DropNewest), Messages, vec![dest]).unwrap();
    let emitted = 5_000u64;
    for i in 0..emitted {
        p.queue().push(format!("event {i}"), false);
    }
    let report = p.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = p.metrics();
    let d = &m.destinations[0];
    assert!(m.dropped() > 0, "the test must overflow something: {m:?}");
    assert_eq!(d.shipped, got.lock().unwrap().len() as u64);
    // The pipeline's own drop reports travel the same road and are accounted the same way.
    assert_eq!(d.shipped + m.dropped(), emitted + m.drop_reports, "{m:?}");
    assert_eq!(m.events_routed, d.received);
    assert_eq!(d.in_flight(), 0);
    // Every drop has a reason.
    let by_reason: u64 = m.drops_by_reason().iter().map(|(_, n)| n).sum();
    assert_eq!(by_reason, m.dropped());
}

#[test]
fn drop_oldest_and_block_policies_account_exactly() {
    for policy in [
        OverflowPolicy::DropOldest,
        OverflowPolicy::Block {
            timeout: Duration::from_micros(200),
        },
    ] {
        let sink = Recorder {
            delay: Duration::from_millis(2),
            ..Recorder::default()
        };
        let dest = Destination::new("d", Box::new(Plain), Box::new(sink))
            .with_batch(fast_batches())
            .with_queue_capacity(10);
        let p = Pipeline::start(config(16, policy), Messages, vec![dest]).unwrap();
        for i in 0..2_000 {
            p.queue().push(format!("e{i}"), false);
        }
        p.shutdown(Duration::from_secs(30));
        let m = p.metrics();
        let accepted_or_evicted = m.queue.accepted;
        let d = &m.destinations[0];
        assert_eq!(
            d.shipped + m.dropped(),
            2_000 + m.drop_reports,
            "{policy:?}: {m:?} (accepted {accepted_or_evicted})"
        );
    }
}

#[test]
fn flush_delivers_everything_queued_while_running() {
    let sink = Recorder::default();
    let got = Arc::clone(&sink.got);
    let dest = Destination::new("d", Box::new(Plain), Box::new(sink)).with_batch(
        BatchConfig::default()
            .max_events(1_000)
            .max_bytes(1 << 20)
            .interval(Duration::from_secs(3600)),
    );
    let p = Pipeline::start(
        config(1_000, OverflowPolicy::DropNewest),
        Messages,
        vec![dest],
    )
    .unwrap();
    for i in 0..123 {
        assert!(p.queue().push(format!("e{i}"), false));
    }
    let report = p.flush(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    assert_eq!(got.lock().unwrap().len(), 123);
    assert_eq!(got.lock().unwrap()[122], "auth.failure e122");
    // Still running afterwards.
    assert!(p.queue().push("after".into(), false));
    p.flush(Duration::from_secs(10));
    assert_eq!(got.lock().unwrap().len(), 124);
    assert!(p.metrics().running);
}

#[test]
fn retryable_failures_are_retried_and_nothing_is_lost() {
    let sink = Recorder::failing_first(3);
    let got = Arc::clone(&sink.got);
    let dest = Destination::new("flaky", Box::new(Plain), Box::new(sink))
        .with_batch(fast_batches())
        .with_retry(retry(1, 5, None));
    let p = Pipeline::start(
        config(100, OverflowPolicy::DropNewest),
        Messages,
        vec![dest],
    )
    .unwrap();
    for i in 0..25 {
        p.queue().push(format!("e{i}"), false);
    }
    assert!(p.flush(Duration::from_secs(10)).completed);
    let m = p.metrics();
    assert_eq!(got.lock().unwrap().len(), 25);
    assert_eq!(m.destinations[0].ship_failures, 3);
    assert_eq!(m.dropped(), 0);
    assert!(m.destinations[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("collector unavailable"));
}

#[test]
fn partial_rejection_ships_the_rest_and_counts_the_rejected() {
    let sink = Recorder {
        reject_containing: Some("poison"),
        ..Recorder::default()
    };
    let got = Arc::clone(&sink.got);
    let dest =
        Destination::new("picky", Box::new(Plain), Box::new(sink)).with_batch(fast_batches());
    let p = Pipeline::start(
        config(100, OverflowPolicy::DropNewest),
        Messages,
        vec![dest],
    )
    .unwrap();
    for m in ["a", "poison 1", "b", "poison 2", "c"] {
        p.queue().push(m.to_owned(), false);
    }
    p.flush(Duration::from_secs(10));
    let m = p.metrics();
    let d = &m.destinations[0];
    assert_eq!(d.shipped, 3);
    assert_eq!(d.dropped, vec![(DropReason::Rejected, 2)]);
    assert_eq!(got.lock().unwrap().len(), 3);
}

#[test]
fn exhausted_retries_and_shutdown_deadline_are_counted() {
    let dead = Recorder::dead();
    let dest = Destination::new("dead", Box::new(Plain), Box::new(dead))
        .with_batch(fast_batches())
        .with_retry(retry(1, 2, Some(2)));
    let forever = Recorder::dead();
    let dest2 = Destination::new("forever", Box::new(Plain), Box::new(forever))
        .with_batch(fast_batches())
        .with_retry(retry(5, 10, None));
    let p = Pipeline::start(
        config(100, OverflowPolicy::DropNewest),
        Messages,
        vec![dest, dest2],
    )
    .unwrap();
    for i in 0..5 {
        p.queue().push(format!("e{i}"), false);
    }
    let report = p.shutdown(Duration::from_millis(300));
    let m = p.metrics();
    assert_eq!(
        m.destinations[0].dropped,
        vec![(DropReason::RetriesExhausted, 5)]
    );
    assert_eq!(
        m.destinations[1].dropped,
        vec![(DropReason::ShutdownDeadline, 5)]
    );
    assert_eq!(m.shipped(), 0);
    assert!(report
        .dropped
        .iter()
        .any(|(r, _)| *r == DropReason::ShutdownDeadline));
}

#[test]
fn a_slow_destination_does_not_delay_another() {
    let slow = Recorder {
        delay: Duration::from_millis(200),
        ..Recorder::default()
    };
    let fast = Recorder::default();
    let fast_got = Arc::clone(&fast.got);
    let p = Pipeline::start(
        config(1_000, OverflowPolicy::DropNewest),
        Messages,
        vec![
            Destination::new("slow", Box::new(Plain), Box::new(slow)).with_batch(fast_batches()),
            Destination::new("fast", Box::new(Plain), Box::new(fast)).with_batch(fast_batches()),
        ],
    )
    .unwrap();
    for i in 0..50 {
        p.queue().push(format!("e{i}"), false);
    }
    // The fast destination finishes while the slow one is still sleeping on its first batch.
    let start = std::time::Instant::now();
    while fast_got.lock().unwrap().len() < 50 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "fast destination stalled"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let m = p.metrics();
    assert!(m.destinations[0].shipped < 50);
    p.shutdown(Duration::from_secs(10));
}

#[test]
fn drops_are_reported_as_an_event() {
    let sink = Recorder::default();
    let got = Arc::clone(&sink.got);
    let p = Pipeline::start(
        PipelineConfig {
            queue_capacity: 4,
            tick: Duration::from_millis(1),
            drop_report_interval: Duration::from_millis(1),
            ..PipelineConfig::default()
        },
        Messages,
        vec![Destination::new("d", Box::new(Plain), Box::new(sink)).with_batch(fast_batches())],
    )
    .unwrap();
    // The consumer is not running between pushes often enough to keep a 4-slot queue empty.
    let mut refused = 0;
    for i in 0..1_000 {
        if !p.queue().push(format!("e{i}"), false) {
            refused += 1;
        }
    }
    assert!(refused > 0);
    p.flush(Duration::from_secs(10));
    let got = got.lock().unwrap();
    assert!(
        got.iter().any(|r| r.starts_with("siem.events_dropped")),
        "no drop report among {} records",
        got.len()
    );
}

#[test]
fn events_after_shutdown_are_counted_not_lost_silently() {
    let p = Pipeline::start(
        config(10, OverflowPolicy::DropNewest),
        Messages,
        vec![Destination::new(
            "d",
            Box::new(Plain),
            Box::new(Recorder::default()),
        )],
    )
    .unwrap();
    p.shutdown(Duration::from_secs(5));
    assert!(!p.queue().push("late".into(), false));
    let m = p.metrics();
    assert_eq!(m.queue.dropped_closed, 1);
    assert!(!m.running);
    // A second shutdown returns at once.
    assert!(p.shutdown(Duration::from_millis(1)).undelivered.is_empty());
}

#[test]
fn destinations_share_events_yet_each_gets_exactly_what_its_filter_and_queue_allow() {
    // Events reach the destinations in shared chunks: one destination takes all, one only
    // even-numbered events, one a queue too small for a burst. Each must get its own subset,
    // in order, with everything else counted as filtered or dropped.
    let (all, even, small) = (
        Recorder::default(),
        Recorder::default(),
        Recorder {
            delay: Duration::from_millis(20),
            ..Recorder::default()
        },
    );
    let (got_all, got_even, got_small) = (
        Arc::clone(&all.got),
        Arc::clone(&even.got),
        Arc::clone(&small.got),
    );
    let is_even = |e: &SecurityEvent| {
        e.message
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n % 2 == 0)
    };
    let destinations = vec![
        Destination::new("all", Box::new(Plain), Box::new(all)).with_batch(fast_batches()),
        Destination::new("even", Box::new(Plain), Box::new(even))
            .with_batch(fast_batches())
            .with_filter(Box::new(is_even)),
        Destination::new("small", Box::new(Plain), Box::new(small))
            .with_batch(fast_batches())
            .with_queue_capacity(3),
    ];
    // The application queue holds the whole burst; destinations drop when full (no
    // back-pressure with a dropping policy).
    let mut cfg = config(2_000, OverflowPolicy::DropNewest);
    cfg.wake_mark = 2_000;
    let p = Pipeline::start(cfg, Messages, destinations).unwrap();
    let emitted = 1_000u32;
    for i in 0..emitted {
        assert!(p.queue().push(format!("event {i}"), false));
    }
    let report = p.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let expected = |keep: &dyn Fn(u32) -> bool| -> Vec<String> {
        (0..emitted)
            .filter(|&i| keep(i))
            .map(|i| format!("auth.failure event {i}"))
            .collect()
    };
    // The small queue's drops are reported by an event of their own, which every destination
    // also receives, past its filter and its full queue.
    let events_only = |got: &Mutex<Vec<String>>| -> Vec<String> {
        let got = got.lock().unwrap();
        got.iter()
            .filter(|r| !r.starts_with("siem.events_dropped"))
            .cloned()
            .collect()
    };
    assert!(events_only(&got_all) == expected(&|_| true));
    assert!(events_only(&got_even) == expected(&|i| i % 2 == 0));

    let m = p.metrics();
    assert!(m.drop_reports > 0);
    let by_name = |n: &str| m.destinations.iter().find(|d| d.name == n).unwrap();
    let even = by_name("even");
    // Drop reports pass every filter: a destination learns of drops whatever it selects.
    assert_eq!(
        (even.shipped, even.filtered),
        (500 + m.drop_reports, 500),
        "{even:?}"
    );
    let small = by_name("small");
    assert!(
        small.dropped_total() > 0,
        "the small queue must overflow: {small:?}"
    );
    assert_eq!(small.shipped, got_small.lock().unwrap().len() as u64);
    assert_eq!(
        small.shipped + small.dropped_total(),
        u64::from(emitted) + m.drop_reports
    );
    // What the small destination shipped is a subsequence of the stream, in order.
    let mut stream = expected(&|_| true).into_iter();
    assert!(events_only(&got_small)
        .iter()
        .all(|r| stream.any(|s| &s == r)));
}

#[test]
fn the_blocking_policy_slows_logging_down_instead_of_dropping_at_a_slow_destination() {
    // A destination queue far smaller than the burst and a sink slower than the logger:
    // with `block`, the pipeline waits for room and the logging thread waits in turn.
    let slow = Recorder {
        delay: Duration::from_millis(2),
        ..Recorder::default()
    };
    let got = Arc::clone(&slow.got);
    let dest = Destination::new("slow", Box::new(Plain), Box::new(slow))
        .with_batch(fast_batches())
        .with_queue_capacity(30);
    let policy = OverflowPolicy::Block {
        timeout: Duration::from_secs(10),
    };
    let p = Pipeline::start(config(20, policy), Messages, vec![dest]).unwrap();
    let emitted = 2_000u32;
    for i in 0..emitted {
        assert!(p.queue().push(format!("event {i}"), false));
    }
    let report = p.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    let m = p.metrics();
    assert_eq!(m.dropped(), 0, "{m:?}");
    let expected: Vec<String> = (0..emitted)
        .map(|i| format!("auth.failure event {i}"))
        .collect();
    assert!(*got.lock().unwrap() == expected);
}

#[test]
fn a_dead_destination_under_the_blocking_policy_costs_at_most_the_timeout_and_is_counted() {
    // The collector never accepts: the destination's queue fills, the pipeline waits at most
    // the blocking timeout per chunk, then drops (counted), and shutdown still ends.
    let dead = Recorder::dead();
    let dest = Destination::new("dead", Box::new(Plain), Box::new(dead))
        .with_batch(fast_batches())
        .with_retry(retry(5, 20, None))
        .with_queue_capacity(10);
    let policy = OverflowPolicy::Block {
        timeout: Duration::from_millis(30),
    };
    let p = Pipeline::start(config(1_000, policy), Messages, vec![dest]).unwrap();
    let emitted = 500u64;
    for i in 0..emitted {
        p.queue().push(format!("event {i}"), false);
    }
    let started = std::time::Instant::now();
    p.shutdown(Duration::from_secs(3));
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown hung");
    let m = p.metrics();
    let d = &m.destinations[0];
    assert_eq!(d.shipped, 0);
    let full = d
        .dropped
        .iter()
        .find(|(r, _)| *r == DropReason::DestinationQueueFull)
        .map_or(0, |(_, n)| *n);
    assert!(full > 0, "{m:?}");
    // Everything emitted is dropped with a reason somewhere, or still in flight at the deadline.
    assert_eq!(
        m.queue.dropped() + d.dropped_total() + d.in_flight(),
        emitted + m.drop_reports,
        "{m:?}"
    );
}

/// Each send: when it came and its records.
type Sends = Arc<Mutex<Vec<(std::time::Instant, Vec<String>)>>>;

/// Fails its first send: records with "later" may be retried after `wait`, records with
/// "poison" are refused for good; then accepts everything, noting when.
struct PartlyThrottled {
    sends: Sends,
    wait: Duration,
}

impl Sink for PartlyThrottled {
    fn kind(&self) -> &'static str {
        "partly-throttled"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let records: Vec<String> = batch
            .records()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        let first = self.sends.lock().unwrap().is_empty();
        self.sends
            .lock()
            .unwrap()
            .push((std::time::Instant::now(), records.clone()));
        if !first {
            return Ok(());
        }
        let with = |word: &str| -> Vec<usize> {
            (0..records.len())
                .filter(|&i| records[i].contains(word))
                .collect()
        };
        Err(SinkError::retryable("HTTP 429")
            .with_failed_records(with("later"))
            .with_rejected_records(with("poison"))
            .with_retry_after(self.wait))
    }
}

#[test]
fn rejected_records_are_counted_apart_and_retry_after_is_waited() {
    let sends = Arc::new(Mutex::new(Vec::new()));
    let wait = Duration::from_millis(300);
    let sink = PartlyThrottled {
        sends: Arc::clone(&sends),
        wait,
    };
    let dest = Destination::new("mixed", Box::new(Plain), Box::new(sink))
        .with_batch(fast_batches())
        .with_retry(retry(1, 1, None));
    let p = Pipeline::start(
        config(100, OverflowPolicy::DropNewest),
        Messages,
        vec![dest],
    )
    .unwrap();
    for m in ["a", "later 1", "poison 1", "later 2", "b"] {
        p.queue().push(m.to_owned(), false);
    }
    assert!(p.flush(Duration::from_secs(10)).completed);
    let m = p.metrics();
    let d = &m.destinations[0];
    assert_eq!(d.shipped, 4);
    assert_eq!(d.dropped, vec![(DropReason::Rejected, 1)]);
    let sends = sends.lock().unwrap();
    assert_eq!(sends.len(), 2);
    assert_eq!(
        sends[1].1,
        vec![
            "auth.failure later 1".to_owned(),
            "auth.failure later 2".to_owned()
        ]
    );
    assert!(
        sends[1].0 - sends[0].0 >= wait,
        "the retry came before the server's Retry-After"
    );
    p.shutdown(Duration::from_secs(5));
}

/// Builds an event of the given severity whose message is the string.
struct Graded;
impl Processor<(siem_event::Severity, String)> for Graded {
    fn process(
        &mut self,
        (severity, message): (siem_event::Severity, String),
        out: &mut Vec<SecurityEvent>,
    ) {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), message);
        e.severity = severity;
        out.push(e);
    }
}

/// A destination stalled by a low-severity flood far larger than its queue, then five high
/// events: returns the high events delivered once it resumes, and the destination's figures.
fn high_events_after_a_low_flood(
    reserve: Option<usize>,
) -> (Vec<String>, siem_ship::DestinationMetrics) {
    use siem_event::Severity;
    let gate = gate::Gate::default();
    let mut d = Destination::new("stalled", Box::new(Plain), Box::new(gate.clone()))
        .with_batch(BatchConfig::default().max_events(1))
        .with_queue_capacity(20);
    if let Some(places) = reserve {
        d = d.with_reserve(Severity::High, places);
    }
    let p = Pipeline::start(config(1_000, OverflowPolicy::DropNewest), Graded, vec![d]).unwrap();
    // 200 low events: the queue (20) plus what the stalled threads hold (a few) many times over.
    for i in 0..200 {
        assert!(p.queue().push((Severity::Low, format!("low {i}")), false));
    }
    for i in 0..5 {
        assert!(p.queue().push((Severity::High, format!("high {i}")), false));
    }
    // Every event offered to the stalled destination before it resumes.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while p.metrics().destinations[0].received < 205 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pipeline never offered the events"
        );
        thread::sleep(Duration::from_millis(5));
    }
    gate.open();
    let report = p.shutdown(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    let m = p.metrics().destinations.remove(0);
    assert_eq!(m.received, m.shipped + m.dropped_total(), "{m:?}");
    let high = gate.delivered_containing(" high ");
    (high, m)
}

#[test]
fn a_destination_reserve_keeps_room_for_high_events_behind_a_low_flood() {
    let (high, m) = high_events_after_a_low_flood(Some(5));
    assert_eq!(
        high.len(),
        5,
        "every high event got a reserved place: {m:?}"
    );
    let (high, m) = high_events_after_a_low_flood(None);
    assert!(
        high.is_empty(),
        "without a reserve the flood took every place: {m:?}"
    );
}
