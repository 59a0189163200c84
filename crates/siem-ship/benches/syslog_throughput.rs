//! Throughput of the syslog sink, each figure against its baseline in the same run
//! (goals G8–G11 of the performance reference):
//!
//! - G8  `syslog_g8_tcp`: encode + send over TCP to a local blackhole vs encode only.
//! - G10 `syslog_g10_udp`: the sink over UDP vs a bare `sendmmsg` loop (64 per call) and a
//!   bare `send` loop, all with the same pre-encoded payloads.
//! - G11 `syslog_g11_tls`: the sink over TLS vs over plain TCP, same payloads, blackhole peers.
//! - G9  `syslog_g9_rsyslog`: the sink vs a trivial client writing the same octet-counted
//!   frames in 64 KiB writes, each until rsyslog has written every message to its file.
//!
//! Every iteration handles one batch of 1000 events; criterion reports events/s. After each
//! group, CPU time per event on the sending thread is printed (`cpu/…` lines), and the two
//! sides are run alternately, batch by batch, for a ratio of medians measured under the same
//! load (`alternating/…` lines).
//!
//! Run: `cargo bench -p siem-ship --bench syslog_throughput -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/syslog_support/mod.rs"]
mod syslog_support;

use syslog_support::{tcp_blackhole, tls_blackhole};

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use siem_event::SecurityEvent;
use siem_format::{build_encoder, Encoder, Format, FormatOptions};
use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::{Batch, Sink};

const EVENTS: usize = 1000;

fn events() -> Vec<SecurityEvent> {
    syslog_support::sample_events(EVENTS)
}

/// The encoder whose cost is the G8 baseline: RFC 5424, what syslog collectors expect.
fn encoder() -> Box<dyn Encoder> {
    build_encoder(Format::Rfc5424, &FormatOptions::default()).unwrap()
}

fn encoded(events: &[SecurityEvent], encoder: &dyn Encoder) -> Batch {
    let mut batch = Batch::with_capacity(events.len(), events.len() * 512);
    for e in events {
        batch.push_with(|out| encoder.encode(e, out));
    }
    batch
}

fn udp_blackhole() -> (UdpSocket, u16) {
    // Bound and never read: the kernel drops what overflows its buffer, for every variant alike.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

fn bare_sendmmsg(socket: &UdpSocket, payloads: &[&[u8]]) {
    use std::os::fd::AsRawFd;
    for group in payloads.chunks(64) {
        // SAFETY: zeroed C structs are valid; the pointers reference `group`, alive for the call.
        let mut iov: [libc::iovec; 64] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; 64] = unsafe { std::mem::zeroed() };
        for (i, p) in group.iter().enumerate() {
            iov[i].iov_base = p.as_ptr() as *mut libc::c_void;
            iov[i].iov_len = p.len();
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < group.len() {
            // SAFETY: as above.
            let n = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    msgs[sent..].as_mut_ptr(),
                    (group.len() - sent) as libc::c_uint,
                    0,
                )
            };
            assert!(n > 0, "sendmmsg: {}", std::io::Error::last_os_error());
            sent += n as usize;
        }
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn report_cpu(name: &str, mut run: impl FnMut()) {
    run();
    let rounds = 50;
    let (cpu, wall) = (thread_cpu(), Instant::now());
    for _ in 0..rounds {
        run();
    }
    let events = (rounds * EVENTS) as f64;
    println!(
        "cpu/{name}: {:.0} ns CPU per event on the sending thread, {:.0} events/s wall",
        (thread_cpu() - cpu).as_nanos() as f64 / events,
        events / wall.elapsed().as_secs_f64()
    );
}

/// Runs `baseline` and `candidate` alternately, one batch each, and prints the median rates
/// and their ratio: on a shared 2-core machine the load changes from second to second, and
/// alternating exposes both to the same conditions.
fn alternate(goal: &str, mut baseline: impl FnMut(), mut candidate: impl FnMut()) {
    let rounds = 41;
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    baseline();
    candidate();
    for _ in 0..rounds {
        let t = Instant::now();
        baseline();
        a.push(t.elapsed());
        let t = Instant::now();
        candidate();
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    let rate = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    let (ra, rb) = (rate(a[rounds / 2]), rate(b[rounds / 2]));
    println!(
        "alternating/{goal}: baseline {ra:.0} events/s, candidate {rb:.0} events/s, ratio {:.2}",
        rb / ra
    );
}

fn g8_tcp(c: &mut Criterion) {
    let events = events();
    let encoder = encoder();
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(tcp_blackhole())).unwrap();
    let mut batch = Batch::with_capacity(EVENTS, EVENTS * 512);
    let mut group = c.benchmark_group("syslog_g8_tcp");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("format_only", |b| {
        b.iter(|| {
            batch.clear();
            for e in &events {
                batch.push_with(|out| encoder.encode(e, out));
            }
            std::hint::black_box(&batch);
        })
    });
    group.bench_function("format_and_send", |b| {
        b.iter(|| {
            batch.clear();
            for e in &events {
                batch.push_with(|out| encoder.encode(e, out));
            }
            sink.send(&batch).unwrap();
        })
    });
    group.finish();
    report_cpu("tcp_format_and_send", || {
        batch.clear();
        for e in &events {
            batch.push_with(|out| encoder.encode(e, out));
        }
        sink.send(&batch).unwrap();
    });
    let mut only = Batch::with_capacity(EVENTS, EVENTS * 512);
    alternate(
        "g8_format_only_vs_format_and_tcp_send",
        || {
            only.clear();
            for e in &events {
                only.push_with(|out| encoder.encode(e, out));
            }
            std::hint::black_box(&only);
        },
        || {
            batch.clear();
            for e in &events {
                batch.push_with(|out| encoder.encode(e, out));
            }
            sink.send(&batch).unwrap();
        },
    );
}

fn g10_udp(c: &mut Criterion) {
    let batch = encoded(&events(), encoder().as_ref());
    let payloads: Vec<&[u8]> = batch.records().collect();
    let (_peer, port) = udp_blackhole();
    let config = SyslogConfig::udp("127.0.0.1")
        .port(port)
        .max_datagram_size(65_507);
    let mut sink = SyslogSink::new(config).unwrap();
    let bare = UdpSocket::bind("127.0.0.1:0").unwrap();
    bare.connect(("127.0.0.1", port)).unwrap();
    let mut group = c.benchmark_group("syslog_g10_udp");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("bare_sendmmsg_64", |b| {
        b.iter(|| bare_sendmmsg(&bare, &payloads))
    });
    group.bench_function("bare_send", |b| {
        b.iter(|| {
            for p in &payloads {
                bare.send(p).unwrap();
            }
        })
    });
    group.bench_function("sink", |b| b.iter(|| sink.send(&batch).unwrap()));
    group.finish();
    report_cpu("udp_sink", || sink.send(&batch).unwrap());
    report_cpu("udp_bare_sendmmsg_64", || bare_sendmmsg(&bare, &payloads));
    alternate(
        "g10_bare_sendmmsg_vs_udp_sink",
        || bare_sendmmsg(&bare, &payloads),
        || sink.send(&batch).unwrap(),
    );
}

fn g11_tls(c: &mut Criterion) {
    let batch = encoded(&events(), encoder().as_ref());
    let dir = tempfile::tempdir().unwrap();
    let (tls_port, ca) = tls_blackhole(dir.path());
    let mut tcp = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(tcp_blackhole())).unwrap();
    let tls_config = SyslogConfig::tls("localhost").port(tls_port).ca_file(&ca);
    let mut tls = SyslogSink::new(tls_config).unwrap();
    let mut group = c.benchmark_group("syslog_g11_tls");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("tcp", |b| b.iter(|| tcp.send(&batch).unwrap()));
    group.bench_function("tls", |b| b.iter(|| tls.send(&batch).unwrap()));
    group.finish();
    report_cpu("tcp_send_only", || tcp.send(&batch).unwrap());
    report_cpu("tls_send_only", || tls.send(&batch).unwrap());
    alternate(
        "g11_tcp_vs_tls",
        || tcp.send(&batch).unwrap(),
        || tls.send(&batch).unwrap(),
    );
}

