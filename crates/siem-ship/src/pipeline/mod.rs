//! The running pipeline: the queue the application threads push into, the pipeline thread
//! (`runner`) that turns queued items into security events with a [`Processor`], and the
//! destinations it hands them to.

mod processor;
mod report;
mod runner;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};
use parking_lot::Mutex;
use siem_event::Timestamp;

pub use processor::Processor;
pub use report::{DeliveryReport, PipelineMetrics};

use crate::destination::route::Route;
use crate::{Destination, EventQueue, OverflowPolicy, Protection};
use runner::Runner;

/// Queue and thread settings of the pipeline.
///
/// ```
/// use siem_ship::PipelineConfig;
/// let c = PipelineConfig::default();
/// assert_eq!(c.queue_capacity, 10_000);
/// ```
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Capacity of the application-side queue (seed 000: 10 000).
    pub queue_capacity: usize,
    /// What to do when it is full.
    pub overflow: OverflowPolicy,
    /// The part of it kept for protected events (`EventQueue::push_protected`), if any.
    pub protection: Option<Protection>,
    /// How often the pipeline thread looks at the queue when nobody woke it.
    pub tick: Duration,
    /// Queue fill level that wakes the pipeline thread at once.
    pub wake_mark: usize,
    /// How often drops are reported as a `siem.events_dropped` event (when there were drops).
    pub drop_report_interval: Duration,
    /// Name of the pipeline thread.
    pub thread_name: String,
    /// Print one line on standard error when a destination starts failing and when it
    /// delivers again (at most one "failing" line per destination every 30 s).
    pub notices: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_capacity: 10_000,
            overflow: OverflowPolicy::DropNewest,
            protection: None,
            tick: Duration::from_millis(10),
            wake_mark: 512,
            drop_report_interval: Duration::from_secs(30),
            thread_name: "siem-pipeline".to_owned(),
            notices: true,
        }
    }
}

enum Control {
    /// Deliver what is queued and flush every destination, waiting for them until the instant.
    Flush(Sender<()>, Instant),
    Shutdown(Sender<()>),
}

impl<T> Shared<T> {
    fn metrics(&self) -> PipelineMetrics {
        PipelineMetrics {
            queue: self.queue.stats(),
            events_routed: self.routed.load(Ordering::Relaxed),
            drop_reports: self.drop_reports.load(Ordering::Relaxed),
            running: self.running.load(Ordering::Relaxed),
            destinations: self.routes.lock().iter().map(Route::metrics).collect(),
        }
    }
}

struct Shared<T> {
    queue: Arc<EventQueue<T>>,
    routes: Mutex<Vec<Route>>,
    routed: std::sync::atomic::AtomicU64,
    drop_reports: std::sync::atomic::AtomicU64,
    running: AtomicBool,
    deadline: Arc<AtomicI64>,
}

