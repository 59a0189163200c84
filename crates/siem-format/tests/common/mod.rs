//! Shared by the integration tests: hostile event strategies and strict parsers written from the
//! specifications (independent of the encoders' code).

#![allow(dead_code)]

use std::sync::Arc;

use proptest::prelude::*;

pub mod parsers;
#[allow(unused_imports)] // each test crate uses some of them
pub use parsers::{cut, is_unsafe, parse_cef, parse_leef, spaced};
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp, Value};

/// Text mixing every character an encoder must handle with arbitrary Unicode.
pub fn hostile_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "|", "=", "\\", "\"", "]", "[", "\r", "\n", "\u{0}", "\t", "\u{2028}", "\u{7f}",
        "\u{fffd}", "é", "😀", " ", "  ", "^", "¦", "{", "}", "=\"", " cs1=", " msg=", "\\=",
        "a=b", "-", "\u{85}", "\u{9f}", "\u{2029}", "\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}",
        "\u{200E}", "\u{200F}", "\u{061C}", "\u{a0}", "–", "€", "\u{202F}",
    ]);
    prop::collection::vec(
        prop_oneof![3 => special.prop_map(str::to_owned), 1 => any::<String>()],
        0..10,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes that are not valid UTF-8 arrive as lossy text (U+FFFD), as the layer stores them.
pub fn lossy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub fn any_text() -> BoxedStrategy<String> {
    prop_oneof![4 => hostile_text(), 1 => lossy_text(), 1 => "[a-z_]{1,12}"].boxed()
}

pub fn any_ip_or_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<std::net::IpAddr>().prop_map(|ip| ip.to_string()),
        any_text(),
    ]
    .boxed()
}

pub fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        any_text().prop_map(Value::Str),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(Value::U64),
        any::<f64>().prop_map(Value::F64),
        any::<bool>().prop_map(Value::Bool),
    ]
    .boxed()
}

fn any_severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn any_outcome() -> impl Strategy<Value = Outcome> {
    prop::sample::select(vec![
        Outcome::Success,
        Outcome::Failure,
        Outcome::Denied,
        Outcome::Unknown,
    ])
}

fn opt(s: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    proptest::option::of(s).boxed()
}

prop_compose! {
    fn people()(
        user in opt(any_text()), user_id in opt(any_text()), ip in opt(any_ip_or_text()),
        ua in opt(any_text()), resource in opt(any_text()), method in opt(any_text()),
        dst in opt(any_ip_or_text()),
    ) -> (siem_event::Actor, siem_event::Target) {
        (
            siem_event::Actor { user, user_id, source_ip: ip, user_agent: ua },
            siem_event::Target { resource, resource_type: None, method, destination_ip: dst },
        )
    }
}

prop_compose! {
    /// An event whose every text field may be hostile.
    pub fn any_event()(
        kind in prop_oneof![any_text(), "(auth|authz|access|alert|config)\\.[a-z_]{1,12}"],
        message in any_text(), severity in any_severity(), outcome in any_outcome(),
        (actor, target) in people(),
        tenant in opt(any_text()), agent in opt(any_text()), correlation in opt(any_text()),
        action in opt(any_text()), reason in opt(any_text()), source in opt(any_text()),
        host in any_text(), app in any_text(), nanos in -1_000_000_000_000_000_000i64..4_000_000_000_000_000_000,
        labels in prop::collection::vec((any_text(), any_text()), 0..4),
        meta in prop::collection::vec((any_text(), any_value()), 0..5),
    ) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse(&kind), message);
        e.timestamp = Timestamp::from_unix_nanos(nanos);
        e.severity = severity;
        e.outcome = outcome;
        e.actor = actor;
        e.target = target;
        e.tenant_id = tenant;
        e.agent_id = agent;
        e.correlation_id = correlation;
        e.action = action;
        e.reason = reason;
        e.source = source;
        e.host = Arc::from(host.as_str());
        e.app = Arc::from(app.as_str());
        e.labels = Arc::from(labels);
        for (k, v) in meta {
            e.push_metadata(k, v);
        }
        e
    }
}
