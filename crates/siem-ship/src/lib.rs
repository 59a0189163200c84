//! The shipping side of `tracing-siem`: a bounded lock-free queue fed from the application
//! thread, a pipeline thread that drains it in batches, and one route per destination that
//! filters, encodes, batches, sends and retries on its own thread, with every event accounted
//! for as shipped, filtered, spooled or dropped with a reason. A destination may keep what it
//! cannot deliver yet in a disk spool ([`spool`]) that survives restarts.
//!
//! Programs use it through `tracing-siem`, which re-exports the destination settings, the
//! [`Sink`] trait and the delivery reports; the pipeline's parts (`Pipeline`, `EventQueue`,
//! `Processor`, `Destination`) are that crate's internals, public only so that it can
//! assemble them, and hidden from the documentation: they may change in any release.

#![warn(missing_docs)]

mod backoff;
mod config_error;
mod destination;
mod pipeline;
mod queue;
mod secret;
pub mod sink;
pub mod spool;

pub use config_error::ConfigError;
pub use destination::accounting::{Breaker, DestinationMetrics, DropReason};
pub use destination::batch::Batch;
pub use destination::{BatchConfig, RetryConfig};
#[doc(hidden)]
pub use destination::{Destination, EventFilter};
pub use pipeline::{DeliveryReport, PipelineMetrics};
#[doc(hidden)]
pub use pipeline::{Pipeline, PipelineConfig, Processor};
#[doc(hidden)]
pub use queue::{EventQueue, QueueStats};
pub use queue::{OverflowPolicy, Protection};
pub use secret::Secret;
/// Units in configuration (durations, byte sizes): the shared helpers of `siem-event`.
pub use siem_event::units;
pub use sink::{Sink, SinkError};
pub use spool::{FsyncPolicy, SpoolConfig, WhenFull};

thread_local! {
    static PIPELINE_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[doc(hidden)]
/// True on the pipeline's own threads. The layer ignores events logged there (by a sink's
/// dependencies, say), since shipping them would feed the pipeline with itself.
///
/// ```
/// assert!(!siem_ship::on_pipeline_thread());
/// ```
pub fn on_pipeline_thread() -> bool {
    PIPELINE_THREAD.with(std::cell::Cell::get)
}

/// Marks the calling thread as one of the pipeline's, and on Linux makes it a `SCHED_BATCH`
/// thread: the scheduler then never lets it preempt the application thread that woke it, so a
/// wake-up costs the logging call a system call, not the pipeline's whole drain.
pub(crate) fn mark_pipeline_thread() {
    PIPELINE_THREAD.with(|c| c.set(true));
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system call on the calling thread (pid 0) with a valid parameter
        // block; failure (e.g. a seccomp policy) leaves the default policy, which is harmless.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
        }
    }
}
