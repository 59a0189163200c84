//! Several service processes logging through the layer at once: each a child process running
//! this test binary's ignored `fleet_member` test with a configuration and an agent id.

use std::process::{Command, Stdio};
use std::time::Duration;

use tracing::warn;
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

/// The child's configuration (YAML).
const CONFIG: &str = "SIEM_STREAM_FLEET_CONFIG";
/// The child's agent id.
const AGENT: &str = "SIEM_STREAM_FLEET_AGENT";

/// Events each member logs.
pub const EVENTS: usize = 50;

/// Runs one member per agent, all at once, each shipping with the configuration `yaml`;
/// asserts that each exited successfully (every event shipped).
pub fn run(yaml: &str, agents: &[&str]) {
    let children: Vec<_> = agents
        .iter()
        .map(|agent| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "--nocapture", "fleet_member"])
                .env(CONFIG, yaml)
                .env(AGENT, agent)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a fleet member failed");
    }
}

/// The member's part: logs `EVENTS` failed logins numbered `n` with its `agent_id`, shuts
/// down, and fails unless every one was shipped.
pub fn member() {
    let (Ok(yaml), Ok(agent)) = (std::env::var(CONFIG), std::env::var(AGENT)) else {
        panic!("run by support::fleet::run, which sets {CONFIG} and {AGENT}");
    };
    let config = Config::from_yaml_str(&yaml).unwrap();
    let (layer, guard) = SiemBuilder::from_config(config).build().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for n in 0..EVENTS {
            warn!(
                event_type = "auth.failure",
                agent_id = agent.as_str(),
                user = "alice",
                source_ip = "10.9.8.7",
                n,
                "Failed login"
            );
        }
    });
    let report = guard.shutdown(Duration::from_secs(30));
    assert!(report.completed, "{report:?}");
    assert_eq!(handle.metrics().destinations[0].shipped, EVENTS as u64);
}

/// How many events of each agent arrived, and whether each agent's numbers are 0..EVENTS once
/// each.
pub fn tally(payloads: &[serde_json::Value], agents: &[&str]) {
    for agent in agents {
        let mut ns: Vec<i64> = payloads
            .iter()
            .filter(|p| p["agent_id"] == *agent)
            .map(|p| p["metadata"]["n"].as_i64().unwrap())
            .collect();
        ns.sort_unstable();
        assert_eq!(
            ns,
            (0..EVENTS as i64).collect::<Vec<_>>(),
            "events of {agent}"
        );
    }
}
