//! Reading a record's fields back: the message key, topic, subject and headers are taken from
//! the event each record encodes.
//!
//! The pipeline hands destinations encoded bytes (possibly read back from the disk spool), not
//! events. A record in the canonical JSON shape ([`siem_format::JsonEncoder`]'s output) is
//! scanned, not decoded: one pass of `serde_json` over the record, strings borrowed from it,
//! each well-known field taken from the member the encoder writes it to
//! ([`siem_format::json::text_member`]) and every name answered in the order
//! [`SecurityEvent::field`] answers it ([`siem_event::resolve_field`]). Anything else — flat
//! seed-style JSON, a member of an unexpected type, a repeated name — is decoded completely with
//! [`siem_format::decode_json`], as are the few fields the decoder normalises (severity,
//! outcome, timestamp, original event type, host, app), so every answer is the one the decoded
//! event gives.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use siem_event::{
    resolve_field, EventId, EventType, SecurityEvent, Timestamp, Value, WellKnownField,
};
use siem_format::{decode_json, json::text_member, Format};

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
pub struct RecordFields<'a> {
    read: Read<'a>,
}

// One per record, read and dropped on the stack: boxing the large variant would cost an
// allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
enum Read<'a> {
    /// Not a JSON event.
    #[default]
    Unreadable,
    /// The canonical shape, scanned.
    Scanned(Scanned<'a>),
    /// Any other JSON event, decoded; `has_id` says whether the record named its id (the
    /// decoder makes one up otherwise).
    Decoded { event: SecurityEvent, has_id: bool },
}

impl<'a> RecordFields<'a> {
    /// Reads `record`; a record that is not a JSON event has no fields.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(b"not json");
    /// assert!(f.event_type().is_none() && f.text("user").is_none());
    /// ```
    pub fn read(record: &'a [u8]) -> RecordFields<'a> {
        let read = match Scanned::scan(record) {
            Some(scanned) => Read::Scanned(scanned),
            None => match decode_json(record) {
                Ok(event) => Read::Decoded {
                    event,
                    has_id: names_an_id(record),
                },
                Err(_) => Read::Unreadable,
            },
        };
        RecordFields { read }
    }

    /// The event's id, as text; `None` when the record names none.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","event_type":"auth.failure"}"#);
    /// assert_eq!(f.event_id().as_deref(), Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"));
    /// assert_eq!(siem_stream::RecordFields::read(br#"{"event_type":"auth.failure"}"#).event_id(), None);
    /// ```
    pub fn event_id(&self) -> Option<String> {
        match &self.read {
            Read::Unreadable => None,
            Read::Scanned(s) => s.id.map(|id| id.to_string()),
            Read::Decoded { event, has_id } => has_id.then(|| event.id.to_string()),
        }
    }

    /// The dotted event type (`auth.failure`).
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"event_type":"authz.access_denied"}"#);
    /// assert_eq!(f.event_type(), Some("authz.access_denied"));
    /// ```
    pub fn event_type(&self) -> Option<&str> {
        match &self.read {
            Read::Unreadable => None,
            Read::Scanned(s) => Some(s.event_type.as_str()),
            Read::Decoded { event, .. } => Some(event.event_type.as_str()),
        }
    }

    /// The field a rule means by `name`, as text; `None` when the record has no such field or
    /// it is empty.
    ///
    /// ```
    /// let f = siem_stream::RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":"acme"}"#);
    /// assert_eq!(f.text("tenant").as_deref(), Some("acme"));
    /// ```
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        let text = match &self.read {
            Read::Unreadable => None,
            Read::Scanned(s) => s.text(name),
            Read::Decoded { event, .. } => event.field_text(name),
        }?;
        (!text.is_empty()).then_some(text)
    }
}

/// What a scan of a canonical record found.
struct Scanned<'a> {
    record: &'a [u8],
    id: Option<EventId>,
    event_type: EventType,
    /// The text of each field [`text_member`] places, by [`WellKnownField`] index.
    texts: [Option<Cow<'a, str>>; WellKnownField::ALL.len()],
    /// The `metadata` object's members, then the labels, in record order (as the decoder keeps
    /// them).
    metadata: Vec<(Cow<'a, str>, Scalar<'a>)>,
    /// The record decoded completely, for the fields the decoder normalises.
    decoded: OnceCell<Option<SecurityEvent>>,
}

