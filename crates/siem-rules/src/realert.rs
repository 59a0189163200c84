//! When a group may alert again: a fixed cooldown (seed 000) or ElastAlert's exponential
//! re-alert, reproduced exactly from `ElastAlerter.next_alert_time` (elastalert2, the
//! `exponential_realert` option).

use std::time::Duration;

/// How long a (rule, group) stays silent after it alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Silence {
    /// Silent for this long after every alert.
    Fixed(Duration),
    /// ElastAlert: start at `base`; an alert that comes within twice the current wait doubles
    /// it, quiet time decays it; never more than `cap`.
    Exponential { base: Duration, cap: Duration },
    /// Seed 004's `AlertManager`: never silent; the group's count empties at each alert, so
    /// the next alert needs the threshold's number of new events.
    Reset,
}

/// The silence state of one group.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SilenceState {
    /// Clock time (ns) before which the group does not alert; `None` before the first alert.
    pub(crate) until: Option<i64>,
    pub(crate) exponent: u32,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl SilenceState {
    pub(crate) fn is_silenced(&self, now: i64) -> bool {
        self.until.is_some_and(|u| now < u)
    }

    /// Records an alert at clock time `now` and computes the next silence.
    pub(crate) fn alerted(&mut self, now: i64, policy: Silence) {
        match policy {
            Silence::Reset => self.until = None,
            Silence::Fixed(d) => {
                self.until = Some(now.saturating_add(nanos(d)));
                self.exponent = 0;
            }
            Silence::Exponential { base, cap } => {
                let base = nanos(base).max(1);
                let Some(last_until) = self.until else {
                    self.until = Some(now.saturating_add(base));
                    self.exponent = 0;
                    return;
                };
                let step = |exp: u32| {
                    base.saturating_mul(1i64.checked_shl(exp).unwrap_or(i64::MAX).max(1))
                };
                let mut diff = now.saturating_sub(last_until);
                let mut exp = self.exponent;
                if diff < step(exp) {
                    exp = exp.saturating_add(1).min(62);
                } else {
                    while diff > step(exp) && exp > 0 {
                        diff -= step(exp);
                        exp -= 1;
                    }
                }
                let wait = step(exp);
                if wait >= nanos(cap) {
                    self.until = Some(now.saturating_add(nanos(cap)));
                    self.exponent = exp.saturating_sub(1);
                } else {
                    self.until = Some(now.saturating_add(wait));
                    self.exponent = exp;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    #[test]
    fn elastalert_documentation_example() {
        // realert 10 min, cap 1 h: alerts at 1:00 and 1:15 push the next to 1:35; an alert
        // between 1:35 and 2:15 waits 40 min; the next one within that reaches the 1 h cap.
        let policy = Silence::Exponential {
            base: Duration::from_secs(600),
            cap: Duration::from_secs(3600),
        };
        let mut s = SilenceState::default();
        s.alerted(60 * MIN, policy);
        assert_eq!(s.until, Some(70 * MIN));
        assert!(s.is_silenced(69 * MIN) && !s.is_silenced(70 * MIN));
        s.alerted(75 * MIN, policy);
        assert_eq!(s.until, Some(95 * MIN));
        s.alerted(100 * MIN, policy);
        assert_eq!(s.until, Some(140 * MIN));
        s.alerted(145 * MIN, policy);
        assert_eq!(s.until, Some(205 * MIN), "capped at one hour");
        // after a long quiet period the wait decays back down
        s.alerted(205 * MIN + 24 * 60 * MIN, policy);
        assert_eq!(s.exponent, 0);
        assert_eq!(s.until, Some(205 * MIN + 24 * 60 * MIN + 10 * MIN));
    }

    #[test]
    fn fixed_cooldown() {
        let mut s = SilenceState::default();
        assert!(!s.is_silenced(0));
        s.alerted(100, Silence::Fixed(Duration::from_nanos(50)));
        assert!(s.is_silenced(149));
        assert!(!s.is_silenced(150));
    }
}
