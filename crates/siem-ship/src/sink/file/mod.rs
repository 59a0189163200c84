//! JSON-lines files with size-based rotation and gzip compression of rotated files.
//!
//! [`FileSink`] appends every record of a batch, each followed by `\n`, with one `write_all` per
//! batch (or per part of a batch, when a rotation falls inside it). The file rotates before a
//! write that would take it past `rotation.max_size`: `<path>` becomes `<path>.1`, older files
//! move up one number, and at most `rotation.max_files` are kept. With `rotation.compress`, the
//! rotated files are gzip-compressed on a background thread (see the `compress` module for why
//! that is safe against crashes).
//!
//! The sink also survives external rotation: at most once per `reopen_check` it verifies that
//! `path` still leads to the file it has open and reopens it when the file was moved or deleted.
//! A file deleted under it (`rm`) is also noticed right after each write, and the write is made
//! again in a fresh file, because what went into the deleted one is gone.
//!
//! Files are written only where configured: a symbolic link at `path` is not followed, only a
//! regular file owned by the process's user is used, an existing file may not have a wider mode
//! than `mode`, and directories the sink creates get `0750` (see the `safe_open` module).
//!
//! ```
//! use siem_ship::sink::file::{FileConfig, FileSink};
//! use siem_ship::{Batch, Sink};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("security/events.jsonl");
//! let mut sink = FileSink::open(FileConfig::new(&path).max_size(1 << 20)).unwrap();
//! let mut batch = Batch::default();
//! batch.push(br#"{"event_type":"auth.failure","user":"alice"}"#);
//! batch.push(br#"{"event_type":"authz.access_denied","user":"bob"}"#);
//! sink.send(&batch).unwrap();
//! sink.close().unwrap();
//! assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
//! ```

mod chain;
mod compress;
mod config;
mod destination;
mod lines;
mod live;
mod rotate;
pub(crate) mod safe_open;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use chain::{read_maybe_gzip, Tamper, Verifier};
pub use config::{ChainConfig, FileConfig, InvalidFileConfig, RotationConfig, SyncPolicy};
pub use lines::has_line_break;
pub(crate) use lines::{frame_batch, refused_error};

use crate::{Batch, Sink, SinkError};
use chain::Chain;
use compress::Compressor;
use lines::push_line;
use live::LiveFile;
use rotate::{rotated_path, shift, RotatedKind};

