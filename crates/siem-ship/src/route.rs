//! One destination's route: filter, encode, batch, send, retry — on the destination's own thread.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use serde::Deserialize;
use siem_event::SecurityEvent;
use siem_format::Encoder;

use crate::accounting::DestinationCounters;
use crate::backoff;
use crate::chunk::{Chunk, ChunkPool, Share};
use crate::delivery::{shutdown_deadline_passed, Delivery, StateNotices};
use crate::{Batch, DestinationMetrics, DropReason, Sink};

/// When a destination sends the batch it is building (seed 000 defaults: 100 events, 5 s).
///
/// ```
/// use siem_ship::BatchConfig;
/// let b = BatchConfig::default();
/// assert_eq!((b.max_events, b.interval.as_secs()), (100, 5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Send when this many events are batched.
    pub max_events: usize,
    /// Send when the encoded batch reaches this many bytes.
    #[serde(deserialize_with = "crate::units::byte_size_usize")]
    pub max_bytes: usize,
    /// Send at the latest this long after the batch's first event.
    #[serde(deserialize_with = "crate::units::duration")]
    pub interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: 100,
            max_bytes: 1 << 20,
            interval: Duration::from_secs(5),
        }
    }
}

/// How a destination retries a batch it could not deliver.
///
/// Retryable failures are retried with exponential backoff and jitter; by default without limit,
/// since the destination's bounded queue already caps memory and counts what it cannot take.
///
/// ```
/// use siem_ship::RetryConfig;
/// let r = RetryConfig::default();
/// assert_eq!(r.max_attempts, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First wait after a failure.
    #[serde(deserialize_with = "crate::units::duration")]
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    #[serde(deserialize_with = "crate::units::duration")]
    pub max_backoff: Duration,
    /// Give a batch up (dropped: retries exhausted) after this many attempts; `None` retries
    /// until shutdown.
    pub max_attempts: Option<u32>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl RetryConfig {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), with ±25 % jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::RetryConfig;
    /// let r = RetryConfig {
    ///     initial_backoff: Duration::from_millis(100),
    ///     max_backoff: Duration::from_secs(1),
    ///     max_attempts: None,
    /// };
    /// let third = r.backoff(3); // 400 ms ± 25 %
    /// assert!(third >= Duration::from_millis(300) && third <= Duration::from_millis(500));
    /// assert!(r.backoff(40) <= Duration::from_millis(1250)); // capped at max_backoff
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = backoff::exponential(
            self.initial_backoff,
            self.max_backoff,
            attempt.saturating_sub(1),
        );
        backoff::random_between(base.mul_f64(0.75), base.mul_f64(1.25))
    }
}

/// Decides whether a destination takes an event.
pub type EventFilter = Box<dyn Fn(&SecurityEvent) -> bool + Send + Sync>;

/// Everything a destination needs: a name, a filter, an encoder, a sink and its policies.
///
/// ```
/// use siem_ship::{Batch, Destination, Sink, SinkError};
/// use siem_format::Encoder;
/// use siem_event::SecurityEvent;
///
/// struct Msg;
/// impl Encoder for Msg {
///     fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) { out.extend_from_slice(e.message.as_bytes()) }
/// }
/// struct Null;
/// impl Sink for Null {
///     fn kind(&self) -> &'static str { "null" }
///     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
/// }
/// let d = Destination::new("audit", Box::new(Msg), Box::new(Null))
///     .with_filter(Box::new(|e: &SecurityEvent| e.event_type.category() == "auth"));
/// assert_eq!(d.name(), "audit");
/// ```
pub struct Destination {
    name: String,
    filter: Option<EventFilter>,
    encoder: Box<dyn Encoder>,
    sink: Box<dyn Sink>,
    batch: BatchConfig,
    retry: RetryConfig,
    queue_capacity: usize,
}

impl Destination {
    /// A destination with default batching, retry and a queue of 10 000 events.
    pub fn new(name: impl Into<String>, encoder: Box<dyn Encoder>, sink: Box<dyn Sink>) -> Self {
        Destination {
            name: name.into(),
            filter: None,
            encoder,
            sink,
            batch: BatchConfig::default(),
            retry: RetryConfig::default(),
            queue_capacity: 10_000,
        }
    }

