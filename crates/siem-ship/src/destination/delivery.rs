//! A destination's second thread: sends batches through the sink, retrying as the policy says,
//! and accounts for every record as shipped or dropped with a reason.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::accounting::{Breaker, DestinationCounters, Held};
use crate::spool::gate::{Next, SpoolGate};
use crate::{Batch, BatchConfig, DropReason, RetryConfig, Sink, SinkError};
use std::collections::VecDeque;

/// Work handed from the batching thread to the delivery thread.
pub(crate) enum Job {
    /// Send this batch.
    Send(Batch),
    /// Flush the sink, then answer.
    Flush(Sender<()>),
    /// The spool engaged while the delivery thread may be waiting for a job: look at it.
    Wake,
}

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
    /// Lines on standard error when the destination starts failing or recovers.
    pub notices: Option<StateNotices>,
    /// The destination's disk spool, if it has one.
    pub spool: Option<Arc<SpoolGate>>,
    /// The size of batches read back from the spool.
    pub batch_policy: BatchConfig,
    /// Batches taken from the hand-off that a full blocking spool could not take: older than
    /// anything in the spool, so they are sent first.
    pub held: VecDeque<Batch>,
    /// The circuit breaker: failed attempts in a row, and when it opened.
    pub breaker: BreakerState,
}

/// Where the circuit breaker stands (`RetryConfig::open_after`, `open_for`).
#[derive(Default)]
pub(crate) struct BreakerState {
    failures_in_a_row: u32,
    opened_at: Option<Instant>,
}

/// How a send ended.
enum Outcome {
    /// Every record is shipped or dropped with a reason.
    Settled,
    /// A retryable failure, and the caller asked to hear of it rather than wait and retry.
    Unsent,
    /// The shutdown deadline passed; the records left in the batch are not counted yet.
    PastDeadline,
}

/// The shortest time between two "failing" lines of one destination, so that a destination
/// that flaps does not flood standard error.
const FAILING_NOTICE_EVERY: Duration = Duration::from_secs(30);

/// Tells a person watching standard error that a destination changed state: failing, then
/// delivering again. Metrics say the same for programs; this is for the people who never look.
pub(crate) struct StateNotices {
    name: String,
    /// Where the destination's events wait while it fails: "queue" or "disk spool".
    waiting_in: &'static str,
    last_failing_line: Option<Instant>,
    /// Failed attempts since the last "failing" line was printed, when one was.
    failures_since_line: Option<u64>,
}

impl StateNotices {
    pub fn new(name: &str, spooled: bool) -> StateNotices {
        StateNotices {
            name: name.to_owned(),
            waiting_in: if spooled { "disk spool" } else { "queue" },
            last_failing_line: None,
            failures_since_line: None,
        }
    }

    /// The line to print for a failed attempt, if any: the first failure after success, at
    /// most once every [`FAILING_NOTICE_EVERY`].
    fn failed(&mut self, was_failing: bool, e: &SinkError) -> Option<String> {
        if let Some(n) = &mut self.failures_since_line {
            *n += 1;
        }
        let due = self
            .last_failing_line
            .is_none_or(|t| t.elapsed() >= FAILING_NOTICE_EVERY);
        if was_failing || !due {
            return None;
        }
        self.last_failing_line = Some(Instant::now());
        self.failures_since_line.get_or_insert(1);
        Some(format!(
            "tracing-siem: destination {:?} is failing: {e}; its events wait in its {} and are retried",
            self.name, self.waiting_in
        ))
    }

    /// The line to print for a delivery, if a "failing" line was printed before it.
    fn delivered(&mut self) -> Option<String> {
        let failures = self.failures_since_line.take()?;
        Some(format!(
            "tracing-siem: destination {:?} is delivering again (after {failures} failed attempts)",
            self.name
        ))
    }
}

impl Delivery {
    pub fn run(mut self, jobs: Receiver<Job>) {
        crate::mark_pipeline_thread();
        while let Some(job) = self.next_job(&jobs) {
            match job {
                Job::Send(mut batch) => {
                    self.send_handed_over(&mut batch, &jobs);
                    self.recycle(batch);
                }
                Job::Flush(ack) => self.flush(ack),
                // `next_job` reads the spool before it waits again.
                Job::Wake => {}
            }
        }
        if let Err(e) = self.sink.close() {
            self.note_error(&e);
        }
        self.count_unconfirmed();
    }

