//! The one field vocabulary: every well-known field of a security event, its canonical name and
//! the other names it goes by.
//!
//! The normaliser (`tracing` fields), the JSON decoder, destination filters, the rule language,
//! `group_by` and the Sigma view all resolve names through [`WellKnownField::from_name`], so a
//! name means the same field everywhere.
//!
//! | canonical name          | synonyms |
//! |-------------------------|----------|
//! | `event_type`            | `EventType`, `event.type` |
//! | `event_type_original`   | — |
//! | `category`              | `event.category` |
//! | `severity`              | `log.level` |
//! | `outcome`               | `result`, `event.outcome` |
//! | `action`                | `event.action` |
//! | `message`               | `msg`, `Message` |
//! | `user`                  | `username`, `user_name`, `user.name`, `User`, `TargetUserName`, `SubjectUserName` |
//! | `user_id`               | `user.id` |
//! | `source_ip`             | `src_ip`, `client_ip`, `remote_addr`, `ip`, `ip_address`, `IpAddress`, `SourceIp`, `source.ip`, `client.ip`, `c-ip` |
//! | `user_agent`            | `UserAgent`, `user_agent.original`, `c-useragent` |
//! | `resource`              | `target`, `path`, `url`, `resource_id`, `url.path`, `http.route`, `cs-uri-stem` |
//! | `resource_type`         | — |
//! | `method`                | `http_method`, `http.request.method`, `cs-method` |
//! | `destination_ip`        | `dest_ip`, `dst_ip`, `destination.ip` |
//! | `tenant_id`             | `tenant`, `organization.id` |
//! | `agent_id`              | `agent.id` |
//! | `reason`                | `event.reason` |
//! | `correlation_id`        | — |
//! | `host`                  | `hostname`, `host.name`, `Computer`, `ComputerName` |
//! | `app`                   | `service.name` |
//! | `source`                | `log.logger` |
//! | `timestamp`             | `@timestamp`, `time` |
//!
//! Names are matched exactly (case matters: `User` and `user` are both listed, `USER` is not).
//! `type` is deliberately not a synonym of `event_type`: logs such as auditd's carry a `type`
//! field of their own (`type: EXECVE`).

macro_rules! vocabulary {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident => $canonical:literal [$($synonym:literal),* $(,)?],
    )*) => {
        /// A well-known field of a [`SecurityEvent`](crate::SecurityEvent): one of the slots the
        /// event has a place for, named by its canonical name or any synonym (see the
        /// [module table](self)).
        ///
        /// ```
        /// use siem_event::WellKnownField;
        /// let f = WellKnownField::from_name("client_ip").unwrap();
        /// assert_eq!(f, WellKnownField::SourceIp);
        /// assert_eq!(f.canonical_name(), "source_ip");
        /// assert!(f.synonyms().contains(&"source.ip"));
        /// assert_eq!(WellKnownField::from_name("type"), None);
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum WellKnownField {
            $( $(#[doc = $doc])* $field, )*
        }

        impl WellKnownField {
            /// Every well-known field, in table order.
            ///
            /// ```
            /// use siem_event::WellKnownField;
            /// assert_eq!(WellKnownField::ALL[0], WellKnownField::EventType);
            /// ```
            pub const ALL: &'static [WellKnownField] = &[$(WellKnownField::$field),*];

            /// The field a name means, when it is a canonical name or a synonym.
            ///
            /// ```
            /// use siem_event::WellKnownField;
            /// assert_eq!(WellKnownField::from_name("TargetUserName"), Some(WellKnownField::User));
            /// assert_eq!(WellKnownField::from_name("attempts"), None);
            /// ```
            #[inline]
            pub fn from_name(name: &str) -> Option<WellKnownField> {
                // A `match` on string literals: the compiler checks that no name appears twice
                // (an unreachable pattern fails the build) and the lookup does no hashing.
                match name {
                    $( $canonical $(| $synonym)* => Some(WellKnownField::$field), )*
                    _ => None,
                }
            }

            /// The name this field is written under and answered by first.
            ///
            /// ```
            /// use siem_event::WellKnownField;
            /// assert_eq!(WellKnownField::DestinationIp.canonical_name(), "destination_ip");
            /// ```
            pub const fn canonical_name(self) -> &'static str {
                match self {
                    $( WellKnownField::$field => $canonical, )*
                }
            }

            /// The other names this field goes by, most common first.
            ///
            /// ```
            /// use siem_event::WellKnownField;
            /// assert_eq!(WellKnownField::Outcome.synonyms(), ["result", "event.outcome"]);
            /// ```
            pub const fn synonyms(self) -> &'static [&'static str] {
                match self {
                    $( WellKnownField::$field => &[$($synonym),*], )*
                }
            }
        }
    };
}

