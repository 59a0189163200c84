//! Reading JSON events back into [`SecurityEvent`]s: our canonical shape and seed-style flat JSON.
//!
//! `siem encode` reads JSON events on standard input and prints them in a wire format; this is
//! its parser. It accepts:
//!
//! - the canonical shape written by [`crate::JsonEncoder`] (`actor`, `target`, `outcome` objects,
//!   `metadata`, `_siem`);
//! - flat objects as the seeds write them:
//!   `{"event_type":"auth.failure","severity":"medium","user":"alice","source_ip":"203.0.113.7","result":"failure","message":"…"}`;
//! - seed 003's `source` object (`{"system","component","version"}`): `component` (or `system`)
//!   becomes `source`, `system` becomes `app`.
//!
//! Member by member (field names resolve through the one vocabulary,
//! [`siem_event::WellKnownField`], so every synonym it lists is read here too):
//!
//! | members | become |
//! |---------|--------|
//! | `event_type` or a synonym (required), `event_type_original` | the event type (mapped as [`siem_event::EventType::parse_with_outcome`] does); without them, a text `type` member, which is also kept as metadata |
//! | `id` | the event id (a UUID) |
//! | `timestamp`, `@timestamp`, `time` | RFC 3339 text, or a number: seconds since the epoch, or milliseconds when its magnitude is at least 10¹¹ |
//! | `severity`, `log.level` | a name or synonym, or a number 0–10 |
//! | `message`, `msg` | the message |
//! | `outcome`, `result` (text), `outcome{result, success, reason}` | outcome and reason |
//! | `user`, `user_id`, `source_ip`, `user_agent` and their synonyms (`username`, `client_ip`, `ip_address`, `user.name`…), `actor{…}` | the actor |
//! | `resource`, `resource_type`, `method`, `destination_ip` and their synonyms (`path`, `url`, `resource_id`, `target` as text, `dest_ip`…), `target{…}` | the target |
//! | `tenant_id`, `agent_id`, `correlation_id`, `action`, `reason`, `source`, `host` (`hostname`), `app` and their synonyms, `_siem{hostname, app}` | the same fields |
//! | `category`, `compliance` | checked for type, then derived again from the event type |
//! | `metadata{…}` and every other member | metadata, typed; nested arrays and objects are kept as their compact JSON text |
//!
//! Inside seed 003's `actor` object `name` is the user; inside `target`, `ip_address` is the
//! destination. Their other members are kept as metadata named `actor.<member>` or
//! `target.<member>`. When two members give the same field (`source_ip` and `client_ip`), the
//! first fills it and the later one is kept as metadata under its own name, so nothing given is
//! lost and rules reach each by the name it was given under.
//!
//! `null` counts as absent. A member given twice, a wrong type, an unknown severity, a bad
//! timestamp or id is an error naming the member; nesting deeper than 128 levels and numbers out
//! of range are syntax errors. Nothing panics.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use siem_event::{
    EventId, EventType, Field, Outcome, SecurityEvent, Severity, Timestamp, Value, WellKnownField,
};

use crate::json_writer::{write_str, write_value};
use crate::seen::SeenNames;

