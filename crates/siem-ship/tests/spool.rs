//! The disk spool's promises, through the pipeline: a down or slow destination spools instead
//! of dropping, everything arrives in order after recovery, a restart sends what the last
//! process left first, the size bound holds under each `when_full` policy, damage is detected,
//! skipped and counted, and hostile files in the spool never panic.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use siem_event::{EventType, SecurityEvent};
use siem_format::Encoder;
use siem_ship::{
    Batch, BatchConfig, Destination, DestinationMetrics, DropReason, OverflowPolicy, Pipeline,
    PipelineConfig, Processor, RetryConfig, Sink, SinkError, SpoolConfig, WhenFull,
};

struct Numbers;
impl Processor<u64> for Numbers {
    fn process(&mut self, item: u64, out: &mut Vec<SecurityEvent>) {
        out.push(SecurityEvent::new(
            EventType::parse("auth.failure"),
            format!(
                "{item:08} padding to make each record about a hundred bytes long, as events are"
            ),
        ));
    }
}

struct Plain;
impl Encoder for Plain {
    fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(e.event_type.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(e.message.as_bytes());
    }
}

/// A collector that can be switched off (every send fails, retryably) and on.
#[derive(Clone)]
struct Collector {
    up: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<u64>>>,
    delay: Duration,
}

impl Collector {
    fn new(up: bool) -> Collector {
        Collector {
            up: Arc::new(AtomicBool::new(up)),
            got: Arc::default(),
            delay: Duration::ZERO,
        }
    }

    fn numbers(&self) -> Vec<u64> {
        self.got.lock().unwrap().clone()
    }
}

impl Sink for Collector {
    fn kind(&self) -> &'static str {
        "collector"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        thread::sleep(self.delay);
        if !self.up.load(Ordering::SeqCst) {
            return Err(SinkError::retryable("collector down"));
        }
        let mut got = self.got.lock().unwrap();
        for r in batch.records() {
            // Drop reports (`siem.events_dropped …`) are not numbered events.
            let text = String::from_utf8_lossy(r);
            if let Some(n) = text
                .strip_prefix("auth.failure ")
                .and_then(|t| t.get(..8))
                .and_then(|t| t.parse().ok())
            {
                got.push(n);
            }
        }
        Ok(())
    }
}

fn pipeline_config() -> PipelineConfig {
    PipelineConfig {
        queue_capacity: 200_000,
        overflow: OverflowPolicy::DropNewest,
        tick: Duration::from_millis(2),
        notices: false,
        ..PipelineConfig::default()
    }
}

/// Events per batch.
const BATCH_EVENTS: u64 = 100;

fn destination(sink: &Collector, spool: SpoolConfig) -> Destination {
    Destination::new("siem", Box::new(Plain), Box::new(sink.clone()))
        .with_batch(
            BatchConfig::default()
                .max_events(BATCH_EVENTS as usize)
                .interval(Duration::from_millis(10)),
        )
        .with_retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(2))
                .max_backoff(Duration::from_millis(10)),
        )
        // Room for a flood in front of the spool.
        .with_queue_capacity(100_000)
        .with_spool(spool)
}

fn start(sink: &Collector, spool: SpoolConfig) -> Pipeline<u64> {
    Pipeline::start(pipeline_config(), Numbers, vec![destination(sink, spool)]).unwrap()
}

fn emit(p: &Pipeline<u64>, numbers: std::ops::Range<u64>) {
    for i in numbers {
        // The queue is large enough for every test; a refused push would show in the counts.
        p.queue().push(i, false);
    }
}

fn metrics(p: &Pipeline<u64>) -> DestinationMetrics {
    p.metrics().destinations[0].clone()
}

fn dropped(m: &DestinationMetrics, reason: DropReason) -> u64 {
    m.dropped
        .iter()
        .filter(|(r, _)| *r == reason)
        .map(|(_, n)| n)
        .sum()
}

/// Waits (up to a minute, so that a slow machine does not fail the test) for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Every event is in exactly one state.
fn assert_accounted(m: &DestinationMetrics) {
    assert_eq!(
        m.received,
        m.shipped + m.filtered + m.dropped_total() + m.spooled + m.in_flight(),
        "{m:?}"
    );
}

/// `got` is exactly `want`, in order; a failure shows the first difference, not the whole list.
fn assert_in_order(got: &[u64], want: std::ops::Range<u64>) {
    let want: Vec<u64> = want.collect();
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        let around = |v: &[u64]| v[i.saturating_sub(2)..(i + 3).min(v.len())].to_vec();
        panic!(
            "{} events received, {} expected; first difference at {i}: got {:?}, want {:?}",
            got.len(),
            want.len(),
            around(got),
            around(&want)
        );
    }
}

