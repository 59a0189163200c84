//! Wire formats for security events: every format a SIEM parses natively, written so that no
//! field value can forge another field or another record.
//!
//! An [`Encoder`] appends one encoded record for a [`SecurityEvent`] to a reused byte buffer,
//! with no framing and no trailing newline: the sink adds what its transport needs. Every
//! encoder writes exactly one line that displays as what it holds: no format lets a control
//! character (CR, LF, NEL, …), a Unicode line or paragraph separator (U+2028, U+2029) or a
//! bidirectional control (U+202E, …) through raw. JSON formats escape them as `\uXXXX`; the
//! line formats, which have no escape for them, write a space.
//!
//! | format | encoder | module (mapping and escaping rules) |
//! |--------|---------|-------------------------------------|
//! | canonical JSON | [`JsonEncoder`] | [`json`] (the shape, field by field), read back by [`decode_json`] |
//! | ECS 8.11 | [`EcsEncoder`] | [`ecs`] |
//! | OCSF 1.2.0 | [`OcsfEncoder`] | [`ocsf`] |
//! | CEF | [`CefEncoder`] | [`cef`] |
//! | LEEF 1.0 / 2.0 | [`LeefEncoder`] | [`leef`] |
//! | RFC 5424 syslog | [`Rfc5424Encoder`] | [`rfc5424`] |
//! | RFC 3164 syslog (lossy) | [`Rfc3164Encoder`] | [`rfc3164`] |
//! | Splunk HEC envelope | [`HecEncoder`] | [`hec`] |
//!
//! Configuration names a [`Format`] and gives [`FormatOptions`]; [`build_encoder`] checks them
//! and returns the encoder:
//!
//! ```
//! use siem_event::{EventType, SecurityEvent};
//! use siem_format::{build_encoder, Format, FormatOptions};
//!
//! let encoder = build_encoder("cef".parse::<Format>().unwrap(), &FormatOptions::default()).unwrap();
//! let mut out = Vec::new();
//! encoder.encode(&SecurityEvent::new(EventType::parse("auth.failure"), "Failed login"), &mut out);
//! assert!(out.starts_with(b"CEF:0|tracing-siem|tracing-siem|"));
//! ```
//!
//! # Proof that nothing can be forged
//!
//! - `tests/line_properties.rs`: for arbitrary field values (`|`, `=`, `\`, `"`, `]`, CR, LF,
//!   NUL, tabs, NEL, U+2028, U+2029, bidi controls, lossy-decoded invalid UTF-8, 1 MB strings)
//!   each output parses with an independent parser (a strict CEF and LEEF parser written from
//!   the specifications in `tests/common/parsers.rs`, `syslog_rfc5424`, `syslog_loose`,
//!   `serde_json`) into exactly one record whose fields equal the input after the documented
//!   escaping and truncation, and no output holds an unsafe character raw.
//! - `tests/hostile_shapes.rs`: ten thousand metadata fields, a thirty-thousand-member JSON
//!   line: linear time.
//! - `tests/golden_seeds.rs`: seed 000's CEF, LEEF, syslog and JSON examples, seed 003's JSON.
//! - `fuzz/`: a cargo-fuzz target per encoder and for [`decode_json`]. Short run (CI):
//!   `crates/siem-format/fuzz/run.sh 20`; long run: `crates/siem-format/fuzz/run.sh 3600`
//!   (seconds per target; needs no nightly toolchain, the script sets `RUSTC_BOOTSTRAP=1`).

#![warn(missing_docs)]

use siem_event::SecurityEvent;

mod body;
mod build;
pub mod cef;
mod decode;
pub mod ecs;
mod format;
pub mod hec;
pub mod json;
mod json_writer;
mod keys;
pub mod leef;
pub mod ocsf;
mod options;
pub mod rfc3164;
pub mod rfc5424;
mod seen;
mod text;
#[doc(hidden)]
pub mod time_cache;

pub use build::build_encoder;
pub use cef::CefEncoder;
pub use decode::{decode_json, DecodeError};
pub use ecs::EcsEncoder;
pub use format::{Format, FormatError};
pub use hec::HecEncoder;
pub use json::JsonEncoder;
pub use leef::LeefEncoder;
pub use ocsf::OcsfEncoder;
pub use options::{BodyFormat, FacilitySetting, FormatOptions, HecEventFormat, SignatureName};
pub use rfc3164::Rfc3164Encoder;
pub use rfc5424::Rfc5424Encoder;

/// The default vendor named in headers and `_siem` blocks.
/// ```
/// assert_eq!(siem_format::DEFAULT_VENDOR, "tracing-siem");
/// ```
pub const DEFAULT_VENDOR: &str = "tracing-siem";
/// The default product named in headers and `_siem` blocks.
/// ```
/// assert_eq!(siem_format::DEFAULT_PRODUCT, "tracing-siem");
/// ```
pub const DEFAULT_PRODUCT: &str = "tracing-siem";
/// The default product version: this crate's version.
/// ```
/// assert_eq!(siem_format::DEFAULT_VERSION, env!("CARGO_PKG_VERSION"));
/// ```
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
