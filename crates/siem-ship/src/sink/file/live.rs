//! The file being appended to: opening it safely, noticing when it was moved away, and never
//! leaving a torn line behind.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::safe_open;

/// Which file a path leads to, to tell when it no longer leads to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    #[cfg(unix)]
    device: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Identity {
    #[cfg(unix)]
    fn of(metadata: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }

    // Elsewhere an open file cannot be renamed or deleted by default, so existence is the check.
    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Identity {
        Identity {}
    }
}

/// The live file, opened for appending, with the size the sink has seen it reach.
#[derive(Debug)]
pub(crate) struct LiveFile {
    file: File,
    size: u64,
    identity: Identity,
}

impl LiveFile {
    /// Opens `path` for appending, creating it and its missing parent directories under the
    /// rules of the `safe_open` module (no link followed, a regular file of this user, no mode
    /// wider than `mode`).
    ///
    /// A non-empty file that does not end with a newline was torn by a crash or a failed write;
    /// a newline is appended first so that the next record starts its own line instead of
    /// merging with the fragment.
    pub(crate) fn open(path: &Path, mode: u32) -> io::Result<LiveFile> {
        if let Some(parent) = path.parent() {
            safe_open::create_dirs(parent)?;
        }
        let mut file = safe_open::append(path, mode)?;
        let metadata = file.metadata()?;
        let mut size = metadata.len();
        if size > 0 && !ends_with_newline(&file, size)? {
            file.write_all(b"\n")?;
            size += 1;
        }
        Ok(LiveFile {
            file,
            size,
            identity: Identity::of(&metadata),
        })
    }

    /// Bytes in the file, as of the last write or check.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Whether `path` still leads to this file. Also refreshes the size, which an external
    /// `copytruncate` may have reset.
    pub(crate) fn is_still_at(&mut self, path: &Path) -> bool {
        // A link put in the file's place is not the file, even when it points to it.
        match std::fs::symlink_metadata(path) {
            Ok(m) if Identity::of(&m) == self.identity => {
                if let Ok(own) = self.file.metadata() {
                    self.size = own.len();
                }
                true
            }
            // Denied a look (the directory's permissions changed): the file is most likely still
            // there, and reopening would fail, so keep writing to it.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => true,
            // Replaced, deleted, or a path component is gone or no longer a directory.
            _ => false,
        }
    }

    /// Whether the file was deleted (`rm`, or replaced by a rename) since it was opened: what was
    /// written to it is then beyond any reader. A failed `fstat` counts as "still linked": the
    /// write before it succeeded, and the periodic check of the path will notice a deletion.
    pub(crate) fn is_deleted(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.file.metadata().is_ok_and(|m| m.nlink() == 0)
        }
        // Elsewhere an open file cannot be deleted by default.
        #[cfg(not(unix))]
        false
    }

    /// Appends `bytes` in one `write_all`. When it fails part way, the partial tail is cut off
    /// again so that the file still ends on a record boundary (the records will be resent).
    pub(crate) fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let before = self.size;
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.size += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Only cut what can be our own fragment, never bytes someone else appended.
                if let Ok(m) = self.file.metadata() {
                    if m.len() > before && m.len() < before + bytes.len() as u64 {
                        let _ = self.file.set_len(before);
                    }
                }
                Err(e)
            }
        }
    }

    /// Forces written data to disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Whether the last of the `size` bytes of `file` (opened for reading and appending) is a
/// newline. Appending ignores the read position, so moving it is harmless.
fn ends_with_newline(mut file: &File, size: u64) -> io::Result<bool> {
    file.seek(SeekFrom::Start(size - 1))?;
    let mut byte = [0u8];
    file.read_exact(&mut byte)?;
    Ok(byte[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_a_torn_last_line_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        std::fs::write(&path, b"{\"whole\":1}\n{\"torn\":").unwrap();
        // Whatever the umask gave the file, no wider than 0666.
        let mut live = LiveFile::open(&path, 0o666).unwrap();
        live.append(b"{\"next\":2}\n").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"{\"whole\":1}\n{\"torn\":\n{\"next\":2}\n"
        );
        assert_eq!(live.size(), std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn creates_parents_and_leaves_a_clean_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/e.jsonl");
        LiveFile::open(&path, 0o600)
            .unwrap()
            .append(b"x\n")
            .unwrap();
        let live = LiveFile::open(&path, 0o600).unwrap();
        assert_eq!(live.size(), 2);
        assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LiveFile::open(dir.path(), 0o600).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn notices_deletion_but_not_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        let live = LiveFile::open(&path, 0o600).unwrap();
        assert!(!live.is_deleted());
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        assert!(!live.is_deleted());
        std::fs::remove_file(dir.path().join("moved")).unwrap();
        assert!(live.is_deleted());
    }

    #[test]
    fn notices_replacement_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        let mut live = LiveFile::open(&path, 0o600).unwrap();
        live.append(b"0123456789\n").unwrap();
        assert!(live.is_still_at(&path));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert!(live.is_still_at(&path));
        assert_eq!(live.size(), 0);
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        assert!(!live.is_still_at(&path));
        std::fs::write(&path, b"").unwrap();
        assert!(!live.is_still_at(&path));
    }
}
