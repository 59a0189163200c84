//! `#[security_audit]` through the public API: one event per call whatever path the function
//! returns by, the outcome judged from the returned value, arguments and `fields(…)` recorded,
//! secrets redacted, the caller's span fields inherited — for sync and async functions.

mod support;

use std::fmt;
use std::net::IpAddr;

use serde_json::Value;
use support::{json_field as field, json_text as text};
use tracing_siem::{security_audit, AuditOutcome, SiemLayer, Verdict};

/// The JSON events the layer ships while `f` runs.
fn events(f: impl FnOnce()) -> Vec<Value> {
    support::run(SiemLayer::builder(), f).0.json()
}

#[derive(Debug)]
struct LoginError(&'static str);

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn check_password(password: &str) -> Result<(), LoginError> {
    if password == "correct horse" {
        Ok(())
    } else {
        Err(LoginError("bad password"))
    }
}

#[security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip))]
fn login(user: &str, password: &str, ip: IpAddr) -> Result<u64, LoginError> {
    if user.is_empty() {
        return Err(LoginError("empty user name"));
    }
    check_password(password)?;
    Ok(42)
}

#[test]
fn a_failed_call_emits_one_failure_with_the_error_as_reason() {
    let ip: IpAddr = "203.0.113.7".parse().unwrap();
    let shipped = events(|| {
        assert!(login("alice", "hunter2", ip).is_err());
    });
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    let event = &shipped[0];
    assert_eq!(text(event, "event_type"), "auth.failure", "{event}");
    assert_eq!(text(event, "result"), "failure", "{event}");
    assert_eq!(text(event, "reason"), "bad password", "{event}");
    assert_eq!(text(event, "ip_address"), "203.0.113.7", "{event}");
    assert_eq!(
        text(event, "username"),
        "alice",
        "strings are recorded unquoted: {event}"
    );
    assert_eq!(text(event, "message"), "login failed", "{event}");
    let event_text = event.to_string();
    assert!(
        !event_text.contains("hunter2"),
        "the password argument is redacted by its name: {event}"
    );
}

#[test]
fn every_return_path_is_audited() {
    let ip: IpAddr = "198.51.100.1".parse().unwrap();
    let shipped = events(|| {
        // `return`, `?` and the end of the body.
        assert!(login("", "x", ip).is_err());
        assert!(login("bob", "x", ip).is_err());
        assert_eq!(login("bob", "correct horse", ip).unwrap(), 42);
    });
    let outcomes: Vec<(&str, Option<&str>)> = shipped
        .iter()
        .map(|e| {
            (
                text(e, "result"),
                field(e, "reason").and_then(Value::as_str),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("failure", Some("empty user name")),
            ("failure", Some("bad password")),
            ("success", None)
        ]
    );
    assert_eq!(text(&shipped[2], "event_type"), "auth.success");
    assert_eq!(text(&shipped[2], "message"), "login succeeded");
}

#[test]
fn the_callers_span_fields_are_on_the_event() {
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let shipped = events(|| {
        let span = tracing::info_span!("request", tenant_id = "acme", request_id = "r-17");
        let _entered = span.enter();
        let _ = login("carol", "nope", ip);
    });
    let event = &shipped[0];
    assert_eq!(text(event, "tenant_id"), "acme", "{event}");
    assert!(event.to_string().contains("r-17"), "{event}");
}

#[security_audit(event_type = "authorization", action = "read_report", skip(token))]
fn may_read(user: &str, token: &str) -> bool {
    !token.is_empty() && user == "admin"
}

#[test]
fn a_bool_is_an_outcome_and_skipped_arguments_are_not_recorded() {
    let shipped = events(|| {
        assert!(!may_read("eve", "opaque-token-value-9"));
        assert!(may_read("admin", "t"));
    });
    assert_eq!(text(&shipped[0], "result"), "failure");
    assert!(field(&shipped[0], "reason").is_none());
    assert!(!shipped[0].to_string().contains("opaque-token-value-9"));
    assert!(field(&shipped[0], "token").is_none(), "{}", shipped[0]);
    assert_eq!(text(&shipped[1], "result"), "success");
}

#[security_audit(event_type = "configuration", action = "set_limit", outcome = |applied: &u32| *applied > 0, skip_all)]
fn set_limit(limit: u32) -> u32 {
    limit.min(100)
}

#[test]
fn a_closure_judges_other_return_types() {
    let shipped = events(|| {
        set_limit(0);
        set_limit(500);
    });
    assert_eq!(text(&shipped[0], "result"), "failure");
    assert_eq!(text(&shipped[1], "result"), "success");
    assert!(field(&shipped[1], "limit").is_none(), "skip_all");
}

/// A return type of the application's own, judged by its own `AuditOutcome`.
enum Access {
    Granted,
    Denied(&'static str),
}

impl AuditOutcome for Access {
    fn audit_outcome(&self) -> Verdict<'_> {
        match self {
            Access::Granted => Verdict::Success,
            Access::Denied(why) => Verdict::Failure { reason: Some(why) },
        }
    }
}

struct Vault {
    name: &'static str,
}

impl Vault {
    #[security_audit(
        event_type = "credential_access",
        action = "read_secret",
        level = "error",
        fields(vault = %self.name, "vault.path" = name)
    )]
    fn read(&self, name: &str) -> Access {
        if name.starts_with("prod/") {
            Access::Denied("production secrets need approval")
        } else {
            Access::Granted
        }
    }
}

#[test]
fn methods_and_own_outcome_types_and_dotted_fields() {
    let vault = Vault { name: "main" };
    let shipped = events(|| {
        assert!(matches!(vault.read("prod/db"), Access::Denied(_)));
    });
    let event = &shipped[0];
    assert_eq!(text(event, "reason"), "production secrets need approval");
    assert_eq!(text(event, "vault"), "main", "{event}");
    assert_eq!(text(event, "vault.path"), "prod/db", "{event}");
    assert_eq!(
        text(event, "severity").to_ascii_lowercase(),
        "high",
        "{event}"
    );
}

#[security_audit(event_type = "authentication", action = "logout")]
async fn logout(session: u64) -> Result<(), LoginError> {
    if session == 0 {
        return Err(LoginError("no such session"));
    }
    let parsed: u64 = "7".parse().map_err(|_| LoginError("unreachable"))?;
    assert_eq!(parsed, 7);
    Ok(())
}

#[test]
fn async_functions_are_audited_when_they_complete() {
    let shipped = events(|| {
        block_on(async {
            assert!(logout(0).await.is_err());
            assert!(logout(9).await.is_ok());
        });
    });
    assert_eq!(shipped.len(), 2);
    assert_eq!(text(&shipped[0], "reason"), "no such session");
    assert_eq!(text(&shipped[1], "result"), "success");
    assert_eq!(text(&shipped[1], "session"), "9", "{}", shipped[1]);
}

/// Runs a future that never waits on anything outside itself.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