fn strictly_increasing(v: &[u64]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

fn spool_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    (dir, spool)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut s: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    s.sort();
    s
}

#[test]
fn a_down_destination_spools_and_everything_arrives_in_order_after_recovery() {
    let (_t, dir) = spool_dir();
    let sink = Collector::new(false);
    let p = start(&sink, SpoolConfig::new(&dir));
    emit(&p, 0..5_000);
    wait_for("everything spooled", || metrics(&p).spooled == 5_000);
    let m = metrics(&p);
    assert_eq!((m.shipped, m.dropped_total()), (0, 0), "{m:?}");
    assert!(m.spool_bytes > 5_000 * 100, "{m:?}");
    assert!(!segments(&dir).is_empty());
    assert_accounted(&m);

    sink.up.store(true, Ordering::SeqCst);
    emit(&p, 5_000..6_000);
    wait_for("everything shipped", || metrics(&p).shipped == 6_000);
    assert_in_order(&sink.numbers(), 0..6_000);
    let report = p.shutdown(Duration::from_secs(10));
    assert!(report.completed, "{report:?}");
    let m = metrics(&p);
    assert_eq!(
        (m.spooled, m.dropped_total(), m.spool_bytes),
        (0, 0, 0),
        "{m:?}"
    );
    assert!(
        segments(&dir).is_empty(),
        "a drained spool keeps no segment"
    );
}

#[test]
fn a_slow_destination_spools_instead_of_dropping() {
    let (_t, dir) = spool_dir();
    let mut sink = Collector::new(true);
    sink.delay = Duration::from_millis(3);
    let p = start(&sink, SpoolConfig::new(&dir));
    emit(&p, 0..20_000);
    wait_for("everything shipped", || metrics(&p).shipped == 20_000);
    let m = metrics(&p);
    assert_eq!(m.dropped_total(), 0, "{m:?}");
    assert_in_order(&sink.numbers(), 0..20_000);
}

#[test]
fn a_restart_over_the_same_spool_sends_what_the_last_process_left_first() {
    let (_t, dir) = spool_dir();
    let down = Collector::new(false);
    let first = start(&down, SpoolConfig::new(&dir));
    emit(&first, 0..1_500);
    let report = first.shutdown(Duration::from_secs(2));
    let m = metrics(&first);
    assert_eq!(
        (m.shipped, m.spooled, m.dropped_total()),
        (0, 1_500, 0),
        "{report:?} {m:?}"
    );
    drop(first);

    let up = Collector::new(true);
    let second = start(&up, SpoolConfig::new(&dir));
    emit(&second, 1_500..2_000);
    wait_for("everything shipped", || metrics(&second).shipped == 2_000);
    assert_in_order(&up.numbers(), 0..2_000);
    let m = metrics(&second);
    assert_eq!(
        (m.recovered, m.received, m.spooled),
        (1_500, 2_000, 0),
        "{m:?}"
    );
    assert_accounted(&m);
}

#[test]
fn what_is_undelivered_at_the_shutdown_deadline_is_spooled_not_dropped() {
    let (_t, dir) = spool_dir();
    let down = Collector::new(false);
    let p = start(&down, SpoolConfig::new(&dir));
    emit(&p, 0..3);
    let report = p.shutdown(Duration::from_millis(500));
    let m = metrics(&p);
    assert_eq!((m.spooled, m.dropped_total()), (3, 0), "{report:?} {m:?}");
    assert_eq!(siem_ship::spool::inspect(&dir).unwrap().records(), 3);
}

