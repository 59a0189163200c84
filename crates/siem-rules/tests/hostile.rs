//! Arbitrary input never panics: conditions, rule files, events with hostile field values.

mod common;

use common::{failure, Harness, T0};
use proptest::prelude::*;
use siem_rules::{Condition, Engine, RulesConfig};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_condition_text_parses_or_errors_inside_the_text(text in "\\PC{0,80}") {
        match Condition::parse(&text) {
            Ok(c) => { let _ = c.matches(&failure("u", T0)); }
            Err(e) => {
                prop_assert!(e.position <= text.len());
                prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
            }
        }
    }

    #[test]
    fn grammar_shaped_noise_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("event_type"), Just("user"), Just("=="), Just("="), Just("!="), Just(">"),
                Just(">="), Just("~"), Just("AND"), Just("OR"), Just("NOT"), Just("("), Just(")"),
                Just("count"), Just("in"), Just("by"), Just("5m"), Just("5"), Just("'x'"),
                Just(","), Just("IN"), Just("\"a\\\"b\""), Just("*")
            ],
            0..24,
        )
    ) {
        let text = parts.join(" ");
        if let Ok(c) = Condition::parse(&text) {
            let _ = c.matches(&failure("x", T0));
            let _ = c.threshold();
        }
    }

    #[test]
    fn hostile_field_values_flow_through_every_part(user in "\\PC{0,64}", tenant in "\\PC{0,64}") {
        let mut h = Harness::new(RulesConfig::default());
        for i in 0..12 {
            let mut e = failure(&user, T0 + i);
            e.tenant_id = Some(tenant.clone());
            e.severity = siem_event::Severity::High;
            for a in h.feed(e) {
                let ev = a.to_event();
                prop_assert!(ev.event_type.as_str().starts_with("alert."));
            }
        }
    }
}

#[test]
fn garbage_rule_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let config: RulesConfig = yaml_serde::from_str(&format!(
        "rules_dir: {:?}",
        dir.path().display().to_string()
    ))
    .unwrap();
    for garbage in [
        "\u{0}\u{1}\u{2}",
        "detection: [",
        "- - - -",
        "alerts: {name: 1}",
        "detection:\n  sel: {a: 1}\n  condition: sel and (",
        "correlation: 5",
        "&a [*a, *a]",
    ] {
        std::fs::write(dir.path().join("g.yml"), garbage).unwrap();
        assert!(Engine::new(&config).is_err(), "{garbage:?}");
    }
}
