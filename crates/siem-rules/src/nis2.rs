//! NIS2 (Directive (EU) 2022/2555, Article 23) reporting deadlines for significant incidents.

use siem_event::Timestamp;

const HOUR_NANOS: i64 = 3_600_000_000_000;
const DAY_NANOS: i64 = 24 * HOUR_NANOS;

/// The Article 23 deadlines that start when an incident is detected.
///
/// * early warning: within 24 hours of becoming aware (Art. 23(4)(a));
/// * incident notification: within 72 hours (Art. 23(4)(b));
/// * final report: one month later (Art. 23(4)(d) counts the month from the notification; we
///   count it from detection, which gives the earliest date it can be due and so is never late).
///
/// Months are calendar months: 31 January plus one month is 28 (or 29) February.
///
/// ```
/// use siem_event::Timestamp;
/// use siem_rules::Nis2Timing;
/// let detected = Timestamp::parse_rfc3339("2026-01-31T10:00:00Z").unwrap();
/// let t = Nis2Timing::from_detection(detected);
/// assert_eq!(t.early_warning_due.to_rfc3339(), "2026-02-01T10:00:00.000000Z");
/// assert_eq!(t.notification_due.to_rfc3339(), "2026-02-03T10:00:00.000000Z");
/// assert_eq!(t.final_report_due.to_rfc3339(), "2026-02-28T10:00:00.000000Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nis2Timing {
    /// When the engine detected the incident.
    pub detected_at: Timestamp,
    /// Early warning due (+24 h).
    pub early_warning_due: Timestamp,
    /// Incident notification due (+72 h).
    pub notification_due: Timestamp,
    /// Final report due (+1 calendar month).
    pub final_report_due: Timestamp,
}

impl Nis2Timing {
    /// The deadlines for an incident detected at `detected_at`.
    pub fn from_detection(detected_at: Timestamp) -> Nis2Timing {
        Nis2Timing {
            detected_at,
            early_warning_due: detected_at.add_nanos(24 * HOUR_NANOS),
            notification_due: detected_at.add_nanos(72 * HOUR_NANOS),
            final_report_due: add_one_month(detected_at),
        }
    }
}

fn add_one_month(t: Timestamp) -> Timestamp {
    let nanos = t.unix_nanos();
    let days = nanos.div_euclid(DAY_NANOS);
    let within_day = nanos.rem_euclid(DAY_NANOS);
    let (y, m, d) = civil_from_days(days);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let nd = d.min(days_in_month(ny, nm));
    Timestamp::from_unix_nanos(
        days_from_civil(ny, nm, nd)
            .saturating_mul(DAY_NANOS)
            .saturating_add(within_day),
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (public domain), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn calendar_months() {
        for (from, to) in [
            ("2026-03-15T08:30:00Z", "2026-04-15T08:30:00.000000Z"),
            ("2026-12-31T23:59:59Z", "2027-01-31T23:59:59.000000Z"),
            ("2028-01-31T00:00:00Z", "2028-02-29T00:00:00.000000Z"),
            ("2026-05-31T12:00:00Z", "2026-06-30T12:00:00.000000Z"),
            ("1969-12-31T12:00:00Z", "1970-01-31T12:00:00.000000Z"),
        ] {
            assert_eq!(add_one_month(at(from)).to_rfc3339(), to, "{from}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
