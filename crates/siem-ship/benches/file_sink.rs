//! File sink throughput against a plain `BufWriter<File>` writing the same bytes, in one run.
//!
//! Workload: batches of 1000 JSON records of about 300 bytes (about 301 KB per batch with the
//! newlines). Both sides start a new file every 64 MB so a run does not fill the disk: the sink
//! by its own rotation (2 files kept, no compression, so the background gzip thread does not
//! compete for the 2 cores), the baseline by reopening its file with `truncate`.
//!
//! - `file_sink/send_1000x300B`: `FileSink::send`, with `fsync: never` (the baseline does not
//!   sync either). Includes the line-break scan of every record, the copy into one buffer and
//!   one `write_all` per batch, and the periodic reopen check (every second).
//! - `file_sink/bufwriter_baseline`: `write_all(record)` + `write_all(b"\n")` per record into a
//!   `BufWriter<File>` (8 KiB buffer), then `flush` at the end of the batch, so that both sides
//!   have handed every byte to the kernel when an iteration ends.
//!
//! - `file_sink/gzip_rotated_4MB`: what the background thread does to a rotated file (flate2,
//!   default level 6, into memory), to size how long compressing a `max_size` file takes. The
//!   synthetic records repeat a lot, so real files compress somewhat slower.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-file cargo bench -p siem-ship --bench file_sink --
//! --warm-up-time 1 --measurement-time 3`

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::write::GzEncoder;
use flate2::Compression;
use siem_ship::sink::file::{FileConfig, FileSink, SyncPolicy};
use siem_ship::{Batch, Sink};

const RECORDS: usize = 1000;
const ROTATE_AT: u64 = 64 << 20;

fn batch() -> Batch {
    let mut batch = Batch::with_capacity(RECORDS, RECORDS * 310);
    for i in 0..RECORDS {
        batch.push_with(|out| {
            write!(
                out,
                r#"{{"timestamp":"2026-11-22T06:30:{:02}.{:06}Z","event_type":"auth.failure","severity":"high","outcome":"failure","actor":{{"user":"user{i:05}","source_ip":"192.0.2.{}"}},"target":{{"resource":"/api/v1/login","method":"POST"}},"message":"Failed login attempt","event_id":"{i:032x}"}}"#,
                i % 60,
                i * 7,
                i % 250,
            )
            .unwrap();
        });
    }
    batch
}

fn baseline_file(path: &Path) -> BufWriter<File> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    BufWriter::new(file)
}

fn bench(c: &mut Criterion) {
    let batch = batch();
    let bytes = (batch.byte_len() + batch.len()) as u64;
    let dir = tempfile::tempdir().unwrap();

    let mut group = c.benchmark_group("file_sink");
    group.throughput(Throughput::Bytes(bytes));

    let config = FileConfig::new(dir.path().join("sink.jsonl"))
        .max_size(ROTATE_AT)
        .max_files(2)
        .compress(false)
        .fsync(SyncPolicy::Never);
    let mut sink = FileSink::open(config).unwrap();
    group.bench_function("send_1000x300B", |b| {
        b.iter(|| sink.send(black_box(&batch)).unwrap())
    });
    sink.close().unwrap();

    let path = dir.path().join("baseline.jsonl");
    let mut out = baseline_file(&path);
    let mut written = 0u64;
    group.bench_function("bufwriter_baseline", |b| {
        b.iter(|| {
            if written + bytes > ROTATE_AT {
                out = baseline_file(&path);
                written = 0;
            }
            for record in black_box(&batch).records() {
                out.write_all(record).unwrap();
                out.write_all(b"\n").unwrap();
            }
            out.flush().unwrap();
            written += bytes;
        })
    });
    group.finish();

    let mut rotated = Vec::with_capacity(4 << 20);
    while rotated.len() < 4 << 20 {
        for record in batch.records() {
            rotated.extend_from_slice(record);
            rotated.push(b'\n');
        }
    }
    let mut group = c.benchmark_group("file_sink");
    group.throughput(Throughput::Bytes(rotated.len() as u64));
    group.sample_size(10);
    group.bench_function("gzip_rotated_4MB", |b| {
        b.iter(|| {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(black_box(&rotated)).unwrap();
            encoder.finish().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
