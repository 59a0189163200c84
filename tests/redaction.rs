//! Secrets never leave in clear: sensitive fields in any spelling are redacted in every wire
//! format, span fields included, and the keyed hash is keyed by a random key unless a real
//! one is configured.

mod support;

use std::time::Duration;

use support::Collect;
use tracing::{info_span, warn};
use tracing_siem::format::Format;
use tracing_siem::{Config, DestinationConfig, SiemBuilder, SiemLayer};
use tracing_subscriber::prelude::*;

/// The raw records a builder's layer sends to a destination of `format` while `f` runs.
fn records(builder: SiemBuilder, format: Format, f: impl FnOnce()) -> Vec<String> {
    let sink = Collect::default();
    let (layer, guard) = builder
        .app("test-app")
        .host("test-host")
        .destination_with_sink(
            DestinationConfig::stdout().name("test").format(format),
            Box::new(sink.clone()),
        )
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    assert!(guard.shutdown(Duration::from_secs(10)).completed);
    let records = sink.records.lock().unwrap();
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

/// Logs one event whose own fields and whose span's fields are credentials in the spellings
/// people use, next to ordinary fields whose names merely contain a short entry.
fn log_credentials() {
    let span = info_span!(
        "request",
        "X-Api-Key" = "span-api-key-1",
        sessionId = "span-session-2",
        authorization = "Bearer span-token-3",
        shipping = "span-express-shipping",
    );
    let _entered = span.enter();
    warn!(
        event_type = "auth.failure",
        user = "alice",
        privateKey = "event-private-key-4",
        "private-key" = "event-private-key-5",
        creditCard = "4111111111111111",
        cardNumber = "5500005555555559",
        "api-key" = "event-api-key-6",
        "session-id" = "event-session-7",
        user_pin = 42_424_242_421_u64,
        userPin = 43_434_343_431_i64,
        jwt = "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        passphrase = "event-passphrase-8",
        otp = "otp-918273",
        cvv = 73_707_370_737_u64,
        ssn = "078-05-1120",
        author = "event-author-ok",
        spinner = "event-spinner-ok",
        "Failed login"
    );
}

const SECRETS: &[&str] = &[
    "span-api-key-1",
    "span-session-2",
    "span-token-3",
    "event-private-key-4",
    "event-private-key-5",
    "4111111111111111",
    "5500005555555559",
    "event-api-key-6",
    "event-session-7",
    "42424242421",
    "43434343431",
    "eyJhbGciOiJIUzI1NiJ9",
    "event-passphrase-8",
    "otp-918273",
    "73707370737",
    "078-05-1120",
];

#[test]
fn credentials_in_any_spelling_are_redacted_in_every_format() {
    for format in Format::ALL {
        let records = records(SiemLayer::builder(), format, log_credentials);
        assert_eq!(records.len(), 1, "{format}");
        let raw = &records[0];
        for secret in SECRETS {
            assert!(!raw.contains(secret), "{format}: {secret} leaked: {raw}");
        }
        if format == Format::Rfc3164 {
            // BSD syslog carries the message only: there are no fields to check.
            continue;
        }
        // Rules out a format that would pass by dropping fields: ordinary fields whose names
        // merely contain a short entry (`pin`, `auth`) are sent as they are.
        for kept in [
            "event-author-ok",
            "event-spinner-ok",
            "span-express-shipping",
        ] {
            assert!(raw.contains(kept), "{format}: {kept} missing: {raw}");
        }
        assert!(raw.contains("REDACTED"), "{format}: {raw}");
    }
}

#[test]
fn each_sensitive_field_keeps_its_name_with_a_masked_value() {
    let records = records(SiemLayer::builder(), Format::Json, log_credentials);
    let event = tracing_siem::format::decode_json(records[0].as_bytes()).unwrap();
    for name in [
        "X-Api-Key",
        "sessionId",
        "authorization",
        "privateKey",
        "private-key",
        "creditCard",
        "cardNumber",
        "api-key",
        "session-id",
        "user_pin",
        "userPin",
        "jwt",
        "passphrase",
        "otp",
        "cvv",
        "ssn",
    ] {
        assert_eq!(
            event.metadata(name).and_then(|v| v.as_str()),
            Some("[REDACTED]"),
            "{name}"
        );
    }
    assert_eq!(event.actor.user.as_deref(), Some("alice"));
}

/// The hash the layer sends for `session_id = "s-1"` under a configuration read from `yaml`.
fn hash_of_session(yaml: &str, env: &[(&str, &str)]) -> String {
    let lookup = |k: &str| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let config = Config::from_yaml_with_env(yaml, &lookup, []).unwrap();
    let records = records(SiemBuilder::from_config(config), Format::Json, || {
        warn!(event_type = "auth.failure", session_id = "s-1", "a");
    });
    let event = tracing_siem::format::decode_json(records[0].as_bytes()).unwrap();
    let hash = event.metadata("session_id").unwrap().to_text().into_owned();
    assert!(hash.starts_with("hmac-sha256:"), "{hash}");
    hash
}

const HASH_CONFIG: &str = "redact: { mode: hash, hash_key: \"${SIEM_REDACT_KEY:-}\" }";

#[test]
fn an_unset_hash_key_gives_each_process_its_own_random_key() {
    let first = hash_of_session(HASH_CONFIG, &[]);
    let second = hash_of_session(HASH_CONFIG, &[]);
    assert_ne!(first, second, "an empty key must not be used as the key");
}

#[test]
fn a_configured_hash_key_gives_stable_hashes() {
    let env = [("SIEM_REDACT_KEY", "a long random key from the vault")];
    let first = hash_of_session(HASH_CONFIG, &env);
    let second = hash_of_session(HASH_CONFIG, &env);
    assert_eq!(first, second);
    let other = hash_of_session(HASH_CONFIG, &[("SIEM_REDACT_KEY", "another key")]);
    assert_ne!(first, other);
}

/// The error of loading `yaml`, with `env` as the environment and its `SIEM_*` overrides.
fn config_error(yaml: &str, env: &[(&str, &str)]) -> tracing_siem::ConfigError {
    let lookup = |k: &str| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let overrides = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    Config::from_yaml_with_env(yaml, &lookup, overrides).unwrap_err()
}

#[test]
fn config_errors_name_a_secret_key_but_never_its_value() {
    for (yaml, env, key, expected) in [
        (
            "redact: { hash_key: 987654321 }",
            &[][..],
            "redact.hash_key",
            "a string",
        ),
        (
            "redact: { hash_key: [s3cr3t-item] }",
            &[][..],
            "redact.hash_key",
            "a string",
        ),
        (
            "redact: { hash_key: \"${SIEM_TEST_KEY:-}\" }",
            &[("SIEM__REDACT__HASH_KEY__PART", "987654321")][..],
            "redact.hash_key",
            "not a mapping",
        ),
        (
            "static_fields: { api_token: 987654321 }",
            &[][..],
            "static_fields.api_token",
            "a string",
        ),
        (
            "destinations:\n  - type: syslog\n    host: 127.0.0.1\n    tls: { client_key: 987654321 }",
            &[][..],
            "tls.client_key",
            "path",
        ),
        (
            "redact: { hash_key: \"s3cr3t-item${\" }",
            &[][..],
            "redact.hash_key",
            "unclosed",
        ),
    ] {
        let message = config_error(yaml, env).to_string();
        assert!(message.contains(key), "{yaml}: {message}");
        assert!(message.contains(expected), "{yaml}: {message}");
        for value in ["987654321", "s3cr3t"] {
            assert!(!message.contains(value), "{yaml}: {message}");
        }
    }
    // An ordinary key still shows the value it refused, which helps to find the mistake.
    let message = config_error("queue: { capacity: lots }", &[]).to_string();
    assert!(message.contains("lots"), "{message}");
}
