//! Timestamp text with the whole-second part cached per thread, as every encoder writes it.
//!
//! Events arrive many per second, so the calendar arithmetic for `2024-06-20T10:40:00` is done
//! once per second per thread; each event then only appends its fraction. The text is the same
//! as [`siem_event::Timestamp`]'s own writers produce (tested against them).
//!
//! ```
//! use siem_event::Timestamp;
//! let t = Timestamp::from_unix_nanos(1_718_880_000_123_456_789);
//! let mut out = Vec::new();
//! siem_format::time_cache::write_rfc3339_micros(t, &mut out);
//! assert_eq!(out, b"2024-06-20T10:40:00.123456Z");
//! ```

use std::cell::Cell;

use siem_event::Timestamp;

/// The text of one whole second in one layout.
#[derive(Clone, Copy)]
struct Second {
    secs: i64,
    len: u8,
    text: [u8; 24],
}

const EMPTY: Second = Second {
    secs: i64::MIN,
    len: 0,
    text: [0; 24],
};

thread_local! {
    static RFC3339: Cell<Second> = const { Cell::new(EMPTY) };
    static JAVA: Cell<Second> = const { Cell::new(EMPTY) };
    static RFC3164: Cell<Second> = const { Cell::new(EMPTY) };
}

/// Appends the cached text of `t`'s second, filling the cache with `write` on a miss. `write`
/// must depend only on the whole second and write at most 24 bytes to be cached.
fn second(
    cache: &'static std::thread::LocalKey<Cell<Second>>,
    t: Timestamp,
    out: &mut Vec<u8>,
    write: impl FnOnce(Timestamp, &mut Vec<u8>),
) {
    let secs = t.unix_secs();
    let hit = cache.with(|c| {
        let s = c.get();
        if s.secs == secs {
            // A fixed-size copy (no call to memcpy), then cut to the text's length.
            let start = out.len();
            out.extend_from_slice(&s.text);
            out.truncate(start + usize::from(s.len));
            true
        } else {
            false
        }
    });
    if hit {
        return;
    }
    let start = out.len();
    write(Timestamp::from_unix_secs(secs), out);
    let written = &out[start..];
    if written.len() <= 24 {
        let mut text = [0u8; 24];
        text[..written.len()].copy_from_slice(written);
        cache.with(|c| {
            c.set(Second {
                secs,
                len: written.len() as u8,
                text,
            })
        });
    }
}

/// "00" to "99".
static PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as [`Timestamp::write_rfc3339_micros`].
///
/// ```
/// let mut out = Vec::new();
/// siem_format::time_cache::write_rfc3339_micros(siem_event::Timestamp::from_unix_secs(0), &mut out);
/// assert_eq!(out, b"1970-01-01T00:00:00.000000Z");
/// ```
pub fn write_rfc3339_micros(t: Timestamp, out: &mut Vec<u8>) {
    second(&RFC3339, t, out, |s, out| {
        s.write_rfc3339(out, 0);
        out.pop(); // the 'Z'
    });
    let micros = (t.subsec_nanos() / 1000) as usize;
    let [a, b] = PAIRS[micros / 10_000];
    let [c, d] = PAIRS[micros / 100 % 100];
    let [e, f] = PAIRS[micros % 100];
    out.extend_from_slice(&[b'.', a, b, c, d, e, f, b'Z']);
}

/// Appends `Mmm dd yyyy HH:mm:ss.SSS`, as [`Timestamp::write_java_date_millis`].
///
/// ```
/// let mut out = Vec::new();
/// siem_format::time_cache::write_java_date_millis(siem_event::Timestamp::from_unix_millis(1_718_880_000_123), &mut out);
/// assert_eq!(out, b"Jun 20 2024 10:40:00.123");
/// ```
pub fn write_java_date_millis(t: Timestamp, out: &mut Vec<u8>) {
    second(&JAVA, t, out, |s, out| {
        s.write_java_date_millis(out);
        out.truncate(out.len() - 4); // the ".000"
    });
    let millis = (t.subsec_nanos() / 1_000_000) as usize;
    let [a, b] = PAIRS[millis / 10];
    out.extend_from_slice(&[b'.', a, b, b'0' + (millis % 10) as u8]);
}

/// Appends `Mmm dd hh:mm:ss`, as [`Timestamp::write_rfc3164`].
///
/// ```
/// let mut out = Vec::new();
/// siem_format::time_cache::write_rfc3164(siem_event::Timestamp::from_unix_secs(1_704_412_800), &mut out);
/// assert_eq!(out, b"Jan  5 00:00:00");
/// ```
pub fn write_rfc3164(t: Timestamp, out: &mut Vec<u8>) {
    second(&RFC3164, t, out, Timestamp::write_rfc3164);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(t: Timestamp) {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..2 {
            ours.clear();
            theirs.clear();
            write_rfc3339_micros(t, &mut ours);
            t.write_rfc3339_micros(&mut theirs);
            assert_eq!(ours, theirs);
            ours.clear();
            theirs.clear();
            write_java_date_millis(t, &mut ours);
            t.write_java_date_millis(&mut theirs);
            assert_eq!(ours, theirs);
            ours.clear();
            theirs.clear();
            write_rfc3164(t, &mut ours);
            t.write_rfc3164(&mut theirs);
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn matches_the_uncached_writers() {
        for nanos in [
            0,
            -1,
            1_718_880_000_123_456_789,
            1_718_880_000_999_999_999,
            1_718_880_001_000_000_000,
            i64::MIN,
            i64::MAX,
        ] {
            same(Timestamp::from_unix_nanos(nanos));
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_for_any_instant(nanos in proptest::prelude::any::<i64>(), step in 0i64..3_000_000_000) {
            same(Timestamp::from_unix_nanos(nanos));
            same(Timestamp::from_unix_nanos(nanos.saturating_add(step)));
        }
    }
}
