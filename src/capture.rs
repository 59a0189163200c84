//! Field capture on the application thread into one compact record.
//!
//! A captured event is one heap allocation in the common case: up to eight fields and 128 bytes
//! of text live inline in the box; more spill to the heap. Nothing is formatted here except what
//! `tracing` gives only as `Debug`/`Display` (the message and `%`/`?` fields), and no lock is taken.

use std::fmt::{self, Write as _};

use crossbeam_queue::ArrayQueue;
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

/// Caps on what one event captures, so that one event (a 1 MB field, a huge `Debug` value,
/// thousands of fields from deeply nested spans) cannot make the queue hold unbounded memory or
/// cost the logging thread unbounded time: a full default queue holds at most
/// `capacity × max_event_bytes` of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest text kept for one field.
    pub field: usize,
    /// Longest text kept for one event, all fields (with inherited span fields) together.
    pub total: usize,
    /// Most fields kept for one event, its own and inherited ones together.
    pub fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            field: 8 * 1024,
            total: 16 * 1024,
            fields: 128,
        }
    }
}

/// Fields and their text, captured from an event or a span.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldSet {
    pub fields: SmallVec<[RawField; 8]>,
    pub text: SmallVec<[u8; 128]>,
    pub limits: Limits,
    /// Set when some text was cut or some field left out to fit the limits.
    pub truncated: bool,
}

impl FieldSet {
    pub fn new(limits: Limits) -> FieldSet {
        FieldSet {
            limits,
            ..FieldSet::default()
        }
    }

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

    /// Where a field named `name` goes: the index of its earlier value (a field recorded twice,
    /// by a span's `record`, keeps the latest value), or the end when there is room; `None`
    /// when the set is full, which marks it truncated. The cap on the count also bounds the
    /// cost of this lookup.
    fn slot(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.fields.iter().position(|f| f.name == name) {
            return Some(i);
        }
        if self.fields.len() >= self.limits.fields {
            self.truncated = true;
            return None;
        }
        Some(self.fields.len())
    }

    /// Stores `value` at a slot given by [`FieldSet::slot`].
    fn put(&mut self, slot: usize, name: &'static str, value: RawValue) {
        match self.fields.get_mut(slot) {
            Some(f) => f.value = value,
            None => self.fields.push(RawField { name, value }),
        }
    }

    fn set(&mut self, name: &'static str, value: RawValue) {
        if let Some(slot) = self.slot(name) {
            self.put(slot, name, value);
        }
    }

    /// Empties the set for reuse, keeping its inline storage.
    fn reset(&mut self, limits: Limits) {
        self.fields.clear();
        self.text.clear();
        self.limits = limits;
        self.truncated = false;
    }

    /// The room left for one more field's text.
    fn budget(&self) -> usize {
        self.limits
            .field
            .min(self.limits.total.saturating_sub(self.text.len()))
    }

    /// Appends what `write` writes, within the budget, and returns its range.
    fn append_text(&mut self, write: impl FnOnce(&mut TextWriter<'_>)) -> RawValue {
        let start = self.text.len();
        let budget = self.budget();
        write(&mut TextWriter {
            buf: &mut self.text,
            budget,
            truncated: &mut self.truncated,
        });
        RawValue::Str {
            start: start as u32,
            end: self.text.len() as u32,
        }
    }

    fn push_text(&mut self, name: &'static str, write: impl FnOnce(&mut TextWriter<'_>)) {
        if let Some(slot) = self.slot(name) {
            let value = self.append_text(write);
            self.put(slot, name, value);
        }
    }

    /// Copies the fields of `other` that this set does not have yet (inner values win), as
    /// many as the field limit leaves room for.
    pub fn inherit(&mut self, other: &FieldSet) {
        for f in &other.fields {
            if self.truncated && self.fields.len() >= self.limits.fields {
                // Full, and the loss is marked: nothing more can change.
                return;
            }
            let Some(slot) = self.slot(f.name) else {
                continue;
            };
            if slot < self.fields.len() {
                continue;
            }
            let value = match f.value {
                RawValue::Str { start, end } => {
                    let text = std::str::from_utf8(&other.text[start as usize..end as usize])
                        .unwrap_or_default();
                    self.append_text(|w| w.append(text))
                }
                v => v,
            };
            self.put(slot, f.name, value);
        }
    }
}

/// Appends text up to a byte budget, cutting on a character boundary.
struct TextWriter<'a> {
    buf: &'a mut SmallVec<[u8; 128]>,
    budget: usize,
    truncated: &'a mut bool,
}

impl TextWriter<'_> {
    fn append(&mut self, s: &str) {
        if s.len() <= self.budget {
            self.buf.extend_from_slice(s.as_bytes());
            self.budget -= s.len();
        } else {
            let mut cut = self.budget;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf.extend_from_slice(&s.as_bytes()[..cut]);
            self.budget = 0;
            *self.truncated = true;
        }
    }
}

impl fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.append(s);
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
    /// Whether the event itself (not a span around it) has an `event_type` field; otherwise
    /// the pipeline thread's classifier decides whether it is a security event.
    pub explicit_type: bool,
}

impl CapturedEvent {
    pub fn level(&self) -> Level {
        *self.metadata.level()
    }
}

/// Emptied records handed back by the pipeline thread for the application threads to reuse.
///
/// Without it every security event costs the logging thread a `malloc` that the pipeline
/// thread `free`s — a cross-thread pattern that sends the allocator down its slow path — and a
/// copy of the record from the stack into the box.
pub(crate) struct Recycler {
    free: ArrayQueue<Box<CapturedEvent>>,
}

