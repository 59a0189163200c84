//! The spool survives `kill -9`: a child process logs numbered events to a destination with a
//! spool (fsync per batch) whose collector goes down and up at random; it is killed at random
//! moments and started again, over the same spool, many times. At the end a last child drains
//! the spool, and the collector must hold every event a child had made durable (a flush had
//! answered for it: the event was delivered or synced into the spool), at least once. The
//! test fails too if no kill left durable events undelivered (it would prove nothing).
//!
//! `SIEM_SPOOL_KILL_RUNS` sets the number of kills (default 20); `SIEM_SPOOL_KILL_SEED` replays
//! a run (the seed is printed).

#![cfg(unix)]

mod random;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use random::{count_from_env, Random};
use siem_event::{EventType, SecurityEvent};
use siem_format::Encoder;
use siem_ship::{
    Batch, BatchConfig, Destination, Pipeline, PipelineConfig, Processor, RetryConfig, Sink,
    SinkError, SpoolConfig,
};

const CHILD_DIR: &str = "SIEM_SPOOL_KILL_CHILD_DIR";
const CHILD_FIRST: &str = "SIEM_SPOOL_KILL_CHILD_FIRST";
const CHILD_COUNT: &str = "SIEM_SPOOL_KILL_CHILD_COUNT";

struct Numbered;
impl Processor<u64> for Numbered {
    fn process(&mut self, item: u64, out: &mut Vec<SecurityEvent>) {
        out.push(SecurityEvent::new(
            EventType::parse("auth.failure"),
            format!("N{item};"),
        ));
    }
}

struct Message;
impl Encoder for Message {
    fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(e.message.as_bytes());
    }
}

/// The collector: appends each record as a line to `received`, unless the file `down`
/// exists (then every send fails, retryably).
struct Collector {
    received: PathBuf,
    down: PathBuf,
}

impl Sink for Collector {
    fn kind(&self) -> &'static str {
        "collector"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.down.exists() {
            return Err(SinkError::retryable("collector down"));
        }
        let mut lines = Vec::with_capacity(batch.byte_len() + batch.len());
        for r in batch.records() {
            lines.extend_from_slice(r);
            lines.push(b'\n');
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.received)?
            .write_all(&lines)?;
        Ok(())
    }
}

/// The child: logs `count` events numbered from `first` (none: only drains the spool),
/// flushing every 100 and printing `durable N` once a flush answered for event N.
#[test]
#[ignore = "the child process of every_event_made_durable_survives_kill_9"]
fn spool_kill_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let number = |var| std::env::var(var).unwrap().parse::<u64>().unwrap();
    let (first, count) = (number(CHILD_FIRST), number(CHILD_COUNT));
    let collector = Collector {
        received: dir.join("received"),
        down: dir.join("down"),
    };
    let dest = Destination::new("collector", Box::new(Message), Box::new(collector))
        .with_batch(
            BatchConfig::default()
                .max_events(100)
                .interval(Duration::from_millis(5)),
        )
        .with_retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(2))
                .max_backoff(Duration::from_millis(20)),
        )
        .with_spool(SpoolConfig::new(dir.join("spool")));
    let config = PipelineConfig {
        notices: false,
        ..PipelineConfig::default()
    };
    let p = Pipeline::start(config, Numbered, vec![dest]).unwrap();
    let mut out = std::io::stdout().lock();
    for n in first..first + count {
        while !p.queue().push(n, false) {
            thread::sleep(Duration::from_millis(1));
        }
        if (n - first) % 100 == 99 && p.flush(Duration::from_secs(10)).completed {
            writeln!(out, "durable {n}").unwrap();
            out.flush().unwrap();
        }
    }
    if count == 0 {
        let give_up = Instant::now() + Duration::from_secs(60);
        while p.metrics().destinations[0].spool_bytes > 0 {
            assert!(Instant::now() < give_up, "the spool did not drain");
            thread::sleep(Duration::from_millis(5));
        }
        p.shutdown(Duration::from_secs(10));
        writeln!(out, "drained").unwrap();
    }
}

