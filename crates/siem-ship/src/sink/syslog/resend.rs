//! The resend window of plain stream syslog (TCP, TLS): the bytes written within the last
//! `resend.interval`, kept to be written again on a new connection when the old one turns out
//! to have broken, because a collector that dies discards whatever it had not read yet.
//!
//! A write is taken as read once the connection has been seen healthy `interval` after it
//! (the check runs before every batch); until then it stays here. The window holds at most
//! `resend.max_size` bytes: older writes pushed out before they were confirmed are only
//! counted, and at a break those records are reported as unconfirmed instead of resent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One write (a batch, framed), as it went out.
struct Written {
    at: Instant,
    bytes: Vec<u8>,
    records: u64,
}

pub(super) struct ResendWindow {
    interval: Duration,
    max_size: usize,
    kept: VecDeque<Written>,
    size: usize,
    /// Writes pushed out by `max_size` before they were confirmed: when, and how many records.
    pushed_out: VecDeque<(Instant, u64)>,
    /// Buffers of forgotten writes, for the next ones (a batch then costs no allocation).
    spare: Vec<Vec<u8>>,
}

/// Spare buffers kept, at most.
const SPARE: usize = 2;

impl ResendWindow {
    pub(super) fn new(interval: Duration, max_size: usize) -> ResendWindow {
        ResendWindow {
            interval,
            max_size,
            kept: VecDeque::new(),
            size: 0,
            pushed_out: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    /// An empty buffer for the next write, reusing a forgotten one when there is one.
    pub(super) fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    fn recycle(&mut self, mut bytes: Vec<u8>) {
        if self.spare.len() < SPARE {
            bytes.clear();
            self.spare.push(bytes);
        }
    }

    /// Keeps a write of `records` records made at `now`, pushing the oldest out if needed.
    pub(super) fn push(&mut self, bytes: Vec<u8>, records: u64, now: Instant) {
        self.size += bytes.len();
        self.kept.push_back(Written {
            at: now,
            bytes,
            records,
        });
        while self.size > self.max_size {
            let Some(oldest) = self.kept.pop_front() else {
                break;
            };
            self.size -= oldest.bytes.len();
            self.pushed_out.push_back((oldest.at, oldest.records));
            self.recycle(oldest.bytes);
        }
    }

    /// The connection was healthy at `now`: forgets the writes made `interval` or more before.
    pub(super) fn confirm(&mut self, now: Instant) {
        let interval = self.interval;
        let due = |at: Instant| now.saturating_duration_since(at) >= interval;
        while self.kept.front().is_some_and(|w| due(w.at)) {
            let w = self.kept.pop_front().expect("checked above");
            self.size -= w.bytes.len();
            self.recycle(w.bytes);
        }
        while self.pushed_out.front().is_some_and(|(at, _)| due(*at)) {
            self.pushed_out.pop_front();
        }
    }

    /// At a break: the records pushed out unconfirmed, which cannot be sent again (counted
    /// once: the count starts again from zero).
    pub(super) fn take_pushed_out(&mut self) -> u64 {
        self.pushed_out.drain(..).map(|(_, n)| n).sum()
    }

    /// Everything kept, oldest first, to write again on a new connection.
    pub(super) fn writes(&self) -> impl Iterator<Item = &[u8]> {
        self.kept.iter().map(|w| &w.bytes[..])
    }

    /// Everything kept was written again at `now`: it waits another `interval` to be confirmed.
    pub(super) fn rewritten(&mut self, now: Instant) {
        for w in &mut self.kept {
            w.at = now;
        }
    }

    /// Gives up on everything still unconfirmed (the connection broke and no new one can be
    /// had): how many records that is.
    pub(super) fn abandon(&mut self) -> u64 {
        let mut kept = 0;
        while let Some(w) = self.kept.pop_front() {
            kept += w.records;
            self.recycle(w.bytes);
        }
        self.size = 0;
        kept + self.take_pushed_out()
    }

    /// When everything kept will count as read if the connection stays healthy until then;
    /// `None` when nothing waits for confirmation.
    pub(super) fn confirmed_at(&self) -> Option<Instant> {
        let newest = self.kept.back().map(|w| w.at);
        let newest_pushed_out = self.pushed_out.back().map(|(at, _)| *at);
        newest.max(newest_pushed_out).map(|at| at + self.interval)
    }

    /// Whether nothing waits for confirmation.
    pub(super) fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.pushed_out.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> (ResendWindow, Instant) {
        (
            ResendWindow::new(Duration::from_secs(2), 10),
            Instant::now(),
        )
    }

    #[test]
    fn writes_are_kept_until_confirmed_an_interval_later() {
        let (mut w, t0) = window();
        w.push(b"abc".to_vec(), 1, t0);
        w.push(b"def".to_vec(), 2, t0 + Duration::from_secs(1));
        w.confirm(t0 + Duration::from_millis(1999));
        assert_eq!(w.writes().collect::<Vec<_>>(), [b"abc", b"def"]);
        w.confirm(t0 + Duration::from_secs(2));
        assert_eq!(w.writes().collect::<Vec<_>>(), [b"def"]);
        w.confirm(t0 + Duration::from_secs(3));
        assert!(w.is_empty());
    }

    #[test]
    fn the_size_limit_pushes_out_the_oldest_and_counts_it_at_a_break() {
        let (mut w, t0) = window();
        w.push(b"123456".to_vec(), 3, t0);
        w.push(b"7890ab".to_vec(), 4, t0);
        assert_eq!(w.writes().collect::<Vec<_>>(), [b"7890ab"]);
        assert_eq!(w.take_pushed_out(), 3);
        assert_eq!(w.take_pushed_out(), 0, "counted once");
        assert_eq!(w.abandon(), 4);
        assert!(w.is_empty());
    }

    #[test]
    fn pushed_out_writes_confirmed_in_time_are_not_counted() {
        let (mut w, t0) = window();
        w.push(vec![b'x'; 20], 5, t0);
        w.confirm(t0 + Duration::from_secs(2));
        assert_eq!(w.take_pushed_out(), 0);
    }

    #[test]
    fn forgotten_buffers_are_reused() {
        let (mut w, t0) = window();
        let mut first = w.buffer();
        first.extend_from_slice(b"abc");
        let address = first.as_ptr();
        w.push(first, 1, t0);
        w.confirm(t0 + Duration::from_secs(2));
        let again = w.buffer();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address);
    }

    #[test]
    fn rewritten_writes_wait_another_interval() {
        let (mut w, t0) = window();
        w.push(b"abc".to_vec(), 1, t0);
        w.rewritten(t0 + Duration::from_secs(5));
        w.confirm(t0 + Duration::from_secs(6));
        assert_eq!(w.writes().count(), 1);
    }
}