    /// Moves what the sink now says may not have arrived from shipped to dropped.
    fn count_unconfirmed(&mut self) {
        let n = self.sink.take_unconfirmed();
        self.counters.unship(DropReason::Unconfirmed, n);
    }

    /// The next batch handed over; in between, with a spool, what the spool holds is sent
    /// (batches handed over before the spool engaged go first, which keeps the order).
    /// `None` once the batching thread is gone and the spool is empty or past the deadline.
    fn next_job(&mut self, jobs: &Receiver<Job>) -> Option<Job> {
        if let Some(batch) = self.held.pop_front() {
            return Some(Job::Send(batch));
        }
        let Some(gate) = self.spool.clone() else {
            return jobs.recv().ok();
        };
        loop {
            match jobs.try_recv() {
                Ok(job) => return Some(job),
                Err(TryRecvError::Disconnected) => {
                    if self.past_deadline() || !self.send_spooled(&gate) {
                        return None;
                    }
                }
                Err(TryRecvError::Empty) => {
                    if self.past_deadline() || !self.send_spooled(&gate) {
                        return jobs.recv().ok();
                    }
                }
            }
        }
    }

    fn recycle(&mut self, mut batch: Batch) {
        if let Some(gate) = &self.spool {
            gate.release(batch.take_spool_reserve());
        }
        batch.clear();
        let _ = self.spent.try_send(batch);
        self.unreturned.fetch_sub(1, Ordering::AcqRel);
    }

    fn flush(&mut self, ack: Sender<()>) {
        if let Err(e) = self.sink.flush() {
            self.note_error(&e);
        }
        let _ = ack.send(());
    }

    /// Sends a batch handed over by the batching thread. With a spool, a retryable failure
    /// sends it (and the batches handed over after it) to the spool instead of waiting, and
    /// at the shutdown deadline it is spooled rather than dropped.
    fn send_handed_over(&mut self, batch: &mut Batch, jobs: &Receiver<Job>) {
        let spool = self.spool.is_some();
        let outcome = match self.send(batch, Held::Memory, spool) {
            Outcome::Unsent if self.spill(batch, jobs) => return,
            // No room in a blocking spool: retry in memory, as without one.
            Outcome::Unsent => self.send(batch, Held::Memory, false),
            other => other,
        };
        if let Outcome::PastDeadline = outcome {
            if !(spool && self.spill(batch, jobs)) {
                self.counters.count_drop_from(
                    Held::Memory,
                    DropReason::ShutdownDeadline,
                    batch.len() as u64,
                );
            }
        }
    }

    /// Moves the batch, and those handed over after it, to the spool; false when a full
    /// blocking spool could not take them (the batches after it are then held, to be sent
    /// next).
    fn spill(&mut self, batch: &Batch, jobs: &Receiver<Job>) -> bool {
        let Some(gate) = self.spool.clone() else {
            return false;
        };
        let mut spilled = Vec::new();
        let held = self.held.drain(..).collect();
        let spill = gate.spill(batch, held, jobs, |b| spilled.push(b));
        for b in spilled {
            self.recycle(b);
        }
        for ack in spill.flushes {
            self.flush(ack);
        }
        match spill.kept {
            Some(kept) => {
                self.held = kept.into();
                false
            }
            None => true,
        }
    }

    /// Sends the next batch the spool holds; false when it holds none (it is disengaged) or
    /// the shutdown deadline passed.
    fn send_spooled(&mut self, gate: &SpoolGate) -> bool {
        let mut batch = Batch::with_capacity(self.batch_policy.max_events.min(4096), 64 * 1024);
        let ticket = match gate.next_batch(
            self.batch_policy.max_events,
            self.batch_policy.max_bytes,
            &mut batch,
        ) {
            Next::Ready(ticket) => ticket,
            Next::Empty => return false,
            Next::Failed(e) => {
                *self.counters.last_error.lock() = Some(format!("spool: {e}"));
                self.sleep_unless_deadline(self.retry.backoff(1));
                return !self.past_deadline();
            }
        };
        match self.send(&mut batch, Held::Spool, false) {
            Outcome::Settled => {
                gate.acknowledge(ticket);
                true
            }
            // What is left stays in the spool, for the next process.
            Outcome::PastDeadline | Outcome::Unsent => false,
        }
    }

    fn note_error(&self, e: &SinkError) {
        *self.counters.last_error.lock() = Some(e.to_string());
    }

    fn past_deadline(&self) -> bool {
        shutdown_deadline_passed(&self.deadline)
    }

