//! Configuration of the file sink: where, when to rotate, how durable, with which permissions.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::{units, Secret};

/// Where and how the file sink writes, as read from configuration.
///
/// Defaults: rotation at 100 MB keeping 10 gzip-compressed files, `fsync: on_flush`, mode `0600`
/// (security events are sensitive), and a check every second that the file was not moved or
/// deleted under the sink (logrotate).
///
/// ```
/// use siem_ship::sink::file::{FileConfig, SyncPolicy};
///
/// // The YAML of the original requirements, as a JSON-compatible value (`format` belongs to the
/// // route, which picks the encoder; the sink writes whatever records it is given).
/// let config: FileConfig = serde_json::from_str(r#"{
///     "path": "/var/log/mockforge/siem-events.jsonl",
///     "rotation": { "max_size": "100MB", "max_files": 10, "compress": true }
/// }"#).unwrap();
/// assert_eq!(config.rotation.max_size, 100_000_000);
/// assert_eq!(config.fsync, SyncPolicy::OnFlush);
/// assert_eq!(config.mode, 0o600);
///
/// let built = FileConfig::new("/var/log/mockforge/siem-events.jsonl")
///     .max_size(100_000_000)
///     .max_files(10)
///     .compress(true);
/// assert_eq!(built, config);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileConfig {
    /// The live file. Rotated files sit beside it as `<path>.1` (newest), `<path>.2`, … or
    /// `<path>.1.gz`, … when compressed. Missing parent directories are created.
    pub path: PathBuf,
    /// When to start a new file and how many old ones to keep.
    #[serde(default)]
    pub rotation: RotationConfig,
    /// When written data is forced to disk (`fsync`): `never`, `on_flush` or `every_batch`;
    /// `true` means `every_batch` and `false` means `never`.
    #[serde(
        default,
        deserialize_with = "sync_policy",
        serialize_with = "sync_policy_text"
    )]
    pub fsync: SyncPolicy,
    /// Unix permission bits of the files the sink creates (ignored elsewhere), set exactly,
    /// whatever the umask, and the widest mode an existing file may have: a file at `path` that
    /// allows more (say `0644` when this is `0600`) is refused with an error naming both modes,
    /// not tightened. Must give the owner read and write (`0600`): the sink reopens the file to
    /// append and reads its last byte to repair a torn line. Written as an octal string
    /// (`"0640"`) or an integer (`0o640` in YAML 1.2 or TOML).
    #[serde(
        default = "default_mode",
        deserialize_with = "file_mode",
        serialize_with = "file_mode_text"
    )]
    pub mode: u32,
    /// How often, at most, the sink checks that `path` is still the file it has open (an
    /// external rotation renames or deletes it) and reopens it if not. `0s` checks every batch.
    #[serde(
        default = "default_reopen_check",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub reopen_check: Duration,
    /// A tamper-evident chain over the lines (JSON formats only): every line gets `seq`, the
    /// previous line's MAC and its own HMAC-SHA256 under `key`, which `siem verify` checks.
    /// Off by default.
    #[serde(default)]
    pub chain: Option<ChainConfig>,
}

/// The key of a file destination's tamper-evident chain (`chain: { key: "${SIEM_CHAIN_KEY}" }`).
///
/// Keep the key away from the files it protects (an environment variable, a secret store):
/// whoever holds it can rewrite the chain.
///
/// ```
/// use siem_ship::sink::file::{ChainConfig, FileConfig};
/// let config: FileConfig = serde_json::from_str(
///     r#"{"path": "audit.jsonl", "chain": {"key": "0123456789abcdef-audit"}}"#,
/// ).unwrap();
/// assert_eq!(config.chain.unwrap().key.expose(), "0123456789abcdef-audit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChainConfig {
    /// The HMAC key: at least 16 bytes.
    pub key: Secret,
}

impl ChainConfig {
    /// A chain under `key`.
    ///
    /// ```
    /// use siem_ship::sink::file::ChainConfig;
    /// use siem_ship::Secret;
    /// let chain = ChainConfig::new(Secret::new("0123456789abcdef"));
    /// assert_eq!(chain.key.expose().len(), 16);
    /// ```
    pub fn new(key: Secret) -> ChainConfig {
        ChainConfig { key }
    }
}

