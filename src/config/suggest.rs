//! "Did you mean" for an unknown key or value: the seeds' own spellings first (seed 004's
//! `protocol: tls` is `transport: tls` here), then the nearest known name.

/// A spelling from the seeds' configurations and what it is written as here. It applies only
/// where `target` is one of the keys expected at that place, so `protocol` suggests
/// `transport` inside a syslog destination and `destinations` at the top level.
struct SeedSpelling {
    seed: &'static str,
    target: &'static str,
    hint: &'static str,
}

const SEED_SPELLINGS: &[SeedSpelling] = &[
    SeedSpelling {
        seed: "protocol",
        target: "transport",
        hint: "seed 003 and 004's `protocol` is `transport: udp | tcp | tls` here",
    },
    SeedSpelling {
        seed: "protocol",
        target: "destinations",
        hint: "seed 003's `protocol: syslog` is each destination's `type` under `destinations` here",
    },
    SeedSpelling {
        seed: "use_tls",
        target: "transport",
        hint: "seed 000's `use_tls` is `transport: tls` here (the default)",
    },
    SeedSpelling {
        seed: "tls_verify",
        target: "tls",
        hint: "seed 004's `tls_verify: false` is `tls: { dangerous_disable_verification: true }` here (verification is on by default)",
    },
    SeedSpelling {
        seed: "tls_ca_cert",
        target: "tls",
        hint: "seed 004's `tls_ca_cert` is `tls: { ca_file: … }` here",
    },
    SeedSpelling {
        seed: "facility",
        target: "format_options",
        hint: "the syslog facility is `format_options: { facility: … }` here",
    },
    SeedSpelling {
        seed: "tag",
        target: "format_options",
        hint: "seed 003's syslog `tag` is `format_options: { app_name: … }` here",
    },
    SeedSpelling {
        seed: "buffer_size",
        target: "queue_capacity",
        hint: "seed 004's `buffer_size` is `queue_capacity` here",
    },
    SeedSpelling {
        seed: "buffer_size",
        target: "queue",
        hint: "seed 004's `buffer_size` is `queue: { capacity: … }` here",
    },
    SeedSpelling {
        seed: "buffer_file",
        target: "destinations",
        hint: "seed 004's `buffer_file` is each destination's `spool: { path: <directory> }` here (docs/delivery.md)",
    },
    SeedSpelling {
        seed: "max_queue_size",
        target: "queue",
        hint: "seed 000's `max_queue_size` is `queue: { capacity: … }` here",
    },
    SeedSpelling {
        seed: "drop_on_overflow",
        target: "queue",
        hint: "seed 000's `drop_on_overflow` is `queue: { overflow: drop-newest | block }` here",
    },
    SeedSpelling {
        seed: "batch_size",
        target: "batch",
        hint: "seed 000's `batch_size` is `batch: { max_events: … }` here",
    },
    SeedSpelling {
        seed: "flush_interval_seconds",
        target: "batch",
        hint: "seed 000's `flush_interval_seconds` is `batch: { interval: … }` here",
    },
    SeedSpelling {
        seed: "syslog_host",
        target: "destinations",
        hint: "seed 000's `syslog_host` is `destinations: [{ type: syslog, host: … }]` here",
    },
    SeedSpelling {
        seed: "syslog_port",
        target: "destinations",
        hint: "seed 000's `syslog_port` is `destinations: [{ type: syslog, port: … }]` here",
    },
    SeedSpelling {
        seed: "endpoint_url",
        target: "url",
        hint: "seed 000's `endpoint_url` is `url` here",
    },
    SeedSpelling {
        seed: "http_endpoint",
        target: "url",
        hint: "seed 004's `http_endpoint` is `url` here",
    },
    SeedSpelling {
        seed: "http_headers",
        target: "headers",
        hint: "seed 004's `http_headers` is `headers` here",
    },
    SeedSpelling {
        seed: "filters",
        target: "filter",
        hint: "seed 003's `filters` is `filter` here",
    },
    SeedSpelling {
        seed: "filters",
        target: "destinations",
        hint: "seed 003's `filters` is each destination's `filter` here",
    },
    SeedSpelling {
        seed: "alerts",
        target: "rules",
        hint: "alert rules go under `rules: { alerts: … }` here",
    },
    SeedSpelling {
        seed: "enable_alerting",
        target: "rules",
        hint: "seed 000's `enable_alerting` is `rules: { enabled: … }` here",
    },
    SeedSpelling {
        seed: "correlation_window_seconds",
        target: "rules",
        hint: "seed 000's `correlation_window_seconds` is `rules: { correlation: { window: … } }` here",
    },
    SeedSpelling {
        seed: "enable_anomaly_detection",
        target: "rules",
        hint: "seed 000's `enable_anomaly_detection` is `rules: { correlation: { enabled: … } }` here",
    },
    SeedSpelling {
        seed: "log_level",
        target: "classify",
        hint: "the level from which events count as security events is `classify: { min_level: … }` here",
    },
    SeedSpelling {
        seed: "enabled",
        target: "destinations",
        hint: "the layer is on when it is installed (`rules: { enabled: false }` turns alerting off)",
    },
    SeedSpelling {
        seed: "type",
        target: "destinations",
        hint: "seed 004's one `siem:` block is one entry of `destinations: [{ type: … }]` here",
    },
    SeedSpelling {
        seed: "monitoring",
        target: "destinations",
        hint: "seed 004's `monitoring.siem` block is written at the top level here, its collector under `destinations` (docs/configuration.md maps each key)",
    },
    SeedSpelling {
        seed: "security",
        target: "destinations",
        hint: "seed 003's `security.monitoring.siem` block is written at the top level here (docs/configuration.md maps each key)",
    },
    SeedSpelling {
        seed: "workspace_id",
        target: "dcr_immutable_id",
        hint: "seed 003's `workspace_id`/`shared_key` are for Azure's HTTP Data Collector API, retired on 2026-09-14; the Logs Ingestion API takes a data collection endpoint (`endpoint`), a data collection rule (`dcr_immutable_id`) and its stream (`stream`), which you create for the workspace (docs/http-destinations.md, \"Azure Monitor\")",
    },
    SeedSpelling {
        seed: "shared_key",
        target: "client_secret",
        hint: "seed 003's `shared_key` (the retired HTTP Data Collector API's workspace key) has no counterpart: the Logs Ingestion API authenticates an Entra ID app (`tenant_id`, `client_id`, `client_secret`) with the Monitoring Metrics Publisher role on the data collection rule (docs/http-destinations.md, \"Azure Monitor\")",
    },
    SeedSpelling {
        seed: "log_type",
        target: "stream",
        hint: "seed 003's `log_type: X` (the retired HTTP Data Collector API's table X_CL) is `stream: Custom-X_CL` here, the stream a data collection rule declares for the table X_CL (docs/http-destinations.md, \"Azure Monitor\")",
    },
    SeedSpelling {
        seed: "siem",
        target: "destinations",
        hint: "the keys of a `siem:` block are written at the top level here (docs/configuration.md maps each key)",
    },
];

