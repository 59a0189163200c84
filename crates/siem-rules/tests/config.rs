//! Loading rules: the three config forms, the rules directory, and clear errors.

mod common;

use common::{failure, Harness, T0};
use siem_rules::{Engine, RulesConfig, RulesError};

fn load(yaml: &str) -> Result<Engine, RulesError> {
    let config: RulesConfig = yaml_serde::from_str(yaml).map_err(|e| RulesError::File {
        path: "inline".into(),
        reason: e.to_string(),
    })?;
    Engine::new(&config)
}

fn error(yaml: &str) -> String {
    load(yaml).expect_err("should be refused").to_string()
}

#[test]
fn the_default_config_has_the_seed_000_rules_and_correlation() {
    let config = RulesConfig::default();
    assert!(config.enabled && config.defaults && config.correlation.enabled);
    assert_eq!(config.correlation.window.as_secs(), 300);
    let engine = Engine::new(&config).unwrap();
    assert_eq!(engine.rule_names().len(), 8);
    let empty: RulesConfig = yaml_serde::from_str("{}").unwrap();
    assert_eq!(empty.max_groups, config.max_groups);
}

#[test]
fn seed_000_threshold_field_names_are_accepted() {
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {correlation_window_seconds: 300}\nalerts:\n  - name: custom\n    event_type: AUTHENTICATION_FAILURE\n    count_threshold: 5\n    time_window_seconds: 120\n    alert_level: CRITICAL\n    cooldown_seconds: 300\n    escalation_multiplier: 2\n",
    );
    let mut fired = Vec::new();
    for i in 0..5 {
        fired.extend(h.feed(failure("a", T0 + i)));
    }
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].level, siem_rules::AlertLevel::Critical);
}

#[test]
fn disabled_engine_does_nothing() {
    let mut h = Harness::yaml("enabled: false");
    let mut e = common::event("constitutional_hash_mismatch", T0);
    assert!(h.engine.process(&mut e).is_empty());
    assert_eq!(h.engine.metrics().events_processed, 0);
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    assert!(error("alertz: []").contains("alertz"));
    assert!(
        error("alerts:\n  - name: a\n    condition: \"user = x\"\n    treshold: 3\n")
            .contains("treshold")
    );
    assert!(error("correlation: {windw: 5m}").contains("windw"));
}

#[test]
fn bad_rules_name_the_rule_and_the_key() {
    let cases = [
        (
            "  - name: c\n    condition: \"event_type == \"\n",
            "rule \"c\": key `condition`: at column 15",
        ),
        (
            "  - name: t\n    event_type: x\n    threshold: 0\n",
            "key `threshold`",
        ),
        (
            "  - name: w\n    event_type: x\n    window: 0s\n",
            "key `window`",
        ),
        (
            "  - name: s\n    event_type: x\n    severity: loud\n",
            "key `severity`",
        ),
        (
            "  - name: b\n    event_type: x\n    severity: high\n    level: PAGE\n",
            "key `severity`",
        ),
        (
            "  - name: r\n    event_type: x\n    cooldown: 1m\n    realert: {base: 1m, max: 5m}\n",
            "key `realert`",
        ),
        (
            "  - name: r2\n    event_type: x\n    realert: {base: 10m, max: 5m}\n",
            "key `realert`",
        ),
        (
            "  - name: e\n    event_type: x\n    escalation_multiplier: 1\n",
            "key `escalation_multiplier`",
        ),
        (
            "  - name: e2\n    event_type: x\n    escalation_multiplier: .nan\n",
            "key `escalation_multiplier`",
        ),
        ("  - name: all\n    threshold: 3\n", "match every event"),
        (
            "  - name: twice\n    condition: \"user = a AND count > 2 in 1m\"\n    threshold: 3\n",
            "key `threshold`",
        ),
        ("  - name: \"\"\n    event_type: x\n", "key `name`"),
        ("  - name: \"a\\nb\"\n    event_type: x\n", "key `name`"),
        (
            "  - name: g\n    event_type: x\n    group_by: [\"\"]\n",
            "key `group_by`",
        ),
    ];
    for (rule, needle) in cases {
        let text = error(&format!("defaults: false\nalerts:\n{rule}"));
        assert!(text.contains(needle), "{rule:?}: {text}");
    }
    let dup = error("alerts:\n  - {name: a, event_type: x}\n  - {name: a, event_type: y}\n");
    assert!(dup.contains("defined twice"), "{dup}");
    assert!(error("correlation: {min_events: 1}").contains("correlation"));
}

#[test]
fn hostile_rule_text_is_an_error_or_a_literal() {
    let huge = "a".repeat(1 << 20);
    let text = error(&format!(
        "alerts:\n  - name: h\n    condition: \"user = {huge}\"\n"
    ));
    assert!(
        text.contains("longer than"),
        "{}",
        &text[..200.min(text.len())]
    );
    // quotes, pipes, CR/LF, NUL, tabs inside a quoted value are data, never syntax
    let mut h = Harness::yaml(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: weird\n    condition: \"user == 'a|b=c\\\\\\\\\\\"]\\r\\n\\t\\u0000' \"\n",
    );
    let fired = h.feed(failure("a|b=c\\\"]\r\n\t\u{0}", T0));
    assert_eq!(fired.len(), 1);
    assert!(h.feed(failure("a|b=c", T0)).is_empty());
}

#[test]
fn rules_directory_with_alert_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("10-auth.yaml"),
        "- name: dir_rule\n  condition: \"event_type == 'auth.failure' AND count >= 2 in 1m by user\"\n  level: NOTIFY\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("20-more.yml"),
        "alerts:\n  - name: another\n    event_type: config.changed\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a rule file").unwrap();
    let mut h = Harness::yaml(&format!(
        "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}",
        dir.path().display().to_string()
    ));
    assert_eq!(h.engine.rule_names(), ["dir_rule", "another"]);
    assert!(h.feed(failure("a", T0)).is_empty());
    assert_eq!(h.feed(failure("a", T0 + 1))[0].rule.as_ref(), "dir_rule");

    std::fs::write(dir.path().join("30-bad.yml"), "- name: x\n  conditon: y\n").unwrap();
    let err = Engine::new(
        &yaml_serde::from_str(&format!(
            "rules_dir: {:?}",
            dir.path().display().to_string()
        ))
        .unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("30-bad.yml") && err.contains("conditon"),
        "{err}"
    );

    let missing: RulesConfig = yaml_serde::from_str("rules_dir: /nonexistent/rules").unwrap();
    assert!(Engine::new(&missing)
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/rules"));
    // a rule in the directory and one in the config with the same name
    let both: RulesConfig = yaml_serde::from_str(&format!(
        "rules_dir: {:?}\nalerts:\n  - {{name: another, event_type: z}}",
        dir.path().display().to_string()
    ))
    .unwrap();
    std::fs::remove_file(dir.path().join("30-bad.yml")).unwrap();
    assert!(Engine::new(&both)
        .unwrap_err()
        .to_string()
        .contains("defined twice"));
}