impl FileConfig {
    /// Sets `path`: the live file.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// let c = FileConfig::new("events.jsonl").path("/var/log/siem/events.jsonl");
    /// assert_eq!(c.path, std::path::PathBuf::from("/var/log/siem/events.jsonl"));
    /// ```
    pub fn path(mut self, path: impl Into<PathBuf>) -> FileConfig {
        self.path = path.into();
        self
    }

    /// Sets `rotation`: when to start a new file and how many old ones to keep.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// use siem_ship::sink::file::RotationConfig;
    /// let c = FileConfig::new("events.jsonl").rotation(RotationConfig::default().max_files(3));
    /// assert_eq!(c.rotation.max_files, 3);
    /// ```
    pub fn rotation(mut self, rotation: RotationConfig) -> FileConfig {
        self.rotation = rotation;
        self
    }
}

/// Size-based rotation.
///
/// ```
/// use siem_ship::sink::file::RotationConfig;
/// let rotation = RotationConfig::default();
/// assert_eq!((rotation.max_size, rotation.max_files, rotation.compress), (100_000_000, 10, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RotationConfig {
    /// The size a file may reach (`100MB`, `64MiB`, or bytes). A batch that would push the file
    /// past it goes to a new file; a record is never split, and a record larger than this goes
    /// alone into its own file. Must not be zero.
    #[serde(default = "default_max_size", deserialize_with = "units::byte_size")]
    pub max_size: u64,
    /// How many rotated files to keep; the oldest beyond this are deleted. Must not be zero.
    #[serde(default = "default_max_files")]
    pub max_files: u32,
    /// Whether rotated files are gzip-compressed (`<path>.1.gz`), on a background thread.
    #[serde(default = "default_compress")]
    pub compress: bool,
}

impl RotationConfig {
    /// Sets `max_size`: the size a file may reach (`100MB`, `64MiB`, or bytes).
    ///
    /// ```
    /// use siem_ship::sink::file::RotationConfig;
    /// let c = RotationConfig::default().max_size(1 << 20);
    /// assert_eq!(c.max_size, 1 << 20);
    /// ```
    pub fn max_size(mut self, max_size: u64) -> RotationConfig {
        self.max_size = max_size;
        self
    }

    /// Sets `max_files`: how many rotated files to keep; the oldest beyond this are deleted.
    ///
    /// ```
    /// use siem_ship::sink::file::RotationConfig;
    /// let c = RotationConfig::default().max_files(5);
    /// assert_eq!(c.max_files, 5);
    /// ```
    pub fn max_files(mut self, max_files: u32) -> RotationConfig {
        self.max_files = max_files;
        self
    }

    /// Sets `compress`: whether rotated files are gzip-compressed (`<path>.1.gz`), on a background thread.
    ///
    /// ```
    /// use siem_ship::sink::file::RotationConfig;
    /// let c = RotationConfig::default().compress(false);
    /// assert!(!c.compress);
    /// ```
    pub fn compress(mut self, compress: bool) -> RotationConfig {
        self.compress = compress;
        self
    }
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            max_size: default_max_size(),
            max_files: default_max_files(),
            compress: default_compress(),
        }
    }
}

/// When the file sink forces written data to disk.
///
/// Data handed to the kernel survives a crash of the process but not a power loss or a kernel
/// panic; `fsync` closes that window at a cost of a few milliseconds per call on most disks.
/// Closing the sink always syncs, whatever the policy.
///
/// ```
/// use siem_ship::sink::file::SyncPolicy;
/// assert_eq!(SyncPolicy::default(), SyncPolicy::OnFlush);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Leave it to the operating system (and to `close`).
    Never,
    /// Sync when the pipeline flushes the sink (its flush interval and shutdown), and before a
    /// rotation.
    #[default]
    OnFlush,
    /// Sync after every batch: at most the batch being written is at risk.
    EveryBatch,
}

