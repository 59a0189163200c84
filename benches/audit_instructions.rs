//! Instructions per call of a function audited by `#[security_audit]` versus the same function
//! with the event written by hand (the same fields, level, message and clock reads), for
//! callgrind, whose counts do not depend on the machine's load (issue 14: "the macro costs no
//! more than the hand-written `warn!`"):
//!
//! ```text
//! cargo build --release --bench audit_instructions
//! for which in macro hand; do
//!   valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/cg.$which \
//!     target/release/deps/audit_instructions-* $which
//! done
//! grep summary /tmp/cg.*-01      # thread 01: the application thread
//! ```
//!
//! Each run logs 20 000 failing logins through the layer into a discarding destination.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tracing_siem::{Batch, DestinationConfig, SiemLayer, Sink, SinkError};
use tracing_subscriber::prelude::*;

/// A destination that accepts every batch and keeps nothing.
struct Discard;

impl Sink for Discard {
    fn kind(&self) -> &'static str {
        "discard"
    }
    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        std::hint::black_box(batch.records().count());
        Ok(())
    }
}

struct LoginError;

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad password")
    }
}

#[inline(never)]
#[tracing_siem::security_audit(event_type = "authentication", action = "login", fields(source_ip = %ip))]
fn login_audited(user: &str, ip: IpAddr) -> Result<(), LoginError> {
    std::hint::black_box((user, ip));
    Err(LoginError)
}

#[inline(never)]
fn login_by_hand(user: &str, ip: IpAddr) -> Result<(), LoginError> {
    let start = Instant::now();
    std::hint::black_box((user, ip));
    let returned = Err(LoginError);
    if let Err(reason) = &returned {
        tracing::warn!(
            outcome = "failure",
            reason = %reason,
            event_type = "authentication",
            action = "login",
            duration_ms = start.elapsed().as_secs_f64() * 1000.0,
            function = "login_audited",
            source_ip = %ip,
            user = %user,
            "login failed"
        );
    }
    returned
}

fn main() {
    // `cargo bench` passes `--bench`; only a run under callgrind names a variant.
    let Some(which) = std::env::args()
        .nth(1)
        .filter(|a| a == "macro" || a == "hand")
    else {
        return;
    };
    let (layer, guard) = SiemLayer::builder()
        .app("audit-instructions")
        .host("bench")
        .without_default_rules()
        .queue_capacity(100_000)
        .destination_with_sink(
            DestinationConfig::stdout().name("discard"),
            Box::new(Discard),
        )
        .build()
        .unwrap();
    let ip: IpAddr = "203.0.113.7".parse().unwrap();
    let handle = guard.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for _ in 0..20 {
            for _ in 0..1000 {
                let _ = if which == "macro" {
                    login_audited("alice", ip)
                } else {
                    login_by_hand("alice", ip)
                };
            }
            handle.flush(Duration::from_secs(10));
        }
    });
    guard.shutdown(Duration::from_secs(5));
}
