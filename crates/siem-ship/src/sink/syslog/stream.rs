//! Plain syslog over a stream, TCP (RFC 6587) or TLS (RFC 5425): framing, resending the batch
//! that a broken connection interrupted, and the resend window that covers what a collector
//! accepted but never read before it went away.
//!
//! The guarantees this gives, and the window that remains, are in the parent module's docs.

use std::io;
use std::time::Instant;

use super::config::{Framing, SyslogConfig};
use super::connection::{Connection, Connector, TlsSettings};
use super::framing::write_framed;
use super::resend::ResendWindow;
use crate::ConfigError;
use crate::{Batch, SinkError};

pub(super) struct StreamSender {
    connector: Connector,
    framing: Framing,
    /// Largest single write.
    buffer_limit: usize,
    window: ResendWindow,
    /// The connection broke since the window was last written: write it again first.
    resend_due: bool,
    /// Records reported delivered that may not have arrived and cannot be sent again.
    unconfirmed: u64,
}

impl StreamSender {
    pub(super) fn new(
        config: &SyslogConfig,
        kind: &'static str,
        tls: TlsSettings,
    ) -> Result<StreamSender, ConfigError> {
        let resend = config.resend.clone().unwrap_or_default();
        Ok(StreamSender {
            connector: Connector::new(config, kind, tls)?,
            framing: config.effective_framing(),
            buffer_limit: config.write_buffer_size as usize,
            window: ResendWindow::new(resend.interval, resend.max_size as usize),
            resend_due: false,
            unconfirmed: 0,
        })
    }

    /// The collector currently connected, if any.
    pub(super) fn peer(&self) -> Option<std::net::SocketAddr> {
        self.connector.peer()
    }

    /// Records reported delivered earlier that may not have reached the collector and cannot
    /// be sent again (see [`crate::Sink::take_unconfirmed`]); the count starts again from zero.
    pub(super) fn take_unconfirmed(&mut self) -> u64 {
        std::mem::take(&mut self.unconfirmed)
    }

    /// The connection broke (`why`): what it carried unconfirmed goes out again on the next.
    fn broken(&mut self, why: String) {
        self.connector.broken(why);
        self.resend_due = true;
        self.unconfirmed += self.window.take_pushed_out();
    }

    pub(super) fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.fail_back_when_due();
        let had_connection = self.connector.current.is_some();
        if self.connector.check() {
            self.window.confirm(Instant::now());
        } else if had_connection {
            // The connection was fine after the last batch and has gone since: the collector
            // may have dropped what it had not read yet.
            self.resend_due = true;
            self.unconfirmed += self.window.take_pushed_out();
        }
        let records = batch.records().filter(|r| !r.is_empty()).count() as u64;
        let mut retried = false;
        loop {
            let (written, stalled) = match self.write_window_and(batch) {
                Ok(written) => {
                    self.window.push(written, records, Instant::now());
                    return Ok(());
                }
                Err(Failure::Connect(e)) => return Err(e),
                Err(Failure::Write { why, stalled }) => (why, stalled),
            };
            self.broken(written.clone());
            // A stalled collector is a failure to report now (within write_timeout), not a
            // broken connection to replace at once: the retry resends the batch after backoff.
            if retried || stalled {
                return Err(SinkError::retryable(format!(
                    "{}: {written}, on a new connection too; the batch was not delivered",
                    self.connector.kind
                )));
            }
            // The connection broke under this batch: open a new one at once and send the whole
            // batch again, so nothing handed over after the failure is lost.
            retried = true;
        }
    }

    /// Connects if need be, writes the window again when the connection broke since, then the
    /// batch; returns the batch's bytes as written, for the window.
    fn write_window_and(&mut self, batch: &Batch) -> Result<Vec<u8>, Failure> {
        let StreamSender {
            connector,
            framing,
            buffer_limit,
            window,
            resend_due,
            ..
        } = self;
        let write_timeout = connector.write_timeout;
        let conn = connector.connection().map_err(Failure::Connect)?;
        let fail = |conn: &Connection, e: io::Error| Failure::write(conn, e, write_timeout);
        if *resend_due {
            for bytes in window.writes() {
                conn.link.write_all(bytes).map_err(|e| fail(conn, e))?;
            }
            window.rewritten(Instant::now());
            *resend_due = false;
        }
        // Records are framed into the buffer the window keeps and written in large contiguous
        // chunks: the kernel (and rustls) copy one long slice much faster than a vectored
        // write of headers and records (BENCHMARKS.md, G8 and G11).
        let mut written = window.buffer();
        write_framed(
            *framing,
            batch.records(),
            *buffer_limit,
            &mut written,
            |chunk| conn.link.write_all(chunk),
        )
        .map_err(|e| fail(conn, e))?;
        Ok(written)
    }

    /// Connects once, trying every endpoint in order like a first batch would (TLS handshake
    /// included), closes the connection again, and says which collector answered; or why none
    /// did. Nothing is written.
    pub(super) fn probe(&self) -> Result<String, String> {
        self.connector.probe(|_| Ok(()))
    }

    /// On a backup for long enough: move back to the primary if it answers.
    fn fail_back_when_due(&mut self) {
        if let Some(primary) = self.connector.primary_when_due() {
            if let Some(mut old) = self.connector.current.replace(primary) {
                old.link.finish();
            }
        }
    }

    /// Writes the window again if the connection broke since, then closes cleanly (TLS
    /// `close_notify`, then TCP FIN) and waits, up to `resend.interval` after the last write,
    /// for the collector to close its side: a collector that closes has read everything. What
    /// cannot be confirmed that way is counted as unconfirmed.
    pub(super) fn close(&mut self) {
        if !self.connector.check() && !self.window.is_empty() {
            self.resend_due = true;
            if let Err(Failure::Write { why, .. }) = self.write_window_and(&Batch::default()) {
                self.connector.broken(why);
            }
        }
        let Some(mut conn) = self.connector.current.take() else {
            self.unconfirmed += self.window.abandon();
            return;
        };
        conn.link.finish();
        let Some(until) = self.window.confirmed_at() else {
            return;
        };
        let mut scratch = [0u8; 512];
        loop {
            match conn.link.read(&mut scratch, Some(until)) {
                Ok(Some(0)) => {
                    // The collector read up to our end of stream.
                    self.window.abandon();
                    return;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.window.confirm(until);
                    self.unconfirmed += self.window.abandon();
                    return;
                }
                Err(_) => {
                    self.unconfirmed += self.window.abandon();
                    return;
                }
            }
        }
    }
}

/// Why a batch did not go out.
enum Failure {
    /// No connection could be had.
    Connect(SinkError),
    /// A write failed or made no progress for `write_timeout`.
    Write { why: String, stalled: bool },
}

impl Failure {
    fn write(conn: &Connection, e: io::Error, write_timeout: std::time::Duration) -> Failure {
        let stalled = matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        );
        let why = if stalled {
            format!(
                "writing to {} made no progress for {write_timeout:?} (write_timeout)",
                conn.peer
            )
        } else {
            format!("writing to {} failed: {e}", conn.peer)
        };
        Failure::Write { why, stalled }
    }
}