/// Why a JSON event could not be read.
///
/// ```
/// use siem_format::{decode_json, DecodeError};
/// let err = decode_json(br#"{"event_type":"auth.failure","severity":true}"#).unwrap_err();
/// assert_eq!(err.to_string(), "field `severity`: expected a string or a number 0-10, found a boolean");
/// assert!(matches!(decode_json(b"[1]"), Err(DecodeError::NotAnObject)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is not JSON (or nests too deep, or holds a number out of range).
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The input is JSON but not an object.
    #[error("expected a JSON object for the event")]
    NotAnObject,
    /// A member is missing, repeated, or holds something it cannot.
    #[error("field `{field}`: {reason}")]
    Field {
        /// The member's path, such as `actor.username`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn field_error(field: &str, reason: impl Into<String>) -> DecodeError {
    DecodeError::Field {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A parsed JSON value that keeps object members in their order (and repeated names).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::I64(_) | Json::U64(_) | Json::F64(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }

    /// The compact JSON text of this value.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => write_value(out, &Value::Bool(*b)),
            Json::I64(n) => write_value(out, &Value::I64(*n)),
            Json::U64(n) => write_value(out, &Value::U64(*n)),
            Json::F64(f) => write_value(out, &Value::F64(*f)),
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Json::Obj(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                // Integers are signed unless they need the top bit: `3` is I64(3) whether the
                // parser saw a sign or not.
                Ok(i64::try_from(v).map_or(Json::U64(v), Json::I64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::F64(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Json, E> {
                Ok(Json::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    members.push((k, v));
                }
                Ok(Json::Obj(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one JSON event: our canonical shape or seed-style flat JSON (see the module docs).
///
/// ```
/// use siem_event::{Outcome, Severity};
/// use siem_format::decode_json;
///
/// let e = decode_json(br#"{"event_type":"auth.failure","severity":"medium","user":"alice",
///     "source_ip":"203.0.113.7","result":"failure","message":"Failed login","attempts":3}"#).unwrap();
/// assert_eq!(e.event_type.as_str(), "auth.failure");
/// assert_eq!(e.severity, Severity::Medium);
/// assert_eq!(e.outcome, Outcome::Failure);
/// assert_eq!(e.actor.user.as_deref(), Some("alice"));
/// assert_eq!(e.metadata("attempts").and_then(|v| v.as_i64()), Some(3));
/// ```
pub fn decode_json(input: &[u8]) -> Result<SecurityEvent, DecodeError> {
    let json: Json =
        serde_json::from_slice(input).map_err(|e| DecodeError::Syntax(e.to_string()))?;
    let Json::Obj(members) = json else {
        return Err(DecodeError::NotAnObject);
    };
    let mut seen = SeenNames::default();
    for (name, _) in &members {
        if !seen.first(name) {
            return Err(field_error(name, "given more than once"));
        }
    }
    let mut draft = Draft::default();
    for (name, value) in &members {
        draft.member(name, value)?;
    }
    draft.finish()
}

/// What has been read so far; the event type needs the outcome, so the event is built last.
#[derive(Default)]
struct Draft {
    /// The text of each well-known field, by [`WellKnownField`] index.
    texts: [Option<String>; WellKnownField::ALL.len()],
    /// Whether a member already gave a well-known field that is not plain text (severity,
    /// outcome, timestamp), so a later synonym is kept as metadata instead.
    given: [bool; WellKnownField::ALL.len()],
    outcome_text: Option<Outcome>,
    outcome_success: Option<bool>,
    severity: Option<Severity>,
    timestamp: Option<Timestamp>,
    id: Option<EventId>,
    /// Seed 003's `source.system`: the app, and the source when no component is named.
    source_system: Option<String>,
    metadata: Vec<Field>,
}

/// The text of a member, `None` for `null`, an error for anything else.
fn text(field: &str, v: &Json) -> Result<Option<String>, DecodeError> {
    match v {
        Json::Null => Ok(None),
        Json::Str(s) => Ok(Some(s.clone())),
        other => Err(field_error(
            field,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

fn members<'a>(field: &str, v: &'a Json) -> Result<&'a [(String, Json)], DecodeError> {
    match v {
        Json::Null => Ok(&[]),
        Json::Obj(m) => Ok(m),
        other => Err(field_error(
            field,
            format!("expected an object, found {}", other.kind()),
        )),
    }
}

fn to_value(v: &Json) -> Option<Value> {
    Some(match v {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(*b),
        Json::I64(n) => Value::I64(*n),
        Json::U64(n) => Value::U64(*n),
        Json::F64(f) => Value::F64(*f),
        Json::Str(s) => Value::Str(s.clone()),
        nested => {
            let mut out = Vec::new();
            nested.write(&mut out);
            Value::Str(String::from_utf8(out).unwrap_or_default())
        }
    })
}

fn parse_timestamp(field: &str, v: &Json) -> Result<Option<Timestamp>, DecodeError> {
    let from_number = |n: f64| -> Result<Timestamp, DecodeError> {
        // Seconds unless the magnitude says milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
        let nanos = if n.abs() >= 1e11 { n * 1e6 } else { n * 1e9 };
        if !nanos.is_finite() || nanos.abs() >= 9.2e18 {
            return Err(field_error(field, "timestamp out of range"));
        }
        Ok(Timestamp::from_unix_nanos(nanos as i64))
    };
    match v {
        Json::Null => Ok(None),
        Json::Str(s) => parse_rfc3339_in_range(s)
            .map(Some)
            .map_err(|reason| field_error(field, reason)),
        Json::I64(n) => from_number(*n as f64).map(Some),
        Json::U64(n) => from_number(*n as f64).map(Some),
        Json::F64(n) => from_number(*n).map(Some),
        other => Err(field_error(
            field,
            format!("expected RFC 3339 text or a number, found {}", other.kind()),
        )),
    }
}

/// Seconds in 400 Gregorian years: the calendar repeats with this period.
const FOUR_CENTURIES_SECS: i128 = 146_097 * 86_400;

/// RFC 3339 text to a timestamp, refusing instants a [`Timestamp`] (i64 nanoseconds, years
/// 1677-2262) cannot hold instead of letting the calendar arithmetic overflow.
fn parse_rfc3339_in_range(s: &str) -> Result<Timestamp, String> {
    let year = s.get(..4).and_then(|y| y.parse::<i32>().ok());
    let Some(year) = year.filter(|y| !(1678..=2261).contains(y)) else {
        return Timestamp::parse_rfc3339(s).map_err(|e| e.to_string());
    };
    // Near the ends of the range: parse the same date 400 years closer, then move it back
    // with checked arithmetic.
    let out_of_range = || "timestamp outside the supported range (years 1677-2262)".to_owned();
    let cycles: i32 = if year < 1678 { 1 } else { -1 };
    let shifted_year = year + 400 * cycles;
    if !(1678..=2261).contains(&shifted_year) {
        return Err(out_of_range());
    }
    let shifted = format!("{shifted_year:04}{}", &s[4..]);
    let t = Timestamp::parse_rfc3339(&shifted).map_err(|e| e.to_string())?;
    let nanos =
        i128::from(t.unix_nanos()) - i128::from(cycles) * FOUR_CENTURIES_SECS * 1_000_000_000;
    i64::try_from(nanos)
        .map(Timestamp::from_unix_nanos)
        .map_err(|_| out_of_range())
}

fn parse_severity(field: &str, v: &Json) -> Result<Option<Severity>, DecodeError> {
    let number = |n: f64| {
        if (0.0..=10.0).contains(&n) && n.fract() == 0.0 {
            Ok(Some((n as u8).to_string().parse().map_err(
                |e: siem_event::ParseSeverityError| field_error(field, e.to_string()),
            )?))
        } else {
            Err(field_error(field, "a numeric severity must be 0-10"))
        }
    };
    match v {
        Json::Null => Ok(None),
        Json::Str(s) => s
            .parse()
            .map(Some)
            .map_err(|e: siem_event::ParseSeverityError| field_error(field, e.to_string())),
        Json::I64(n) => number(*n as f64),
        Json::U64(n) => number(*n as f64),
        Json::F64(n) => number(*n),
        other => Err(field_error(
            field,
            format!("expected a string or a number 0-10, found {}", other.kind()),
        )),
    }
}

impl Draft {
    fn member(&mut self, name: &str, v: &Json) -> Result<(), DecodeError> {
        // Members that are part of the JSON shape rather than fields of the event.
        match (name, v) {
            ("id", _) => {
                if let Some(s) = text(name, v)? {
                    self.id = Some(
                        EventId::parse(&s).ok_or_else(|| field_error(name, "expected a UUID"))?,
                    );
                }
                return Ok(());
            }
            ("actor", _) => return self.actor_object(v),
            ("target", Json::Obj(_)) => return self.target_object(v),
            ("outcome", Json::Obj(_)) => return self.outcome_object(name, v),
            ("source", Json::Obj(m)) => {
                for (k, inner) in m {
                    let path = format!("source.{k}");
                    match k.as_str() {
                        "component" => self.fill(WellKnownField::Source, &path, inner)?,
                        "system" => {
                            if let Some(s) = text(&path, inner)? {
                                self.source_system.get_or_insert(s);
                            }
                        }
                        _ => {}
                    }
                }
                return Ok(());
            }
            ("_siem", _) => {
                for (k, inner) in members(name, v)? {
                    let path = format!("_siem.{k}");
                    match k.as_str() {
                        "hostname" => self.fill(WellKnownField::Host, &path, inner)?,
                        "app" => self.fill(WellKnownField::App, &path, inner)?,
                        _ => {
                            text(&path, inner)?;
                        }
                    }
                }
                return Ok(());
            }
            ("compliance", _) => return check_compliance(name, v),
            ("metadata", _) => {
                for (k, inner) in members(name, v)? {
                    self.keep(k, inner);
                }
                return Ok(());
            }
            _ => {}
        }
        let Some(known) = WellKnownField::from_name(name) else {
            self.keep(name, v);
            return Ok(());
        };
        match known {
            WellKnownField::Severity | WellKnownField::Outcome | WellKnownField::Timestamp
                if std::mem::replace(&mut self.given[known as usize], true) =>
            {
                self.keep(name, v);
            }
            WellKnownField::Severity => self.severity = parse_severity(name, v)?,
            WellKnownField::Outcome => {
                if let Some(s) = text(name, v)? {
                    self.outcome_text = Some(Outcome::from_text(&s));
                }
            }
            WellKnownField::Timestamp => self.timestamp = parse_timestamp(name, v)?,
            // Derived again from the event type; checked only for its type.
            WellKnownField::Category => {
                text(name, v)?;
            }
            _ => self.fill(known, name, v)?,
        }
        Ok(())
    }

    /// Sets a well-known field from a string member; when an earlier member already gave it,
    /// this one is kept as metadata under its own name.
    fn fill(&mut self, field: WellKnownField, name: &str, v: &Json) -> Result<(), DecodeError> {
        if let Some(s) = text(name, v)? {
            let slot = &mut self.texts[field as usize];
            if slot.is_none() {
                *slot = Some(s);
            } else {
                self.metadata.push(Field::new(name.to_owned(), s));
            }
        }
        Ok(())
    }

    /// Keeps a member as metadata, typed.
    fn keep(&mut self, name: &str, v: &Json) {
        if let Some(value) = to_value(v) {
            self.metadata.push(Field::new(name.to_owned(), value));
        }
    }

    fn outcome_object(&mut self, field: &str, v: &Json) -> Result<(), DecodeError> {
        self.given[WellKnownField::Outcome as usize] = true;
        for (k, inner) in members(field, v)? {
            let path = format!("{field}.{k}");
            match k.as_str() {
                "result" => {
                    if let Some(s) = text(&path, inner)? {
                        self.outcome_text = Some(Outcome::from_text(&s));
                    }
                }
                "success" => match inner {
                    Json::Bool(b) => self.outcome_success = Some(*b),
                    Json::Null => {}
                    other => {
                        return Err(field_error(
                            &path,
                            format!("expected a boolean, found {}", other.kind()),
                        ))
                    }
                },
                "reason" => self.fill(WellKnownField::Reason, &path, inner)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Seed 003's `actor` object: its members name actor fields (`name` is the user); any
    /// other member is kept as metadata under `actor.<name>`.
    fn actor_object(&mut self, v: &Json) -> Result<(), DecodeError> {
        for (k, inner) in members("actor", v)? {
            let path = format!("actor.{k}");
            let known = match k.as_str() {
                "name" => Some(WellKnownField::User),
                k => WellKnownField::from_name(k),
            };
            match known {
                Some(
                    f @ (WellKnownField::User
                    | WellKnownField::UserId
                    | WellKnownField::SourceIp
                    | WellKnownField::UserAgent),
                ) => self.fill(f, &path, inner)?,
                _ => self.keep(&path, inner),
            }
        }
        Ok(())
    }

    /// Seed 003's `target` object: its members name target fields (its `ip_address` is the
    /// destination); any other member is kept as metadata under `target.<name>`.
    fn target_object(&mut self, v: &Json) -> Result<(), DecodeError> {
        for (k, inner) in members("target", v)? {
            let path = format!("target.{k}");
            let known = match k.as_str() {
                "ip_address" => Some(WellKnownField::DestinationIp),
                k => WellKnownField::from_name(k),
            };
            match known {
                Some(
                    f @ (WellKnownField::Resource
                    | WellKnownField::ResourceType
                    | WellKnownField::Method
                    | WellKnownField::DestinationIp),
                ) => self.fill(f, &path, inner)?,
                _ => self.keep(&path, inner),
            }
        }
        Ok(())
    }

    fn take(&mut self, field: WellKnownField) -> Option<String> {
        self.texts[field as usize].take()
    }

    fn finish(mut self) -> Result<SecurityEvent, DecodeError> {
        use WellKnownField as F;
        // Flat JSON may name the type `type`; it stays metadata too (auditd's `type: EXECVE`).
        let given = match self.take(F::EventType) {
            Some(t) => t,
            None => match self.metadata.iter().find(|f| f.name == "type") {
                Some(Field {
                    value: Value::Str(t),
                    ..
                }) => t.clone(),
                _ => {
                    return Err(field_error(
                        "event_type",
                        "missing (every event needs a type)",
                    ))
                }
            },
        };
        let outcome = match (self.outcome_text, self.outcome_success) {
            (Some(o), _) if o != Outcome::Unknown => o,
            (_, Some(true)) => Outcome::Success,
            (_, Some(false)) => Outcome::Failure,
            (o, None) => o.unwrap_or_default(),
        };
        let event_type = match self.take(F::EventTypeOriginal) {
            Some(original) => {
                let t = EventType::parse_with_outcome(&original, outcome);
                if t.as_str() == given {
                    t
                } else {
                    EventType::parse_with_outcome(&given, outcome)
                }
            }
            None => EventType::parse_with_outcome(&given, outcome),
        };
        let mut event = SecurityEvent::new(event_type, self.take(F::Message).unwrap_or_default());
        event.outcome = outcome;
        if let Some(id) = self.id {
            event.id = id;
        }
        if let Some(t) = self.timestamp {
            event.timestamp = t;
        }
        if let Some(s) = self.severity {
            event.severity = s;
        }
        event.actor.user = self.take(F::User);
        event.actor.user_id = self.take(F::UserId);
        event.actor.source_ip = self.take(F::SourceIp);
        event.actor.user_agent = self.take(F::UserAgent);
        event.target.resource = self.take(F::Resource);
        event.target.resource_type = self.take(F::ResourceType);
        event.target.method = self.take(F::Method);
        event.target.destination_ip = self.take(F::DestinationIp);
        event.tenant_id = self.take(F::TenantId);
        event.agent_id = self.take(F::AgentId);
        event.correlation_id = self.take(F::CorrelationId);
        event.action = self.take(F::Action);
        event.reason = self.take(F::Reason);
        event.source = self.take(F::Source).or_else(|| self.source_system.clone());
        if let Some(h) = self.take(F::Host) {
            event.host = h.into();
        }
        if let Some(a) = self.take(F::App).or(self.source_system) {
            event.app = a.into();
        }
        event.metadata = self.metadata;
        Ok(event)
    }
}

/// Seed 003's `compliance` object: checked for shape, then derived again from the event type.
fn check_compliance(field: &str, v: &Json) -> Result<(), DecodeError> {
    for (k, inner) in members(field, v)? {
        match inner {
            Json::Arr(items) if items.iter().all(|i| matches!(i, Json::Str(_))) => {}
            Json::Null => {}
            other => {
                return Err(field_error(
                    &format!("{field}.{k}"),
                    format!("expected an array of strings, found {}", other.kind()),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
