//! Throughput of the rules engine with 10, 100 and 1 000 threshold rules, against a port of
//! seed 004's `AlertManager` (split the condition text on every event, keep a `Vec` of
//! timestamps per rule) in the same run, like for like: same stream, same rules, same
//! event-time clock, fresh state per iteration, the firing path (seed 004's counter reset) and
//! the suppressed path (a cooldown) reported apart; Sigma rules; and the cost on the
//! application thread of an event when the engine runs on the pipeline thread versus a
//! consumer that drops it.

use std::hint::black_box;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp};
use siem_rules::{Engine, ManualClock, RulesConfig};

const TYPES: [&str; 8] = [
    "auth.failure",
    "auth.success",
    "authz.access_denied",
    "config.changed",
    "security.rate_limit_exceeded",
    "network.connection_failed",
    "data.exported",
    "security.suspicious_activity",
];

fn events(n: usize) -> Vec<SecurityEvent> {
    (0..n)
        .map(|i| {
            let mut e =
                SecurityEvent::new(EventType::parse(TYPES[i % TYPES.len()]), "Failed login");
            e.timestamp = Timestamp::from_unix_secs(1_767_225_600 + (i / 100) as i64);
            e.outcome = if i % 3 == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            e.severity = Severity::Medium;
            e.actor.user = Some(format!("user{}", i % 500));
            e.actor.source_ip = Some(format!("203.0.113.{}", i % 250));
            e.tenant_id = Some(format!("tenant{}", i % 20));
            e
        })
        .collect()
}

/// `rules` threshold rules; `glob` writes the type as a pattern (`auth.failure*`), which the
/// event-type index cannot use, so every rule is looked at for every event.
fn config_with(rules: usize, glob: bool, grouped: bool) -> RulesConfig {
    let mut yaml = String::from("defaults: false\ncorrelation: {enabled: false}\nalerts:\n");
    let star = if glob { "*" } else { "" };
    let by = if grouped { " by user" } else { "" };
    for r in 0..rules {
        let ty = TYPES[r % TYPES.len()];
        yaml.push_str(&format!(
            "  - name: rule{r}\n    condition: \"event_type == '{ty}{star}' AND result = failure AND count >= {} in 5m{by}\"\n    level: NOTIFY\n",
            threshold(r)
        ));
    }
    yaml_serde::from_str(&yaml).expect("bench config")
}

fn config(rules: usize) -> RulesConfig {
    config_with(rules, false, true)
}

fn threshold(rule: usize) -> u64 {
    5 + (rule % 20) as u64
}

/// How a rule behaves once it fired, on both sides of the comparison.
#[derive(Clone, Copy)]
enum Path {
    /// Seed 004: alert, empty the count, alert again at the next N events.
    Firing,
    /// A cooldown longer than the stream: every rule alerts once, then only counts.
    Suppressed,
}

const COOLDOWN_SECS: u64 = 3600;

/// The same rules as the seed 004 baseline, written in seed 004's form (so the count resets
/// at each alert) or with the cooldown.
fn like_for_like(rules: usize, path: Path) -> RulesConfig {
    let mut yaml = String::from("defaults: false\ncorrelation: {enabled: false}\nalerts:\n");
    for r in 0..rules {
        let ty = TYPES[r % TYPES.len()];
        yaml.push_str(&format!(
            "  - name: rule{r}\n    condition: \"event_type={ty} AND result=failure\"\n    threshold: {}\n    window_seconds: 300\n    level: NOTIFY\n",
            threshold(r)
        ));
        if let Path::Suppressed = path {
            yaml.push_str(&format!("    cooldown: {COOLDOWN_SECS}s\n"));
        }
    }
    yaml_serde::from_str(&yaml).expect("bench config")
}

/// Seed 004's AlertManager, ported as written (split the condition text on every event, a
/// `Vec` of timestamps per rule); on the suppressed path with seed 000's cooldown added.
struct Seed004 {
    rules: Vec<(String, u64, f64, Vec<f64>, f64)>,
    cooldown: Option<f64>,
}

impl Seed004 {
    fn new(rules: usize, path: Path) -> Seed004 {
        Seed004 {
            rules: (0..rules)
                .map(|r| {
                    let ty = TYPES[r % TYPES.len()];
                    let cond = format!("event_type={ty} AND result=failure");
                    (cond, threshold(r), 300.0, Vec::new(), f64::MIN)
                })
                .collect(),
            cooldown: match path {
                Path::Firing => None,
                Path::Suppressed => Some(COOLDOWN_SECS as f64),
            },
        }
    }

