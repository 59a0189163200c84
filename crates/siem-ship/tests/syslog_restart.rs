//! A collector restart in the middle of a stream, over TCP and TLS, with a real rsyslog:
//! everything handed to the sink arrives; only what was still in the resend window when the
//! break was seen arrives twice.

mod syslog_support;

use std::thread::sleep;
use std::time::Duration;

use siem_ship::sink::syslog::{ResendConfig, SyslogConfig, SyslogSink};
use siem_ship::{Batch, DropReason, Sink};
use syslog_support::{
    assert_each_at_least_once, numbered, rfc5424, ship_numbered, Input, Pace, Rsyslog,
};

fn batch(range: std::ops::Range<usize>) -> (Batch, Vec<String>) {
    let messages: Vec<String> = range
        .map(|i| rfc5424(i, &format!(r#"[siem@32473 seq="{i}"]"#), "stream"))
        .collect();
    let mut batch = Batch::default();
    for m in &messages {
        batch.push(m.as_bytes());
    }
    (batch, messages)
}

/// Sends `batch` the way the route does: retrying retryable errors until it is delivered.
/// `on_failure` runs after the first failure (here: bringing the collector back).
fn send_until_delivered(
    sink: &mut SyslogSink,
    batch: &Batch,
    mut on_failure: impl FnMut(),
) -> usize {
    let mut failures = 0;
    loop {
        match sink.send(batch) {
            Ok(()) => return failures,
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                failures += 1;
                assert!(failures < 600, "still failing after {failures} tries: {e}");
                if failures == 1 {
                    on_failure();
                }
                sleep(Duration::from_millis(20));
            }
        }
    }
}

fn restart_in_the_middle(mut rsyslog: Rsyslog, config: SyslogConfig) {
    let mut sink = SyslogSink::new(config).unwrap();
    let (first, mut expected) = batch(0..200);
    sink.send(&first).unwrap();
    // The collector has read the first batch, then stops (as on a service restart).
    assert_eq!(rsyslog.messages(200).len(), 200);
    rsyslog.stop();

    // The sink has not written since; the next batch must notice the closed connection
    // instead of writing into it and losing the batch.
    let (second, messages) = batch(200..400);
    expected.extend(messages);
    let failures = send_until_delivered(&mut sink, &second, || rsyslog.start_again());
    assert!(
        failures >= 1,
        "the collector was down: the first attempt must fail"
    );

    let (third, messages) = batch(400..600);
    expected.extend(messages);
    sink.send(&third).unwrap();
    sink.close().unwrap();
    assert_eq!(
        sink.take_unconfirmed(),
        0,
        "everything was resent or confirmed"
    );
    let twice = assert_each_at_least_once(&rsyslog.messages(800), &expected);
    // The first batch was written within the resend window before the restart: it is sent
    // again, since the sink cannot know that the collector had read it.
    assert!(
        twice.iter().all(|m| expected[..200].contains(m)),
        "only the first batch may come twice: {:?}",
        twice.first()
    );
}

#[test]
fn tcp_collector_restart_loses_nothing_after_the_failure_is_seen() {
    let Some(rsyslog) = Rsyslog::start(syslog_support::Input::Tcp) else {
        return;
    };
    let config = SyslogConfig::tcp("127.0.0.1").port(rsyslog.port());
    restart_in_the_middle(rsyslog, config);
}

#[cfg(feature = "tls")]
#[test]
fn tls_collector_restart_loses_nothing_after_the_failure_is_seen() {
    let pki = syslog_support::Pki::generate();
    let Some(rsyslog) = Rsyslog::start(pki.input(false)) else {
        return;
    };
    let config = SyslogConfig::tls("localhost")
        .port(rsyslog.port())
        .ca_file(&pki.ca);
    restart_in_the_middle(rsyslog, config);
}

/// How the collector goes away in the middle of the stream.
#[derive(Clone, Copy, Debug)]
enum Restart {
    /// SIGTERM, as a service manager stops it: rsyslog closes its sockets, accepting bytes for
    /// a few milliseconds more without reading them.
    Stop,
    /// SIGKILL: the kernel resets the connections and discards what was unread.
    Kill,
}

/// Ships 6 000 numbered events through a pipeline over plain stream syslog while rsyslog is
/// stopped or killed and started again on the same port: every event arrives at least once
/// and counts as shipped, none as dropped.
fn restarted_mid_stream(mut rsyslog: Rsyslog, config: SyslogConfig, how: Restart) {
    let total = 6_000usize;
    let sink = SyslogSink::new(config).unwrap();
    let d = ship_numbered(Box::new(sink), total, Pace::Paced, |i| {
        if i == 2_000 {
            match how {
                Restart::Stop => rsyslog.stop(),
                Restart::Kill => rsyslog.kill(),
            }
        }
        if i == 2_500 {
            rsyslog.start_again();
        }
    });
    assert_eq!(d.shipped, total as u64, "{how:?}: {d}");
    assert_eq!(d.dropped_total(), 0, "{how:?}: {d}");
    let expected: Vec<String> = (0..total).map(numbered).collect();
    assert_each_at_least_once(&rsyslog.messages(total), &expected);
}

#[test]
fn tcp_collector_stopped_mid_stream_loses_nothing() {
    let Some(rsyslog) = Rsyslog::start(Input::TcpDirect) else {
        return;
    };
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(rsyslog.port())
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    restarted_mid_stream(rsyslog, config, Restart::Stop);
}

#[test]
fn tcp_collector_killed_mid_stream_loses_nothing() {
    let Some(rsyslog) = Rsyslog::start(Input::TcpDirect) else {
        return;
    };
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(rsyslog.port())
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    restarted_mid_stream(rsyslog, config, Restart::Kill);
}

#[test]
fn what_the_resend_window_cannot_hold_counts_as_unconfirmed_not_shipped() {
    let Some(mut rsyslog) = Rsyslog::start(Input::TcpDirect) else {
        return;
    };
    // A window that keeps nothing: every record written within `interval` before the break is
    // at risk, and must be reported so.
    let config = SyslogConfig::tcp("127.0.0.1")
        .port(rsyslog.port())
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .resend(ResendConfig::default().max_size(0));
    let total = 6_000usize;
    let sink = SyslogSink::new(config).unwrap();
    let d = ship_numbered(Box::new(sink), total, Pace::Paced, |i| {
        if i == 2_000 {
            rsyslog.kill();
        }
        if i == 2_500 {
            rsyslog.start_again();
        }
    });
    let unconfirmed = d
        .dropped
        .iter()
        .find(|(reason, _)| *reason == DropReason::Unconfirmed)
        .map_or(0, |(_, n)| *n);
    assert!(unconfirmed > 0, "{d}");
    assert_eq!(d.dropped_total(), unconfirmed, "{d}");
    assert_eq!(d.in_flight(), 0, "{d}");
    let received: std::collections::HashSet<String> = rsyslog
        .messages(total - unconfirmed as usize)
        .into_iter()
        .collect();
    let missing = (0..total)
        .filter(|&i| !received.contains(&numbered(i)))
        .count() as u64;
    assert!(
        missing <= unconfirmed,
        "{missing} events missing, only {unconfirmed} reported unconfirmed: {d}"
    );
}
