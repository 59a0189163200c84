//! A RELP "collector" that answers the session's `open` properly, acknowledges the first
//! records of the first connection, then says something a RELP collector must not (garbage, an
//! oversized frame, the wrong transaction, a refusal, `serverclose`): the sink returns a clear
//! retryable error naming exactly the records that were not acknowledged, and never panics.
//! And one that drops the first connection after some acknowledgements, then takes everything:
//! exactly the records not acknowledged go out again, on the new session.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
use siem_ship::{Batch, Sink};

/// Reads one client frame: its transaction number, command and data (as text).
fn read_frame(reader: &mut BufReader<TcpStream>) -> Option<(u32, String, String)> {
    let mut head = Vec::new();
    for _ in 0..2 {
        reader.read_until(b' ', &mut head).ok()?;
    }
    let head = String::from_utf8(head).ok()?;
    let mut parts = head.split_whitespace();
    let txnr = parts.next()?.parse().ok()?;
    let command = parts.next()?.to_owned();
    let mut len = Vec::new();
    loop {
        let mut b = [0u8];
        reader.read_exact(&mut b).ok()?;
        if !b[0].is_ascii_digit() {
            break;
        }
        len.push(b[0]);
    }
    let len: usize = String::from_utf8(len).ok()?.parse().ok()?;
    if len == 0 {
        // The LF that ended the length was read above.
        return Some((txnr, command, String::new()));
    }
    // DATA (the space before it was read above) and the trailing LF.
    let mut data = vec![0u8; len + 1];
    reader.read_exact(&mut data).ok()?;
    data.pop();
    Some((txnr, command, String::from_utf8(data).ok()?))
}

/// Serves RELP on loopback: the first connection acknowledges `acked` records, then every
/// connection answers the next record with `hostile(txnr)`. Returns the port.
fn hostile_collector(acked: usize, hostile: fn(u32) -> Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let mut out = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let Some((1, open, _)) = read_frame(&mut reader) else {
                continue;
            };
            assert_eq!(open, "open");
            let offer = "200 OK\nrelp_version=0\nrelp_software=test\ncommands=syslog";
            let _ = writeln!(out, "1 rsp {} {offer}", offer.len());
            let mut taken = 0;
            while let Some((txnr, command, _)) = read_frame(&mut reader) {
                assert_eq!(command, "syslog");
                if first && taken < acked {
                    taken += 1;
                    let _ = out.write_all(format!("{txnr} rsp 6 200 OK\n").as_bytes());
                } else {
                    let reply = hostile(txnr);
                    let _ = out.write_all(&reply);
                    // Whatever comes next, this connection is done for; a silent one stays
                    // open and silent for longer than the sink waits.
                    let linger = if reply.is_empty() { 3_000 } else { 50 };
                    std::thread::sleep(Duration::from_millis(linger));
                    break;
                }
            }
        }
    });
    (port, connections)
}

fn batch(n: usize) -> Batch {
    let mut batch = Batch::default();
    for i in 0..n {
        batch.push(format!("<13>1 - h app - - - record {i}").as_bytes());
    }
    batch
}

/// Sends 10 records with a window of 2 to a collector that acknowledges 4 then turns hostile;
/// returns the error.
fn error_from(hostile: fn(u32) -> Vec<u8>) -> siem_ship::SinkError {
    let (port, connections) = hostile_collector(4, hostile);
    let config = SyslogConfig::relp("127.0.0.1")
        .port(port)
        .relp_window(2)
        .write_timeout(Duration::from_secs(2));
    let mut sink = SyslogSink::new(config).unwrap();
    let e = sink.send(&batch(10)).expect_err("a hostile collector");
    assert!(e.is_retryable(), "{e}");
    assert_eq!(
        e.failed_records(),
        Some(&[4usize, 5, 6, 7, 8, 9][..]),
        "exactly the records not acknowledged: {e}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "the records not acknowledged were sent again once on a new connection"
    );
    e
}

#[test]
fn garbage_is_an_error() {
    let e = error_from(|_| b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec());
    assert!(e.message().contains("invalid RELP frame"), "{e}");
}

#[test]
fn an_oversized_frame_is_an_error() {
    let e = error_from(|txnr| format!("{txnr} rsp 999999999 ").into_bytes());
    assert!(e.message().contains("announces 999999999 bytes"), "{e}");
}

#[test]
fn an_answer_to_the_wrong_transaction_is_an_error() {
    let e = error_from(|txnr| format!("{} rsp 6 200 OK\n", txnr + 1).into_bytes());
    assert!(e.message().contains("where"), "{e}");
}

#[test]
fn a_refusal_is_an_error_with_the_collectors_words() {
    let e = error_from(|txnr| format!("{txnr} rsp 20 500 command disabled\n").into_bytes());
    assert!(e.message().contains("500 command disabled"), "{e}");
}

#[test]
fn serverclose_ends_the_session() {
    let e = error_from(|_| b"0 serverclose 0\n".to_vec());
    assert!(e.message().contains("serverclose"), "{e}");
}

#[test]
fn silence_is_a_timeout_reported_at_once() {
    let (port, connections) = hostile_collector(4, |_| Vec::new());
    let config = SyslogConfig::relp("127.0.0.1")
        .port(port)
        .relp_window(2)
        .write_timeout(Duration::from_millis(300));
    let mut sink = SyslogSink::new(config).unwrap();
    let e = sink.send(&batch(10)).expect_err("a silent collector");
    assert!(e.message().contains("did not answer within 300ms"), "{e}");
    assert_eq!(
        e.failed_records(),
        Some(&[4usize, 5, 6, 7, 8, 9][..]),
        "{e}"
    );
    // A stalled collector is reported (within write_timeout), not replaced at once.
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[test]
fn records_not_acknowledged_when_the_connection_drops_go_out_again_on_a_new_session() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Per connection: the records (their text) it received and acknowledged.
    let (tx, rx) = std::sync::mpsc::channel::<Vec<String>>();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().flatten().enumerate() {
            let mut out = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let Some((1, _, _)) = read_frame(&mut reader) else {
                continue;
            };
            let offer = "200 OK\nrelp_version=0\nrelp_software=test\ncommands=syslog";
            let _ = writeln!(out, "1 rsp {} {offer}", offer.len());
            let mut acked = Vec::new();
            while let Some((txnr, command, record)) = read_frame(&mut reader) {
                if command == "close" {
                    let _ = writeln!(out, "{txnr} rsp 0");
                    break;
                }
                // The first connection takes 4 records, then the collector "crashes".
                if n == 0 && acked.len() == 4 {
                    break;
                }
                let _ = writeln!(out, "{txnr} rsp 6 200 OK");
                acked.push(record);
            }
            let _ = tx.send(acked);
        }
    });
    let config = SyslogConfig::relp("127.0.0.1").port(port).relp_window(3);
    let mut sink = SyslogSink::new(config).unwrap();
    sink.send(&batch(10))
        .expect("delivered on the second session");
    sink.close().unwrap();
    let first = rx.recv().unwrap();
    let second = rx.recv().unwrap();
    let text = |range: std::ops::Range<usize>| -> Vec<String> {
        range
            .map(|i| format!("<13>1 - h app - - - record {i}"))
            .collect()
    };
    assert_eq!(first, text(0..4));
    assert_eq!(
        second,
        text(4..10),
        "exactly the unacknowledged records, in order"
    );
}
