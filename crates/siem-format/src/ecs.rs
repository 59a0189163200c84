//! Elastic Common Schema documents (ECS 8.11), for Elasticsearch and Elastic Security.
//!
//! | ECS field | from |
//! |-----------|------|
//! | `@timestamp` | timestamp, RFC 3339 UTC with microseconds |
//! | `ecs.version` | `8.11.0` |
//! | `message` | message |
//! | `event.id`, `event.code`, `event.action` | event id; the type as named; the action, else the type's action part |
//! | `event.kind` | `alert` for the `alert` category, else `event` |
//! | `event.category`, `event.type` | from the category (table below); left out for categories ECS has no word for |
//! | `event.outcome` | `success`, `failure` (failure and denied), `unknown` |
//! | `event.severity`, `log.level` | [`siem_event::Severity::cef`] (0–10); the severity name |
//! | `event.reason`, `event.provider` | reason; source component |
//! | `user.name`, `user.id`, `user_agent.original` | actor |
//! | `source.ip` or `source.address` | the actor's address: `ip` only when it parses as an IP (an `ip` field that does not parse makes Elasticsearch reject the whole document) |
//! | `destination.ip` or `destination.address` | the target's destination address, likewise |
//! | `url.original`, `http.request.method` | target resource, method |
//! | `host.name`, `service.name`, `organization.id` | host, app, tenant |
//! | `observer.vendor/product/version` | options |
//! | `rule.name` | the `rule` metadata field of alerts, when it is text |
//! | `labels` | static labels, `agent_id`, `correlation_id`, `resource_type` (strings) |
//! | `tracing_siem` | `event_type`, `event_type_original`, `compliance`, and `metadata` typed (a custom field set, as ECS advises for fields it does not define) |
//!
//! | category | `event.category` | `event.type` |
//! |----------|------------------|--------------|
//! | `auth` | `authentication` | `start` (`end` for logout/logoff), `info` otherwise |
//! | `authz` | `iam` | `allowed` / `denied` by outcome, `change` for role/permission/privilege changes, else `info` |
//! | `access` | `iam` | `user` plus `creation` / `deletion` / `change` |
//! | `credential` | `authentication` | `info` |
//! | `config`, `compliance` | `configuration` | `change` / `info` |
//! | `network` | `network` | `connection` (+ `error` on failure) |
//! | `security`, `integrity`, `alert` | `intrusion_detection` | `denied` when denied, else `info` |
//! | `data` | `database` | `access`, `deletion` |
//! | `availability`, `operational` | `host` | `info` (+ `error` on failure) |

use siem_event::{Outcome, SecurityEvent, Value};

use crate::json::ProductInfo;
use crate::json_writer::{write_str, Obj};
use crate::{Encoder, FormatError, FormatOptions};

/// The ECS version the documents follow.
/// ```
/// assert_eq!(siem_format::ecs::ECS_VERSION, "8.11.0");
/// ```
pub const ECS_VERSION: &str = "8.11.0";

/// Encodes events as ECS documents (see the module documentation for the mapping).
///
/// ```
/// use siem_event::{EventType, Outcome, SecurityEvent};
/// use siem_format::{EcsEncoder, Encoder, FormatOptions};
///
/// let mut event = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
/// event.outcome = Outcome::Failure;
/// event.actor.source_ip = Some("203.0.113.7".into());
/// let mut out = Vec::new();
/// EcsEncoder::new(&FormatOptions::default()).unwrap().encode(&event, &mut out);
/// let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(doc["event"]["category"][0], "authentication");
/// assert_eq!(doc["event"]["outcome"], "failure");
/// assert_eq!(doc["source"]["ip"], "203.0.113.7");
/// ```
#[derive(Debug, Clone)]
pub struct EcsEncoder {
    product: ProductInfo,
}

impl EcsEncoder {
    /// An encoder whose `observer` names the options' vendor, product and version.
    /// ```
    /// assert!(siem_format::EcsEncoder::new(&siem_format::FormatOptions::default()).is_ok());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<EcsEncoder, FormatError> {
        Ok(EcsEncoder {
            product: options.product_info()?,
        })
    }
}

