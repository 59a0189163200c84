//! The acknowledgement log: where delivery from the oldest segment got to, so that a restart
//! resends at most the batch that was in flight, not the whole segment.
//!
//! Entries (`magic u32 | segment u64 | offset u64 | crc u32`, 24 bytes) are appended after
//! each delivered batch; the last valid one counts. The log is rewritten (through a temporary
//! file and a rename) when it grows past 64 KiB and when the spool empties. It is not fsynced:
//! losing its tail after a power cut means resending delivered records, never losing any.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::store::Ticket;
use crate::sink::file::safe_open;

const ENTRY_BYTES: u64 = 24;
const MAGIC: [u8; 4] = *b"SACK";
/// The log is rewritten with only its last entry past this size.
const REWRITE_AT: u64 = 64 * 1024;
/// Entries read back at start, from the end: a damaged tail longer than this is ignored.
const ENTRIES_READ_BACK: u64 = 64;

pub(crate) struct AckLog {
    path: PathBuf,
    mode: u32,
    file: File,
    len: u64,
}

fn entry(t: Ticket) -> [u8; ENTRY_BYTES as usize] {
    let mut e = [0u8; ENTRY_BYTES as usize];
    e[..4].copy_from_slice(&MAGIC);
    e[4..12].copy_from_slice(&t.segment.to_le_bytes());
    e[12..20].copy_from_slice(&t.offset.to_le_bytes());
    let crc = crc32fast::hash(&e[..20]);
    e[20..].copy_from_slice(&crc.to_le_bytes());
    e
}

fn parse(e: &[u8]) -> Option<Ticket> {
    if e.len() != ENTRY_BYTES as usize
        || e[..4] != MAGIC
        || crc32fast::hash(&e[..20]) != u32::from_le_bytes(e[20..].try_into().ok()?)
    {
        return None;
    }
    Some(Ticket {
        segment: u64::from_le_bytes(e[4..12].try_into().ok()?),
        offset: u64::from_le_bytes(e[12..20].try_into().ok()?),
    })
}

/// The last valid entry of the log at `path`, reading at most its last
/// [`ENTRIES_READ_BACK`] entries.
pub(crate) fn last_entry(path: &Path) -> io::Result<Option<Ticket>> {
    let mut file = match safe_open::read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let whole = file.metadata()?.len() / ENTRY_BYTES * ENTRY_BYTES;
    let start = whole.saturating_sub(ENTRIES_READ_BACK * ENTRY_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity((whole - start) as usize);
    file.take(whole - start).read_to_end(&mut tail)?;
    Ok(tail.chunks(ENTRY_BYTES as usize).rev().find_map(parse))
}

impl AckLog {
    /// Opens the log in `dir`, returning where delivery had got to, and starts it afresh.
    pub fn open(dir: &Path, mode: u32) -> io::Result<(AckLog, Option<Ticket>)> {
        let path = dir.join("acks");
        let last = last_entry(&path)?;
        let file = rewrite(&path, mode, last)?;
        let len = file.metadata()?.len();
        Ok((
            AckLog {
                path,
                mode,
                file,
                len,
            },
            last,
        ))
    }

    /// Records that delivery got to `t`.
    pub fn record(&mut self, t: Ticket) -> io::Result<()> {
        if self.len >= REWRITE_AT {
            self.file = rewrite(&self.path, self.mode, Some(t))?;
            self.len = ENTRY_BYTES;
            return Ok(());
        }
        self.file.write_all(&entry(t))?;
        self.len += ENTRY_BYTES;
        Ok(())
    }

    /// Empties the log (the spool is empty).
    pub fn reset(&mut self) -> io::Result<()> {
        self.file = rewrite(&self.path, self.mode, None)?;
        self.len = 0;
        Ok(())
    }
}

/// Replaces the log at `path` by one holding `last` only; returns it open for appending.
fn rewrite(path: &Path, mode: u32, last: Option<Ticket>) -> io::Result<File> {
    let tmp = path.with_extension("tmp");
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = safe_open::create_new(&tmp, mode)?;
    if let Some(t) = last {
        file.write_all(&entry(t))?;
    }
    drop(file);
    std::fs::rename(&tmp, path)?;
    safe_open::append(path, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_valid_entry_survives_a_reopen_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, none) = AckLog::open(dir.path(), 0o600).unwrap();
        assert_eq!(none, None);
        let t = |offset| Ticket { segment: 3, offset };
        log.record(t(100)).unwrap();
        log.record(t(200)).unwrap();
        drop(log);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("acks"))
            .unwrap();
        f.write_all(b"SACK torn").unwrap();
        let (mut log, last) = AckLog::open(dir.path(), 0o600).unwrap();
        assert_eq!(last, Some(t(200)));
        log.reset().unwrap();
        assert_eq!(AckLog::open(dir.path(), 0o600).unwrap().1, None);
    }
}