impl fmt::Debug for Scanned<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanned")
            .field("id", &self.id)
            .field("event_type", &self.event_type.as_str())
            .finish_non_exhaustive()
    }
}

/// A metadata value or label: the decoder keeps these typed.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Typed(Value),
}

/// Which object a member of the canonical shape sits in.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Top,
    Actor,
    Target,
    Outcome,
}

impl Place {
    fn name(self) -> Option<&'static str> {
        match self {
            Place::Top => None,
            Place::Actor => Some("actor"),
            Place::Target => Some("target"),
            Place::Outcome => Some("outcome"),
        }
    }
}

/// The well-known field whose text the canonical JSON writes at member `member` of `place`.
fn field_at(place: Place, member: &str) -> Option<WellKnownField> {
    static PLACES: OnceLock<Vec<(&'static [&'static str], WellKnownField)>> = OnceLock::new();
    let places = PLACES.get_or_init(|| {
        WellKnownField::ALL
            .iter()
            .filter_map(|&f| text_member(f).map(|path| (path, f)))
            .collect()
    });
    places
        .iter()
        .find(|(path, _)| match (place.name(), *path) {
            (None, [m]) => *m == member,
            (Some(object), [o, m]) => *o == object && *m == member,
            _ => false,
        })
        .map(|&(_, f)| f)
}

impl<'a> Scanned<'a> {
    /// The fields of a record in the canonical shape; `None` when it is not JSON or any member
    /// is not as the encoder writes it, so that the decoder has to judge the record.
    fn scan(record: &'a [u8]) -> Option<Scanned<'a>> {
        let mut found = Found::default();
        let mut json = serde_json::Deserializer::from_slice(record);
        Top(&mut found).deserialize(&mut json).ok()?;
        json.end().ok()?;
        // Without `event_type` the decoder looks for `type`; a type not in canonical form is
        // mapped again, which may depend on the outcome.
        let given = found.event_type?;
        let event_type = EventType::parse(&given);
        if event_type.as_str() != given {
            return None;
        }
        Some(Scanned {
            record,
            id: found.id,
            event_type,
            texts: found.texts,
            metadata: found.metadata,
            decoded: OnceCell::new(),
        })
    }

    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        resolve_field(
            name,
            |f| self.known(f),
            |_| None,
            |name| self.metadata(name),
        )
    }

    /// A well-known field's own value, as [`SecurityEvent::field`] gives it.
    fn known(&self, field: WellKnownField) -> Option<Cow<'_, str>> {
        use WellKnownField as F;
        match field {
            F::EventType => Some(Cow::Borrowed(self.event_type.as_str())),
            F::Category => Some(Cow::Borrowed(self.event_type.category())),
            // The decoded event's message is empty when the record has none.
            F::Message => Some(self.texts[field as usize].as_deref().unwrap_or("").into()),
            f if text_member(f).is_some() => self.texts[f as usize].as_deref().map(Cow::Borrowed),
            // Normalised by the decoder; always present on a decoded event, so the name is
            // answered by the event's own field.
            f => self
                .decoded
                .get_or_init(|| decode_json(self.record).ok())
                .as_ref()?
                .field_text(f.canonical_name()),
        }
    }

    fn metadata(&self, name: &str) -> Option<Cow<'_, str>> {
        self.metadata
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| match v {
                Scalar::Text(s) => Cow::Borrowed(s.as_ref()),
                Scalar::Typed(v) => v.to_text(),
            })
    }
}

/// What the scan has read so far.
#[derive(Default)]
struct Found<'a> {
    id: Option<EventId>,
    event_type: Option<Cow<'a, str>>,
    texts: [Option<Cow<'a, str>>; WellKnownField::ALL.len()],
    metadata: Vec<(Cow<'a, str>, Scalar<'a>)>,
    /// Top-level members met, by [`Found::member_bit`], and the labels' names: the decoder
    /// refuses a record that repeats a top-level name.
    members: u64,
    labels: Vec<Cow<'a, str>>,
}

/// Top-level members the scan reads for itself rather than as a field of [`text_member`].
const SHAPE: &[&str] = &[
    "id",
    "event_type",
    "event_type_original",
    "category",
    "severity",
    "timestamp",
    "actor",
    "target",
    "outcome",
    "metadata",
    "compliance",
    "_siem",
];

