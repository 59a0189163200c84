//! Gzip compression of rotated files, on a background thread.
//!
//! Why a thread: compressing a 100 MB file takes seconds, and the sink's own thread must keep
//! writing events meanwhile. Only one compression runs at a time; the next rotation waits for it
//! (so renumbering never races with it, and a disk that cannot keep up slows the sink down
//! instead of piling up work).
//!
//! Why it is crash-safe: `<path>.k` is compressed into `<path>.k.gz.tmp`, which is synced and only
//! then renamed to `<path>.k.gz`; the plain file is removed last. A crash at any point leaves the
//! plain file, a complete `.gz`, or both; the next rotation deletes the debris and finishes the job.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::rotate::{remove_if_present, rotated_path, scan, RotatedKind};
use super::safe_open;

/// Runs at most one compression job at a time and hands back its failures.
#[derive(Debug, Default)]
pub(crate) struct Compressor {
    running: Option<JoinHandle<Vec<String>>>,
}

impl Compressor {
    /// Compresses, in the background, every plain rotated file of `live`. The caller has
    /// waited for the previous job.
    pub(crate) fn start(&mut self, live: PathBuf, mode: u32) -> Result<(), String> {
        debug_assert!(self.running.is_none());
        let spawned = std::thread::Builder::new()
            .name("siem-file-gzip".into())
            .spawn(move || compress_rotated(&live, mode));
        match spawned {
            Ok(handle) => {
                self.running = Some(handle);
                Ok(())
            }
            Err(e) => Err(format!(
                "cannot start the compression thread: {e}; rotated files stay uncompressed until the next rotation"
            )),
        }
    }

    /// Waits for the running job, if any, and returns what it could not do.
    pub(crate) fn wait(&mut self) -> Result<(), String> {
        let Some(handle) = self.running.take() else {
            return Ok(());
        };
        match handle.join() {
            Ok(failures) if failures.is_empty() => Ok(()),
            Ok(failures) => Err(failures.join("; ")),
            Err(_) => Err("the compression thread panicked; rotated files stay uncompressed until the next rotation".into()),
        }
    }

    /// Like [`Compressor::wait`], but only when the job has already finished.
    pub(crate) fn poll(&mut self) -> Result<(), String> {
        match &self.running {
            Some(handle) if handle.is_finished() => self.wait(),
            _ => Ok(()),
        }
    }
}

/// Compresses every plain `<live>.k`, newest first; returns one message per failure.
fn compress_rotated(live: &Path, mode: u32) -> Vec<String> {
    let mut plain: Vec<u32> = match scan(live) {
        Ok(found) => found
            .into_iter()
            .filter(|r| r.kind == RotatedKind::Plain)
            .map(|r| r.index)
            .collect(),
        Err(e) => {
            return vec![format!(
                "cannot list rotated files of {}: {e}",
                live.display()
            )]
        }
    };
    plain.sort_unstable();
    plain
        .into_iter()
        .filter_map(|index| {
            compress_one(live, index, mode).err().map(|e| {
                format!(
                    "compressing {} failed: {e}; the uncompressed file is kept",
                    rotated_path(live, index, RotatedKind::Plain).display()
                )
            })
        })
        .collect()
}

/// `<live>.k` → `<live>.k.gz`, through a synced temporary file.
fn compress_one(live: &Path, index: u32, mode: u32) -> io::Result<()> {
    let source = rotated_path(live, index, RotatedKind::Plain);
    let done = rotated_path(live, index, RotatedKind::Gzip);
    // Whatever sits at the name, a link included, must prove to be our finished archive.
    if std::fs::symlink_metadata(&done).is_ok() {
        // A crash between the rename and the removal; the `.gz` is complete, but remove the
        // plain file only once it is shown to hold the same bytes.
        return if same_content(&source, &done)? {
            std::fs::remove_file(&source)
        } else {
            Err(io::Error::other(format!(
                "{} already exists with different content; both are kept",
                done.display()
            )))
        };
    }
    let partial = rotated_path(live, index, RotatedKind::PartialGzip);
    let result = write_gzip(&source, &partial, mode);
    if result.is_err() {
        let _ = remove_if_present(&partial);
    }
    result?;
    std::fs::rename(&partial, &done)?;
    std::fs::remove_file(&source)
}

