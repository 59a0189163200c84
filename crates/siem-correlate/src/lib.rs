//! # siem-correlate
//!
//! Fleet-wide correlation for tracing-siem: `siem correlate` joins a Kafka consumer group on
//! the topic the Kafka destination writes security events to, and runs the same rules engine
//! as the layer over them, partition by partition, so that every key's windows live in
//! exactly one instance. Start more instances to scale; when one dies, its partitions move
//! and their windows are rebuilt by re-reading the log before the committed offset.
//!
//! - One engine per partition (per slice of the rules), on a clock set from the events'
//!   timestamps, so state moves with the partition.
//! - Alerts go to the configuration's `destinations:` through the facade's
//!   [`SiemRelay`](tracing_siem::SiemRelay); offsets are committed only after the alerts they
//!   caused were shipped. Delivery is at-least-once, and a re-raised alert has the same id
//!   ([`stable_alert_id`]).
//! - Rules grouped by other fields than the partition key are re-keyed through a repartition
//!   topic, as Kafka Streams does ([`tracing_siem::CorrelationPlan`]).
//!
//! See `docs/correlate.md` for the configuration, the guarantees and the metrics.
//!
//! ```no_run
//! let config = tracing_siem::Config::from_yaml_file("correlate.yaml").unwrap();
//! let stop = siem_correlate::stop_on_signals().unwrap();
//! siem_correlate::Correlator::start(config).unwrap().run(&stop).unwrap();
//! ```

#![warn(missing_docs)]

mod alert_id;
mod error;
mod metrics;
mod partition;
mod repartition;
mod service;
mod warmup;

pub use alert_id::stable_alert_id;
pub use error::CorrelateError;
pub use service::Correlator;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A flag set on the first SIGTERM or SIGINT, for [`Correlator::run`]: the correlator then
/// finishes its batch, ships it, commits it and leaves the group. A second signal ends the
/// process at once. Unix only.
///
/// ```no_run
/// let stop = siem_correlate::stop_on_signals().unwrap();
/// assert!(!stop.load(std::sync::atomic::Ordering::Relaxed));
/// ```
#[cfg(unix)]
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT] {
        // The second signal, with the flag already set, exits (as the default action would).
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}