/// A configuration the file sink cannot work with, naming the key and the reason.
///
/// ```
/// use siem_ship::sink::file::FileConfig;
/// let err = FileConfig::new("/tmp/x.jsonl").max_files(0).validate().unwrap_err();
/// assert_eq!(err.key(), "rotation.max_files");
/// assert!(err.to_string().contains("rotation.max_files"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFileConfig {
    key: &'static str,
    reason: String,
}

impl InvalidFileConfig {
    /// The offending configuration key, e.g. `rotation.max_size`.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// let err = FileConfig::new("/tmp/x.jsonl").mode(0o20000).validate().unwrap_err();
    /// assert_eq!(err.key(), "mode");
    /// ```
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// Why its value is refused.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// let err = FileConfig::new("/tmp/x.jsonl").max_size(0).validate().unwrap_err();
    /// assert!(err.reason().contains("greater than zero"));
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidFileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid file sink setting `{}`: {}",
            self.key, self.reason
        )
    }
}

impl std::error::Error for InvalidFileConfig {}

impl FileConfig {
    /// A configuration for `path` with every other setting at its default.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// let config = FileConfig::new("events.jsonl");
    /// assert_eq!(config.rotation.max_files, 10);
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> FileConfig {
        FileConfig {
            path: path.into(),
            rotation: RotationConfig::default(),
            fsync: SyncPolicy::default(),
            mode: default_mode(),
            reopen_check: default_reopen_check(),
            chain: None,
        }
    }

    /// Sets `chain`: a tamper-evident chain over the lines under `key` (at least 16 bytes).
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// use siem_ship::Secret;
    /// let c = FileConfig::new("audit.jsonl").chain(Secret::new("0123456789abcdef-audit"));
    /// assert!(c.chain.is_some());
    /// ```
    pub fn chain(mut self, key: Secret) -> FileConfig {
        self.chain = Some(ChainConfig::new(key));
        self
    }

    /// Sets the size at which the file is rotated, in bytes.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// assert_eq!(FileConfig::new("e.jsonl").max_size(1 << 20).rotation.max_size, 1 << 20);
    /// ```
    pub fn max_size(mut self, bytes: u64) -> FileConfig {
        self.rotation.max_size = bytes;
        self
    }

    /// Sets how many rotated files are kept.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// assert_eq!(FileConfig::new("e.jsonl").max_files(3).rotation.max_files, 3);
    /// ```
    pub fn max_files(mut self, files: u32) -> FileConfig {
        self.rotation.max_files = files;
        self
    }

    /// Sets whether rotated files are gzip-compressed.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// assert!(!FileConfig::new("e.jsonl").compress(false).rotation.compress);
    /// ```
    pub fn compress(mut self, compress: bool) -> FileConfig {
        self.rotation.compress = compress;
        self
    }

    /// Sets when data is forced to disk.
    ///
    /// ```
    /// use siem_ship::sink::file::{FileConfig, SyncPolicy};
    /// let config = FileConfig::new("e.jsonl").fsync(SyncPolicy::EveryBatch);
    /// assert_eq!(config.fsync, SyncPolicy::EveryBatch);
    /// ```
    pub fn fsync(mut self, policy: SyncPolicy) -> FileConfig {
        self.fsync = policy;
        self
    }

    /// Sets the Unix permission bits of created files, and the widest mode accepted on an
    /// existing one.
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// assert_eq!(FileConfig::new("e.jsonl").mode(0o640).mode, 0o640);
    /// ```
    pub fn mode(mut self, mode: u32) -> FileConfig {
        self.mode = mode;
        self
    }

    /// Sets how often, at most, the sink checks whether its file was moved or deleted.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::sink::file::FileConfig;
    /// let config = FileConfig::new("e.jsonl").reopen_check(Duration::ZERO);
    /// assert_eq!(config.reopen_check, Duration::ZERO);
    /// ```
    pub fn reopen_check(mut self, every: Duration) -> FileConfig {
        self.reopen_check = every;
        self
    }