fn write_gzip(source: &Path, target: &Path, mode: u32) -> io::Result<()> {
    let mut input = safe_open::read(source)?;
    // `create_new`: a leftover `.gz.tmp` is removed by the rotation before any job starts, so
    // an existing one means something else is writing there.
    let output = safe_open::create_new(target, mode)?;
    let mut encoder = GzEncoder::new(output, Compression::default());
    io::copy(&mut input, &mut encoder)?;
    let output = encoder.finish()?;
    output.sync_all()
}

fn same_content(plain: &Path, gzip: &Path) -> io::Result<bool> {
    let mut a = BufReader::new(safe_open::read(plain)?);
    let mut b = MultiGzDecoder::new(BufReader::new(safe_open::read(gzip)?));
    let (mut buf_a, mut buf_b) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut a, &mut buf_a)?;
        let m = match read_full(&mut b, &mut buf_b) {
            Ok(m) => m,
            // A truncated or corrupt `.gz` does not hold the same content; keeping both is safe.
            Err(_) => return Ok(false),
        };
        if n != m || buf_a[..n] != buf_b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes `bytes` as one gzip member; for tests that fake a half-finished compression.
#[cfg(test)]
pub(crate) fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn gunzip(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn compresses_every_plain_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("e.jsonl");
        std::fs::write(dir.path().join("e.jsonl.1"), b"one\n").unwrap();
        std::fs::write(dir.path().join("e.jsonl.2"), b"two\n").unwrap();
        std::fs::write(&live, b"live\n").unwrap();
        let mut c = Compressor::default();
        c.start(live.clone(), 0o600).unwrap();
        c.wait().unwrap();
        assert_eq!(gunzip(&dir.path().join("e.jsonl.1.gz")), b"one\n");
        assert_eq!(gunzip(&dir.path().join("e.jsonl.2.gz")), b"two\n");
        assert!(!dir.path().join("e.jsonl.1").exists());
        assert_eq!(std::fs::read(&live).unwrap(), b"live\n");
    }

    #[test]
    fn finishes_a_compression_interrupted_after_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("e.jsonl");
        std::fs::write(dir.path().join("e.jsonl.1"), b"one\n").unwrap();
        std::fs::write(dir.path().join("e.jsonl.1.gz"), gzip_bytes(b"one\n")).unwrap();
        assert!(compress_rotated(&live, 0o600).is_empty());
        assert!(!dir.path().join("e.jsonl.1").exists());
        assert_eq!(gunzip(&dir.path().join("e.jsonl.1.gz")), b"one\n");
    }

    #[test]
    fn keeps_both_when_plain_and_gzip_differ() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("e.jsonl");
        std::fs::write(dir.path().join("e.jsonl.1"), b"one\n").unwrap();
        std::fs::write(dir.path().join("e.jsonl.1.gz"), gzip_bytes(b"on")).unwrap();
        let failures = compress_rotated(&live, 0o600);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].contains("different content"), "{failures:?}");
        assert!(dir.path().join("e.jsonl.1").exists());
        // A truncated archive is not mistaken for a complete one either.
        let truncated = gzip_bytes(b"one\n");
        std::fs::write(
            dir.path().join("e.jsonl.1.gz"),
            &truncated[..truncated.len() - 4],
        )
        .unwrap();
        assert_eq!(compress_rotated(&live, 0o600).len(), 1);
        assert_eq!(
            std::fs::read(dir.path().join("e.jsonl.1")).unwrap(),
            b"one\n"
        );
    }
}
