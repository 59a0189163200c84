//! The dead-letter file: records a server refused for good, one JSON object per line, with
//! the status and the reason, so that they can be read, fixed and sent again by hand.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use siem_event::Timestamp;

/// Where refused records go when a destination names no `http.dead_letter` path: this file in the
/// working directory, shared by the destinations (each line names its destination).
///
/// ```
/// assert_eq!(siem_http::DEFAULT_DEAD_LETTER_PATH, "siem-dead-letter.jsonl");
/// ```
pub const DEFAULT_DEAD_LETTER_PATH: &str = "siem-dead-letter.jsonl";

/// One refused record on its way to the file.
pub(crate) struct Refusal<'a> {
    pub record: &'a [u8],
    pub status: Option<u16>,
    pub reason: &'a str,
}

/// Appends refused records to a JSON-lines file, opened on the first refusal.
pub(crate) struct DeadLetter {
    path: PathBuf,
    destination: &'static str,
    file: Option<File>,
}

impl DeadLetter {
    pub fn new(path: Option<&Path>, destination: &'static str) -> DeadLetter {
        DeadLetter {
            path: path.map_or_else(
                || PathBuf::from(DEFAULT_DEAD_LETTER_PATH),
                Path::to_path_buf,
            ),
            destination,
            file: None,
        }
    }

    /// Appends one line per refusal, in one write: `{"time", "destination", "status",
    /// "reason", "record"}`, the record as JSON when it is JSON, else as a string.
    pub fn write(&mut self, refusals: &[Refusal<'_>]) -> io::Result<()> {
        if refusals.is_empty() {
            return Ok(());
        }
        let time = Timestamp::now().to_rfc3339();
        let mut out = Vec::new();
        for r in refusals {
            out.extend_from_slice(b"{\"time\":");
            serde_json::to_writer(&mut out, &time)?;
            out.extend_from_slice(b",\"destination\":");
            serde_json::to_writer(&mut out, self.destination)?;
            out.extend_from_slice(b",\"status\":");
            serde_json::to_writer(&mut out, &r.status)?;
            out.extend_from_slice(b",\"reason\":");
            serde_json::to_writer(&mut out, r.reason)?;
            out.extend_from_slice(b",\"record\":");
            if serde_json::from_slice::<IgnoredAny>(r.record).is_ok() {
                out.extend_from_slice(r.record.trim_ascii());
            } else {
                serde_json::to_writer(&mut out, &String::from_utf8_lossy(r.record))?;
            }
            out.extend_from_slice(b"}\n");
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            ),
        };
        file.write_all(&out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_records_stay_json_and_text_records_become_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dl.jsonl");
        let mut dl = DeadLetter::new(Some(&path), "webhook");
        dl.write(&[
            Refusal {
                record: br#"{"a":1}"#,
                status: Some(400),
                reason: "HTTP 400 Bad Request",
            },
            Refusal {
                record: b"CEF:0|x\"y",
                status: None,
                reason: "too large",
            },
        ])
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["record"], serde_json::json!({"a": 1}));
        assert_eq!(lines[0]["status"], 400);
        assert_eq!(lines[0]["destination"], "webhook");
        assert_eq!(lines[1]["record"], "CEF:0|x\"y");
        assert_eq!(lines[1]["status"], serde_json::Value::Null);
        assert_eq!(lines[1]["reason"], "too large");
    }
}