impl<'a> Found<'a> {
    /// Notes top-level member `bit`; false when it was met before.
    fn first(&mut self, bit: usize) -> bool {
        let mask = 1u64 << bit;
        let first = self.members & mask == 0;
        self.members |= mask;
        first
    }

    /// Keeps a metadata member or label (`None`, a `null`, is left out as the decoder does).
    fn keep(&mut self, name: Cow<'a, str>, value: Option<Scalar<'a>>) {
        if let Some(value) = value {
            self.metadata.push((name, value));
        }
    }
}

/// Why the scan hands a record to the decoder.
fn not_canonical<E: serde::de::Error>(what: &str) -> E {
    E::custom(format_args!("not the canonical shape: {what}"))
}

/// The top-level object.
struct Top<'s, 'a>(&'s mut Found<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let found = self.0;
        while let Some(Str(name)) = map.next_key()? {
            let known = WellKnownField::from_name(&name);
            let bit = match SHAPE.iter().position(|s| *s == name) {
                Some(i) => Some(i),
                None => known
                    .filter(|&f| field_at(Place::Top, &name) == Some(f))
                    .map(|f| SHAPE.len() + f as usize),
            };
            match bit {
                Some(bit) if !found.first(bit) => return Err(not_canonical("a repeated member")),
                Some(_) => {}
                // A well-known name the encoder does not write at top level (a label named
                // `user`, flat JSON): the decoder decides which field it fills.
                None if known.is_some() => return Err(not_canonical("a well-known name")),
                None if found.labels.contains(&name) => {
                    return Err(not_canonical("a repeated member"))
                }
                None => {
                    found.labels.push(name.clone());
                    let value = map.next_value::<Option<Scalar>>()?;
                    found.keep(name, value);
                    continue;
                }
            }
            match name.as_ref() {
                "id" => {
                    let Str(id) = map.next_value()?;
                    found.id = Some(EventId::parse(&id).ok_or_else(|| not_canonical("an id"))?);
                }
                "event_type" => found.event_type = Some(map.next_value::<Str>()?.0),
                "event_type_original" | "category" => {
                    map.next_value::<Str>()?;
                }
                "severity" => {
                    let Str(severity) = map.next_value()?;
                    severity
                        .parse::<siem_event::Severity>()
                        .map_err(|_| not_canonical("a severity"))?;
                }
                "timestamp" => {
                    let Str(t) = map.next_value()?;
                    // The decoder moves instants near the ends of the range before parsing
                    // them; it judges those.
                    let year = t.get(..4).and_then(|y| y.parse::<i32>().ok());
                    if !year.is_some_and(|y| (1678..=2261).contains(&y))
                        || Timestamp::parse_rfc3339(&t).is_err()
                    {
                        return Err(not_canonical("a timestamp"));
                    }
                }
                "actor" => map.next_value_seed(Object(Place::Actor, &mut *found))?,
                "target" => map.next_value_seed(Object(Place::Target, &mut *found))?,
                "outcome" => map.next_value_seed(Object(Place::Outcome, &mut *found))?,
                "metadata" => map.next_value_seed(Metadata(&mut *found))?,
                "compliance" => map
                    .next_value::<Option<Members<Option<Strings>>>>()
                    .map(drop)?,
                "_siem" => map.next_value::<Option<Members<Option<Str>>>>().map(drop)?,
                _ => {
                    if let (Some(f), Some(Str(text))) = (known, map.next_value::<Option<Str>>()?) {
                        found.texts[f as usize] = Some(text);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The `actor`, `target` or `outcome` object: members the encoder writes, once each.
struct Object<'s, 'a>(Place, &'s mut Found<'a>);

impl<'de> DeserializeSeed<'de> for Object<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Object<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Object(place, found) = self;
        let mut seen = 0u32;
        while let Some(Str(name)) = map.next_key()? {
            let (bit, field) = match (place, name.as_ref()) {
                (Place::Outcome, "result") => (30, None),
                (Place::Outcome, "success") => (31, None),
                (_, member) => {
                    let f = field_at(place, member).ok_or_else(|| not_canonical("a member"))?;
                    (f as u32, Some(f))
                }
            };
            if seen & 1 << bit != 0 {
                return Err(not_canonical("a repeated member"));
            }
            seen |= 1 << bit;
            match field {
                Some(f) => {
                    if let Some(Str(text)) = map.next_value()? {
                        found.texts[f as usize] = Some(text);
                    }
                }
                None if bit == 31 => drop(map.next_value::<Option<bool>>()?),
                None => drop(map.next_value::<Option<Str>>()?),
            }
        }
        Ok(())
    }
}

/// The `metadata` object.
struct Metadata<'s, 'a>(&'s mut Found<'a>);

impl<'de> DeserializeSeed<'de> for Metadata<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Metadata<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((Str(name), value)) = map.next_entry::<Str, Option<Scalar>>()? {
            self.0.keep(name, value);
        }
        Ok(())
    }
}

/// A string, borrowed from the record when it holds no escape.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A metadata value or label as the decoder types it; nested arrays and objects are left to
/// the decoder, which keeps them as their compact JSON text.
impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Typed(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Typed(Value::I64(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                // Signed unless it needs the top bit, as the decoder types it.
                Ok(Scalar::Typed(
                    i64::try_from(v).map_or(Value::U64(v), Value::I64),
                ))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Typed(Value::F64(v)))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_any(V)
    }
}

/// An array of strings (a compliance list), checked and not kept.
struct Strings;

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strings, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                while seq.next_element::<Str>()?.is_some() {}
                Ok(Strings)
            }
        }
        d.deserialize_seq(V)
    }
}

