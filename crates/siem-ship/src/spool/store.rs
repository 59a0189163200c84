//! The spool on disk: its segment files, the writer appending to the newest, the reader
//! sending from the oldest, the acknowledgement log, the size bound and the fsync policy.
//!
//! The reader always reads the oldest segment; a batch never spans two segments, so an
//! acknowledgement is a segment and an offset. A sealed segment is deleted once acknowledged
//! to its end; when the reader has caught up with the writer and everything is acknowledged,
//! the writer's segment is deleted too, so an idle spool holds no file but its
//! acknowledgement log. A new process never appends to the segments it found: it starts a
//! segment of its own, with sequence numbers following the last valid record on disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::ack::AckLog;
use super::format::{self, SegmentReader, Step, SEGMENT_HEADER_BYTES};
use super::syncer::{PendingSync, Syncer};
use super::{FsyncPolicy, SpoolConfig};
use crate::sink::file::safe_open;
use crate::Batch;

/// Permission bits of the spool's directory and files: only the process's user.
const DIRECTORY_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// The first sequence number of an empty spool.
const FIRST_SEQ: u64 = 1 << 40;

/// A segment: its file `{id:020}.seg` and what is known of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub id: u64,
    /// The sequence number of its first record (`None`: its header is damaged).
    pub first_seq: Option<u64>,
    /// Bytes in the file (for the writer's segment: bytes fully written).
    pub bytes: u64,
    /// Records written to it, when this process wrote them (`None` for a segment found on
    /// disk: counted then from the sequence numbers around it).
    pub records: Option<u64>,
}

/// Where a batch read from the spool ends: acknowledging it deletes what precedes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub segment: u64,
    pub offset: u64,
}

/// Records of a batch read back, by where they came from, and records found lost on the way.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// Records written by an earlier process.
    pub recovered: u64,
    /// Damaged records skipped: written by this process, then by an earlier one.
    pub lost_own: u64,
    pub lost_recovered: u64,
    /// Where the batch ends, when it holds any record.
    pub ticket: Option<Ticket>,
}

/// Records deleted to make room: written by this process, and by an earlier one.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Evicted {
    pub own: u64,
    pub recovered: u64,
}

/// Why an append did not happen.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// No room for the batch now.
    Full,
    /// The batch is larger than the whole spool may be.
    TooLarge,
    /// The disk refused the write.
    Io(io::Error),
}

pub(crate) struct Spool {
    dir: PathBuf,
    config: SpoolConfig,
    /// A segment is sealed once it reaches this size.
    segment_target: u64,
    segments: VecDeque<Segment>,
    /// Appends to the last segment, when open (shared with the syncer).
    writer: Option<Arc<File>>,
    next_id: u64,
    next_seq: u64,
    /// Segments with a lower id were written by an earlier process.
    first_own_segment: u64,
    bytes: u64,
    reader: Option<(u64, SegmentReader)>,
    /// Where the reader of the oldest segment starts (from the acknowledgement log).
    resume: Option<Ticket>,
    acks: AckLog,
    /// Held for the spool's life: the exclusive lock on the directory.
    _lock: File,
    /// Forces appended records to disk off this thread; none with `fsync: never`.
    syncer: Option<Syncer>,
    /// The last sync asked for: it covers everything appended before it.
    last_asked: Option<PendingSync>,
    last_sync: Instant,
    unsynced: bool,
    scratch: Vec<u8>,
}

fn segment_name(id: u64) -> String {
    format!("{id:020}.seg")
}

/// The segment id of a file name, if it is a segment's.
fn segment_id(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, oldest first, with their headers read (nothing else is read).
pub(crate) fn list_segments(dir: &Path) -> io::Result<Vec<Segment>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(id) = entry.file_name().to_str().and_then(segment_id) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    let mut segments = Vec::with_capacity(ids.len());
    for id in ids {
        let file = safe_open::read(&dir.join(segment_name(id)))?;
        let bytes = file.metadata()?.len();
        let first_seq = SegmentReader::open(file, 0).ok().map(|(_, first)| first);
        segments.push(Segment {
            id,
            first_seq,
            bytes,
            records: None,
        });
    }
    Ok(segments)
}

/// Opens segment `id` of `dir` for reading from `from`.
pub(crate) fn open_segment(dir: &Path, id: u64, from: u64) -> io::Result<SegmentReader> {
    let file = safe_open::read(&dir.join(segment_name(id)))?;
    SegmentReader::open(file, from).map(|(r, _)| r)
}

