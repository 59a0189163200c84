//! The security event model shared by every `tracing-siem` crate.
//!
//! A [`SecurityEvent`] is what the `SiemLayer` makes of a `tracing` event that is security
//! relevant: a dotted [`EventType`] (`auth.failure`), a [`Severity`], an [`Outcome`], who acted
//! ([`Actor`]) on what ([`Target`]), tenancy, correlation, compliance tags and every other field as
//! typed metadata ([`Value`]). Encoders (`siem-format`), the rules engine (`siem-rules`) and the
//! shipping pipeline (`siem-ship`) all work on this one type. This crate has no `tracing`
//! dependency.
//!
//! ```
//! use siem_event::{EventType, Outcome, SecurityEvent, Severity};
//!
//! let mut event = SecurityEvent::new(EventType::parse("authentication_failure"), "Failed login");
//! event.severity = Severity::High;
//! event.outcome = Outcome::Failure;
//! event.actor.user = Some("alice".into());
//! assert_eq!(event.event_type.as_str(), "auth.failure");
//! assert_eq!(event.event_type.original(), "authentication_failure");
//! ```

#![warn(missing_docs)]

mod compliance;
mod event;
mod event_type;
mod field_lookup;
mod id;
mod outcome;
mod severity;
mod time;
pub mod units;
mod value;
pub mod vocabulary;

pub use compliance::Compliance;
pub use event::{Actor, SecurityEvent, Target};
pub use event_type::EventType;
pub use field_lookup::resolve_field;
pub use field_lookup::FieldRef;
pub use id::EventId;
pub use outcome::Outcome;
pub use severity::{ParseSeverityError, Severity};
pub use time::{ParseTimestampError, Timestamp};
pub use value::{Field, Value};
pub use vocabulary::WellKnownField;
