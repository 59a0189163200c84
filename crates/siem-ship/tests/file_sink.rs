//! Behaviour of the file sink through its public API, on a real filesystem.

mod skips;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use siem_ship::sink::file::{FileConfig, FileSink, FileSinkError, SyncPolicy};
use siem_ship::{Batch, Sink};

fn batch<R: AsRef<[u8]>>(records: &[R]) -> Batch {
    let mut b = Batch::default();
    for r in records {
        b.push(r.as_ref());
    }
    b
}

/// `<path>.<index>` as the sink names rotated files.
fn rotated(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Writes `bytes` to a new file with mode 0600, as the sink would have left it.
fn write_private(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// A sink on `<tmp>/e.jsonl` that checks for external rotation on every batch.
fn open_sink(dir: &Path, configure: impl FnOnce(FileConfig) -> FileConfig) -> (FileSink, PathBuf) {
    let path = dir.join("e.jsonl");
    let config = configure(FileConfig::new(&path).reopen_check(Duration::ZERO));
    (FileSink::open(config).unwrap(), path)
}

#[test]
fn records_land_byte_exact_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c);
    let big = vec![b'm'; 1 << 20];
    let hostile: Vec<&[u8]> = vec![
        br#"{"user":"a|b=c\\d\"e]"}"#,
        b"tab\there NUL\0here",
        b"\xff\xfe not UTF-8",
        b"",
        &big,
    ];
    sink.send(&batch(&hostile)).unwrap();
    sink.send(&batch(&["second batch"])).unwrap();
    sink.close().unwrap();
    let mut expected = Vec::new();
    for r in hostile.iter().chain([&&b"second batch"[..]]) {
        expected.extend_from_slice(r);
        expected.push(b'\n');
    }
    assert_eq!(fs::read(&path).unwrap(), expected);
    assert_eq!(listing(dir.path()), ["e.jsonl"]);
}

#[test]
fn appends_to_an_existing_file_and_repairs_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    write_private(&path, b"{\"old\":1}\n{\"torn\":tr");
    let mut sink = FileSink::open(FileConfig::new(&path)).unwrap();
    sink.send(&batch(&["{\"new\":2}"])).unwrap();
    sink.close().unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"{\"old\":1}\n{\"torn\":tr\n{\"new\":2}\n"
    );
}

#[test]
fn rotates_only_when_the_next_record_would_exceed_max_size() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(10).compress(false));
    // 4 + 4 bytes: below the limit.
    sink.send(&batch(&["abc", "def"])).unwrap();
    assert!(!rotated(&path, ".1").exists());
    // 8 + 2 = 10: exactly at the limit, still the same file.
    sink.send(&batch(&["g"])).unwrap();
    assert!(!rotated(&path, ".1").exists());
    assert_eq!(fs::read(&path).unwrap(), b"abc\ndef\ng\n");
    // One byte more would exceed it: the record starts a new file.
    sink.send(&batch(&["h"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(rotated(&path, ".1")).unwrap(), b"abc\ndef\ng\n");
    assert_eq!(fs::read(&path).unwrap(), b"h\n");
}

#[test]
fn a_record_larger_than_max_size_goes_alone_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(10).compress(false));
    sink.send(&batch(&["ab", "0123456789abcdef", "cd"]))
        .unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(rotated(&path, ".2")).unwrap(), b"ab\n");
    assert_eq!(
        fs::read(rotated(&path, ".1")).unwrap(),
        b"0123456789abcdef\n"
    );
    assert_eq!(fs::read(&path).unwrap(), b"cd\n");
}

#[test]
fn rotation_inside_a_batch_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(30).max_files(20).compress(false));
    let records: Vec<String> = (0..50).map(|i| format!("{{\"n\":{i}}}")).collect();
    sink.send(&batch(&records)).unwrap();
    sink.close().unwrap();
    let mut files: Vec<PathBuf> = (1..=20)
        .rev()
        .map(|i| rotated(&path, &format!(".{i}")))
        .filter(|p| p.exists())
        .collect();
    files.push(path);
    let mut all = Vec::new();
    for f in &files {
        let bytes = fs::read(f).unwrap();
        assert!(
            bytes.len() <= 30,
            "{} has {} bytes",
            f.display(),
            bytes.len()
        );
        all.extend(bytes);
    }
    let expected: String = records.iter().map(|r| format!("{r}\n")).collect();
    assert_eq!(String::from_utf8(all).unwrap(), expected);
}

