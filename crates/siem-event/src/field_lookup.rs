//! Finding a field of a [`SecurityEvent`] by name, the way rules, filters and Sigma do.
//!
//! A field is reachable by the exact name it was logged under and by its canonical name:
//!
//! - a canonical name ([`WellKnownField::canonical_name`]) is answered by the event's own field
//!   (metadata of that name never shadows it), or by metadata of that name when the event's own
//!   field is empty;
//! - a synonym (`client_ip`, `user.name`) is answered by metadata of exactly that name first
//!   (the field was logged under it but its slot was already taken), then by the event's own
//!   field;
//! - any other name by a label, then by metadata of that name.

use std::borrow::Cow;

use crate::{SecurityEvent, Value, WellKnownField};

/// A field found on an event: one of the event's own fields as text, a label, or a typed
/// metadata value.
///
/// ```
/// use siem_event::{EventType, FieldRef, SecurityEvent, WellKnownField};
/// let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// e.actor.source_ip = Some("10.1.2.3".into());
/// e.push_metadata("attempts", 3i64);
/// assert!(matches!(e.field("client_ip"), Some(FieldRef::Known(WellKnownField::SourceIp, _))));
/// assert_eq!(e.field("attempts").unwrap().text(), "3");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum FieldRef<'a> {
    /// One of the event's own fields, as text.
    Known(WellKnownField, Cow<'a, str>),
    /// A static label from configuration.
    Label(&'a str),
    /// A metadata field, typed.
    Metadata(&'a Value),
}

impl<'a> FieldRef<'a> {
    /// The value as text (numbers and booleans in their usual form).
    ///
    /// ```
    /// use siem_event::{FieldRef, Value};
    /// assert_eq!(FieldRef::Metadata(&Value::Bool(true)).text(), "true");
    /// ```
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            FieldRef::Known(_, s) => Cow::Borrowed(s.as_ref()),
            FieldRef::Label(s) => Cow::Borrowed(s),
            FieldRef::Metadata(v) => v.to_text(),
        }
    }

    /// The value as text, borrowing from the event where it can.
    ///
    /// ```
    /// use siem_event::FieldRef;
    /// assert_eq!(FieldRef::Label("eu").into_text(), "eu");
    /// ```
    pub fn into_text(self) -> Cow<'a, str> {
        match self {
            FieldRef::Known(_, s) => s,
            FieldRef::Label(s) => Cow::Borrowed(s),
            FieldRef::Metadata(v) => v.to_text(),
        }
    }
}

/// Answers `name` the way [`SecurityEvent::field`] does (see the [module docs](self)), from
/// any place that holds an event's fields: `known` gives a well-known field's own value,
/// `label` a label of that name, `metadata` metadata of that name. For readers that look
/// fields up without building a [`SecurityEvent`] (such as a scan of an encoded record), so
/// that the order of precedence stays in one place.
///
/// ```
/// use siem_event::{resolve_field, WellKnownField};
/// let known = |f: WellKnownField| (f == WellKnownField::SourceIp).then_some("10.0.0.1");
/// let metadata = |name: &str| (name == "client_ip").then_some("10.9.9.9");
/// // A synonym is answered by metadata of exactly that name first, a canonical name by the
/// // event's own field.
/// assert_eq!(resolve_field("client_ip", known, |_| None, metadata), Some("10.9.9.9"));
/// assert_eq!(resolve_field("source_ip", known, |_| None, metadata), Some("10.0.0.1"));
/// ```
pub fn resolve_field<T>(
    name: &str,
    known: impl FnOnce(WellKnownField) -> Option<T>,
    label: impl FnOnce(&str) -> Option<T>,
    metadata: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    match WellKnownField::from_name(name) {
        Some(f) if f.canonical_name() == name => known(f).or_else(|| metadata(name)),
        Some(f) => metadata(name).or_else(|| known(f)),
        None => label(name).or_else(|| metadata(name)),
    }
}

