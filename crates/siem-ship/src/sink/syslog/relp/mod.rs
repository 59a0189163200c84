//! Syslog over RELP, rsyslog's Reliable Event Logging Protocol, plain or in TLS: every record
//! goes out as a `syslog` command and counts as delivered only once the collector answered
//! `200 OK` for it.
//!
//! A session opens with `open` (offering `relp_version=0` and `commands=syslog`); records are
//! pipelined, at most `relp.window` awaiting their answer at a time. When the connection
//! breaks, the collector closes the session (`serverclose`) or answers anything but `200`, the
//! connection is replaced once at once and every record not yet acknowledged is sent again on
//! it; if that fails too, `send` returns a retryable error naming exactly the records not
//! acknowledged, and the route retries those. The collector may thus see a record twice (it
//! acknowledged it, but the answer was lost): every event carries an id for de-duplication.

mod frame;

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use self::frame::{encode, next_txnr, parse, reply, Frame};
use super::config::SyslogConfig;
use super::connection::{Connection, Connector, TlsSettings};
use crate::ConfigError;
use crate::{Batch, SinkError};

/// What this sender offers when it opens a session.
fn offers() -> String {
    format!(
        "relp_version=0\nrelp_software=tracing-siem,{},https://github.com/tracing-siem\ncommands=syslog",
        env!("CARGO_PKG_VERSION")
    )
}

/// A RELP session on the current connection.
struct Session {
    next_txnr: u32,
}

/// Why a session ended in the middle of a batch.
struct Broken {
    why: String,
    /// The collector went silent (no answer within `write_timeout`): report it rather than
    /// reconnecting at once.
    stalled: bool,
}

impl Broken {
    fn new(why: impl Into<String>) -> Broken {
        Broken {
            why: why.into(),
            stalled: false,
        }
    }
}

pub(super) struct RelpSender {
    connector: Connector,
    session: Option<Session>,
    window: usize,
    out: Vec<u8>,
    out_limit: usize,
    /// Bytes read from the collector and not parsed yet (at most one frame's worth).
    inbox: Vec<u8>,
}

impl RelpSender {
    pub(super) fn new(
        config: &SyslogConfig,
        kind: &'static str,
        tls: TlsSettings,
    ) -> Result<RelpSender, ConfigError> {
        let relp = config.relp.clone().unwrap_or_default();
        Ok(RelpSender {
            connector: Connector::new(config, kind, tls)?,
            session: None,
            window: relp.window as usize,
            out: Vec::new(),
            out_limit: config.write_buffer_size as usize,
            inbox: Vec::new(),
        })
    }

    /// The collector currently connected, if any.
    pub(super) fn peer(&self) -> Option<std::net::SocketAddr> {
        self.connector.peer()
    }

    /// Opens a connection and a session, closes both, and says which collector answered.
    pub(super) fn probe(&self) -> Result<String, String> {
        let timeout = self.connector.write_timeout;
        self.connector.probe(|conn| {
            open_session(conn, &mut Vec::new(), timeout)
                .map(drop)
                .map_err(|b| b.why)
        })
    }

