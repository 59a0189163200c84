//! A destination's policies as configured: when to send a batch, how to retry, which events.

use std::time::Duration;

use serde::Deserialize;
use siem_event::SecurityEvent;

use crate::backoff;

/// When a destination sends the batch it is building (seed 000 defaults: 100 events, 5 s).
///
/// ```
/// use siem_ship::BatchConfig;
/// let b = BatchConfig::default();
/// assert_eq!((b.max_events, b.interval.as_secs()), (100, 5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BatchConfig {
    /// Send when this many events are batched.
    pub max_events: usize,
    /// Send when the encoded batch reaches this many bytes.
    #[serde(deserialize_with = "crate::units::byte_size_usize")]
    pub max_bytes: usize,
    /// Send at the latest this long after the batch's first event.
    #[serde(deserialize_with = "crate::units::duration")]
    pub interval: Duration,
}

impl BatchConfig {
    /// Sets `max_events`: send when this many events are batched.
    ///
    /// ```
    /// use siem_ship::BatchConfig;
    /// let c = BatchConfig::default().max_events(10);
    /// assert_eq!(c.max_events, 10);
    /// ```
    pub fn max_events(mut self, max_events: usize) -> BatchConfig {
        self.max_events = max_events;
        self
    }

    /// Sets `max_bytes`: send when the encoded batch reaches this many bytes.
    ///
    /// ```
    /// use siem_ship::BatchConfig;
    /// let c = BatchConfig::default().max_bytes(1024);
    /// assert_eq!(c.max_bytes, 1024);
    /// ```
    pub fn max_bytes(mut self, max_bytes: usize) -> BatchConfig {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets `interval`: send at the latest this long after the batch's first event.
    ///
    /// ```
    /// use siem_ship::BatchConfig;
    /// use std::time::Duration;
    /// let c = BatchConfig::default().interval(Duration::from_millis(100));
    /// assert_eq!(c.interval, Duration::from_millis(100));
    /// ```
    pub fn interval(mut self, interval: Duration) -> BatchConfig {
        self.interval = interval;
        self
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: 100,
            max_bytes: 1 << 20,
            interval: Duration::from_secs(5),
        }
    }
}

/// How a destination retries a batch it could not deliver.
///
/// Retryable failures are retried with exponential backoff and jitter; by default without limit,
/// since the destination's bounded queue already caps memory and counts what it cannot take.
///
/// ```
/// use siem_ship::RetryConfig;
/// let r = RetryConfig::default();
/// assert_eq!(r.max_attempts, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RetryConfig {
    /// First wait after a failure.
    #[serde(deserialize_with = "crate::units::duration")]
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    #[serde(deserialize_with = "crate::units::duration")]
    pub max_backoff: Duration,
    /// Give a batch up (dropped: retries exhausted) after this many attempts; `None` retries
    /// until shutdown.
    pub max_attempts: Option<u32>,
    /// The circuit breaker opens after this many failed attempts in a row (0: never): the
    /// destination is then left alone for `open_for` before one probe (half-open); a
    /// delivered batch closes it again.
    pub open_after: u32,
    /// How long an open breaker waits before its probe.
    #[serde(deserialize_with = "crate::units::duration")]
    pub open_for: Duration,
}

impl RetryConfig {
    /// Sets `initial_backoff`: first wait after a failure.
    ///
    /// ```
    /// use siem_ship::RetryConfig;
    /// use std::time::Duration;
    /// let c = RetryConfig::default().initial_backoff(Duration::from_secs(30));
    /// assert_eq!(c.initial_backoff, Duration::from_secs(30));
    /// ```
    pub fn initial_backoff(mut self, initial_backoff: Duration) -> RetryConfig {
        self.initial_backoff = initial_backoff;
        self
    }

    /// Sets `max_backoff`: longest wait between attempts.
    ///
    /// ```
    /// use siem_ship::RetryConfig;
    /// use std::time::Duration;
    /// let c = RetryConfig::default().max_backoff(Duration::from_secs(30));
    /// assert_eq!(c.max_backoff, Duration::from_secs(30));
    /// ```
    pub fn max_backoff(mut self, max_backoff: Duration) -> RetryConfig {
        self.max_backoff = max_backoff;
        self
    }

    /// Sets `max_attempts`: give a batch up (dropped: retries exhausted) after this many attempts; `None` retries until shutdown.
    ///
    /// ```
    /// use siem_ship::RetryConfig;
    /// let c = RetryConfig::default().max_attempts(5);
    /// assert_eq!(c.max_attempts, Some(5));
    /// ```
    pub fn max_attempts(mut self, max_attempts: u32) -> RetryConfig {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// Sets `open_after`: failed attempts in a row that open the circuit breaker (0: never).
    ///
    /// ```
    /// use siem_ship::RetryConfig;
    /// assert_eq!(RetryConfig::default().open_after(3).open_after, 3);
    /// ```
    pub fn open_after(mut self, failures: u32) -> RetryConfig {
        self.open_after = failures;
        self
    }

    /// Sets `open_for`: how long an open breaker waits before its probe.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::RetryConfig;
    /// let c = RetryConfig::default().open_for(Duration::from_secs(10));
    /// assert_eq!(c.open_for, Duration::from_secs(10));
    /// ```
    pub fn open_for(mut self, open_for: Duration) -> RetryConfig {
        self.open_for = open_for;
        self
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
            open_after: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

impl RetryConfig {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), with ±25 % jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::RetryConfig;
    /// let r = RetryConfig::default().initial_backoff(Duration::from_millis(100)).max_backoff(Duration::from_secs(1));
    /// let third = r.backoff(3); // 400 ms ± 25 %
    /// assert!(third >= Duration::from_millis(300) && third <= Duration::from_millis(500));
    /// assert!(r.backoff(40) <= Duration::from_millis(1250)); // capped at max_backoff
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = backoff::exponential(
            self.initial_backoff,
            self.max_backoff,
            attempt.saturating_sub(1),
        );
        backoff::random_between(base.mul_f64(0.75), base.mul_f64(1.25))
    }
}

/// Decides whether a destination takes an event.
pub type EventFilter = Box<dyn Fn(&SecurityEvent) -> bool + Send + Sync>;
