//! Per-severity overflow settings through the configuration. The behaviour is proven where it
//! is deterministic, on the queue itself (`siem-ship`'s queue tests: a flood of ordinary items
//! leaves the reserve to protected ones under every overflow policy, and the same flood sheds
//! them without a reserve); through the layer, a stalled pipeline's in-flight capacity is not
//! fixed enough to assert on.

use tracing_siem::Config;

#[test]
fn protection_settings_are_validated() {
    let yaml = |protect: &str| format!("queue: {{ capacity: 100, protect: {protect} }}\n");
    for (protect, key) in [
        ("{ min_severity: urgent }", "queue.protect.min_severity"),
        ("{ reserve: 100 }", "queue.protect.reserve"),
        ("{ max_wait: 2m }", "queue.protect.max_wait"),
    ] {
        let err = Config::from_yaml_str(&yaml(protect)).unwrap_err();
        assert!(err.to_string().contains(key), "{protect}: {err}");
    }
    assert!(Config::from_yaml_str(&yaml("{ min_severity: off, reserve: 100 }")).is_ok());
    assert!(Config::from_yaml_str(&yaml("{ min_severity: critical, reserve: 99 }")).is_ok());
}
