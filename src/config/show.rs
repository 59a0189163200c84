//! The resolved configuration as YAML for a person (`siem check`): what was written, after
//! interpolation and overrides, with the defaults of every key left out filled in.
//!
//! Written values keep their spelling (`100MB` stays `100MB`); only keys that were left out
//! are added, in the schema's order, the destination types' own keys (`transport`, `port`,
//! `rotation` …) included, from each type's [`SinkConfig::settings`]. Secrets are masked by
//! the caller.
//!
//! [`SinkConfig::settings`]: siem_ship::sink::SinkConfig::settings

use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use super::{Config, DestinationConfig, Overflow};
use crate::RedactionMode;

/// `written` (the resolved document of `config`) with the defaults filled in.
pub(crate) fn with_defaults(config: &Config, written: &Value) -> Value {
    let mut effective = effective(config);
    if let (Some(correlate), Value::Mapping(keys)) = (&config.correlate, &mut effective) {
        keys.insert("correlate".into(), correlate_keys(correlate, &config.rules));
    }
    fill(written, &effective)
}

/// `written` where it has a value, else `effective`; mappings are filled key by key, in
/// `effective`'s order then the written keys it does not know, and lists item by item.
fn fill(written: &Value, effective: &Value) -> Value {
    match (written, effective) {
        (Value::Mapping(w), Value::Mapping(e)) => {
            let mut out = Mapping::new();
            for (k, e_value) in e {
                let value = match w.get(k) {
                    Some(w_value) => fill(w_value, e_value),
                    None => e_value.clone(),
                };
                out.insert(k.clone(), value);
            }
            for (k, w_value) in w {
                if !out.contains_key(k) {
                    out.insert(k.clone(), w_value.clone());
                }
            }
            Value::Mapping(out)
        }
        (Value::Sequence(w), Value::Sequence(e)) if w.len() == e.len() => Value::Sequence(
            w.iter()
                .zip(e)
                .map(|(w_item, e_item)| fill(w_item, e_item))
                .collect(),
        ),
        (Value::Null, e) => e.clone(),
        (w, _) => w.clone(),
    }
}

/// Builds a mapping from key-value pairs, in order.
fn mapping<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Mapping(keys(entries))
}

/// The key-value pairs as a YAML mapping, in order.
fn keys<const N: usize>(entries: [(&str, Value); N]) -> Mapping {
    entries
        .into_iter()
        .map(|(k, v)| (Value::from(k), v))
        .collect()
}

/// A duration as the configuration accepts it (`10s`, `100ms`, `1m 30s`).
fn duration(d: Duration) -> Value {
    Value::from(humantime::format_duration(d).to_string())
}

fn number(n: usize) -> Value {
    Value::from(n as u64)
}

fn strings(list: &[String]) -> Value {
    Value::Sequence(list.iter().map(|s| Value::from(s.as_str())).collect())
}

