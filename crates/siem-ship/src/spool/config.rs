//! A spool's settings as configured: where, how large, what to do when full, when to fsync.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;

/// The smallest `max_size`: room for eight segments of a few encoded events each.
pub const MIN_SPOOL_SIZE: u64 = 64 * 1024;

/// A destination's disk spool (the `spool:` key of a destination).
///
/// Batches the destination cannot deliver right away (it is failing, or slower than the event
/// rate) are appended to segment files under `path`, then sent from there in order, and deleted
/// only once the destination accepted them; a process that restarts over the same `path` sends
/// what the previous one left first.
///
/// ```
/// use std::time::Duration;
/// use siem_ship::{FsyncPolicy, SpoolConfig, WhenFull};
/// let s: SpoolConfig = serde_yaml_ng::from_str(
///     "{ path: /var/spool/siem/collector, max_size: 512MB, when_full: block, block_timeout: 2s }",
/// ).unwrap();
/// assert_eq!(s.max_size, 512_000_000);
/// assert_eq!(s.when_full, WhenFull::Block);
/// assert_eq!(s.block_timeout, Duration::from_secs(2));
/// assert_eq!(s.fsync, FsyncPolicy::Batch);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SpoolConfig {
    /// The spool's own directory (created `0700`); one directory per destination.
    pub path: PathBuf,
    /// The most the segment files may hold in all (default 256 MiB, at least 64 KiB).
    #[serde(
        default = "default_max_size",
        deserialize_with = "crate::units::byte_size"
    )]
    pub max_size: u64,
    /// What happens to a batch that does not fit (default: drop it, `drop-newest`).
    #[serde(default)]
    pub when_full: WhenFull,
    /// How long `when_full: block` waits for room before dropping the batch (default 1 s).
    #[serde(default = "one_second", deserialize_with = "crate::units::duration")]
    pub block_timeout: Duration,
    /// When appended batches are forced to disk (default: after every batch).
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// The longest time between two fsyncs with `fsync: interval` (default 1 s).
    #[serde(default = "one_second", deserialize_with = "crate::units::duration")]
    pub fsync_interval: Duration,
}

fn default_max_size() -> u64 {
    256 * 1024 * 1024
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// What a full spool does with a batch that does not fit.
///
/// ```
/// use siem_ship::WhenFull;
/// let w: WhenFull = serde_yaml_ng::from_str("drop-oldest").unwrap();
/// assert_eq!(w, WhenFull::DropOldest);
/// assert_eq!(WhenFull::default(), WhenFull::DropNewest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WhenFull {
    /// Drop the new batch (counted as `spool_full`).
    #[default]
    DropNewest,
    /// Delete the oldest segments waiting behind the one being delivered until the batch fits
    /// (their events counted as `spool_full`).
    DropOldest,
    /// Wait up to `block_timeout` for deliveries to make room, then drop the new batch. The
    /// destination's queue fills meanwhile.
    Block,
}

/// When the spool forces appended batches to disk (`fsync`).
///
/// A process killed (even with `kill -9`) loses nothing that was appended: the kernel holds the
/// written pages. The policy decides what an operating-system crash or a power cut may lose.
///
/// ```
/// use siem_ship::FsyncPolicy;
/// let f: FsyncPolicy = serde_yaml_ng::from_str("interval").unwrap();
/// assert_eq!(f, FsyncPolicy::Interval);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Every appended batch is covered by an `fdatasync` that starts after it was written, on
    /// the spool's sync thread; batches appended during one sync share the next (group
    /// commit). A power cut loses at most the batches of about two syncs.
    #[default]
    Batch,
    /// At most every `fsync_interval`: a power cut loses up to that interval of batches.
    Interval,
    /// Never, not even at a flush: the operating system writes back when it likes (tens of
    /// seconds on Linux).
    Never,
}

