//! How a `SecurityEvent` looks to a Sigma rule; the mapping table is in
//! `sigma_fields.md`, published as the `sigma_field_mapping` module docs. Field names resolve
//! through the one vocabulary ([`SecurityEvent::field`]), as rules and filters do.

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue};
use siem_event::{FieldRef, SecurityEvent, Value, WellKnownField};

/// Our name for the field a Sigma rule calls `sigma_name`: the canonical name of a
/// well-known field (`User`, `user.name` → `user`), else the name itself (a label or metadata
/// field), which [`SecurityEvent::field`] resolves as the rule's lookups do.
pub(crate) fn field_name(sigma_name: &str) -> &str {
    WellKnownField::from_name(sigma_name).map_or(sigma_name, |f| f.canonical_name())
}

/// A [`SecurityEvent`] seen through Sigma field names.
pub(crate) struct SigmaView<'a>(pub(crate) &'a SecurityEvent);

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
        Some(match self.0.field(path)? {
            FieldRef::Known(_, text) => EventValue::Str(text),
            FieldRef::Label(text) => EventValue::Str(Cow::Borrowed(text)),
            FieldRef::Metadata(value) => typed(value),
        })
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
        for known in WellKnownField::ALL {
            let key = known.canonical_name();
            if let Some(v) = e.field_text(key) {
                map.insert(key.to_owned(), serde_json::Value::String(v.into_owned()));
            }
        }
        for (k, v) in e.labels.iter() {
            map.entry(k.clone())
                .or_insert_with(|| serde_json::Value::String(v.clone()));
        }
        for f in &e.metadata {
            if map.contains_key(f.name.as_ref()) {
                continue;
            }
            map.insert(f.name.to_string(), typed(&f.value).to_json());
        }
        serde_json::Value::Object(map)
    }
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
        assert_eq!(v.get_field("type"), None);
        assert!(v.any_string_value(&|s| s.contains("password")));
        let json = v.to_json();
        assert_eq!(json["attempts"], 4);
        assert_eq!(json["user"], "alice");
    }

    #[test]
    fn sigma_names_map_to_our_canonical_names() {
        assert_eq!(field_name("User"), "user");
        assert_eq!(field_name("user.name"), "user");
        assert_eq!(field_name("src_ip"), field_name("source.ip"));
        assert_eq!(field_name("TargetUserName"), "user");
        assert_eq!(field_name("LogonType"), "LogonType");
    }

    /// `type` is the field logged as `type`, not the event type (SigmaHQ's auditd rules).
    #[test]
    fn type_is_the_logged_field_not_the_event_type() {
        let mut e = SecurityEvent::new(EventType::parse("process.exec"), "execve");
        e.push_metadata("type", "EXECVE");
        e.push_metadata("a0", "/bin/sh");
        let v = SigmaView(&e);
        assert_eq!(v.get_field("type"), Some(EventValue::Str("EXECVE".into())));
        assert_eq!(
            v.get_field("event_type"),
            Some(EventValue::Str("process.exec".into()))
        );
    }

    #[test]
    fn the_published_mapping_lists_every_name_of_the_vocabulary() {
        let doc = include_str!("sigma_fields.md");
        for known in WellKnownField::ALL {
            let canonical = format!("`{}`", known.canonical_name());
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| {canonical}")))
                .unwrap_or_else(|| panic!("sigma_fields.md has no row for {canonical}"));
            let names: Vec<&str> = row
                .split('|')
                .nth(1)
                .unwrap()
                .split(',')
                .map(|n| n.trim().trim_matches('`'))
                .collect();
            assert_eq!(names[0], known.canonical_name());
            assert_eq!(&names[1..], known.synonyms(), "row for {canonical}");
        }
    }
}