/// Why a [`FileSink`] could not be opened.
///
/// ```
/// use siem_ship::sink::file::{FileConfig, FileSink, FileSinkError};
/// let err = FileSink::open(FileConfig::new("e.jsonl").max_size(0)).unwrap_err();
/// assert!(matches!(err, FileSinkError::Config(_)));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum FileSinkError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] InvalidFileConfig),
    /// The file (or its directory) cannot be created or opened, or what is at the path may not
    /// be written (a symbolic link, not a regular file, another user's file, a wider mode).
    #[error("file sink cannot open {}: {source}", path.display())]
    Open {
        /// The file the sink tried to open.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

/// Appends records as lines to a file, rotating and compressing it by size.
///
/// Errors: every I/O failure is a retryable [`SinkError`] naming the path (a full disk may clear);
/// when it happens part way through a batch, the error lists the records not written, so a retry
/// writes each record once. A record containing a line break is refused as a permanent error for
/// that record alone (see [`has_line_break`]).
///
/// ```
/// use siem_ship::sink::file::{FileConfig, FileSink};
/// use siem_ship::{Batch, Sink};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("events.jsonl");
/// let mut sink = FileSink::open(FileConfig::new(&path).max_size(10).compress(false)).unwrap();
/// let mut batch = Batch::default();
/// for record in ["aaaa", "bbbb", "cccc"] {
///     batch.push(record.as_bytes());
/// }
/// sink.send(&batch).unwrap();
/// sink.close().unwrap();
/// // Two 5-byte lines fit in 10 bytes; the third went to a new file.
/// assert_eq!(std::fs::read(path.with_extension("jsonl.1")).unwrap(), b"aaaa\nbbbb\n");
/// assert_eq!(std::fs::read(&path).unwrap(), b"cccc\n");
/// ```
#[derive(Debug)]
pub struct FileSink {
    config: FileConfig,
    live: Option<LiveFile>,
    last_check: Instant,
    buffer: Vec<u8>,
    compressor: Compressor,
    compression_failures: Vec<String>,
    chain: Option<Chain>,
}

impl FileSink {
    /// Validates `config` and opens (creating if needed) the file and its parent directories.
    ///
    /// ```
    /// use siem_ship::sink::file::{FileConfig, FileSink};
    /// let dir = tempfile::tempdir().unwrap();
    /// let sink = FileSink::open(FileConfig::new(dir.path().join("e.jsonl"))).unwrap();
    /// assert_eq!(sink.path(), dir.path().join("e.jsonl"));
    /// ```
    pub fn open(config: FileConfig) -> Result<FileSink, FileSinkError> {
        config.validate()?;
        let live =
            LiveFile::open(&config.path, config.mode).map_err(|source| FileSinkError::Open {
                path: config.path.clone(),
                source,
            })?;
        // After the live file is open: opening repairs a torn last line, so the chain resumes
        // from a complete one.
        let chain = config
            .chain
            .as_ref()
            .map(|c| Chain::resume(c.key.expose().as_bytes(), &config.path));
        Ok(FileSink {
            config,
            chain,
            live: Some(live),
            last_check: Instant::now(),
            buffer: Vec::new(),
            compressor: Compressor::default(),
            compression_failures: Vec::new(),
        })
    }

    /// The live file's path.
    ///
    /// ```
    /// # use siem_ship::sink::file::{FileConfig, FileSink};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let sink = FileSink::open(FileConfig::new(dir.path().join("e.jsonl"))).unwrap();
    /// assert!(sink.path().ends_with("e.jsonl"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    /// The configuration the sink runs with.
    ///
    /// ```
    /// # use siem_ship::sink::file::{FileConfig, FileSink};
    /// # let dir = tempfile::tempdir().unwrap();
    /// let sink = FileSink::open(FileConfig::new(dir.path().join("e.jsonl")).max_files(3)).unwrap();
    /// assert_eq!(sink.config().rotation.max_files, 3);
    /// ```
    pub fn config(&self) -> &FileConfig {
        &self.config
    }

    /// A retryable error naming the file, for an I/O failure while doing `what`.
    fn io_error(&self, what: &str, e: &io::Error) -> SinkError {
        SinkError::retryable(format!(
            "file sink cannot {what} {}: {e}",
            self.config.path.display()
        ))
    }

    /// Makes sure a file is open at `path`, reopening it when it was moved or deleted.
    fn ensure_live(&mut self) -> Result<(), SinkError> {
        let now = Instant::now();
        if let Some(live) = &mut self.live {
            if now.duration_since(self.last_check) >= self.config.reopen_check {
                self.last_check = now;
                if !live.is_still_at(&self.config.path) {
                    self.release_live();
                }
            }
        }
        if self.live.is_none() {
            self.open_live()?;
        }
        Ok(())
    }

    /// Opens (or creates) the file at `path` as the live file.
    fn open_live(&mut self) -> Result<(), SinkError> {
        let live = LiveFile::open(&self.config.path, self.config.mode)
            .map_err(|e| self.io_error("open", &e))?;
        self.live = Some(live);
        self.last_check = Instant::now();
        Ok(())
    }

    /// Closes the live file, syncing it first unless the policy leaves that to the OS.
    fn release_live(&mut self) {
        if let Some(live) = self.live.take() {
            if self.config.fsync != SyncPolicy::Never {
                // The data is in the kernel either way; a failed sync of a file we are leaving
                // cannot be acted on, and the next flush reports problems of the new one.
                let _ = live.sync();
            }
        }
    }

    /// Writes the framed lines waiting in the buffer.
    ///
    /// A write into a file deleted meanwhile (`rm`) succeeds but reaches nobody, so after each
    /// write the sink checks that the file is still linked and, if not, writes the lines again
    /// into a fresh file at `path`. Should the fresh file be deleted too, the error makes the
    /// route retry the batch.
    fn write_buffer(&mut self) -> Result<(), SinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        for attempt in 0..2 {
            if attempt > 0 {
                self.open_live()?;
            }
            let Some(live) = &mut self.live else {
                return Err(SinkError::retryable("file sink has no open file"));
            };
            if let Err(e) = live.append(&self.buffer) {
                // Reopen before the next write: it re-checks that the file ends on a line boundary.
                self.live = None;
                return Err(self.io_error("write to", &e));
            }
            if !live.is_deleted() {
                self.buffer.clear();
                return Ok(());
            }
            self.live = None;
        }
        Err(self.io_error(
            "keep",
            &io::Error::other("it was deleted twice while being written to"),
        ))
    }

    /// [`write_buffer`](Self::write_buffer), rewinding the chain to `from` when the lines are
    /// not written.
    fn write_chained(&mut self, from: Option<chain::Position>) -> Result<(), SinkError> {
        let written = self.write_buffer();
        if written.is_err() {
            self.buffer.clear();
            if let (Some(chain), Some(from)) = (&mut self.chain, from) {
                chain.rewind(from);
            }
        }
        written
    }

    /// Moves the live file to `<path>.1`, renumbering older ones, and opens a fresh one.
    fn rotate(&mut self) -> Result<(), SinkError> {
        let waited = self.compressor.wait();
        self.note_compression(waited);
        if let Some(live) = self.live.take() {
            if self.config.fsync != SyncPolicy::Never {
                live.sync().map_err(|e| self.io_error("sync", &e))?;
            }
        }
        let path = &self.config.path;
        shift(path, self.config.rotation.max_files)
            .map_err(|e| SinkError::retryable(format!("file sink cannot rotate: {e}")))?;
        let first = rotated_path(path, 1, RotatedKind::Plain);
        match std::fs::rename(path, &first) {
            // Deleted externally since the last check: nothing to keep.
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(SinkError::retryable(format!(
                    "file sink cannot rotate {} to {}: {e}",
                    path.display(),
                    first.display()
                )))
            }
            _ => {}
        }
        self.open_live()?;
        if self.config.rotation.compress {
            let started = self
                .compressor
                .start(self.config.path.clone(), self.config.mode);
            self.note_compression(started);
        }
        Ok(())
    }

    fn note_compression(&mut self, outcome: Result<(), String>) {
        if let Err(failure) = outcome {
            self.compression_failures.push(failure);
        }
    }

    /// Failures of background compression, reported once by `flush` or `close`.
    fn take_compression_failures(&mut self) -> Result<(), SinkError> {
        if self.compression_failures.is_empty() {
            return Ok(());
        }
        let message = self.compression_failures.join("; ");
        self.compression_failures.clear();
        Err(SinkError::permanent(format!("file sink: {message}")))
    }

    fn sync_live(&mut self) -> Result<(), SinkError> {
        match &self.live {
            Some(live) => live.sync().map_err(|e| self.io_error("sync", &e)),
            None => Ok(()),
        }
    }
}