#[test]
fn sizes_carry_over_from_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    write_private(&path, b"12345678\n");
    let config = FileConfig::new(&path).max_size(10).compress(false);
    let mut sink = FileSink::open(config).unwrap();
    sink.send(&batch(&["ab"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(rotated(&path, ".1")).unwrap(), b"12345678\n");
    assert_eq!(fs::read(&path).unwrap(), b"ab\n");
}

#[test]
fn keeps_at_most_max_files_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(4).max_files(3).compress(false));
    for i in 0..10 {
        sink.send(&batch(&[format!("r{i}")])).unwrap();
    }
    sink.close().unwrap();
    assert_eq!(
        listing(dir.path()),
        ["e.jsonl", "e.jsonl.1", "e.jsonl.2", "e.jsonl.3"]
    );
    assert_eq!(fs::read(&path).unwrap(), b"r9\n");
    assert_eq!(fs::read(rotated(&path, ".1")).unwrap(), b"r8\n");
    assert_eq!(fs::read(rotated(&path, ".3")).unwrap(), b"r6\n");
}

#[test]
fn compressed_files_hold_exactly_the_rotated_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(64).max_files(2));
    let line = |i: usize| format!("{{\"event\":{i:03},\"pad\":\"{}\"}}", "p".repeat(40));
    for i in 0..4 {
        sink.send(&batch(&[line(i)])).unwrap();
    }
    sink.close().unwrap();
    assert_eq!(
        listing(dir.path()),
        ["e.jsonl", "e.jsonl.1.gz", "e.jsonl.2.gz"]
    );
    assert_eq!(
        gunzip(&rotated(&path, ".2.gz")),
        format!("{}\n", line(1)).as_bytes()
    );
    assert_eq!(
        gunzip(&rotated(&path, ".1.gz")),
        format!("{}\n", line(2)).as_bytes()
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        format!("{}\n", line(3)).as_bytes()
    );
}

#[test]
fn an_interrupted_compression_is_finished_by_the_next_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    // What a crash mid-compression leaves: the source intact and a partial archive.
    fs::write(rotated(&path, ".1"), b"rotated before the crash\n").unwrap();
    fs::write(rotated(&path, ".1.gz.tmp"), b"\x1f\x8b\x08 partial").unwrap();
    write_private(&path, b"live before the crash\n");
    let config = FileConfig::new(&path).max_size(30);
    let mut sink = FileSink::open(config).unwrap();
    sink.send(&batch(&["after restart"])).unwrap();
    sink.close().unwrap();
    assert_eq!(
        listing(dir.path()),
        ["e.jsonl", "e.jsonl.1.gz", "e.jsonl.2.gz"]
    );
    assert_eq!(
        gunzip(&rotated(&path, ".2.gz")),
        b"rotated before the crash\n"
    );
    assert_eq!(gunzip(&rotated(&path, ".1.gz")), b"live before the crash\n");
    assert_eq!(fs::read(&path).unwrap(), b"after restart\n");
}

#[test]
fn reopens_a_file_deleted_or_moved_away() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c);
    sink.send(&batch(&["one"])).unwrap();
    fs::remove_file(&path).unwrap();
    sink.send(&batch(&["two"])).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two\n");
    // logrotate without copytruncate: rename, then expect the writer to reopen.
    let moved = dir.path().join("e.jsonl-20261122");
    fs::rename(&path, &moved).unwrap();
    sink.send(&batch(&["three"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&moved).unwrap(), b"two\n");
    assert_eq!(fs::read(&path).unwrap(), b"three\n");
}

#[test]
fn an_externally_truncated_file_is_measured_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(10).compress(false));
    sink.send(&batch(&["1234567"])).unwrap();
    // logrotate's copytruncate empties the file in place.
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    sink.send(&batch(&["7654321"])).unwrap();
    sink.close().unwrap();
    assert!(!rotated(&path, ".1").exists());
    assert_eq!(fs::read(&path).unwrap(), b"7654321\n");
}

