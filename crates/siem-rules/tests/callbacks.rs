//! Alert callbacks: delivered off the pipeline thread, isolated from panics and slowness.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{event, Harness, T0};
use siem_rules::{Alert, AlertContext, AlertDispatcher, AlertKind, AlertLevel, RulesConfig};

fn alert(n: usize) -> Alert {
    Alert::new(
        format!("r{n}"),
        AlertKind::Threshold,
        AlertLevel::Page,
        "m",
        AlertContext::default(),
    )
}

#[test]
fn a_panicking_callback_harms_nothing_else() {
    let mut h = Harness::new(RulesConfig::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    h.engine.on_alert("panics", |a: &Alert| {
        panic!("bug in callback for {}", a.rule)
    });
    h.engine.on_alert("records", move |a: &Alert| {
        sink.lock().unwrap().push(a.rule.to_string())
    });
    for i in 0..3 {
        let alerts = h.feed(event("constitutional_hash_mismatch", T0 + i * 120));
        assert_eq!(alerts.len(), 1, "the pipeline keeps getting alerts");
    }
    assert!(h.engine.close_callbacks(Duration::from_secs(30)));
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "the other callback got every alert"
    );
    let m = h.engine.metrics();
    assert_eq!(
        m.callback_panics, 3,
        "the panicking callback kept running and panicked each time"
    );
    assert_eq!(m.callbacks_delivered, 3);
    assert_eq!(m.callbacks_dropped, 0);
}

/// A callback that blocks until the test lets it go.
fn stuck_callback(d: &mut AlertDispatcher) -> (mpsc::Sender<()>, Arc<AtomicUsize>) {
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    d.on_alert("stuck", move |_: &Alert| {
        s.fetch_add(1, Ordering::SeqCst);
        let _ = gate.lock().unwrap().recv();
    });
    (release, started)
}

#[test]
fn a_stuck_callback_drops_instead_of_blocking() {
    let mut d = AlertDispatcher::new(4);
    let (release, _) = stuck_callback(&mut d);
    // 100 alerts: dispatch never waits; the stuck callback holds at most one and queues 4
    for n in 0..100 {
        d.dispatch(&alert(n));
    }
    let dropped = d.metrics().snapshot().callbacks_dropped;
    assert!((95..=96).contains(&dropped), "dropped {dropped}");
    drop(release);
    assert!(d.close(Duration::from_secs(30)));
    assert_eq!(d.metrics().snapshot().callbacks_delivered, 100 - dropped);
}

#[test]
fn a_stuck_callback_does_not_delay_another() {
    let mut d = AlertDispatcher::new(200);
    let (release, started) = stuck_callback(&mut d);
    let fast = Arc::new(AtomicUsize::new(0));
    let f = fast.clone();
    d.on_alert("fast", move |_: &Alert| {
        f.fetch_add(1, Ordering::SeqCst);
    });
    for n in 0..100 {
        d.dispatch(&alert(n));
    }
    // the fast callback finishes all 100 while the stuck one still holds its first
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fast.load(Ordering::SeqCst) < 100 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(fast.load(Ordering::SeqCst), 100);
    assert!(started.load(Ordering::SeqCst) <= 1);
    assert_eq!(d.metrics().snapshot().callbacks_dropped, 0);
    drop(release);
    assert!(d.close(Duration::from_secs(30)));
}

#[test]
fn closing_does_not_wait_forever_for_a_stuck_callback() {
    let mut d = AlertDispatcher::new(4);
    let (_release, _) = stuck_callback(&mut d);
    d.dispatch(&alert(0));
    assert!(
        !d.close(Duration::from_millis(50)),
        "reports that a callback is still running"
    );
}

#[test]
fn async_callbacks_run_without_a_runtime() {
    let mut d = AlertDispatcher::new(16);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    d.on_alert_async("async", move |a: Alert| {
        let s = s.clone();
        async move {
            // a future that is pending once and woken by another thread
            let (tx, rx) = mpsc::channel();
            let waiter = WaitOnce {
                rx,
                waker_sent: false,
                tx: Some(tx),
            };
            waiter.await;
            s.lock().unwrap().push(a.rule.to_string());
        }
    });
    d.on_alert_async(
        "async-panics",
        |_a: Alert| async move { panic!("async bug") },
    );
    for n in 0..3 {
        d.dispatch(&alert(n));
    }
    assert!(d.close(Duration::from_secs(30)));
    assert_eq!(*seen.lock().unwrap(), ["r0", "r1", "r2"]);
    assert_eq!(d.metrics().snapshot().callback_panics, 3);
}

/// Pending on first poll; a helper thread wakes it.
struct WaitOnce {
    rx: mpsc::Receiver<()>,
    tx: Option<mpsc::Sender<()>>,
    waker_sent: bool,
}

impl std::future::Future for WaitOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.rx.try_recv().is_ok() {
            return std::task::Poll::Ready(());
        }
        if !self.waker_sent {
            self.waker_sent = true;
            let waker = cx.waker().clone();
            let tx = self.tx.take().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                tx.send(()).unwrap();
                waker.wake();
            });
        }
        std::task::Poll::Pending
    }
}