/// `event.category` and `event.type` for an event.
fn categorization(event: &SecurityEvent) -> (Option<&'static str>, [Option<&'static str>; 2]) {
    let action = event.event_type.action();
    let failed = matches!(event.outcome, Outcome::Failure | Outcome::Denied);
    let has = |w: &str| action.contains(w);
    match event.event_type.category() {
        "auth" => (
            Some("authentication"),
            if has("logout") || has("logoff") {
                [Some("end"), None]
            } else if matches!(action, "success" | "failure" | "attempt" | "login") {
                [Some("start"), None]
            } else {
                [Some("info"), None]
            },
        ),
        "authz" => (
            Some("iam"),
            if has("role") || has("permission") || has("privilege") {
                [Some("change"), None]
            } else if event.outcome == Outcome::Success || has("granted") {
                [Some("allowed"), None]
            } else if failed || has("denied") || has("violation") {
                [Some("denied"), None]
            } else {
                [Some("info"), None]
            },
        ),
        "access" => (
            Some("iam"),
            if has("created") {
                [Some("user"), Some("creation")]
            } else if has("deleted") {
                [Some("user"), Some("deletion")]
            } else {
                [Some("user"), Some("change")]
            },
        ),
        "credential" => (Some("authentication"), [Some("info"), None]),
        "config" => (Some("configuration"), [Some("change"), None]),
        "compliance" => (Some("configuration"), [Some("info"), None]),
        "network" => (
            Some("network"),
            [Some("connection"), failed.then_some("error")],
        ),
        "security" | "integrity" | "alert" => (
            Some("intrusion_detection"),
            [
                Some(if event.outcome == Outcome::Denied {
                    "denied"
                } else {
                    "info"
                }),
                None,
            ],
        ),
        "data" => (
            Some("database"),
            [
                Some(if has("deleted") { "deletion" } else { "access" }),
                None,
            ],
        ),
        "availability" | "operational" => (Some("host"), [Some("info"), failed.then_some("error")]),
        _ => (None, [None, None]),
    }
}

fn address(o: &mut Obj, out: &mut Vec<u8>, key: &'static str, value: Option<&str>) {
    if let Some(v) = value {
        o.key(out, key);
        let mut inner = Obj::open(out);
        let field = if crate::text::is_ip(v) {
            "ip"
        } else {
            "address"
        };
        inner.str(out, field, v.trim());
        inner.close(out);
    }
}