/// A small deterministic generator, so that a failing run can be replayed from its seed.
/// Starts a child; its `durable` lines land in the returned vector as they come.
fn start_child(
    dir: &Path,
    first: u64,
    count: u64,
) -> (std::process::Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture", "spool_kill_child"])
        .env(CHILD_DIR, dir)
        .env(CHILD_FIRST, first.to_string())
        .env(CHILD_COUNT, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (child, lines)
}

/// The highest `durable N` a child printed.
fn durable(lines: &[String]) -> Option<u64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("durable ")?.parse().ok())
        .max()
}

/// The numbers in the collector's file, read as it grows. A line torn by a kill is followed,
/// on the same line, by the next child's complete record, so the last `N…;` of a line counts.
#[derive(Default)]
struct Received {
    numbers: std::collections::HashSet<u64>,
    read: u64,
    /// The last line, not yet ended.
    partial: String,
}

impl Received {
    fn update(&mut self, path: &Path) {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(path) else {
            return;
        };
        file.seek(SeekFrom::Start(self.read)).unwrap();
        let mut new = Vec::new();
        file.read_to_end(&mut new).unwrap();
        self.read += new.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&new));
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        self.numbers.extend(complete.lines().filter_map(|l| {
            let at = l.rfind('N')?;
            l[at + 1..].strip_suffix(';')?.parse::<u64>().ok()
        }));
    }
}

#[test]
fn every_event_made_durable_survives_kill_9() {
    let runs = count_from_env("SIEM_SPOOL_KILL_RUNS", 20);
    let mut random = Random::seeded_from_env("SIEM_SPOOL_KILL_SEED");
    let seed = random.seed();
    let dir = tempfile::tempdir().unwrap();
    let down = dir.path().join("down");
    let received_file = dir.path().join("received");
    let mut received = Received::default();
    let mut promised = Vec::new();
    // Events made durable yet not received when their child was killed: only the spool held
    // them, and only a later process could deliver them.
    let mut left_in_spool = 0;
    for run in 0..runs {
        let set_down = |down_now: bool| {
            if down_now {
                std::fs::write(&down, b"").unwrap();
            } else {
                let _ = std::fs::remove_file(&down);
            }
        };
        set_down(random.next(2) == 0);
        let first = run * 1_000_000;
        let (mut child, lines) = start_child(dir.path(), first, 900_000);
        thread::sleep(Duration::from_millis(50 + random.next(300)));
        set_down(random.next(2) == 0);
        thread::sleep(Duration::from_millis(random.next(200)));
        child.kill().unwrap();
        child.wait().unwrap();
        // The reader thread may still be taking the last lines of the pipe.
        thread::sleep(Duration::from_millis(20));
        let made_durable = durable(&lines.lock().unwrap());
        if let Some(n) = made_durable {
            received.update(&received_file);
            left_in_spool += (first..=n)
                .filter(|e| !received.numbers.contains(e))
                .count();
            promised.push(first..=n);
        }
    }
    let _ = std::fs::remove_file(&down);
    let (mut drain, lines) = start_child(dir.path(), 0, 0);
    assert!(drain.wait().unwrap().success());
    thread::sleep(Duration::from_millis(20));
    assert!(
        lines.lock().unwrap().iter().any(|l| l == "drained"),
        "the draining child did not finish"
    );

    received.update(&received_file);
    let got = &received.numbers;
    assert!(
        left_in_spool > 0,
        "seed {seed}: no kill left durable events in the spool: the test proves nothing"
    );
    for range in &promised {
        let missing: Vec<u64> = range.clone().filter(|n| !got.contains(n)).take(5).collect();
        assert!(
            missing.is_empty(),
            "seed {seed}: events made durable and never received, e.g. {missing:?}"
        );
    }
    let total: u64 = promised.iter().map(|r| r.end() - r.start() + 1).sum();
    println!(
        "{runs} kills: {total} events made durable, {left_in_spool} of them left in the spool \
         at a kill; all received ({} distinct received)",
        got.len()
    );
}