#[test]
fn records_with_line_breaks_are_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c);
    let records: [&[u8]; 5] = [
        b"{\"ok\":1}",
        b"{\"msg\":\"x\"}\n{\"event_type\":\"auth.success\",\"forged\":true}",
        b"{\"ok\":2}",
        b"{\"msg\":\"overwrite\rthe line\"}",
        b"{\"ok\":3}",
    ];
    let err = sink.send(&batch(&records)).unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(err.failed_records(), Some(&[1usize, 3][..]));
    assert!(err.message().contains("line break"), "{err}");
    sink.close().unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"{\"ok\":1}\n{\"ok\":2}\n{\"ok\":3}\n"
    );
}

#[test]
fn an_unwritable_path_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: fails for root too.
    fs::write(dir.path().join("not-a-dir"), b"").unwrap();
    let path = dir.path().join("not-a-dir/events.jsonl");
    let err = FileSink::open(FileConfig::new(&path)).unwrap_err();
    assert!(matches!(err, FileSinkError::Open { .. }));
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn a_directory_that_vanishes_gives_a_retryable_error_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    let path = sub.join("e.jsonl");
    let config = FileConfig::new(&path).reopen_check(Duration::ZERO);
    let mut sink = FileSink::open(config).unwrap();
    fs::remove_dir_all(&sub).unwrap();
    fs::write(&sub, b"blocking file").unwrap();
    let err = sink.send(&batch(&["lost?"])).unwrap_err();
    assert!(err.is_retryable());
    assert!(err.message().contains(&path.display().to_string()), "{err}");
    fs::remove_file(&sub).unwrap();
    sink.send(&batch(&["lost?"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"lost?\n");
}

#[test]
fn zero_max_files_or_max_size_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    for (config, key) in [
        (FileConfig::new(&path).max_files(0), "rotation.max_files"),
        (FileConfig::new(&path).max_size(0), "rotation.max_size"),
    ] {
        match FileSink::open(config) {
            Err(FileSinkError::Config(e)) => assert_eq!(e.key(), key),
            other => panic!("expected a config error for {key}, got {other:?}"),
        }
    }
    assert!(
        !path.exists(),
        "nothing is created for a refused configuration"
    );
}

#[test]
fn every_batch_sync_policy_writes_normally() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.fsync(SyncPolicy::EveryBatch));
    sink.send(&batch(&["a", "b"])).unwrap();
    sink.flush().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"a\nb\n");
}

#[cfg(unix)]
#[test]
fn files_are_private_by_default() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut sink, path) = open_sink(dir.path(), |c| c.max_size(4));
    sink.send(&batch(&["one", "two"])).unwrap();
    sink.close().unwrap();
    for f in [path.clone(), rotated(&path, ".1.gz")] {
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = open_sink(dir.path(), |c| c.mode(0o640));
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "{mode:o}");
}

