//! Moving the live file aside: `<path>` becomes `<path>.1`, every older `<path>.k[.gz]` moves to
//! `k + 1`, and files numbered beyond `max_files` are deleted.
//!
//! The directory is scanned rather than assumed, so gaps, files left by a lowered `max_files`,
//! and the half-done states a crash can leave (a plain file beside its `.gz`, a `.gz.tmp`) are
//! all handled by the next rotation.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use super::config::file_name_of;

/// A file of the rotated set: `<name>.<index>`, `<name>.<index>.gz` or a compression in
/// progress, `<name>.<index>.gz.tmp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotated {
    pub index: u32,
    pub kind: RotatedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RotatedKind {
    Plain,
    Gzip,
    PartialGzip,
}

impl RotatedKind {
    fn suffix(self) -> &'static str {
        match self {
            RotatedKind::Plain => "",
            RotatedKind::Gzip => ".gz",
            RotatedKind::PartialGzip => ".gz.tmp",
        }
    }
}

/// `<live>.<index><suffix>`.
pub(crate) fn rotated_path(live: &Path, index: u32, kind: RotatedKind) -> PathBuf {
    let mut name = OsString::from(live.as_os_str());
    name.push(format!(".{index}{}", kind.suffix()));
    PathBuf::from(name)
}

/// Recognises `name` as a member of the rotated set of the live file named `live_name`.
fn parse_rotated(live_name: &[u8], name: &[u8]) -> Option<Rotated> {
    let rest = name.strip_prefix(live_name)?.strip_prefix(b".")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (number, suffix) = rest.split_at(digits);
    // Canonical numbers only: `.01` is somebody else's file.
    if number.is_empty() || (number[0] == b'0') {
        return None;
    }
    let index: u32 = std::str::from_utf8(number).ok()?.parse().ok()?;
    let kind = match suffix {
        b"" => RotatedKind::Plain,
        b".gz" => RotatedKind::Gzip,
        b".gz.tmp" => RotatedKind::PartialGzip,
        _ => return None,
    };
    Some(Rotated { index, kind })
}

/// The directory holding `live` (`.` for a bare file name).
pub(crate) fn directory_of(live: &Path) -> &Path {
    match live.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Every member of the rotated set of `live` present on disk.
pub(crate) fn scan(live: &Path) -> io::Result<Vec<Rotated>> {
    let live_name = file_name_of(live)
        .map(OsStr::as_encoded_bytes)
        .unwrap_or_default();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(directory_of(live))? {
        let entry = entry?;
        if let Some(r) = parse_rotated(live_name, entry.file_name().as_encoded_bytes()) {
            // Only regular files are ours to rename or delete (not directories, not symlinks).
            if entry.file_type()?.is_file() {
                found.push(r);
            }
        }
    }
    Ok(found)
}

/// Removes `path`, treating "already gone" as done.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes room for a new `<live>.1`: deletes partial compressions and every file that would be
/// numbered beyond `max_files` after the shift, then renames `k` to `k + 1` from the oldest down.
/// Errors name the file involved.
pub(crate) fn shift(live: &Path, max_files: u32) -> io::Result<()> {
    let context = |what: &str, path: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
    };
    let mut kept = Vec::new();
    for r in scan(live).map_err(|e| context("list", directory_of(live), e))? {
        // A `.gz.tmp` is never complete (compression renames it when done), and no compression
        // runs during a shift, so it is debris from a crash; its source is still there.
        if r.kind == RotatedKind::PartialGzip || r.index >= max_files {
            let path = rotated_path(live, r.index, r.kind);
            remove_if_present(&path).map_err(|e| context("delete", &path, e))?;
        } else {
            kept.push(r);
        }
    }
    kept.sort_by_key(|r| std::cmp::Reverse(r.index));
    for r in kept {
        let from = rotated_path(live, r.index, r.kind);
        let to = rotated_path(live, r.index + 1, r.kind);
        std::fs::rename(&from, &to).map_err(|e| context("rename", &from, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_rotated_set() {
        let p = |name: &str| parse_rotated(b"e.jsonl", name.as_bytes());
        let r = |index, kind| Some(Rotated { index, kind });
        assert_eq!(p("e.jsonl.1"), r(1, RotatedKind::Plain));
        assert_eq!(p("e.jsonl.12.gz"), r(12, RotatedKind::Gzip));
        assert_eq!(p("e.jsonl.3.gz.tmp"), r(3, RotatedKind::PartialGzip));
        for other in [
            "e.jsonl",
            "e.jsonl.",
            "e.jsonl.0",
            "e.jsonl.01",
            "e.jsonl.1.bak",
            "e.jsonl.x",
            "e.jsonl.1gz",
            "e.jsonl.99999999999",
            "f.jsonl.1",
            "e.jsonl.1.gz.tmp.2",
        ] {
            assert_eq!(p(other), None, "{other}");
        }
    }

    #[test]
    fn names() {
        let live = Path::new("/var/log/e.jsonl");
        assert_eq!(
            rotated_path(live, 2, RotatedKind::Gzip),
            Path::new("/var/log/e.jsonl.2.gz")
        );
        assert_eq!(directory_of(Path::new("e.jsonl")), Path::new("."));
        assert_eq!(directory_of(live), Path::new("/var/log"));
    }

    #[test]
    fn shift_renumbers_prunes_and_clears_debris() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("e.jsonl");
        for (name, body) in [
            ("e.jsonl.1", "one"),
            ("e.jsonl.1.gz.tmp", "partial"),
            ("e.jsonl.2.gz", "two"),
            ("e.jsonl.3", "three"),
            ("e.jsonl.7", "stale"),
            ("other.1", "unrelated"),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        shift(&live, 3).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["e.jsonl.2", "e.jsonl.3.gz", "other.1"]);
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        assert_eq!(read("e.jsonl.2"), "one");
        assert_eq!(read("e.jsonl.3.gz"), "two");
    }
}
