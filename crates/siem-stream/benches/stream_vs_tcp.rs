//! Issue 15's figure: the Kafka and NATS JetStream destinations against our TCP syslog
//! destination, in the same run, with the same 1 000 events encoded as canonical JSON. Kafka
//! produces to librdkafka's mock cluster (three brokers on loopback, idempotent, `acks=all`,
//! each batch answered once every record is acknowledged); NATS publishes to a real
//! `nats-server` with JetStream (file storage, one replica), each message acknowledged, and
//! again with `atomic_batch: 1000` to a second stream (each atomic batch acknowledged at its
//! commit); TCP writes octet-counted frames to a loopback reader that discards them.
//! Goal: ≥ 0.5× TCP.
//!
//! The `fields/` group measures what the sinks spend reading each record's key, topic and
//! header fields: the scan they do against the complete decode they did before.
//!
//! Every batch carries fresh event ids (given before the clock starts): with the same ids each
//! time, JetStream would only acknowledge duplicates after the first batch, storing nothing.
//!
//! The `alternating/` line runs the four batch by batch and prints median events/s and the
//! ratios under the same load. Without `nats-server` on PATH the NATS side is left out.
//!
//! Run: `cargo bench -p siem-stream --bench stream_vs_tcp -- --warm-up-time 1 --measurement-time 3`

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../siem-http/benches/support/workload.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rdkafka::mocking::MockCluster;
use siem_event::{EventId, SecurityEvent};
use siem_format::{build_encoder, Encoder, Format, FormatOptions};
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::sink::SinkConfig;
use siem_ship::{Batch, Sink};
use siem_stream::kafka::KafkaConfig;
use siem_stream::nats::{CreateStream, NatsConfig};
use siem_stream::{NameTemplate, RecordFields};
use workload::{sample_events, tcp_blackhole, EVENTS};

/// A JetStream server on a free loopback port with its store in `dir`, or `None` when the
/// binary is missing.
fn nats_server(dir: &std::path::Path) -> Option<(Child, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("nats-server")
        .args([
            "-js",
            "-sd",
            dir.to_str()?,
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((child, port))
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

/// The events with fresh ids, as a new batch of events would have.
fn renewed(events: &[SecurityEvent]) -> Vec<SecurityEvent> {
    let mut events = events.to_vec();
    for e in &mut events {
        e.id = EventId::new();
    }
    events
}

fn streams(c: &mut Criterion) {
    let events = sample_events();
    let encoder = build_encoder(Format::Json, &FormatOptions::default()).unwrap();
    let mut batch = Batch::with_capacity(EVENTS, EVENTS * 512);
    let mut tcp = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(tcp_blackhole())).unwrap();

    let cluster = MockCluster::new(3).unwrap();
    cluster.create_topic("siem-events", 4, 3).unwrap();
    let mut kafka = KafkaConfig::new(cluster.bootstrap_servers())
        .open()
        .unwrap();

    let store = tempfile::tempdir().unwrap();
    let server = nats_server(store.path());
    let mut nats = server.as_ref().map(|(_, port)| {
        let create: CreateStream = serde_json::from_str("{}").unwrap();
        NatsConfig::new(format!("nats://127.0.0.1:{port}"))
            .stream("SIEM", Some(create))
            .open()
            .unwrap()
    });
    let mut nats_atomic = server.as_ref().map(|(_, port)| {
        let create: CreateStream = serde_json::from_str("{}").unwrap();
        NatsConfig::new(format!("nats://127.0.0.1:{port}"))
            .subject(NameTemplate::parse("siem.atomic.{event_type}").unwrap())
            .stream("SIEM_ATOMIC", Some(create))
            .atomic_batch(Some(siem_stream::nats::MAX_ATOMIC_BATCH))
            .open()
            .unwrap()
    });
    if nats.is_none() {
        eprintln!("nats-server not found: the NATS side is left out");
    }

    // What each sink spends finding a record's key, topic and header fields: the scan it does,
    // against the complete decode it did before.
    let records: Vec<Vec<u8>> = events
        .iter()
        .map(|e| {
            let mut out = Vec::new();
            encoder.encode(e, &mut out);
            out
        })
        .collect();
    let mut group = c.benchmark_group("fields");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("scan", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|r| {
                    let f = RecordFields::read(r);
                    (f.text("tenant").is_some(), f.event_id().map(|id| id.len()))
                })
                .count()
        })
    });
    group.bench_function("full_decode", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|r| {
                    let e = siem_format::decode_json(r).ok();
                    let tenant = e.as_ref().and_then(|e| e.field_text("tenant")).is_some();
                    (tenant, e.map(|e| e.id.to_string().len()))
                })
                .count()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("tcp_encode_and_send", |b| {
        b.iter_batched_ref(
            || renewed(&events),
            |events| encode_and_send(events, &*encoder, &mut batch, &mut tcp),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("kafka_encode_and_send", |b| {
        b.iter_batched_ref(
            || renewed(&events),
            |events| encode_and_send(events, &*encoder, &mut batch, &mut *kafka),
            BatchSize::SmallInput,
        )
    });
    if let Some(nats) = &mut nats {
        group.bench_function("nats_encode_and_send", |b| {
            b.iter_batched_ref(
                || renewed(&events),
                |events| encode_and_send(events, &*encoder, &mut batch, &mut **nats),
                BatchSize::SmallInput,
            )
        });
    }
    if let Some(nats) = &mut nats_atomic {
        group.bench_function("nats_atomic_encode_and_send", |b| {
            b.iter_batched_ref(
                || renewed(&events),
                |events| encode_and_send(events, &*encoder, &mut batch, &mut **nats),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let rounds = 21;
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        let round = renewed(&events);
        let t = Instant::now();
        encode_and_send(&round, &*encoder, &mut batch, &mut tcp);
        times[0].push(t.elapsed());
        let t = Instant::now();
        encode_and_send(&round, &*encoder, &mut batch, &mut *kafka);
        times[1].push(t.elapsed());
        if let Some(nats) = &mut nats {
            let t = Instant::now();
            encode_and_send(&round, &*encoder, &mut batch, &mut **nats);
            times[2].push(t.elapsed());
        }
        if let Some(nats) = &mut nats_atomic {
            let t = Instant::now();
            encode_and_send(&round, &*encoder, &mut batch, &mut **nats);
            times[3].push(t.elapsed());
        }
    }
    let median = |d: &mut Vec<Duration>| {
        d.sort();
        d.get(d.len() / 2).map(|m| EVENTS as f64 / m.as_secs_f64())
    };
    let tcp_rate = median(&mut times[0]).unwrap_or(0.0);
    let kafka_rate = median(&mut times[1]).unwrap_or(0.0);
    let mut line = format!(
        "alternating/stream: tcp {tcp_rate:.0} events/s, kafka {kafka_rate:.0} events/s (ratio {:.2})",
        kafka_rate / tcp_rate
    );
    if let Some(nats_rate) = median(&mut times[2]) {
        line.push_str(&format!(
            ", nats {nats_rate:.0} events/s (ratio {:.2})",
            nats_rate / tcp_rate
        ));
    }
    if let Some(atomic_rate) = median(&mut times[3]) {
        line.push_str(&format!(
            ", nats atomic_batch {atomic_rate:.0} events/s (ratio {:.2})",
            atomic_rate / tcp_rate
        ));
    }
    println!("{line}");
    if let Some((mut child, _)) = server {
        let _ = child.kill();
        let _ = child.wait();
    }
}

criterion_group!(benches, streams);
criterion_main!(benches);