#[test]
fn nothing_is_lost_after_rm_of_the_live_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    // No periodic check of the path in this test: the deletion must be noticed by the write.
    let config = FileConfig::new(&path).reopen_check(Duration::from_secs(3600));
    let mut sink = FileSink::open(config).unwrap();
    sink.send(&batch(&["one"])).unwrap();
    fs::remove_file(&path).unwrap();
    sink.send(&batch(&["two", "three"])).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two\nthree\n");
    fs::remove_file(&path).unwrap();
    sink.send(&batch(&["four"])).unwrap();
    sink.send(&batch(&["five"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"four\nfive\n");
}

#[test]
fn a_file_moved_away_keeps_what_was_written_before_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    let config = FileConfig::new(&path).reopen_check(Duration::from_secs(3600));
    let mut sink = FileSink::open(config).unwrap();
    sink.send(&batch(&["one"])).unwrap();
    let moved = dir.path().join("e.jsonl-old");
    fs::rename(&path, &moved).unwrap();
    // Still linked (under its new name): not rewritten, so not duplicated.
    sink.send(&batch(&["two"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&moved).unwrap(), b"one\ntwo\n");
    assert!(!path.exists());
}

/// Another user's world-readable file, which a planted link would make the sink append to.
#[cfg(unix)]
fn victim(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let victim = dir.join("victim.txt");
    fs::write(&victim, b"not yours\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    victim
}

/// The error of opening a sink on `path`, which must name it.
fn refusal(path: &Path) -> String {
    let err = FileSink::open(FileConfig::new(path)).unwrap_err();
    assert!(matches!(err, FileSinkError::Open { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    text
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_at_the_path_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = victim(dir.path());
    let path = dir.path().join("e.jsonl");
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let text = refusal(&path);
    assert!(text.contains("symbolic link"), "{text}");
    assert_eq!(fs::read(&victim).unwrap(), b"not yours\n");
}

#[cfg(unix)]
#[test]
fn a_dangling_symbolic_link_does_not_create_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.jsonl");
    let path = dir.path().join("e.jsonl");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let text = refusal(&path);
    assert!(text.contains("symbolic link"), "{text}");
    assert!(!target.exists());
}

#[cfg(unix)]
#[test]
fn a_link_planted_after_an_rm_is_a_retryable_error_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = victim(dir.path());
    let path = dir.path().join("e.jsonl");
    let config = FileConfig::new(&path).reopen_check(Duration::from_secs(3600));
    let mut sink = FileSink::open(config).unwrap();
    sink.send(&batch(&["one"])).unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let err = sink.send(&batch(&["two", "three"])).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains(&path.display().to_string()), "{err}");
    assert!(err.message().contains("symbolic link"), "{err}");
    // Both records went only into the deleted file: both are to be sent again.
    assert_eq!(err.failed_records(), Some(&[0usize, 1][..]));
    assert_eq!(fs::read(&victim).unwrap(), b"not yours\n");
    fs::remove_file(&path).unwrap();
    sink.send(&batch(&["two", "three"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two\nthree\n");
}

#[cfg(unix)]
#[test]
fn a_directory_at_the_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    fs::create_dir(&path).unwrap();
    let text = refusal(&path);
    assert!(text.contains("a directory, not a regular file"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_fifo_at_the_path_is_refused_without_waiting_for_a_reader() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path and plain permission bits.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Without a reader, a blocking open for writing would wait forever.
    let text = refusal(&path);
    assert!(text.contains("a FIFO, not a regular file"), "{text}");
    // With a reader, the open succeeds and the type check refuses it.
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    let text = refusal(&path);
    assert!(text.contains("a FIFO, not a regular file"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_file_of_another_user_is_refused() {
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skips::skip(
            "not root",
            "only root can give a file to another user to test the owner check",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    write_private(&path, b"theirs\n");
    const NOBODY: u32 = 65534;
    std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    let text = refusal(&path);
    assert!(text.contains("belongs to uid 65534"), "{text}");
    assert_eq!(fs::read(&path).unwrap(), b"theirs\n");
}

#[cfg(unix)]
#[test]
fn an_existing_file_with_a_wider_mode_is_refused_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    write_private(&path, b"old\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let text = refusal(&path);
    assert!(
        text.contains("mode 0644, wider than the configured mode 0600"),
        "{text}"
    );
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644, "the sink does not change a mode it refuses");
    // Configuring the wider mode is the operator's way to accept it; a narrower file is fine.
    let mut sink = FileSink::open(FileConfig::new(&path).mode(0o644)).unwrap();
    sink.send(&batch(&["new"])).unwrap();
    sink.close().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old\nnew\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(FileSink::open(FileConfig::new(&path).mode(0o640)).is_ok());
}

#[cfg(unix)]
#[test]
fn links_planted_among_rotated_files_are_not_followed() {
    // Where compression writes its archive, and where it finds one finished before a crash.
    for planted in [".1.gz.tmp", ".1.gz"] {
        let dir = tempfile::tempdir().unwrap();
        let victim = victim(dir.path());
        let path = dir.path().join("e.jsonl");
        std::os::unix::fs::symlink(&victim, rotated(&path, planted)).unwrap();
        let (mut sink, _) = open_sink(dir.path(), |c| c.max_size(4));
        sink.send(&batch(&["one"])).unwrap();
        sink.send(&batch(&["two"])).unwrap();
        let err = sink.close().unwrap_err();
        assert!(err.message().contains("e.jsonl.1"), "{planted}: {err}");
        assert!(err.message().contains("symbolic link"), "{planted}: {err}");
        assert_eq!(fs::read(&victim).unwrap(), b"not yours\n", "{planted}");
        // The rotated records stay, uncompressed.
        assert_eq!(fs::read(rotated(&path, ".1")).unwrap(), b"one\n");
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
    }
}

/// A sink whose file is replaced by a link fails its batches until the retries run out, and
/// the pipeline counts them: nothing written to the link's target, nothing unaccounted.
#[cfg(unix)]
#[test]
fn a_refused_file_is_counted_by_the_pipeline() {
    use siem_event::{EventType, SecurityEvent};
    use siem_ship::{
        BatchConfig, Destination, DropReason, OverflowPolicy, Pipeline, PipelineConfig, Processor,
        RetryConfig,
    };

    struct Messages;
    impl Processor<String> for Messages {
        fn process(&mut self, item: String, out: &mut Vec<SecurityEvent>) {
            out.push(SecurityEvent::new(EventType::parse("auth.failure"), item));
        }
    }
    struct Plain;
    impl siem_format::Encoder for Plain {
        fn encode(&self, e: &SecurityEvent, out: &mut Vec<u8>) {
            out.extend_from_slice(e.message.as_bytes());
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let victim = victim(dir.path());
    let path = dir.path().join("e.jsonl");
    let sink = FileSink::open(FileConfig::new(&path).reopen_check(Duration::ZERO)).unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let destination = Destination::new("audit-file", Box::new(Plain), Box::new(sink))
        .with_batch(
            BatchConfig::default()
                .max_events(10)
                .max_bytes(1 << 20)
                .interval(Duration::from_millis(10)),
        )
        .with_retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2))
                .max_attempts(2),
        );
    let config = PipelineConfig {
        queue_capacity: 100,
        overflow: OverflowPolicy::DropNewest,
        tick: Duration::from_millis(2),
        ..PipelineConfig::default()
    };
    let pipeline = Pipeline::start(config, Messages, vec![destination]).unwrap();
    for i in 0..5 {
        pipeline.queue().push(format!("event {i}"), false);
    }
    pipeline.shutdown(Duration::from_secs(10));
    let metrics = pipeline.metrics();
    let file = &metrics.destinations[0];
    assert_eq!(file.shipped, 0);
    assert_eq!(file.dropped, vec![(DropReason::RetriesExhausted, 5)]);
    assert!(file.ship_failures >= 2, "{file:?}");
    let last_error = file.last_error.as_deref().unwrap_or_default();
    assert!(last_error.contains("symbolic link"), "{last_error}");
    assert_eq!(fs::read(&victim).unwrap(), b"not yours\n");
}

/// Set in the child process that runs `child_creates_under_umask_000`.
const UMASK_CHILD: &str = "SIEM_FILE_SINK_UMASK_DIR";

#[cfg(unix)]
#[test]
#[ignore = "run as a child process by created_directories_get_0750_whatever_the_umask"]
fn child_creates_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    // Not a test by itself: `--include-ignored` runs it without a parent.
    let Some(dir) = std::env::var_os(UMASK_CHILD) else {
        return;
    };
    // The umask belongs to the whole process, hence the child: the other tests keep theirs.
    // SAFETY: plain system call.
    unsafe { libc::umask(0) };
    let dir = Path::new(&dir);
    let path = dir.join("a/b/e.jsonl");
    let mut sink = FileSink::open(FileConfig::new(&path).max_size(4)).unwrap();
    sink.send(&batch(&["one"])).unwrap();
    sink.send(&batch(&["two"])).unwrap();
    sink.close().unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&dir.join("a")), 0o750);
    assert_eq!(mode(&dir.join("a/b")), 0o750);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&rotated(&path, ".1.gz")), 0o600);
    println!("CHILD-CREATED-UNDER-UMASK-000");
}

#[cfg(unix)]
#[test]
fn created_directories_get_0750_whatever_the_umask() {
    run_child(
        "child_creates_under_umask_000",
        UMASK_CHILD,
        "CHILD-CREATED-UNDER-UMASK-000",
    );
}

/// Set in the child process that runs `child_fills_the_disk`.
const DISK_FULL_CHILD: &str = "SIEM_FILE_SINK_DISK_FULL_DIR";

#[cfg(unix)]
#[test]
#[ignore = "run as a child process by a_full_disk_cuts_no_line_and_resends_only_what_failed"]
fn child_fills_the_disk() {
    // Not a test by itself: `--include-ignored` runs it without a parent.
    let Some(dir) = std::env::var_os(DISK_FULL_CHILD) else {
        return;
    };
    let set_file_size_limit = |bytes: libc::rlim_t| {
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: plain system calls on this (child) process, with valid arguments.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
    };
    // Files larger than 1000 bytes cannot be written: a write crossing the limit is cut short
    // and the next one fails (EFBIG), as on a disk that fills up mid-batch.
    set_file_size_limit(1000);
    let path = Path::new(&dir).join("e.jsonl");
    let config = FileConfig::new(&path)
        .max_size(600)
        .compress(false)
        .reopen_check(Duration::ZERO);
    let mut sink = FileSink::open(config).unwrap();
    let first: Vec<String> = (0..5).map(|i| format!("{i}").repeat(99)).collect();
    sink.send(&batch(&first)).unwrap();
    let mut second = batch(&["x".repeat(50), "y".repeat(99), "z".repeat(1500)]);
    let err = sink.send(&second).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains("e.jsonl"), "{err}");
    // x joined the first file, y started the second, z was to go alone into a third.
    assert_eq!(err.failed_records(), Some(&[2usize][..]));
    let mut expected_old = first.iter().map(|r| format!("{r}\n")).collect::<String>();
    expected_old.push_str(&format!("{}\n", "x".repeat(50)));
    assert_eq!(
        fs::read_to_string(rotated(&path, ".2")).unwrap(),
        expected_old
    );
    assert_eq!(
        fs::read_to_string(rotated(&path, ".1")).unwrap(),
        format!("{}\n", "y".repeat(99))
    );
    // The 1000 bytes of z that did get written were cut off again: no partial line remains.
    let left = fs::metadata(&path).unwrap().len();
    assert_eq!(left, 0, "{left} bytes of a partial line remain");
    // The disk has room again: resending what failed completes the batch, once.
    set_file_size_limit(libc::RLIM_INFINITY);
    second.retain_indices(|i| err.failed_records().unwrap().contains(&i));
    sink.send(&second).unwrap();
    sink.close().unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{}\n", "z".repeat(1500))
    );
    println!("CHILD-FILLED-THE-DISK");
}

#[cfg(unix)]
#[test]
fn a_full_disk_cuts_no_line_and_resends_only_what_failed() {
    run_child(
        "child_fills_the_disk",
        DISK_FULL_CHILD,
        "CHILD-FILLED-THE-DISK",
    );
}

/// Runs the ignored test `name` as a child process with `env` naming a fresh directory, and
/// checks that it succeeded and printed `done` (so it really ran, rather than skipped).
#[cfg(unix)]
fn run_child(name: &str, env: &str, done: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture", name])
        .env(env, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(done), "{stdout}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The lines of `bytes`, each with its `\n`.
    fn lines(bytes: &[u8]) -> Vec<&[u8]> {
        bytes.split_inclusive(|&b| b == b'\n').collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// However records and batches fall, the files hold every record once, in order, whole;
        /// a file exceeds `max_size` only to hold a single record; and a file was closed only
        /// because the next record did not fit.
        #[test]
        fn rotation_keeps_every_record_whole_and_in_order(
            max_size in 1u64..200,
            batches in prop::collection::vec(
                prop::collection::vec("[a-z{}\":,]{0,120}", 0..20),
                1..6,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("e.jsonl");
            let config = FileConfig::new(&path).max_size(max_size).max_files(10_000).compress(false);
            let mut sink = FileSink::open(config).unwrap();
            for records in &batches {
                sink.send(&batch(records)).unwrap();
            }
            sink.close().unwrap();

            let rotated_count = fs::read_dir(dir.path()).unwrap().count() - 1;
            let mut files: Vec<Vec<u8>> = (1..=rotated_count)
                .rev()
                .map(|i| fs::read(rotated(&path, &format!(".{i}"))).unwrap())
                .collect();
            files.push(fs::read(&path).unwrap());

            let expected: Vec<u8> = batches
                .iter()
                .flatten()
                .flat_map(|r| r.bytes().chain([b'\n']))
                .collect();
            prop_assert_eq!(files.concat(), expected);
            for (k, file) in files.iter().enumerate() {
                let is_live = k == files.len() - 1;
                prop_assert!(is_live || !file.is_empty(), "rotated file {} is empty", k);
                prop_assert!(file.is_empty() || file.ends_with(b"\n"));
                prop_assert!(file.len() as u64 <= max_size || lines(file).len() == 1);
                if !is_live {
                    let next_line = lines(&files[k + 1])[0];
                    prop_assert!(file.len() as u64 + next_line.len() as u64 > max_size);
                }
            }
        }
    }
}