/// Records whose text spilled beyond this are not kept: the pool must not pin large buffers.
const MAX_KEPT_TEXT: usize = 4096;

impl Recycler {
    pub fn new(capacity: usize) -> Recycler {
        Recycler {
            free: ArrayQueue::new(capacity.max(1)),
        }
    }

    /// A record for an event of this callsite, reused when one is free, stamped now.
    pub fn take(&self, metadata: &'static Metadata<'static>, limits: Limits) -> Box<CapturedEvent> {
        match self.free.pop() {
            Some(mut record) => {
                record.metadata = metadata;
                record.timestamp = Timestamp::now();
                record.fields.reset(limits);
                record.explicit_type = false;
                record
            }
            None => Box::new(CapturedEvent {
                metadata,
                timestamp: Timestamp::now(),
                fields: FieldSet::new(limits),
                explicit_type: false,
            }),
        }
    }

    /// Returns a record for reuse (dropped instead when the pool is full or it grew large).
    pub fn give_back(&self, record: Box<CapturedEvent>) {
        if record.fields.text.capacity() <= MAX_KEPT_TEXT && !record.fields.fields.spilled() {
            let _ = self.free.push(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherit_keeps_inner_values_and_copies_text() {
        let mut outer = FieldSet::default();
        outer.push_text("user", |w| w.append("alice"));
        outer.push_text("source_ip", |w| w.append("203.0.113.7"));
        let mut inner = FieldSet::default();
        inner.push_text("user", |w| w.append("bob"));
        inner.inherit(&outer);
        assert_eq!(inner.get_str("user"), Some("bob"));
        assert_eq!(inner.get_str("source_ip"), Some("203.0.113.7"));
    }

    #[test]
    fn text_is_capped_per_field_and_per_event_on_char_boundaries() {
        let mut s = FieldSet::new(Limits {
            field: 5,
            total: 8,
            ..Limits::default()
        });
        s.push_text("a", |w| w.append("héllo world"));
        assert_eq!(
            s.get_str("a"),
            Some("héll"),
            "é is two bytes: cut before the boundary"
        );
        assert!(s.truncated);
        s.push_text("b", |w| w.append("12345"));
        assert_eq!(s.get_str("b"), Some("123"));
        s.push_text("c", |w| w.append("x"));
        assert_eq!(s.get_str("c"), Some(""));
        assert!(s.text.len() <= 8);
        let mut span = FieldSet::new(Limits::default());
        span.push_text("user", |w| w.append("alice"));
        let mut full = FieldSet::new(Limits {
            field: 100,
            total: 2,
            ..Limits::default()
        });
        full.inherit(&span);
        assert_eq!(full.get_str("user"), Some("al"));
    }

    fn metadata() -> &'static Metadata<'static> {
        use tracing::callsite::Callsite;
        let callsite = tracing::callsite! {
            name: "test",
            kind: tracing::metadata::Kind::EVENT,
            level: tracing::Level::WARN,
            fields: []
        };
        callsite.metadata()
    }

    #[test]
    fn recycled_records_come_back_empty() {
        let r = Recycler::new(2);
        let mut a = r.take(metadata(), Limits::default());
        a.fields.push_text("user", |w| w.append("alice"));
        a.fields.truncated = true;
        a.explicit_type = true;
        let ptr = &*a as *const CapturedEvent;
        r.give_back(a);
        let b = r.take(metadata(), Limits::default());
        assert_eq!(
            &*b as *const CapturedEvent, ptr,
            "the same allocation is reused"
        );
        assert!(b.fields.fields.is_empty() && b.fields.text.is_empty());
        assert!(!b.fields.truncated && !b.explicit_type);
        let big_limits = Limits {
            field: 1 << 20,
            total: 1 << 20,
            ..Limits::default()
        };
        let mut big = r.take(metadata(), big_limits);
        big.fields
            .push_text("blob", |w| w.append(&"x".repeat(MAX_KEPT_TEXT * 2)));
        r.give_back(big);
        assert!(r.free.is_empty(), "a record that grew large is not kept");
    }

    #[test]
    fn the_field_cap_keeps_the_first_fields_and_marks_the_loss() {
        let limits = Limits {
            fields: 3,
            ..Limits::default()
        };
        let mut s = FieldSet::new(limits);
        s.set("a", RawValue::I64(1));
        s.push_text("b", |w| w.append("bee"));
        s.set("a", RawValue::I64(2));
        assert!(!s.truncated, "recording a field again takes no room");
        let mut span = FieldSet::new(Limits::default());
        span.push_text("b", |w| w.append("outer"));
        span.push_text("c", |w| w.append("sea"));
        s.inherit(&span);
        assert!(!s.truncated, "the third field fits");
        s.push_text("d", |w| w.append("dropped"));
        s.set("e", RawValue::Bool(true));
        assert!(s.truncated);
        assert_eq!(s.get("a"), Some(&RawValue::I64(2)));
        assert_eq!(s.get_str("b"), Some("bee"));
        assert_eq!(s.get_str("c"), Some("sea"));
        assert_eq!((s.get("d"), s.get("e")), (None, None));
        assert_eq!(
            s.text.as_slice(),
            b"beesea",
            "no text is kept for a dropped field"
        );

        let mut full = FieldSet::new(limits);
        full.inherit(&span);
        full.set("x", RawValue::I64(0));
        assert!(!full.truncated);
        full.inherit(&span);
        assert!(
            !full.truncated,
            "an outer span repeating kept names loses nothing"
        );
        let mut other = FieldSet::new(Limits::default());
        other.set("y", RawValue::I64(0));
        full.inherit(&other);
        assert!(full.truncated);
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