/// Floods a down destination whose spool holds 64 KiB, then brings it back.
fn flood_a_small_spool(when_full: WhenFull) -> (DestinationMetrics, Vec<u64>) {
    let (_t, dir) = spool_dir();
    let sink = Collector::new(false);
    let spool = SpoolConfig::new(&dir)
        .max_size(64 * 1024)
        .when_full(when_full)
        .block_timeout(Duration::from_millis(20));
    let p = start(&sink, spool);
    emit(&p, 0..5_000);
    // The batches the delivery thread held when its first send failed are the oldest: the
    // spool keeps room for them, so they are spooled (or dropped by policy), never left in
    // memory, however fast newer batches filled the spool meanwhile.
    wait_for("the flood settled", || {
        let m = metrics(&p);
        m.received == 5_000 && m.in_flight() == 0
    });
    let m = metrics(&p);
    assert!(m.spool_bytes <= 64 * 1024, "{m:?}");
    let on_disk: u64 = segments(&dir)
        .iter()
        .map(|s| s.metadata().unwrap().len())
        .sum();
    assert!(on_disk <= 64 * 1024, "{on_disk} bytes on disk");
    assert!(dropped(&m, DropReason::SpoolFull) > 0, "{m:?}");
    assert_accounted(&m);
    sink.up.store(true, Ordering::SeqCst);
    let give_up = Instant::now() + Duration::from_secs(60);
    while metrics(&p).spooled > 0 {
        assert!(
            Instant::now() < give_up,
            "the spool never drained: {:?}",
            metrics(&p)
        );
        thread::sleep(Duration::from_millis(5));
    }
    p.shutdown(Duration::from_secs(10));
    let m = metrics(&p);
    // The drop report (`siem.events_dropped`) is received and shipped too.
    assert_eq!(
        m.shipped + dropped(&m, DropReason::SpoolFull),
        m.received,
        "{m:?}"
    );
    (m, sink.numbers())
}

#[test]
fn drop_newest_keeps_the_spool_under_its_bound_and_the_oldest_events() {
    let (m, got) = flood_a_small_spool(WhenFull::DropNewest);
    // The oldest events are kept (the drop report is shipped too, and not numbered).
    assert_in_order(&got, 0..got.len() as u64);
    assert!(got.len() as u64 >= m.shipped - 1, "{m:?}");
}

#[test]
fn drop_oldest_keeps_the_spool_under_its_bound_and_the_newest_events() {
    let (_, got) = flood_a_small_spool(WhenFull::DropOldest);
    assert!(strictly_increasing(&got));
    assert_eq!(got.last(), Some(&4_999), "the newest event is kept");
}

#[test]
fn block_drops_only_after_its_timeout_and_keeps_the_bound() {
    let (_, got) = flood_a_small_spool(WhenFull::Block);
    assert!(strictly_increasing(&got));
}

#[test]
fn block_waits_for_a_recovering_destination_and_loses_nothing() {
    let (_t, dir) = spool_dir();
    let sink = Collector::new(false);
    let spool = SpoolConfig::new(&dir)
        .max_size(64 * 1024)
        .when_full(WhenFull::Block)
        .block_timeout(Duration::from_secs(60));
    let p = start(&sink, spool);
    emit(&p, 0..5_000);
    wait_for("the spool to fill", || metrics(&p).spool_bytes > 48 * 1024);
    sink.up.store(true, Ordering::SeqCst);
    wait_for("everything shipped", || metrics(&p).shipped == 5_000);
    assert_eq!(metrics(&p).dropped_total(), 0);
    assert_in_order(&sink.numbers(), 0..5_000);
}

/// Leaves 3 000 events in a spool of 64 KiB segments (several of them).
fn leave_a_spool(dir: &Path) {
    let down = Collector::new(false);
    let p = start(&down, SpoolConfig::new(dir).max_size(512 * 1024));
    emit(&p, 0..3_000);
    p.shutdown(Duration::from_secs(2));
    assert_eq!(metrics(&p).spooled, 3_000);
}

#[test]
fn damaged_segments_are_detected_the_rest_delivered_and_the_loss_counted() {
    let (_t, dir) = spool_dir();
    leave_a_spool(&dir);
    let files = segments(&dir);
    assert!(files.len() >= 3, "{files:?}");
    // A flipped byte in the middle of the first segment, and a torn last record.
    let mut first = std::fs::read(&files[0]).unwrap();
    let middle = first.len() / 2;
    first[middle] ^= 0x5a;
    std::fs::write(&files[0], &first).unwrap();
    let last = files.last().unwrap();
    let len = last.metadata().unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let summary = siem_ship::spool::inspect(&dir).unwrap();
    assert_eq!((summary.records(), summary.corrupt_records()), (2_998, 2));

    let up = Collector::new(true);
    let p = start(&up, SpoolConfig::new(&dir));
    wait_for("the spool drained", || {
        let m = metrics(&p);
        m.spool_bytes == 0 && m.in_flight() == 0
    });
    let m = metrics(&p);
    assert_eq!(dropped(&m, DropReason::SpoolCorrupt), 2, "{m:?}");
    assert_eq!((m.shipped, m.recovered), (2_998, 3_000), "{m:?}");
    let got = up.numbers();
    assert!(strictly_increasing(&got));
    assert_eq!(got.len(), 2_998);
    assert_eq!(
        got.last(),
        Some(&2_998),
        "only the torn last record is lost"
    );
    assert_accounted(&m);
}

