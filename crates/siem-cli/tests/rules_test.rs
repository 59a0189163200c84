//! `siem rules test`: rules replayed on recorded events, on the events' own time.

use std::process::{Command, Output};

fn siem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SEED_004_RULE: &str = "defaults: false
correlation: {enabled: false}
alerts:
  - name: Multiple failed logins
    condition: \"event_type=authentication AND result=failure\"
    threshold: 5
    window_seconds: 300
    severity: high
";

/// `n` failed logins `gap` seconds apart from 2026-01-01T00:00:00Z.
fn failures(n: u32, gap: u32) -> String {
    (0..n)
        .map(|i| {
            let secs = i * gap;
            format!(
                "{{\"timestamp\":\"2026-01-01T{:02}:{:02}:{:02}Z\",\"event_type\":\"authentication\",\"result\":\"failure\",\"user\":\"alice\",\"message\":\"Failed login\"}}\n",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        })
        .collect()
}

fn files(rules: &str, events: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("rules.yaml");
    let e = dir.path().join("events.jsonl");
    std::fs::write(&r, rules).unwrap();
    std::fs::write(&e, events).unwrap();
    let (r, e) = (r.display().to_string(), e.display().to_string());
    (dir, r, e)
}

#[test]
fn replays_events_on_their_timestamps_and_prints_the_alerts() {
    // Ten failures 20 s apart: seed 004 alerts on the 5th and the 10th, at their event times.
    let (_dir, rules, events) = files(SEED_004_RULE, &failures(10, 20));
    let out = siem(&["rules", "test", &rules, &events]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("line 5\t2026-01-01T00:01:20.000000Z\tPAGE\tMultiple failed logins\t"),
        "{stdout}"
    );
    assert!(
        lines[0].contains("nis2_early_warning_due=2026-01-02T00:01:20"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("line 10\t2026-01-01T00:03:00.000000Z\tPAGE"),
        "{stdout}"
    );
    assert_eq!(lines[2], "# 10 events, 2 alerts");
}

#[test]
fn a_bare_list_of_rules_is_accepted_and_cooldowns_run_on_event_time() {
    // Twenty failures a minute apart: seed 000's default (10 in 300 s) never gets there, the
    // list's rule (2 in 5 min, cooldown 10 min) alerts every ten minutes of event time.
    let rules =
        "- {name: slow, event_type: authentication, threshold: 2, window: 5m, cooldown: 10m}\n";
    let (_dir, rules, events) = files(rules, &failures(25, 60));
    let out = siem(&["rules", "test", &rules, &events]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let fired: Vec<&str> = stdout.lines().filter(|l| l.contains("\tslow\t")).collect();
    assert_eq!(fired.len(), 3, "{stdout}");
    assert!(fired[0].starts_with("line 2\t"), "{stdout}");
    assert!(fired[1].starts_with("line 12\t"), "{stdout}");
    assert!(fired[2].starts_with("line 22\t"), "{stdout}");
}

#[test]
fn bad_rules_and_bad_lines_have_their_exit_codes() {
    let (_dir, rules, events) = files(
        "alerts:\n  - {name: broken, condition: \"event_type ==\"}\n",
        "",
    );
    let out = siem(&["rules", "test", &rules, &events]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("broken"),
        "{}",
        text(&out.stderr)
    );

    let events = format!("{}not json\n{}", failures(1, 1), failures(1, 1));
    let (_dir, rules, events) = files(SEED_004_RULE, &events);
    let out = siem(&["rules", "test", &rules, &events]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("# 2 events, 0 alerts"));
}