    /// Checks the settings that deserialization alone cannot (the sink calls this on open).
    ///
    /// ```
    /// use siem_ship::sink::file::FileConfig;
    /// assert!(FileConfig::new("e.jsonl").validate().is_ok());
    /// assert_eq!(FileConfig::new("e.jsonl").max_size(0).validate().unwrap_err().key(), "rotation.max_size");
    /// assert_eq!(FileConfig::new("").validate().unwrap_err().key(), "path");
    /// ```
    pub fn validate(&self) -> Result<(), InvalidFileConfig> {
        let invalid = |key, reason: &str| {
            Err(InvalidFileConfig {
                key,
                reason: reason.to_owned(),
            })
        };
        if file_name_of(&self.path).is_none() {
            return invalid(
                "path",
                "must name a file (not empty, not ending in `/`, `.` or `..`)",
            );
        }
        if self.rotation.max_size == 0 {
            return invalid(
                "rotation.max_size",
                "must be greater than zero (a size such as 100MB)",
            );
        }
        if self.rotation.max_files == 0 {
            return invalid(
                "rotation.max_files",
                "must be at least 1: rotation keeps the previous file until it is replaced",
            );
        }
        if self.mode > 0o7777 {
            return invalid(
                "mode",
                &format!(
                    "{:#o} is not a set of permission bits (at most 0o7777)",
                    self.mode
                ),
            );
        }
        if self.mode & 0o600 != 0o600 {
            return invalid(
                "mode",
                &format!(
                    "{:04o} does not let the owner read and write the file (0600 at least)",
                    self.mode
                ),
            );
        }
        if let Some(chain) = &self.chain {
            if chain.key.expose().len() < MIN_CHAIN_KEY {
                return invalid(
                    "chain.key",
                    "must be at least 16 bytes (a random string from a secret store, e.g. `openssl rand -hex 32`)",
                );
            }
        }
        Ok(())
    }
}

/// The shortest chain key accepted.
const MIN_CHAIN_KEY: usize = 16;

/// The final component of `path`, when it names a file.
pub(crate) fn file_name_of(path: &Path) -> Option<&std::ffi::OsStr> {
    let text = path.as_os_str().as_encoded_bytes();
    if text.ends_with(b"/") || (cfg!(windows) && text.ends_with(b"\\")) {
        return None;
    }
    path.file_name()
}

fn default_max_size() -> u64 {
    100_000_000
}

fn default_max_files() -> u32 {
    10
}

fn default_compress() -> bool {
    true
}

fn default_mode() -> u32 {
    0o600
}

fn default_reopen_check() -> Duration {
    Duration::from_secs(1)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FlagOrText {
    Flag(bool),
    Number(u64),
    Text(String),
}

fn sync_policy<'de, D: Deserializer<'de>>(d: D) -> Result<SyncPolicy, D::Error> {
    match FlagOrText::deserialize(d)? {
        FlagOrText::Flag(true) => Ok(SyncPolicy::EveryBatch),
        FlagOrText::Flag(false) => Ok(SyncPolicy::Never),
        FlagOrText::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(SyncPolicy::Never),
            "on_flush" => Ok(SyncPolicy::OnFlush),
            "every_batch" => Ok(SyncPolicy::EveryBatch),
            _ => Err(de::Error::custom(format!(
                "invalid fsync policy {t:?}: expected never, on_flush, every_batch, true or false"
            ))),
        },
        FlagOrText::Number(n) => Err(de::Error::custom(format!(
            "invalid fsync policy {n}: expected never, on_flush, every_batch, true or false"
        ))),
    }
}

/// `fsync` as the configuration writes it.
fn sync_policy_text<S: Serializer>(policy: &SyncPolicy, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match policy {
        SyncPolicy::Never => "never",
        SyncPolicy::OnFlush => "on_flush",
        SyncPolicy::EveryBatch => "every_batch",
    })
}

/// `mode` as an octal string (`"0600"`), the way people write permission bits.
fn file_mode_text<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{mode:04o}"))
}

