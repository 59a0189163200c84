//! `siem report` end to end: services write events through the layer (default rules on, so
//! real alerts and NIS2 incidents) to file destinations; the lines are moved to fixed times,
//! keeping each line's own offsets (an alert's NIS2 deadlines move with it), so that the
//! figures per day, the deadlines met or missed and the gaps are known exactly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use tracing_siem::event::Timestamp;
use tracing_siem::{DestinationConfig, FileConfig, Format, SiemLayer};
use tracing_subscriber::prelude::*;

/// Runs one service process writing to `path`: the layer with its default rules, `emit` logging.
fn run_service(path: &Path, host: &str, app: &str, emit: impl FnOnce()) {
    let (layer, guard) = SiemLayer::builder()
        .app(app)
        .host(host)
        .destination(DestinationConfig::new(FileConfig::new(path)).format(Format::Json))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
    assert!(guard.shutdown(Duration::from_secs(10)).completed);
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// Moves line `i` of the file to `start + i` minutes, and every NIS2 deadline of an alert by
/// as much as its line moved.
fn retime(path: &Path, start: &str) -> Vec<Value> {
    let start = time(start);
    let events: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut event: Value = serde_json::from_str(line).unwrap();
            let old = time(event["timestamp"].as_str().unwrap());
            let new = start.add_nanos(i as i64 * 60_000_000_000);
            let shift = new.unix_nanos() - old.unix_nanos();
            event["timestamp"] = new.to_rfc3339().into();
            if let Some(metadata) = event["metadata"].as_object_mut() {
                for (name, value) in metadata.iter_mut() {
                    if name.starts_with("nis2_") {
                        let moved = time(value.as_str().unwrap()).add_nanos(shift);
                        *value = moved.to_rfc3339().into();
                    }
                }
            }
            event
        })
        .collect();
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(path, text).unwrap();
    events
}

/// Compresses `path` into `path.gz`, in two gzip members as rotation may leave them.
fn gzip(path: &Path) -> PathBuf {
    let text = std::fs::read(path).unwrap();
    let (first, second) = text.split_at(text.len() / 2);
    let mut compressed = Vec::new();
    for part in [first, second] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, part).unwrap();
        compressed.extend(gz.finish().unwrap());
    }
    let gz = path.with_extension("jsonl.gz");
    std::fs::write(&gz, compressed).unwrap();
    std::fs::remove_file(path).unwrap();
    gz
}

/// The id of the alert event of `rule` among `events`.
fn alert_id(events: &[Value], rule: &str) -> String {
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["metadata"]["rule"] == rule)
        .collect();
    assert_eq!(alerts.len(), 1, "one {rule} alert in {events:?}");
    alerts[0]["id"].as_str().unwrap().to_owned()
}

fn notify(incident: &str) {
    tracing::info!(
        event_type = "incident.notified",
        incident_id = %incident,
        "NIS2 early warning sent to the CSIRT"
    );
}

fn hash_mismatch() {
    tracing::error!(
        event_type = "constitutional_hash_mismatch",
        "constitutional hash mismatch"
    );
}

/// Four runs of the `shop` service on web-1 and one of `store` on db-1 (its file compressed),
/// over three days.
fn service_files(dir: &Path) -> Vec<PathBuf> {
    let run1 = dir.join("run1.jsonl");
    run_service(&run1, "web-1", "shop", || {
        for _ in 0..10 {
            tracing::warn!(event_type = "auth.failure", user = "alice", "Failed login");
        }
        for _ in 0..5 {
            tracing::warn!(event_type = "authz.access_denied", "Access denied");
        }
        hash_mismatch();
        for _ in 0..2 {
            tracing::info!(event_type = "config.changed", "Configuration changed");
        }
    });
    let run1 = retime(&run1, "2025-03-03T08:00:00Z");
    let incident_a = alert_id(&run1, "constitutional_hash_mismatch");

    let store = dir.join("store.jsonl");
    run_service(&store, "db-1", "store", || {
        for _ in 0..2 {
            tracing::info!(event_type = "config.encryption_key_rotated", "Key rotated");
        }
    });
    retime(&store, "2025-03-03T08:30:00Z");
    let store = gzip(&store);

    let run2 = dir.join("run2.jsonl");
    run_service(&run2, "web-1", "shop", || notify(&incident_a));
    retime(&run2, "2025-03-03T12:00:00Z");

    let run3 = dir.join("run3.jsonl");
    run_service(&run3, "web-1", "shop", || {
        tracing::warn!(event_type = "auth.failure", user = "bob", "Failed login");
        hash_mismatch();
    });
    let run3 = retime(&run3, "2025-03-04T09:00:00Z");
    let incident_b = alert_id(&run3, "constitutional_hash_mismatch");

    let run4 = dir.join("run4.jsonl");
    run_service(&run4, "web-1", "shop", || {
        notify(&incident_b);
        notify("no-such-incident");
        hash_mismatch();
    });
    retime(&run4, "2025-03-05T10:00:00Z");
    vec![
        dir.join("run1.jsonl"),
        store,
        run2,
        dir.join("run3.jsonl"),
        run4,
    ]
}

