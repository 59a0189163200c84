//! G12 of the performance reference: batched HTTP to a local sink against plain TCP, in the
//! same run. Both sides encode the same 1000 events as canonical JSON and send them — over TCP
//! through the syslog sink (octet-counted frames) to a loopback reader that discards them, and
//! as one NDJSON request (about 400 KiB, uncompressed) through the webhook sink to a loopback
//! HTTP/1.1 server that reads each body and answers 200. The goal is HTTP ≥ 0.6× TCP.
//!
//! Criterion reports events/s for each; the `alternating/` line runs both batch by batch and
//! prints median events/s, requests/s and their ratio under the same load.
//!
//! Run: `cargo bench -p siem-http --bench http_vs_tcp -- --warm-up-time 1 --measurement-time 3`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/workload.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use siem_event::SecurityEvent;
use siem_format::{build_encoder, Encoder, Format, FormatOptions};
use siem_http::webhook::{WebhookBody, WebhookConfig};
use siem_http::Compression;
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::sink::SinkConfig;
use siem_ship::{Batch, Sink};
use workload::{sample_events, tcp_blackhole, EVENTS};

/// A loopback HTTP/1.1 sink: reads each request's body (by `Content-Length`) into a reused
/// buffer and answers `200` with an empty body, keeping the connection; counts requests.
fn http_sink() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::with_capacity(256 * 1024, stream);
                let mut body = Vec::new();
                let mut line = String::new();
                loop {
                    let mut length = 0;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    body.resize(length, 0);
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    counted.fetch_add(1, Ordering::Relaxed);
                    if writer
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

fn encode_and_send(
    events: &[SecurityEvent],
    encoder: &dyn Encoder,
    batch: &mut Batch,
    sink: &mut dyn Sink,
) {
    batch.clear();
    for e in events {
        batch.push_with(|out| encoder.encode(e, out));
    }
    sink.send(batch).unwrap();
}

fn g12(c: &mut Criterion) {
    let events = sample_events();
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut tcp = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(tcp_blackhole())).unwrap();
    let (port, requests_served) = http_sink();
    let mut hook = WebhookConfig::new(format!("http://127.0.0.1:{port}/bulk"));
    hook.body = WebhookBody::Ndjson;
    hook.http.compression = Some(Compression::None);
    let mut http = hook.open().unwrap();
    let mut batch = Batch::with_capacity(EVENTS, EVENTS * 512);

    let mut group = c.benchmark_group("http_g12");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("tcp_encode_and_send", |b| {
        b.iter(|| encode_and_send(&events, &*encoder, &mut batch, &mut tcp))
    });
    group.bench_function("http_encode_and_send", |b| {
        b.iter(|| encode_and_send(&events, &*encoder, &mut batch, &mut *http))
    });
    group.finish();

    let requests_before = requests_served.load(Ordering::Relaxed);
    let rounds = 41;
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        encode_and_send(&events, &*encoder, &mut batch, &mut tcp);
        a.push(t.elapsed());
        let t = Instant::now();
        encode_and_send(&events, &*encoder, &mut batch, &mut *http);
        b.push(t.elapsed());
    }
    let requests = requests_served.load(Ordering::Relaxed) - requests_before;
    a.sort();
    b.sort();
    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    let (tcp_rate, http_rate) = (rate(a[rounds / 2]), rate(b[rounds / 2]));
    let requests_per_batch = requests as f64 / rounds as f64;
    println!(
        "alternating/g12: tcp {tcp_rate:.0} events/s, http {http_rate:.0} events/s \
         ({:.0} requests/s, {requests_per_batch:.1} requests per {EVENTS}-event batch of {} bytes), \
         ratio {:.2}",
        http_rate / EVENTS as f64 * requests_per_batch,
        batch.byte_len(),
        http_rate / tcp_rate
    );
}

criterion_group!(benches, g12);
criterion_main!(benches);