/// The running pipeline: owns the queue, the pipeline thread and the destinations' threads.
///
/// ```
/// use std::time::Duration;
/// use siem_event::{EventType, SecurityEvent};
/// use siem_ship::{Batch, Destination, Pipeline, PipelineConfig, Processor, Sink, SinkError};
///
/// struct Messages;
/// impl Processor<String> for Messages {
///     fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
///         out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
///     }
/// }
/// struct Plain;
/// impl siem_format::Encoder for Plain {
///     fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) { out.extend_from_slice(e.message.as_bytes()) }
/// }
/// struct Null;
/// impl Sink for Null {
///     fn kind(&self) -> &'static str { "null" }
///     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
/// }
///
/// let pipeline = Pipeline::start(
///     PipelineConfig::default(),
///     Messages,
///     vec![Destination::new("null", Box::new(Plain), Box::new(Null))],
/// ).unwrap();
/// assert!(pipeline.queue().push("Failed login".to_owned(), false));
/// let report = pipeline.flush(Duration::from_secs(5));
/// assert!(report.completed);
/// assert_eq!(pipeline.metrics().shipped(), 1);
/// pipeline.shutdown(Duration::from_secs(5));
/// ```
pub struct Pipeline<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    control: Sender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_handle: thread::Thread,
    shut_down: AtomicBool,
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts the destinations' threads and the pipeline thread.
    pub fn start<P: Processor<T>>(
        config: PipelineConfig,
        processor: P,
        destinations: Vec<Destination>,
    ) -> std::io::Result<Pipeline<T>> {
        let deadline = Arc::new(AtomicI64::new(0));
        // A blocking queue promises back-pressure rather than loss: the pipeline thread then
        // waits for room at a full destination too, so logging threads wait in turn.
        let wait_for_room = match config.overflow {
            OverflowPolicy::Block { timeout } => Some(timeout),
            _ => None,
        };
        let routes = destinations
            .into_iter()
            .map(|d| Route::start(d, Arc::clone(&deadline), wait_for_room, config.notices))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut queue = EventQueue::new(config.queue_capacity, config.overflow, config.wake_mark);
        if let Some(protection) = config.protection {
            queue = queue.with_protection(protection);
        }
        let queue = Arc::new(queue);
        let shared = Arc::new(Shared {
            queue,
            routes: Mutex::new(routes),
            routed: Default::default(),
            drop_reports: Default::default(),
            running: AtomicBool::new(true),
            deadline,
        });
        let (control_tx, control_rx) = bounded(16);
        let runner = Runner::new(
            Arc::clone(&shared),
            processor,
            control_rx,
            config.tick,
            config.drop_report_interval,
        );
        let thread = thread::Builder::new()
            .name(config.thread_name)
            .spawn(move || runner.run())?;
        let thread_handle = thread.thread().clone();
        shared.queue.set_consumer(thread_handle.clone());
        Ok(Pipeline {
            shared,
            control: control_tx,
            thread: Mutex::new(Some(thread)),
            thread_handle,
            shut_down: AtomicBool::new(false),
        })
    }

    /// The queue the application threads push into.
    pub fn queue(&self) -> &Arc<EventQueue<T>> {
        &self.shared.queue
    }

    /// Figures of the queue and every destination.
    pub fn metrics(&self) -> PipelineMetrics {
        self.shared.metrics()
    }

    /// Delivers everything queued before this call to every destination and flushes them,
    /// waiting at most `timeout`. Works while the program runs; logging goes on meanwhile.
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        let deadline = Instant::now() + timeout;
        self.ask(|ack| Control::Flush(ack, deadline), timeout, deadline);
        self.report(deadline)
    }

    /// Sends a request to the pipeline thread, wakes it, and waits for its answer until
    /// `deadline`.
    fn ask(
        &self,
        request: impl FnOnce(Sender<()>) -> Control,
        timeout: Duration,
        deadline: Instant,
    ) {
        let (tx, rx) = bounded(1);
        if self.control.send_timeout(request(tx), timeout).is_ok() {
            self.thread_handle.unpark();
            let _ = rx.recv_deadline(deadline);
        }
    }

    fn report(&self, deadline: Instant) -> DeliveryReport {
        let m = self.metrics();
        let undelivered: Vec<(String, u64)> = m
            .destinations
            .iter()
            .map(|d| (d.name.clone(), d.in_flight()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let queued = m.queue.len as u64;
        DeliveryReport {
            completed: Instant::now() <= deadline && undelivered.is_empty() && queued == 0,
            undelivered: if queued > 0 {
                let mut u = undelivered;
                u.insert(0, ("queue".to_owned(), queued));
                u
            } else {
                undelivered
            },
            dropped: m.drops_by_reason(),
            abandoned: 0,
        }
    }

    /// Stops taking events, delivers what is queued within `timeout`, closes every destination
    /// and reports what could not be delivered. Later calls return the same kind of report at once.
    pub fn shutdown(&self, timeout: Duration) -> DeliveryReport {
        let deadline = Instant::now() + timeout;
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return self.report(deadline);
        }
        // Destinations give up retrying a little before the deadline, so that what they could
        // not deliver is counted (as shutdown_deadline) before this call returns.
        let nanos = i64::try_from(timeout.mul_f64(0.9).as_nanos()).unwrap_or(i64::MAX);
        self.shared.deadline.store(
            Timestamp::now().unix_nanos().saturating_add(nanos).max(1),
            Ordering::Relaxed,
        );
        self.shared.queue.close();
        self.ask(Control::Shutdown, timeout, deadline);
        if let Some(t) = self.thread.lock().take() {
            if t.is_finished() {
                let _ = t.join();
            }
        }
        // Whatever the pipeline thread could not take by now (it is stuck) is counted at the
        // queue; events it takes later reach only settled destinations, which ignore them.
        self.shared.queue.discard_remaining();
        let mut all_joined = true;
        for route in self.shared.routes.lock().iter_mut() {
            route.close();
        }
        let mut abandoned = 0;
        for route in self.shared.routes.lock().iter_mut() {
            if !route.join_until(deadline) {
                // A thread still blocked (in a write, a handshake, a name lookup) is left to
                // end on its own; what it holds is counted now, so the report is exact.
                abandoned += route.settle();
                all_joined = false;
            }
        }
        self.shared.running.store(false, Ordering::Relaxed);
        let mut report = self.report(deadline);
        report.completed &= all_joined;
        report.abandoned = abandoned;
        report
    }
}

impl<T: Send + 'static> Drop for Pipeline<T> {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(5));
    }
}
