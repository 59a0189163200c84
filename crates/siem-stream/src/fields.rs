//! Reading a record's fields back: the message key, topic, subject and headers are taken from
//! the event each record encodes.
//!
//! The pipeline hands destinations encoded bytes (possibly read back from the disk spool), not
//! events, so a streaming sink decodes each canonical-JSON record with
//! [`siem_format::decode_json`] and asks the event for its fields by the names rules use
//! ([`SecurityEvent::field`]): `tenant`, `source_ip`, `user`, any synonym or metadata name.

use std::borrow::Cow;

use siem_event::SecurityEvent;
use siem_format::{decode_json, Format};

/// The fields of one record: the event it encodes when it is canonical JSON, nothing otherwise.
///
/// ```
/// use siem_stream::RecordFields;
/// let record = br#"{"event_type":"auth.failure","message":"Failed login","user":"alice","source_ip":"10.0.0.1"}"#;
/// let fields = RecordFields::read(record);
/// assert_eq!(fields.event_type(), Some("auth.failure"));
/// assert_eq!(fields.text("client_ip").as_deref(), Some("10.0.0.1"));
/// assert_eq!(fields.text("tenant"), None);
/// assert!(RecordFields::read(b"CEF:0|...").event_id().is_none());
/// ```
#[derive(Debug, Default)]
pub struct RecordFields {
    event: Option<SecurityEvent>,
}

impl RecordFields {
    /// Decodes `record`; a record that is not a canonical-JSON event has no fields.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(b"not json");
    /// assert!(f.event_type().is_none() && f.text("user").is_none());
    /// ```
    pub fn read(record: &[u8]) -> RecordFields {
        RecordFields {
            event: decode_json(record).ok(),
        }
    }

    /// The event's id, as text.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","event_type":"auth.failure"}"#);
    /// assert_eq!(f.event_id().as_deref(), Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"));
    /// ```
    pub fn event_id(&self) -> Option<String> {
        self.event.as_ref().map(|e| e.id.to_string())
    }

    /// The dotted event type (`auth.failure`).
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"event_type":"authz.access_denied"}"#);
    /// assert_eq!(f.event_type(), Some("authz.access_denied"));
    /// ```
    pub fn event_type(&self) -> Option<&str> {
        self.event.as_ref().map(|e| e.event_type.as_str())
    }

    /// The field a rule means by `name`, as text; `None` when the record has no such field or
    /// it is empty.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":"acme"}"#);
    /// assert_eq!(f.text("tenant").as_deref(), Some("acme"));
    /// ```
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        let text = self.event.as_ref()?.field(name)?.into_text();
        (!text.is_empty()).then_some(text)
    }
}

/// Why a destination whose settings read fields from records cannot carry `format`: only
/// canonical JSON is read back.
pub(crate) fn readable(format: Format, needs: &str) -> Result<(), String> {
    if format == Format::Json {
        return Ok(());
    }
    Err(format!(
        "{needs} read fields from each record, and only canonical JSON records are read back: \
         use `format: json` (the default), or settings that read no field"
    ))
}
