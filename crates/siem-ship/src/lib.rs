//! The shipping side of `tracing-siem`: a bounded lock-free queue fed from the application
//! thread, a pipeline thread that drains it in batches, and one route per destination that
//! filters, encodes, batches, sends and retries, with every event accounted for.

mod batch;
pub mod sink;
pub mod units;

pub use batch::Batch;
pub use sink::{Sink, SinkError};