    /// Only events the filter accepts are sent here; the others are counted as filtered.
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Batching policy.
    pub fn with_batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }

    /// Retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Capacity of this destination's own queue.
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The destination's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Messages besides events that a route's thread answers.
enum Control {
    /// Deliver everything received so far, flush the sink, then answer.
    Flush(Sender<()>),
}

/// Work handed from the batching thread to the delivery thread.
pub(crate) enum Job {
    /// Send this batch.
    Send(Batch),
    /// Flush the sink, then answer.
    Flush(Sender<()>),
}

/// The pipeline's handle on a running destination.
pub(crate) struct Route {
    name: String,
    kind: &'static str,
    filter: Option<EventFilter>,
    /// Chunks of events for the batching thread; `queued` holds the number of events in it,
    /// which `capacity` bounds (one message per chunk keeps channel traffic off the per-event
    /// path).
    events: Option<Sender<Share>>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
    /// How long `offer` may wait for room (the blocking overflow policy); `None`: drop at once.
    wait_for_room: Option<Duration>,
    /// Unix nanos of the shutdown deadline (0: none).
    deadline: Arc<AtomicI64>,
    control: Sender<Control>,
    /// The newest drop report not yet taken by the batching thread (a slot of one: a newer
    /// report replaces it, since reports carry running totals). Reports do not wait in the
    /// events queue, so a full queue cannot lose them.
    report: Sender<SecurityEvent>,
    pending_report: Receiver<SecurityEvent>,
    counters: Arc<DestinationCounters>,
    threads: Vec<JoinHandle<()>>,
}

impl Route {
    /// Starts the destination's threads. `deadline` (Unix nanos, 0 = none) bounds retries and
    /// waits at shutdown. With `wait_for_room`, [`offer`](Route::offer) waits up to that long
    /// for room in a full destination queue (back-pressure, for the blocking overflow policy)
    /// before it drops.
    pub fn start(
        d: Destination,
        deadline: Arc<AtomicI64>,
        wait_for_room: Option<Duration>,
        notices: bool,
    ) -> std::io::Result<Route> {
        let (events_tx, events_rx) = unbounded();
        let queued = Arc::new(AtomicUsize::new(0));
        let (control_tx, control_rx) = bounded(4);
        let (report_tx, report_rx) = bounded(1);
        let counters = Arc::new(DestinationCounters::default());
        let kind = d.sink.kind();
        // Two threads per destination: one encodes and batches, the other sends and retries,
        // so encoding the next batch overlaps with sending this one. At most two encoded
        // batches wait between them.
        let (jobs_tx, jobs_rx) = bounded(2);
        // Sent batches go back to be filled again, so that batch buffers are allocated and
        // freed on the batching thread only.
        let (spent_tx, spent_rx) = bounded(2);
        let unreturned = Arc::new(AtomicUsize::new(0));
        let delivery = Delivery {
            sink: d.sink,
            spent: spent_tx,
            unreturned: Arc::clone(&unreturned),
            retry: d.retry,
            counters: Arc::clone(&counters),
            deadline: Arc::clone(&deadline),
            notices: notices.then(|| StateNotices::new(&d.name)),
        };
        let sender = thread::Builder::new()
            .name(format!("siem-send-{}", d.name))
            .spawn(move || delivery.run(jobs_rx))?;
        let batching = Batching {
            encoder: d.encoder,
            batch_policy: d.batch,
            counters: Arc::clone(&counters),
            batch: Batch::with_capacity(d.batch.max_events.min(4096), BATCH_START_BYTES),
            batch_started: None,
            jobs: jobs_tx,
            spares: spent_rx,
            unreturned,
            queued: Arc::clone(&queued),
        };
        let encoder = thread::Builder::new()
            .name(format!("siem-dest-{}", d.name))
            .spawn({
                let reports = report_rx.clone();
                move || batching.run(events_rx, reports, control_rx)
            })?;
        Ok(Route {
            name: d.name,
            kind,
            filter: d.filter,
            events: Some(events_tx),
            queued,
            capacity: d.queue_capacity,
            wait_for_room,
            deadline,
            control: control_tx,
            report: report_tx,
            pending_report: report_rx,
            counters,
            threads: vec![encoder, sender],
        })
    }