impl Encoder for EcsEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(512 + event.message.len());
        let mut o = Obj::open(out);
        o.key(out, "@timestamp");
        out.push(b'"');
        crate::time_cache::write_rfc3339_micros(event.timestamp, out);
        out.push(b'"');
        o.key(out, "ecs");
        out.extend_from_slice(b"{\"version\":\"");
        out.extend_from_slice(ECS_VERSION.as_bytes());
        out.extend_from_slice(b"\"}");
        o.str(out, "message", &event.message);

        o.key(out, "event");
        let mut ev = Obj::open(out);
        ev.key(out, "id");
        out.push(b'"');
        event.id.write_to(out);
        out.push(b'"');
        let kind = if event.event_type.category() == "alert" {
            "alert"
        } else {
            "event"
        };
        ev.str(out, "kind", kind);
        let (category, types) = categorization(event);
        if let Some(c) = category {
            ev.str_array(out, "category", &[c]);
            match types {
                [Some(a), Some(b)] => ev.str_array(out, "type", &[a, b]),
                [Some(a), None] => ev.str_array(out, "type", &[a]),
                _ => {}
            }
        }
        let action = event
            .action
            .as_deref()
            .unwrap_or_else(|| event.event_type.action());
        ev.non_empty(out, "action", Some(action));
        ev.str(out, "code", event.event_type.original());
        let outcome = match event.outcome {
            Outcome::Success => "success",
            Outcome::Failure | Outcome::Denied => "failure",
            Outcome::Unknown => "unknown",
        };
        ev.str(out, "outcome", outcome);
        ev.key(out, "severity");
        out.extend_from_slice(itoa::Buffer::new().format(event.severity.cef()).as_bytes());
        ev.opt_str(out, "reason", event.reason.as_deref());
        ev.opt_str(out, "provider", event.source.as_deref());
        ev.close(out);

        o.key(out, "log");
        let mut log = Obj::open(out);
        log.str(out, "level", event.severity.as_str());
        log.close(out);

        if event.actor.user.is_some() || event.actor.user_id.is_some() {
            o.key(out, "user");
            let mut user = Obj::open(out);
            user.opt_str(out, "name", event.actor.user.as_deref());
            user.opt_str(out, "id", event.actor.user_id.as_deref());
            user.close(out);
        }
        if let Some(ua) = event.actor.user_agent.as_deref() {
            o.key(out, "user_agent");
            let mut inner = Obj::open(out);
            inner.str(out, "original", ua);
            inner.close(out);
        }
        address(&mut o, out, "source", event.actor.source_ip.as_deref());
        address(
            &mut o,
            out,
            "destination",
            event.target.destination_ip.as_deref(),
        );
        if let Some(resource) = event.target.resource.as_deref() {
            o.key(out, "url");
            let mut url = Obj::open(out);
            url.str(out, "original", resource);
            url.close(out);
        }
        if let Some(method) = event.target.method.as_deref() {
            o.key(out, "http");
            out.extend_from_slice(b"{\"request\":{\"method\":");
            write_str(out, method);
            out.extend_from_slice(b"}}");
        }
        if !event.host.is_empty() {
            o.key(out, "host");
            let mut host = Obj::open(out);
            host.str(out, "name", &event.host);
            host.close(out);
        }
        if !event.app.is_empty() {
            o.key(out, "service");
            let mut service = Obj::open(out);
            service.str(out, "name", &event.app);
            service.close(out);
        }
        if let Some(tenant) = event.tenant_id.as_deref() {
            o.key(out, "organization");
            let mut org = Obj::open(out);
            org.str(out, "id", tenant);
            org.close(out);
        }
        o.key(out, "observer");
        let mut observer = Obj::open(out);
        observer.str(out, "vendor", &self.product.vendor);
        observer.str(out, "product", &self.product.product);
        observer.str(out, "version", &self.product.version);
        observer.close(out);
        if kind == "alert" {
            if let Some(Value::Str(rule)) = event.metadata("rule") {
                o.key(out, "rule");
                let mut r = Obj::open(out);
                r.str(out, "name", rule);
                r.close(out);
            }
        }

        o.key(out, "labels");
        let mut labels = Obj::open(out);
        labels.opt_str(out, "agent_id", event.agent_id.as_deref());
        labels.opt_str(out, "correlation_id", event.correlation_id.as_deref());
        labels.opt_str(out, "resource_type", event.target.resource_type.as_deref());
        for (i, (name, value)) in event.labels.iter().enumerate() {
            let taken = matches!(
                name.as_str(),
                "agent_id" | "correlation_id" | "resource_type"
            ) || event.labels[..i].iter().any(|(other, _)| other == name);
            if !taken {
                labels.dyn_key(out, name);
                write_str(out, value);
            }
        }
        labels.close(out);

        o.key(out, "tracing_siem");
        let mut ours = Obj::open(out);
        ours.str(out, "event_type", event.event_type.as_str());
        ours.str(out, "event_type_original", event.event_type.original());
        ours.key(out, "compliance");
        let mut compliance = Obj::open(out);
        compliance.str_array(out, "soc2_cc", &event.compliance.soc2);
        compliance.str_array(out, "iso27001", &event.compliance.iso27001);
        compliance.close(out);
        ours.key(out, "metadata");
        crate::json::write_metadata(out, event);
        ours.close(out);
        o.close(out);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use siem_event::EventType;

    use super::*;

    fn doc(e: &SecurityEvent) -> serde_json::Value {
        let mut out = Vec::new();
        EcsEncoder::new(&FormatOptions::default())
            .unwrap()
            .encode(e, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn categories_and_types() {
        let cases = [
            (
                "auth.failure",
                Outcome::Failure,
                "authentication",
                vec!["start"],
            ),
            (
                "auth.logout",
                Outcome::Success,
                "authentication",
                vec!["end"],
            ),
            (
                "authz.access_denied",
                Outcome::Denied,
                "iam",
                vec!["denied"],
            ),
            (
                "authz.role_changed",
                Outcome::Success,
                "iam",
                vec!["change"],
            ),
            (
                "access.user_created",
                Outcome::Success,
                "iam",
                vec!["user", "creation"],
            ),
            (
                "config.changed",
                Outcome::Unknown,
                "configuration",
                vec!["change"],
            ),
            (
                "network.connection_failed",
                Outcome::Failure,
                "network",
                vec!["connection", "error"],
            ),
            (
                "alert.threshold",
                Outcome::Unknown,
                "intrusion_detection",
                vec!["info"],
            ),
        ];
        for (t, outcome, category, types) in cases {
            let mut e = SecurityEvent::new(EventType::parse(t), "m");
            e.outcome = outcome;
            let d = doc(&e);
            assert_eq!(d["event"]["category"], serde_json::json!([category]), "{t}");
            assert_eq!(d["event"]["type"], serde_json::json!(types), "{t}");
        }
        let d = doc(&SecurityEvent::new(EventType::parse("billing.refund"), "m"));
        assert!(d["event"].get("category").is_none());
    }

    #[test]
    fn alerts_addresses_and_labels() {
        let mut e = SecurityEvent::new(EventType::canonical("alert.threshold"), "too many");
        e.push_metadata("rule", "auth-failures");
        e.push_metadata("count", 12i64);
        e.actor.source_ip = Some("not-an-ip".into());
        e.target.destination_ip = Some("2001:db8::1".into());
        e.labels = Arc::from(vec![
            ("env".to_owned(), "prod".to_owned()),
            ("env".to_owned(), "dup".to_owned()),
        ]);
        let d = doc(&e);
        assert_eq!(d["event"]["kind"], "alert");
        assert_eq!(d["rule"]["name"], "auth-failures");
        assert_eq!(d["source"], serde_json::json!({"address": "not-an-ip"}));
        assert_eq!(d["destination"], serde_json::json!({"ip": "2001:db8::1"}));
        assert_eq!(d["labels"]["env"], "prod");
        assert_eq!(d["tracing_siem"]["metadata"]["count"], 12);
        assert_eq!(d["ecs"]["version"], ECS_VERSION);
    }
}
