//! How a `SecurityEvent` looks to a Sigma rule; the mapping table is in
//! `sigma_fields.md`, published as the `sigma_field_mapping` module docs.

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue};
use siem_event::{SecurityEvent, Value};

/// A [`SecurityEvent`] seen through Sigma field names.
pub(crate) struct SigmaView<'a>(pub(crate) &'a SecurityEvent);

fn canonical(name: &str) -> &str {
    match name {
        "EventType" | "event.type" => "event_type",
        "event.category" => "category",
        "event.action" => "action",
        "event.outcome" => "outcome",
        "log.level" => "severity",
        "Message" => "message",
        "User" | "user.name" | "TargetUserName" => "user",
        "user.id" => "user_id",
        "SourceIp" | "IpAddress" | "source.ip" | "client.ip" | "c-ip" => "source_ip",
        "UserAgent" | "user_agent.original" | "c-useragent" => "user_agent",
        "url.path" | "http.route" | "cs-uri-stem" => "resource",
        "http.request.method" | "cs-method" => "method",
        "destination.ip" => "destination_ip",
        "tenant" | "organization.id" => "tenant_id",
        "agent.id" => "agent_id",
        "event.reason" => "reason",
        "host.name" | "Computer" | "ComputerName" => "host",
        "service.name" => "app",
        "log.logger" => "source",
        other => other,
    }
}

fn typed(v: &Value) -> EventValue<'_> {
    match v {
        Value::Str(s) => EventValue::Str(Cow::Borrowed(s)),
        Value::I64(n) => EventValue::Int(*n),
        Value::U64(n) => match i64::try_from(*n) {
            Ok(i) => EventValue::Int(i),
            Err(_) => EventValue::Float(*n as f64),
        },
        Value::F64(f) => EventValue::Float(*f),
        Value::Bool(b) => EventValue::Bool(*b),
    }
}

impl SigmaView<'_> {
    fn visit_strings(&self, visit: &mut dyn FnMut(&str)) {
        let e = self.0;
        visit(&e.message);
        visit(e.event_type.as_str());
        for s in [
            &e.action,
            &e.actor.user,
            &e.actor.source_ip,
            &e.actor.user_agent,
            &e.target.resource,
            &e.reason,
        ]
        .into_iter()
        .flatten()
        {
            visit(s);
        }
        for f in &e.metadata {
            if let Value::Str(s) = &f.value {
                visit(s);
            }
        }
    }
}

impl Event for SigmaView<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let e = self.0;
        let name = canonical(path);
        match name {
            "timestamp" | "@timestamp" => {
                return Some(EventValue::Str(Cow::Owned(e.timestamp.to_rfc3339())))
            }
            "event_type_original" => {
                return Some(EventValue::Str(Cow::Borrowed(e.event_type.original())))
            }
            _ => {}
        }
        if let Some(v) = e.metadata(name) {
            if !is_builtin(name) {
                return Some(typed(v));
            }
        }
        e.field_text(name).map(EventValue::Str)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        self.visit_strings(&mut |s| found = found || pred(s));
        found
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        self.visit_strings(&mut |s| out.push(Cow::Owned(s.to_owned())));
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.visit_strings(visit);
    }

    fn to_json(&self) -> serde_json::Value {
        let e = self.0;
        let mut map = serde_json::Map::new();
        for key in BUILTIN {
            if let Some(v) = e.field_text(key) {
                map.insert((*key).to_owned(), serde_json::Value::String(v.into_owned()));
            }
        }
        map.insert("timestamp".into(), e.timestamp.to_rfc3339().into());
        for f in &e.metadata {
            if map.contains_key(f.name.as_ref()) {
                continue;
            }
            map.insert(f.name.to_string(), typed(&f.value).to_json());
        }
        serde_json::Value::Object(map)
    }
}

/// The names `SecurityEvent::field_text` answers from the event's own fields.
const BUILTIN: &[&str] = &[
    "event_type",
    "category",
    "severity",
    "outcome",
    "action",
    "message",
    "user",
    "user_id",
    "source_ip",
    "user_agent",
    "resource",
    "resource_type",
    "method",
    "destination_ip",
    "tenant_id",
    "agent_id",
    "reason",
    "host",
    "app",
    "source",
    "correlation_id",
];

fn is_builtin(name: &str) -> bool {
    BUILTIN.contains(&name)
        || matches!(
            name,
            "type" | "result" | "msg" | "username" | "src_ip" | "target" | "dest_ip"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::EventType;

    #[test]
    fn names_and_types() {
        let mut e = SecurityEvent::new(EventType::parse("authentication_failure"), "bad password");
        e.actor.user = Some("alice".into());
        e.actor.source_ip = Some("203.0.113.9".into());
        e.push_metadata("attempts", 4i64);
        e.push_metadata("user", "forged"); // metadata never shadows the event's own fields
        let v = SigmaView(&e);
        assert_eq!(
            v.get_field("user.name"),
            Some(EventValue::Str("alice".into()))
        );
        assert_eq!(v.get_field("User"), Some(EventValue::Str("alice".into())));
        assert_eq!(
            v.get_field("source.ip"),
            Some(EventValue::Str("203.0.113.9".into()))
        );
        assert_eq!(v.get_field("attempts"), Some(EventValue::Int(4)));
        assert_eq!(
            v.get_field("event_type"),
            Some(EventValue::Str("auth.failure".into()))
        );
        assert_eq!(
            v.get_field("event_type_original"),
            Some(EventValue::Str("authentication_failure".into()))
        );
        assert_eq!(v.get_field("nope"), None);
        assert!(v.any_string_value(&|s| s.contains("password")));
        let json = v.to_json();
        assert_eq!(json["attempts"], 4);
        assert_eq!(json["user"], "alice");
    }
}
