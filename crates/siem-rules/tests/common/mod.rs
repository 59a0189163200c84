//! Helpers shared by the integration tests: events at chosen times and an engine on a
//! scripted clock.
#![allow(dead_code)]

use std::sync::Arc;

use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp};
use siem_rules::{Alert, Engine, ManualClock, RulesConfig};

/// 2026-01-01T00:00:00Z: an hour boundary, so "bucket" tests straddle a real one.
pub const T0: i64 = 1_767_225_600;

pub fn event(ty: &str, at_secs: i64) -> SecurityEvent {
    let mut e = SecurityEvent::new(EventType::parse(ty), format!("{ty} at {at_secs}"));
    e.timestamp = Timestamp::from_unix_secs(at_secs);
    e
}

pub fn failure(user: &str, at_secs: i64) -> SecurityEvent {
    let mut e = event("auth.failure", at_secs);
    e.outcome = Outcome::Failure;
    e.severity = Severity::Medium;
    e.actor.user = Some(user.to_owned());
    e
}

/// An engine whose clock the test drives; `feed` keeps the clock at each event's time.
pub struct Harness {
    pub engine: Engine,
    pub clock: ManualClock,
}

impl Harness {
    pub fn new(config: RulesConfig) -> Harness {
        let clock = ManualClock::new(Timestamp::from_unix_secs(T0));
        let engine = Engine::with_clock(&config, Arc::new(clock.clone())).expect("valid config");
        Harness { engine, clock }
    }

    pub fn yaml(text: &str) -> Harness {
        Harness::new(yaml_serde::from_str(text).expect("valid YAML config"))
    }

    /// Processes the event with the clock set to the event's time.
    pub fn feed(&mut self, mut e: SecurityEvent) -> Vec<Alert> {
        self.clock.set(e.timestamp);
        self.engine.process(&mut e)
    }

    /// Processes and returns the event too (to look at its correlation id).
    pub fn feed_keep(&mut self, mut e: SecurityEvent) -> (SecurityEvent, Vec<Alert>) {
        self.clock.set(e.timestamp);
        let alerts = self.engine.process(&mut e);
        (e, alerts)
    }
}