/// What to tell the user about `unknown`, given the names `expected` at that place: how a
/// seed's spelling is written here, else the nearest name if it is near enough to be a slip.
pub(crate) fn suggestion(unknown: &str, expected: &[&str]) -> Option<String> {
    let seed = SEED_SPELLINGS
        .iter()
        .find(|s| s.seed == unknown && expected.contains(&s.target));
    if let Some(s) = seed {
        return Some(s.hint.to_owned());
    }
    nearest(unknown, expected).map(|name| format!("did you mean `{name}`?"))
}

/// The name among `candidates` nearest to `unknown`, if it is near enough to be a slip.
pub(crate) fn nearest<'a>(unknown: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = fold(unknown);
    candidates
        .iter()
        .map(|name| (strsim::damerau_levenshtein(&folded, &fold(name)), *name))
        .filter(|(distance, name)| *distance <= slip_allowance(name))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Case and `-`/`_` do not count as differences: `Max-Size` is a slip for `max_size`.
fn fold(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// How many edits still read as a slip of the keyboard rather than another word: one in a
/// short name, two from six letters, three from twelve.
fn slip_allowance(name: &str) -> usize {
    match name.chars().count() {
        0..=5 => 1,
        6..=11 => 2,
        _ => 3,
    }
}

/// `reason` with a "did you mean" added when it is serde's complaint about an unknown field
/// or variant (``unknown field `protocol`, expected one of `transport`, `host` ``).
pub(crate) fn with_suggestion(reason: String) -> String {
    let Some((unknown, expected)) = parse_unknown(&reason) else {
        return reason;
    };
    match suggestion(unknown, &expected) {
        // A destination's own keys are read inside the destination, so its message passes here
        // twice; the hint is given once.
        Some(hint) if !reason.ends_with(&hint) => format!("{reason}; {hint}"),
        _ => reason,
    }
}

/// The unknown name and the expected ones in serde's message, if it is one.
fn parse_unknown(reason: &str) -> Option<(&str, Vec<&str>)> {
    let rest = reason
        .strip_prefix("unknown field `")
        .or_else(|| reason.strip_prefix("unknown variant `"))?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).collect::<Vec<&str>>();
    Some((unknown, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_the_nearest_name() {
        assert_eq!(
            suggestion("capcity", &["capacity", "overflow"]).as_deref(),
            Some("did you mean `capacity`?")
        );
        assert_eq!(
            suggestion("destination", &["app", "destinations"]).as_deref(),
            Some("did you mean `destinations`?")
        );
        assert_eq!(
            suggestion("Max-Size", &["max_size", "max_files"]).as_deref(),
            Some("did you mean `max_size`?")
        );
        assert_eq!(suggestion("colour", &["app", "host"]), None);
    }

    #[test]
    fn seed_spellings_apply_where_their_target_is_expected() {
        let hint = suggestion("protocol", &["transport", "host"]).unwrap();
        assert!(hint.contains("`transport"), "{hint}");
        let hint = suggestion("protocol", &["app", "destinations"]).unwrap();
        assert!(hint.contains("`type`"), "{hint}");
        let hint = suggestion("tls_verify", &["host", "tls"]).unwrap();
        assert!(hint.contains("dangerous_disable_verification"), "{hint}");
        assert_eq!(suggestion("tls_verify", &["capacity"]), None);
    }

    #[test]
    fn the_retired_azure_keys_point_to_the_logs_ingestion_api() {
        let keys = ["endpoint", "dcr_immutable_id", "stream", "client_secret"];
        let hint = suggestion("workspace_id", &keys).unwrap();
        assert!(hint.contains("retired on 2026-09-14"), "{hint}");
        assert!(hint.contains("`dcr_immutable_id`"), "{hint}");
        let hint = suggestion("shared_key", &keys).unwrap();
        assert!(hint.contains("`client_secret`"), "{hint}");
        let hint = suggestion("log_type", &keys).unwrap();
        assert!(hint.contains("`stream: Custom-X_CL`"), "{hint}");
        assert_eq!(suggestion("shared_key", &["host", "port"]), None);
    }

    #[test]
    fn serde_messages_get_a_suggestion_and_others_are_kept() {
        let reason = with_suggestion(
            "unknown field `protocol`, expected one of `transport`, `host`".to_owned(),
        );
        assert!(
            reason
                .ends_with("; seed 003 and 004's `protocol` is `transport: udp | tcp | tls` here"),
            "{reason}"
        );
        let reason = with_suggestion(
            "unknown variant `drop_newst`, expected one of `drop-newest`, `block`".to_owned(),
        );
        assert!(reason.ends_with("did you mean `drop-newest`?"), "{reason}");
        let once = with_suggestion(reason.clone());
        assert_eq!(once, reason, "a hint is not given twice");
        let plain = "invalid type: string \"x\", expected u16".to_owned();
        assert_eq!(with_suggestion(plain.clone()), plain);
    }
}