impl SpoolConfig {
    /// A spool in `path` with the defaults: 256 MiB, `drop-newest`, fsync per batch.
    ///
    /// ```
    /// use siem_ship::SpoolConfig;
    /// let s = SpoolConfig::new("/var/spool/siem/hec");
    /// assert_eq!(s.max_size, 256 * 1024 * 1024);
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> SpoolConfig {
        SpoolConfig {
            path: path.into(),
            max_size: default_max_size(),
            when_full: WhenFull::default(),
            block_timeout: one_second(),
            fsync: FsyncPolicy::default(),
            fsync_interval: one_second(),
        }
    }

    /// Sets `max_size`: the most the segment files may hold in all.
    ///
    /// ```
    /// use siem_ship::SpoolConfig;
    /// assert_eq!(SpoolConfig::new("s").max_size(1 << 30).max_size, 1 << 30);
    /// ```
    pub fn max_size(mut self, bytes: u64) -> SpoolConfig {
        self.max_size = bytes;
        self
    }

    /// Sets `when_full`: what happens to a batch that does not fit.
    ///
    /// ```
    /// use siem_ship::{SpoolConfig, WhenFull};
    /// let s = SpoolConfig::new("s").when_full(WhenFull::DropOldest);
    /// assert_eq!(s.when_full, WhenFull::DropOldest);
    /// ```
    pub fn when_full(mut self, policy: WhenFull) -> SpoolConfig {
        self.when_full = policy;
        self
    }

    /// Sets `block_timeout`: how long `when_full: block` waits for room.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::SpoolConfig;
    /// let s = SpoolConfig::new("s").block_timeout(Duration::from_millis(250));
    /// assert_eq!(s.block_timeout, Duration::from_millis(250));
    /// ```
    pub fn block_timeout(mut self, timeout: Duration) -> SpoolConfig {
        self.block_timeout = timeout;
        self
    }

    /// Sets `fsync`: when appended batches are forced to disk.
    ///
    /// ```
    /// use siem_ship::{FsyncPolicy, SpoolConfig};
    /// assert_eq!(SpoolConfig::new("s").fsync(FsyncPolicy::Never).fsync, FsyncPolicy::Never);
    /// ```
    pub fn fsync(mut self, policy: FsyncPolicy) -> SpoolConfig {
        self.fsync = policy;
        self
    }

    /// Sets `fsync_interval`: the longest time between two fsyncs with `fsync: interval`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::{FsyncPolicy, SpoolConfig};
    /// let s = SpoolConfig::new("s").fsync(FsyncPolicy::Interval).fsync_interval(Duration::from_millis(200));
    /// assert_eq!(s.fsync_interval, Duration::from_millis(200));
    /// ```
    pub fn fsync_interval(mut self, interval: Duration) -> SpoolConfig {
        self.fsync_interval = interval;
        self
    }

    /// Checks every setting without creating anything; keys are relative to the spool
    /// (`max_size`, `path`).
    ///
    /// ```
    /// use siem_ship::SpoolConfig;
    /// assert!(SpoolConfig::new("/tmp/s").validate().is_ok());
    /// let e = SpoolConfig::new("/tmp/s").max_size(1000).validate().unwrap_err();
    /// assert_eq!(e.key(), "max_size");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid("path", "must name a directory"));
        }
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if !m.is_dir() {
                return Err(ConfigError::invalid(
                    "path",
                    format!(
                        "{} exists and is not a directory (a symbolic link is not followed)",
                        self.path.display()
                    ),
                ));
            }
        }
        if self.max_size < MIN_SPOOL_SIZE {
            return Err(ConfigError::invalid(
                "max_size",
                format!("must be at least {MIN_SPOOL_SIZE} bytes (64KiB)"),
            ));
        }
        if self.when_full == WhenFull::Block && self.block_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "block_timeout",
                "must be more than 0 with when_full: block (use drop-newest not to wait)",
            ));
        }
        if self.fsync == FsyncPolicy::Interval && self.fsync_interval.is_zero() {
            return Err(ConfigError::invalid(
                "fsync_interval",
                "must be more than 0 with fsync: interval (use fsync: batch to sync every batch)",
            ));
        }
        Ok(())
    }
}
