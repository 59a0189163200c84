//! Connection behaviour against real sockets on loopback: a batch interrupted by a connection
//! reset is sent again whole on a new connection, and closing a TLS sink ends the session with
//! `close_notify` (checked by a rustls server, which tells a clean close from a cut one).

mod syslog_support;

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::{Batch, Sink};

/// Splits an octet-counted stream into its messages.
fn deframe(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while !stream.is_empty() {
        let space = stream.iter().position(|&b| b == b' ').expect("LEN SP");
        let len: usize = std::str::from_utf8(&stream[..space])
            .unwrap()
            .parse()
            .unwrap();
        messages.push(stream[space + 1..space + 1 + len].to_vec());
        stream = &stream[space + 1 + len..];
    }
    messages
}

/// Makes the kernel answer with RST instead of FIN when the socket is dropped.
fn reset_on_drop(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
}

#[test]
fn a_batch_cut_by_a_connection_reset_is_sent_again_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let collector = thread::spawn(move || {
        // First connection: read a little of the batch, then reset.
        let (mut first, _) = listener.accept().unwrap();
        let mut some = vec![0u8; 64 * 1024];
        first.read_exact(&mut some).unwrap();
        reset_on_drop(&first);
        drop(first);
        // Second connection: everything until the sink closes.
        let (mut second, _) = listener.accept().unwrap();
        let mut all = Vec::new();
        second.read_to_end(&mut all).unwrap();
        all
    });

    // 8 MB: far more than the socket buffers hold, so the reset lands mid-batch.
    let records: Vec<String> = (0..40_000)
        .map(|i| format!("<34>1 - host app - - - record {i:05} {}", "x".repeat(160)))
        .collect();
    let mut batch = Batch::default();
    for r in &records {
        batch.push(r.as_bytes());
    }
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(port)).unwrap();
    sink.send(&batch).unwrap();
    sink.close().unwrap();

    let received = deframe(&collector.join().unwrap());
    assert_eq!(
        received.len(),
        records.len(),
        "the whole batch, once, on the new connection"
    );
    for (got, want) in received.iter().zip(&records) {
        assert_eq!(got, want.as_bytes());
    }
}

#[cfg(feature = "tls")]
#[test]
fn closing_a_tls_sink_sends_close_notify() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ca) = syslog_support::self_signed_server(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut received = Vec::new();
        // rustls returns Ok(0) only after close_notify; a bare TCP close is UnexpectedEof.
        let end = tls.read_to_end(&mut received).map(|_| ());
        (received, end)
    });

    let mut sink = SyslogSink::new(SyslogConfig::tls("localhost").port(port).ca_file(&ca)).unwrap();
    let mut batch = Batch::default();
    batch.push(b"<34>1 - host app - - - over TLS");
    sink.send(&batch).unwrap();
    sink.close().unwrap();

    let (received, end) = server.join().unwrap();
    end.expect("the session ended with close_notify");
    assert_eq!(received, b"31 <34>1 - host app - - - over TLS");
}

#[test]
fn a_collector_that_stops_reading_is_a_timeout_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts connections and never reads from them, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let held = {
        let stop = Arc::clone(&stop);
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
            held.len()
        })
    };
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(port)
        .write_timeout(std::time::Duration::from_millis(200));
    let mut sink = SyslogSink::new(config).unwrap();
    let mut batch = Batch::default();
    let record = vec![b'x'; 64 * 1024];
    // 64 MB: more than any socket buffers will take.
    for _ in 0..1024 {
        batch.push(&record);
    }
    let err = sink.send(&batch).unwrap_err();
    assert!(err.is_retryable());
    assert!(
        err.message()
            .contains("made no progress for 200ms (write_timeout)"),
        "{err}"
    );
    stop.store(true, Ordering::Relaxed);
    // A stall is reported after one write_timeout (the destination then shows as failing);
    // the route's retry, not the sink, opens the next connection.
    assert_eq!(
        held.join().unwrap(),
        1,
        "one connection, not resent at once"
    );
}

#[test]
fn a_collector_that_closes_every_connection_is_an_error_not_a_silent_loss() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let refused = {
        let stop = Arc::clone(&stop);
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let mut refused = 0;
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    // Accept, then hang up at once, as a collector refusing this sender does.
                    Ok((stream, _)) => {
                        drop(stream);
                        refused += 1;
                    }
                    Err(_) => thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
            refused
        })
    };
    let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(port)).unwrap();
    let mut batch = Batch::default();
    batch.push(b"<34>1 - host app - - - refused");
    let err = sink.send(&batch).unwrap_err();
    assert!(err.is_retryable());
    assert!(
        err.message()
            .contains("the collector closed the connection, just after accepting it"),
        "{err}"
    );
    stop.store(true, Ordering::Relaxed);
    assert_eq!(refused.join().unwrap(), 1);
}