fn g9_rsyslog(c: &mut Criterion) {
    if std::env::var("SIEM_REQUIRE_PEERS").as_deref() != Ok("1")
        && !std::path::Path::new("/usr/sbin/rsyslogd").exists()
    {
        println!("syslog_g9_rsyslog: skipped, rsyslogd is not installed");
        return;
    }
    let Some(rsyslog) = syslog_support::Rsyslog::start(syslog_support::Input::TcpThroughput) else {
        return;
    };
    // The same RFC 5424 records for both clients.
    let batch = encoded(&events(), encoder().as_ref());
    // rsyslog writes each message and a newline.
    let per_batch: u64 = batch.records().map(|r| r.len() as u64 + 1).sum();
    let mut frames = Vec::new();
    for r in batch.records() {
        frames.extend_from_slice(format!("{} ", r.len()).as_bytes());
        frames.extend_from_slice(r);
    }
    let wait_for = |target: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while rsyslog.plain_bytes() < target {
            assert!(
                Instant::now() < deadline,
                "rsyslog did not write everything"
            );
            // Sleep rather than spin: on two cores a spinning poller takes CPU from rsyslog.
            thread::sleep(Duration::from_micros(100));
        }
    };
    let mut trivial = TcpStream::connect(("127.0.0.1", rsyslog.port())).unwrap();
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(rsyslog.port())).unwrap();
    let mut group = c.benchmark_group("syslog_g9_rsyslog");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    for name in ["trivial_client_64KiB_writes", "sink"] {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let target = rsyslog.plain_bytes() + per_batch * iters;
                for _ in 0..iters {
                    if name == "sink" {
                        sink.send(&batch).unwrap();
                    } else {
                        for chunk in frames.chunks(64 * 1024) {
                            trivial.write_all(chunk).unwrap();
                        }
                    }
                }
                wait_for(target);
                start.elapsed()
            })
        });
    }
    group.finish();
    alternate(
        "g9_trivial_client_vs_sink_to_rsyslog",
        || {
            let target = rsyslog.plain_bytes() + per_batch;
            for chunk in frames.chunks(64 * 1024) {
                trivial.write_all(chunk).unwrap();
            }
            wait_for(target);
        },
        || {
            let target = rsyslog.plain_bytes() + per_batch;
            sink.send(&batch).unwrap();
            wait_for(target);
        },
    );
}

criterion_group!(benches, g8_tcp, g10_udp, g11_tls, g9_rsyslog);
criterion_main!(benches);