/// An object whose every value is a `T`, checked and not kept.
struct Members<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Members<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Members<T>, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Members<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<T>, A::Error> {
                while map.next_entry::<Str, T>()?.is_some() {}
                Ok(Members(std::marker::PhantomData))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Whether a record the decoder read names its id (the decoder makes one up otherwise).
fn names_an_id(record: &[u8]) -> bool {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut named = false;
            while let Some(Str(name)) = map.next_key()? {
                if name == "id" {
                    named |= map.next_value::<Option<IgnoredAny>>()?.is_some();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(named)
        }
    }
    serde_json::Deserializer::from_slice(record)
        .deserialize_map(V)
        .unwrap_or(false)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::{Outcome, Severity};
    use siem_format::{Encoder, JsonEncoder};

    use super::*;

    /// What the complete decode answers: the reference the scan must agree with.
    fn decoded_text(record: &[u8], name: &str) -> Option<String> {
        let event = decode_json(record).ok()?;
        let text = event.field_text(name)?;
        (!text.is_empty()).then(|| text.into_owned())
    }

    /// Every name rules use, and `extra` (metadata and label names), answered alike.
    fn assert_same_answers(record: &[u8], extra: &[&str]) {
        let fields = RecordFields::read(record);
        let decoded = decode_json(record).ok();
        let shown = String::from_utf8_lossy(record);
        assert_eq!(
            fields.event_type(),
            decoded.as_ref().map(|e| e.event_type.as_str()),
            "event_type of {shown}"
        );
        let names = WellKnownField::ALL
            .iter()
            .flat_map(|f| std::iter::once(f.canonical_name()).chain(f.synonyms().iter().copied()))
            .chain(extra.iter().copied())
            .chain(["type", "nope", "actor.name", "outcome.reason"]);
        // Without a timestamp the decoder stamps the time of decoding: no two decodes agree.
        let stamped = record.windows(11).any(|w| w == b"\"timestamp\"");
        for name in names {
            if !stamped && WellKnownField::from_name(name) == Some(WellKnownField::Timestamp) {
                continue;
            }
            assert_eq!(
                fields.text(name).map(Cow::into_owned),
                decoded_text(record, name),
                "`{name}` of {shown}"
            );
        }
    }

    /// A small deterministic generator (xorshift), so that a failure names its case.
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, sides: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % sides as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.roll(from.len())]
        }

        fn maybe(&mut self, from: &[&str]) -> Option<String> {
            (self.roll(3) > 0).then(|| self.pick(from).to_owned())
        }
    }

    const TEXTS: &[&str] = &[
        "acme",
        "10.0.0.1",
        "",
        "al\"ice",
        "b\\ob\u{e9}",
        "line\nbreak\u{2028}",
        "\u{1F600}",
        "x\u{0}y",
        "tenant-123",
    ];
    const TYPES: &[&str] = &[
        "auth.failure",
        "authentication_failure",
        "authentication",
        "authorization",
        "custom.thing",
        "Login_Failed",
        " auth.success ",
    ];
    const NAMES: &[&str] = &[
        "attempts",
        "client_ip",
        "user",
        "tenant",
        "type",
        "region",
        "ip",
        "TargetUserName",
        "severity",
        "k\"ey",
        "message",
    ];

    fn event(dice: &mut Dice) -> (SecurityEvent, Vec<String>) {
        let mut e = SecurityEvent::new(EventType::parse(dice.pick(TYPES)), dice.pick(TEXTS));
        e.severity = [Severity::Info, Severity::High, Severity::Critical][dice.roll(3)];
        e.outcome = [
            Outcome::Success,
            Outcome::Failure,
            Outcome::Denied,
            Outcome::Unknown,
        ][dice.roll(4)];
        e.tenant_id = dice.maybe(TEXTS);
        e.agent_id = dice.maybe(TEXTS);
        e.correlation_id = dice.maybe(TEXTS);
        e.action = dice.maybe(TEXTS);
        e.reason = dice.maybe(TEXTS);
        e.source = dice.maybe(TEXTS);
        e.actor.user = dice.maybe(TEXTS);
        e.actor.user_id = dice.maybe(TEXTS);
        e.actor.source_ip = dice.maybe(TEXTS);
        e.actor.user_agent = dice.maybe(TEXTS);
        e.target.resource = dice.maybe(TEXTS);
        e.target.resource_type = dice.maybe(TEXTS);
        e.target.method = dice.maybe(TEXTS);
        e.target.destination_ip = dice.maybe(TEXTS);
        e.host = Arc::from(dice.pick(TEXTS));
        e.app = Arc::from(dice.pick(TEXTS));
        let mut names = Vec::new();
        for _ in 0..dice.roll(5) {
            let name = dice.pick(NAMES);
            names.push(name.to_owned());
            let value = match dice.roll(6) {
                0 => Value::from(dice.pick(TEXTS)),
                1 => Value::I64(-(dice.roll(1000) as i64)),
                2 => Value::U64(u64::MAX - dice.roll(10) as u64),
                3 => Value::F64([0.5, 1e300, f64::NAN, f64::INFINITY, -0.0][dice.roll(5)]),
                4 => Value::Bool(dice.roll(2) == 0),
                _ => Value::I64(i64::MIN),
            };
            e.push_metadata(name, value);
        }
        // Labels are rare in number but some carry a well-known name (`tenant`).
        if dice.roll(4) == 0 {
            let name = dice.pick(&["region", "tenant", "severity", "constitutional_hash"]);
            names.push(name.to_owned());
            names.push(format!("label_{name}"));
            e.labels = Arc::from(vec![(name.to_owned(), dice.pick(TEXTS).to_owned())]);
        }
        (e, names)
    }

    #[test]
    fn the_scan_answers_as_the_complete_decode_on_every_encoded_event() {
        let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
        let encoder = JsonEncoder::default();
        let mut scanned = 0;
        for case in 0..2000 {
            let (e, names) = event(&mut dice);
            let mut record = Vec::new();
            encoder.encode(&e, &mut record);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            assert_same_answers(&record, &names);
            let fields = RecordFields::read(&record);
            assert_eq!(fields.event_id(), Some(e.id.to_string()), "case {case}");
            if matches!(fields.read, Read::Scanned(_)) {
                scanned += 1;
            }
            // Only a label written under a well-known name (`tenant`), or an event type the
            // decoder maps again, sends an encoded record to the decoder.
            let canonical_type =
                EventType::parse(e.event_type.as_str()).as_str() == e.event_type.as_str();
            if e.labels.is_empty() && canonical_type {
                assert!(
                    matches!(fields.read, Read::Scanned(_)),
                    "case {case}: {}",
                    String::from_utf8_lossy(&record)
                );
            }
        }
        assert!(scanned > 1300, "only {scanned} of 2000 scanned");
    }

    #[test]
    fn hostile_records_give_a_clear_answer_and_the_decoders() {
        let deep = format!(
            r#"{{"event_type":"a.b","metadata":{{"n":{}1{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let nested = format!(
            r#"{{"event_type":"a.b","tenant_id":"t","metadata":{{"n":{}1{}}}}}"#,
            "[".repeat(50),
            "]".repeat(50)
        );
        let records: Vec<&[u8]> = vec![
            br#"{"event_type":"auth.failure","tenant_id":"a\"b\u00e9\ud83d\ude00","metadata":{"c\u006cient_ip":"1.2.3.4","k\"":"v"}}"#,
            br#"{"event_type":"auth.failure","tenant_id":"x","tenant_id":"y"}"#,
            br#"{"event_type":"auth.failure","actor":{"username":"a","username":"b"}}"#,
            br#"{"event_type":"auth.failure","metadata":{"n":1,"n":2}}"#,
            deep.as_bytes(),
            nested.as_bytes(),
            b"[1]",
            b"\"auth.failure\"",
            b"null",
            b"12",
            b"",
            b"{",
            br#"{"event_type":"auth.failure","metadata":{"n":1e400}}"#,
            br#"{"event_type":"auth.failure","metadata":{"n":18446744073709551615,"m":-9223372036854775809,"f":1.5e300}}"#,
            b"{\"event_type\":\"auth.failure\",\"tenant_id\":\"\xff\"}",
            b"{\"event_type\":\"auth.failure\",\"tenant_\xff\":\"t\"}",
            br#"{"event_type":"auth.failure","tenant_id":5}"#,
            br#"{"event_type":5}"#,
            br#"{"tenant_id":"t"}"#,
            br#"{"type":"EXECVE","tenant_id":"t"}"#,
            br#"{"event_type":"authentication","outcome":{"result":"failure"},"tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","severity":"loud","tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","timestamp":"9999-01-01T00:00:00Z","tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","timestamp":"yesterday","tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","id":"not-a-uuid","tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","id":null,"tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","actor":"alice"}"#,
            br#"{"event_type":"auth.failure","actor":{"name":"alice","role":"admin"}}"#,
            br#"{"event_type":"auth.failure","target":"/admin","source":{"system":"s","component":"c"}}"#,
            br#"{"event_type":"auth.failure","compliance":{"soc2_cc":[1]},"tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","_siem":{"hostname":7},"tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","outcome":{"success":"yes"},"tenant_id":"t"}"#,
            br#"{"event_type":"auth.failure","client_ip":"1.1.1.1","actor":{"ip_address":"2.2.2.2"}}"#,
            br#"{"event_type":"auth.failure","message":null,"tenant_id":null,"metadata":{"tenant":"m"}}"#,
            br#"{"event_type":"auth.failure","user":"flat","actor":{"username":"nested"}}"#,
        ];
        for record in records {
            assert_same_answers(
                record,
                &["n", "m", "f", "client_ip", "k\"", "role", "actor.role"],
            );
        }
        let f =
            RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":"x","tenant_id":"y"}"#);
        assert_eq!((f.event_type(), f.text("tenant")), (None, None));
        let f = RecordFields::read(deep.as_bytes());
        assert_eq!(f.event_type(), None);
        let f = RecordFields::read(br#"{"event_type":"auth.failure","tenant_id":"a\"b\u00e9"}"#);
        assert_eq!(f.text("tenant").as_deref(), Some("a\"b\u{e9}"));
        let f = RecordFields::read(
            br#"{"event_type":"auth.failure","metadata":{"n":18446744073709551615}}"#,
        );
        assert_eq!(f.text("n").as_deref(), Some("18446744073709551615"));
    }

    #[test]
    fn a_record_without_an_id_has_none() {
        for record in [
            &br#"{"event_type":"auth.failure","tenant_id":"t"}"#[..],
            br#"{"event_type":"auth.failure","user":"flat"}"#,
            br#"{"event_type":"auth.failure","id":null}"#,
        ] {
            assert_eq!(RecordFields::read(record).event_id(), None);
        }
    }

    #[test]
    fn normalised_fields_are_the_decoders() {
        let f = RecordFields::read(
            br#"{"event_type":"auth.failure","event_type_original":"authentication_failure","severity":"high","timestamp":"2025-01-01T12:00:00.5Z","outcome":{"result":"failure"},"_siem":{"hostname":"web-1"}}"#,
        );
        assert!(matches!(f.read, Read::Scanned(_)));
        assert_eq!(f.text("severity").as_deref(), Some("high"));
        assert_eq!(f.text("outcome").as_deref(), Some("failure"));
        assert_eq!(f.text("host").as_deref(), Some("web-1"));
        assert_eq!(f.text("category").as_deref(), Some("auth"));
        assert_eq!(
            f.text("event_type_original").as_deref(),
            Some("authentication_failure")
        );
        assert!(f
            .text("timestamp")
            .is_some_and(|t| t.starts_with("2025-01-01T12:00:00.5")));
    }
}
