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
//! Member by member:
//!
//! | members | become |
//! |---------|--------|
//! | `event_type` or `type` (required), `event_type_original` | the event type (mapped as [`siem_event::EventType::parse_with_outcome`] does) |
//! | `id` | the event id (a UUID) |
//! | `timestamp`, `@timestamp`, `time` | RFC 3339 text, or a number: seconds since the epoch, or milliseconds when its magnitude is at least 10¹¹ |
//! | `severity` | a name or synonym, or a number 0–10 |
//! | `message`, `msg` | the message |
//! | `result`, `outcome` (text or `{result, success, reason}`) | outcome and reason |
//! | `user`, `username`, `user_name`, `user_id`, `source_ip`, `src_ip`, `ip`, `client_ip`, `ip_address`, `user_agent`, `actor{…}` | the actor |
//! | `resource`, `resource_id`, `path`, `url`, `target` (text), `resource_type`, `method`, `dest_ip`, `destination_ip`, `target{…}` | the target |
//! | `tenant_id`, `agent_id`, `correlation_id`, `action`, `reason`, `source`, `host`, `hostname`, `app`, `_siem{hostname, app}` | the same fields |
//! | `category`, `compliance` | checked for type, then derived again from the event type |
//! | `metadata{…}` and every other member | metadata, typed; nested arrays and objects are kept as their compact JSON text |
//!
//! `null` counts as absent. A member given twice, a wrong type, an unknown severity, a bad
//! timestamp or id is an error naming the member; nesting deeper than 128 levels and numbers out
//! of range are syntax errors. Nothing panics.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use siem_event::{EventId, EventType, Field, Outcome, SecurityEvent, Severity, Timestamp, Value};

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
    event_type: Option<String>,
    original: Option<String>,
    outcome_text: Option<Outcome>,
    outcome_success: Option<bool>,
    severity: Option<Severity>,
    timestamp: Option<Timestamp>,
    id: Option<EventId>,
    message: Option<String>,
    actor: siem_event::Actor,
    target: siem_event::Target,
    strings: Strings,
    host: Option<String>,
    app: Option<String>,
    /// Seed 003's `source.system`: the app, and the source when no component is named.
    source_system: Option<String>,
    metadata: Vec<Field>,
}

#[derive(Default)]
struct Strings {
    tenant_id: Option<String>,
    agent_id: Option<String>,
    correlation_id: Option<String>,
    action: Option<String>,
    reason: Option<String>,
    source: Option<String>,
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

/// Sets `slot` from a string member; a later alias does not overwrite an earlier value.
fn set_text(slot: &mut Option<String>, field: &str, v: &Json) -> Result<(), DecodeError> {
    if let Some(s) = text(field, v)? {
        if slot.is_none() {
            *slot = Some(s);
        }
    }
    Ok(())
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
        match name {
            "event_type" | "type" => set_text(&mut self.event_type, name, v)?,
            "event_type_original" => set_text(&mut self.original, name, v)?,
            "id" => {
                if let Some(s) = text(name, v)? {
                    self.id = Some(
                        EventId::parse(&s).ok_or_else(|| field_error(name, "expected a UUID"))?,
                    );
                }
            }
            "timestamp" | "@timestamp" | "time" => {
                if self.timestamp.is_none() {
                    self.timestamp = parse_timestamp(name, v)?;
                }
            }
            "severity" => self.severity = parse_severity(name, v)?,
            "message" | "msg" => set_text(&mut self.message, name, v)?,
            "result" => self.outcome_from_text(name, v)?,
            "outcome" => match v {
                Json::Obj(_) => self.outcome_object(name, v)?,
                _ => self.outcome_from_text(name, v)?,
            },
            "user" | "username" | "user_name" => set_text(&mut self.actor.user, name, v)?,
            "user_id" => set_text(&mut self.actor.user_id, name, v)?,
            "source_ip" | "src_ip" | "ip" | "client_ip" | "ip_address" => {
                set_text(&mut self.actor.source_ip, name, v)?
            }
            "user_agent" => set_text(&mut self.actor.user_agent, name, v)?,
            "actor" => self.actor_object(v)?,
            "target" => match v {
                Json::Obj(_) => self.target_object(v)?,
                _ => set_text(&mut self.target.resource, name, v)?,
            },
            "resource" | "resource_id" | "path" | "url" => {
                set_text(&mut self.target.resource, name, v)?
            }
            "resource_type" => set_text(&mut self.target.resource_type, name, v)?,
            "method" => set_text(&mut self.target.method, name, v)?,
            "dest_ip" | "destination_ip" => set_text(&mut self.target.destination_ip, name, v)?,
            "tenant_id" => set_text(&mut self.strings.tenant_id, name, v)?,
            "agent_id" => set_text(&mut self.strings.agent_id, name, v)?,
            "correlation_id" => set_text(&mut self.strings.correlation_id, name, v)?,
            "action" => set_text(&mut self.strings.action, name, v)?,
            "reason" => set_text(&mut self.strings.reason, name, v)?,
            "source" => match v {
                Json::Obj(m) => {
                    for (k, inner) in m {
                        let path = format!("source.{k}");
                        match k.as_str() {
                            "component" => set_text(&mut self.strings.source, &path, inner)?,
                            "system" => set_text(&mut self.source_system, &path, inner)?,
                            _ => {}
                        }
                    }
                }
                _ => set_text(&mut self.strings.source, name, v)?,
            },
            "host" | "hostname" => set_text(&mut self.host, name, v)?,
            "app" => set_text(&mut self.app, name, v)?,
            "_siem" => {
                for (k, inner) in members(name, v)? {
                    let path = format!("_siem.{k}");
                    match k.as_str() {
                        "hostname" => set_text(&mut self.host, &path, inner)?,
                        "app" => set_text(&mut self.app, &path, inner)?,
                        _ => {
                            text(&path, inner)?;
                        }
                    }
                }
            }
            "category" => {
                text(name, v)?;
            }
            "compliance" => {
                for (k, inner) in members(name, v)? {
                    let path = format!("compliance.{k}");
                    match inner {
                        Json::Arr(items) if items.iter().all(|i| matches!(i, Json::Str(_))) => {}
                        Json::Null => {}
                        other => {
                            return Err(field_error(
                                &path,
                                format!("expected an array of strings, found {}", other.kind()),
                            ))
                        }
                    }
                }
            }
            "metadata" => {
                for (k, inner) in members(name, v)? {
                    if let Some(value) = to_value(inner) {
                        self.metadata.push(Field::new(k.clone(), value));
                    }
                }
            }
            other => {
                if let Some(value) = to_value(v) {
                    self.metadata.push(Field::new(other.to_owned(), value));
                }
            }
        }
        Ok(())
    }

