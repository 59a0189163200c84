//! Opening the sink's files so that security events are written only where configured.
//!
//! Every file the sink writes (the live file and the compressed rotated files) and every file it
//! reads back (rotated files it compresses) is opened here, under the same rules:
//!
//! - A symbolic link at the path is never followed (`O_NOFOLLOW`): someone who can write the
//!   directory could otherwise point the live path at another user's file, or at a file of their
//!   choosing through a dangling link, and have the sink append to or create it.
//! - Only a regular file is used. Opening is non-blocking, so a FIFO planted at the path is
//!   refused instead of hanging the sink until somebody reads it.
//! - The file must belong to the process's effective user.
//! - A file the sink creates gets exactly the configured mode, whatever the umask. An existing
//!   file whose mode allows more than the configured one is refused rather than tightened: it
//!   was made wider by someone else (or by `logrotate`'s `create` directive), events may already
//!   have been read through it, and the operator should decide, not the sink.
//! - Directories the sink creates get `0750`, whatever the umask.
//!
//! Symbolic links in the parent directories are followed (`/var/run` → `/run` is common); the
//! directory holding the file is the operator's choice.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Permission bits of the directories the sink creates: the group may list and read the events
/// (a log shipper), others see nothing.
pub(crate) const DIRECTORY_MODE: u32 = 0o750;

/// Opens `path` for appending (and reading, to repair a torn last line), creating it with
/// exactly `mode` when it does not exist.
pub(crate) fn append(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    open_or_create(path, mode, &options)
}

/// What [`check_append`] found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendCheck {
    /// A file the sink may append to is there.
    Existing,
    /// Nothing is there yet; the sink may create it (and its missing directories).
    WouldCreate,
}

/// Checks, creating and writing nothing, that [`append`] (after [`create_dirs`] for the
/// parent) would succeed at `path`: an existing file is opened for appending under the same
/// rules and closed again; for a missing one, the nearest existing ancestor must be a directory
/// in which this process may create entries. Permissions are the kernel's `access(2)` answer
/// for the effective user, so a filesystem that refuses creation for other reasons (`/proc`
/// to root, say) is only found when the sink opens the file.
pub(crate) fn check_append(path: &Path, mode: u32) -> io::Result<AppendCheck> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => {
            let mut options = OpenOptions::new();
            options.read(true).append(true);
            let file = open(path, &options)?;
            let metadata = file.metadata()?;
            check_owner(&metadata)?;
            check_mode(&metadata, mode)?;
            Ok(AppendCheck::Existing)
        }
        Err(e) if is_missing(&e) => {
            let mut ancestor = path.parent();
            loop {
                let dir = match ancestor {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => {
                        may_create_in(dir)?;
                        return Ok(AppendCheck::WouldCreate);
                    }
                    Ok(_) => {
                        return Err(io::Error::other(format!(
                            "{} is not a directory",
                            dir.display()
                        )))
                    }
                    Err(e) if is_missing(&e) && dir != Path::new(".") => {
                        ancestor = dir.parent();
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(e) => Err(e),
    }
}

/// Whether a lookup failed because the path, or one of its parents, is not there (a parent
/// that is a file gives "not a directory").
fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Whether the effective user may create entries in `dir` (write and search permission).
#[cfg(unix)]
fn may_create_in(dir: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("the path contains a NUL byte"))?;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call; `faccessat`
    // only reads it.
    let allowed = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    } == 0;
    if allowed {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        Err(io::Error::new(
            e.kind(),
            format!("cannot create files in {}: {e}", dir.display()),
        ))
    }
}

#[cfg(not(unix))]
fn may_create_in(dir: &Path) -> io::Result<()> {
    if std::fs::metadata(dir)?.permissions().readonly() {
        return Err(io::Error::other(format!("{} is read-only", dir.display())));
    }
    Ok(())
}

/// Creates `path`, which must not exist yet, for writing with exactly `mode`.
pub(crate) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    let file = open(path, &options)?;
    set_exact_mode(&file, mode)?;
    Ok(file)
}

/// Opens `path` for reading, under the same rules as the files the sink writes (any mode).
pub(crate) fn read(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    let file = open(path, &options)?;
    check_owner(&file.metadata()?)?;
    Ok(file)
}

/// Creates `dir` and its missing ancestors with [`DIRECTORY_MODE`]. Directories that already
/// exist are left as they are.
pub(crate) fn create_dirs(dir: &Path) -> io::Result<()> {
    create_dirs_with_mode(dir, DIRECTORY_MODE)
}

/// Creates `dir` and its missing ancestors with exactly `mode`, whatever the umask (the disk
/// spool's directories are `0700`). Directories that already exist are left as they are.
pub(crate) fn create_dirs_with_mode(dir: &Path, mode: u32) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(current) = next.filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(current) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(current),
            Err(e) => return Err(e),
        }
        next = current.parent();
    }
    for current in missing.into_iter().rev() {
        create_dir(current, mode)?;
    }
    Ok(())
}

#[cfg(unix)]
fn create_dir(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        // Created by someone else meanwhile: theirs, so leave its mode alone.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    // The umask narrowed (or, at 000, did not narrow) the mode; set it exactly, through a
    // descriptor so that a link swapped in meanwhile is not followed.
    let created = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)?;
    set_exact_mode(&created, mode)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path, _mode: u32) -> io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Appends to the file at `path` or creates it. Tries creating first, so that the sink knows
