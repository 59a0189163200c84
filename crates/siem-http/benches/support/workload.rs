//! The workload the delivery benches share: G12's 1 000 failed logins, and a loopback TCP peer
//! that discards what it reads (the baseline destination). Included by `http_vs_tcp` and by
//! `siem-stream`'s `stream_vs_tcp` with `#[path]`.

use std::io::Read;
use std::net::TcpListener;

use siem_event::{EventType, Outcome, SecurityEvent, Severity};

/// Events per batch.
pub const EVENTS: usize = 1000;

/// `EVENTS` failed logins with a user, source IP, resource and tenant each.
pub fn sample_events() -> Vec<SecurityEvent> {
    (0..EVENTS)
        .map(|i| {
            let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
            e.severity = Severity::High;
            e.outcome = Outcome::Failure;
            e.actor.user = Some(format!("user{}", i % 97));
            e.actor.source_ip = Some(format!("10.0.{}.{}", i / 256 % 256, i % 256));
            e.target.resource = Some("/api/login".into());
            e.tenant_id = Some("tenant-a".into());
            e
        })
        .collect()
}

/// A loopback TCP peer that reads and discards everything; its port.
pub fn tcp_blackhole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}
