use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant with nanosecond precision, as nanoseconds since the Unix epoch.
///
/// Formatting writes straight into a byte buffer without allocating; it is the hot spot of every
/// text encoder, so it does its own calendar arithmetic rather than going through a date library.
///
/// ```
/// use siem_event::Timestamp;
/// let t = Timestamp::from_unix_millis(1_704_110_400_000);
/// let mut out = Vec::new();
/// t.write_rfc3339_micros(&mut out);
/// assert_eq!(out, b"2024-01-01T12:00:00.000000Z");
/// assert_eq!(Timestamp::parse_rfc3339("2024-01-01T12:00:00Z").unwrap(), t);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const NANOS_PER_SEC: i64 = 1_000_000_000;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Calendar fields of a timestamp, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(d.as_nanos().min(i64::MAX as u128) as i64),
            Err(e) => Timestamp(-(e.duration().as_nanos().min(i64::MAX as u128) as i64)),
        }
    }

    /// From nanoseconds since the epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos)
    }

    /// From milliseconds since the epoch (saturating).
    pub const fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp(millis.saturating_mul(1_000_000))
    }

    /// From whole seconds since the epoch (saturating).
    pub const fn from_unix_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Nanoseconds since the epoch.
    pub const fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (CEF `rt`, OCSF `time`), rounded down.
    pub const fn unix_millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// The sub-second part in nanoseconds (0–999 999 999).
    pub const fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS_PER_SEC) as u32
    }

    /// This instant moved by a signed number of nanoseconds (saturating).
    pub const fn add_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }

    fn civil(self) -> Civil {
        let secs = self.unix_secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's days-from-civil inverse.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos: self.subsec_nanos(),
        }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (RFC 3339, microseconds, UTC), the form RFC 5424 allows.
    pub fn write_rfc3339_micros(self, out: &mut Vec<u8>) {
        self.write_rfc3339(out, 6);
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.fffZ` (RFC 3339, milliseconds, UTC).
    pub fn write_rfc3339_millis(self, out: &mut Vec<u8>) {
        self.write_rfc3339(out, 3);
    }

    /// Writes RFC 3339 in UTC with `digits` (0–9) fractional digits.
    pub fn write_rfc3339(self, out: &mut Vec<u8>, digits: u32) {
        let c = self.civil();
        write_year(out, c.year);
        let mut b = *b"-00-00T00:00:00";
        put2(&mut b[1..3], c.month);
        put2(&mut b[4..6], c.day);
        put2(&mut b[7..9], c.hour);
        put2(&mut b[10..12], c.minute);
        put2(&mut b[13..15], c.second);
        out.extend_from_slice(&b);
        let digits = digits.min(9);
        if digits > 0 {
            let mut frac = [b'.', b'0', b'0', b'0', b'0', b'0', b'0', b'0', b'0', b'0'];
            let mut n = c.nanos / 10u32.pow(9 - digits);
            for i in (1..=digits as usize).rev() {
                frac[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            out.extend_from_slice(&frac[..=digits as usize]);
        }
        out.push(b'Z');
    }

    /// The RFC 3339 text with microseconds, as a `String`.
    pub fn to_rfc3339(self) -> String {
        let mut out = Vec::with_capacity(27);
        self.write_rfc3339_micros(&mut out);
        String::from_utf8(out).expect("RFC 3339 text is ASCII")
    }

    /// Writes the BSD syslog (RFC 3164) timestamp `Mmm dd hh:mm:ss`, day padded with a space.
    pub fn write_rfc3164(self, out: &mut Vec<u8>) {
        let c = self.civil();
        out.extend_from_slice(MONTHS[(c.month - 1) as usize].as_bytes());
        out.push(b' ');
        if c.day < 10 {
            out.push(b' ');
            out.push(b'0' + c.day as u8);
        } else {
            let mut d = [0u8; 2];
            put2(&mut d, c.day);
            out.extend_from_slice(&d);
        }
        let mut b = *b" 00:00:00";
        put2(&mut b[1..3], c.hour);
        put2(&mut b[4..6], c.minute);
        put2(&mut b[7..9], c.second);
        out.extend_from_slice(&b);
    }

    /// Writes `Mmm dd yyyy HH:mm:ss.SSS` (Java `MMM dd yyyy HH:mm:ss.SSS`, UTC), the form CEF and
    /// LEEF accept for dates, day zero-padded.
    pub fn write_java_date_millis(self, out: &mut Vec<u8>) {
        let c = self.civil();
        out.extend_from_slice(MONTHS[(c.month - 1) as usize].as_bytes());
        let mut d = *b" 00 ";
        put2(&mut d[1..3], c.day);
        out.extend_from_slice(&d);
        write_year(out, c.year);
        let mut b = *b" 00:00:00.000";
        put2(&mut b[1..3], c.hour);
        put2(&mut b[4..6], c.minute);
        put2(&mut b[7..9], c.second);
        let ms = c.nanos / 1_000_000;
        b[10] = b'0' + (ms / 100) as u8;
        b[11] = b'0' + (ms / 10 % 10) as u8;
        b[12] = b'0' + (ms % 10) as u8;
        out.extend_from_slice(&b);
    }

    /// Parses RFC 3339 (`2024-01-01T12:00:00.123Z`, `…+02:00`, lower-case `t`/`z` and a space
    /// separator accepted), to nanosecond precision. Instants outside what nanoseconds in an
    /// `i64` can hold (years 1677–2262) are an error.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, ParseTimestampError> {
        let err = || ParseTimestampError(text.chars().take(64).collect());
        let b = text.as_bytes();
        if b.len() < 20 || !text.is_ascii() {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, ParseTimestampError> {
            let s = &text[r];
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(err());
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(err());
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return Err(err());
            }
            for _ in (i - start)..9 {
                nanos *= 10;
            }
        }
        let offset_secs: i64 = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let h = i64::from(num(i + 1..i + 3)?);
                let m = i64::from(num(i + 4..i + 6)?);
                if h > 23 || m > 59 {
                    return Err(err());
                }
                let s = h * 3600 + m * 60;
                if sign == b'+' {
                    s
                } else {
                    -s
                }
            }
            _ => return Err(err()),
        };
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second.min(59))
            - offset_secs;
        // Nanoseconds in an i64 reach from 1677 to 2262; refuse what lies outside.
        secs.checked_mul(NANOS_PER_SEC)
            .and_then(|n| n.checked_add(i64::from(nanos)))
            .map(Timestamp)
            .ok_or_else(err)
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn put2(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

fn write_year(out: &mut Vec<u8>, year: i64) {
    if (0..=9999).contains(&year) {
        let y = year as u32;
        out.extend_from_slice(&[
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
        ]);
    } else {
        // Outside RFC 3339's range; still unambiguous text.
        out.extend_from_slice(year.to_string().as_bytes());
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The error of parsing text that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError(pub String);

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid timestamp {:?}: expected RFC 3339 such as 2024-01-01T12:00:00Z",
            self.0
        )
    }
}

impl std::error::Error for ParseTimestampError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: Timestamp, f: fn(Timestamp, &mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(t, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn known_instants() {
        let t = Timestamp::from_unix_nanos(1_718_880_000_123_456_789);
        assert_eq!(
            text(t, Timestamp::write_rfc3339_micros),
            "2024-06-20T10:40:00.123456Z"
        );
        assert_eq!(
            text(t, Timestamp::write_rfc3339_millis),
            "2024-06-20T10:40:00.123Z"
        );
        assert_eq!(text(t, Timestamp::write_rfc3164), "Jun 20 10:40:00");
        assert_eq!(
            text(t, Timestamp::write_java_date_millis),
            "Jun 20 2024 10:40:00.123"
        );
        let e = Timestamp::from_unix_nanos(0);
        assert_eq!(
            text(e, Timestamp::write_rfc3339_micros),
            "1970-01-01T00:00:00.000000Z"
        );
        let before = Timestamp::from_unix_nanos(-1);
        assert_eq!(
            text(before, Timestamp::write_rfc3339_micros),
            "1969-12-31T23:59:59.999999Z"
        );
        let leap = Timestamp::from_unix_secs(951_782_400); // 2000-02-29
        assert_eq!(text(leap, Timestamp::write_rfc3164), "Feb 29 00:00:00");
        let jan5 = Timestamp::from_unix_secs(1_704_412_800);
        assert_eq!(text(jan5, Timestamp::write_rfc3164), "Jan  5 00:00:00");
    }

    #[test]
    fn out_of_range_years_are_refused_not_wrapped() {
        for text in [
            "9999-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2262-04-12T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(text).is_err(), "{text}");
        }
        assert!(Timestamp::parse_rfc3339("2262-04-11T00:00:00Z").is_ok());
        assert!(Timestamp::parse_rfc3339("1677-09-22T00:00:00Z").is_ok());
    }

    #[test]
    fn parse_forms() {
        let p = |s| Timestamp::parse_rfc3339(s);
        assert_eq!(
            p("2024-06-20T10:40:00.123456789Z").unwrap().unix_nanos(),
            1_718_880_000_123_456_789
        );
        assert_eq!(
            p("2024-06-20T12:40:00+02:00").unwrap(),
            Timestamp::from_unix_secs(1_718_880_000)
        );
        assert_eq!(
            p("2024-06-20 10:40:00z").unwrap(),
            Timestamp::from_unix_secs(1_718_880_000)
        );
        for bad in [
            "",
            "2024-06-20",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-06-20T10:40:00",
            "2024-06-20T10:40:00.Z",
            "2024-06-20T25:00:00Z",
            "２０２４-06-20T10:40:00Z",
            "2024-06-20T10:40:00+2:00",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_round_trips(nanos in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64) {
            let t = Timestamp::from_unix_nanos(nanos);
            let mut v = Vec::new();
            t.write_rfc3339(&mut v, 9);
            let back = Timestamp::parse_rfc3339(std::str::from_utf8(&v).unwrap()).unwrap();
            proptest::prop_assert_eq!(back, t);
        }
    }
}
