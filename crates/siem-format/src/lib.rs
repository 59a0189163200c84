//! Wire formats for security events.
//!
//! An [`Encoder`] appends one encoded record for a [`SecurityEvent`] to a reused byte buffer,
//! with no framing and no trailing newline: the sink adds what its transport needs.

use siem_event::SecurityEvent;

/// Turns security events into one wire format.
///
/// Encoders are immutable after construction and shared across threads.
pub trait Encoder: Send + Sync {
    /// Appends the encoded event to `out` (no trailing newline or framing).
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>);
}