/// The values `config` uses for every key this crate defines, whether written or not.
fn effective(config: &Config) -> Value {
    let q = &config.queue;
    let l = &config.limits;
    let c = &config.classify;
    let r = &config.redact;
    let rules = &config.rules;
    let names = config.destination_names();
    mapping([
        (
            "app",
            config.app.as_deref().map_or(Value::Null, Value::from),
        ),
        (
            "host",
            config.host.as_deref().map_or(Value::Null, Value::from),
        ),
        (
            "static_fields",
            Value::Mapping(
                config
                    .static_fields
                    .iter()
                    .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
                    .collect(),
            ),
        ),
        (
            "classify",
            mapping([
                (
                    "min_level",
                    Value::from(c.min_level.as_str().to_ascii_lowercase()),
                ),
                ("keywords", Value::from(c.keywords)),
                ("rules", Value::Sequence(Vec::new())),
                (
                    "fallback",
                    c.fallback.as_deref().map_or(Value::Null, Value::from),
                ),
            ]),
        ),
        (
            "redact",
            mapping([
                (
                    "mode",
                    Value::from(match r.mode {
                        RedactionMode::Mask => "mask",
                        RedactionMode::Hash => "hash",
                    }),
                ),
                ("fields", strings(&r.fields)),
                ("extra_fields", strings(&r.extra_fields)),
                (
                    "hash_key",
                    r.hash_key.as_deref().map_or(Value::Null, Value::from),
                ),
            ]),
        ),
        (
            "queue",
            mapping([
                ("capacity", number(q.capacity)),
                (
                    "overflow",
                    Value::from(match q.overflow {
                        Overflow::DropNewest => "drop-newest",
                        Overflow::DropOldest => "drop-oldest",
                        Overflow::Block => "block",
                    }),
                ),
                ("block_timeout", duration(q.block_timeout)),
                ("poll_interval", duration(q.poll_interval)),
                (
                    "protect",
                    mapping([
                        ("min_severity", Value::from(q.protect.min_severity.as_str())),
                        ("reserve", number(q.protect.reserve_of(q.capacity))),
                        ("max_wait", duration(q.protect.max_wait)),
                    ]),
                ),
            ]),
        ),
        (
            "limits",
            mapping([
                ("max_field_bytes", number(l.max_field_bytes)),
                ("max_event_bytes", number(l.max_event_bytes)),
                ("max_fields", number(l.max_fields)),
            ]),
        ),
        ("shutdown_timeout", duration(config.shutdown_timeout)),
        (
            "drop_report_interval",
            duration(config.drop_report_interval),
        ),
        ("stderr_notices", Value::from(config.stderr_notices)),
        (
            "destinations",
            Value::Sequence(
                config
                    .destinations
                    .iter()
                    .zip(&names)
                    .map(|(d, name)| destination(d, name))
                    .collect(),
            ),
        ),
        (
            "rules",
            mapping([
                ("enabled", Value::from(rules.enabled)),
                ("defaults", Value::from(rules.defaults)),
                ("max_groups", number(rules.max_groups)),
                (
                    "correlation",
                    mapping([
                        ("enabled", Value::from(rules.correlation.enabled)),
                        ("window", duration(rules.correlation.window)),
                        ("min_events", number(rules.correlation.min_events)),
                        ("history", number(rules.correlation.history)),
                    ]),
                ),
            ]),
        ),
    ])
}

/// The `correlate:` section of `siem correlate`, every key filled in; the lookback is the one
/// the rules give when none is written.
fn correlate_keys(c: &super::CorrelateConfig, rules: &crate::rules::RulesConfig) -> Value {
    mapping([
        ("brokers", Value::from(c.brokers.as_str())),
        ("group_id", Value::from(c.group_id.as_str())),
        ("topic", Value::from(c.topic.as_str())),
        ("key_fields", strings(&c.key_fields)),
        (
            "repartition_topic",
            c.repartition_topic
                .as_deref()
                .map_or(Value::Null, Value::from),
        ),
        (
            "checkpoint",
            mapping([
                ("lookback", duration(c.lookback(rules))),
                ("max_events", Value::from(c.checkpoint.max_events)),
            ]),
        ),
        (
            "metrics",
            mapping([(
                "listen",
                c.metrics.listen.as_deref().map_or(Value::Null, Value::from),
            )]),
        ),
        ("flush_timeout", duration(c.flush_timeout)),
        ("batch_events", number(c.batch_events)),
        ("max_message_bytes", number(c.max_message_bytes)),
        (
            "kafka",
            Value::Mapping(
                c.kafka
                    .iter()
                    .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
                    .collect(),
            ),
        ),
    ])
}

/// A destination's keys: those every destination has, and its type's own settings after
/// `type`.
fn destination(d: &DestinationConfig, name: &str) -> Value {
    let mut shown = common_keys(d, name);
    if let (Some(spool), Value::Mapping(m)) = (&d.spool, &mut shown) {
        m.insert(Value::from("spool"), spool_keys(spool));
    }
    shown
}

