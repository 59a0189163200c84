//! The disk spool of a destination: where batches go when the destination is failing or too
//! slow, and what a restart sends first.
//!
//! Opt-in per destination ([`SpoolConfig`], the `spool:` key). The spool is a wrapper around
//! the destination's delivery, the same for every sink: `gate` decides, batch by batch,
//! between the in-memory path and the spool so that order is kept; `store` holds the segment
//! files, the size bound and the fsync policy, and `syncer` forces them to disk off the
//! appending thread (group commit); `format` the bytes of a segment and how they
//! are read back without being trusted; `ack` how far delivery got, across restarts.
//!
//! The functions here ([`inspect`], [`replay`], [`remove`]) act on a spool offline, for
//! `siem spool ls|replay|drop`.

mod ack;
mod config;
mod format;
pub(crate) mod gate;
mod store;
mod syncer;

use std::io;
use std::path::Path;

pub use config::{FsyncPolicy, SpoolConfig, WhenFull, MIN_SPOOL_SIZE};

use crate::{Batch, BatchConfig, Sink};
use format::Step;

/// What one segment file of a spool holds.
///
/// ```
/// use siem_ship::spool::SegmentSummary;
/// let s = SegmentSummary::default();
/// assert_eq!((s.records, s.corrupt_records), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentSummary {
    /// The segment's number (its file is `{number:020}.seg`).
    pub id: u64,
    /// The file's size.
    pub bytes: u64,
    /// Valid records in it (delivered ones before the acknowledged offset included).
    pub records: u64,
    /// Records found damaged (at least one per damaged stretch whose size is unknown).
    pub corrupt_records: u64,
    /// Why the segment cannot be read at all, if it cannot.
    pub unreadable: Option<String>,
}

/// What a spool directory holds: its segments, oldest first, and how far delivery got.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let summary = siem_ship::spool::inspect(dir.path()).unwrap();
/// assert!(summary.segments.is_empty());
/// assert_eq!(summary.records(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolSummary {
    /// Each segment, oldest first.
    pub segments: Vec<SegmentSummary>,
    /// Segment number and byte offset up to which the oldest segment was delivered.
    pub acknowledged: Option<(u64, u64)>,
}

impl SpoolSummary {
    /// Valid records over all segments.
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.records).sum()
    }

    /// Damaged records over all segments.
    pub fn corrupt_records(&self) -> u64 {
        self.segments.iter().map(|s| s.corrupt_records).sum()
    }

    /// Bytes over all segments.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// Reads every segment of the spool in `dir`, record by record in constant memory, and says
/// what it holds; changes nothing.
///
/// # Errors
/// The directory cannot be listed, or a segment file is a link or another user's.
pub fn inspect(dir: &Path) -> io::Result<SpoolSummary> {
    let mut summary = SpoolSummary {
        acknowledged: ack::last_entry(&dir.join("acks"))?.map(|t| (t.segment, t.offset)),
        ..SpoolSummary::default()
    };
    let mut payload = Vec::new();
    for segment in store::list_segments(dir)? {
        let mut s = SegmentSummary {
            id: segment.id,
            bytes: segment.bytes,
            ..SegmentSummary::default()
        };
        match store::open_segment(dir, segment.id, 0) {
            Ok(mut reader) => loop {
                match reader.next(segment.bytes, &mut payload)? {
                    Step::Record { .. } => s.records += 1,
                    Step::Corrupt { lost } => s.corrupt_records += lost.unwrap_or(1).max(1),
                    Step::End => break,
                }
            },
            Err(e) => s.unreadable = Some(e.to_string()),
        }
        summary.segments.push(s);
    }
    Ok(summary)
}

/// What [`replay`] sent.
///
/// ```
/// let r = siem_ship::spool::ReplayReport::default();
/// assert_eq!((r.shipped, r.corrupt, r.error), (0, 0, None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Records the sink accepted (and deleted from the spool).
    pub shipped: u64,
    /// Damaged records skipped.
    pub corrupt: u64,
    /// Why replay stopped before the spool was empty, if it did; the batch that failed and
    /// everything after it stay in the spool.
    pub error: Option<String>,
}

/// Sends what the spool in `dir` holds through `sink`, oldest first, in batches of `batch`'s
/// size, deleting what the sink accepted; stops at the first failed send. The spool must not
/// be in use by a running destination (its lock is taken).
///
/// ```
/// use siem_ship::{Batch, BatchConfig, Sink, SinkError};
/// struct Count(usize);
/// impl Sink for Count {
///     fn kind(&self) -> &'static str { "count" }
///     fn send(&mut self, b: &Batch) -> Result<(), SinkError> { self.0 += b.len(); Ok(()) }
/// }
/// let dir = tempfile::tempdir().unwrap();
/// let mut sink = Count(0);
/// let report = siem_ship::spool::replay(dir.path(), &mut sink, BatchConfig::default()).unwrap();
/// assert_eq!((report.shipped, sink.0), (0, 0));
/// ```
///
/// # Errors
/// The spool cannot be opened (locked by a running destination, not a directory, a link…).
pub fn replay(dir: &Path, sink: &mut dyn Sink, batch: BatchConfig) -> io::Result<ReplayReport> {
    let config = SpoolConfig::new(dir).max_size(u64::MAX);
    let mut spool = store::Spool::open(&config)?;
    let mut report = ReplayReport::default();
    let mut out = Batch::default();
    loop {
        out.clear();
        let read = spool.read(batch.max_events.max(1), batch.max_bytes.max(1), &mut out)?;
        report.corrupt += read.lost_own + read.lost_recovered;
        let Some(ticket) = read.ticket else {
            break;
        };
        match sink.send(&out) {
            Ok(()) => {
                report.shipped += out.len() as u64;
                spool.acknowledge(ticket)?;
            }
            Err(e) => {
                report.error = Some(e.to_string());
                break;
            }
        }
    }
    if report.error.is_none() {
        if let Err(e) = sink.close() {
            report.error = Some(e.to_string());
        }
    }
    Ok(report)
}

/// Deletes the spool in `dir`: its segments, acknowledgement log and lock, then the directory
/// when nothing else is left in it. Refused while a destination holds the spool. Returns the
/// records deleted.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let spool = dir.path().join("spool");
/// std::fs::create_dir(&spool).unwrap();
/// assert_eq!(siem_ship::spool::remove(&spool).unwrap(), 0);
/// assert!(!spool.exists());
/// ```
///
/// # Errors
/// The spool is in use, or a file cannot be deleted.
pub fn remove(dir: &Path) -> io::Result<u64> {
    let lock = store::lock_dir(dir)?;
    let summary = inspect(dir)?;
    for s in &summary.segments {
        store::remove_segment(dir, s.id)?;
    }
    for name in ["acks", "acks.tmp", "lock"] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    drop(lock);
    // Left in place when it holds files that are not the spool's.
    let _ = std::fs::remove_dir(dir);
    Ok(summary.records())
}