    /// Sends a batch until it is delivered, rejected or out of attempts — every record then
    /// ends up shipped or dropped with a reason — or until the shutdown deadline passes, or,
    /// with `stop_when_failing`, the first retryable failure.
    fn send(&mut self, batch: &mut Batch, held: Held, stop_when_failing: bool) -> Outcome {
        let c = Arc::clone(&self.counters);
        let mut attempt = 0u32;
        while !batch.is_empty() {
            attempt += 1;
            let n = batch.len() as u64;
            if let Some(opened) = self.breaker.opened_at {
                // Open: the destination is left alone until the probe.
                let probe_at = opened + self.retry.open_for;
                let now = Instant::now();
                if now < probe_at {
                    if stop_when_failing {
                        return Outcome::Unsent;
                    }
                    self.sleep_unless_deadline(probe_at - now);
                    if self.past_deadline() {
                        return Outcome::PastDeadline;
                    }
                }
                c.set_breaker(Breaker::HalfOpen);
            }
            let sent = self.sink.send(batch);
            self.count_unconfirmed();
            let e = match sent {
                Ok(()) => {
                    self.breaker = BreakerState::default();
                    c.set_breaker(Breaker::Closed);
                    c.count_shipped_from(held, n);
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    c.failing.store(false, Ordering::Relaxed);
                    if let Some(line) = self.notices.as_mut().and_then(StateNotices::delivered) {
                        eprintln!("{line}");
                    }
                    return Outcome::Settled;
                }
                Err(e) => e,
            };
            c.ship_failures.fetch_add(1, Ordering::Relaxed);
            self.breaker.failures_in_a_row = self.breaker.failures_in_a_row.saturating_add(1);
            let open_after = self.retry.open_after;
            if open_after > 0 && self.breaker.failures_in_a_row >= open_after {
                self.breaker.opened_at = Some(Instant::now());
                c.set_breaker(Breaker::Open);
            }
            let was_failing = c.failing.swap(true, Ordering::Relaxed);
            if let Some(line) = self
                .notices
                .as_mut()
                .and_then(|n| n.failed(was_failing, &e))
            {
                eprintln!("{line}");
            }
            self.note_error(&e);
            let rejected = e.rejected_records().unwrap_or_default();
            if let Some(failed) = e.failed_records().or(e.rejected_records().map(|_| &[][..])) {
                let mut failed = failed.to_vec();
                failed.sort_unstable();
                failed.dedup();
                failed.retain(|&i| i < batch.len());
                let mut rejected = rejected.to_vec();
                rejected.sort_unstable();
                rejected.dedup();
                rejected.retain(|&i| i < batch.len() && failed.binary_search(&i).is_err());
                c.count_drop_from(held, DropReason::Rejected, rejected.len() as u64);
                c.count_shipped_from(held, n - failed.len() as u64 - rejected.len() as u64);
                batch.retain_indices(|i| failed.binary_search(&i).is_ok());
                if batch.is_empty() {
                    return Outcome::Settled;
                }
            }
            let remaining = batch.len() as u64;
            let give_up = if !e.is_retryable() {
                Some(DropReason::Rejected)
            } else if self.retry.max_attempts.is_some_and(|m| attempt >= m) {
                Some(DropReason::RetriesExhausted)
            } else {
                None
            };
            if let Some(reason) = give_up {
                c.count_drop_from(held, reason, remaining);
                return Outcome::Settled;
            }
            if self.past_deadline() {
                return Outcome::PastDeadline;
            }
            if stop_when_failing {
                return Outcome::Unsent;
            }
            if self.breaker.opened_at.is_none() {
                self.sleep_unless_deadline(
                    self.retry
                        .backoff(attempt)
                        .max(e.retry_after().unwrap_or_default()),
                );
            }
        }
        Outcome::Settled
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_when_failing_starts_and_one_when_delivery_resumes() {
        let mut n = StateNotices::new("siem", false);
        let e = SinkError::retryable("connection refused");
        let first = n.failed(false, &e).unwrap();
        assert!(
            first.contains("\"siem\" is failing: connection refused"),
            "{first}"
        );
        assert_eq!(n.failed(true, &e), None, "still failing: no new line");
        let back = n.delivered().unwrap();
        assert!(back.contains("after 2 failed attempts"), "{back}");
        assert_eq!(n.delivered(), None, "no line for an ordinary delivery");
        assert_eq!(
            n.failed(false, &e),
            None,
            "a flapping destination prints at most one failing line per 30 s"
        );
        assert_eq!(n.delivered(), None);
    }
}