/// A destination's disk spool, every key filled in.
fn spool_keys(s: &siem_ship::SpoolConfig) -> Value {
    let when_full = match s.when_full {
        siem_ship::WhenFull::DropOldest => "drop-oldest",
        siem_ship::WhenFull::Block => "block",
        _ => "drop-newest",
    };
    let fsync = match s.fsync {
        siem_ship::FsyncPolicy::Interval => "interval",
        siem_ship::FsyncPolicy::Never => "never",
        _ => "batch",
    };
    mapping([
        ("path", Value::from(s.path.display().to_string())),
        ("max_size", Value::from(s.max_size)),
        ("when_full", Value::from(when_full)),
        ("block_timeout", duration(s.block_timeout)),
        ("fsync", Value::from(fsync)),
        ("fsync_interval", duration(s.fsync_interval)),
    ])
}

fn common_keys(d: &DestinationConfig, name: &str) -> Value {
    let (b, r) = (&d.batch, &d.retry);
    let mut out = Mapping::new();
    out.insert("name".into(), Value::from(name));
    out.insert("type".into(), Value::from(d.sink.type_name()));
    // A settings value that is not a mapping (no type returns one) adds nothing.
    if let Ok(Value::Mapping(settings)) = serde_yaml_ng::to_value(d.sink.settings()) {
        out.extend(settings);
    }
    out.extend(keys([
        ("format", Value::from(d.format.to_string())),
        (
            "batch",
            mapping([
                ("max_events", number(b.max_events)),
                ("max_bytes", number(b.max_bytes)),
                ("interval", duration(b.interval)),
            ]),
        ),
        (
            "retry",
            mapping([
                ("initial_backoff", duration(r.initial_backoff)),
                ("max_backoff", duration(r.max_backoff)),
                (
                    "max_attempts",
                    r.max_attempts
                        .map_or(Value::Null, |n| Value::from(u64::from(n))),
                ),
                ("open_after", Value::from(u64::from(r.open_after))),
                ("open_for", duration(r.open_for)),
            ]),
        ),
        ("queue_capacity", number(d.queue_capacity)),
    ]));
    Value::Mapping(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_values_stay_and_left_out_keys_are_filled() {
        let written: Value =
            serde_yaml_ng::from_str("queue: { capacity: 5000 }\nlimits: { max_field_bytes: 8KiB }")
                .unwrap();
        let config = Config::from_yaml_with_env(
            "queue: { capacity: 5000 }\nlimits: { max_field_bytes: 8KiB }",
            &|_| None,
            [],
        )
        .unwrap();
        let shown = with_defaults(&config, &written);
        assert_eq!(shown["queue"]["capacity"].as_u64(), Some(5000));
        assert_eq!(shown["queue"]["overflow"].as_str(), Some("drop-newest"));
        assert_eq!(shown["queue"]["block_timeout"].as_str(), Some("100ms"));
        assert_eq!(shown["limits"]["max_field_bytes"].as_str(), Some("8KiB"));
        assert_eq!(shown["shutdown_timeout"].as_str(), Some("10s"));
        let keys: Vec<&str> = shown
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            keys[..3],
            ["app", "host", "static_fields"],
            "the schema's order"
        );
        assert!(shown.get("correlate").is_none(), "shown only when written");
    }

    #[test]
    fn the_correlate_section_shows_its_defaults_and_the_lookback_the_rules_give() {
        let yaml = "correlate: { brokers: 'k:9092', topic: events, repartition_topic: r, kafka: { sasl.password: hunter2 } }";
        let written: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let config = Config::from_yaml_with_env(yaml, &|_| None, []).unwrap();
        let shown = with_defaults(&config, &written);
        let c = &shown["correlate"];
        assert_eq!(c["brokers"].as_str(), Some("k:9092"));
        assert_eq!(c["group_id"].as_str(), Some("siem-correlate"));
        assert_eq!(c["key_fields"][1].as_str(), Some("source_ip"));
        assert_eq!(c["batch_events"].as_u64(), Some(1000));
        assert_eq!(c["flush_timeout"].as_str(), Some("10s"));
        // Seed 000's defaults: the longest window plus cooldown is 20 minutes.
        assert_eq!(c["checkpoint"]["lookback"].as_str(), Some("20m"));
        // Masked by the caller, by key name, like every other secret.
        let masked = crate::config::secret::masked(&shown);
        assert_ne!(
            masked["correlate"]["kafka"]["sasl.password"].as_str(),
            Some("hunter2")
        );
    }
}
