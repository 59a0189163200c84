//! Open Cybersecurity Schema Framework events, **OCSF 1.2.0**.
//!
//! Every event carries the base event's required attributes: `class_uid`, `category_uid`,
//! `activity_id`, `type_uid` (= class_uid × 100 + activity_id), `severity_id`
//! ([`siem_event::Severity::ocsf_id`]), `time` (epoch milliseconds) and `metadata`
//! (`version` = `1.2.0`, `product` {`name`, `vendor_name`, `version`}, `uid` = event id,
//! `correlation_uid`), plus `class_name`, `category_name`, `activity_name`, `type_name`,
//! `severity`, `status_id`/`status` (1 Success, 2 Failure, 0 Unknown; Findings use 1 New),
//! `status_detail` (reason), `message`, and `unmapped` for everything OCSF has no attribute for
//! (event type, tenant, agent, source, labels, typed metadata).
//!
//! | event types | class | activity |
//! |-------------|-------|----------|
//! | `auth.*` (not below) | Authentication 3002 | 1 Logon; 2 Logoff for `logout`/`logoff`; 99 Other for token events |
//! | `auth.password_changed`, `auth.password_reset`, `auth.mfa_enabled`, `auth.mfa_disabled`, `access.*` | Account Change 3001 | 3 Password Change, 4 Password Reset, 10 MFA Factor Enable, 11 MFA Factor Disable, 1 Create (`*_created`), 6 Delete (`*_deleted`), 5 Disable (`*_suspended`), 2 Enable (`*_activated`), else 99 Other |
//! | `authz.role_changed`, `authz.permission_changed`, `authz.privilege_escalation` | Authorize Session 3003 | 1 Assign Privileges (`privileges` = the action) |
//! | other `authz.*` | API Activity 6003 | by method: 1 Create (POST), 2 Read (GET, HEAD), 3 Update (PUT, PATCH), 4 Delete (DELETE), else 0 Unknown |
//! | `alert.*`, `security.*`, `integrity.*` | Detection Finding 2004 | 1 Create; `finding_info` {`uid`, `title`, `analytic` {`type_id` 1 Rule, `name`}}; `is_alert` for alerts |
//! | anything else | Base Event 0 (category 0 Uncategorized) | 99 Other (`activity_name` = the event type) |
//!
//! Class requirements are met from the event: `user` (Authentication, Account Change, Authorize
//! Session; `{"name":"unknown"}` when the event names no user), `service` (Authentication: the
//! app or product), `actor`, `api.operation` and `src_endpoint` (API Activity), `src_endpoint`
//! `ip` only when the source parses as an IP address (else `hostname`).

use siem_event::{Outcome, SecurityEvent, Value};

use crate::json::ProductInfo;
use crate::json_writer::{write_str, Obj};
use crate::{Encoder, FormatError, FormatOptions};

/// The OCSF schema version the events follow.
/// ```
/// assert_eq!(siem_format::ocsf::OCSF_VERSION, "1.2.0");
/// ```
pub const OCSF_VERSION: &str = "1.2.0";

/// An OCSF class with the activity this event maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    uid: u32,
    name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
}

