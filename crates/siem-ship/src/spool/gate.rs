//! Where a destination with a spool decides, batch by batch, between its in-memory path and
//! its spool, so that records reach the sink in the order they were batched.
//!
//! The spool is *engaged* from the moment a batch cannot go the in-memory way — the delivery
//! thread's hand-off is full (the destination is slower than the events) or a send failed
//! (the destination is down) — until the delivery thread has read the spool to its end. While
//! it is engaged every new batch is appended to it, and the delivery thread sends from it
//! once it has sent the batches handed over before; so records stay in order.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::store::{records_bytes, AppendError, Spool, Ticket};
use super::syncer::PendingSync;
use super::{SpoolConfig, WhenFull};
use crate::destination::accounting::{DestinationCounters, Held};
use crate::destination::delivery::{shutdown_deadline_passed, Job};
use crate::{Batch, DropReason};

pub(crate) struct SpoolGate {
    state: Mutex<GateState>,
    /// Signalled when deliveries free room in the spool.
    room: Condvar,
    counters: Arc<DestinationCounters>,
    /// The spool's size, for metrics without taking the lock.
    bytes: AtomicU64,
    /// Bytes the batches the delivery thread holds would take in the spool. Appends leave
    /// that much room, so that a failed send can always spill them: they are the oldest
    /// events, and a full spool would otherwise drop them for newer ones.
    reserved: AtomicU64,
    deadline: Arc<AtomicI64>,
    when_full: WhenFull,
    block_timeout: Duration,
}

struct GateState {
    spool: Spool,
    engaged: bool,
}

/// Where the batching thread's batch went.
pub(crate) enum HandOver {
    /// To the delivery thread.
    Sent,
    /// Into the spool (or counted as dropped by the spool's `when_full` policy).
    Spooled,
    /// Nowhere: the delivery thread is gone.
    Gone,
}

/// What became of a spill.
#[derive(Default)]
pub(crate) struct Spill {
    /// Flush requests taken from the hand-off on the way, to answer.
    pub flushes: Vec<Sender<()>>,
    /// `Some` when nothing was stored (no room under `when_full: block`): the failed batch
    /// stays with the caller, and these are the batches taken from the hand-off after it, in
    /// order, to be sent before anything in the spool.
    pub kept: Option<Vec<Batch>>,
}

/// What the delivery thread found in the spool.
pub(crate) enum Next {
    /// A batch to send, and where it ends.
    Ready(Ticket),
    /// Nothing: the spool is disengaged, new batches come the in-memory way.
    Empty,
    /// The spool could not be read.
    Failed(std::io::Error),
}

fn into_batch(job: Job) -> Batch {
    match job {
        Job::Send(b) => b,
        Job::Flush(_) | Job::Wake => unreachable!("the gate only offers batches"),
    }
}

impl SpoolGate {
    /// Opens the spool; engaged at once when an earlier process left records in it, so that
    /// they are sent before new ones.
    pub fn open(
        config: &SpoolConfig,
        counters: Arc<DestinationCounters>,
        deadline: Arc<AtomicI64>,
    ) -> std::io::Result<SpoolGate> {
        let spool = Spool::open(config)?;
        Ok(SpoolGate {
            bytes: AtomicU64::new(spool.bytes()),
            reserved: AtomicU64::new(0),
            state: Mutex::new(GateState {
                engaged: !spool.is_empty(),
                spool,
            }),
            room: Condvar::new(),
            counters,
            deadline,
            when_full: config.when_full,
            block_timeout: config.block_timeout,
        })
    }