fn file_mode<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let bad = |shown: &str| {
        de::Error::custom(format!(
            "invalid file mode {shown}: expected octal permission bits such as \"0600\" or \"0640\""
        ))
    };
    match FlagOrText::deserialize(d)? {
        FlagOrText::Number(n) => u32::try_from(n)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| bad(&n.to_string())),
        FlagOrText::Text(t) => {
            let digits = t.trim();
            let digits = digits.strip_prefix("0o").unwrap_or(digits);
            if digits.is_empty() || digits.len() > 5 {
                return Err(bad(&format!("{t:?}")));
            }
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| bad(&format!("{t:?}")))
        }
        FlagOrText::Flag(b) => Err(bad(&b.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<FileConfig, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_from_a_bare_path() {
        let config = parse(r#"{"path": "/tmp/e.jsonl"}"#).unwrap();
        assert_eq!(config, FileConfig::new("/tmp/e.jsonl"));
        assert_eq!(config.reopen_check, Duration::from_secs(1));
    }

    #[test]
    fn every_setting() {
        let config = parse(
            r#"{"path": "e.jsonl", "rotation": {"max_size": "64KiB", "max_files": 2, "compress": false},
                "fsync": "every_batch", "mode": "0640", "reopen_check": "250ms"}"#,
        )
        .unwrap();
        assert_eq!(config.rotation.max_size, 65_536);
        assert_eq!(config.rotation.max_files, 2);
        assert!(!config.rotation.compress);
        assert_eq!(config.fsync, SyncPolicy::EveryBatch);
        assert_eq!(config.mode, 0o640);
        assert_eq!(config.reopen_check, Duration::from_millis(250));
    }

    #[test]
    fn fsync_accepts_booleans_and_names() {
        let fsync = |v: &str| parse(&format!(r#"{{"path": "e", "fsync": {v}}}"#)).map(|c| c.fsync);
        assert_eq!(fsync("true").unwrap(), SyncPolicy::EveryBatch);
        assert_eq!(fsync("false").unwrap(), SyncPolicy::Never);
        assert_eq!(fsync(r#""never""#).unwrap(), SyncPolicy::Never);
        assert_eq!(fsync(r#""on_flush""#).unwrap(), SyncPolicy::OnFlush);
        assert!(fsync(r#""sometimes""#)
            .unwrap_err()
            .contains("invalid fsync policy"));
        assert!(fsync("1").is_err());
    }

    #[test]
    fn modes() {
        let mode = |v: &str| parse(&format!(r#"{{"path": "e", "mode": {v}}}"#)).map(|c| c.mode);
        assert_eq!(mode(r#""600""#).unwrap(), 0o600);
        assert_eq!(mode(r#""0o640""#).unwrap(), 0o640);
        assert_eq!(mode("416").unwrap(), 0o640);
        assert!(mode(r#""0800""#).unwrap_err().contains("invalid file mode"));
        assert!(mode(r#""rw-------""#).is_err());
        assert!(mode(r#""""#).is_err());
        assert!(mode("70000").is_err());
        assert!(mode("true").is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse(r#"{"path": "e", "rotation": {"max_sise": "1MB"}}"#).unwrap_err();
        assert!(err.contains("max_sise"), "{err}");
        let err = parse(r#"{"path": "e", "format": "jsonl"}"#).unwrap_err();
        assert!(err.contains("format"), "{err}");
        let err = parse(r#"{"path": "e", "rotation": {"max_size": "lots"}}"#).unwrap_err();
        assert!(err.contains("invalid byte size"), "{err}");
    }

    #[test]
    fn validation_names_the_key() {
        let key = |c: FileConfig| c.validate().unwrap_err().key();
        assert_eq!(key(FileConfig::new("e").max_size(0)), "rotation.max_size");
        assert_eq!(key(FileConfig::new("e").max_files(0)), "rotation.max_files");
        assert_eq!(key(FileConfig::new("e").mode(0o10000)), "mode");
        assert_eq!(key(FileConfig::new("e").mode(0o200)), "mode");
        assert_eq!(key(FileConfig::new("e").mode(0o444)), "mode");
        assert_eq!(key(FileConfig::new("")), "path");
        assert_eq!(key(FileConfig::new("logs/")), "path");
        assert_eq!(key(FileConfig::new("logs/..")), "path");
        assert!(FileConfig::new("e")
            .max_size(1)
            .max_files(1)
            .validate()
            .is_ok());
    }
}