    fn process(&mut self, e: &SecurityEvent) -> usize {
        let now = e.timestamp.unix_secs() as f64;
        let mut fired = 0;
        for (cond, threshold, window, times, until) in &mut self.rules {
            let matches = cond.split(" AND ").all(|c| {
                let (k, v) = c.split_once('=').unwrap_or((c, ""));
                e.field_text(k.trim()).as_deref() == Some(v.trim())
            });
            if matches {
                times.push(now);
                times.retain(|t| now - *t <= *window);
                if times.len() as u64 >= *threshold {
                    match self.cooldown {
                        None => {
                            fired += 1;
                            times.clear();
                        }
                        Some(c) if now >= *until => {
                            fired += 1;
                            *until = now + c;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        fired
    }
}

/// An engine whose clock follows the event time, as the baseline's does.
fn engine(config: &RulesConfig) -> (Engine, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_unix_secs(0));
    let engine = Engine::with_clock(config, Arc::new(clock.clone())).unwrap();
    (engine, clock)
}

/// Runs the engine over a batch on event time and returns how many alerts it raised.
fn run(engine: &mut Engine, clock: &ManualClock, batch: &mut [SecurityEvent]) -> usize {
    batch
        .iter_mut()
        .map(|e| {
            clock.set(e.timestamp);
            engine.process(e).len()
        })
        .sum()
}

fn baseline(manager: &mut Seed004, batch: &[SecurityEvent]) -> usize {
    batch.iter().map(|e| manager.process(e)).sum()
}

/// Both sides start each iteration from empty state on the same stream, the same rules and
/// the same (event-time) clock; the alert counts are checked equal before timing.
fn throughput(c: &mut Criterion) {
    let batch = events(10_000);
    for (label, path) in [("firing", Path::Firing), ("suppressed", Path::Suppressed)] {
        let mut group = c.benchmark_group(format!("engine_throughput_{label}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(batch.len() as u64));
        for rules in [10usize, 100, 1000] {
            let config = like_for_like(rules, path);
            let (mut e, clock) = engine(&config);
            let ours = run(&mut e, &clock, &mut batch.clone());
            let theirs = baseline(&mut Seed004::new(rules, path), &batch);
            assert_eq!(
                ours, theirs,
                "{label}, {rules} rules: both sides must alert alike"
            );
            eprintln!("{label}, {rules} rules: {ours} alerts on each side");
            group.bench_with_input(BenchmarkId::new("siem_rules", rules), &rules, |b, _| {
                b.iter_batched_ref(
                    || (engine(&config), batch.clone()),
                    |((e, clock), work)| black_box(run(e, clock, work)),
                    BatchSize::LargeInput,
                )
            });
            group.bench_with_input(
                BenchmarkId::new("seed_004_baseline", rules),
                &rules,
                |b, &rules| {
                    b.iter_batched_ref(
                        || Seed004::new(rules, path),
                        |m| black_box(baseline(m, &batch)),
                        BatchSize::LargeInput,
                    )
                },
            );
        }
        group.finish();
    }

    // Our engine only: grouped by user, and glob types the event-type index cannot use.
    let mut group = c.benchmark_group("engine_throughput_variants");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.len() as u64));
    for rules in [10usize, 100, 1000] {
        for (name, glob) in [("grouped", false), ("grouped_unindexed", true)] {
            let config = config_with(rules, glob, true);
            group.bench_with_input(BenchmarkId::new(name, rules), &rules, |b, _| {
                b.iter_batched_ref(
                    || (engine(&config), batch.clone()),
                    |((e, clock), work)| black_box(run(e, clock, work)),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.bench_function("defaults_and_correlation", |b| {
        b.iter_batched_ref(
            || (engine(&RulesConfig::default()), batch.clone()),
            |((e, clock), work)| black_box(run(e, clock, work)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("sigma_9_rules", |b| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma");
        let config: RulesConfig = yaml_serde::from_str(&format!(
            "defaults: false\ncorrelation: {{enabled: false}}\nrules_dir: {:?}",
            dir.display().to_string()
        ))
        .unwrap();
        b.iter_batched_ref(
            || (engine(&config), batch.clone()),
            |((e, clock), work)| black_box(run(e, clock, work)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// The application thread's cost per event: a `try_send` to the pipeline. With 1 000 rules
/// evaluated on the consumer thread versus a consumer that drops the event, the cost on the
/// sending side should be the same.
fn application_thread(c: &mut Criterion) {
    let batch = events(1_000);
    let mut group = c.benchmark_group("application_thread");
    group.throughput(Throughput::Elements(batch.len() as u64));
    for (name, rules) in [
        ("consumer_drops", None),
        ("engine_10_rules", Some(10usize)),
        ("engine_1000_rules", Some(1000usize)),
    ] {
        let (tx, rx) = sync_channel::<SecurityEvent>(65_536);
        let consumer = thread::spawn(move || {
            let mut engine = rules.map(|n| Engine::new(&config(n)).unwrap());
            let mut n = 0u64;
            while let Ok(mut e) = rx.recv() {
                if let Some(engine) = &mut engine {
                    n += engine.process(&mut e).len() as u64;
                }
            }
            n
        });
        let send = |tx: &SyncSender<SecurityEvent>| {
            let mut dropped = 0u64;
            for e in &batch {
                if tx.try_send(e.clone()).is_err() {
                    dropped += 1;
                }
            }
            dropped
        };
        let (mut sent, mut refused) = (0u64, 0u64);
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = send(&tx);
                sent += batch.len() as u64;
                refused += r;
                black_box(r)
            })
        });
        // A full queue refuses (the pipeline counts that as a drop); it never blocks.
        eprintln!("{name}: try_send refused {refused} of {sent} events");
        drop(tx);
        black_box(consumer.join().unwrap());
    }
    group.finish();
}

criterion_group!(benches, throughput, application_thread);
criterion_main!(benches);
