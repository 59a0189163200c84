//! One field vocabulary through the layer: a field is reachable by the exact name it was logged
//! under and by its canonical name, in the normaliser, destination filters, `group_by` and
//! Sigma rules alike.

mod support;

use support::Collect;
use tracing::warn;
use tracing_siem::event::{SecurityEvent, Value};
use tracing_siem::rules::RulesConfig;
use tracing_siem::{DestinationConfig, FilterConfig, SiemBuilder, SiemLayer};
use tracing_subscriber::prelude::*;

fn builder() -> SiemBuilder {
    SiemLayer::builder()
        .app("test-app")
        .host("test-host")
        .without_default_rules()
}

fn alerts(sink: &Collect) -> Vec<SecurityEvent> {
    sink.events()
        .into_iter()
        .filter(|e| e.event_type.category() == "alert")
        .collect()
}

#[test]
fn synonyms_fill_the_event_and_a_second_one_keeps_its_name() {
    let (sink, _) = support::run(builder(), || {
        warn!(
            event_type = "auth.failure",
            client_ip = "10.1.2.3",
            remote_addr = "10.9.9.9",
            user.name = "alice",
            TargetUserName = "bob",
            "Failed login"
        );
    });
    let events = sink.events();
    let e = &events[0];
    assert_eq!(e.actor.source_ip.as_deref(), Some("10.1.2.3"));
    assert_eq!(e.actor.user.as_deref(), Some("alice"));
    assert_eq!(e.metadata("remote_addr"), Some(&Value::from("10.9.9.9")));
    assert_eq!(e.metadata("TargetUserName"), Some(&Value::from("bob")));
    for (name, value) in [
        ("client_ip", "10.1.2.3"),
        ("source_ip", "10.1.2.3"),
        ("source.ip", "10.1.2.3"),
        ("remote_addr", "10.9.9.9"),
        ("user.name", "alice"),
        ("user", "alice"),
        ("TargetUserName", "bob"),
    ] {
        assert_eq!(e.field_text(name).as_deref(), Some(value), "{name}");
    }
}

#[test]
fn a_destination_filter_matches_a_field_by_the_name_it_was_logged_under() {
    let filter: FilterConfig =
        serde_yaml_ng::from_str("include: ['client_ip:10.*']\nexclude: ['user.name:mallory']\n")
            .unwrap();
    let sink = Collect::default();
    let (layer, guard) = builder()
        .destination_with_sink(
            DestinationConfig::stdout().name("test").filter(filter),
            Box::new(sink.clone()),
        )
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        warn!(
            event_type = "auth.failure",
            client_ip = "10.1.2.3",
            "inside"
        );
        warn!(
            event_type = "auth.failure",
            client_ip = "192.0.2.1",
            "outside"
        );
        warn!(
            event_type = "auth.failure",
            source_ip = "10.4.4.4",
            "canonical"
        );
        warn!(
            event_type = "auth.failure",
            client_ip = "10.7.7.7",
            username = "mallory",
            "excluded"
        );
    });
    assert!(guard.shutdown(std::time::Duration::from_secs(10)).completed);
    let messages: Vec<String> = sink.events().into_iter().map(|e| e.message).collect();
    assert_eq!(messages, ["inside", "canonical"]);
}

#[test]
fn group_by_a_synonym_groups_by_its_value() {
    let rules: RulesConfig = serde_yaml_ng::from_str(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: per_ip\n    event_type: auth.failure\n    threshold: 2\n    window: 1m\n    group_by: [client_ip]\n",
    )
    .unwrap();
    let (sink, _) = support::run(builder().rules(rules), || {
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"] {
            warn!(event_type = "auth.failure", client_ip = ip, "Failed login");
        }
    });
    let fired: Vec<Option<String>> = alerts(&sink)
        .into_iter()
        .map(|a| a.actor.source_ip)
        .collect();
    assert_eq!(
        fired,
        [Some("10.0.0.1".to_owned()), Some("10.0.0.2".to_owned())]
    );
}

