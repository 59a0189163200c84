//! Standard output (or standard error): one record per line, for containers whose runtime
//! collects the process's output (Docker, Kubernetes, systemd) and for piping into other tools.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use siem_format::{Format, FormatOptions};

use super::file::{frame_batch, refused_error};
use super::SinkConfig;
use crate::{Batch, ConfigError, Sink, SinkError};

/// Which standard stream a [`StdoutSink`] writes to.
///
/// ```
/// use siem_ship::sink::stdout::Stream;
/// assert_eq!(Stream::default(), Stream::Stdout);
/// assert_eq!(Stream::Stderr.name(), "stderr");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Stream {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error, to keep security events apart from a program's regular output.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`.
    ///
    /// ```
    /// use siem_ship::sink::stdout::Stream;
    /// assert_eq!(Stream::Stdout.name(), "stdout");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Settings of a [`StdoutSink`].
///
/// ```
/// use siem_ship::sink::stdout::{StdoutConfig, Stream};
/// let config: StdoutConfig = serde_json::from_str(r#"{"stream": "stderr"}"#).unwrap();
/// assert_eq!(config.stream, Stream::Stderr);
/// assert_eq!(serde_json::from_str::<StdoutConfig>("{}").unwrap(), StdoutConfig::default());
/// assert!(serde_json::from_str::<StdoutConfig>(r#"{"steam": "stdout"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StdoutConfig {
    /// `stdout` (the default) or `stderr`.
    #[serde(default)]
    pub stream: Stream,
}

impl StdoutConfig {
    /// Sets `stream`: `stdout` (the default) or `stderr`.
    ///
    /// ```
    /// use siem_ship::sink::stdout::StdoutConfig;
    /// use siem_ship::sink::stdout::Stream;
    /// let c = StdoutConfig::default().stream(Stream::Stderr);
    /// assert_eq!(c.stream, Stream::Stderr);
    /// ```
    pub fn stream(mut self, stream: Stream) -> StdoutConfig {
        self.stream = stream;
        self
    }
}

/// Writes each record followed by `\n` to standard output or standard error.
///
/// A batch is framed into one buffer and written under one lock, so it is never interleaved
/// with the program's own output. A closed pipe (the reader exited) is a permanent error, since
/// nothing can reopen it; other I/O errors are retryable. A record containing a line break is
/// refused, alone, as a permanent error (see [`has_line_break`](super::file::has_line_break)).
///
/// ```
/// use siem_ship::sink::stdout::StdoutSink;
/// use siem_ship::{Batch, Sink};
///
/// let mut sink = StdoutSink::stdout();
/// let mut batch = Batch::default();
/// batch.push(br#"{"event_type":"auth.failure"}"#);
/// sink.send(&batch).unwrap();
/// sink.flush().unwrap();
/// ```
#[derive(Debug, Default)]
pub struct StdoutSink {
    stream: Stream,
    buffer: Vec<u8>,
}

impl StdoutSink {
    /// A sink writing to the stream `config` chooses.
    ///
    /// ```
    /// use siem_ship::sink::stdout::{StdoutConfig, StdoutSink, Stream};
    /// let sink = StdoutSink::new(StdoutConfig::default().stream(Stream::Stderr));
    /// assert_eq!(sink.stream(), Stream::Stderr);
    /// ```
    pub fn new(config: StdoutConfig) -> StdoutSink {
        StdoutSink {
            stream: config.stream,
            buffer: Vec::new(),
        }
    }

    /// A sink writing to standard output.
    ///
    /// ```
    /// use siem_ship::sink::stdout::{StdoutSink, Stream};
    /// assert_eq!(StdoutSink::stdout().stream(), Stream::Stdout);
    /// ```
    pub fn stdout() -> StdoutSink {
        StdoutSink::new(StdoutConfig {
            stream: Stream::Stdout,
        })
    }

    /// A sink writing to standard error.
    ///
    /// ```
    /// use siem_ship::sink::stdout::{StdoutSink, Stream};
    /// assert_eq!(StdoutSink::stderr().stream(), Stream::Stderr);
    /// ```
    pub fn stderr() -> StdoutSink {
        StdoutSink::new(StdoutConfig {
            stream: Stream::Stderr,
        })
    }

    /// The stream written to.
    ///
    /// ```
    /// use siem_ship::sink::stdout::{StdoutSink, Stream};
    /// assert_eq!(StdoutSink::default().stream(), Stream::Stdout);
    /// ```
    pub fn stream(&self) -> Stream {
        self.stream
    }

    fn write_locked(&self, bytes: &[u8], flush: bool) -> io::Result<()> {
        match self.stream {
            Stream::Stdout => write_to(&mut io::stdout().lock(), bytes, flush),
            Stream::Stderr => write_to(&mut io::stderr().lock(), bytes, flush),
        }
    }

    fn error(&self, e: io::Error) -> SinkError {
        let stream = self.stream.name();
        if e.kind() == io::ErrorKind::BrokenPipe {
            SinkError::permanent(format!(
                "{stream} is closed (broken pipe): the process reading it has exited"
            ))
        } else {
            SinkError::retryable(format!("cannot write to {stream}: {e}"))
        }
    }
}

fn write_to(out: &mut impl Write, bytes: &[u8], flush: bool) -> io::Result<()> {
    if !bytes.is_empty() {
        out.write_all(bytes)?;
    }
    if flush {
        out.flush()?;
    }
    Ok(())
}

