//! A destination's second thread: sends batches through the sink, retrying as the policy says,
//! and accounts for every record as shipped or dropped with a reason.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::accounting::DestinationCounters;
use crate::route::Job;
use crate::{Batch, DropReason, RetryConfig, Sink, SinkError};

pub(crate) struct Delivery {
    pub sink: Box<dyn Sink>,
    /// Where sent batches go back, emptied, to be filled again.
    pub spent: Sender<Batch>,
    /// Batches taken from the batching thread and not yet given back (or dropped).
    pub unreturned: Arc<AtomicUsize>,
    pub retry: RetryConfig,
    pub counters: Arc<DestinationCounters>,
    /// Unix nanos after which retries stop (0: none), set at shutdown.
    pub deadline: Arc<AtomicI64>,
}

impl Delivery {
    pub fn run(mut self, jobs: Receiver<Job>) {
        crate::mark_pipeline_thread();
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Send(mut batch) => {
                    self.send(&mut batch);
                    batch.clear();
                    let _ = self.spent.try_send(batch);
                    self.unreturned.fetch_sub(1, Ordering::AcqRel);
                }
                Job::Flush(ack) => {
                    if let Err(e) = self.sink.flush() {
                        self.note_error(&e);
                    }
                    let _ = ack.send(());
                }
            }
        }
        if let Err(e) = self.sink.close() {
            self.note_error(&e);
        }
    }

    fn note_error(&self, e: &SinkError) {
        *self.counters.last_error.lock() = Some(e.to_string());
    }

    fn past_deadline(&self) -> bool {
        shutdown_deadline_passed(&self.deadline)
    }

    /// Sends a batch until it is delivered, rejected, out of attempts or past the shutdown
    /// deadline; every record ends up shipped or dropped with a reason.
    fn send(&mut self, batch: &mut Batch) {
        let c = Arc::clone(&self.counters);
        let mut attempt = 0u32;
        while !batch.is_empty() {
            attempt += 1;
            let n = batch.len() as u64;
            let e = match self.sink.send(batch) {
                Ok(()) => {
                    c.count_shipped(n);
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    c.failing.store(false, Ordering::Relaxed);
                    return;
                }
                Err(e) => e,
            };
            c.ship_failures.fetch_add(1, Ordering::Relaxed);
            c.failing.store(true, Ordering::Relaxed);
            self.note_error(&e);
            if let Some(failed) = e.failed_records() {
                let mut failed = failed.to_vec();
                failed.sort_unstable();
                failed.dedup();
                failed.retain(|&i| i < batch.len());
                c.count_shipped(n - failed.len() as u64);
                batch.retain_indices(|i| failed.binary_search(&i).is_ok());
                if batch.is_empty() {
                    return;
                }
            }
            let remaining = batch.len() as u64;
            let give_up = if !e.is_retryable() {
                Some(DropReason::Rejected)
            } else if self.retry.max_attempts.is_some_and(|m| attempt >= m) {
                Some(DropReason::RetriesExhausted)
            } else if self.past_deadline() {
                Some(DropReason::ShutdownDeadline)
            } else {
                None
            };
            if let Some(reason) = give_up {
                c.count_drop(reason, remaining);
                return;
            }
            self.sleep_unless_deadline(self.retry.backoff(attempt));
        }
    }

    fn sleep_unless_deadline(&self, wait: Duration) {
        let end = Instant::now() + wait;
        while Instant::now() < end && !self.past_deadline() {
            thread::sleep((end - Instant::now()).min(Duration::from_millis(20)));
        }
    }
}

/// True once the shutdown deadline (Unix nanos; 0: none set) has passed.
pub(crate) fn shutdown_deadline_passed(deadline: &AtomicI64) -> bool {
    let d = deadline.load(Ordering::Relaxed);
    d != 0 && siem_event::Timestamp::now().unix_nanos() >= d
}