    /// Offers a chunk of events: each is counted as received, then filtered, queued or dropped.
    /// What is queued shares the chunk, or holds copies when it is a small part of it
    /// ([`ChunkPool::compact`]), so that the memory a route keeps alive stays within twice its
    /// queue's capacity in events.
    pub fn offer(&self, chunk: &Chunk, pool: &mut ChunkPool) {
        let c = &self.counters;
        c.count_received(chunk.len() as u64);
        let share = match &self.filter {
            Some(filter) => {
                let kept: Vec<u32> = (0..chunk.len() as u32)
                    .filter(|&i| filter(&chunk[i as usize]))
                    .collect();
                if kept.len() == chunk.len() {
                    Share::whole(Arc::clone(chunk))
                } else {
                    Share::selected(Arc::clone(chunk), kept)
                }
            }
            None => Share::whole(Arc::clone(chunk)),
        };
        c.count_filtered((chunk.len() - share.len()) as u64);
        if share.len() == 0 {
            return;
        }
        let Some(tx) = &self.events else {
            c.count_drop(DropReason::AfterShutdown, share.len() as u64);
            return;
        };
        // Send what fits. With back-pressure, wait for room for the rest and send it piece by
        // piece (a chunk can be larger than the whole queue), all within one blocking timeout.
        let give_up = self.wait_for_room.map(|t| Instant::now() + t);
        let mut pending = Some(share);
        while let Some(mut rest) = pending.take() {
            let room = self.room_for(rest.len(), give_up);
            let fits = if rest.len() > room {
                let fits = rest.split_front(room);
                pending = Some(rest);
                fits
            } else {
                rest
            };
            let n = fits.len();
            let left = pending.as_ref().map_or(0, Share::len);
            if n > 0 {
                self.queued.fetch_add(n, Ordering::AcqRel);
                if tx.send(pool.compact(fits)).is_err() {
                    self.queued.fetch_sub(n, Ordering::AcqRel);
                    c.count_drop(DropReason::AfterShutdown, (n + left) as u64);
                    return;
                }
            }
            let gave_up =
                give_up.is_none_or(|t| Instant::now() >= t) || self.past_shutdown_deadline();
            if left > 0 && gave_up {
                c.count_drop(DropReason::DestinationQueueFull, left as u64);
                return;
            }
        }
    }

    /// Offers a drop report. It bypasses the filter and the events queue: it takes the route's
    /// report slot, replacing a report the route has not taken yet (the newer one carries the
    /// running totals), so it reaches the destination as soon as the destination takes
    /// anything, however full its queue.
    pub fn offer_report(&self, report: &SecurityEvent) {
        if self.events.is_none() {
            return;
        }
        let c = &self.counters;
        c.count_received(1);
        let mut report = report.clone();
        loop {
            match self.report.try_send(report) {
                Ok(()) => return,
                Err(crossbeam_channel::TrySendError::Full(back)) => {
                    if self.pending_report.try_recv().is_ok() {
                        c.withdraw_received(1);
                    }
                    report = back;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                    c.count_drop(DropReason::AfterShutdown, 1);
                    return;
                }
            }
        }
    }

    /// Counts whatever this destination still has in flight as dropped at the shutdown
    /// deadline and freezes its figures (its threads, stuck in a write, are abandoned).
    pub fn settle(&self) -> u64 {
        self.counters.settle()
    }

    /// Room in this destination's queue for `wanted` events. With a `give_up` time, waits
    /// until then at most (and never past the shutdown deadline) for them to fit, or for the
    /// queue to be empty when they could never fit.
    fn room_for(&self, wanted: usize, give_up: Option<Instant>) -> usize {
        let room = || {
            self.capacity
                .saturating_sub(self.queued.load(Ordering::Acquire))
        };
        let Some(give_up) = give_up else {
            return room();
        };
        let wanted = wanted.min(self.capacity);
        loop {
            let r = room();
            if r >= wanted || Instant::now() >= give_up || self.past_shutdown_deadline() {
                return r;
            }
            thread::sleep(Duration::from_micros(100));
        }
    }

