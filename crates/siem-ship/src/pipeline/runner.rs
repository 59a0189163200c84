//! The pipeline thread: drains the queue, runs the processor, hands chunks of events to every
//! route, answers flush and shutdown requests, and reports drops.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use siem_event::{EventType, SecurityEvent, Severity, Timestamp};

use super::{Control, Shared};
use crate::destination::chunk::{ChunkPool, CHUNK_EVENTS};
use crate::destination::delivery::shutdown_deadline_passed;
use crate::destination::route::Route;
use crate::Processor;

pub(super) struct Runner<T, P> {
    shared: Arc<Shared<T>>,
    processor: P,
    control: Receiver<Control>,
    tick: Duration,
    drop_report_interval: Duration,
    reported_drops: u64,
    last_report: Instant,
    /// What the processor made of queued items, not yet handed to the routes.
    out: Vec<SecurityEvent>,
    chunks: ChunkPool,
}

impl<T: Send + 'static, P: Processor<T>> Runner<T, P> {
    /// The pipeline thread's state, before it runs: requests arrive on `control`, time-driven
    /// work happens every `tick`, and drops are reported at most every `drop_report_interval`.
    pub(super) fn new(
        shared: Arc<Shared<T>>,
        processor: P,
        control: Receiver<Control>,
        tick: Duration,
        drop_report_interval: Duration,
    ) -> Runner<T, P> {
        Runner {
            shared,
            processor,
            control,
            tick,
            drop_report_interval,
            reported_drops: 0,
            last_report: Instant::now(),
            out: Vec::with_capacity(CHUNK_EVENTS),
            chunks: ChunkPool::default(),
        }
    }

    pub(super) fn run(mut self) {
        crate::mark_pipeline_thread();
        let mut last_tick = Instant::now();
        loop {
            let drained = self.drain(4096);
            if last_tick.elapsed() >= self.tick {
                last_tick = Instant::now();
                self.processor.tick(Timestamp::now(), &mut self.out);
                self.route_out();
                self.report_drops(false);
            }
            while let Ok(msg) = self.control.try_recv() {
                match msg {
                    Control::Flush(ack, until) => {
                        while self.drain(usize::MAX) > 0 {}
                        self.report_drops(true);
                        let acks: Vec<_> = self
                            .shared
                            .routes
                            .lock()
                            .iter()
                            .map(Route::request_flush)
                            .collect();
                        // A stuck destination must not hold the pipeline thread past the
                        // caller's deadline: the caller's report then says what is in flight.
                        for a in acks {
                            let _ = a.recv_deadline(until);
                        }
                        let _ = ack.send(());
                    }
                    Control::Shutdown(ack) => {
                        while !shutdown_deadline_passed(&self.shared.deadline)
                            && self.drain(CHUNK_EVENTS) > 0
                        {}
                        self.shared.queue.discard_remaining();
                        self.report_drops(true);
                        let _ = ack.send(());
                        return;
                    }
                }
            }
            if drained == 0 {
                self.chunks.release_finished();
                thread::park_timeout(self.tick);
            }
        }
    }

    /// Processes up to `max` queued items; returns how many.
    fn drain(&mut self, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(item) = self.shared.queue.pop() else {
                break;
            };
            self.processor.process(item, &mut self.out);
            n += 1;
            if self.out.len() >= CHUNK_EVENTS {
                self.route_out();
            }
        }
        self.route_out();
        n
    }

    fn route_out(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let chunk = self.chunks.hand_over(&mut self.out);
        for r in self.shared.routes.lock().iter() {
            r.offer(&chunk, &mut self.chunks);
        }
        self.shared
            .routed
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }

    /// Emits a `siem.events_dropped` event when drops grew since the last report.
    fn report_drops(&mut self, force: bool) {
        if !force && self.last_report.elapsed() < self.drop_report_interval {
            return;
        }
        let m = self.shared.metrics();
        let total = m.dropped();
        if total <= self.reported_drops {
            return;
        }
        let mut e = SecurityEvent::new(
            EventType::canonical("siem.events_dropped"),
            format!(
                "{} security events dropped since the last report ({} in total)",
                total - self.reported_drops,
                total
            ),
        );
        e.severity = Severity::High;
        e.source = Some("tracing_siem::pipeline".to_owned());
        e.push_metadata("dropped_since_last_report", total - self.reported_drops);
        e.push_metadata("dropped_total", total);
        for (reason, n) in m.drops_by_reason() {
            e.push_metadata(reason.as_str(), n);
        }
        self.processor.complete(&mut e);
        self.reported_drops = total;
        self.shared.drop_reports.fetch_add(1, Ordering::Relaxed);
        self.last_report = Instant::now();
        // Events queued before the report go first; the report itself skips queues and filters.
        self.route_out();
        for r in self.shared.routes.lock().iter() {
            r.offer_report(&e);
        }
        self.shared.routed.fetch_add(1, Ordering::Relaxed);
    }
}