impl SecurityEvent {
    /// The field a rule, filter or Sigma rule means by `name` (see the [`WellKnownField`]
    /// vocabulary): the exact name it was logged under, its canonical name, or a synonym.
    ///
    /// ```
    /// use siem_event::{EventType, FieldRef, SecurityEvent};
    /// let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
    /// e.actor.user = Some("alice".into());
    /// // `TargetUserName` was logged too, after `user` had filled the actor's slot.
    /// e.push_metadata("TargetUserName", "bob");
    /// assert_eq!(e.field("user").unwrap().text(), "alice");
    /// assert_eq!(e.field("user.name").unwrap().text(), "alice");
    /// assert_eq!(e.field("TargetUserName").unwrap().text(), "bob");
    /// assert_eq!(e.field("nope"), None);
    /// ```
    pub fn field(&self, name: &str) -> Option<FieldRef<'_>> {
        resolve_field(
            name,
            |f| self.known(f),
            |name| {
                self.labels
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| FieldRef::Label(v))
            },
            |name| self.metadata(name).map(FieldRef::Metadata),
        )
    }

    /// Any field by the name a rule or filter would use, as text: see
    /// [`SecurityEvent::field`].
    ///
    /// ```
    /// use siem_event::{EventType, SecurityEvent};
    /// let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
    /// e.actor.source_ip = Some("10.1.2.3".into());
    /// assert_eq!(e.field_text("client_ip").as_deref(), Some("10.1.2.3"));
    /// assert_eq!(e.field_text("category").as_deref(), Some("auth"));
    /// ```
    pub fn field_text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.field(name).map(FieldRef::into_text)
    }

    /// The event's own value for a well-known field, `None` when it has none.
    fn known(&self, field: WellKnownField) -> Option<FieldRef<'_>> {
        fn opt(o: &Option<String>) -> Option<Cow<'_, str>> {
            o.as_deref().map(Cow::Borrowed)
        }
        use Cow::Borrowed;
        use WellKnownField as F;
        let text = match field {
            F::EventType => Some(Borrowed(self.event_type.as_str())),
            F::EventTypeOriginal => Some(Borrowed(self.event_type.original())),
            F::Category => Some(Borrowed(self.event_type.category())),
            F::Severity => Some(Borrowed(self.severity.as_str())),
            F::Outcome => Some(Borrowed(self.outcome.as_str())),
            F::Action => opt(&self.action),
            F::Message => Some(Borrowed(self.message.as_str())),
            F::User => opt(&self.actor.user),
            F::UserId => opt(&self.actor.user_id),
            F::SourceIp => opt(&self.actor.source_ip),
            F::UserAgent => opt(&self.actor.user_agent),
            F::Resource => opt(&self.target.resource),
            F::ResourceType => opt(&self.target.resource_type),
            F::Method => opt(&self.target.method),
            F::DestinationIp => opt(&self.target.destination_ip),
            F::TenantId => opt(&self.tenant_id),
            F::AgentId => opt(&self.agent_id),
            F::Reason => opt(&self.reason),
            F::CorrelationId => opt(&self.correlation_id),
            F::Host => Some(Borrowed(&*self.host)),
            F::App => Some(Borrowed(&*self.app)),
            F::Source => opt(&self.source),
            F::Timestamp => Some(Cow::Owned(self.timestamp.to_rfc3339())),
        };
        text.map(|t| FieldRef::Known(field, t))
    }
}

#[cfg(test)]
mod tests {
    use crate::{EventType, SecurityEvent, WellKnownField};

    fn event() -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse("authentication_failure"), "m");
        e.actor.source_ip = Some("10.0.0.1".into());
        e
    }

    #[test]
    fn every_name_of_a_filled_field_answers() {
        let e = event();
        let f = WellKnownField::SourceIp;
        for name in std::iter::once(f.canonical_name()).chain(f.synonyms().iter().copied()) {
            assert_eq!(e.field_text(name).as_deref(), Some("10.0.0.1"), "{name}");
        }
        assert_eq!(
            e.field_text("event_type_original").as_deref(),
            Some("authentication_failure")
        );
    }

    #[test]
    fn metadata_never_shadows_a_canonical_name_but_answers_its_own_synonym() {
        let mut e = event();
        e.push_metadata("source_ip", "forged");
        e.push_metadata("ip", "10.9.9.9");
        assert_eq!(e.field_text("source_ip").as_deref(), Some("10.0.0.1"));
        assert_eq!(e.field_text("ip").as_deref(), Some("10.9.9.9"));
        assert_eq!(e.field_text("src_ip").as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn an_empty_own_field_falls_back_to_metadata_of_that_name() {
        let mut e = event();
        e.push_metadata("user", "from-json-metadata");
        assert_eq!(e.field_text("user").as_deref(), Some("from-json-metadata"));
    }

    #[test]
    fn type_is_not_the_event_type() {
        let mut e = event();
        assert_eq!(e.field_text("type"), None);
        e.push_metadata("type", "EXECVE");
        assert_eq!(e.field_text("type").as_deref(), Some("EXECVE"));
        assert_eq!(e.field_text("event_type").as_deref(), Some("auth.failure"));
    }

    #[test]
    fn labels_come_before_metadata_for_other_names() {
        let mut e = event();
        e.labels = vec![("region".to_owned(), "eu".to_owned())].into();
        e.push_metadata("region", "us");
        assert_eq!(e.field_text("region").as_deref(), Some("eu"));
    }
}