    fn outcome_from_text(&mut self, field: &str, v: &Json) -> Result<(), DecodeError> {
        if let Some(s) = text(field, v)? {
            if self.outcome_text.is_none() {
                self.outcome_text = Some(Outcome::from_text(&s));
            }
        }
        Ok(())
    }

    fn outcome_object(&mut self, field: &str, v: &Json) -> Result<(), DecodeError> {
        for (k, inner) in members(field, v)? {
            let path = format!("{field}.{k}");
            match k.as_str() {
                "result" => self.outcome_from_text(&path, inner)?,
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
                "reason" => set_text(&mut self.strings.reason, &path, inner)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn actor_object(&mut self, v: &Json) -> Result<(), DecodeError> {
        for (k, inner) in members("actor", v)? {
            let path = format!("actor.{k}");
            let slot = match k.as_str() {
                "user_id" => &mut self.actor.user_id,
                "username" | "user" | "name" => &mut self.actor.user,
                "ip_address" | "ip" | "source_ip" => &mut self.actor.source_ip,
                "user_agent" => &mut self.actor.user_agent,
                _ => continue,
            };
            set_text(slot, &path, inner)?;
        }
        Ok(())
    }

    fn target_object(&mut self, v: &Json) -> Result<(), DecodeError> {
        for (k, inner) in members("target", v)? {
            let path = format!("target.{k}");
            let slot = match k.as_str() {
                "resource_type" => &mut self.target.resource_type,
                "resource_id" | "resource" => &mut self.target.resource,
                "method" => &mut self.target.method,
                "ip_address" | "destination_ip" => &mut self.target.destination_ip,
                _ => continue,
            };
            set_text(slot, &path, inner)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<SecurityEvent, DecodeError> {
        let given = self
            .event_type
            .ok_or_else(|| field_error("event_type", "missing (every event needs a type)"))?;
        let outcome = match (self.outcome_text, self.outcome_success) {
            (Some(o), _) if o != Outcome::Unknown => o,
            (_, Some(true)) => Outcome::Success,
            (_, Some(false)) => Outcome::Failure,
            (o, None) => o.unwrap_or_default(),
        };
        let event_type = match self.original {
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
        let mut event = SecurityEvent::new(event_type, self.message.unwrap_or_default());
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
        event.actor = self.actor;
        event.target = self.target;
        event.tenant_id = self.strings.tenant_id;
        event.agent_id = self.strings.agent_id;
        event.correlation_id = self.strings.correlation_id;
        event.action = self.strings.action;
        event.reason = self.strings.reason;
        event.source = self.strings.source.or_else(|| self.source_system.clone());
        if let Some(h) = self.host {
            event.host = h.into();
        }
        if let Some(a) = self.app.or(self.source_system) {
            event.app = a.into();
        }
        event.metadata = self.metadata;
        Ok(event)
    }
}

#[cfg(test)]
mod tests;