    /// Bytes the spool's files hold.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn update_size(&self, s: &GateState) {
        self.bytes.store(s.spool.bytes(), Ordering::Relaxed);
    }

    /// The batching thread's hand-over: to the delivery thread while the spool is disengaged
    /// and the hand-off has room, to the spool otherwise.
    pub fn hand_over(&self, batch: Batch, jobs: &Sender<Job>) -> HandOver {
        let mut s = self.state.lock();
        let batch = if s.engaged {
            batch
        } else {
            let mut batch = batch;
            let reserve = records_bytes(&[&batch]);
            batch.set_spool_reserve(reserve);
            // Counted before the hand-off: the delivery thread may release it at once.
            self.reserved.fetch_add(reserve, Ordering::AcqRel);
            match jobs.try_send(Job::Send(batch)) {
                Ok(()) => return HandOver::Sent,
                Err(TrySendError::Disconnected(_)) => {
                    self.reserved.fetch_sub(reserve, Ordering::AcqRel);
                    return HandOver::Gone;
                }
                Err(TrySendError::Full(job)) => {
                    s.engaged = true;
                    let mut batch = into_batch(job);
                    self.release(batch.take_spool_reserve());
                    batch
                }
            }
        };
        if self.append(&mut s, &batch) {
            // The delivery thread read the spool to its end and may be waiting for a job.
            drop(s);
            let _ = jobs.try_send(Job::Wake);
        }
        HandOver::Spooled
    }

    /// The delivery thread no longer holds a batch handed over with `reserve` bytes kept for
    /// it (it was delivered, dropped, or spilled into the spool).
    pub fn release(&self, reserve: u64) {
        self.reserved.fetch_sub(reserve, Ordering::AcqRel);
    }

    /// The batching thread's flush: while the spool is engaged, what was handed over is in
    /// the spool, so the flush is answered once the spool is synced to disk.
    pub fn flush(&self, ack: Sender<()>, jobs: &Sender<Job>) {
        let mut s = self.state.lock();
        if s.engaged {
            let synced = s.spool.begin_sync();
            // Waited for without the lock: the delivery thread goes on meanwhile.
            drop(s);
            let synced = synced.as_ref().map_or(Ok(()), PendingSync::wait);
            if let Err(e) = synced {
                self.note(&e);
            }
            let _ = ack.send(());
            return;
        }
        drop(s);
        let _ = jobs.send(Job::Flush(ack));
    }

    /// The delivery thread's spill after a failed send: the batch, then `held` (batches the
    /// delivery thread took earlier and kept, newer than the batch), then every batch still in
    /// the hand-off, go to the spool (before anything the batching thread put there
    /// meanwhile, which is newer), and the spool stays engaged. Handed-over batches go to
    /// `recycle` once stored; flush requests met on the way are returned.
    ///
    /// When they do not fit, they are the oldest there are: with `when_full: block` the
    /// handed-over batches are returned in [`Spill::kept`], for the delivery thread to send from
    /// memory (with the failed batch) before the spool — it cannot wait for room that only it
    /// would make; with the drop policies they are dropped (`spool_full`).
    pub fn spill(
        &self,
        batch: &Batch,
        held: Vec<Batch>,
        jobs: &Receiver<Job>,
        mut recycle: impl FnMut(Batch),
    ) -> Spill {
        let mut s = self.state.lock();
        s.engaged = true;
        let mut taken = held;
        let mut spill = Spill::default();
        while let Ok(job) = jobs.try_recv() {
            match job {
                Job::Send(b) => taken.push(b),
                Job::Flush(ack) => spill.flushes.push(ack),
                Job::Wake => {}
            }
        }
        let all: Vec<&Batch> = std::iter::once(batch).chain(taken.iter()).collect();
        let n = all.iter().map(|b| b.len() as u64).sum();
        match s.spool.prepend(&all) {
            Ok(()) => self.counters.count_spooled(n),
            Err(AppendError::Io(e)) => {
                self.note(&e);
                self.counters
                    .count_drop_from(Held::Memory, DropReason::SpoolWriteFailed, n);
            }
            Err(AppendError::Full | AppendError::TooLarge) if self.when_full == WhenFull::Block => {
                spill.kept = Some(taken);
                return spill;
            }
            Err(AppendError::Full | AppendError::TooLarge) => {
                self.counters
                    .count_drop_from(Held::Memory, DropReason::SpoolFull, n);
            }
        }
        self.update_size(&s);
        drop(s);
        taken.into_iter().for_each(&mut recycle);
        spill
    }

    /// Appends a batch under the `when_full` policy; true when that engaged the spool again
    /// (the delivery thread read it to its end while the batch waited for room).
    fn append(&self, s: &mut MutexGuard<'_, GateState>, batch: &Batch) -> bool {
        let engaged = self.append_under_policy(s, batch);
        if let Some(e) = s.spool.take_sync_error() {
            self.note(&e);
        }
        self.update_size(s);
        engaged
    }

    fn append_under_policy(&self, s: &mut MutexGuard<'_, GateState>, batch: &Batch) -> bool {
        let n = batch.len() as u64;
        let give_up = Instant::now() + self.block_timeout;
        let drop_newest = |reason| {
            self.counters.count_drop_from(Held::Memory, reason, n);
            false
        };
        loop {
            match s
                .spool
                .append(&[batch], self.reserved.load(Ordering::Acquire))
            {
                Ok(()) => {
                    self.counters.count_spooled(n);
                    // Engaged again if the delivery thread read the spool to its end while
                    // this batch waited for room: newer batches must not pass it in memory.
                    return !std::mem::replace(&mut s.engaged, true);
                }
                Err(AppendError::TooLarge) => return drop_newest(DropReason::SpoolFull),
                Err(AppendError::Io(e)) => {
                    self.note(&e);
                    return drop_newest(DropReason::SpoolWriteFailed);
                }
                Err(AppendError::Full) => match self.when_full {
                    WhenFull::DropOldest => match s.spool.evict_oldest() {
                        Ok(Some(evicted)) => {
                            self.counters.count_drop_from(
                                Held::Spool,
                                DropReason::SpoolFull,
                                evicted.own,
                            );
                            self.counters
                                .count_recovered_drop(DropReason::SpoolFull, evicted.recovered);
                        }
                        Ok(None) => return drop_newest(DropReason::SpoolFull),
                        Err(e) => {
                            self.note(&e);
                            return drop_newest(DropReason::SpoolWriteFailed);
                        }
                    },
                    WhenFull::Block => {
                        if Instant::now() >= give_up || shutdown_deadline_passed(&self.deadline) {
                            return drop_newest(DropReason::SpoolFull);
                        }
                        // In slices, so that the shutdown deadline is noticed.
                        self.room.wait_for(s, Duration::from_millis(20));
                    }
                    WhenFull::DropNewest => return drop_newest(DropReason::SpoolFull),
                },
            }
        }
    }

    /// The delivery thread's next batch from the spool, into `out` (empty). Records of an
    /// earlier process and damaged records found on the way are counted here.
    pub fn next_batch(&self, max_events: usize, max_bytes: usize, out: &mut Batch) -> Next {
        let mut s = self.state.lock();
        s.spool.sync_if_due();
        let read = s.spool.read(max_events, max_bytes, out);
        self.update_size(&s);
        let read = match read {
            Ok(read) => read,
            Err(e) => return Next::Failed(e),
        };
        self.counters.count_recovered(read.recovered);
        self.counters
            .count_drop_from(Held::Spool, DropReason::SpoolCorrupt, read.lost_own);
        self.counters
            .count_recovered_drop(DropReason::SpoolCorrupt, read.lost_recovered);
        match read.ticket {
            Some(t) => Next::Ready(t),
            None => {
                s.engaged = false;
                Next::Empty
            }
        }
    }

    /// The destination accepted (or refused for good) the batch that ends at `ticket`.
    pub fn acknowledge(&self, ticket: Ticket) {
        let mut s = self.state.lock();
        if let Err(e) = s.spool.acknowledge(ticket) {
            self.note(&e);
        }
        self.update_size(&s);
        drop(s);
        self.room.notify_all();
    }

    fn note(&self, e: &std::io::Error) {
        *self.counters.last_error.lock() = Some(format!("spool: {e}"));
    }
}