#[test]
fn rule_conditions_name_fields_by_any_of_their_names() {
    let rules: RulesConfig = serde_yaml_ng::from_str(
        "defaults: false\ncorrelation: {enabled: false}\nalerts:\n  - name: internal_admin\n    condition: \"event_type == auth.failure AND source.ip ~ '10.*'\"\n    where: {TargetUserName: admin}\n    threshold: 1\n",
    )
    .unwrap();
    let (sink, _) = support::run(builder().rules(rules), || {
        warn!(
            event_type = "auth.failure",
            client_ip = "10.0.0.1",
            user = "svc",
            TargetUserName = "admin",
            "hit"
        );
        warn!(
            event_type = "auth.failure",
            client_ip = "192.0.2.1",
            TargetUserName = "admin",
            "outside"
        );
        warn!(
            event_type = "auth.failure",
            client_ip = "10.0.0.2",
            TargetUserName = "guest",
            "other user"
        );
    });
    let fired: Vec<String> = alerts(&sink)
        .iter()
        .filter_map(|a| a.field_text("triggered_by").map(|id| id.into_owned()))
        .collect();
    let hit = sink
        .events()
        .into_iter()
        .find(|e| e.message == "hit")
        .unwrap();
    assert_eq!(fired, [hit.id.to_string()]);
}

#[cfg(feature = "sigma")]
mod sigma {
    use super::*;

    fn rule(title: &str, id: u32, selection: &str) -> String {
        format!(
            "title: {title}\nid: 7d3f0c2e-0000-4000-8000-{id:012}\nstatus: test\n\
             logsource: {{product: linux, service: auditd}}\n\
             detection:\n  selection:\n{selection}\n  condition: selection\nlevel: high\n"
        )
    }

    fn fired(rules: &[(&str, String)], log: impl FnOnce()) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in rules {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let config: RulesConfig = serde_yaml_ng::from_str(&format!(
            "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}\n",
            dir.path().display().to_string()
        ))
        .unwrap();
        let (sink, _) = support::run(builder().rules(config), log);
        let mut titles: Vec<String> = alerts(&sink)
            .iter()
            .filter_map(|a| a.field_text("rule").map(|r| r.into_owned()))
            .collect();
        titles.sort();
        titles
    }

    #[test]
    fn sigma_rules_see_fields_logged_under_ecs_and_windows_names() {
        let rules = [
            (
                "user.yml",
                rule("By user.name", 1, "    user.name: 'alice'"),
            ),
            (
                "ip.yml",
                rule("By source.ip", 2, "    source.ip|cidr: '10.0.0.0/8'"),
            ),
            (
                "target.yml",
                rule("By TargetUserName", 3, "    TargetUserName: 'bob'"),
            ),
        ];
        let titles = fired(&rules, || {
            warn!(event_type = "auth.failure", user.name = "alice", "ecs user");
            warn!(
                event_type = "auth.failure",
                source.ip = "10.2.3.4",
                "ecs ip"
            );
            // `user` fills the actor first; `TargetUserName` stays reachable by its own name.
            warn!(
                event_type = "auth.failure",
                user = "svc",
                TargetUserName = "bob",
                "windows"
            );
        });
        assert_eq!(
            titles,
            ["By TargetUserName", "By source.ip", "By user.name"]
        );
    }

    #[test]
    fn sigma_type_is_the_logged_type_field_as_in_sigmahq_auditd_rules() {
        let rules = [(
            "execve.yml",
            rule(
                "Netcat Execution",
                4,
                "    type: 'EXECVE'\n    a0|endswith: '/nc'",
            ),
        )];
        let titles = fired(&rules, || {
            warn!(
                event_type = "process.exec",
                "type" = "EXECVE",
                a0 = "/usr/bin/nc",
                "exec"
            );
            warn!(
                event_type = "process.exec",
                "type" = "SYSCALL",
                a0 = "/usr/bin/nc",
                "syscall"
            );
        });
        assert_eq!(titles, ["Netcat Execution"]);
    }
}
