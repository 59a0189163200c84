//! The tamper-evident chain end to end: a service writes chained events through the layer to a
//! rotating file destination, restarts, writes more; `siem verify` passes the files as written
//! and names the first event after each kind of tampering with real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tracing_siem::{DestinationConfig, FileConfig, Format, Secret, SiemLayer};
use tracing_subscriber::prelude::*;

const KEY: &str = "test-chain-key-0123456789abcdef";

/// Runs one "service process": a layer writing `count` chained events from `first` on.
fn run_service(path: &Path, first: u64, count: u64, compress: bool) {
    let file = FileConfig::new(path)
        .max_size(16 * 1024)
        .max_files(20)
        .compress(compress)
        .chain(Secret::new(KEY));
    let (layer, guard) = SiemLayer::builder()
        .app("verify-test")
        .host("test-host")
        .without_default_rules()
        .destination(DestinationConfig::new(file).format(Format::Json))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for n in first..first + count {
            tracing::warn!(
                event_type = "auth.failure",
                user = "alice",
                n,
                "Failed login"
            );
        }
    });
    let report = guard.shutdown(Duration::from_secs(10));
    assert!(report.completed);
}

/// The files of the destination, oldest first, as a user would list them.
fn files_oldest_first(path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.unwrap();
            let file = entry.file_name().into_string().unwrap();
            let rest = file.strip_prefix(name)?.strip_prefix('.')?;
            let index = rest.trim_end_matches(".gz").parse().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    rotated.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(path.to_path_buf());
    files
}

fn verify(files: &[PathBuf], key: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siem"))
        .arg("verify")
        .args(files)
        .env("SIEM_CHAIN_KEY", key)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A destination's output after two runs of the service: rotated (compressed or not) files
/// and the live one, oldest first.
fn written(dir: &Path, compress: bool) -> Vec<PathBuf> {
    let path = dir.join("audit.jsonl");
    run_service(&path, 0, 150, compress);
    run_service(&path, 150, 60, compress);
    let files = files_oldest_first(&path);
    assert!(files.len() > 3, "the test wants rotations: {files:?}");
    files
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn untouched_files_verify_across_rotation_compression_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = written(dir.path(), true);
    assert!(files[0].to_str().unwrap().ends_with(".gz"));
    let out = verify(&files, KEY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("verified 210 events (seq 1 to 210)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn each_kind_of_tampering_is_named_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let files = written(dir.path(), false);
    // A rotated file in the middle of the set.
    let path = files[1].clone();
    let original = lines(&path);
    assert!(original.len() >= 4);
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "modified",
            {
                let mut l = original.clone();
                l[1] = l[1].replace("alice", "mallory");
                l
            },
            "line 2: event",
        ),
        (
            "removed",
            {
                let mut l = original.clone();
                l.remove(1);
                l
            },
            "are missing (removed)",
        ),
        (
            "inserted",
            {
                let mut l = original.clone();
                l.insert(
                    1,
                    r#"{"event_type":"auth.success","user":"mallory"}"#.to_owned(),
                );
                l
            },
            "carries no chain fields",
        ),
        (
            "duplicated",
            {
                let mut l = original.clone();
                let copy = l[1].clone();
                l.insert(2, copy);
                l
            },
            "out of order",
        ),
        (
            "reordered",
            {
                let mut l = original.clone();
                l.swap(1, 2);
                l
            },
            "line 2: events",
        ),
    ];
    for (what, tampered, expected) in cases {
        write_lines(&path, &tampered);
        let out = verify(&files, KEY);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out.stdout));
        let said = text(&out.stderr);
        assert!(
            said.contains(&format!("{} line", path.display())),
            "{what}: {said}"
        );
        assert!(said.contains(expected), "{what}: {said}");
    }
    write_lines(&path, &original);
    assert_eq!(verify(&files, KEY).status.code(), Some(0));
    // A removed file (the oldest rotations deleted by an attacker) breaks the link too.
    let without_one: Vec<PathBuf> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, p)| p.clone())
        .collect();
    let out = verify(&without_one, KEY);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_wrong_key_or_no_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = written(dir.path(), true);
    let out = verify(&files, "another-key-0123456789abcdef");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("modified or forged"));
    let out = verify(&files, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("SIEM_CHAIN_KEY"));
}