/// `siem report FILE… ARGS…`, run in the files' directory and given their names, as a user
/// in the log directory would.
fn report(files: &[PathBuf], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siem"))
        .current_dir(files[0].parent().unwrap())
        .arg("report")
        .args(files.iter().map(|f| f.file_name().unwrap()))
        .args(args)
        .output()
        .unwrap()
}

fn json_report(files: &[PathBuf], args: &[&str]) -> Value {
    let out = report(files, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `[{key: name, "events": n}…]` as `[(name, n)…]`.
fn rows<'a>(rows: &'a Value, key: &str) -> Vec<(&'a str, u64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| (row[key].as_str().unwrap(), row["events"].as_u64().unwrap()))
        .collect()
}

#[test]
fn figures_per_control_obligation_day_alert_incident_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let files = service_files(dir.path());
    let r = json_report(&files, &[]);

    // run1: 10 + 5 + 1 + 2 events and 3 alerts (authentication_failure at the 10th failure,
    // authorization_failure at the 5th denial, constitutional_hash_mismatch at once) = 21;
    // store: 2; run2: 1; run3: 2 + 1 alert; run4: 3 + 1 alert.
    assert_eq!(r["period"]["from"], "2025-03-03T08:00:00.000000Z");
    assert_eq!(r["period"]["to"], "2025-03-05T10:03:00.000000Z");
    assert_eq!(r["period"]["gap_seconds"], 3600);
    assert_eq!(
        r["input"]["files"],
        serde_json::json!([
            "run1.jsonl",
            "store.jsonl.gz",
            "run2.jsonl",
            "run3.jsonl",
            "run4.jsonl"
        ])
    );
    assert_eq!(r["input"]["lines"], 31);
    assert_eq!(r["input"]["malformed_lines"], 0);
    assert_eq!(r["events"]["total"], 31);
    assert_eq!(
        r["events"]["per_day"],
        serde_json::json!({"2025-03-03": 24, "2025-03-04": 3, "2025-03-05": 4})
    );

    // CC4 and A.12.4: every event. CC6 and A.9.4: auth, authz (15 + 1). CC7: config and key
    // rotations (4), integrity (3), alerts (5). A.16.1: integrity and alerts. incident.notified
    // is a category the library does not map (CC4 and A.12.4 only).
    assert_eq!(
        rows(&r["soc2"], "control"),
        [("CC4", 31), ("CC6", 16), ("CC7", 12)]
    );
    assert_eq!(
        rows(&r["iso27001"], "control"),
        [("A.12.4", 31), ("A.16.1", 8), ("A.9.4", 16)]
    );
    assert_eq!(
        r["soc2"][1]["per_day"],
        serde_json::json!({"2025-03-03": 15, "2025-03-04": 1})
    );

    // NIS2 (docs/compliance.md): (b) integrity, alerts and incident.* = 3 + 5 + 3; (e) config
    // and key rotations = 4; (f) every event; (h) key rotations; (i) auth and authz = 16;
    // (j) auth = 11; Art. 23: reportable alerts and incident.* = 3 + 3.
    assert_eq!(
        rows(&r["nis2"], "obligation"),
        [
            ("Art. 21(2)(b)", 11),
            ("Art. 21(2)(c)", 0),
            ("Art. 21(2)(e)", 4),
            ("Art. 21(2)(f)", 31),
            ("Art. 21(2)(h)", 2),
            ("Art. 21(2)(i)", 16),
            ("Art. 21(2)(j)", 11),
            ("Art. 23", 6),
        ]
    );

    let alerts = &r["alerts"];
    assert_eq!(alerts["total"], 5);
    assert_eq!(
        alerts["per_level"],
        serde_json::json!({"CRITICAL": 3, "NOTIFY": 1, "PAGE": 1})
    );
    let per_rule: Vec<(&str, u64)> = alerts["per_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["rule"].as_str().unwrap(),
                row["total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per_rule,
        [
            ("authentication_failure", 1),
            ("authorization_failure", 1),
            ("constitutional_hash_mismatch", 3),
        ]
    );

    let incidents = &r["incidents"];
    let outcomes: Vec<(&str, &str, Option<&str>)> = incidents["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["rule"].as_str().unwrap(),
                i["early_warning"].as_str().unwrap(),
                i["notified_at"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "constitutional_hash_mismatch",
                "met",
                Some("2025-03-03T12:00:00.000000Z")
            ),
            (
                "constitutional_hash_mismatch",
                "missed",
                Some("2025-03-05T10:00:00.000000Z")
            ),
            ("constitutional_hash_mismatch", "open", None),
        ]
    );
    let first = &incidents["list"][0];
    let detected = time(first["detected_at"].as_str().unwrap());
    let due = time(first["early_warning_due"].as_str().unwrap());
    assert_eq!(due.unix_secs() - detected.unix_secs(), 24 * 3600);
    assert_eq!(
        (&incidents["met"], &incidents["missed"], &incidents["open"]),
        (&1.into(), &1.into(), &1.into())
    );
    assert_eq!(incidents["unmatched_notifications"], 1);

    let sources = &r["sources"];
    let listed: Vec<(&str, &str, u64)> = sources["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["host"].as_str().unwrap(),
                s["app"].as_str().unwrap(),
                s["events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("db-1", "store", 2), ("web-1", "shop", 29)]);
    let gaps: Vec<(&str, &str, &str, u64)> = sources["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["host"].as_str().unwrap(),
                g["from"].as_str().unwrap(),
                g["to"].as_str().unwrap(),
                g["seconds"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            // db-1 stopped after its two events: silent to the period's end.
            (
                "db-1",
                "2025-03-03T08:31:00.000000Z",
                "2025-03-05T10:03:00.000000Z",
                178_320
            ),
            (
                "web-1",
                "2025-03-03T08:20:00.000000Z",
                "2025-03-03T12:00:00.000000Z",
                13_200
            ),
            (
                "web-1",
                "2025-03-03T12:00:00.000000Z",
                "2025-03-04T09:00:00.000000Z",
                75_600
            ),
            (
                "web-1",
                "2025-03-04T09:02:00.000000Z",
                "2025-03-05T10:00:00.000000Z",
                89_880
            ),
        ]
    );
}

#[test]
fn the_period_and_the_gap_threshold_are_options() {
    let dir = tempfile::tempdir().unwrap();
    let files = service_files(dir.path());
    let r = json_report(
        &files,
        &[
            "--from",
            "2025-03-04T00:00:00Z",
            "--to",
            "2025-03-05T10:01:00Z",
            "--gap",
            "2d",
        ],
    );
    assert_eq!(r["period"]["from"], "2025-03-04T00:00:00.000000Z");
    assert_eq!(r["period"]["gap_seconds"], 172_800);
    // Days 3 and 4 up to 10:01: run3 (3 lines) and the first two lines of run4.
    assert_eq!(r["events"]["total"], 5);
    assert_eq!(r["input"]["outside_period"], 26);
    // The notification of run4 names an incident of run3; the one of the 5th names none seen
    // in the period, and the incident of run4 at 10:02 is outside it.
    assert_eq!(r["incidents"]["list"][0]["early_warning"], "missed");
    assert_eq!(r["incidents"]["list"].as_array().unwrap().len(), 1);
    assert_eq!(r["incidents"]["unmatched_notifications"], 1);
    // No silence is longer than two days.
    assert_eq!(r["sources"]["gaps"], serde_json::json!([]));

    let out = report(
        &files,
        &[
            "--from",
            "2025-03-05T00:00:00Z",
            "--to",
            "2025-03-04T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = report(&files, &["--from", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = report(&[dir.path().join("missing.jsonl")], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn malformed_lines_are_counted_listed_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    run_service(&path, "web-1", "shop", || {
        for _ in 0..3 {
            tracing::warn!(event_type = "auth.failure", "Failed login");
        }
    });
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("<<not json>>\n");
    text.push_str("{\"timestamp\":\"yesterday\",\"event_type\":\"auth.failure\"}\n");
    text.push_str(&"x".repeat(2 << 20));
    text.push('\n');
    text.push_str("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"event_type\":\"auth.fai");
    std::fs::write(&path, text).unwrap();
    // A gzip rotation cut short: its first lines count, then reading stops.
    let original = std::fs::read(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &original[..original.len() / 8]).unwrap();
    let mut compressed = gz.finish().unwrap();
    compressed.truncate(compressed.len() - 12);
    let cut = dir.path().join("audit.jsonl.1.gz");
    std::fs::write(&cut, compressed).unwrap();

    let out = report(std::slice::from_ref(&path), &[]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["events"]["total"], 3);
    assert_eq!(r["input"]["lines"], 7);
    assert_eq!(r["input"]["malformed_lines"], 4);
    let listed: Vec<(u64, &str)> = r["input"]["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["line"].as_u64().unwrap(), m["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(listed[0].0, 4);
    assert!(listed[0].1.starts_with("expected value"), "{listed:?}");
    assert_eq!(listed[1].0, 5);
    assert!(listed[1].1.starts_with("timestamp: "), "{listed:?}");
    assert_eq!(listed[2], (6, "line longer than 1048576 bytes"));
    assert_eq!(listed[3].0, 7);

    let out = report(&[cut], &[]);
    assert_eq!(out.status.code(), Some(4));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["input"]["read_errors"].as_array().unwrap().len(), 1);
}

const HOSTILE: &str = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";

/// A report page of events whose host, app, rule, level and control are hostile.
fn hostile_page(dir: &Path) -> String {
    let path = dir.join("audit.jsonl");
    run_service(&path, HOSTILE, HOSTILE, || {
        for _ in 0..3 {
            tracing::warn!(event_type = "auth.failure", "Failed login");
        }
        hash_mismatch();
    });
    let events = retime(&path, "2025-03-03T08:00:00Z");
    // Rule names, levels and control ids are text of the files too: a file may have been
    // written by anything.
    let mut forged = events
        .into_iter()
        .find(|e| e["event_type"].as_str().unwrap().starts_with("alert."))
        .unwrap();
    forged["metadata"]["rule"] = HOSTILE.into();
    forged["metadata"]["alert_level"] = HOSTILE.into();
    forged["compliance"]["soc2_cc"] = serde_json::json!([HOSTILE]);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("{forged}\n"));
    std::fs::write(&path, text).unwrap();
    let html = dir.join("report.html");
    let out = report(
        &[path],
        &["--format", "html", "--output", html.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    std::fs::read_to_string(&html).unwrap()
}

#[test]
fn the_html_page_escapes_what_the_files_say_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let page = hostile_page(dir.path());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.to_lowercase().contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    // Host and app (sources), the rule (alerts, incidents), the level (alerts' column,
    // incidents), the control (chart's bar and legend, table).
    assert_eq!(page.matches(escaped).count(), 9, "{page}");
    assert!(only_svg_namespace(&page), "{page}");
    assert!(page.contains("<svg"), "a chart is drawn");
    assert!(page.contains("no notification recorded"));
}

/// The only URL on the page is the SVG namespace name (an identifier, never fetched).
fn only_svg_namespace(page: &str) -> bool {
    !page
        .replace("http://www.w3.org/2000/svg", "")
        .contains("://")
}

#[test]
fn the_html_page_renders_in_a_headless_browser() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        assert!(
            std::env::var("SIEM_REQUIRE_PEERS").as_deref() != Ok("1"),
            "SIEM_REQUIRE_PEERS=1 but /usr/bin/chromium is not installed"
        );
        println!("SKIPPED (chromium not installed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = service_files(dir.path());
    let html = dir.path().join("report.html");
    let out = report(
        &files,
        &["--format", "html", "--output", html.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    // A blank 1200×1600 page compresses to a few kilobytes; text, tables and charts do not.
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
    if let Some(keep) = std::env::var_os("SIEM_REPORT_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
