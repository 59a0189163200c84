//! Skipped tests that show in the default `cargo test` output.
//!
//! A test that returns early because a peer (rsyslog) or a privilege is missing passes, and
//! libtest hides what a passing test prints, so a green run on a bare machine would look like a
//! full one. Each skip is therefore recorded here, and when the test binary exits, after
//! libtest's `test result:` line, one line per reason is written to standard error:
//!
//! ```text
//! test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s
//!
//! SKIPPED (rsyslogd not found): 5 of these tests checked nothing: tcp_delivers…, …
//! ```
//!
//! libtest captures only what the `print!` family writes on a test's thread; the exit handler
//! runs on the main thread after libtest is done, where nothing is captured. Skips for a missing
//! peer fail the test instead when `SIEM_REQUIRE_PEERS=1` (CI machines with rsyslog installed).

// Each test binary uses the part it needs.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Mutex, Once, PoisonError};

/// Reasons and the names of the tests skipped for them, in order.
static SKIPPED: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());
static REPORT_AT_EXIT: Once = Once::new();

/// Skips the calling test because the peer program it needs is missing: records the skip
/// (`reason` is the short form shown in the summary, e.g. `rsyslogd not found`), or panics when
/// `SIEM_REQUIRE_PEERS=1`. Returns `None` so that callers can `return skips::peer_missing(…)`.
pub fn peer_missing<T>(reason: &'static str, detail: &str) -> Option<T> {
    if std::env::var("SIEM_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("SIEM_REQUIRE_PEERS=1 but {reason}: {detail}");
    }
    skip(reason, detail);
    None
}

/// Records that the calling test checks nothing on this machine, for `reason`.
pub fn skip(reason: &'static str, detail: &str) {
    // Shown with `--nocapture`, next to the test's other output.
    eprintln!("SKIPPED ({reason}): {detail}");
    // libtest runs each test on a thread named after it.
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned();
    SKIPPED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((reason, test));
    REPORT_AT_EXIT.call_once(|| {
        // SAFETY: registers a function without arguments that never unwinds (it ignores every
        // error), as `atexit` requires. Failure (no room for handlers) only loses the summary.
        unsafe {
            libc::atexit(report);
        }
    });
}

/// Writes the summary of skips to standard error; run by `exit` after libtest's summary.
extern "C" fn report() {
    let skipped = SKIPPED.lock().unwrap_or_else(PoisonError::into_inner);
    let mut reasons: Vec<&'static str> = skipped.iter().map(|(reason, _)| *reason).collect();
    reasons.sort_unstable();
    reasons.dedup();
    let mut text = String::new();
    for reason in reasons {
        let mut tests: Vec<&str> = skipped
            .iter()
            .filter(|(r, _)| *r == reason)
            .map(|(_, test)| test.as_str())
            .collect();
        tests.sort_unstable();
        text.push_str(&format!(
            "SKIPPED ({reason}): {} of these tests checked nothing: {}\n",
            tests.len(),
            tests.join(", ")
        ));
    }
    // Nothing can be done about a closed standard error this late.
    let _ = std::io::stderr().write_all(text.as_bytes());
}
