//! Alert callbacks, isolated from the pipeline and from each other.
//!
//! Each callback gets its own thread and its own bounded queue. Handing an alert over is a
//! `try_send`: when a callback is slow and its queue is full, the alert is dropped for that
//! callback (counted in `callbacks_dropped`) and the pipeline goes on. A panic inside a
//! callback is caught (counted in `callback_panics`); the thread keeps serving the next alert.
//! Async callbacks run on their thread under a small `block_on` executor built on `std`
//! (thread park/unpark), so users need no runtime; a callback that needs tokio can
//! `Handle::spawn` onto its own runtime from inside.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::metrics::{Counters, MetricsHandle};
use crate::Alert;

/// A synchronous alert callback.
///
/// ```
/// use siem_rules::{Alert, SyncCallback};
/// let cb: SyncCallback = Box::new(|alert: &Alert| eprintln!("{}: {}", alert.level, alert.message));
/// # let _ = cb;
/// ```
pub type SyncCallback = Box<dyn Fn(&Alert) + Send + Sync + 'static>;

/// An asynchronous alert callback (seed 000's `async def alert_callback(...)`).
///
/// ```
/// use siem_rules::{Alert, AsyncCallback};
/// let cb: AsyncCallback = Box::new(|alert: Alert| Box::pin(async move {
///     let _ = alert.to_event();
/// }));
/// # let _ = cb;
/// ```
pub type AsyncCallback = Box<
    dyn Fn(Alert) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> + Send + Sync + 'static,
>;

enum Callback {
    Sync(SyncCallback),
    Async(AsyncCallback),
}

struct Worker {
    name: String,
    /// For an action handler, the action whose alerts it receives; `None` takes every alert.
    action: Option<String>,
    sender: Option<SyncSender<Alert>>,
    thread: Option<JoinHandle<()>>,
}

/// Runs alert callbacks off the pipeline thread, each isolated (see the module docs).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use siem_rules::{Alert, AlertContext, AlertDispatcher, AlertKind, AlertLevel};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let mut dispatcher = AlertDispatcher::new(1024);
/// let sink = seen.clone();
/// dispatcher.on_alert("record", move |alert: &Alert| sink.lock().unwrap().push(alert.rule.to_string()));
/// dispatcher.on_alert_async("page", |alert: Alert| async move {
///     if alert.level >= AlertLevel::Page { /* call the paging API */ }
/// });
/// dispatcher.on_alert("buggy", |_: &Alert| panic!("callback bug"));
///
/// dispatcher.dispatch(&Alert::new("r1", AlertKind::Threshold, AlertLevel::Page, "m", AlertContext::default()));
/// assert!(dispatcher.close(std::time::Duration::from_secs(10)));
/// assert_eq!(*seen.lock().unwrap(), ["r1"]);
/// assert_eq!(dispatcher.metrics().snapshot().callback_panics, 1);
/// ```
pub struct AlertDispatcher {
    workers: Vec<Worker>,
    capacity: usize,
    counters: MetricsHandle,
}