    pub(super) fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.fail_back_when_due();
        self.notice_idle_close();
        // Indices of the records to send; empty records carry no event and are skipped.
        let mut pending: VecDeque<usize> = batch
            .records()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, _)| i)
            .collect();
        let mut retried = false;
        loop {
            let started = pending.len();
            match self.deliver(batch, &mut pending) {
                Ok(()) => return Ok(()),
                Err(Failure::Connect(e)) => {
                    return Err(with_failed(e, &pending, batch.len()));
                }
                Err(Failure::Session(broken)) => {
                    let peer = self.connector.peer();
                    self.end_session();
                    let at = peer.map(|p| format!("{p}: ")).unwrap_or_default();
                    let why = format!("{at}{}", broken.why);
                    self.connector.broken(why.clone());
                    // One immediate new connection per batch, and another whenever the last
                    // one got records through.
                    let progressed = pending.len() < started;
                    if broken.stalled || (retried && !progressed) {
                        let e = SinkError::retryable(format!(
                            "{}: {why}; {} records of the batch not acknowledged",
                            self.connector.kind,
                            pending.len()
                        ));
                        return Err(with_failed(e, &pending, batch.len()));
                    }
                    retried = true;
                }
            }
        }
    }

    /// Sends the records in `pending` (indices into `batch`) on the current session, opening
    /// one first if need be, and removes each one the collector acknowledges. On failure the
    /// records sent but not acknowledged are back at the front of `pending`, in order.
    fn deliver(&mut self, batch: &Batch, pending: &mut VecDeque<usize>) -> Result<(), Failure> {
        if pending.is_empty() {
            return Ok(());
        }
        let timeout = self.connector.write_timeout;
        let RelpSender {
            connector,
            session,
            window,
            out,
            out_limit,
            inbox,
        } = self;
        let conn = connector.connection().map_err(Failure::Connect)?;
        if session.is_none() {
            inbox.clear();
            *session = Some(open_session(conn, inbox, timeout).map_err(Failure::Session)?);
        }
        let session = session.as_mut().expect("opened above");
        let mut unacked: VecDeque<(u32, usize)> =
            VecDeque::with_capacity((*window).min(pending.len()));
        let result = pump(
            conn,
            session,
            batch,
            pending,
            &mut unacked,
            out,
            *out_limit,
            *window,
            inbox,
            timeout,
        );
        if result.is_err() {
            // Not acknowledged: they go out again, first, on the next session.
            for (_, index) in unacked.into_iter().rev() {
                pending.push_front(index);
            }
        }
        result.map_err(Failure::Session)
    }

    fn end_session(&mut self) {
        self.session = None;
        self.inbox.clear();
    }

    /// Between batches the collector has nothing to say but `serverclose`; anything it sent
    /// (or its end of the connection) ends the session, and the next batch opens a new one.
    fn notice_idle_close(&mut self) {
        if self.session.is_none() {
            return;
        }
        let Some(conn) = self.connector.current.as_mut() else {
            self.end_session();
            return;
        };
        let mut buf = [0u8; 512];
        let why = match conn.link.read(&mut buf, None) {
            Ok(None) => return,
            Ok(Some(0)) => "the collector closed the connection".to_owned(),
            Ok(Some(_)) => "the collector ended the RELP session between batches".to_owned(),
            Err(e) => e.to_string(),
        };
        let why = format!("{}: {why}", conn.peer);
        self.end_session();
        self.connector.broken(why);
    }

    /// On a backup for long enough: move back to the primary if it answers.
    fn fail_back_when_due(&mut self) {
        if let Some(primary) = self.connector.primary_when_due() {
            self.close_session();
            self.connector.current = Some(primary);
        }
    }

    /// Ends the session with `close` (every record was acknowledged already: nothing is at
    /// stake) and closes the connection.
    fn close_session(&mut self) {
        let timeout = self.connector.write_timeout;
        let Some(mut conn) = self.connector.current.take() else {
            self.end_session();
            return;
        };
        if let Some(session) = self.session.take() {
            let mut frame = Vec::new();
            encode(session.next_txnr, "close", b"", &mut frame);
            if conn.link.write_all(&frame).is_ok() {
                let wait = timeout.min(Duration::from_secs(1));
                let _ = read_frame(&mut conn, &mut self.inbox, wait, |_| Ok(()));
            }
        }
        self.inbox.clear();
        conn.link.finish();
    }

    /// Closes the session and the connection cleanly.
    pub(super) fn close(&mut self) {
        self.close_session();
    }
}

enum Failure {
    Connect(SinkError),
    Session(Broken),
}

/// `e`, naming the records still in `pending` as the ones not delivered (the whole batch when
/// that is all of it).
fn with_failed(e: SinkError, pending: &VecDeque<usize>, batch_len: usize) -> SinkError {
    if pending.len() == batch_len {
        e
    } else {
        e.with_failed_records(pending.iter().copied().collect())
    }
}

/// Writes `open`, and checks the collector's answer: `200` and `syslog` among its commands.
fn open_session(
    conn: &mut Connection,
    inbox: &mut Vec<u8>,
    timeout: Duration,
) -> Result<Session, Broken> {
    let mut frame = Vec::new();
    encode(1, "open", offers().as_bytes(), &mut frame);
    conn.link
        .write_all(&frame)
        .map_err(|e| Broken::new(format!("opening the RELP session failed: {e}")))?;
    read_frame(conn, inbox, timeout, |frame| {
        if frame.command != "rsp" || frame.txnr != 1 {
            return Err(Broken::new(format!(
                "the collector answered `open` with {} {} instead of 1 rsp",
                frame.txnr, frame.command
            )));
        }
        let answer = reply(frame.data).map_err(|e| Broken::new(e.to_string()))?;
        if !answer.is_ok() {
            return Err(Broken::new(format!(
                "the collector refused the RELP session: {} {}",
                answer.code, answer.text
            )));
        }
        let syslog = String::from_utf8_lossy(answer.data).lines().any(|line| {
            line.strip_prefix("commands=")
                .is_some_and(|c| c.split(',').any(|c| c == "syslog"))
        });
        if !syslog {
            return Err(Broken::new(
                "the collector's RELP session does not offer the syslog command",
            ));
        }
        Ok(())
    })?;
    Ok(Session { next_txnr: 2 })
}

