//! What the pipeline thread does with each queued item: the one piece of the pipeline the
//! facade supplies.

use siem_event::{SecurityEvent, Timestamp};

/// Turns what the application thread queued into security events, on the pipeline thread.
///
/// The facade's processor builds the [`SecurityEvent`] from captured fields and runs the
/// rules engine, which may add alert events. Everything pushed to `out` is routed.
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_ship::Processor;
///
/// struct Messages;
/// impl Processor<String> for Messages {
///     fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
///         out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
///     }
/// }
/// let mut out = Vec::new();
/// Messages.process("Failed login".to_owned(), &mut out);
/// assert_eq!(out[0].message, "Failed login");
/// ```
pub trait Processor<T>: Send + 'static {
    /// Converts one queued item; pushes zero or more events to `out`.
    fn process(&mut self, item: T, out: &mut Vec<SecurityEvent>);

    /// Called about every tick with the current time, for time-driven work (e.g. expiring
    /// rule state); may push events too.
    fn tick(&mut self, _now: Timestamp, _out: &mut Vec<SecurityEvent>) {}

    /// Completes an event the pipeline made itself (the `siem.events_dropped` report) the way
    /// processed events are completed — host, application, static labels — so that it reaches
    /// the SIEM looking like every other event.
    fn complete(&mut self, _event: &mut SecurityEvent) {}
}