impl std::fmt::Debug for AlertDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.workers.iter().map(|w| w.name.as_str()).collect();
        f.debug_struct("AlertDispatcher")
            .field("callbacks", &names)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl AlertDispatcher {
    /// A dispatcher whose callbacks each queue up to `capacity` alerts (at least 1).
    pub fn new(capacity: usize) -> AlertDispatcher {
        AlertDispatcher {
            workers: Vec::new(),
            capacity: capacity.max(1),
            counters: MetricsHandle::default(),
        }
    }

    pub(crate) fn with_counters(capacity: usize, counters: MetricsHandle) -> AlertDispatcher {
        AlertDispatcher {
            workers: Vec::new(),
            capacity: capacity.max(1),
            counters,
        }
    }

    /// Registers a synchronous callback, run on its own thread named `siem-alert-<name>`.
    pub fn on_alert<F>(&mut self, name: &str, callback: F)
    where
        F: Fn(&Alert) + Send + Sync + 'static,
    {
        self.spawn(name, None, Callback::Sync(Box::new(callback)));
    }

    /// Registers a synchronous handler of the rule action `action`: it receives only alerts
    /// whose `action` is that name, on its own thread named `siem-action-<action>`.
    ///
    /// ```
    /// use siem_rules::{Alert, AlertDispatcher};
    /// let mut d = AlertDispatcher::new(8);
    /// d.on_action("block_user", |alert: &Alert| eprintln!("block: {}", alert.message));
    /// assert!(d.handles_action("block_user") && !d.handles_action("investigate"));
    /// ```
    pub fn on_action<F>(&mut self, action: &str, handler: F)
    where
        F: Fn(&Alert) + Send + Sync + 'static,
    {
        self.spawn(action, Some(action), Callback::Sync(Box::new(handler)));
    }

    /// Registers an async handler of the rule action `action` (see [`AlertDispatcher::on_action`]).
    ///
    /// ```
    /// use siem_rules::{Alert, AlertDispatcher};
    /// let mut d = AlertDispatcher::new(8);
    /// d.on_action_async("investigate", |alert: Alert| async move { let _ = alert.rule; });
    /// assert!(d.handles_action("investigate"));
    /// ```
    pub fn on_action_async<F, Fut>(&mut self, action: &str, handler: F)
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(
            action,
            Some(action),
            Callback::Async(Box::new(move |alert| Box::pin(handler(alert)))),
        );
    }

    /// True when a handler of the action is registered.
    pub fn handles_action(&self, action: &str) -> bool {
        self.workers
            .iter()
            .any(|w| w.action.as_deref() == Some(action))
    }

    /// Registers an async callback, driven to completion for each alert on its own thread.
    pub fn on_alert_async<F, Fut>(&mut self, name: &str, callback: F)
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(
            name,
            None,
            Callback::Async(Box::new(move |alert| Box::pin(callback(alert)))),
        );
    }

    /// Registers an already boxed async callback.
    ///
    /// ```
    /// use siem_rules::{AlertDispatcher, AsyncCallback};
    /// let cb: AsyncCallback = Box::new(|_alert| Box::pin(async {}));
    /// let mut d = AlertDispatcher::new(8);
    /// d.on_alert_boxed_async("noop", cb);
    /// ```
    pub fn on_alert_boxed_async(&mut self, name: &str, callback: AsyncCallback) {
        self.spawn(name, None, Callback::Async(callback));
    }

    fn spawn(&mut self, name: &str, action: Option<&str>, callback: Callback) {
        let (sender, receiver) = sync_channel::<Alert>(self.capacity);
        let counters = self.counters.0.clone();
        let kind = if action.is_some() { "action" } else { "alert" };
        let thread = thread::Builder::new()
            .name(format!("siem-{kind}-{name}"))
            .spawn(move || run(receiver, callback, &counters));
        match thread {
            Ok(handle) => self.workers.push(Worker {
                name: name.to_owned(),
                action: action.map(str::to_owned),
                sender: Some(sender),
                thread: Some(handle),
            }),
            Err(_) => {
                // No thread, no callback: every alert for it will count as dropped.
                self.workers.push(Worker {
                    name: name.to_owned(),
                    action: action.map(str::to_owned),
                    sender: None,
                    thread: None,
                });
            }
        }
    }

    /// Number of registered callbacks.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// True when no callback is registered.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Hands the alert to every callback, and to the handler of its action, without blocking;
    /// a full queue drops it (counted).
    pub fn dispatch(&self, alert: &Alert) {
        let wanted = |w: &&Worker| match &w.action {
            None => true,
            Some(action) => alert.action.as_deref() == Some(action.as_str()),
        };
        for w in self.workers.iter().filter(wanted) {
            let ok = match &w.sender {
                Some(s) => match s.try_send(alert.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
                },
                None => false,
            };
            if !ok {
                self.counters
                    .0
                    .callbacks_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The dispatcher's counters (`callback_panics`, `callbacks_dropped`, `callbacks_delivered`).
    pub fn metrics(&self) -> MetricsHandle {
        self.counters.clone()
    }

    /// Stops taking alerts, lets every callback finish its queue, and waits up to `timeout` in
    /// all; returns false when some callback was still running (its thread is left to finish
    /// on its own).
    pub fn close(&mut self, timeout: Duration) -> bool {
        for w in &mut self.workers {
            w.sender = None;
        }
        let deadline = Instant::now() + timeout;
        let mut all = true;
        for w in &mut self.workers {
            let Some(handle) = w.thread.take() else {
                continue;
            };
            while !handle.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(2));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                all = false;
            }
        }
        all
    }
}

impl Drop for AlertDispatcher {
    /// Closes the queues and does not wait: a stuck callback never blocks shutdown. Call
    /// [`AlertDispatcher::close`] first to let queued alerts finish.
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.sender = None;
        }
    }
}

fn run(receiver: Receiver<Alert>, callback: Callback, counters: &Counters) {
    while let Ok(alert) = receiver.recv() {
        let result = catch_unwind(AssertUnwindSafe(|| match &callback {
            Callback::Sync(f) => f(&alert),
            Callback::Async(f) => block_on(f(alert)),
        }));
        match result {
            Ok(()) => counters.callbacks_delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => counters.callback_panics.fetch_add(1, Ordering::Relaxed),
        };
    }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to completion on this thread, parking while it is pending.
fn block_on<F: Future<Output = ()> + ?Sized>(mut future: Pin<Box<F>>) {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(()) => return,
            Poll::Pending => thread::park(),
        }
    }
}
