//! Field capture on the application thread into one compact record.
//!
//! A captured event is one heap allocation in the common case: up to eight fields and 128 bytes
//! of text live inline in the box; more spill to the heap. Nothing is formatted here except what
//! `tracing` gives only as `Debug`/`Display` (the message and `%`/`?` fields), and no lock is taken.

use std::fmt::{self, Write as _};

use siem_event::Timestamp;
use smallvec::SmallVec;
use tracing::field::{Field, Visit};
use tracing::{Level, Metadata};

/// A field value as captured: text is a range into the record's text buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RawValue {
    Str { start: u32, end: u32 },
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// One captured field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawField {
    pub name: &'static str,
    pub value: RawValue,
}

/// Fields and their text, captured from an event or a span.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldSet {
    pub fields: SmallVec<[RawField; 8]>,
    pub text: SmallVec<[u8; 128]>,
}

impl FieldSet {
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    pub fn str_of(&self, value: &RawValue) -> Option<&str> {
        match *value {
            RawValue::Str { start, end } => {
                std::str::from_utf8(&self.text[start as usize..end as usize]).ok()
            }
            _ => None,
        }
    }

    /// The text of a string field.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| self.str_of(v))
    }

    fn set(&mut self, name: &'static str, value: RawValue) {
        // A field recorded twice (span `record`) keeps the latest value.
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(f) => f.value = value,
            None => self.fields.push(RawField { name, value }),
        }
    }

    fn push_text(&mut self, name: &'static str, write: impl FnOnce(&mut TextWriter<'_>)) {
        let start = self.text.len();
        write(&mut TextWriter(&mut self.text));
        let end = self.text.len();
        self.set(
            name,
            RawValue::Str {
                start: start as u32,
                end: end as u32,
            },
        );
    }

    /// Copies the fields of `other` that this set does not have yet (inner values win).
    pub fn inherit(&mut self, other: &FieldSet) {
        for f in &other.fields {
            if self.get(f.name).is_some() {
                continue;
            }
            let value = match f.value {
                RawValue::Str { start, end } => {
                    let s = self.text.len() as u32;
                    self.text
                        .extend_from_slice(&other.text[start as usize..end as usize]);
                    RawValue::Str {
                        start: s,
                        end: self.text.len() as u32,
                    }
                }
                v => v,
            };
            self.fields.push(RawField {
                name: f.name,
                value,
            });
        }
    }
}

struct TextWriter<'a>(&'a mut SmallVec<[u8; 128]>);

impl fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Visit for FieldSet {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), RawValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), RawValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), RawValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.push_text(field.name(), |w| {
                let _ = write!(w, "{value}");
            }),
        }
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        match u64::try_from(value) {
            Ok(v) => self.record_u64(field, v),
            Err(_) => self.push_text(field.name(), |w| {
                let _ = write!(w, "{value}");
            }),
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), RawValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push_text(field.name(), |w| {
            let _ = w.write_str(value);
        });
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push_text(field.name(), |w| {
            let _ = write!(w, "{value}");
        });
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push_text(field.name(), |w| {
            let _ = write!(w, "{value:?}");
        });
    }
}

/// A security-relevant event as captured on the application thread, queued for the pipeline.
#[derive(Debug)]
pub(crate) struct CapturedEvent {
    pub metadata: &'static Metadata<'static>,
    pub timestamp: Timestamp,
    pub fields: FieldSet,
    /// The classifier's choice (an index into its event types) when the event has no
    /// `event_type` field.
    pub classified_as: Option<u16>,
}

impl CapturedEvent {
    pub fn level(&self) -> Level {
        *self.metadata.level()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherit_keeps_inner_values_and_copies_text() {
        let mut outer = FieldSet::default();
        outer.push_text("user", |w| {
            let _ = w.write_str("alice");
        });
        outer.push_text("source_ip", |w| {
            let _ = w.write_str("203.0.113.7");
        });
        let mut inner = FieldSet::default();
        inner.push_text("user", |w| {
            let _ = w.write_str("bob");
        });
        inner.inherit(&outer);
        assert_eq!(inner.get_str("user"), Some("bob"));
        assert_eq!(inner.get_str("source_ip"), Some("203.0.113.7"));
    }

    #[test]
    fn recording_twice_keeps_latest() {
        let mut s = FieldSet::default();
        s.set("n", RawValue::I64(1));
        s.set("n", RawValue::I64(2));
        assert_eq!(s.fields.len(), 1);
        assert_eq!(s.get("n"), Some(&RawValue::I64(2)));
    }
}