/// The error for a failure at record `first_unwritten`: those records, and the ones already
/// refused, were not delivered.
fn undelivered(
    error: SinkError,
    refused: &[usize],
    first_unwritten: usize,
    len: usize,
) -> SinkError {
    let failed = refused
        .iter()
        .copied()
        .filter(|&i| i < first_unwritten)
        .chain(first_unwritten..len)
        .collect();
    error.with_failed_records(failed)
}

impl Sink for FileSink {
    fn kind(&self) -> &'static str {
        "file"
    }

    /// Appends the batch, rotating before any record that would take the file past
    /// `max_size`. A record is never split, and one larger than `max_size` goes alone into a
    /// file.
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let polled = self.compressor.poll();
        self.note_compression(polled);
        self.ensure_live()?;
        let max_size = self.config.rotation.max_size;
        let mut refused = Vec::new();
        let mut first_unwritten = 0;
        // Where the chain was before the lines not yet written: it goes back there when they
        // fail, so that their retry gets the same sequence numbers and leaves no gap.
        let mut unwritten_from = self.chain.as_ref().map(Chain::position);
        self.buffer.clear();
        self.buffer.reserve(batch.byte_len() + batch.len());
        for (i, record) in batch.records().enumerate() {
            if has_line_break(record) {
                refused.push(i);
                continue;
            }
            let size = self.live.as_ref().map_or(0, LiveFile::size);
            let filled = size + self.buffer.len() as u64;
            let chained = if self.chain.is_some() {
                chain::LINE_OVERHEAD
            } else {
                0
            };
            let line = record.len() as u64 + 1 + chained;
            if filled > 0 && filled.saturating_add(line) > max_size {
                self.write_chained(unwritten_from)
                    .map_err(|e| undelivered(e, &refused, first_unwritten, batch.len()))?;
                first_unwritten = i;
                unwritten_from = self.chain.as_ref().map(Chain::position);
                self.rotate()
                    .map_err(|e| undelivered(e, &refused, first_unwritten, batch.len()))?;
            }
            match &mut self.chain {
                Some(chain) => chain.push_line(&mut self.buffer, record),
                None => push_line(&mut self.buffer, record),
            }
        }
        self.write_chained(unwritten_from)
            .map_err(|e| undelivered(e, &refused, first_unwritten, batch.len()))?;
        if self.config.fsync == SyncPolicy::EveryBatch {
            // Written but perhaps not durable: resending the batch risks duplicates, which the
            // events' ids let a SIEM remove, rather than silent loss.
            self.sync_live()?;
        }
        match refused_error("file", refused) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Syncs the file unless the policy is `never` (records are already with the kernel after
    /// `send`), and reports background compression failures once, as a permanent error: the
    /// uncompressed files are kept and compressed again at the next rotation.
    fn flush(&mut self) -> Result<(), SinkError> {
        let polled = self.compressor.poll();
        self.note_compression(polled);
        if self.config.fsync != SyncPolicy::Never {
            self.sync_live()?;
        }
        self.take_compression_failures()
    }

    /// Syncs and closes the file, and waits for a compression in progress (up to the time one
    /// `max_size` file takes to compress). A later `send` reopens the file.
    fn close(&mut self) -> Result<(), SinkError> {
        let waited = self.compressor.wait();
        self.note_compression(waited);
        let synced = self.sync_live();
        self.live = None;
        synced?;
        self.take_compression_failures()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: &[&[u8]]) -> Batch {
        let mut b = Batch::default();
        for r in records {
            b.push(r);
        }
        b
    }

    #[test]
    fn undelivered_lists_earlier_refusals_and_the_unwritten_tail() {
        let e = undelivered(SinkError::retryable("x"), &[0, 2, 5], 3, 6);
        assert_eq!(e.failed_records(), Some(&[0usize, 2, 3, 4, 5][..]));
    }

    #[test]
    fn records_retried_after_a_failed_write_keep_the_chain_without_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        let key = "0123456789abcdef-test";
        let config = FileConfig::new(&path)
            .max_size(120)
            .compress(false)
            .chain(crate::Secret::new(key));
        let mut sink = FileSink::open(config).unwrap();
        std::fs::create_dir(dir.path().join("e.jsonl.1")).unwrap();
        std::fs::write(dir.path().join("e.jsonl.1/keep"), b"").unwrap();
        let records: [&[u8]; 3] = [br#"{"n":1}"#, br#"{"n":2}"#, br#"{"n":3}"#];
        let err = sink.send(&batch(&records)).unwrap_err();
        let failed = err.failed_records().unwrap().to_vec();
        assert!(!failed.is_empty() && failed.len() < 3, "{failed:?}");
        // The obstacle goes; the route resends what failed.
        std::fs::remove_dir_all(dir.path().join("e.jsonl.1")).unwrap();
        let retry: Vec<&[u8]> = failed.iter().map(|&i| records[i]).collect();
        sink.send(&batch(&retry)).unwrap();
        sink.close().unwrap();
        let mut verifier = Verifier::new(key.as_bytes());
        // Oldest first: one line per file at this size.
        for file in ["e.jsonl.2", "e.jsonl.1", "e.jsonl"] {
            for line in std::fs::read_to_string(dir.path().join(file))
                .unwrap()
                .lines()
            {
                verifier.check(line.as_bytes()).unwrap();
            }
        }
        assert_eq!(verifier.verified(), 3);
    }

    #[test]
    fn a_failed_rotation_reports_only_the_unwritten_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        let config = FileConfig::new(&path).max_size(4).compress(false);
        let mut sink = FileSink::open(config).unwrap();
        // `<path>.1` as a non-empty directory makes the rename of the live file fail.
        std::fs::create_dir(dir.path().join("e.jsonl.1")).unwrap();
        std::fs::write(dir.path().join("e.jsonl.1/keep"), b"").unwrap();
        let err = sink.send(&batch(&[b"a\nb", b"one", b"two"])).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.failed_records(), Some(&[0usize, 2][..]));
        assert!(err.message().contains("e.jsonl"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
    }
}
