//! The exits a program takes without dropping its guard: a panic and a termination signal.
//! Both are opt-in, since a program may already handle them its own way. What every exit does
//! to queued events (guard drop, `shutdown`, `flush`, these two, `process::exit`, `abort`,
//! SIGKILL) is tabled once, in `docs/delivery.md` ("Every event is accounted for at every exit").

use std::time::Duration;

use crate::SiemHandle;

impl SiemHandle {
    /// Makes every panic flush the pipeline (waiting at most `timeout`) before it continues:
    /// the panic's own security events, and what was queued before, reach the destinations even
    /// when the panic ends the process. The previous panic hook still runs, first. A panic on
    /// one of the pipeline's own threads does not wait for the pipeline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder().build().unwrap();
    /// guard.handle().flush_on_panic(Duration::from_secs(2));
    /// # let _ = std::panic::take_hook();
    /// ```
    pub fn flush_on_panic(&self, timeout: Duration) {
        let handle = self.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if !siem_ship::on_pipeline_thread() {
                let report = handle.flush(timeout);
                if !report.completed {
                    eprintln!(
                        "tracing-siem: flush after panic timed out with {} security events undelivered",
                        report.undelivered_total()
                    );
                }
            }
        }));
    }

    /// On SIGTERM or SIGINT, shuts the pipeline down (waiting at most `timeout`), then ends the
    /// process as the signal's default action would. For programs that do not handle these
    /// signals themselves; one that does (a server's graceful shutdown) should call
    /// [`SiemGuard::shutdown`](crate::SiemGuard::shutdown) at the end of its own handling
    /// instead. Unix only; the error is the operating system's when the handler cannot be
    /// registered.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let (_layer, guard) = tracing_siem::SiemLayer::builder().build().unwrap();
    /// guard.handle().shutdown_on_signals(Duration::from_secs(5)).unwrap();
    /// ```
    #[cfg(unix)]
    pub fn shutdown_on_signals(&self, timeout: Duration) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
        let handle = self.clone();
        std::thread::Builder::new()
            .name("siem-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let report = handle.shutdown(timeout);
                    if !report.completed {
                        eprintln!(
                            "tracing-siem: shutdown on signal {signal} timed out with {} security events undelivered",
                            report.undelivered_total()
                        );
                    }
                    // Ends the process as the default action does (by the same signal).
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            })?;
        Ok(())
    }
}