/// Sends `pending` with at most `window` awaiting an answer; see [`RelpSender::deliver`].
#[allow(clippy::too_many_arguments)]
fn pump(
    conn: &mut Connection,
    session: &mut Session,
    batch: &Batch,
    pending: &mut VecDeque<usize>,
    unacked: &mut VecDeque<(u32, usize)>,
    out: &mut Vec<u8>,
    out_limit: usize,
    window: usize,
    inbox: &mut Vec<u8>,
    timeout: Duration,
) -> Result<(), Broken> {
    let write_error = |e: io::Error| {
        let stalled = matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        );
        Broken {
            why: if stalled {
                format!("writing made no progress for {timeout:?} (write_timeout)")
            } else {
                format!("writing failed: {e}")
            },
            stalled,
        }
    };
    loop {
        out.clear();
        while unacked.len() < window {
            let Some(index) = pending.pop_front() else {
                break;
            };
            let record = batch.record(index).expect("an index of the batch");
            encode(session.next_txnr, "syslog", record, out);
            unacked.push_back((session.next_txnr, index));
            session.next_txnr = next_txnr(session.next_txnr);
            if out.len() >= out_limit {
                conn.link.write_all(out).map_err(write_error)?;
                out.clear();
            }
        }
        if !out.is_empty() {
            conn.link.write_all(out).map_err(write_error)?;
            out.clear();
        }
        if unacked.is_empty() {
            return Ok(());
        }
        // Wait for at least one answer, then take every answer already there.
        read_frame(conn, inbox, timeout, |frame| acknowledge(frame, unacked))?;
        while !unacked.is_empty()
            && read_frame_until(conn, inbox, None, |frame| acknowledge(frame, unacked))?
        {}
    }
}

/// Takes one answer: it must be the `rsp` to the oldest record awaiting one, and say `200`.
fn acknowledge(frame: Frame<'_>, unacked: &mut VecDeque<(u32, usize)>) -> Result<(), Broken> {
    if frame.command == "serverclose" {
        return Err(Broken::new(
            "the collector closed the RELP session (serverclose)",
        ));
    }
    if frame.command != "rsp" {
        return Err(Broken::new(format!(
            "the collector sent the command {:?} where an answer was expected",
            frame.command
        )));
    }
    let Some(&(expected, _)) = unacked.front() else {
        return Err(Broken::new(format!(
            "the collector answered transaction {}, which was not sent",
            frame.txnr
        )));
    };
    if frame.txnr != expected {
        return Err(Broken::new(format!(
            "the collector answered transaction {} where {expected} was next",
            frame.txnr
        )));
    }
    let answer = reply(frame.data).map_err(|e| Broken::new(e.to_string()))?;
    if !answer.is_ok() {
        return Err(Broken::new(format!(
            "the collector did not take a record (transaction {expected}): {} {}",
            answer.code, answer.text
        )));
    }
    unacked.pop_front();
    Ok(())
}

/// Reads one whole frame, waiting `timeout` at most, and hands it to `take`.
fn read_frame(
    conn: &mut Connection,
    inbox: &mut Vec<u8>,
    timeout: Duration,
    take: impl FnMut(Frame<'_>) -> Result<(), Broken>,
) -> Result<(), Broken> {
    if read_frame_until(conn, inbox, Some(Instant::now() + timeout), take)? {
        Ok(())
    } else {
        Err(Broken {
            why: format!("the collector did not answer within {timeout:?} (write_timeout)"),
            stalled: true,
        })
    }
}

/// Reads until one whole frame is in `inbox` and hands it to `take`: `Ok(true)` then,
/// `Ok(false)` when `until` passed first (`None`: only what has already arrived is read).
fn read_frame_until(
    conn: &mut Connection,
    inbox: &mut Vec<u8>,
    until: Option<Instant>,
    mut take: impl FnMut(Frame<'_>) -> Result<(), Broken>,
) -> Result<bool, Broken> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some((frame, used)) = parse(inbox).map_err(|e| Broken::new(e.to_string()))? {
            take(frame)?;
            inbox.drain(..used);
            return Ok(true);
        }
        match conn.link.read(&mut buf, until) {
            Ok(None) => return Ok(false),
            Ok(Some(0)) => return Err(Broken::new("the collector closed the connection")),
            Ok(Some(n)) => inbox.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Err(Broken::new(format!(
                    "reading the collector's answers failed: {e}"
                )))
            }
        }
    }
}