impl Sink for StdoutSink {
    fn kind(&self) -> &'static str {
        self.stream.name()
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let refused = frame_batch(batch, &mut buffer);
        let written = self.write_locked(&buffer, false);
        self.buffer = buffer;
        written.map_err(|e| self.error(e))?;
        match refused_error(self.stream.name(), refused) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.write_locked(&[], true).map_err(|e| self.error(e))
    }
}

/// `type: stdout` and `type: stderr` (the stream chooses which): nothing to check, every
/// format accepted (each record is one line).
///
/// ```
/// use siem_ship::sink::stdout::{StdoutConfig, Stream};
/// use siem_ship::sink::SinkConfig;
/// assert_eq!(StdoutConfig::default().type_name(), "stdout");
/// assert_eq!(StdoutConfig::default().stream(Stream::Stderr).type_name(), "stderr");
/// ```
impl SinkConfig for StdoutConfig {
    fn type_name(&self) -> &'static str {
        self.stream.name()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    fn settings(&self) -> serde_json::Value {
        super::settings_of(self)
    }

    fn accepts(&self, _: Format, _: &FormatOptions) -> Result<(), String> {
        Ok(())
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        Ok(Box::new(StdoutSink::new(self.clone())))
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    //! The sink writes to the real standard streams, so these tests run a copy of this test
    //! binary as a child process (the ignored `child_*` tests) and read its output through a
    //! pipe.

    use super::*;
    use std::io::Read;
    use std::process::{Command, Stdio};

    const CHILD: &str = "SIEM_STDOUT_SINK_CHILD";

    fn hostile_batch() -> Batch {
        let mut batch = Batch::default();
        batch.push(b"BEGIN-7f3a");
        batch.push(br#"{"user":"a|b=c\\d\"e]","tab":"	","nul":"\u0000"}"#);
        batch.push(b"raw NUL \0 and tab \t");
        batch.push(b"forged\n{\"event_type\":\"auth.success\"}");
        batch.push(&[b'x'; 100_000]);
        batch.push(b"END-7f3a");
        batch
    }

    fn expected_output() -> Vec<u8> {
        let mut out = Vec::new();
        for (i, r) in hostile_batch().records().enumerate() {
            if i != 3 {
                out.extend_from_slice(r);
                out.push(b'\n');
            }
        }
        out
    }

    fn child(test: &str, mode: &str) -> Command {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--ignored", "--exact", "--nocapture", "--test-threads=1"])
            .arg(format!("sink::stdout::tests::{test}"))
            .env(CHILD, mode)
            .stdin(Stdio::null());
        command
    }

    #[test]
    #[ignore = "run as a child process by writes_each_record_as_one_line"]
    fn child_writes_a_batch() {
        let mut sink = match std::env::var(CHILD).as_deref() {
            Ok("stdout") => StdoutSink::stdout(),
            Ok("stderr") => StdoutSink::stderr(),
            // Not a test by itself: `--include-ignored` runs it without a parent reading.
            _ => return,
        };
        let err = sink.send(&hostile_batch()).unwrap_err();
        assert!(!err.is_retryable());
        assert_eq!(err.failed_records(), Some(&[3usize][..]));
        sink.flush().unwrap();
    }

    #[test]
    fn writes_each_record_as_one_line() {
        for stream in ["stdout", "stderr"] {
            let mut command = child("child_writes_a_batch", stream);
            let output = if stream == "stdout" {
                command.stdout(Stdio::piped()).stderr(Stdio::null())
            } else {
                command.stdout(Stdio::null()).stderr(Stdio::piped())
            }
            .output()
            .unwrap();
            assert!(output.status.success(), "child on {stream}: {output:?}");
            let got = if stream == "stdout" {
                output.stdout
            } else {
                output.stderr
            };
            let expected = expected_output();
            assert!(
                got.windows(expected.len()).any(|w| w == expected),
                "{stream}: the batch is missing or altered"
            );
        }
    }

    #[test]
    #[ignore = "run as a child process by a_closed_pipe_is_a_permanent_error"]
    fn child_writes_until_the_pipe_breaks() {
        if std::env::var(CHILD).as_deref() != Ok("broken") {
            return; // not a test by itself, see `child_writes_a_batch`
        }
        let mut sink = StdoutSink::stderr();
        let mut batch = Batch::default();
        batch.push(&[b'e'; 1024]);
        // The parent closes its end at once; until the pipe buffer is full a write may still
        // succeed, then the next one fails, so the loop always ends with the error.
        for _ in 0..1_000_000 {
            if let Err(e) = sink.send(&batch) {
                assert!(!e.is_retryable(), "{e}");
                assert!(e.message().contains("broken pipe"), "{e}");
                assert!(e.failed_records().is_none());
                println!("CHILD-SAW-BROKEN-PIPE");
                return;
            }
        }
        panic!("writing to a closed pipe never failed");
    }

    #[test]
    fn a_closed_pipe_is_a_permanent_error() {
        let mut child = child("child_writes_until_the_pipe_breaks", "broken")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "child failed: {stdout}");
        assert!(stdout.contains("CHILD-SAW-BROKEN-PIPE"), "{stdout}");
    }

    #[test]
    fn kind_names_the_stream() {
        assert_eq!(StdoutSink::stdout().kind(), "stdout");
        assert_eq!(StdoutSink::stderr().kind(), "stderr");
    }
}
