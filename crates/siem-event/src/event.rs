use std::sync::{Arc, LazyLock};

use crate::{Compliance, EventId, EventType, Field, Outcome, Severity, Timestamp, Value};

/// Who performed the action.
///
/// ```
/// use siem_event::Actor;
/// let a = Actor { user: Some("alice".into()), source_ip: Some("203.0.113.7".into()), ..Actor::default() };
/// assert!(a.user_agent.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// User name (the `user` field or a synonym: [`WellKnownField::User`](crate::WellKnownField::User)).
    pub user: Option<String>,
    /// Stable user id (`user_id`).
    pub user_id: Option<String>,
    /// Source IP address (`source_ip` or a synonym such as `client_ip`, `remote_addr`, `ip`).
    pub source_ip: Option<String>,
    /// User agent (`user_agent`).
    pub user_agent: Option<String>,
}

/// What the action was performed on.
///
/// ```
/// use siem_event::Target;
/// let t = Target { resource: Some("/api/v1/workspaces".into()), method: Some("GET".into()), ..Target::default() };
/// assert_eq!(t.method.as_deref(), Some("GET"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// The resource (`resource` or a synonym such as `target`, `path`, `url`).
    pub resource: Option<String>,
    /// The kind of resource (`resource_type`), e.g. `api`.
    pub resource_type: Option<String>,
    /// The method or operation (`method`), e.g. `GET`.
    pub method: Option<String>,
    /// A destination address (`destination_ip`, `dest_ip`, `dst_ip`).
    pub destination_ip: Option<String>,
}

/// One security event: what the layer captured, normalised, ready for the rules and encoders.
///
/// Every field is public: encoders read it, the rules engine stamps `correlation_id`, and
/// programs may build events by hand (`siem send-test` does).
///
/// ```
/// use siem_event::{EventType, SecurityEvent, Severity, Value};
/// let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// e.severity = Severity::Medium;
/// e.push_metadata("attempts", 3i64);
/// assert_eq!(e.metadata("attempts"), Some(&Value::I64(3)));
/// assert_eq!(e.field_text("event_type").as_deref(), Some("auth.failure"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    /// Unique id for de-duplication.
    pub id: EventId,
    /// When the event happened (taken on the application thread).
    pub timestamp: Timestamp,
    /// The dotted type.
    pub event_type: EventType,
    /// How serious it is.
    pub severity: Severity,
    /// What came of it.
    pub outcome: Outcome,
    /// The action attempted (`action` field), e.g. `login`.
    pub action: Option<String>,
    /// The human-readable message.
    pub message: String,
    /// Who acted.
    pub actor: Actor,
    /// On what.
    pub target: Target,
    /// Tenant, for multi-tenant services.
    pub tenant_id: Option<String>,
    /// Agent or instance id (seed 000's `agent_id`).
    pub agent_id: Option<String>,
    /// Reason for a failure or denial (`reason`).
    pub reason: Option<String>,
    /// Host name of the emitting machine.
    pub host: Arc<str>,
    /// Emitting application (the SIEM "product" and syslog APP-NAME unless configured otherwise).
    pub app: Arc<str>,
    /// The component that emitted it: the `tracing` target (module path) by default.
    pub source: Option<String>,
    /// Set by the correlator when the event is part of a detected pattern.
    pub correlation_id: Option<String>,
    /// Compliance controls this event evidences.
    pub compliance: Compliance,
    /// Static labels from configuration, added to every event (e.g. seed 000's
    /// `constitutional_hash`), in configuration order.
    pub labels: Arc<[(String, String)]>,
    /// Every other field, typed, in the order they were recorded.
    pub metadata: Vec<Field>,
}

impl SecurityEvent {
    /// A new event of the given type, stamped now, with a fresh id.
    pub fn new(event_type: EventType, message: impl Into<String>) -> SecurityEvent {
        SecurityEvent::at(event_type, message, Timestamp::now())
    }

    /// A new event of the given type that happened at `timestamp`, with a fresh id.
    ///
    /// ```
    /// use siem_event::{EventType, SecurityEvent, Timestamp};
    /// let t = Timestamp::from_unix_nanos(1_700_000_000_000_000_000);
    /// let e = SecurityEvent::at(EventType::parse("auth.failure"), "Failed login", t);
    /// assert_eq!(e.timestamp, t);
    /// assert!(e.host.is_empty() && e.labels.is_empty());
    /// ```
    pub fn at(
        event_type: EventType,
        message: impl Into<String>,
        timestamp: Timestamp,
    ) -> SecurityEvent {
        // Shared empty values: an event's origin is usually set right after, so allocating
        // fresh empty ones would only be freed again.
        static NO_TEXT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
        static NO_LABELS: LazyLock<Arc<[(String, String)]>> =
            LazyLock::new(|| Arc::from(Vec::new()));
        let compliance = Compliance::for_category(event_type.category());
        SecurityEvent {
            id: EventId::new(),
            timestamp,
            event_type,
            severity: Severity::Info,
            outcome: Outcome::Unknown,
            action: None,
            message: message.into(),
            actor: Actor::default(),
            target: Target::default(),
            tenant_id: None,
            agent_id: None,
            reason: None,
            host: Arc::clone(&NO_TEXT),
            app: Arc::clone(&NO_TEXT),
            source: None,
            correlation_id: None,
            compliance,
            labels: Arc::clone(&NO_LABELS),
            metadata: Vec::new(),
        }
    }

    /// Appends a metadata field.
    pub fn push_metadata(
        &mut self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<Value>,
    ) {
        self.metadata.push(Field::new(name, value));
    }

    /// The first metadata field with this name.
    pub fn metadata(&self, name: &str) -> Option<&Value> {
        self.metadata
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}
