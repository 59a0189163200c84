//! The pipeline's handle on a running destination: it filters and queues events for the
//! destination's threads, which it starts, asks to flush, and stops.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use siem_event::SecurityEvent;

use super::accounting::DestinationCounters;
use super::batching::{Batching, Control};
use super::chunk::{Chunk, ChunkPool, Share};
use super::delivery::{shutdown_deadline_passed, Delivery, StateNotices};
use super::{Destination, EventFilter, Reserve};
use crate::spool::gate::SpoolGate;
use crate::{DestinationMetrics, DropReason};

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
    /// The last places of the queue, kept for events at or above a severity.
    reserve: Option<Reserve>,
    /// Unix nanos of the shutdown deadline (0: none).
    deadline: Arc<AtomicI64>,
    control: Sender<Control>,
    /// The newest drop report not yet taken by the batching thread (a slot of one: a newer
    /// report replaces it, since reports carry running totals). Reports do not wait in the
    /// events queue, so a full queue cannot lose them.
    report: Sender<SecurityEvent>,
    pending_report: Receiver<SecurityEvent>,
    counters: Arc<DestinationCounters>,
    spool: Option<Arc<SpoolGate>>,
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
        let spool = match &d.spool {
            Some(config) => Some(Arc::new(
                SpoolGate::open(config, Arc::clone(&counters), Arc::clone(&deadline)).map_err(
                    |e| {
                        std::io::Error::new(
                            e.kind(),
                            format!(
                                "destination {:?}: spool {}: {e}",
                                d.name,
                                config.path.display()
                            ),
                        )
                    },
                )?,
            )),
            None => None,
        };
        let delivery = Delivery {
            sink: d.sink,
            spent: spent_tx,
            unreturned: Arc::clone(&unreturned),
            retry: d.retry,
            counters: Arc::clone(&counters),
            deadline: Arc::clone(&deadline),
            notices: notices.then(|| StateNotices::new(&d.name, spool.is_some())),
            spool: spool.clone(),
            batch_policy: d.batch,
            held: Default::default(),
            breaker: Default::default(),
        };
        let sender = thread::Builder::new()
            .name(format!("siem-send-{}", d.name))
            .spawn(move || delivery.run(jobs_rx))?;
        let batching = Batching::new(
            d.encoder,
            d.batch,
            Arc::clone(&counters),
            jobs_tx,
            spent_rx,
            unreturned,
            Arc::clone(&queued),
        )
        .with_spool(spool.clone());
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
            reserve: d.reserve.map(|r| Reserve {
                places: r.places.min(d.queue_capacity - 1),
                ..r
            }),
            deadline,
            control: control_tx,
            report: report_tx,
            pending_report: report_rx,
            counters,
            spool,
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
        if let (Some(reserve), None) = (self.reserve, self.wait_for_room) {
            return self.offer_with_reserve(share, reserve, tx, pool);
        }
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
            if n > 0 && !self.hand_over(tx, fits, pool) {
                c.count_drop(DropReason::AfterShutdown, (n + left) as u64);
                return;
            }
            let gave_up =
                give_up.is_none_or(|t| Instant::now() >= t) || self.past_shutdown_deadline();
            if left > 0 && gave_up {
                c.count_drop(DropReason::DestinationQueueFull, left as u64);
                return;
            }
        }
    }

    /// Queues, in order, the events of `share` that fit: ordinary ones while the queue holds
    /// fewer than its capacity minus the reserve, protected ones while it is not full; drops
    /// the others at once.
    fn offer_with_reserve(
        &self,
        mut share: Share,
        reserve: Reserve,
        tx: &Sender<Share>,
        pool: &mut ChunkPool,
    ) {
        let mut held = self.queued.load(Ordering::Acquire);
        let ordinary_limit = self.capacity - reserve.places;
        if held + share.len() <= ordinary_limit {
            // The usual case, with room to spare: no event needs looking at.
            let n = share.len();
            if !self.hand_over(tx, share, pool) {
                self.counters
                    .count_drop(DropReason::AfterShutdown, n as u64);
            }
            return;
        }
        let fits = share.split_where(|e| {
            let limit = if e.severity >= reserve.min_severity {
                self.capacity
            } else {
                ordinary_limit
            };
            let fits = held < limit;
            held += usize::from(fits);
            fits
        });
        let (n, refused) = (fits.len(), share.len());
        if n > 0 && !self.hand_over(tx, fits, pool) {
            self.counters
                .count_drop(DropReason::AfterShutdown, (n + refused) as u64);
            return;
        }
        if refused > 0 {
            self.counters
                .count_drop(DropReason::DestinationQueueFull, refused as u64);
        }
    }

    /// Queues `share` for the batching thread; false when that thread is gone (nothing is
    /// counted then).
    fn hand_over(&self, tx: &Sender<Share>, share: Share, pool: &mut ChunkPool) -> bool {
        let n = share.len();
        self.queued.fetch_add(n, Ordering::AcqRel);
        if tx.send(pool.compact(share)).is_err() {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        true
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
        let mut m = self.counters.snapshot(&self.name, self.kind, queued);
        m.spool_bytes = self.spool.as_ref().map_or(0, |s| s.bytes());
        m
    }
}