/// Removes segment `id` of `dir`; one already gone is fine.
pub(crate) fn remove_segment(dir: &Path, id: u64) -> io::Result<()> {
    match std::fs::remove_file(dir.join(segment_name(id))) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Spool {
    /// Opens (creating `0700` if missing) the spool directory and takes over what an earlier
    /// process left there.
    pub fn open(config: &SpoolConfig) -> io::Result<Spool> {
        let dir = config.path.clone();
        safe_open::create_dirs_with_mode(&dir, DIRECTORY_MODE)?;
        let lock = lock_dir(&dir)?;
        let segments: VecDeque<Segment> = list_segments(&dir)?.into();
        let (acks, acked) = AckLog::open(&dir, FILE_MODE)?;
        let mut resume = None;
        let mut spool = Spool {
            segment_target: (config.max_size / 8).max(4096),
            config: config.clone(),
            // Even ids for the writer's segments; the odd id before one is where a batch older
            // than everything in the spool goes (see `prepend`).
            next_id: segments.back().map_or(2, |s| (s.id / 2 + 2) * 2),
            next_seq: 0,
            first_own_segment: 0,
            bytes: segments.iter().map(|s| s.bytes).sum(),
            segments,
            writer: None,
            reader: None,
            resume: None,
            acks,
            _lock: lock,
            syncer: match config.fsync {
                FsyncPolicy::Never => None,
                _ => Some(Syncer::start()?),
            },
            last_asked: None,
            last_sync: Instant::now(),
            unsynced: false,
            scratch: Vec::new(),
            dir,
        };
        if let Some(acked) = acked {
            // Segments before the acknowledged one were delivered; a crash came before their
            // deletion.
            while spool.segments.front().is_some_and(|s| s.id < acked.segment) {
                spool.remove_front()?;
            }
            if spool
                .segments
                .front()
                .is_some_and(|s| s.id == acked.segment && acked.offset <= s.bytes)
            {
                resume = Some(acked);
            }
        }
        spool.resume = resume;
        // An empty spool starts high, leaving numbers below for batches prepended later.
        spool.next_seq = spool.last_seq_on_disk()?.map_or(FIRST_SEQ, |s| s + 1);
        // The odd id before this process's first segment is its own too (a prepended one).
        spool.first_own_segment = spool.next_id - 1;
        Ok(spool)
    }

    /// The sequence number of the last valid record of the newest segment.
    fn last_seq_on_disk(&self) -> io::Result<Option<u64>> {
        let Some(last) = self.segments.back() else {
            return Ok(None);
        };
        let Ok(mut reader) = open_segment(&self.dir, last.id, 0) else {
            return Ok(None);
        };
        let mut payload = Vec::new();
        let mut newest = last.first_seq.and_then(|s| s.checked_sub(1));
        loop {
            match reader.next(last.bytes, &mut payload)? {
                Step::Record { seq } => newest = Some(newest.map_or(seq, |n| n.max(seq))),
                Step::Corrupt { .. } => {}
                Step::End => return Ok(newest),
            }
        }
    }

    /// Bytes the segment files hold.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True when no segment is left.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Appends batches as one write, in a new segment when the current one is sealed, leaving
    /// `headroom` bytes of the size bound free.
    pub fn append(&mut self, batches: &[&Batch], headroom: u64) -> Result<(), AppendError> {
        let needed = records_bytes(batches);
        if needed + SEGMENT_HEADER_BYTES > self.config.max_size {
            return Err(AppendError::TooLarge);
        }
        let new_segment = self.writer.is_none();
        let header = if new_segment { SEGMENT_HEADER_BYTES } else { 0 };
        if self.bytes + header + needed + headroom > self.config.max_size {
            return Err(AppendError::Full);
        }
        if new_segment {
            self.start_segment().map_err(AppendError::Io)?;
        }
        self.next_seq = self.encode(self.next_seq, batches);
        let mut writer: &File = self.writer.as_ref().expect("a segment is open");
        if let Err(e) = writer.write_all(&self.scratch) {
            // Cut what was partly written, so the reader never sees it; failing that, seal the
            // segment: the reader then counts the damaged tail.
            let committed = self.segments.back().map_or(0, |s| s.bytes);
            if writer.set_len(committed).is_err() {
                self.writer = None;
            }
            return Err(AppendError::Io(e));
        }
        let last = self.segments.back_mut().expect("a segment is open");
        last.bytes += needed;
        last.records = last
            .records
            .map(|r| r + batches.iter().map(|b| b.len() as u64).sum::<u64>());
        self.bytes += needed;
        self.unsynced = true;
        let sealed = last.bytes >= self.segment_target;
        match self.config.fsync {
            FsyncPolicy::Batch => self.ask_sync(),
            FsyncPolicy::Interval => self.sync_if_due(),
            FsyncPolicy::Never => {}
        }
        if sealed {
            // The sealed segment's tail is synced with the next sync, whatever the interval.
            self.ask_sync();
            self.writer = None;
        }
        Ok(())
    }

    /// Writes batches older than everything in the spool, in a segment of their own before
    /// the oldest one (the free odd id below it), so that they are read first. Appends them
    /// when the spool is empty, or when reading has already begun (order then yields to
    /// keeping the records).
    pub fn prepend(&mut self, batches: &[&Batch]) -> Result<(), AppendError> {
        let Some(front) = self.segments.front().copied() else {
            return self.append(batches, 0);
        };
        let records: u64 = batches.iter().map(|b| b.len() as u64).sum();
        let reading = self.reader.is_some() || self.resume.is_some();
        let slot_taken = front.id % 2 == 1;
        // Numbered just below the oldest segment's records, so that sequence numbers still
        // rise from segment to segment (what counting lost records relies on).
        let first_seq = front.first_seq.and_then(|f| f.checked_sub(records));
        let Some(first_seq) = first_seq.filter(|_| !reading && !slot_taken) else {
            return self.append(batches, 0);
        };
        let needed = records_bytes(batches) + SEGMENT_HEADER_BYTES;
        if needed > self.config.max_size {
            return Err(AppendError::TooLarge);
        }
        if self.bytes + needed > self.config.max_size {
            return Err(AppendError::Full);
        }
        let id = front.id - 1;
        self.encode(first_seq, batches);
        let mut file = safe_open::create_new(&self.dir.join(segment_name(id)), FILE_MODE)
            .map_err(AppendError::Io)?;
        let written = file
            .write_all(&format::segment_header(first_seq))
            .and_then(|()| file.write_all(&self.scratch))
            .and_then(|()| match self.config.fsync {
                FsyncPolicy::Never => Ok(()),
                _ => file
                    .sync_data()
                    .and_then(|()| File::open(&self.dir)?.sync_all()),
            });
        if let Err(e) = written {
            let _ = remove_segment(&self.dir, id);
            return Err(AppendError::Io(e));
        }
        self.segments.push_front(Segment {
            id,
            first_seq: Some(first_seq),
            bytes: needed,
            records: Some(records),
        });
        self.bytes += needed;
        Ok(())
    }

    /// Encodes the batches' records into the scratch buffer, numbered from `seq`; returns
    /// the number after the last.
    fn encode(&mut self, mut seq: u64, batches: &[&Batch]) -> u64 {
        self.scratch.clear();
        for record in batches.iter().flat_map(|b| b.records()) {
            format::push_record(&mut self.scratch, seq, record);
            seq += 1;
        }
        seq
    }

    fn start_segment(&mut self) -> io::Result<()> {
        let id = self.next_id;
        let mut file = safe_open::create_new(&self.dir.join(segment_name(id)), FILE_MODE)?;
        // The header is not synced here: the segment's first sync covers it.
        file.write_all(&format::segment_header(self.next_seq))?;
        if self.config.fsync != FsyncPolicy::Never {
            // The new name must survive a power cut as well as the records in it.
            File::open(&self.dir)?.sync_all()?;
        }
        self.next_id += 2;
        self.segments.push_back(Segment {
            id,
            first_seq: Some(self.next_seq),
            bytes: SEGMENT_HEADER_BYTES,
            records: Some(0),
        });
        self.bytes += SEGMENT_HEADER_BYTES;
        self.writer = Some(Arc::new(file));
        Ok(())
    }

    /// Asks the syncer to force what was appended to disk, without waiting (group commit).
    fn ask_sync(&mut self) {
        if !self.unsynced {
            return;
        }
        if let (Some(syncer), Some(writer)) = (&self.syncer, &self.writer) {
            self.last_asked = Some(syncer.ask(writer));
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
    }

    /// The sync that covers everything appended so far, asked for now if it was not yet: wait
    /// on it (outside any lock the appending thread needs) to know the records are on disk.
    /// `None` with `fsync: never`, which leaves write-back to the kernel even at a flush, and
    /// when nothing was ever appended.
    pub fn begin_sync(&mut self) -> Option<PendingSync> {
        self.ask_sync();
        self.last_asked.clone()
    }

    /// With `fsync: interval`, asks for appended records to be forced to disk when the
    /// interval has passed.
    pub fn sync_if_due(&mut self) {
        if self.config.fsync == FsyncPolicy::Interval
            && self.last_sync.elapsed() >= self.config.fsync_interval
        {
            self.ask_sync();
        }
    }

    /// The error of a background sync that failed since the last call, if any.
    pub fn take_sync_error(&self) -> Option<io::Error> {
        self.syncer.as_ref().and_then(Syncer::take_error)
    }

    /// Reads the next batch from the oldest segment, at most `max_events` records and about
    /// `max_bytes` bytes, never across a segment's end. Damaged records are skipped and
    /// reported in the result.
    pub fn read(
        &mut self,
        max_events: usize,
        max_bytes: usize,
        out: &mut Batch,
    ) -> io::Result<Read> {
        let mut read = Read::default();
        let mut payload = Vec::new();
        loop {
            let Some(front) = self.segments.front().copied() else {
                return Ok(read);
            };
            if self.reader.as_ref().is_none_or(|(id, _)| *id != front.id) {
                let from = self
                    .resume
                    .take()
                    .filter(|t| t.segment == front.id)
                    .map_or(0, |t| t.offset);
                match open_segment(&self.dir, front.id, from) {
                    Ok(r) => self.reader = Some((front.id, r)),
                    Err(e) if is_damage(&e) => {
                        // A segment whose header is damaged, or that someone removed: what it
                        // held is known only from its neighbours' sequence numbers.
                        let lost = self.records_in(0).unwrap_or(1);
                        self.count_lost(front.id, lost, &mut read);
                        self.remove_front()?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let (_, reader) = self.reader.as_mut().expect("opened above");
            while out.len() < max_events && out.byte_len() < max_bytes {
                let expected = reader.expected();
                match reader.next(front.bytes, &mut payload)? {
                    Step::Record { .. } => {
                        out.push(&payload);
                        if front.id < self.first_own_segment {
                            read.recovered += 1;
                        }
                    }
                    Step::Corrupt { lost } => {
                        let lost = lost.unwrap_or_else(|| self.tail_loss(expected));
                        self.count_lost(front.id, lost, &mut read);
                        break;
                    }
                    Step::End => break,
                }
            }
            let (_, reader) = self.reader.as_ref().expect("opened above");
            let at_end = reader.position() >= front.bytes;
            if !out.is_empty() {
                read.ticket = Some(Ticket {
                    segment: front.id,
                    offset: reader.position(),
                });
                return Ok(read);
            }
            if !at_end {
                // Stopped at damage; go on reading past it.
                continue;
            }
            if self.is_writers(front.id) {
                return Ok(read);
            }
            // A sealed segment read to its end with nothing left in flight.
            self.remove_front()?;
        }
    }

    /// Records in segment `index` from its start: as counted when this process wrote it, else
    /// from its first sequence number and the next segment's (or the next one to be written),
    /// when both are known and consecutive.
    fn records_in(&self, index: usize) -> Option<u64> {
        let this = self.segments.get(index)?;
        if let Some(records) = this.records {
            return Some(records);
        }
        let next_first = match self.segments.get(index + 1) {
            Some(next) if adjacent(this, next) => next.first_seq?,
            Some(_) => return None,
            None => self.next_seq,
        };
        next_first.checked_sub(this.first_seq?)
    }

    /// Records lost between `expected` and the end of the oldest segment: known from the next
    /// segment's first sequence number; at least one otherwise.
    fn tail_loss(&self, expected: Option<u64>) -> u64 {
        let next_first = match (self.segments.front(), self.segments.get(1)) {
            (Some(this), Some(next)) if adjacent(this, next) => next.first_seq,
            _ => None,
        };
        match (expected, next_first) {
            (Some(e), Some(n)) if n > e => n - e,
            _ => 1,
        }
    }

    /// Adds `lost` records of segment `id` to the batch read, as this process's or an
    /// earlier one's.
    fn count_lost(&self, id: u64, lost: u64, read: &mut Read) {
        if id < self.first_own_segment {
            read.lost_recovered += lost;
        } else {
            read.lost_own += lost;
        }
    }

    fn is_writers(&self, id: u64) -> bool {
        self.writer.is_some() && self.segments.back().is_some_and(|s| s.id == id)
    }

    /// Records that the destination accepted everything up to `ticket`, and deletes what is
    /// no longer needed.
    pub fn acknowledge(&mut self, ticket: Ticket) -> io::Result<()> {
        let Some(front) = self.segments.front().copied() else {
            return Ok(());
        };
        if front.id != ticket.segment {
            return Ok(());
        }
        if ticket.offset < front.bytes {
            return self.acks.record(ticket);
        }
        if self.is_writers(front.id) {
            // Caught up with the writer: start afresh rather than keep a delivered segment.
            self.writer = None;
            self.unsynced = false;
        }
        self.remove_front()
    }

    fn remove_front(&mut self) -> io::Result<()> {
        let Some(front) = self.segments.pop_front() else {
            return Ok(());
        };
        if self.reader.as_ref().is_some_and(|(id, _)| *id == front.id) {
            self.reader = None;
        }
        remove_segment(&self.dir, front.id)?;
        self.bytes -= front.bytes;
        if self.segments.is_empty() {
            self.acks.reset()?;
        }
        Ok(())
    }

    /// Deletes the oldest segment behind the one being read (the writer's included), to make
    /// room; `None` when there is none.
    pub fn evict_oldest(&mut self) -> io::Result<Option<Evicted>> {
        if self.segments.len() < 2 {
            return Ok(None);
        }
        let records = self.records_in(1).unwrap_or(1);
        let victim = self.segments.remove(1).expect("two segments");
        if victim.id > self.segments.back().map_or(0, |s| s.id) {
            // The writer's own segment went: the next append starts a new one.
            self.writer = None;
            self.unsynced = false;
        }
        remove_segment(&self.dir, victim.id)?;
        self.bytes -= victim.bytes;
        let own = victim.id >= self.first_own_segment;
        Ok(Some(if own {
            Evicted {
                own: records,
                recovered: 0,
            }
        } else {
            Evicted {
                own: 0,
                recovered: records,
            }
        }))
    }
}

/// Takes the exclusive lock of the spool in `dir` (its `lock` file), so that two destinations
/// or two processes never read and delete the same segments; refused at once when held.
pub(crate) fn lock_dir(dir: &Path) -> io::Result<File> {
    let file = safe_open::append(&dir.join("lock"), FILE_MODE)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: `flock` on a descriptor owned by `file`, which outlives the call.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "the spool {} is in use by another destination or process ({e})",
                    dir.display()
                ),
            ));
        }
    }
    Ok(file)
}

