//! The file sink as a destination type (`type: file`): its settings checked without touching
//! the disk beyond looking, and the sink opened from them.

use std::time::Duration;

use siem_format::{Format, FormatOptions};

use super::safe_open::{self, AppendCheck};
use super::{FileConfig, FileSink, FileSinkError};
use crate::sink::{Sink, SinkConfig};
use crate::ConfigError;

impl FileConfig {
    /// Whether the sink could open `path` for appending, found without creating or writing
    /// anything: what it would do there on success, why it could not on failure.
    fn check_path(&self) -> Result<String, ConfigError> {
        let shown = self.path.display();
        match safe_open::check_append(&self.path, self.mode) {
            Ok(AppendCheck::Existing) => Ok(format!("can append to {shown}")),
            Ok(AppendCheck::WouldCreate) => Ok(format!("would create {shown}")),
            Err(e) => Err(ConfigError::invalid(
                "path",
                format!("the file sink cannot open {shown}: {e}"),
            )
            .with_source(e)),
        }
    }
}

/// `type: file`: accepts every format, since each record is written as one line.
///
/// ```
/// use siem_ship::sink::file::FileConfig;
/// use siem_ship::sink::SinkConfig;
///
/// let dir = tempfile::tempdir().unwrap();
/// let config = FileConfig::new(dir.path().join("logs/events.jsonl"));
/// SinkConfig::validate(&config).unwrap();
/// assert!(!dir.path().join("logs").exists(), "validation creates nothing");
///
/// let err = SinkConfig::validate(&config.clone().max_files(0)).unwrap_err();
/// assert_eq!(err.key(), "rotation.max_files");
/// std::fs::write(dir.path().join("taken"), b"a file, not a directory").unwrap();
/// let err = SinkConfig::validate(&FileConfig::new(dir.path().join("taken/e.jsonl"))).unwrap_err();
/// assert_eq!(err.key(), "path");
/// ```
impl SinkConfig for FileConfig {
    fn type_name(&self) -> &'static str {
        "file"
    }

    fn settings(&self) -> serde_json::Value {
        crate::sink::settings_of(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        FileConfig::validate(self).map_err(|e| ConfigError::invalid(e.key(), e.reason()))?;
        self.check_path().map(drop)
    }

    /// Any format, except that a chain needs lines that are JSON objects.
    fn accepts(&self, format: Format, _: &FormatOptions) -> Result<(), String> {
        match (&self.chain, format) {
            (None, _) | (Some(_), Format::Json | Format::Ecs | Format::Ocsf | Format::Hec) => {
                Ok(())
            }
            (Some(_), other) => Err(format!(
                "`chain` adds its fields to JSON lines; format {other} is not JSON \
                 (use json, ecs, ocsf or hec)"
            )),
        }
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        match FileSink::open(self.clone()) {
            Ok(sink) => Ok(Box::new(sink)),
            Err(FileSinkError::Config(e)) => Err(ConfigError::invalid(e.key(), e.reason())),
            Err(e) => Err(ConfigError::invalid("path", e.to_string()).with_source(e)),
        }
    }

    /// Checks that the file can be opened for appending (an existing file is opened and closed,
    /// nothing is written or created).
    fn probe(&self, _: Duration) -> Result<String, String> {
        FileConfig::validate(self).map_err(|e| e.to_string())?;
        self.check_path().map_err(|e| e.reason().to_owned())
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}