#[test]
fn hostile_spool_files_never_panic_nor_allocate_what_they_claim() {
    let (_t, dir) = spool_dir();
    std::fs::create_dir(&dir).unwrap();
    // Garbage named like a segment; a segment header followed by a record header that claims
    // 4 GiB and carries a valid header checksum of its own; an empty segment.
    std::fs::write(dir.join(format!("{:020}.seg", 1)), vec![0xa5u8; 100_000]).unwrap();
    let mut claim = Vec::new();
    claim.extend_from_slice(b"SIEMSPL1");
    claim.extend_from_slice(&0u64.to_le_bytes());
    let crc = crc32fast::hash(&claim);
    claim.extend_from_slice(&crc.to_le_bytes());
    let mut header = Vec::new();
    header.extend_from_slice(b"SREC");
    header.extend_from_slice(&u32::MAX.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    let crc = crc32fast::hash(&header[4..16]);
    header.extend_from_slice(&crc.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    claim.extend_from_slice(&header);
    claim.extend_from_slice(&[b'S'; 4096]);
    std::fs::write(dir.join(format!("{:020}.seg", 2)), &claim).unwrap();
    std::fs::write(dir.join(format!("{:020}.seg", 3)), b"").unwrap();
    std::fs::write(dir.join("acks"), vec![0xffu8; 1000]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    let summary = siem_ship::spool::inspect(&dir).unwrap();
    assert_eq!(
        (summary.records(), summary.corrupt_records()),
        (0, 1),
        "{summary:?}"
    );
    let unreadable: Vec<u64> = summary
        .segments
        .iter()
        .filter(|s| s.unreadable.is_some())
        .map(|s| s.id)
        .collect();
    assert_eq!(unreadable, [1, 3], "{summary:?}");

    let up = Collector::new(true);
    let p = start(&up, SpoolConfig::new(&dir));
    emit(&p, 0..10);
    wait_for("new events shipped", || metrics(&p).shipped == 10);
    assert_in_order(&up.numbers(), 0..10);
    let m = metrics(&p);
    assert!(dropped(&m, DropReason::SpoolCorrupt) >= 2, "{m:?}");
    assert_accounted(&m);
}

#[cfg(unix)]
#[test]
fn the_spool_is_private_locked_and_follows_no_link() {
    use std::os::unix::fs::PermissionsExt;
    let (t, dir) = spool_dir();
    let down = Collector::new(false);
    let p = start(&down, SpoolConfig::new(&dir));
    emit(&p, 0..10);
    wait_for("spooled", || metrics(&p).spooled == 10);
    let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for s in segments(&dir) {
        assert_eq!(mode(&s), 0o600);
    }
    // A second destination over the same directory is refused while the first holds it.
    let err = Pipeline::start(
        pipeline_config(),
        Numbers,
        vec![destination(&Collector::new(true), SpoolConfig::new(&dir))],
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("in use"), "{err}");
    p.shutdown(Duration::from_millis(300));
    drop(p);

    // A segment that is a link is refused, not followed.
    let elsewhere = t.path().join("elsewhere");
    std::fs::write(&elsewhere, b"not a segment").unwrap();
    let link = dir.join(format!("{:020}.seg", 999));
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let err = Pipeline::start(
        pipeline_config(),
        Numbers,
        vec![destination(&Collector::new(true), SpoolConfig::new(&dir))],
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn offline_replay_sends_the_spool_in_order_and_remove_deletes_it() {
    let (_t, dir) = spool_dir();
    leave_a_spool(&dir);
    let mut collector = Collector::new(true);
    let report =
        siem_ship::spool::replay(&dir, &mut collector, BatchConfig::default().max_events(250))
            .unwrap();
    assert_eq!(
        (report.shipped, report.corrupt, report.error),
        (3_000, 0, None)
    );
    assert_in_order(&collector.numbers(), 0..3_000);
    assert!(segments(&dir).is_empty());

    leave_a_spool(&dir);
    let mut down = Collector::new(false);
    let report = siem_ship::spool::replay(&dir, &mut down, BatchConfig::default()).unwrap();
    assert_eq!(report.shipped, 0);
    assert!(report.error.unwrap().contains("collector down"));
    assert_eq!(siem_ship::spool::remove(&dir).unwrap(), 3_000);
    assert!(!dir.exists());
}
