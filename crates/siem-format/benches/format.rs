//! G5 and G6 of the performance targets, each against its baseline in the same run:
//!
//! - `g5_format/*`: one ~300-byte security record per iteration into a reused buffer, output
//!   discarded. Baseline: `serde_json::to_writer` of an equivalent `#[derive(Serialize)]` struct
//!   (built once, timestamp and id already text, so the baseline does less work than we do).
//! - `g6_timestamp/*`: RFC 3339 with microseconds into a reused buffer — `siem_event`'s
//!   formatter, and the cached-second one the encoders use — vs chrono's `to_rfc3339()`.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-format cargo bench -p siem-format --bench format --
//! --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Serialize;
use siem_event::{EventType, Outcome, SecurityEvent, Severity, Timestamp};
use siem_format::{build_encoder, Format, FormatOptions};

fn sample() -> SecurityEvent {
    let mut e = SecurityEvent::new(
        EventType::parse("authentication_failure"),
        "Failed login attempt",
    );
    e.timestamp = Timestamp::from_unix_nanos(1_718_880_000_123_456_789);
    e.severity = Severity::High;
    e.outcome = Outcome::Failure;
    e.action = Some("login".into());
    e.tenant_id = Some("tenant-123".into());
    e.actor.user = Some("alice".into());
    e.actor.source_ip = Some("203.0.113.7".into());
    e.target.resource = Some("/api/v1/login".into());
    e.target.method = Some("POST".into());
    e.host = Arc::from("web01.example.com");
    e.app = Arc::from("shop-api");
    e.labels = Arc::from(vec![(
        "constitutional_hash".to_owned(),
        "cdd01ef066bc6cf2".to_owned(),
    )]);
    e.push_metadata("attempts", 3i64);
    e.push_metadata("auth_method", "password");
    e
}

#[derive(Serialize)]
#[serde(untagged)]
enum MetaValue {
    Str(String),
    I64(i64),
}

#[derive(Serialize)]
struct Actor {
    username: String,
    ip_address: String,
}

#[derive(Serialize)]
struct Target {
    resource_id: String,
    method: String,
}

#[derive(Serialize)]
struct OutcomeBlock {
    result: &'static str,
    success: bool,
}

#[derive(Serialize)]
struct Compliance {
    soc2_cc: Vec<&'static str>,
    iso27001: Vec<&'static str>,
}

#[derive(Serialize)]
struct Siem {
    vendor: String,
    product: String,
    version: String,
    hostname: String,
    app: String,
}

/// The canonical JSON shape as a derived struct.
#[derive(Serialize)]
struct Baseline {
    id: String,
    timestamp: String,
    event_type: String,
    event_type_original: String,
    category: String,
    severity: &'static str,
    message: String,
    tenant_id: String,
    action: String,
    actor: Actor,
    target: Target,
    outcome: OutcomeBlock,
    metadata: BTreeMap<String, MetaValue>,
    compliance: Compliance,
    constitutional_hash: String,
    _siem: Siem,
}

fn baseline(e: &SecurityEvent) -> Baseline {
    Baseline {
        id: e.id.to_string(),
        timestamp: e.timestamp.to_rfc3339(),
        event_type: e.event_type.as_str().into(),
        event_type_original: e.event_type.original().into(),
        category: e.event_type.category().into(),
        severity: e.severity.as_str(),
        message: e.message.clone(),
        tenant_id: e.tenant_id.clone().unwrap(),
        action: e.action.clone().unwrap(),
        actor: Actor {
            username: e.actor.user.clone().unwrap(),
            ip_address: e.actor.source_ip.clone().unwrap(),
        },
        target: Target {
            resource_id: e.target.resource.clone().unwrap(),
            method: e.target.method.clone().unwrap(),
        },
        outcome: OutcomeBlock {
            result: "failure",
            success: false,
        },
        metadata: BTreeMap::from([
            ("attempts".to_owned(), MetaValue::I64(3)),
            (
                "auth_method".to_owned(),
                MetaValue::Str("password".to_owned()),
            ),
        ]),
        compliance: Compliance {
            soc2_cc: e.compliance.soc2.to_vec(),
            iso27001: e.compliance.iso27001.to_vec(),
        },
        constitutional_hash: e.labels[0].1.clone(),
        _siem: Siem {
            vendor: "tracing-siem".into(),
            product: "tracing-siem".into(),
            version: "0.1.0".into(),
            hostname: e.host.to_string(),
            app: e.app.to_string(),
        },
    }
}

fn g5_format(c: &mut Criterion) {
    let event = sample();
    let mut group = c.benchmark_group("g5_format");
    group.throughput(Throughput::Elements(1));
    let base = baseline(&event);
    let mut out = Vec::with_capacity(4096);
    group.bench_function("serde_json_derive_baseline", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&base)).unwrap();
            black_box(out.len())
        })
    });
    for format in Format::ALL {
        let encoder = build_encoder(format, &FormatOptions::default()).unwrap();
        group.bench_function(format.name(), |b| {
            b.iter(|| {
                out.clear();
                encoder.encode(black_box(&event), &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn g6_timestamp(c: &mut Criterion) {
    let mut group = c.benchmark_group("g6_timestamp");
    let t = Timestamp::from_unix_nanos(1_718_880_000_123_456_789);
    let dt = chrono::DateTime::from_timestamp_nanos(t.unix_nanos());
    let mut out = Vec::with_capacity(64);
    group.bench_function("siem_event_write_rfc3339_micros", |b| {
        b.iter(|| {
            out.clear();
            black_box(t).write_rfc3339_micros(&mut out);
            black_box(out.len())
        })
    });
    group.bench_function("siem_format_cached_second_rfc3339_micros", |b| {
        b.iter(|| {
            out.clear();
            siem_format::time_cache::write_rfc3339_micros(black_box(t), &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("chrono_to_rfc3339_baseline", |b| {
        b.iter(|| black_box(black_box(dt).to_rfc3339()))
    });
    group.finish();
}

criterion_group!(benches, g5_format, g6_timestamp);
criterion_main!(benches);