/// whether the file is its own (set its mode) or was there before (check its mode).
fn open_or_create(path: &Path, mode: u32, options: &OpenOptions) -> io::Result<File> {
    // Each failed round means the file appeared or vanished between two calls; three races in
    // a row are an attack or a bug, not bad luck.
    for _ in 0..3 {
        let mut create = options.clone();
        create.create_new(true);
        match open(path, &create) {
            Ok(file) => {
                set_exact_mode(&file, mode)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        match open(path, options) {
            Ok(file) => {
                let metadata = file.metadata()?;
                check_owner(&metadata)?;
                check_mode(&metadata, mode)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "it keeps being created and deleted by someone else while the sink opens it",
    ))
}

/// Opens `path` without following a link at its last component and without blocking, and
/// accepts only a regular file.
fn open(path: &Path, options: &OpenOptions) -> io::Result<File> {
    let file = open_no_follow(path, options).map_err(|e| explain(path, e))?;
    let file_type = file.metadata()?.file_type();
    if !file_type.is_file() {
        return Err(not_a_regular_file(&file_type));
    }
    blocking(&file)?;
    Ok(file)
}

#[cfg(unix)]
fn open_no_follow(path: &Path, options: &OpenOptions) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = options.clone();
    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    options.open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path, options: &OpenOptions) -> io::Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io::Error::other(SYMBOLIC_LINK));
    }
    options.open(path)
}

/// Clears `O_NONBLOCK`, which only served to open a FIFO without waiting for a reader.
#[cfg(unix)]
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fcntl` with F_GETFL/F_SETFL on a descriptor this function borrows; no memory is
    // passed.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) >= 0
    };
    if cleared {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn blocking(_: &File) -> io::Result<()> {
    Ok(())
}

const SYMBOLIC_LINK: &str =
    "it is a symbolic link, which the file sink does not follow: point `path` at the real file";

/// Replaces the error of an open refused because of what sits at `path` (a link, a directory, a
/// FIFO without a reader…) by one saying what it is.
fn explain(path: &Path, e: io::Error) -> io::Error {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => io::Error::other(SYMBOLIC_LINK),
        Ok(m) if !m.is_file() => not_a_regular_file(&m.file_type()),
        _ => e,
    }
}

fn not_a_regular_file(file_type: &std::fs::FileType) -> io::Error {
    io::Error::other(format!("it is {}, not a regular file", describe(file_type)))
}

fn describe(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "something other than a file"
    }
}

/// Refuses a file that belongs to another user: appending to it would write events where its
/// owner, not this configuration, decides who reads them.
#[cfg(unix)]
fn check_owner(metadata: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() == me {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "it belongs to uid {}, not to this process's user (uid {me})",
            metadata.uid()
        )))
    }
}

#[cfg(not(unix))]
fn check_owner(_: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Refuses an existing file readable or writable by more than `mode` allows.
#[cfg(unix)]
fn check_mode(metadata: &std::fs::Metadata, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let actual = metadata.mode() & 0o7777;
    if actual & !mode == 0 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "it has mode {actual:04o}, wider than the configured mode {mode:04o}: narrow it \
             (chmod {mode:04o}) or configure the wider `mode`"
        )))
    }
}

#[cfg(not(unix))]
fn check_mode(_: &std::fs::Metadata, _: u32) -> io::Result<()> {
    Ok(())
}

/// Sets `mode` on an open file or directory (the umask applied when it was created).
#[cfg(unix)]
fn set_exact_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_exact_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn creates_with_the_exact_mode_and_reopens_a_narrower_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        drop(append(&path, 0o640).unwrap());
        assert_eq!(mode_of(&path), 0o640);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(append(&path, 0o640).is_ok());
        let err = append(&path, 0o400).unwrap_err().to_string();
        assert!(err.contains("mode 0600") && err.contains("0400"), "{err}");
    }

    #[test]
    fn create_new_refuses_an_existing_file_and_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.gz.tmp");
        drop(create_new(&path, 0o600).unwrap());
        assert_eq!(
            create_new(&path, 0o600).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
        assert!(create_new(&link, 0o600).is_err());
        assert!(!dir.path().join("target").exists());
    }

    #[test]
    fn reads_only_through_no_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.1");
        std::fs::write(&path, b"x").unwrap();
        assert!(read(&path).is_ok());
        let link = dir.path().join("e.2");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = read(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn check_append_creates_nothing_and_refuses_what_append_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/sub/e.jsonl");
        assert_eq!(
            check_append(&path, 0o600).unwrap(),
            AppendCheck::WouldCreate
        );
        assert!(!dir.path().join("new").exists(), "nothing may be created");
        let existing = dir.path().join("e.jsonl");
        std::fs::write(&existing, b"x").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            check_append(&existing, 0o600).unwrap(),
            AppendCheck::Existing
        );
        assert_eq!(std::fs::read(&existing).unwrap(), b"x");
        let err = check_append(&existing, 0o400).unwrap_err().to_string();
        assert!(err.contains("wider"), "{err}");
        let under_a_file = existing.join("x.jsonl");
        let err = check_append(&under_a_file, 0o600).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&existing, &link).unwrap();
        let err = check_append(&link, 0o600).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn leaves_existing_directories_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let nested = dir.path().join("a/b");
        create_dirs(&nested).unwrap();
        create_dirs(&nested).unwrap();
        assert_eq!(mode_of(dir.path()), 0o755);
        assert_eq!(mode_of(&dir.path().join("a")), DIRECTORY_MODE);
        assert_eq!(mode_of(&nested), DIRECTORY_MODE);
    }
}
