//! Failover and failback under a flapping collector, with nothing lost: a RELP destination with
//! a backup collector and a disk spool ships numbered events while the primary rsyslog is
//! killed (SIGKILL) and started again over and over, and now and then the backup with it (then
//! the spool takes the events). Every event must reach one collector or the other, count as
//! shipped, none as dropped; the backup must have taken over, the primary taken back (failback)
//! after its last restart, and the spool have been used.
//!
//! `SIEM_FLAP_KILLS` sets the number of primary kills (default 6; `.ci/run` runs 100);
//! `SIEM_FLAP_SEED` replays a run (the seed is printed).

#![cfg(unix)]

mod random;
mod syslog_support;

use std::collections::HashSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use random::{count_from_env, Random};
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::SpoolConfig;
use syslog_support::{numbered, ship_numbered_through, Input, Pace, Rsyslog};

/// Events queued between two actions on the collectors.
const EVENTS_PER_STEP: usize = 300;

fn relp() -> Input {
    Input::Relp { tls: None }
}

/// The distinct messages both collectors hold now.
fn received(primary: &Rsyslog, backup: &Rsyslog) -> HashSet<String> {
    primary
        .messages(0)
        .into_iter()
        .chain(backup.messages(0))
        .collect()
}

#[test]
fn failover_and_failback_under_a_flapping_collector_lose_nothing() {
    let Some(mut primary) = Rsyslog::start(relp()) else {
        return;
    };
    let Some(mut backup) = Rsyslog::start(relp()) else {
        return;
    };
    let kills = count_from_env("SIEM_FLAP_KILLS", 6) as usize;
    let mut random = Random::seeded_from_env("SIEM_FLAP_SEED");
    // Each kill takes two steps (down, then up); a last stretch shows the failback.
    let total = (kills * 2 + 4) * EVENTS_PER_STEP;
    let spool_dir = tempfile::tempdir().unwrap();
    let config = SyslogConfig::relp("127.0.0.1")
        .port(primary.port())
        .backup("127.0.0.1", Some(backup.port()))
        .failback_after(Duration::from_millis(100))
        .connect_timeout(Duration::from_millis(500))
        .backoff(Duration::from_millis(10), Duration::from_millis(100));
    let sink = SyslogSink::new(config).unwrap();

    let spool_path = spool_dir.path().join("spool");
    let spool_holds_segments = || {
        std::fs::read_dir(&spool_path)
            .map(|dir| {
                dir.flatten()
                    .any(|f| f.file_name().to_string_lossy().ends_with(".seg"))
            })
            .unwrap_or(false)
    };
    let (mut both_down, mut spool_used) = (0, 0);
    let mut last_primary_start = 0;
    let d = ship_numbered_through(
        Box::new(sink),
        Some(SpoolConfig::new(spool_dir.path().join("spool"))),
        total,
        Pace::Paced,
        |i| {
            if i == 0 || i % EVENTS_PER_STEP != 0 {
                return;
            }
            let step = i / EVENTS_PER_STEP;
            if step > kills * 2 {
                return;
            }
            if step % 2 == 1 {
                primary.kill();
                // About one time in three the backup goes too: the spool holds the events.
                if random.next(3) == 0 {
                    backup.kill();
                    both_down += 1;
                }
            } else {
                if !backup.is_running() && spool_holds_segments() {
                    spool_used += 1;
                }
                primary.start_again();
                last_primary_start = i;
                if !backup.is_running() {
                    backup.start_again();
                }
            }
            sleep(Duration::from_millis(20 + random.next(150)));
        },
    );
    let seed = random.seed();
    println!(
        "{kills} kills of the primary, {both_down} with the backup \
         ({spool_used} with events in the spool): {d}"
    );
    assert_eq!(d.shipped, total as u64, "seed {seed}: {d}");
    assert_eq!(d.dropped_total(), 0, "seed {seed}: {d}");
    assert_eq!(
        d.spooled, 0,
        "seed {seed}: the spool was sent to its end: {d}"
    );
    if both_down > 0 {
        assert!(
            spool_used > 0,
            "seed {seed}: both collectors were down {both_down} times and the spool never held events"
        );
    }

    let expected: Vec<String> = (0..total).map(numbered).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = received(&primary, &backup);
    while expected.iter().any(|m| !got.contains(m)) && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
        got = received(&primary, &backup);
    }
    let missing: Vec<&String> = expected.iter().filter(|m| !got.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: {} of {total} events reached neither collector, the first: {:?}",
        missing.len(),
        missing.first()
    );
    let wanted: HashSet<&String> = expected.iter().collect();
    assert!(
        got.iter().all(|m| wanted.contains(m)),
        "a collector holds a message that was never sent"
    );
    assert!(
        !backup.messages(0).is_empty(),
        "the backup took over while the primary was down"
    );
    let after_last_start: HashSet<String> = (last_primary_start + 2 * EVENTS_PER_STEP..total)
        .map(numbered)
        .collect();
    assert!(
        primary
            .messages(0)
            .iter()
            .any(|m| after_last_start.contains(m)),
        "the primary took the stream back after its last restart (failback)"
    );
}
