//! A destination's first thread: encodes events into batches and hands full (or due) batches
//! to the delivery thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use siem_event::SecurityEvent;
use siem_format::Encoder;

use super::accounting::DestinationCounters;
use super::chunk::Share;
use super::delivery::Job;
use super::BatchConfig;
use crate::spool::gate::{HandOver, SpoolGate};
use crate::{Batch, DropReason};

/// Messages besides events that a route's thread answers.
pub(super) enum Control {
    /// Deliver everything received so far, flush the sink, then answer.
    Flush(Sender<()>),
}

/// The destination's first thread: encodes events into batches and hands full (or due)
/// batches to the delivery thread.
pub(super) struct Batching {
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
    /// The destination's disk spool, which takes the batches the delivery thread cannot.
    spool: Option<Arc<SpoolGate>>,
}

/// How long the batching thread keeps spare batch buffers once no events arrive.
const KEEP_SPARES_WHILE_IDLE: Duration = Duration::from_secs(1);

/// Room a new batch starts with.
const BATCH_START_BYTES: usize = 64 * 1024;

impl Batching {
    /// The batching thread's state: it encodes with `encoder`, hands batches to `jobs`, takes
    /// emptied ones back from `spares`, and takes events off the destination queue whose
    /// length `queued` holds.
    pub(super) fn new(
        encoder: Box<dyn Encoder>,
        batch_policy: BatchConfig,
        counters: Arc<DestinationCounters>,
        jobs: Sender<Job>,
        spares: Receiver<Batch>,
        unreturned: Arc<AtomicUsize>,
        queued: Arc<AtomicUsize>,
    ) -> Batching {
        Batching {
            encoder,
            batch_policy,
            counters,
            batch: Batch::with_capacity(batch_policy.max_events.min(4096), BATCH_START_BYTES),
            batch_started: None,
            jobs,
            spares,
            unreturned,
            queued,
            spool: None,
        }
    }

    /// Hands the batches the delivery thread cannot take to the destination's disk spool.
    pub(super) fn with_spool(mut self, spool: Option<Arc<SpoolGate>>) -> Batching {
        self.spool = spool;
        self
    }

    pub(super) fn run(
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
                        match &self.spool {
                            Some(gate) => gate.flush(ack, &self.jobs),
                            None => {
                                let _ = self.jobs.send(Job::Flush(ack));
                            }
                        }
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
        let delivered_by_thread = match &self.spool {
            None => self.jobs.send(Job::Send(batch)).is_ok(),
            Some(gate) => match gate.hand_over(batch, &self.jobs) {
                HandOver::Sent => true,
                HandOver::Spooled => {
                    self.unreturned.fetch_sub(1, Ordering::AcqRel);
                    true
                }
                HandOver::Gone => false,
            },
        };
        if !delivered_by_thread {
            self.unreturned.fetch_sub(1, Ordering::AcqRel);
            // The delivery thread is gone (it panicked in a sink): count, never lose silently.
            self.counters.count_drop(DropReason::Rejected, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;
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
            spool: None,
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