    fn past_shutdown_deadline(&self) -> bool {
        shutdown_deadline_passed(&self.deadline)
    }

    /// Asks the thread to deliver and flush; the answer arrives on the returned channel.
    pub fn request_flush(&self) -> Receiver<()> {
        let (tx, rx) = bounded(1);
        // A full control channel means flushes are already pending; this one then times out.
        let _ = self.control.try_send(Control::Flush(tx));
        rx
    }

    /// Stops accepting events; the thread delivers what it has, closes the sink and ends.
    pub fn close(&mut self) {
        self.events = None;
    }

    /// Waits for the destination's threads to end, giving up at `deadline`.
    pub fn join_until(&mut self, deadline: Instant) -> bool {
        while !self.threads.is_empty() {
            if let Some(i) = self.threads.iter().position(JoinHandle::is_finished) {
                let _ = self.threads.swap_remove(i).join();
                continue;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
        true
    }

    pub fn metrics(&self) -> DestinationMetrics {
        let queued = self.queued.load(Ordering::Relaxed);
        self.counters.snapshot(&self.name, self.kind, queued)
    }
}

/// The destination's first thread: encodes events into batches and hands full (or due)
/// batches to the delivery thread.
struct Batching {
    encoder: Box<dyn Encoder>,
    batch_policy: BatchConfig,
    counters: Arc<DestinationCounters>,
    batch: Batch,
    batch_started: Option<Instant>,
    jobs: Sender<Job>,
    /// Emptied batches back from the delivery thread.
    spares: Receiver<Batch>,
    /// Batches handed to the delivery thread that have not come back (or been dropped) yet.
    unreturned: Arc<AtomicUsize>,
    queued: Arc<AtomicUsize>,
}

/// How long the batching thread keeps spare batch buffers once no events arrive.
const KEEP_SPARES_WHILE_IDLE: Duration = Duration::from_secs(1);

/// Room a new batch starts with.
const BATCH_START_BYTES: usize = 64 * 1024;

impl Batching {
    fn run(
        mut self,
        events: Receiver<Share>,
        reports: Receiver<SecurityEvent>,
        control: Receiver<Control>,
    ) {
        crate::mark_pipeline_thread();
        loop {
            let wait = match self.batch_started {
                Some(t) => self.batch_policy.interval.saturating_sub(t.elapsed()),
                None if self.holds_spare_memory() => KEEP_SPARES_WHILE_IDLE,
                None => Duration::from_secs(3600),
            };
            select! {
                recv(events) -> msg => match msg {
                    Ok(share) => self.add_all(share),
                    Err(_) => break,
                },
                recv(reports) -> msg => {
                    if let Ok(report) = msg {
                        self.add(&report);
                    }
                },
                recv(control) -> msg => {
                    if let Ok(Control::Flush(ack)) = msg {
                        while let Ok(share) = events.try_recv() {
                            self.add_all(share);
                        }
                        self.add_pending_report(&reports);
                        self.hand_over();
                        let _ = self.jobs.send(Job::Flush(ack));
                    }
                },
                default(wait) => {
                    if self.batch.is_empty() {
                        self.release_spare_memory();
                    }
                    self.hand_over();
                }
            }
        }
        // The pipeline closed this route: hand over the rest; dropping `jobs` then tells the
        // delivery thread to finish and close the sink.
        self.add_pending_report(&reports);
        self.hand_over();
    }

    fn add_pending_report(&mut self, reports: &Receiver<SecurityEvent>) {
        if let Ok(report) = reports.try_recv() {
            self.add(&report);
        }
    }

    /// True while batch buffers may still come back from the delivery thread, or are back and
    /// unused, or the current batch kept a recycled buffer's room.
    fn holds_spare_memory(&self) -> bool {
        self.unreturned.load(Ordering::Acquire) > 0
            || !self.spares.is_empty()
            || self.batch.byte_capacity() > 2 * BATCH_START_BYTES
    }

    /// Idle: gives the memory of spare batch buffers back.
    fn release_spare_memory(&mut self) {
        while self.spares.try_recv().is_ok() {}
        if self.batch.byte_capacity() > 2 * BATCH_START_BYTES {
            self.batch = self.new_batch();
        }
    }

    fn new_batch(&self) -> Batch {
        Batch::with_capacity(self.batch_policy.max_events.min(4096), BATCH_START_BYTES)
    }

    /// Encodes the share's events; dropping the share then lets the pipeline thread reuse
    /// the chunk.
    fn add_all(&mut self, share: Share) {
        share.for_each(|event| self.add(event));
        self.queued.fetch_sub(share.len(), Ordering::AcqRel);
        self.counters
            .batch_size
            .store(self.batch.len(), Ordering::Relaxed);
    }

    fn add(&mut self, event: &SecurityEvent) {
        let encoder = &self.encoder;
        self.batch.push_with(|out| encoder.encode(event, out));
        self.batch_started.get_or_insert_with(Instant::now);
        if self.batch.len() >= self.batch_policy.max_events
            || self.batch.byte_len() >= self.batch_policy.max_bytes
        {
            self.hand_over();
        }
    }

    /// Gives the current batch to the delivery thread (waiting while two are already queued
    /// there: events then wait in this destination's bounded queue).
    fn hand_over(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        let next = self.spares.try_recv().unwrap_or_else(|_| self.new_batch());
        let batch = std::mem::replace(&mut self.batch, next);
        self.counters.batch_size.store(0, Ordering::Relaxed);
        let n = batch.len() as u64;
        self.unreturned.fetch_add(1, Ordering::AcqRel);
        if self.jobs.send(Job::Send(batch)).is_err() {
            self.unreturned.fetch_sub(1, Ordering::AcqRel);
            // The delivery thread is gone (it panicked in a sink): count, never lose silently.
            self.counters.count_drop(DropReason::Rejected, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_format::{build_encoder, Format, FormatOptions};

    fn batching() -> (Batching, Sender<Batch>, Receiver<Job>) {
        let (jobs, jobs_rx) = bounded(2);
        let (spent, spares) = bounded(2);
        let b = Batching {
            encoder: build_encoder(Format::Json, &FormatOptions::default()).unwrap(),
            batch_policy: BatchConfig::default(),
            counters: Arc::default(),
            batch: Batch::with_capacity(100, BATCH_START_BYTES),
            batch_started: None,
            jobs,
            spares,
            unreturned: Arc::default(),
            queued: Arc::default(),
        };
        (b, spent, jobs_rx)
    }

    fn big_batch() -> Batch {
        Batch::with_capacity(100, 16 * BATCH_START_BYTES)
    }

    #[test]
    fn a_fresh_route_holds_no_spare_memory_and_does_not_poll() {
        let (b, ..) = batching();
        assert!(!b.holds_spare_memory());
    }

    #[test]
    fn sent_batches_are_reused_and_their_memory_given_back_when_idle() {
        let (mut b, spent, jobs) = batching();
        b.batch.push(b"record");
        b.hand_over();
        assert!(
            b.holds_spare_memory(),
            "a batch is out with the delivery thread"
        );
        let Ok(Job::Send(mut sent)) = jobs.try_recv() else {
            panic!("no batch handed over")
        };
        // The delivery thread sends it, empties it and gives it back.
        sent.clear();
        spent.send(sent).unwrap();
        b.unreturned.fetch_sub(1, Ordering::AcqRel);
        spent.send(big_batch()).unwrap();
        assert!(b.holds_spare_memory());

        // The next hand-over takes a spare instead of allocating.
        b.batch.push(b"record");
        b.hand_over();
        assert_eq!(b.spares.len(), 1);

        b.release_spare_memory();
        b.unreturned.store(0, Ordering::Release);
        assert!(b.spares.is_empty());
        assert!(
            !b.holds_spare_memory(),
            "idle and holding nothing: no more wake-ups"
        );
    }

    #[test]
    fn an_idle_current_batch_with_a_recycled_buffer_is_shrunk() {
        let (mut b, ..) = batching();
        b.batch = big_batch();
        assert!(b.holds_spare_memory());
        b.release_spare_memory();
        assert!(b.batch.byte_capacity() <= 2 * BATCH_START_BYTES);
        assert!(!b.holds_spare_memory());
    }
}
