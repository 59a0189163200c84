//! Wire formats for security events.
//!
//! An [`Encoder`] appends one encoded record for a [`SecurityEvent`] to a reused byte buffer,
//! with no framing and no trailing newline: the sink adds what its transport needs.
//!
//! - [`JsonEncoder`]: the canonical JSON shape (documented field by field in [`json`]), read back
//!   by [`decode_json`].

use siem_event::SecurityEvent;

mod decode;
pub mod json;
mod json_writer;

pub use decode::{decode_json, DecodeError};
pub use json::JsonEncoder;

/// The default vendor named in headers and `_siem` blocks.
pub const DEFAULT_VENDOR: &str = "tracing-siem";
/// The default product named in headers and `_siem` blocks.
pub const DEFAULT_PRODUCT: &str = "tracing-siem";
/// The default product version: this crate's version.
pub const DEFAULT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Turns security events into one wire format.
///
/// Encoders are immutable after construction and shared across threads.
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_format::{Encoder, JsonEncoder};
/// let encoder: Box<dyn Encoder> = Box::new(JsonEncoder::default());
/// let mut out = Vec::new();
/// encoder.encode(&SecurityEvent::new(EventType::parse("auth.success"), "ok"), &mut out);
/// assert!(out.starts_with(b"{") && !out.ends_with(b"\n"));
/// ```
pub trait Encoder: Send + Sync {
    /// Appends the encoded event to `out` (no trailing newline or framing).
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>);
}