/// Whether no segment was deleted between `this` and `next` (writer segments have even ids
/// two apart, a prepended one the odd id before its successor).
fn adjacent(this: &Segment, next: &Segment) -> bool {
    next.id <= this.id + 2
}

/// Bytes the batches' records take in a segment.
pub(crate) fn records_bytes(batches: &[&Batch]) -> u64 {
    batches
        .iter()
        .flat_map(|b| b.records())
        .map(|r| format::record_bytes(r.len()))
        .sum()
}

/// Whether opening a segment failed because of what is (or is not) in the file, rather than
/// because the disk could not be read.
fn is_damage(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::NotFound
    )
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Stopping the syncer completes every sync asked for, this last one included, before
        // the directory's lock is released.
        self.ask_sync();
        drop(self.syncer.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn batch() -> Batch {
        let mut b = Batch::default();
        b.push(b"{\"event_type\":\"auth.failure\"}");
        b
    }

    /// How many syncs were asked for by the time a flush's sync is taken, after three appends.
    fn asks_after_three_appends(config: SpoolConfig) -> Option<u64> {
        let mut spool = Spool::open(&config).unwrap();
        assert!(
            spool.begin_sync().is_none(),
            "nothing appended, nothing to sync"
        );
        for _ in 0..3 {
            spool.append(&[&batch()], 0).unwrap();
        }
        let pending = spool.begin_sync()?;
        pending.wait().unwrap();
        Some(pending.ticket())
    }

    #[test]
    fn each_policy_asks_for_the_syncs_it_promises() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| SpoolConfig::new(dir.path().join(name));
        assert_eq!(
            asks_after_three_appends(at("batch")),
            Some(3),
            "one sync per appended batch; the flush waits for the last"
        );
        let hourly = at("interval")
            .fsync(FsyncPolicy::Interval)
            .fsync_interval(Duration::from_secs(3600));
        assert_eq!(
            asks_after_three_appends(hourly),
            Some(1),
            "none before the interval; the flush asks one"
        );
        assert_eq!(
            asks_after_three_appends(at("never").fsync(FsyncPolicy::Never)),
            None,
            "never syncs, not even at a flush"
        );
    }
}