const fn class(
    uid: u32,
    name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity: (u32, &'static str),
) -> Class {
    Class {
        uid,
        name,
        category_uid,
        category_name,
        activity_id: activity.0,
        activity_name: activity.1,
    }
}

fn classify(event: &SecurityEvent) -> Class {
    const IAM: &str = "Identity & Access Management";
    let action = event.event_type.action();
    let has = |w: &str| action.contains(w);
    let account = |activity| class(3001, "Account Change", 3, IAM, activity);
    match event.event_type.category() {
        "auth" if has("password_changed") => account((3, "Password Change")),
        "auth" if has("password_reset") => account((4, "Password Reset")),
        "auth" if has("mfa_enabled") => account((10, "MFA Factor Enable")),
        "auth" if has("mfa_disabled") => account((11, "MFA Factor Disable")),
        "auth" => {
            let activity = if has("logout") || has("logoff") {
                (2, "Logoff")
            } else if has("token") {
                (99, "Other")
            } else {
                (1, "Logon")
            };
            class(3002, "Authentication", 3, IAM, activity)
        }
        "access" => account(if has("created") {
            (1, "Create")
        } else if has("deleted") {
            (6, "Delete")
        } else if has("suspended") {
            (5, "Disable")
        } else if has("activated") {
            (2, "Enable")
        } else {
            (99, "Other")
        }),
        "authz" if has("role") || has("permission") || has("privilege") => {
            class(3003, "Authorize Session", 3, IAM, (1, "Assign Privileges"))
        }
        "authz" => {
            let method = event.target.method.as_deref().unwrap_or("");
            let activity = match method.to_ascii_uppercase().as_str() {
                "POST" => (1, "Create"),
                "GET" | "HEAD" => (2, "Read"),
                "PUT" | "PATCH" => (3, "Update"),
                "DELETE" => (4, "Delete"),
                _ => (0, "Unknown"),
            };
            class(6003, "API Activity", 6, "Application Activity", activity)
        }
        "alert" | "security" | "integrity" => {
            class(2004, "Detection Finding", 2, "Findings", (1, "Create"))
        }
        _ => class(0, "Base Event", 0, "Uncategorized", (99, "Other")),
    }
}

/// Encodes events as OCSF 1.2.0 events (see the module documentation for the mapping).
///
/// ```
/// use siem_event::{EventType, Outcome, SecurityEvent};
/// use siem_format::{Encoder, FormatOptions, OcsfEncoder};
///
/// let mut event = SecurityEvent::new(EventType::parse("auth.failure"), "Bad password");
/// event.outcome = Outcome::Failure;
/// event.actor.user = Some("alice".into());
/// let mut out = Vec::new();
/// OcsfEncoder::new(&FormatOptions::default()).unwrap().encode(&event, &mut out);
/// let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
/// assert_eq!(v["class_uid"], 3002);
/// assert_eq!(v["type_uid"], 300201);
/// assert_eq!(v["status_id"], 2);
/// assert_eq!(v["user"]["name"], "alice");
/// ```
#[derive(Debug, Clone)]
pub struct OcsfEncoder {
    product: ProductInfo,
}

impl OcsfEncoder {
    /// An encoder whose `metadata.product` names the options' vendor, product and version.
    /// ```
    /// assert!(siem_format::OcsfEncoder::new(&siem_format::FormatOptions::default()).is_ok());
    /// ```
    pub fn new(options: &FormatOptions) -> Result<OcsfEncoder, FormatError> {
        Ok(OcsfEncoder {
            product: options.product_info()?,
        })
    }
}

fn endpoint(o: &mut Obj, out: &mut Vec<u8>, key: &'static str, value: Option<&str>) {
    if let Some(v) = value {
        o.key(out, key);
        let mut e = Obj::open(out);
        let field = if crate::text::is_ip(v) {
            "ip"
        } else {
            "hostname"
        };
        e.str(out, field, v.trim());
        e.close(out);
    }
}

fn user(o: &mut Obj, out: &mut Vec<u8>, event: &SecurityEvent, required: bool) {
    let (name, uid) = (event.actor.user.as_deref(), event.actor.user_id.as_deref());
    if name.is_none() && uid.is_none() && !required {
        return;
    }
    o.key(out, "user");
    let mut u = Obj::open(out);
    u.str(
        out,
        "name",
        name.unwrap_or(if uid.is_none() { "unknown" } else { "" }),
    );
    u.opt_str(out, "uid", uid);
    u.close(out);
}

impl Encoder for OcsfEncoder {
    fn encode(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        out.reserve(640 + event.message.len());
        let c = classify(event);
        let finding = c.uid == 2004;
        let mut o = Obj::open(out);
        o.int(out, "class_uid", i64::from(c.uid));
        o.str(out, "class_name", c.name);
        o.int(out, "category_uid", i64::from(c.category_uid));
        o.str(out, "category_name", c.category_name);
        o.int(out, "activity_id", i64::from(c.activity_id));
        let activity_name = if c.activity_id == 99 {
            event.event_type.as_str()
        } else {
            c.activity_name
        };
        o.str(out, "activity_name", activity_name);
        o.int(
            out,
            "type_uid",
            i64::from(c.uid) * 100 + i64::from(c.activity_id),
        );
        o.key(out, "type_name");
        out.push(b'"');
        crate::json_writer::write_str_body(out, c.name);
        out.extend_from_slice(b": ");
        crate::json_writer::write_str_body(out, activity_name);
        out.push(b'"');
        o.int(out, "severity_id", i64::from(event.severity.ocsf_id()));
        let severity = match event.severity.ocsf_id() {
            1 => "Informational",
            2 => "Low",
            3 => "Medium",
            4 => "High",
            _ => "Critical",
        };
        o.str(out, "severity", severity);
        let (status_id, status) = if finding {
            (1, "New")
        } else {
            match event.outcome {
                Outcome::Success => (1, "Success"),
                Outcome::Failure | Outcome::Denied => (2, "Failure"),
                Outcome::Unknown => (0, "Unknown"),
            }
        };
        o.int(out, "status_id", status_id);
        o.str(out, "status", status);
        o.opt_str(out, "status_detail", event.reason.as_deref());
        o.int(out, "time", event.timestamp.unix_millis());
        o.str(out, "message", &event.message);

        o.key(out, "metadata");
        let mut m = Obj::open(out);
        m.str(out, "version", OCSF_VERSION);
        m.key(out, "product");
        let mut p = Obj::open(out);
        p.str(out, "name", &self.product.product);
        p.str(out, "vendor_name", &self.product.vendor);
        p.str(out, "version", &self.product.version);
        p.close(out);
        m.key(out, "uid");
        out.push(b'"');
        event.id.write_to(out);
        out.push(b'"');
        m.opt_str(out, "correlation_uid", event.correlation_id.as_deref());
        m.close(out);

        match c.uid {
            3002 => {
                user(&mut o, out, event, true);
                o.key(out, "service");
                let mut s = Obj::open(out);
                let name = if event.app.is_empty() {
                    &self.product.product
                } else {
                    &*event.app
                };
                s.str(out, "name", name);
                s.close(out);
            }
            3001 => user(&mut o, out, event, true),
            3003 => {
                user(&mut o, out, event, true);
                o.key(out, "privileges");
                out.push(b'[');
                write_str(
                    out,
                    event
                        .action
                        .as_deref()
                        .unwrap_or_else(|| event.event_type.action()),
                );
                out.push(b']');
            }
            6003 => {
                o.key(out, "actor");
                let mut a = Obj::open(out);
                user(&mut a, out, event, true);
                a.close(out);
                o.key(out, "api");
                let mut api = Obj::open(out);
                api.key(out, "operation");
                let operation = match (&event.target.method, &event.target.resource) {
                    (Some(m), Some(r)) => format!("{m} {r}"),
                    (Some(m), None) => m.clone(),
                    (None, Some(r)) => r.clone(),
                    (None, None) => event.event_type.as_str().to_owned(),
                };
                write_str(out, &operation);
                api.close(out);
                if event.actor.source_ip.is_none() {
                    o.key(out, "src_endpoint");
                    out.extend_from_slice(b"{\"name\":\"unknown\"}");
                }
            }
            2004 => {
                o.key(out, "finding_info");
                let mut f = Obj::open(out);
                f.key(out, "uid");
                out.push(b'"');
                event.id.write_to(out);
                out.push(b'"');
                let title = if event.message.is_empty() {
                    event.event_type.as_str()
                } else {
                    &event.message
                };
                f.str(out, "title", title);
                f.key(out, "analytic");
                let mut an = Obj::open(out);
                an.int(out, "type_id", 1);
                an.str(out, "type", "Rule");
                let rule = match event.metadata("rule") {
                    Some(Value::Str(r)) => r.as_str(),
                    _ => event.event_type.as_str(),
                };
                an.str(out, "name", rule);
                an.close(out);
                f.close(out);
                o.bool(out, "is_alert", event.event_type.category() == "alert");
                user(&mut o, out, event, false);
            }
            _ => user(&mut o, out, event, false),
        }
        endpoint(
            &mut o,
            out,
            "src_endpoint",
            event.actor.source_ip.as_deref(),
        );
        endpoint(
            &mut o,
            out,
            "dst_endpoint",
            event.target.destination_ip.as_deref(),
        );
        if event.target.method.is_some() || event.actor.user_agent.is_some() {
            o.key(out, "http_request");
            let mut h = Obj::open(out);
            h.opt_str(out, "http_method", event.target.method.as_deref());
            h.opt_str(out, "user_agent", event.actor.user_agent.as_deref());
            h.close(out);
        }

        o.key(out, "unmapped");
        let mut u = Obj::open(out);
        u.str(out, "event_type", event.event_type.as_str());
        u.str(out, "event_type_original", event.event_type.original());
        u.opt_str(out, "action", event.action.as_deref());
        u.opt_str(out, "tenant_id", event.tenant_id.as_deref());
        u.opt_str(out, "agent_id", event.agent_id.as_deref());
        u.opt_str(out, "source", event.source.as_deref());
        u.opt_str(out, "resource", event.target.resource.as_deref());
        u.opt_str(out, "resource_type", event.target.resource_type.as_deref());
        u.non_empty(out, "host", Some(&event.host));
        u.key(out, "labels");
        let mut l = Obj::open(out);
        for (i, (name, value)) in event.labels.iter().enumerate() {
            if !event.labels[..i].iter().any(|(other, _)| other == name) {
                l.dyn_key(out, name);
                write_str(out, value);
            }
        }
        l.close(out);
        u.key(out, "metadata");
        crate::json::write_metadata(out, event);
        u.close(out);
        o.close(out);
    }
}

#[cfg(test)]
mod tests {
    use siem_event::{EventType, Severity};

    use super::*;

    fn ocsf(e: &SecurityEvent) -> serde_json::Value {
        let mut out = Vec::new();
        OcsfEncoder::new(&FormatOptions::default())
            .unwrap()
            .encode(e, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    fn event(t: &str, outcome: Outcome) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse(t), "m");
        e.outcome = outcome;
        e
    }

    #[test]
    fn class_mapping_and_type_uid() {
        for (t, class_uid, activity) in [
            ("auth.success", 3002, 1),
            ("auth.logout", 3002, 2),
            ("auth.token_expired", 3002, 99),
            ("auth.password_changed", 3001, 3),
            ("auth.mfa_disabled", 3001, 11),
            ("access.user_created", 3001, 1),
            ("access.user_suspended", 3001, 5),
            ("authz.privilege_escalation", 3003, 1),
            ("authz.access_denied", 6003, 0),
            ("alert.threshold", 2004, 1),
            ("security.prompt_injection", 2004, 1),
            ("config.changed", 0, 99),
        ] {
            let v = ocsf(&event(t, Outcome::Unknown));
            assert_eq!(v["class_uid"], class_uid, "{t}");
            assert_eq!(v["activity_id"], activity, "{t}");
            assert_eq!(v["type_uid"], class_uid * 100 + activity, "{t}");
            assert_eq!(v["category_uid"], class_uid / 1000, "{t}");
            for required in ["severity_id", "time", "metadata"] {
                assert!(v.get(required).is_some(), "{t} lacks {required}");
            }
            assert_eq!(v["metadata"]["version"], OCSF_VERSION);
        }
    }

    #[test]
    fn api_activity_and_findings() {
        let mut e = event("authz.access_denied", Outcome::Denied);
        e.target.method = Some("DELETE".into());
        e.target.resource = Some("/v1/tenants/42".into());
        e.actor.user = Some("alice".into());
        e.actor.source_ip = Some("203.0.113.7".into());
        let v = ocsf(&e);
        assert_eq!(v["activity_id"], 4);
        assert_eq!(v["api"]["operation"], "DELETE /v1/tenants/42");
        assert_eq!(v["actor"]["user"]["name"], "alice");
        assert_eq!(v["src_endpoint"]["ip"], "203.0.113.7");
        assert_eq!(v["status_id"], 2);

        let mut alert = SecurityEvent::new(EventType::canonical("alert.threshold"), "5 failures");
        alert.severity = Severity::High;
        alert.push_metadata("rule", "auth-failures");
        let v = ocsf(&alert);
        assert_eq!(v["finding_info"]["title"], "5 failures");
        assert_eq!(v["finding_info"]["analytic"]["name"], "auth-failures");
        assert_eq!(v["is_alert"], true);
        assert_eq!(v["status_id"], 1);
        assert_eq!(v["severity_id"], 4);
        assert_eq!(v["unmapped"]["metadata"]["rule"], "auth-failures");
    }
}
