//! Destinations: what the pipeline hands events to. Each destination runs on two threads of its
//! own, one that encodes and batches (`batching`) and one that sends and retries (`delivery`),
//! behind a `Route` (`route`), the pipeline's handle on it that filters and queues; so a slow or
//! dead destination never delays another one or the application. Every event is accounted for
//! (`accounting`). A destination may have a disk spool (`crate::spool`) between its two
//! threads. `config` holds the policies, `chunk` the shared event chunks, `batch` the
//! encoded records a sink receives.

pub(crate) mod accounting;
pub(crate) mod batch;
pub(crate) mod batching;
pub(crate) mod chunk;
pub(crate) mod config;
pub(crate) mod delivery;
pub(crate) mod route;

use siem_event::Severity;
use siem_format::Encoder;

pub use config::{BatchConfig, EventFilter, RetryConfig};

use crate::spool::SpoolConfig;
use crate::Sink;

/// Everything a destination needs: a name, a filter, an encoder, a sink and its policies.
///
/// ```
/// use siem_ship::{Batch, Destination, Sink, SinkError};
/// use siem_format::Encoder;
/// use siem_event::SecurityEvent;
///
/// struct Msg;
/// impl Encoder for Msg {
///     fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) { out.extend_from_slice(e.message.as_bytes()) }
/// }
/// struct Null;
/// impl Sink for Null {
///     fn kind(&self) -> &'static str { "null" }
///     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
/// }
/// let d = Destination::new("audit", Box::new(Msg), Box::new(Null))
///     .with_filter(Box::new(|e: &SecurityEvent| e.event_type.category() == "auth"));
/// assert_eq!(d.name(), "audit");
/// ```
pub struct Destination {
    name: String,
    filter: Option<EventFilter>,
    encoder: Box<dyn Encoder>,
    sink: Box<dyn Sink>,
    batch: BatchConfig,
    retry: RetryConfig,
    queue_capacity: usize,
    spool: Option<SpoolConfig>,
    reserve: Option<Reserve>,
}

/// Places of a destination's queue kept for events at or above a severity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reserve {
    pub min_severity: Severity,
    pub places: usize,
}

impl Destination {
    /// A destination with default batching, retry and a queue of 10 000 events.
    pub fn new(name: impl Into<String>, encoder: Box<dyn Encoder>, sink: Box<dyn Sink>) -> Self {
        Destination {
            name: name.into(),
            filter: None,
            encoder,
            sink,
            batch: BatchConfig::default(),
            retry: RetryConfig::default(),
            queue_capacity: 10_000,
            spool: None,
            reserve: None,
        }
    }

    /// Only events the filter accepts are sent here; the others are counted as filtered.
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Batching policy.
    pub fn with_batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }

    /// Retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Capacity of this destination's own queue.
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Keeps the last `places` of this destination's queue for events at or above
    /// `min_severity`: lower events are dropped (`destination_queue_full`) once the rest is
    /// taken, so a flood of them cannot crowd out an attack signal. A protected event that finds
    /// even the reserve full is dropped too — it does not wait, since the pipeline thread that
    /// would wait serves every destination (with the blocking overflow policy every event waits
    /// for room alike). At most the capacity minus one.
    ///
    /// ```
    /// use siem_event::{SecurityEvent, Severity};
    /// use siem_ship::{Batch, Destination, Sink, SinkError};
    /// # struct Msg;
    /// # impl siem_format::Encoder for Msg {
    /// #     fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) { out.extend_from_slice(e.message.as_bytes()) }
    /// # }
    /// # struct Null;
    /// # impl Sink for Null {
    /// #     fn kind(&self) -> &'static str { "null" }
    /// #     fn send(&mut self, _: &Batch) -> Result<(), SinkError> { Ok(()) }
    /// # }
    /// let d = Destination::new("siem", Box::new(Msg), Box::new(Null))
    ///     .with_queue_capacity(10_000)
    ///     .with_reserve(Severity::High, 1_000);
    /// ```
    pub fn with_reserve(mut self, min_severity: Severity, places: usize) -> Self {
        self.reserve = Some(Reserve {
            min_severity,
            places,
        });
        self
    }

    /// Gives the destination a disk spool: batches it cannot deliver right away wait there,
    /// and a restart over the same directory sends them first. The directory is opened (and
    /// locked) when the pipeline starts.
    pub fn with_spool(mut self, spool: SpoolConfig) -> Self {
        self.spool = Some(spool);
        self
    }

    /// The destination's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
