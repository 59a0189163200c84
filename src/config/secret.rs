//! Configuration keys that hold secrets (`redact.hash_key`, a token or password in a
//! destination's settings): their values are masked when the configuration is shown, and an
//! error about one names the key and what was expected, never the value.

use std::sync::LazyLock;

use serde_yaml_ng::Value;

use crate::redact::{DEFAULT_SENSITIVE_FIELDS, MASK};
use crate::{RedactionMode, Redactor};

/// Key names that hold secrets: the names the layer redacts, and `key` as a whole word
/// (`hash_key`, `shared_key`, `client_key`), which in configuration is a key, not an id.
static SECRET_KEYS: LazyLock<Redactor> = LazyLock::new(|| {
    Redactor::new(
        &[DEFAULT_SENSITIVE_FIELDS, &["key"]].concat(),
        RedactionMode::Mask,
        None,
    )
});

/// What an error says instead of a secret's value.
const NOT_SHOWN: &str = "the value is not shown: this key holds a secret";

/// Whether a key path (`redact.hash_key`, `destinations[0].tls.client_key`) is a secret or
/// lies inside one.
pub(crate) fn is_secret_path(path: &str) -> bool {
    path.split('.')
        .map(|segment| segment.split('[').next().unwrap_or(segment))
        .any(is_secret_key)
}

/// Whether one key's value is a secret. A key naming where a secret is kept (`_path`,
/// `_file`: `credentials_path`, `ca_file`) holds a path, and one naming fields (`_fields`:
/// `correlate.key_fields`) holds field names; both are shown: hiding them would make the
/// printed configuration fail `check` and hide what an operator must see.
fn is_secret_key(name: &str) -> bool {
    if name.ends_with("_path") || name.ends_with("_file") || name.ends_with("_fields") {
        return false;
    }
    HELD_SECRETS.contains(&name) || SECRET_KEYS.is_sensitive(name)
}

/// Keys whose every value is treated as a secret whatever its own name: HTTP headers carry
/// credentials under names no list can foresee (`X-Tenant-Auth`, `DD-APPLICATION-KEY`), and a
/// Slack or Teams `webhook_url` is its own credential.
const HELD_SECRETS: &[&str] = &["headers", "webhook_url"];

/// `reason`, the message of an error about the value at `path`, with the value left out when
/// the key holds a secret: serde quotes the value it refused (``invalid type: integer
/// `987654321`, expected a string``), so only what was expected is kept.
pub(crate) fn reason_at(path: &str, reason: String) -> String {
    if !is_secret_path(path) {
        return reason;
    }
    // These say which keys are wrong, not what a value is.
    if ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|p| reason.starts_with(p))
    {
        return reason;
    }
    let what = if reason.starts_with("invalid type") {
        "invalid type"
    } else {
        "invalid value"
    };
    match reason.split_once(", expected ") {
        Some((_, expected)) => format!("{what} ({NOT_SHOWN}), expected {expected}"),
        None => format!("{what} ({NOT_SHOWN})"),
    }
}

/// A copy of `value` with everything under a secret key masked, for display.
pub(crate) fn masked(value: &Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(is_secret_key);
                    (k.clone(), if secret { mask_all(v) } else { masked(v) })
                })
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.iter().map(masked).collect()),
        Value::Tagged(t) => masked(&t.value),
        other => other.clone(),
    }
}

/// `value` with every scalar masked: a secret may be a list of tokens or a mapping of them.
fn mask_all(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Mapping(map) => {
            Value::Mapping(map.iter().map(|(k, v)| (k.clone(), mask_all(v))).collect())
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(mask_all).collect()),
        Value::Tagged(t) => mask_all(&t.value),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => Value::String(MASK.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_paths() {
        for path in [
            "redact.hash_key",
            "destinations[0].tls.client_key",
            "destinations[2].hec_token",
            "destinations[0].headers.X-Api-Key",
            "static_fields.apiToken",
            "credentials.user",
        ] {
            assert!(is_secret_path(path), "{path}");
        }
        for path in [
            "queue.capacity",
            "classify.keywords",
            "destinations[0].host",
            "redact.mode",
            "destinations[0].credentials_path",
            "destinations[0].tls.ca_file",
            "correlate.key_fields",
            "",
        ] {
            assert!(!is_secret_path(path), "{path}");
        }
    }

    #[test]
    fn an_error_about_a_secret_keeps_what_was_expected_and_drops_the_value() {
        let reason = reason_at(
            "redact.hash_key",
            "invalid type: integer `987654321`, expected a string".to_owned(),
        );
        assert!(!reason.contains("987654321"), "{reason}");
        assert!(reason.contains("expected a string"), "{reason}");
        let reason = reason_at(
            "static_fields.token",
            "invalid duration \"s3cr3t\"".to_owned(),
        );
        assert!(!reason.contains("s3cr3t"), "{reason}");
        let unknown = "unknown field `tokn`, expected one of `a`, `b`".to_owned();
        assert_eq!(reason_at("tls.client_key", unknown.clone()), unknown);
        let ordinary = "invalid type: integer `5`, expected a string".to_owned();
        assert_eq!(reason_at("app", ordinary.clone()), ordinary);
    }

    #[test]
    fn everything_under_a_secret_key_is_masked() {
        let v: Value = serde_yaml_ng::from_str(
            "app: svc\nredact: { hash_key: k1 }\ntokens: [t1, t2]\n\
             credentials: { user: u1, password: p1 }\ndestinations: [{ hec_token: 42 }]\n\
             hook: { headers: { X-Tenant-Auth: h1 } }\n",
        )
        .unwrap();
        let shown = serde_yaml_ng::to_string(&masked(&v)).unwrap();
        for secret in ["k1", "t1", "t2", "u1", "p1", "42", "h1"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
        assert!(shown.contains("svc"), "{shown}");
    }
}