vocabulary! {
    /// The dotted event type (`auth.failure`).
    EventType => "event_type" ["EventType", "event.type"],
    /// The event type as it was given (`authentication_failure`).
    EventTypeOriginal => "event_type_original" [],
    /// The event type's category (`auth`); derived, never taken from a field.
    Category => "category" ["event.category"],
    /// `info` … `critical`.
    Severity => "severity" ["log.level"],
    /// `success`, `failure`, `denied` or `unknown`.
    Outcome => "outcome" ["result", "event.outcome"],
    /// The action attempted (`login`).
    Action => "action" ["event.action"],
    /// The human-readable message.
    Message => "message" ["msg", "Message"],
    /// The acting user's name.
    User => "user" [
        "username", "user_name", "user.name", "User", "TargetUserName", "SubjectUserName",
    ],
    /// The acting user's stable id.
    UserId => "user_id" ["user.id"],
    /// The address the action came from.
    SourceIp => "source_ip" [
        "src_ip", "client_ip", "remote_addr", "ip", "ip_address", "IpAddress", "SourceIp",
        "source.ip", "client.ip", "c-ip",
    ],
    /// The client's user agent.
    UserAgent => "user_agent" ["UserAgent", "user_agent.original", "c-useragent"],
    /// What the action was performed on (a path, URL or object name).
    Resource => "resource" [
        "target", "path", "url", "resource_id", "url.path", "http.route", "cs-uri-stem",
    ],
    /// The kind of resource (`api`).
    ResourceType => "resource_type" [],
    /// The method or operation (`GET`).
    Method => "method" ["http_method", "http.request.method", "cs-method"],
    /// The address the action was aimed at.
    DestinationIp => "destination_ip" ["dest_ip", "dst_ip", "destination.ip"],
    /// The tenant, in a multi-tenant service.
    TenantId => "tenant_id" ["tenant", "organization.id"],
    /// The agent or instance id.
    AgentId => "agent_id" ["agent.id"],
    /// Why the action failed or was denied.
    Reason => "reason" ["event.reason"],
    /// The id shared by correlated events.
    CorrelationId => "correlation_id" [],
    /// The emitting machine.
    Host => "host" ["hostname", "host.name", "Computer", "ComputerName"],
    /// The emitting application.
    App => "app" ["service.name"],
    /// The emitting component (the `tracing` target).
    Source => "source" ["log.logger"],
    /// When the event happened, as RFC 3339 text.
    Timestamp => "timestamp" ["@timestamp", "time"],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_to_its_field() {
        for &f in WellKnownField::ALL {
            assert_eq!(WellKnownField::from_name(f.canonical_name()), Some(f));
            for s in f.synonyms() {
                assert_eq!(WellKnownField::from_name(s), Some(f), "{s}");
            }
        }
    }

    #[test]
    fn module_table_lists_every_name() {
        let docs = include_str!("vocabulary.rs");
        for &f in WellKnownField::ALL {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("//! | `{}` ", f.canonical_name())))
                .unwrap_or_else(|| panic!("no table row for {}", f.canonical_name()));
            let listed: Vec<&str> = row
                .rsplit('|')
                .nth(1)
                .unwrap()
                .split(',')
                .map(|s| s.trim().trim_matches('`'))
                .filter(|s| *s != "—")
                .collect();
            assert_eq!(listed, f.synonyms(), "table row for {}", f.canonical_name());
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_not_well_known() {
        for name in ["type", "USER", "Source_Ip", "", "user ", "attempts"] {
            assert_eq!(WellKnownField::from_name(name), None, "{name:?}");
        }
    }
}
